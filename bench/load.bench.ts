/**
 * Responder benchmark (issue 5, "Load and bad input"): the same load generator (bench/load-gen.ts,
 * run as a child process) drives complete Main Mode PSK + Quick Mode handshakes against
 *
 *   1. our daemon: `node dist/cli/main.js daemon --config <generated>` on loopback, an unprivileged
 *      port, logging at warn; a measurement probe (bench/load-probe.ts) is preloaded with --import so
 *      that the benchmark can ask for a full GC before reading the heap;
 *   2. strongSwan charon 5.9.8 (only as root with charon installed) in namespace isk-load-r
 *      (interop/load/charon.sh: fake-xfrm shim, logging off), the generator in isk-load-i;
 *
 * and prints, for each: handshakes/s (wall, generator and responder share the 2 cores), the
 * responder's CPU per SA (utime+stime of the responder process from /proc/PID/stat, so the
 * generator's CPU is not in it), memory per established ISAKMP SA + IPsec SA pair (ours: heap
 * after a full GC and RSS; charon: RSS), then the ratios ours/charon.
 *
 * Environment: LOAD_SAS (default 10000, ours), LOAD_CHARON_S (default 12, seconds of charon load),
 * LOAD_CONCURRENCY (default 64), LOAD_IKE (default aes128-sha256-modp2048; e.g.
 * aes128-sha256-ecp256), LOAD_ESP (default aes128-sha256).
 *
 *   node build/bench/load.bench.js          (also run by `npm run bench`)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, cpus as osCpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LoadGenResult } from './load-gen.js';
import type { ProbeReply } from './load-probe.js';

const HERE = fileURLToPath(new URL('.', import.meta.url)); // build/bench/
export const ROOT = resolve(HERE, '../..');
const GEN = join(ROOT, 'build/bench/load-gen.js');
const PROBE = join(ROOT, 'build/bench/load-probe.js');
const CLI = join(ROOT, 'dist/cli/main.js');
const LOAD_DIR = join(ROOT, 'interop/load');
const CHARON_BIN = process.env.CHARON_BIN ?? '/usr/lib/ipsec/charon';
const PSK = 'load-secret';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU (utime + stime, all threads) in ms and RSS in bytes of a process, from /proc. */
export function procStat(pid: number): { cpuMs: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15 (utime, stime), USER_HZ = 100
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuMs: ticks * 10, rss: rssKb * 1024 };
}

/** A free UDP port on an address (bind 0, read, close). */
export async function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export interface GenArgs {
  target: string;
  sources?: string[];
  count: number;
  durationS: number;
  concurrency: number;
  ike: string;
  esp: string;
  psk?: string;
  /** Initiator identity; `{n}` = the handshake's number (default '@load-{n}.bench': distinct peers). */
  localId?: string;
  /** Run the generator inside this network namespace (root only). */
  netns?: string;
  /** Pin the generator to this CPU (taskset). */
  cpu?: number;
}

/** CPUs for [generator, responder] when pinning is possible and wanted (LOAD_PIN=0 turns it off). */
export function pinning(): [number, number] | undefined {
  if (process.env.LOAD_PIN === '0' || process.platform !== 'linux') return undefined;
  if (spawnSync('taskset', ['-p', String(process.pid)]).status !== 0) return undefined;
  const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(); // e.g. 0-1
  const m = /^(\d+)-(\d+)$/.exec(online);
  if (!m || Number(m[2]) - Number(m[1]) < 1) return undefined;
  return [Number(m[1]), Number(m[1]) + 1];
}

/** Pins every thread of a running process to one CPU. */
export function pin(pid: number, cpu: number): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset ${pid}: ${r.stderr.trim()}`);
}

/** Runs bench/load-gen.js as a child process and returns its result line. */
export async function runGenerator(a: GenArgs): Promise<LoadGenResult> {
  const args = [
    GEN,
    '--target', a.target,
    ...(a.sources ?? []).flatMap((s) => ['--source', s]),
    '--count', String(a.count),
    '--duration', String(a.durationS),
    '--concurrency', String(a.concurrency),
    '--ike', a.ike,
    '--esp', a.esp,
    '--psk', a.psk ?? PSK,
    '--local-id', a.localId ?? '@load-{n}.bench',
  ];
  const cmd = [...(a.cpu !== undefined ? ['taskset', '-c', String(a.cpu)] : []), process.execPath, ...args];
  const child = a.netns ? spawn('ip', ['netns', 'exec', a.netns, ...cmd]) : spawn(cmd[0]!, cmd.slice(1));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (a.durationS + 20) * 1000);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(killer);
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`load-gen exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(line) as LoadGenResult;
}

/** Asks the probe in a daemon (IPC) for its memory after a full GC. */
export function probe(child: ChildProcess, timeoutMs = 10_000): Promise<ProbeReply> {
  return new Promise((resolveP, reject) => {
    const t = setTimeout(() => {
      child.off('message', on);
      reject(new Error('probe: no answer'));
    }, timeoutMs);
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'mem') {
        clearTimeout(t);
        child.off('message', on);
        resolveP(m as ProbeReply);
      }
    };
    child.on('message', on);
    child.send({ type: 'mem' });
  });
}

export interface Leg {
  name: string;
  gen: LoadGenResult;
  /** SAs the responder itself reports established at the end of the measured run (delta). */
  responderSas: number | undefined;
  cpuMsPerSa: number;
  rssPerSa: number | undefined;
  heapPerSa: number | undefined;
  totalSas: number | undefined;
  note: string;
}

function ourConfig(dir: string, port: number, metricsPort: number, concurrency: number, ike: string, esp: string): string {
  const file = join(dir, 'responder.yaml');
  writeFileSync(
    file,
    `# generated by bench/load.bench.ts
global:
  listen: [127.0.0.1]
  port: ${port}
  natt_port: 0
  control_socket: ${join(dir, 'control.sock')}
  metrics: 127.0.0.1:${metricsPort}
  log: { level: warn }
  max_half_open: 100000
  max_half_open_per_peer: ${Math.max(64, concurrency * 4)}
secrets:
  load: { psk: ${PSK} }
connections:
  load:
    secret: load
    local: { address: 127.0.0.1 }
    remote: { address: 127.0.0.1, id: '%any' }
    ike: ${ike}
    esp: ${esp}
    ike_lifetime: 8h
    lifetime: 8h
    rekey_margin: 10m
`,
  );
  return file;
}

/** A free TCP port on 127.0.0.1. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const p = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

/**
 * The daemon's SA gauges from its Prometheus endpoint (`global.metrics`). `status --json` lists
 * every SA and is refused by the control client above 4 MiB (about 8,000 SAs), so the counts are
 * read here instead.
 */
export async function metricsSas(port: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^isakmp_sas\{kind="([a-z]+)",state="([a-z-]+)"\} (\d+)$/gm)) out[`${m[1]}:${m[2]}`] = Number(m[3]);
  return out;
}

async function daemonSas(metricsPort: number): Promise<{ isakmp: number; ipsec: number; negotiating: number }> {
  const s = await metricsSas(metricsPort);
  return { isakmp: s['isakmp:established'] ?? 0, ipsec: s['ipsec:established'] ?? 0, negotiating: s['isakmp:negotiating'] ?? 0 };
}

/** Our daemon as the responder, on loopback. */
export interface LegOptions {
  count: number;
  durationS: number;
  concurrency: number;
  ike: string;
  esp: string;
  /** [generator CPU, responder CPU] */
  cpus?: [number, number] | undefined;
}

export async function legOurs(o: LegOptions): Promise<Leg> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-load-'));
  const port = await freeUdpPort();
  const metricsPort = await freeTcpPort();
  const cfg = ourConfig(dir, port, metricsPort, o.concurrency, o.ike, o.esp);
  const child = spawn(process.execPath, ['--expose-gc', '--import', pathToFileURL(PROBE).href, CLI, 'daemon', '--config', cfg], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const sock = join(dir, 'control.sock');
    for (let i = 0; i < 100 && !existsSync(sock) && child.exitCode === null; i++) await sleep(50);
    if (!existsSync(sock)) throw new Error(`our daemon did not start: ${err.trim()}`);
    if (o.cpus) pin(child.pid!, o.cpus[1]);
    const target = `127.0.0.1:${port}`;
    const common = { target, concurrency: o.concurrency, ike: o.ike, esp: o.esp, ...(o.cpus ? { cpu: o.cpus[0] } : {}) };
    // warm-up: JIT, DH objects, and V8's young generation grown to its working size (so that the
    // RSS delta below is the SAs', not the collector's)
    await runGenerator({ ...common, count: 1000, durationS: 10, localId: '@warm-{n}.bench' });
    const sas0 = await daemonSas(metricsPort);
    const m0 = await probe(child);
    const p0 = procStat(child.pid!);
    const gen = await runGenerator({ ...common, count: o.count, durationS: o.durationS });
    const p1 = procStat(child.pid!);
    await sleep(200); // the last Quick Mode message 3 may still be in flight
    const sas1 = await daemonSas(metricsPort);
    const m1 = await probe(child);
    const n = sas1.ipsec - sas0.ipsec;
    return {
      name: 'isakmp (ours)',
      gen,
      responderSas: n,
      cpuMsPerSa: (p1.cpuMs - p0.cpuMs) / Math.max(1, gen.established),
      heapPerSa: n > 0 ? (m1.heapUsed - m0.heapUsed) / n : undefined,
      rssPerSa: n > 0 ? (m1.rss - m0.rss) / n : undefined,
      totalSas: sas1.isakmp,
      note: `${sas1.isakmp} ISAKMP + ${sas1.ipsec} IPsec SAs held; heap ${(m1.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(m1.rss / 2 ** 20).toFixed(1)} MiB after GC; external ${((m1.external - m0.external) / Math.max(1, n)).toFixed(0)} B/SA`,
    };
  } finally {
    child.kill('SIGKILL'); // no need to send thousands of Deletes
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

function sh(script: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(join(LOAD_DIR, script), args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`interop/load/${script} ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Why the charon leg cannot run here, or undefined when it can. */
export function charonUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need root)';
  if (!existsSync(CHARON_BIN)) return `${CHARON_BIN} is not installed (npm run test:interop as root installs strongSwan)`;
  if (spawnSync('which', ['swanctl']).status !== 0) return 'swanctl is not installed';
  if (spawnSync('which', ['gcc']).status !== 0) return 'gcc is missing (needed for the fake-xfrm shim)';
  return undefined;
}

/** strongSwan charon as the responder, in namespace isk-load-r. */
/** On SIGINT/SIGTERM during the charon leg: stop charon and remove the namespaces, then exit. */
function onSignalCleanUp(): () => void {
  const h = (sig: NodeJS.Signals): void => {
    spawnSync(join(LOAD_DIR, 'charon.sh'), ['stop']);
    spawnSync(join(LOAD_DIR, 'netns.sh'), ['down']);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', h);
  process.once('SIGTERM', h);
  return () => {
    process.off('SIGINT', h);
    process.off('SIGTERM', h);
  };
}

export async function legCharon(o: LegOptions): Promise<Leg> {
  const release = onSignalCleanUp();
  sh('netns.sh', ['up']);
  try {
    sh('charon.sh', ['start']);
    try {
      const pid = Number(sh('charon.sh', ['pid']).trim());
      if (o.cpus) pin(pid, o.cpus[1]);
      const common = { target: '198.19.10.2:500', sources: ['198.19.10.1'], concurrency: o.concurrency, ike: o.ike, esp: o.esp, netns: 'isk-load-i', ...(o.cpus ? { cpu: o.cpus[0] } : {}) };
      await runGenerator({ ...common, count: 300, durationS: 10, localId: '@warm-{n}.bench' });
      const p0 = procStat(pid);
      const gen = await runGenerator({ ...common, count: o.count, durationS: o.durationS });
      const p1 = procStat(pid);
      const stats = sh('charon.sh', ['stats']);
      const total = Number(/IKE_SAs: (\d+) total/.exec(stats)?.[1] ?? NaN);
      return {
        name: 'strongSwan charon',
        gen,
        responderSas: undefined,
        cpuMsPerSa: (p1.cpuMs - p0.cpuMs) / Math.max(1, gen.established),
        heapPerSa: undefined,
        rssPerSa: gen.established > 0 ? (p1.rss - p0.rss) / gen.established : undefined,
        totalSas: Number.isFinite(total) ? total : undefined,
        note: `${Number.isFinite(total) ? total : '?'} IKE_SAs held; fake-xfrm kernel, logging off, generator in isk-load-i`,
      };
    } finally {
      sh('charon.sh', ['stop']);
    }
  } finally {
    sh('netns.sh', ['down']);
    release();
  }
}

const kib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1024).toFixed(2)} KiB`);

export function describe(l: Leg): string {
  const g = l.gen;
  return [
    `${l.name}: ${g.established}/${g.started} handshakes in ${g.seconds.toFixed(2)} s = ${g.rate.toFixed(0)}/s wall (failed ${g.failed}, abandoned ${g.abandoned}; latency p50 ${g.latencyMs.p50} ms, p99 ${g.latencyMs.p99} ms)`,
    `  responder CPU ${l.cpuMsPerSa.toFixed(3)} ms/SA (= ${(1000 / l.cpuMsPerSa).toFixed(0)} SAs/s per responder core); generator CPU ${(g.generatorCpuMs / Math.max(1, g.established)).toFixed(3)} ms/SA`,
    `  memory per ISAKMP SA + IPsec SA pair: heap ${kib(l.heapPerSa)}, RSS ${kib(l.rssPerSa)}${l.responderSas !== undefined ? ` (over ${l.responderSas} SAs the responder reports)` : ''}`,
    `  ${l.note}`,
  ].join('\n');
}

export async function main(): Promise<void> {
  const count = Number(process.env.LOAD_SAS ?? 10_000);
  const charonS = Number(process.env.LOAD_CHARON_S ?? 12);
  const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 64);
  const ike = process.env.LOAD_IKE ?? 'aes128-sha256-modp2048';
  const esp = process.env.LOAD_ESP ?? 'aes128-sha256';
  const cpus = pinning();
  console.log(
    `load: Main Mode PSK ${ike} + Quick Mode ${esp} (${/-(modp|ecp)\d+$/.test(esp) ? 'PFS' : 'no PFS'}), generator bench/load-gen.ts (${concurrency} in flight, a distinct peer ID per handshake), ` +
      (cpus ? `generator pinned to CPU ${cpus[0]}, responder to CPU ${cpus[1]}` : 'no CPU pinning'),
  );
  console.log(`machine: ${osCpus().length} x ${osCpus()[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine slows the wall rates; CPU per SA is the robust figure)`);
  const ours = await legOurs({ count, durationS: 40, concurrency, ike, esp, cpus });
  console.log(describe(ours));
  const why = charonUnavailable();
  if (why !== undefined) {
    console.log(`charon leg SKIPPED: ${why}. No ratio printed; strongSwan's figures on this machine kind are in ../shared/PERFORMANCE.md (responder 2.52 ms CPU/SA).`);
  } else {
    const ch = await legCharon({ count: 100_000, durationS: charonS, concurrency, ike, esp, cpus });
    console.log(describe(ch));
    console.log(
      `ratio ours/charon: ${(ours.gen.rate / ch.gen.rate).toFixed(2)}x wall handshakes/s (same generator, both sharing 2 cores with it); ` +
        `${(ch.cpuMsPerSa / ours.cpuMsPerSa).toFixed(2)}x responder SAs per CPU-second (target >= 2.0x)`,
    );
  }
  const per = ours.rssPerSa !== undefined && ours.heapPerSa !== undefined ? Math.max(ours.heapPerSa, ours.rssPerSa) : undefined;
  const n = ours.responderSas ?? 0;
  if (n < 10_000) console.log(`memory target (<= 8 KiB per ISAKMP SA + IPsec SA pair) applies at 10,000 SAs; this run made ${n} (LOAD_SAS=10000): heap ${kib(ours.heapPerSa)}, RSS ${kib(ours.rssPerSa)}`);
  else console.log(`memory target (<= 8 KiB per ISAKMP SA + IPsec SA pair at 10,000 SAs): heap ${kib(ours.heapPerSa)}, RSS ${kib(ours.rssPerSa)} over ${n} SAs -> ${per === undefined ? 'unknown' : per <= 8192 ? 'met' : 'NOT met'}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
