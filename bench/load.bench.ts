/**
 * Responder benchmark (issues 5 and 13): the same load generator (bench/load-gen.ts, run as a child
 * process) drives complete Main Mode PSK + Quick Mode handshakes against
 *
 *   1. our daemon (`node dist/cli/main.js daemon`), as root exactly like charon: in namespace
 *      isk-load-r, the generator in isk-load-i, the fake-xfrm shim LD_PRELOADed, `dataplane: xfrm`
 *      (the netlink channel: ALLOCSPI, NEWSA/UPDSA, policies), UDP 500 and 4500; then the same
 *      with `dataplane: none` (no shim) for the figure without kernel work. Without root: one leg
 *      on loopback with `dataplane: none`, and no ratio. A probe (bench/load-probe.ts) is
 *      preloaded with --import: full GCs for the heap figure, the dataplane's install latencies;
 *   2. strongSwan charon 5.9.8 (root, charon installed) in isk-load-r (interop/load/charon.sh:
 *      fake-xfrm shim, logging off), the generator in isk-load-i;
 *
 * with the same number of handshakes for every leg (LOAD_SAS), and prints, for each: handshakes/s
 * (wall), the responder's CPU per SA (utime+stime of the responder process from /proc/PID/stat:
 * all its threads, its own system calls and the kernel work they do), memory per ISAKMP SA +
 * IPsec SA pair, for ours the kernel calls per SA and the install latency (QM3 handled → SAs and
 * policies in the kernel) p50/p99; then the ratios.
 *
 * Garbage collection is charged: a full GC (the probe's) runs at both ends of our measurement
 * window, and the CPU read that closes the window is taken after the closing GC, so the garbage
 * the window made is collected inside it.
 *
 * Environment: LOAD_SAS (default 10000, every leg), LOAD_CONCURRENCY (default 64), LOAD_IKE
 * (default aes128-sha256-modp2048; e.g. aes128-sha256-ecp256), LOAD_ESP (default aes128-sha256),
 * LOAD_LEGS (default "xfrm,none,charon"), LOAD_PIN=0 (no CPU pinning), LOAD_NODE_ARGS (node flags
 * for our daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; with it the daemon is stopped with
 * SIGTERM instead of SIGKILL, so that a profile is written, and its Deletes are in the profile).
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
import type { DataplaneFigures, ProbeReply } from './load-probe.js';

const HERE = fileURLToPath(new URL('.', import.meta.url)); // build/bench/
export const ROOT = resolve(HERE, '../..');
const GEN = join(ROOT, 'build/bench/load-gen.js');
const PROBE = join(ROOT, 'build/bench/load-probe.js');
const CLI = join(ROOT, 'dist/cli/main.js');
const LOAD_DIR = join(ROOT, 'interop/load');
const CHARON_BIN = process.env.CHARON_BIN ?? '/usr/lib/ipsec/charon';
const PSK = 'load-secret';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU (utime + stime, all threads; and stime alone) in ms and RSS in bytes of a process, from /proc. */
export function procStat(pid: number): { cpuMs: number; sysMs: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15 (utime, stime), USER_HZ = 100
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuMs: ticks * 10, sysMs: Number(f[12]) * 10, rss: rssKb * 1024 };
}

/**
 * The node flags the `isakmp` executable runs with: its first line (`#!/usr/bin/env -S node
 * --max-semi-space-size=8`). The benchmark starts our daemon with them, as the product starts.
 */
export function shebangFlags(cli: string): string[] {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node((?: -\S+)*)\s*$/.exec(first);
  if (m === null) throw new Error(`${cli}: unexpected first line ${JSON.stringify(first)} (expected #!/usr/bin/env -S node [flags])`);
  return m[1]!.split(' ').filter((x) => x !== '');
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
export function probeMem(child: ChildProcess, timeoutMs = 10_000): Promise<ProbeReply> {
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
  /** Ours with the xfrm dataplane: kernel calls and install latency over the measured window. */
  dataplane?: { figures: DataplaneFigures; requests: number; sends: number; recvs: number; allocSpi: number };
  gen: LoadGenResult;
  /** SAs the responder itself reports established at the end of the measured run (delta). */
  responderSas: number | undefined;
  cpuMsPerSa: number;
  /** Of which in the kernel (stime), when read. */
  sysMsPerSa?: number;
  rssPerSa: number | undefined;
  heapPerSa: number | undefined;
  totalSas: number | undefined;
  note: string;
}

interface OurPlace {
  /** Listen and connection address of the responder, and the generator's address. */
  readonly local: string;
  readonly remote: string;
  readonly port: number;
  readonly nattPort: number;
  readonly dataplane: 'none' | 'xfrm';
}

function ourConfig(dir: string, at: OurPlace, metricsPort: number, concurrency: number, ike: string, esp: string): string {
  const file = join(dir, 'responder.yaml');
  writeFileSync(
    file,
    `# generated by bench/load.bench.ts
global:
  listen: [${at.local}]
  port: ${at.port}
  natt_port: ${at.nattPort}
  control_socket: ${join(dir, 'control.sock')}
  metrics: 127.0.0.1:${metricsPort}
  dataplane: ${at.dataplane}
  log: { level: warn }
  max_half_open: 100000
  max_half_open_per_peer: ${Math.max(64, concurrency * 4)}
secrets:
  load: { psk: ${PSK}, allow_weak_psk: true }
connections:
  load:
    secret: load
    local: { address: ${at.local} }
    remote: { address: '${at.remote}', id: '%any' }
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

function parseSas(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^isakmp_sas\{kind="([a-z]+)",state="([a-z-]+)"\} (\d+)$/gm)) out[`${m[1]}:${m[2]}`] = Number(m[3]);
  return out;
}

/** The daemon's SA gauges, read by its probe from inside its process (and network namespace). */
function probeSas(child: ChildProcess, metricsPort: number, timeoutMs = 10_000): Promise<{ isakmp: number; ipsec: number; negotiating: number }> {
  return new Promise((resolveP, reject) => {
    const t = setTimeout(() => {
      child.off('message', on);
      reject(new Error('probe: no metrics'));
    }, timeoutMs);
    const on = (m: unknown): void => {
      if (typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== 'metrics') return;
      clearTimeout(t);
      child.off('message', on);
      const e = (m as { error?: string }).error;
      if (e !== undefined) return reject(new Error(`probe: metrics: ${e}`));
      const s = parseSas((m as { text: string }).text);
      resolveP({ isakmp: s['isakmp:established'] ?? 0, ipsec: s['ipsec:established'] ?? 0, negotiating: s['isakmp:negotiating'] ?? 0 });
    };
    child.on('message', on);
    child.send({ type: 'metrics', port: metricsPort });
  });
}

/** Our daemon as the responder. */
export interface LegOptions {
  count: number;
  durationS: number;
  concurrency: number;
  ike: string;
  esp: string;
  /** [generator CPU, responder CPU] */
  cpus?: [number, number] | undefined;
}

export interface OursOptions extends LegOptions {
  /** 'xfrm' (namespace, shim, netlink), 'none' (namespace, no shim) or 'loopback' (no root: none, on 127.0.0.1). */
  readonly mode: 'xfrm' | 'none' | 'loopback';
}

export async function legOurs(o: OursOptions): Promise<Leg> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build`);
  const inNs = o.mode !== 'loopback';
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-load-'));
  const metricsPort = await freeTcpPort();
  const at: OurPlace = inNs
    ? { local: '198.19.10.2', remote: '%any', port: 500, nattPort: 4500, dataplane: o.mode === 'xfrm' ? 'xfrm' : 'none' }
    : { local: '127.0.0.1', remote: '127.0.0.1', port: await freeUdpPort(), nattPort: 0, dataplane: 'none' };
  const cfg = ourConfig(dir, at, metricsPort, o.concurrency, o.ike, o.esp);
  const node = [process.execPath, ...shebangFlags(CLI), ...(process.env.LOAD_NODE_ARGS ? process.env.LOAD_NODE_ARGS.split(' ') : []), '--expose-gc', '--import', pathToFileURL(PROBE).href, CLI, 'daemon', '--config', cfg];
  const release = inNs ? onSignalCleanUp() : () => {};
  if (inNs) spoofedNetwork();
  // `ip netns exec` and `env` exec in place: the pid is the daemon's
  const cmd = inNs ? ['ip', 'netns', 'exec', 'isk-load-r', 'env', ...(o.mode === 'xfrm' ? [`LD_PRELOAD=${fakeXfrmShim()}`, 'FAKE_XFRM_LOG=/dev/null'] : []), ...node] : node;
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.on('error', () => {}); // an IPC send to a daemon that died: reported below with its stderr
  const probe = (c: ChildProcess): Promise<ProbeReply> => probeMem(c).catch((e: Error) => Promise.reject(new Error(`${e.message}; our daemon's stderr: ${err.trim().slice(-800)}`)));
  try {
    const sock = join(dir, 'control.sock');
    for (let i = 0; i < 100 && !existsSync(sock) && child.exitCode === null; i++) await sleep(50);
    if (!existsSync(sock)) throw new Error(`our daemon did not start: ${err.trim()}`);
    if (o.cpus) pin(child.pid!, o.cpus[1]);
    const target = `${at.local}:${at.port}`;
    const common = { target, concurrency: o.concurrency, ike: o.ike, esp: o.esp, ...(inNs ? { sources: SOURCES, netns: 'isk-load-i' } : {}), ...(o.cpus ? { cpu: o.cpus[0] } : {}) };
    // warm-up: JIT, DH objects, V8's young generation grown to its working size, the SPI pool
    await runGenerator({ ...common, count: 1000, durationS: 20, localId: '@warm-{n}.bench' });
    const sas0 = await probeSas(child, metricsPort);
    const m0 = await probe(child); // full GC at the start of the window
    const p0 = procStat(child.pid!);
    const gen = await runGenerator({ ...common, count: o.count, durationS: o.durationS });
    await sleep(200); // the last Quick Mode message 3 may still be in flight
    const m1 = await probe(child); // full GC at the end, inside the window: the window's garbage is charged
    const p1 = procStat(child.pid!);
    const sas1 = await probeSas(child, metricsPort);
    const n = sas1.ipsec - sas0.ipsec;
    const d0 = m0.dataplane;
    const d1 = m1.dataplane;
    return {
      name: o.mode === 'xfrm' ? 'isakmp (ours), dataplane xfrm' : o.mode === 'none' ? 'isakmp (ours), dataplane none' : 'isakmp (ours), dataplane none, loopback',
      gen,
      responderSas: n,
      cpuMsPerSa: (p1.cpuMs - p0.cpuMs) / Math.max(1, gen.established),
      sysMsPerSa: (p1.sysMs - p0.sysMs) / Math.max(1, gen.established),
      heapPerSa: n > 0 ? (m1.heapUsed - m0.heapUsed) / n : undefined,
      rssPerSa: n > 0 ? (m1.rss - m0.rss) / n : undefined,
      totalSas: sas1.isakmp,
      ...(d1 !== undefined
        ? { dataplane: { figures: d1, requests: d1.requests - (d0?.requests ?? 0), sends: d1.sends - (d0?.sends ?? 0), recvs: d1.recvs - (d0?.recvs ?? 0), allocSpi: d1.allocSpi - (d0?.allocSpi ?? 0) } }
        : {}),
      note: `${sas1.isakmp} ISAKMP + ${sas1.ipsec} IPsec SAs held; heap ${(m1.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(m1.rss / 2 ** 20).toFixed(1)} MiB after GC; external ${((m1.external - m0.external) / Math.max(1, n)).toFixed(0)} B/SA${inNs ? `; ${o.mode === 'xfrm' ? 'fake-xfrm kernel, ' : ''}generator in isk-load-i` : ''}`,
    };
  } finally {
    child.kill(process.env.LOAD_NODE_ARGS ? 'SIGTERM' : 'SIGKILL'); // no need to send thousands of Deletes
    await exited;
    rmSync(dir, { recursive: true, force: true });
    if (inNs) sh('netns.sh', ['down']);
    release();
  }
}

/**
 * The generator's addresses in isk-load-i: 64 of them (interop/load/netns.sh spoof), so that no
 * responder meets a per-address cap (ours refuses ISAKMP SAs past 500 per peer address by
 * default); 11,000 SAs are 172 per address. Both responders get the same.
 */
const SOURCES = Array.from({ length: 64 }, (_, k) => `198.19.16.${k + 1}`);

function spoofedNetwork(): void {
  sh('netns.sh', ['up']);
  sh('netns.sh', ['spoof', String(SOURCES.length)]);
}

/** Builds the fake-xfrm shim as charon.sh does (interop/lib/common.sh), returns its path. */
function fakeXfrmShim(): string {
  const r = spawnSync('bash', ['-c', `. ${join(ROOT, 'interop/lib/common.sh')} && PEERS_RUN=\${LOAD_RUN:-/tmp/isakmp-load} fake_xfrm_so`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the fake-xfrm shim: ${r.stderr.trim()}`);
  return r.stdout.trim();
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
  spoofedNetwork();
  try {
    sh('charon.sh', ['start']);
    try {
      const pid = Number(sh('charon.sh', ['pid']).trim());
      if (o.cpus) pin(pid, o.cpus[1]);
      const common = { target: '198.19.10.2:500', sources: SOURCES, concurrency: o.concurrency, ike: o.ike, esp: o.esp, netns: 'isk-load-i', ...(o.cpus ? { cpu: o.cpus[0] } : {}) };
      await runGenerator({ ...common, count: 1000, durationS: 20, localId: '@warm-{n}.bench' });
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
        sysMsPerSa: (p1.sysMs - p0.sysMs) / Math.max(1, gen.established),
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
  const lines = [
    `${l.name}: ${g.established}/${g.started} handshakes in ${g.seconds.toFixed(2)} s = ${g.rate.toFixed(0)}/s wall (failed ${g.failed}, abandoned ${g.abandoned}; latency p50 ${g.latencyMs.p50} ms, p99 ${g.latencyMs.p99} ms)`,
    `  responder CPU ${l.cpuMsPerSa.toFixed(3)} ms/SA${l.sysMsPerSa !== undefined ? ` (${l.sysMsPerSa.toFixed(3)} of it in the kernel)` : ''} (= ${(1000 / l.cpuMsPerSa).toFixed(0)} SAs/s per responder core); generator CPU ${(g.generatorCpuMs / Math.max(1, g.established)).toFixed(3)} ms/SA`,
    `  memory per ISAKMP SA + IPsec SA pair: heap ${kib(l.heapPerSa)}, RSS ${kib(l.rssPerSa)}${l.responderSas !== undefined ? ` (over ${l.responderSas} SAs the responder reports)` : ''}`,
  ];
  const d = l.dataplane;
  if (d !== undefined) {
    const n = Math.max(1, d.figures.installs);
    lines.push(
      `  kernel per SA pair: ${(d.requests / n).toFixed(2)} netlink requests (${(d.allocSpi / n).toFixed(2)} of them ALLOCSPI), ${(d.sends / n).toFixed(3)} send() and ${(d.recvs / n).toFixed(2)} recv() calls; ` +
        `install latency (QM3 handled -> SAs and policies in the kernel) p50 ${d.figures.p50.toFixed(2)} ms, p99 ${d.figures.p99.toFixed(2)} ms over ${d.figures.installs} installs (${d.figures.failed} failed)`,
    );
  }
  lines.push(`  ${l.note}`);
  return lines.join('\n');
}

export async function main(): Promise<void> {
  const count = Number(process.env.LOAD_SAS ?? 10_000);
  const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 64);
  const ike = process.env.LOAD_IKE ?? 'aes128-sha256-modp2048';
  const esp = process.env.LOAD_ESP ?? 'aes128-sha256';
  const legs = (process.env.LOAD_LEGS ?? 'xfrm,none,charon').split(',');
  const cpus = pinning();
  // at charon's ~350/s, 10,000 handshakes take about 30 s: the bound only guards against a stall
  const durationS = Math.max(60, count / 100);
  console.log(
    `load: Main Mode PSK ${ike} + Quick Mode ${esp} (${/-(modp|ecp)\d+$/.test(esp) ? 'PFS' : 'no PFS'}), ${count} handshakes per leg, generator bench/load-gen.ts (${concurrency} in flight, a distinct peer ID per handshake), ` +
      (cpus ? `generator pinned to CPU ${cpus[0]}, responder to CPU ${cpus[1]}` : 'no CPU pinning'),
  );
  console.log(`machine: ${osCpus().length} x ${osCpus()[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine slows the wall rates; CPU per SA is the robust figure)`);
  const why = charonUnavailable();
  const o = { count, durationS, concurrency, ike, esp, cpus };
  if (why !== undefined) {
    const ours = await legOurs({ ...o, mode: 'loopback' });
    console.log(describe(ours));
    console.log(`namespace legs and charon SKIPPED: ${why}. No ratio printed; strongSwan's figures on this machine kind are in ../shared/PERFORMANCE.md (responder 2.52 ms CPU/SA).`);
    return;
  }
  let xfrm: Leg | undefined;
  let none: Leg | undefined;
  let ch: Leg | undefined;
  for (const leg of legs) {
    if (leg === 'xfrm') console.log(describe((xfrm = await legOurs({ ...o, mode: 'xfrm' }))));
    else if (leg === 'none') console.log(describe((none = await legOurs({ ...o, mode: 'none' }))));
    else if (leg === 'charon') console.log(describe((ch = await legCharon(o))));
  }
  if (xfrm !== undefined && none !== undefined) console.log(`ours: the kernel dataplane costs ${(xfrm.cpuMsPerSa - none.cpuMsPerSa).toFixed(3)} ms of responder CPU per SA (xfrm ${xfrm.cpuMsPerSa.toFixed(3)} vs none ${none.cpuMsPerSa.toFixed(3)})`);
  if (ch !== undefined && xfrm !== undefined) {
    console.log(
      `ratio ours/charon, both programming the kernel (fake-xfrm shim): ${(xfrm.gen.rate / ch.gen.rate).toFixed(2)}x wall handshakes/s; ` +
        `${(ch.cpuMsPerSa / xfrm.cpuMsPerSa).toFixed(2)}x responder SAs per CPU-second (target >= 2.5x)`,
    );
  }
  const mem = xfrm ?? none;
  if (mem !== undefined) {
    const per = mem.rssPerSa !== undefined && mem.heapPerSa !== undefined ? Math.max(mem.heapPerSa, mem.rssPerSa) : undefined;
    const n = mem.responderSas ?? 0;
    if (n < 10_000) console.log(`memory target (<= 8 KiB per ISAKMP SA + IPsec SA pair) applies at 10,000 SAs; this run made ${n}: heap ${kib(mem.heapPerSa)}, RSS ${kib(mem.rssPerSa)}`);
    else console.log(`memory target (<= 8 KiB per ISAKMP SA + IPsec SA pair at 10,000 SAs): heap ${kib(mem.heapPerSa)}, RSS ${kib(mem.rssPerSa)} over ${n} SAs -> ${per === undefined ? 'unknown' : per <= 8192 ? 'met' : 'NOT met'}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
