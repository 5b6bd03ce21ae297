/**
 * The shard benchmark's process legs (bench/shards.bench.ts, legs `p1`, `p2`): engine shards in
 * child processes that own their sockets (global.shard_mode: process), the load arriving by UDP
 * on loopback as it would from peers. The kernel steers every datagram (socket-group.ts): a first
 * message by its hash of the 4-tuple, every later one by the shard byte of our responder cookie.
 *
 * The load is pre-computed as in the thread legs, with one twist: the kernel, not the bench,
 * picks a first message's shard. So each conversation is recorded once per shard (the initiator's
 * randomness is seeded per conversation, so its first message, MM1, is the same in every
 * recording); the shard's answer (MM2) names its shard in the responder cookie's first byte, and
 * the generator replays the recording made against that shard. The generator (shards-generator.ts,
 * a worker thread: its CPU time is measured apart) is a map lookup and a send per answer, from 64
 * source sockets (64 source ports: the kernel's hash spreads their first messages). After the
 * warm-up it knows which shard each source port reaches and starts conversations on the shards in
 * turn, as a large population of peers would spread them.
 */
import { createHmac } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { Endpoint } from '../src/exchange/index.js';
import type { Address, Connection } from '../src/exchange/index.js';
import { loadNativeSockets } from '../src/daemon/dataplane/native.js';
import { BenchRandom } from '../src/daemon/shards/bench-random.js';
import { tagCookie } from '../src/daemon/shards/route.js';
import { ShardedEndpoint } from '../src/daemon/shards/sharded-endpoint.js';
import { closeSocketGroups, openSocketGroups } from '../src/daemon/shards/socket-group.js';
import type { GeneratorJob } from './shards-generator.js';
import { converse } from './shards-converse.js';
import { threadCpu, threadIds } from './thread-cpu.js';

const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
/** Clock ticks per second of /proc/PID/stat (Linux's USER_HZ: 100 on every architecture Node runs on). */
const TICKS = 100;

export interface ProcessBench {
  readonly key: Uint8Array;
  readonly seed: string;
  readonly concurrency: number;
  /** The initiator's connection of conversation `i`, from `local` to `remote`. */
  initiatorConn(i: number, local: Address, remote: Address): Connection;
  /** The responder's (the shards') connection on `local`. */
  responderConn(local: Address): Connection;
  /** The engine options of the responders (the shards' and the recording's). */
  readonly options: Omit<ConstructorParameters<typeof Endpoint>[0], 'random' | 'connections'>;
}

export interface ProcessLegResult {
  readonly leg: string;
  readonly done: number;
  readonly seconds: number;
  readonly rate: number;
  /** CPU ms per SA of the generator's thread. */
  readonly generatorMsPerSa: number;
  /** CPU ms per SA of the rest of the bench process: the main thread (the daemon's main process' part: the shards' events) and V8's threads. */
  readonly benchMsPerSa: number;
  /** Of which the main thread's. */
  readonly mainThreadMsPerSa: number;
  /** CPU ms per SA of each shard process. */
  readonly shardMsPerSa: number[];
  /** Datagrams a shard received for another and forwarded, per SA. */
  readonly forwardsPerSa: number;
  /** Posts from the main process to the shards, per SA (datagrams never go through it). */
  readonly postsPerSa: number;
}

/** Randomness seeded per conversation (the initiator's: the same MM1 in every recording of it). */
function seeded(seed: string, i: number): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    const c = counter++;
    for (let o = 0, k = 0; o < n; k++, o += 32) {
      const h = createHmac('sha256', seed).update(`initiator/${i}/${c}/${k}`).digest();
      out.set(h.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  };
}

const GENERATOR: Address = { address: '127.0.0.1', port: 40000 };

export class ProcessLegs {
  /** Recordings by conversation, then by shard: the initiator's five messages. */
  private readonly recorded = new Map<number, Uint8Array[][]>();
  /** The shards' port (one for every leg: the recordings hold the responder's address). */
  private readonly port: number;

  constructor(private readonly b: ProcessBench) {
    // one port for every leg: the recordings hold the responder's address
    const sys = loadNativeSockets();
    if (sys instanceof Error) throw sys;
    const [g] = openSocketGroups(sys, [{ address: '127.0.0.1', family: 4 }], 0, 0, 1);
    this.port = g!.port;
    closeSocketGroups(sys, [g!]);
  }

  private responder(): Address {
    return { address: '127.0.0.1', port: this.port };
  }

  /** Records conversation `i` against shard `k` (cached). */
  private recording(i: number, k: number): Uint8Array[] {
    let per = this.recorded.get(i);
    if (per === undefined) this.recorded.set(i, (per = []));
    const got = per[k];
    if (got !== undefined) return got;
    const R = this.responder();
    const ini = new Endpoint({ random: seeded(this.b.seed, i), connections: [this.b.initiatorConn(i, GENERATOR, R)], nattPort: 0 });
    const bench = new BenchRandom(this.b.seed);
    const resp = new Endpoint({ ...this.b.options, connections: [this.b.responderConn(R)], random: bench.random, cookieTag: (c) => tagCookie(this.b.key, k, c) });
    ini.initiate(0, 'c');
    const messages = converse(ini, ini.pollTransmit()!, resp, bench, GENERATOR, R, `conversation ${i} against shard ${k}`);
    per[k] = messages;
    return messages;
  }

  /** Records conversations `from`..`to`-1 against each of `shards` shards beforehand. */
  record(from: number, to: number, shards: number): void {
    for (let i = from; i < to; i++) for (let k = 0; k < shards; k++) this.recording(i, k);
  }

  /** One leg: `n` shard processes, `warm` conversations unmeasured, then `measured`. */
  async leg(n: number, warm: number, measured: number): Promise<ProcessLegResult> {
    const sys = loadNativeSockets();
    if (sys instanceof Error) throw sys;
    this.record(0, warm + measured, n);
    const groups = openSocketGroups(sys, [{ address: '127.0.0.1', family: 4 }], this.port, 0, n);
    for (const fd of groups[0]!.fds) sys.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20);
    const ep = new ShardedEndpoint({ ...this.b.options, connections: [this.b.responderConn(this.responder())], random: seeded('unused', -1) }, { shards: n, mode: 'process', ownSockets: true, routingKey: this.b.key, benchSeed: this.b.seed });
    ep.attachSockets(groups, []);
    closeSocketGroups(sys, groups); // the shards hold them (the bench restarts none)
    const before = threadIds();
    const generator = new Worker(new URL('./shards-generator.js', import.meta.url));
    await new Promise((r) => setTimeout(r, 200)); // its thread is there
    const generatorTid = [...threadIds()].filter((t) => !before.has(t)).sort((a, b) => a - b)[0] ?? -1;
    try {
      await this.replay(ep, generator, 0, warm, n, false);
      const f0 = await settledForwards(ep);
      let posts0 = 0;
      let th0 = new Map<number, number>();
      let shard0: number[] = [];
      let t0 = 0;
      const done = await this.replay(ep, generator, warm, warm + measured, n, true, () => {
        posts0 = ep.crossings.toShards;
        th0 = threadCpu();
        shard0 = ep.pids().map(procCpuMs);
        t0 = performance.now();
      });
      const seconds = (performance.now() - t0) / 1000;
      const th1 = threadCpu();
      const shardMs = ep.pids().map((p, k) => procCpuMs(p) - shard0[k]!);
      const posts = ep.crossings.toShards - posts0;
      const f1 = await settledForwards(ep);
      const per = (ms: number): number => ms / Math.max(1, done);
      const gen = th1.has(generatorTid) ? (th1.get(generatorTid)! - (th0.get(generatorTid) ?? 0)) / 1e6 : NaN;
      let all = 0;
      for (const [tid, ns] of th1) all += ns - (th0.get(tid) ?? 0);
      const mainThread = ((th1.get(process.pid) ?? 0) - (th0.get(process.pid) ?? 0)) / 1e6;
      return {
        leg: `${n} shard process${n > 1 ? 'es' : ''}`,
        done,
        seconds,
        rate: done / seconds,
        generatorMsPerSa: per(gen),
        benchMsPerSa: per(all / 1e6 - gen),
        mainThreadMsPerSa: per(mainThread),
        shardMsPerSa: shardMs.map(per),
        forwardsPerSa: per(f1 - f0),
        postsPerSa: per(posts),
      };
    } finally {
      await generator.terminate();
      await ep.close();
    }
  }

  /** Replays conversations `from`..`to`-1 through the generator; resolves with how many the shards established (or after 120 s). */
  private async replay(ep: ShardedEndpoint, generator: Worker, from: number, to: number, n: number, balance: boolean, onStart: () => void = () => {}): Promise<number> {
    const recordings: Uint8Array[][] = [];
    for (let i = from; i < to; i++) recordings.push(Array.from({ length: n }, (_, k) => this.recording(i, k)).flat());
    let done = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => (finish = r));
    ep.setWakeup(() => {
      for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
        if (e.type === 'failed') throw new Error(`shards bench: ${e.kind} failed: ${e.reason}`);
        if (e.type === 'ipsec-sa-established') done++;
      }
      if (done >= to - from) finish();
    });
    const job: GeneratorJob = { port: this.port, shards: n, recordings, concurrency: this.b.concurrency, balance };
    const ready = new Promise((r) => generator.once('message', r));
    generator.postMessage(job);
    await ready;
    onStart();
    generator.postMessage('go');
    const guard = setTimeout(() => finish(), 120_000);
    await finished;
    clearTimeout(guard);
    return done;
  }
}

/** A process' CPU time (all its threads), ms. */
function procCpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** The shards' forward count once their once-a-second stats have come in. */
async function settledForwards(ep: ShardedEndpoint): Promise<number> {
  await new Promise((r) => setTimeout(r, 1100));
  return ep.forwards();
}
