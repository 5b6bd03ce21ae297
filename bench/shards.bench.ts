/**
 * Shard benchmark (issue 15): complete Main Mode PSK + Quick Mode handshakes per second answered
 * by the daemon's sharded engine (src/daemon/shards/: worker threads behind the `EndpointLike`
 * the daemon drives), with 1 and with 2 shards, and the engine in the main thread as the
 * baseline of the hand-off's cost; CPU per SA (all threads of this process) for each.
 *
 * The load costs (almost) nothing: it is pre-computed. Each shard draws its randomness from a
 * seed and the initiator cookie of the datagram it handles (src/daemon/shards/bench-random.ts,
 * benchmarks only), so its answers to a given conversation are always the same. The bench records
 * every conversation once beforehand (an initiator endpoint against a responder endpoint set up
 * exactly like the shard the conversation is routed to), then replays the initiator's messages:
 * each answer from the shards releases the next recorded message of its conversation, a map
 * lookup. The shards do all of a real responder's work (both Diffie-Hellman operations, the key
 * schedule, every hash and cipher); the main thread routes (one HMAC per datagram) and hands off,
 * as the daemon's does. No UDP in these legs (the daemon's socket work is left out of them, the
 * same with or without thread shards).
 *
 * The legs `p1` and `p2` run the shards as child processes that own their sockets, with the load
 * arriving by UDP on loopback (bench/shards-process.ts says how it stays pre-computed): they
 * include every datagram's socket work, the generator's and the shards', on the same two cores.
 *
 * Environment: SHARDS_SAS (default 6000 per leg, the first SHARDS_WARMUP = 2000 of them unmeasured, per
 * shard: 2 shards warm up on 4000), SHARDS_CONCURRENCY (64), SHARDS_GROUP (14 =
 * MODP-2048; 19 = ECP-256), SHARDS_LEGS (default "main,1,2,p1,p2").
 *
 *   node build/bench/shards.bench.js        (also run by `npm run bench -- shards`)
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { Endpoint } from '../src/exchange/index.js';
import type { Address, Connection, EngineEvent, Transmit } from '../src/exchange/index.js';
import type { EndpointLike } from '../src/daemon/engine.js';
import { BenchRandom } from '../src/daemon/shards/bench-random.js';
import { ShardedEndpoint } from '../src/daemon/shards/sharded-endpoint.js';
import { shardOfMessage, tagCookie } from '../src/daemon/shards/route.js';
import { cpuBetween, threadCpu, threadIds } from './thread-cpu.js';
import { ProcessLegs, type ProcessLegResult } from './shards-process.js';
import { converse } from './shards-converse.js';

const SAS = Number(process.env.SHARDS_SAS ?? 6000);
const CONCURRENCY = Number(process.env.SHARDS_CONCURRENCY ?? 64);
const GROUP = Number(process.env.SHARDS_GROUP ?? 14);
const LEGS = (process.env.SHARDS_LEGS ?? 'main,1,2,p1,p2').split(',');
/** Each shard's young generation (MB, a worker's `maxYoungGenerationSizeMb`; 0: V8's default). */
const YOUNG_MB = Number(process.env.SHARDS_YOUNG_MB ?? 0);
/**
 * Conversations replayed first, unmeasured: each worker's JIT warms up as the main thread's did
 * while recording. 300 were too few: V8's background compiler threads then still spent 0.3-0.4 ms
 * per measured SA on a worker's code (the "other threads" figure), which read as hand-off cost.
 */
const WARMUP = Number(process.env.SHARDS_WARMUP ?? 2000);
/**
 * The warm-up of a leg with `shards` shards: WARMUP per shard. Each worker compiles the engine on
 * its own, from its share of the conversations: with 2,000 for two shards (1,000 each), the
 * background compiler still spent 0.2 ms per measured SA on the workers' code (0.30-0.35 ms on
 * "other threads" against 0.11 with 2,000 each), which read as the cost of a second shard.
 */
const warmupOf = (shards: number): number => WARMUP * Math.max(1, shards);
const PSK = new TextEncoder().encode('shard bench pre-shared key');
const RESPONDER: Address = { address: '198.51.100.1', port: 500 };
const KEY = new Uint8Array(32).fill(7);
const SEED = 'shard bench seed';

function peerOf(i: number): Address {
  return { address: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`, port: 500 };
}

function initiatorConn(i: number, local: Address = peerOf(i), remote: Address = RESPONDER): Connection {
  return {
    name: 'c',
    local,
    remote,
    auth: 'psk',
    psk: PSK,
    localId: { type: 'fqdn', value: `peer-${i}.bench` },
    ike: [{ encryption: 7, keyLength: 128, hash: 4, group: GROUP }],
    ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 }],
    rekey: false,
    initialContact: false,
  };
}

const { localId: _id, ...common } = initiatorConn(0);
const responderConn: Connection = { ...common, name: 'any', local: RESPONDER, remote: { address: '%any', port: 500 }, remoteId: { type: 'any' } };
const OPTIONS = { connections: [responderConn], nattPort: 0, halfOpenTotal: 100_000, halfOpenPerPeer: 100, maxIsakmpSasPerAddress: 100_000, maxIsakmpSasPerIdentity: 100_000, maxIpsecSasPerIdentity: 100_000 };

/** One recorded conversation: the initiator's messages, each sent after the responder's previous answer. */
interface Conversation {
  readonly peer: Address;
  readonly messages: Uint8Array[];
}

function responderFor(shard: number): { ep: Endpoint; bench: BenchRandom } {
  const bench = new BenchRandom(SEED);
  const ep = new Endpoint({ ...OPTIONS, random: bench.random, cookieTag: (c) => tagCookie(KEY, shard, c) });
  return { ep, bench };
}

/** Records `n` conversations, each against a responder set up like the shard it is routed to among `shards`. */
function record(n: number, shards: number): Conversation[] {
  const out: Conversation[] = [];
  const rnd = (k: number): Uint8Array => new Uint8Array(randomBytes(k));
  for (let i = 0; i < n; i++) {
    const peer = peerOf(i);
    const ini = new Endpoint({ random: rnd, connections: [initiatorConn(i)], nattPort: 0 });
    ini.initiate(0, 'c');
    const first = ini.pollTransmit()!;
    const { ep: resp, bench } = responderFor(shardOfMessage(KEY, first.data, peer, shards));
    const messages = converse(ini, first, resp, bench, peer, RESPONDER, `conversation ${i}`);
    out.push({ peer, messages });
  }
  return out;
}

/** The engine in the main thread, with the shards' randomness: the baseline (no hand-off). */
class MainThreadResponder implements Pick<EndpointLike, 'handleDatagram' | 'pollTransmit' | 'pollEvent'> {
  private readonly r = responderFor(0);
  handleDatagram(now: number, local: Address, remote: Address, data: Uint8Array): void {
    this.r.bench.enter(data);
    this.r.ep.handleDatagram(now, local, remote, data);
    this.r.bench.current = undefined;
  }
  pollTransmit(): Transmit | undefined {
    return this.r.ep.pollTransmit();
  }
  pollEvent(): EngineEvent | undefined {
    return this.r.ep.pollEvent();
  }
}

interface LegResult {
  readonly leg: string;
  readonly done: number;
  readonly seconds: number;
  readonly rate: number;
  readonly cpuMsPerSa: number;
  /** Share of the wall time the main thread was busy (routing, hand-off, replay). */
  readonly mainBusy: number;
  /** Messages across the thread boundary per SA, each way (shards only). */
  readonly crossings?: { readonly to: number; readonly from: number };
  /** CPU ms per SA by thread (main, shard k, other threads), when the OS tells (Linux). */
  readonly perThread: Map<string, number>;
}

/** Replays the conversations against `ep`; resolves when every one completed (or 120 s passed). */
async function replay(leg: string, conv: Conversation[], ep: Pick<EndpointLike, 'handleDatagram' | 'pollTransmit' | 'pollEvent'>, setWakeup: (f: () => void) => void, shardThreads: ReadonlyMap<number, string> = new Map()): Promise<LegResult> {
  const byPeer = new Map<string, { c: Conversation; next: number }>();
  let started = 0;
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const start = (): void => {
    while (started < conv.length && started - done < CONCURRENCY) {
      const c = conv[started++]!;
      byPeer.set(c.peer.address, { c, next: 1 });
      ep.handleDatagram(0, RESPONDER, c.peer, c.messages[0]!);
    }
  };
  const pump = (): void => {
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      const f = byPeer.get(t.remote.address);
      if (!f || f.next >= f.c.messages.length) continue;
      ep.handleDatagram(0, RESPONDER, f.c.peer, f.c.messages[f.next++]!);
    }
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      if (e.type === 'failed') throw new Error(`shards bench: ${e.kind} failed: ${e.reason}`);
      if (e.type !== 'ipsec-sa-established') continue;
      byPeer.delete(e.sa.remote.address);
      done++;
    }
    if (done >= conv.length) finish();
    else start();
  };
  setWakeup(pump);
  const cpu0 = process.cpuUsage();
  const th0 = threadCpu();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  start();
  pump();
  const guard = setTimeout(() => finish(), 120_000);
  await finished;
  clearTimeout(guard);
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const perThread = new Map([...cpuBetween(th0, threadCpu(), shardThreads)].map(([k, ms]) => [k, ms / Math.max(1, done)]));
  return { leg, done, seconds, rate: done / seconds, cpuMsPerSa: (c.user + c.system) / 1000 / Math.max(1, done), mainBusy: elu.utilization, perThread };
}

async function main(): Promise<void> {
  console.log(`shards: ${SAS - WARMUP} handshakes measured per leg after ${WARMUP} per shard to warm up (Main Mode PSK aes128-sha256 group ${GROUP} + Quick Mode aes128-sha256), ${CONCURRENCY} in flight; ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('load: pre-computed conversations replayed by the main thread (no crypto on the generator side)');
  const recorded = new Map<number, Conversation[]>();
  const conversations = (shards: number): Conversation[] => {
    let c = recorded.get(shards);
    if (!c) {
      const t = performance.now();
      c = record(warmupOf(shards) + SAS - WARMUP, shards);
      console.log(`  (recorded ${c.length} conversations for ${shards} shard${shards > 1 ? 's' : ''} in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
      recorded.set(shards, c);
    }
    return c;
  };
  const results: LegResult[] = [];
  const processResults: ProcessLegResult[] = [];
  let legs: ProcessLegs | undefined;
  for (const leg of LEGS) {
    if (leg.startsWith('p')) {
      const n = Number(leg.slice(1));
      legs ??= new ProcessLegs({
        key: KEY,
        seed: SEED,
        concurrency: CONCURRENCY,
        initiatorConn: (i, local, remote) => initiatorConn(i, local, remote),
        responderConn: (local) => ({ ...responderConn, local, remote: { address: '%any', port: 0 } }),
        // every conversation comes from 127.0.0.1: no admission limit per source address
        options: { ...OPTIONS, firstMessageRate: { perSecond: 1e9, burst: 1e9, perSourcePerSecond: 1e9, perSourceBurst: 1e9 } },
      });
      const t = performance.now();
      legs.record(0, warmupOf(n) + SAS - WARMUP, n);
      console.log(`  (recorded ${warmupOf(n) + SAS - WARMUP} conversations against each of ${n} shard${n > 1 ? 's' : ''} in ${((performance.now() - t) / 1000).toFixed(1)} s, the earlier recordings reused)`);
      const r = await legs.leg(n, warmupOf(n), SAS - WARMUP);
      processResults.push(r);
      const shardsMs = r.shardMsPerSa.reduce((a, b) => a + b, 0);
      console.log(`  ${r.leg.padEnd(26)} ${r.rate.toFixed(1).padStart(8)} handshakes/s  (${r.done} in ${r.seconds.toFixed(2)} s)  CPU ${(shardsMs + r.benchMsPerSa).toFixed(2)} ms per SA, the daemon's processes (+ ${r.generatorMsPerSa.toFixed(2)} the generator's)`);
      console.log(`  ${''.padEnd(26)} CPU ms per SA: ${r.shardMsPerSa.map((ms, k) => `shard process ${k} ${ms.toFixed(3)}`).join(', ')}; main process ${r.benchMsPerSa.toFixed(3)} (its main thread, the shards' events: ${r.mainThreadMsPerSa.toFixed(3)}; the rest V8's threads); generator thread ${r.generatorMsPerSa.toFixed(3)}`);
      console.log(`  ${''.padEnd(26)} forwarded between shards: ${r.forwardsPerSa.toFixed(3)} datagrams per SA; posts from the main process to the shards: ${r.postsPerSa.toFixed(3)} per SA`);
      continue;
    }
    if (leg === 'main') {
      const ep = new MainThreadResponder();
      let wake: () => void = () => {};
      // the main-thread engine answers at once: the pump runs after every input
      const direct = { handleDatagram: (n: number, l: Address, r: Address, d: Uint8Array) => { ep.handleDatagram(n, l, r, d); queueMicrotask(wake); }, pollTransmit: () => ep.pollTransmit(), pollEvent: () => ep.pollEvent() };
      const conv = conversations(1);
      await replay('warm-up', conv.slice(0, WARMUP), direct, (f) => (wake = f));
      results.push(await replay('engine in the main thread', conv.slice(WARMUP), direct, (f) => (wake = f)));
    } else {
      const n = Number(leg);
      const before = threadIds();
      const ep = new ShardedEndpoint({ ...OPTIONS, random: (k) => new Uint8Array(randomBytes(k)) }, { shards: n, routingKey: KEY, benchSeed: SEED, ...(YOUNG_MB > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } } : {}) });
      // the threads that appeared with the workers are the shards (in the order they started)
      const shardThreads = new Map([...threadIds()].filter((t) => !before.has(t)).sort((a, b) => a - b).map((t, k) => [t, `shard ${k}`] as const));
      const conv = conversations(n);
      await replay('warm-up', conv.slice(0, warmupOf(n)), ep, (f) => ep.setWakeup(f));
      const c0 = { ...ep.crossings };
      const r = await replay(`${n} shard${n > 1 ? 's' : ''}`, conv.slice(warmupOf(n)), ep, (f) => ep.setWakeup(f), shardThreads);
      results.push({ ...r, crossings: { to: (ep.crossings.toShards - c0.toShards) / r.done, from: (ep.crossings.fromShards - c0.fromShards) / r.done } });
      await ep.close();
    }
    const r = results[results.length - 1]!;
    console.log(`  ${r.leg.padEnd(26)} ${r.rate.toFixed(1).padStart(8)} handshakes/s  (${r.done} in ${r.seconds.toFixed(2)} s)  CPU ${r.cpuMsPerSa.toFixed(2)} ms per SA, main thread busy ${(r.mainBusy * 100).toFixed(0)} %`);
    if (r.crossings) console.log(`  ${''.padEnd(26)} messages across the thread boundary per SA: ${r.crossings.to.toFixed(2)} to the shards, ${r.crossings.from.toFixed(2)} back (9 datagrams per SA)`);
    if (r.perThread.size > 0) console.log(`  ${''.padEnd(26)} CPU ms per SA by thread: ${[...r.perThread].map(([k, ms]) => `${k} ${ms.toFixed(3)}`).join(', ')}`);
  }
  const one = results.find((r) => r.leg === '1 shard');
  const two = results.find((r) => r.leg === '2 shards');
  const main0 = results.find((r) => r.leg.startsWith('engine'));
  if (one && two) console.log(`  2 shards / 1 shard: ${(two.rate / one.rate).toFixed(2)}x the handshake rate (target >= 1.7x on 2 quiet cores); CPU per SA ${(two.cpuMsPerSa / one.cpuMsPerSa).toFixed(2)}x`);
  const s1 = one?.perThread.get('shard 0');
  if (one && two && s1 !== undefined) {
    // docs/scale.md "What these say about 1.7x": one shard is bound by its thread, two by both cores
    const h = one.cpuMsPerSa - s1;
    console.log(`  from the CPU per SA: two shards over one at most 2s/T = ${((2 * s1) / two.cpuMsPerSa).toFixed(2)}x (s = ${s1.toFixed(3)} ms in the shard alone, T = ${two.cpuMsPerSa.toFixed(3)} ms with 2 shards); work outside the shard with 1 shard h/s = ${((100 * h) / s1).toFixed(0)} % (1.7x needs T <= s/0.85, h/s <= 18 % even with no growth)`);
  }
  const p1 = processResults.find((r) => r.leg === '1 shard process');
  const p2 = processResults.find((r) => r.leg === '2 shard processes');
  if (p1 && p2) {
    const cpu = (r: ProcessLegResult): number => r.shardMsPerSa.reduce((a, b) => a + b, 0) + r.benchMsPerSa;
    console.log(`  2 shard processes / 1: ${(p2.rate / p1.rate).toFixed(2)}x the handshake rate (target >= 1.7x on 2 quiet cores); CPU per SA (the daemon's processes) ${(cpu(p2) / cpu(p1)).toFixed(2)}x`);
    // the same bound as the thread legs': two shards on two cores share them with the generator and the main process
    const s1 = p1.shardMsPerSa[0]!;
    console.log(`  from the CPU per SA: two shard processes over one at most 2s/T = ${((2 * s1) / (cpu(p2) + p2.generatorMsPerSa)).toFixed(2)}x on 2 cores (s = ${s1.toFixed(3)} ms in the shard with 1, T = ${(cpu(p2) + p2.generatorMsPerSa).toFixed(3)} ms everything with 2, the generator included)`);
  }
  if (p1 && one) console.log(`  1 shard process / 1 shard thread: ${(p1.rate / one.rate).toFixed(2)}x the handshake rate`);
  if (one && main0) console.log(`  hand-off: 1 shard costs ${(one.cpuMsPerSa - main0.cpuMsPerSa).toFixed(2)} ms CPU per SA more than the engine in the main thread (${((one.cpuMsPerSa / main0.cpuMsPerSa - 1) * 100).toFixed(1)} %)`);
  console.log('  (figures from a shared machine are indicative; see docs/scale.md for the method)');
}

await main();
