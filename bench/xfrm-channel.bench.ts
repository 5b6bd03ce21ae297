/**
 * The kernel channel alone (issue 13): how fast IPsec SA pairs go into the kernel, with nothing
 * else running. In a throw-away network namespace, with the fake-xfrm shim LD_PRELOADed (this
 * kernel has no ESP; SPIs and policies are real kernel objects, the SAs are acknowledged by the
 * shim), bench/xfrm-install.ts installs SA pairs exactly as the daemon does (two SAs, three
 * policies each; the IKE bypass once):
 *
 *   1. netlink, inbound SPIs from the ALLOCSPI pool (the daemon's default) — XFRM_PAIRS pairs;
 *   2. netlink, SPIs drawn at random by the engine (no ALLOCSPI) — XFRM_PAIRS pairs;
 *   3. one persistent `ip -force -batch -` process fed the same operations as text (the fallback
 *      the issue names), XFRM_BATCH_PAIRS pairs;
 *   4. one `ip` process per operation (the adapter before the channel), XFRM_SPAWN_PAIRS pairs.
 *
 * Prints pairs per second, CPU per pair (the installing process, user + system; the kernel's
 * work is system time of the sender, since the kernel handles netlink requests in send()), and
 * netlink requests and system calls per pair. Target: 100,000 pairs at >= 2,000 pairs/s.
 *
 * Needs root, iproute2, gcc (the shim). Environment: XFRM_PAIRS (default 100000),
 * XFRM_BATCH_PAIRS (10000), XFRM_SPAWN_PAIRS (200), XFRM_RUNS (1).
 *   node build/bench/xfrm-channel.bench.js
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipArgs } from '../src/daemon/dataplane/ip-kernel.js';
import { saRecords, bypassPolicies } from '../src/daemon/dataplane/sa-records.js';
import type { XfrmOp } from '../src/daemon/dataplane/kernel.js';

const HERE = fileURLToPath(new URL('.', import.meta.url)); // build/bench/
const ROOT = resolve(HERE, '../..');
const NS = 'isk-xfrm-bench';

function sh(cmd: string, args: string[], env: Record<string, string> = {}): { status: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { status: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Builds the fake-xfrm shim as interop/install.sh does, returns its path. */
export function fakeXfrmShim(): string {
  const r = sh('bash', ['-c', `. ${join(ROOT, 'interop/lib/common.sh')} && fake_xfrm_so`]);
  if (r.status !== 0) throw new Error(`building the fake-xfrm shim: ${r.err.trim()}`);
  return r.out.trim();
}

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces)';
  if (sh('which', ['gcc']).status !== 0) return 'gcc missing (the fake-xfrm shim)';
  if (!existsSync(join(ROOT, 'native/build/Release/isakmp_netlink.node'))) return 'the native netlink binding is not built (npm ci)';
  return undefined;
}

function freshNamespace(): void {
  sh('ip', ['netns', 'del', NS]);
  if (sh('ip', ['netns', 'add', NS]).status !== 0) throw new Error(`ip netns add ${NS} failed`);
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
}

interface ChildResult {
  pairs: number;
  seconds: number;
  pairsPerSecond: number;
  cpuMs: number;
  cpuSystemMs: number;
  failed: number;
  firstError?: string;
  requests?: number;
  sends?: number;
  recvs?: number;
  allocSpiRequests: number;
  fromPool: number;
}

function child(so: string, pairs: number, extra: string[]): ChildResult {
  freshNamespace();
  const r = sh('ip', ['netns', 'exec', NS, 'env', `LD_PRELOAD=${so}`, 'FAKE_XFRM_LOG=/dev/null', process.execPath, join(ROOT, 'build/bench/xfrm-install.js'), '--pairs', String(pairs), ...extra]);
  const line = r.out.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`xfrm-install exited ${r.status}: ${r.err.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(line) as ChildResult;
}

/** The daemon's operations for pair i as `ip` batch lines (what the ip fallback would run). */
function batchLines(pairs: number): string {
  const lines: string[] = bypassPolicies([500, 4500]).map((policy) => ipArgs({ op: 'set-policy', policy }).join(' '));
  for (let i = 0; i < pairs; i++) {
    const peer = `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`;
    const spi = (b: number) => Uint8Array.of(b | ((i >>> 24) & 0x0f), (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
    const k = (n: number) => new Uint8Array(n).fill(0xab);
    const r = saRecords(
      {
        id: `q${i}`, isakmpSa: 'x', connection: 'b', role: 'responder', mode: 1, group: 0,
        local: { address: '198.19.10.2', port: 500 }, remote: { address: '198.19.10.1', port: 500 },
        localTs: { family: 4, start: '172.16.0.0', end: '172.16.255.255', prefix: 16, protocol: 0, port: 0 },
        remoteTs: { family: 4, start: peer, end: peer, prefix: 32, protocol: 0, port: 0 },
        lifetimeSeconds: 3600, lifetimeKilobytes: 0, establishedAt: 0,
        protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5, inbound: { spi: spi(0x20), keymat: k(0), encryptionKey: k(16), integrityKey: k(32) }, outbound: { spi: spi(0x10), keymat: k(0), encryptionKey: k(16), integrityKey: k(32) } }],
      },
      i + 1,
    );
    const ops: XfrmOp[] = [...r.states.map((state) => ({ op: 'add-sa', state }) as const), ...r.policies.map((policy) => ({ op: 'set-policy', policy }) as const)];
    for (const o of ops) lines.push(ipArgs(o).join(' '));
  }
  return lines.join('\n') + '\n';
}

/** `/usr/bin/time` around a command in the namespace: wall seconds and CPU ms (user + system). */
function timed(so: string, args: string[]): { seconds: number; cpuMs: number; status: number; err: string } {
  const r = sh('/usr/bin/time', ['-f', 'TIMED %e %U %S', 'ip', 'netns', 'exec', NS, 'env', `LD_PRELOAD=${so}`, 'FAKE_XFRM_LOG=/dev/null', ...args]);
  const m = /TIMED ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.err);
  return { seconds: Number(m?.[1] ?? NaN), cpuMs: (Number(m?.[2] ?? NaN) + Number(m?.[3] ?? NaN)) * 1000, status: r.status, err: r.err };
}

function ipBatch(so: string, pairs: number): { pairsPerSecond: number; cpuMsPerPair: number } {
  freshNamespace();
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-xfrm-'));
  try {
    const file = join(dir, 'ops.txt');
    writeFileSync(file, batchLines(pairs));
    const t = timed(so, ['ip', '-force', '-batch', file]);
    if (t.status !== 0) throw new Error(`ip -batch: ${t.err.trim().split('\n').slice(-2).join(' | ')}`);
    return { pairsPerSecond: pairs / t.seconds, cpuMsPerPair: t.cpuMs / pairs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ipSpawn(so: string, pairs: number): { pairsPerSecond: number; cpuMsPerPair: number } {
  freshNamespace();
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-xfrm-'));
  try {
    const file = join(dir, 'ops.sh');
    // one ip process per operation, in sequence, as the old adapter ran them
    writeFileSync(file, batchLines(pairs).trim().split('\n').map((l) => `ip ${l.replace(/\(/g, '\\(').replace(/\)/g, '\\)')} || exit 1`).join('\n') + '\n');
    const t = timed(so, ['bash', file]);
    if (t.status !== 0) throw new Error(`ip per operation: ${t.err.trim().split('\n').slice(-2).join(' | ')}`);
    return { pairsPerSecond: pairs / t.seconds, cpuMsPerPair: t.cpuMs / pairs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const f0 = (x: number): string => x.toFixed(0);
const f3 = (x: number): string => x.toFixed(3);

export async function main(): Promise<void> {
  const why = unavailable();
  if (why !== undefined) {
    console.log(`xfrm-channel bench SKIPPED: ${why}`);
    return;
  }
  const pairs = Number(process.env.XFRM_PAIRS ?? 100_000);
  const batchPairs = Number(process.env.XFRM_BATCH_PAIRS ?? 10_000);
  const spawnPairs = Number(process.env.XFRM_SPAWN_PAIRS ?? 200);
  const runs = Number(process.env.XFRM_RUNS ?? 1);
  const so = fakeXfrmShim();
  console.log(`xfrm channel: SA pairs (2 ESP SAs + 3 policies each) into the kernel of namespace ${NS}, fake-xfrm shim; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  try {
    for (let run = 1; run <= runs; run++) {
      for (const [label, extra] of [
        ['netlink, ALLOCSPI pool (daemon default)', []],
        ['netlink, engine-drawn SPIs (no ALLOCSPI)', ['--no-pool']],
      ] as const) {
        const r = child(so, pairs, [...extra]);
        const per = (x: number | undefined): string => (x === undefined ? '-' : (x / r.pairs).toFixed(2));
        console.log(
          `${label}: ${r.pairs} pairs in ${r.seconds.toFixed(2)} s = ${f0(r.pairsPerSecond)} pairs/s (target >= 2,000 at 100,000); CPU ${f3(r.cpuMs / r.pairs)} ms/pair (${f3(r.cpuSystemMs / r.pairs)} system); ` +
            `${per(r.requests)} netlink requests, ${per(r.sends)} sends, ${per(r.recvs)} recvs per pair; ${r.fromPool} inbound SPIs from the pool (${r.allocSpiRequests} ALLOCSPI); failed ${r.failed}${r.firstError ? ` (${r.firstError})` : ''}`,
        );
      }
      const b = ipBatch(so, batchPairs);
      console.log(`ip -force -batch (one process, text): ${batchPairs} pairs = ${f0(b.pairsPerSecond)} pairs/s, CPU ${f3(b.cpuMsPerPair)} ms/pair (no ALLOCSPI, no per-operation answer)`);
      const s = ipSpawn(so, spawnPairs);
      console.log(`ip per operation (the adapter before the channel): ${spawnPairs} pairs = ${f0(s.pairsPerSecond)} pairs/s, CPU ${f3(s.cpuMsPerPair)} ms/pair (ip processes only)`);
    }
  } finally {
    sh('ip', ['netns', 'del', NS]);
  }
}

await main();
