/**
 * N engine shards in worker threads or child processes (links.ts) behind the daemon's
 * `EndpointLike` (docs/scale.md): the daemon drives it like one endpoint. Shard processes with
 * their own sockets (`attachSockets`, socket-group.ts) receive and send without the main process;
 * what reaches a shard's socket for another shard comes back here once and goes on (`forward`). Datagrams go to their shard by their cookies (route.ts);
 * commands to the shard holding the SA, or for a new negotiation the shard of the connection's
 * established ISAKMP SA, else the shard of its peer's address (the keyed hash that spreads first
 * messages with threads; a hash of the name for a `%any` peer); connection changes to
 * every shard. Each shard runs its own timers; its transmits and events come back
 * asynchronously, are queued here, and wake the daemon's loop, which drains them with
 * `pollTransmit()` / `pollEvent()` as from one endpoint.
 *
 * The SA lists (`isakmpSas()`, `ipsecSas()`) are kept here from the shards' events: established
 * SAs only (a phase 1 still negotiating lives in its shard alone). Counts (`stats()`) are the
 * sum of what the shards last reported (about once a second).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ResourceLimits } from 'node:worker_threads';
import type { DataAttribute } from '../../codec/types.js';
import { LocalProtocolError } from '../../errors.js';
import type { IpsecSaRecord, IsakmpSaRecord, SaRecord } from '../../exchange/snapshot.js';
import type { Address, Connection, EndpointFactory, EndpointFactoryOptions, EndpointLike, EngineEvent, InitiateResult, IpsecSaInfo, IsakmpSaInfo, Transmit } from '../engine.js';
import { BlockBuilder, forEachDatagram, KEEPALIVE } from './datagram-block.js';
import { DPD_NO_SA, DPD_SENT, DPD_SLOTS, type FromShard, type SaRemoval, type ShardEngineOptions, type ShardInit, type ShardStats, type ToShard } from './protocol.js';
import { MAX_SHARDS, shardOfMessage, shardOfSa, spreadShard } from './route.js';
import { processLink, threadLink, type LinkHandlers, type ShardLink } from './links.js';
import type { SocketGroup } from './socket-group.js';
import type { ReceivingTable } from './receiving.js';
import type { TransportCounters } from '../udp.js';
/** How long `dpd()` waits for its shard to send the R-U-THERE (the shard may be busy with a batch). */
const DPD_WAIT_MS = 2000;

export interface ShardOptions {
  /** Number of shards (1..256). */
  readonly shards: number;
  /** The routing key (default: 32 random bytes). HA derives it from the cluster key. */
  readonly routingKey?: Uint8Array;
  /** Export SA snapshots for replication (`onReplicate`). */
  readonly replicate?: boolean;
  /** Operator-facing problems (a shard's command that failed, a shard that died). */
  readonly onProblem?: (message: string, level?: 'warn') => void;
  /** Benchmarks only: see ShardInit.benchSeed. */
  readonly benchSeed?: string;
  /** Each shard's V8 heap limits (Node's `resourceLimits` of a worker; default: V8's own). */
  readonly resourceLimits?: ResourceLimits;
  /** Worker threads (default) or child processes. */
  readonly mode?: 'thread' | 'process';
  /**
   * Processes only: the shards own sockets, and start when `attachSockets` gives them (the
   * daemon's transport does, shards/transport.ts); without, they start at once and the datagrams
   * go through `handleDatagram` and `pollTransmit` as with threads.
   */
  readonly ownSockets?: boolean;
  /** Why the daemon runs these shards as they are (a log line at start, e.g. threads instead of processes). */
  readonly note?: string;
}

/** What replication gets after each batch of a shard (see ha/tap.ts). */
export type ReplicationSink = (put: readonly SaRecord[], removed: readonly SaRemoval[]) => void;

/** A FIFO over an array with a moving head (no shift per item). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  push(v: T): void {
    this.items.push(v);
  }
  poll(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
}

const ZERO_STATS: ShardStats = { isakmp: 0, established: 0, halfOpen: 0, halfOpenEvicted: 0, firstMessagesRefused: 0, ipsec: 0, timers: 0 };

export class ShardedEndpoint implements EndpointLike {
  readonly shards: number;
  private readonly key: Uint8Array;
  private readonly links: ShardLink[] = [];
  private readonly inits: ShardInit[] = [];
  /** Per shard, where it answers `dpd` requests (protocol.ts: dpdAnswers). */
  private readonly dpdAnswers: Int32Array[] = [];
  private nextDpd = 0;
  private readonly pending: ToShard[][];
  private readonly transfers: ArrayBuffer[][];
  /** Per shard, the datagrams received this turn (one block in its next post). */
  private readonly inbound: BlockBuilder[];
  private flushScheduled = false;
  private readonly tx = new Queue<Transmit>();
  private readonly ev = new Queue<EngineEvent>();
  private readonly isakmp = new Map<string, IsakmpSaInfo>();
  private readonly ipsec = new Map<string, IpsecSaInfo>();
  private readonly rekeys = new Map<string, number>();
  private readonly stat: ShardStats[];
  private wake: (() => void) | undefined;
  private sink: ReplicationSink | undefined;
  private nextReq = 1;
  private readonly waiting = new Map<number, (m: FromShard) => void>();
  private closed = false;
  /** Messages across the thread boundary so far: posts to the shards, posts from them (benchmarks). */
  readonly crossings = { toShards: 0, fromShards: 0 };
  private problem: ((message: string, level?: 'warn') => void) | undefined;

  constructor(
    opts: EndpointFactoryOptions,
    private readonly o: ShardOptions,
  ) {
    if (!Number.isInteger(o.shards) || o.shards < 1 || o.shards > MAX_SHARDS) throw new RangeError(`shards: 1..${MAX_SHARDS}, not ${o.shards}`);
    this.shards = o.shards;
    this.key = o.routingKey ?? new Uint8Array(randomBytes(32));
    this.pending = Array.from({ length: this.shards }, () => []);
    this.transfers = Array.from({ length: this.shards }, () => []);
    this.inbound = Array.from({ length: this.shards }, () => new BlockBuilder());
    this.stat = Array.from({ length: this.shards }, () => ZERO_STATS);
    const { random: _r, allocateSpi: _a, connections, cookieTag: _c, ...rest } = opts;
    const options: ShardEngineOptions = {
      ...rest,
      // the global half-open cap is shared out; the per-peer caps hold per shard (docs/scale.md)
      ...(rest.halfOpenTotal !== undefined ? { halfOpenTotal: Math.max(1, Math.ceil(rest.halfOpenTotal / this.shards)) } : {}),
    };
    const allocate = opts.allocateSpi;
    this.allocate = opts.allocateSpi;
    for (const c of connections) this.remotes.set(c.name, c.remote);
    const thread = o.mode !== 'process';
    for (let i = 0; i < this.shards; i++) {
      const answers = thread ? new SharedArrayBuffer(DPD_SLOTS * 4) : undefined;
      if (answers !== undefined) this.dpdAnswers.push(new Int32Array(answers));
      this.inits.push({ shard: i, shards: this.shards, routingKey: this.key, options, connections, replicate: o.replicate === true, ...(answers !== undefined ? { dpdAnswers: answers } : {}), ...(o.benchSeed !== undefined ? { benchSeed: o.benchSeed } : {}) });
    }
    if (thread) for (const init of this.inits) this.links.push(threadLink(init, this.handlers(init.shard), o.resourceLimits));
    else if (o.ownSockets !== true) for (const init of this.inits) this.links.push(processLink(init, this.handlers(init.shard)));
  }

  private readonly allocate: EndpointFactoryOptions['allocateSpi'];
  /** Each connection's remote address (where `initiate` starts a negotiation). */
  private readonly remotes = new Map<string, Address>();

  private handlers(i: number): LinkHandlers {
    return {
      message: (batch) => {
        this.crossings.fromShards++;
        for (const m of batch) this.fromShard(i, m, this.allocate);
        this.wake?.();
      },
      stopped: (why) => (this.problem ?? this.o.onProblem)?.(`engine shard ${i} stopped: ${why} (its SAs are lost; restart the daemon)`),
    };
  }

  /** Threads or processes. */
  get mode(): 'thread' | 'process' {
    return this.o.mode ?? 'thread';
  }

  /** Whether the shards own the sockets (processes started by `attachSockets`). */
  get ownSockets(): boolean {
    return this.o.mode === 'process' && this.o.ownSockets === true;
  }

  /** Why the shards run as they do (for the daemon's log), if it was said. */
  get note(): string | undefined {
    return this.o.note;
  }

  /**
   * Starts the shard processes with their sockets (socket k of every group to shard k), and the
   * receiving table of wildcard sockets (receiving.ts). What was posted before goes out now.
   */
  attachSockets(groups: readonly SocketGroup[], receiving: ReceivingTable): void {
    if (!this.ownSockets || this.links.length > 0 || this.closed) throw new Error('attachSockets: only once, for shard processes that own their sockets');
    for (const init of this.inits) this.links.push(processLink({ ...init, receiving }, this.handlers(init.shard), groups));
    this.schedule();
  }

  /** The connections' receiving table changed (a reload): to every shard process with sockets. */
  setReceivingTable(table: ReceivingTable): void {
    if (this.ownSockets) this.broadcast({ t: 'receiving', table });
  }

  /** The shards' sockets' counters (summed; as of their last report, about once a second). */
  transportCounters(): TransportCounters {
    const sum: TransportCounters = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, keepalivesDropped: 0, keepalivesOut: 0, espDropped: 0, runtsDropped: 0, sendErrors: 0 };
    for (const s of this.stat) for (const k of Object.keys(sum) as (keyof TransportCounters)[]) sum[k] += s.transport?.[k] ?? 0;
    return sum;
  }

  /** The shard processes' ids (processes only). */
  pids(): number[] {
    return this.links.flatMap((l) => (l.pid !== undefined ? [l.pid] : []));
  }

  /** Datagrams the shards' sockets received for another shard (as of their last report). */
  forwards(): number {
    return this.stat.reduce((n, s) => n + (s.forwards ?? 0), 0);
  }

  /** The daemon's loop: called when shard output is queued (drain it with pollTransmit/pollEvent). */
  setWakeup(f: () => void): void {
    this.wake = f;
  }

  /** Operator-facing problems of the shards (a command that failed, a shard that stopped). */
  setProblemSink(f: (message: string, level?: 'warn') => void): void {
    this.problem = f;
  }

  /** Replication: records and removals from every shard after each of their batches. */
  setReplicationSink(f: ReplicationSink): void {
    this.sink = f;
  }

  /** The shard of a message from `remote` (route.ts). */
  shardOf(data: Uint8Array, remote: Address): number {
    return shardOfMessage(this.key, data, remote, this.shards);
  }

  private fromShard(i: number, m: FromShard, allocate: EndpointFactoryOptions['allocateSpi']): void {
    switch (m.t) {
      case 'out':
        if (m.tx !== undefined) forEachDatagram(m.tx, (local, remote, data, flags) => this.tx.push(flags & KEEPALIVE ? { local, remote, data, keepalive: true } : { local, remote, data }));
        for (const [id, at] of m.rekeys) this.rekeys.set(id, at);
        for (const e of m.events) {
          const g = this.globalRequest(i, e);
          this.follow(g);
          this.ev.push(g);
        }
        if (m.put.length > 0 || m.removed.length > 0) this.sink?.(m.put, m.removed);
        break;
      case 'stats':
        this.stat[i] = m.stats;
        break;
      case 'spi-need': {
        const spis: Uint8Array[] = [];
        for (let k = 0; k < 32 && allocate !== undefined; k++) {
          const s = allocate(m.local);
          if (s === undefined) break;
          spis.push(s);
        }
        this.post(i, { t: 'spis', local: m.local, spis });
        break;
      }
      case 'problem':
        (this.problem ?? this.o.onProblem)?.(m.message, m.level);
        break;
      case 'forward':
        this.post(m.to % this.shards, { t: 'in', block: m.block });
        break;
      case 'dpd-answer': {
        const f = this.waiting.get(m.req);
        this.waiting.delete(m.req);
        f?.(m);
        break;
      }
      case 'imported':
      case 'exported': {
        const f = this.waiting.get(m.req);
        this.waiting.delete(m.req);
        f?.(m);
        break;
      }
    }
  }

  /**
   * XAUTH and Mode Config requests carry a request id each shard counts on its own: the daemon
   * sees `local * shards + shard`, unique across shards, and its answer goes back to that shard
   * under the shard's own id (`answerXauth`, `answerModeConfig`).
   */
  private globalRequest(shard: number, e: EngineEvent): EngineEvent {
    if (e.type !== 'xauth-request' && e.type !== 'modecfg-request') return e;
    return { ...e, requestId: e.requestId * this.shards + shard };
  }

  /** The shard and its own request id behind a request id the daemon saw. */
  private localRequest(requestId: number, what: string): { shard: number; req: number } {
    if (!Number.isSafeInteger(requestId) || requestId < this.shards) throw new LocalProtocolError(0, `no ${what} request ${requestId} waits for an answer`);
    return { shard: requestId % this.shards, req: Math.floor(requestId / this.shards) };
  }

  /** The SA lists follow the shards' events. */
  private follow(e: EngineEvent): void {
    switch (e.type) {
      case 'phase1-established':
        this.isakmp.set(e.sa.id, e.sa);
        break;
      case 'ipsec-sa-established':
      case 'ipsec-sa-updated':
        this.ipsec.set(e.sa.id, e.sa);
        break;
      case 'deleted':
        (e.kind === 'isakmp' ? this.isakmp : this.ipsec).delete(e.id);
        this.rekeys.delete(e.id);
        break;
      case 'expired':
        if (e.hard) (e.kind === 'isakmp' ? this.isakmp : this.ipsec).delete(e.id);
        this.rekeys.delete(e.id); // soft: the rekey is under way (the engine says no time then)
        break;
      default:
        break;
    }
  }

  private post(shard: number, m: ToShard): void {
    if (this.closed) return;
    this.closeBlock(shard); // the datagrams received before this command go first
    this.pending[shard]!.push(m);
    this.schedule();
  }

  private schedule(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Ends the shard's current block of received datagrams (a message of the next post). */
  private closeBlock(shard: number): void {
    const b = this.inbound[shard]!;
    if (b.count === 0) return;
    const { block, transfer } = b.take();
    this.pending[shard]!.push({ t: 'in', block });
    this.transfers[shard]!.push(transfer);
  }

  /** One postMessage per shard per turn of the event loop. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.links.length === 0) return; // shard processes waiting for their sockets
    for (let i = 0; i < this.shards; i++) {
      this.closeBlock(i);
      const batch = this.pending[i]!;
      if (batch.length === 0) continue;
      this.pending[i] = [];
      const transfer = this.transfers[i]!;
      this.transfers[i] = [];
      this.links[i]!.post(batch, transfer);
      this.crossings.toShards++;
    }
  }

  private broadcast(m: ToShard): void {
    for (let i = 0; i < this.shards; i++) this.post(i, m);
  }

  // ------------------------------------------------------------------------------ EndpointLike

  /** Gathers the datagram into its shard's block (copied when the block is posted, this turn). */
  handleDatagram(_now: number, local: Address, remote: Address, data: Uint8Array): void {
    if (this.closed) return;
    this.inbound[this.shardOf(data, remote)]!.add(local, remote, data);
    this.schedule();
  }

  /** The shards run their own timers. */
  handleTimeout(_now: number): void {}

  /**
   * Posts the request to the shard holding the connection's ISAKMP SA; that shard's engine starts
   * only the pairs without an IPsec SA. The result is what this thread knows now: the IPsec SAs of
   * the connection the shards reported (a shard's own answer is not waited for).
   */
  initiate(_now: number, connection: string): InitiateResult {
    let established = 0;
    for (const c of this.ipsec.values()) if (c.connection === connection) established++;
    let shard: number | undefined;
    for (const s of this.isakmp.values()) if (s.connection === connection) shard = shardOfSa(this.key, s.id, s.remote, this.shards);
    // a new negotiation: the shard of the peer's address, where the peer's own first messages go
    // with threads, so that the connections to one peer share one shard (and one ISAKMP SA)
    const remote = this.remotes.get(connection);
    shard ??= remote !== undefined && remote.address !== '%any' ? spreadShard(this.key, remote, this.shards) : createHash('sha256').update(connection).digest().readUInt32BE(0) % this.shards;
    this.post(shard, { t: 'initiate', connection });
    return { started: established > 0 ? 0 : 1, negotiating: 0, established };
  }

  private shardOfId(sa: string): number {
    const p1 = this.isakmp.get(sa);
    if (p1) return shardOfSa(this.key, p1.id, p1.remote, this.shards);
    const c = this.ipsec.get(sa);
    if (c) return shardOfSa(this.key, c.isakmpSa, c.remote, this.shards);
    throw new LocalProtocolError(0, `no SA ${sa}`);
  }

  rekey(_now: number, sa: string): void {
    this.post(this.shardOfId(sa), { t: 'rekey', sa });
  }

  delete(_now: number, sa: string): void {
    this.post(this.shardOfId(sa), { t: 'delete', sa });
  }

  /**
   * RFC 3706: an R-U-THERE now under the ISAKMP SA `sa`, sent by the shard holding it; returns its
   * sequence number (the ACK arrives as a `notify` event). The number is the shard's engine's, so
   * this one call waits for the shard: the request is posted at once (after the datagrams
   * received before it) and the main thread blocks until the shard has handled it, at most
   * DPD_WAIT_MS (a shard busy with a batch of handshakes answers within milliseconds).
   */
  dpd(_now: number, sa: string): number {
    if (this.mode === 'process') throw new LocalProtocolError(0, `DPD on ${sa}: engine shards in processes answer asynchronously (dpdAsync)`);
    const p1 = this.isakmp.get(sa);
    if (p1 === undefined || this.closed) throw new LocalProtocolError(0, `no established ISAKMP SA ${sa}`);
    const shard = shardOfSa(this.key, p1.id, p1.remote, this.shards);
    const answers = this.dpdAnswers[shard]!;
    this.nextDpd = (this.nextDpd % 0x7fffffff) + 1;
    const req = this.nextDpd;
    this.post(shard, { t: 'dpd', req, sa });
    this.flush(); // now, not at the end of this turn: the answer is waited for here
    const end = performance.now() + DPD_WAIT_MS;
    for (let seen = Atomics.load(answers, 0); seen !== req; seen = Atomics.load(answers, 0)) {
      const left = end - performance.now();
      if (left <= 0) throw new LocalProtocolError(0, `DPD on ${sa}: engine shard ${shard} did not answer within ${DPD_WAIT_MS} ms`);
      Atomics.wait(answers, 0, seen, left);
    }
    const outcome = Atomics.load(answers, 2);
    if (outcome === DPD_SENT) return Atomics.load(answers, 1) >>> 0;
    throw new LocalProtocolError(0, outcome === DPD_NO_SA ? `no established ISAKMP SA ${sa}` : `DPD on ${sa} failed in engine shard ${shard}`);
  }

  /** `dpd()` for shards in threads or processes: resolves with the shard's sequence number. */
  async dpdAsync(now: number, sa: string): Promise<number> {
    if (this.mode === 'thread') return this.dpd(now, sa);
    const p1 = this.isakmp.get(sa);
    if (p1 === undefined || this.closed) throw new LocalProtocolError(0, `no established ISAKMP SA ${sa}`);
    const shard = shardOfSa(this.key, p1.id, p1.remote, this.shards);
    const a = await this.request<Extract<FromShard, { t: 'dpd-answer' }>>(shard, (req) => ({ t: 'dpd', req, sa }));
    if (a.outcome === DPD_SENT) return a.seq >>> 0;
    throw new LocalProtocolError(0, a.outcome === DPD_NO_SA ? `no established ISAKMP SA ${sa}` : `DPD on ${sa} failed in engine shard ${shard}`);
  }

  reportTraffic(_now: number, sa: string, bytes: number): void {
    const c = this.ipsec.get(sa);
    if (c) this.post(shardOfSa(this.key, c.isakmpSa, c.remote, this.shards), { t: 'traffic', sa, bytes });
  }

  /** `message` events on or off, in every shard. */
  observeMessages(on: boolean): void {
    this.broadcast({ t: 'observe', on });
  }

  /**
   * XAUTH gateway: the verdict on an `xauth-request` goes to the shard that asked. A request its
   * shard no longer knows (answered already) is dropped there, as the engine's own refusal would be.
   */
  answerXauth(_now: number, requestId: number, ok: boolean): void {
    const { shard, req } = this.localRequest(requestId, 'XAUTH');
    this.post(shard, { t: 'xauth', req, ok });
  }

  /** Mode Config gateway: the attributes answering a `modecfg-request`, to the shard that asked. */
  answerModeConfig(_now: number, requestId: number, attributes: readonly DataAttribute[]): void {
    const { shard, req } = this.localRequest(requestId, 'Mode Config');
    this.post(shard, { t: 'modecfg', req, attributes });
  }

  pollTransmit(): Transmit | undefined {
    return this.tx.poll();
  }

  pollEvent(): EngineEvent | undefined {
    return this.ev.poll();
  }

  pollTimeout(): number | undefined {
    return undefined;
  }

  /** When a shard will rekey an SA, as it said when the SA was established (status' `rekeyIn`). */
  rekeyAt(sa: string): number | undefined {
    return this.rekeys.get(sa);
  }

  isakmpSas(): readonly IsakmpSaInfo[] {
    return [...this.isakmp.values()];
  }

  ipsecSas(): readonly IpsecSaInfo[] {
    return [...this.ipsec.values()];
  }

  /** Whether a shard still holds this IPsec SA (as its events said). */
  holdsIpsecSa(id: string): boolean {
    return this.ipsec.has(id);
  }

  setConnection(c: Connection): void {
    this.remotes.set(c.name, c.remote);
    this.broadcast({ t: 'set-connection', connection: c });
  }

  removeConnection(name: string): boolean {
    this.remotes.delete(name);
    this.broadcast({ t: 'remove-connection', name });
    return true;
  }

  stats(): ShardStats {
    const s = { ...ZERO_STATS };
    for (const x of this.stat) {
      s.isakmp += x.isakmp;
      s.established += x.established;
      s.halfOpen += x.halfOpen;
      s.halfOpenEvicted += x.halfOpenEvicted;
      s.firstMessagesRefused += x.firstMessagesRefused;
      s.ipsec += x.ipsec;
      s.timers += x.timers;
    }
    return s;
  }

  // ------------------------------------------------------------------------------ replication

  private request<T extends FromShard>(shard: number, make: (req: number) => ToShard): Promise<T> {
    const req = this.nextReq++;
    return new Promise<T>((resolve) => {
      this.waiting.set(req, (m) => resolve(m as T));
      this.post(shard, make(req));
    });
  }

  /**
   * Takes SAs over (HA): each ISAKMP SA goes to the shard its cookies route to, each IPsec SA to
   * its ISAKMP SA's shard. Resolves with what was imported and the records refused.
   */
  async importRecords(records: readonly SaRecord[]): Promise<{ isakmp: IsakmpSaInfo[]; ipsec: IpsecSaInfo[]; errors: string[] }> {
    const per = Array.from({ length: this.shards }, () => ({ isakmp: [] as IsakmpSaRecord[], ipsec: [] as IpsecSaRecord[] }));
    for (const r of records) {
      if (r.kind === 'isakmp') per[shardOfSa(this.key, r.id, r.remote, this.shards)]!.isakmp.push(r);
      else per[shardOfSa(this.key, r.isakmpSa, r.remote, this.shards)]!.ipsec.push(r);
    }
    const answers = await Promise.all(per.map((p, i) => this.request<Extract<FromShard, { t: 'imported' }>>(i, (req) => ({ t: 'import', req, isakmp: p.isakmp, ipsec: p.ipsec }))));
    const out = { isakmp: [] as IsakmpSaInfo[], ipsec: [] as IpsecSaInfo[], errors: [] as string[] };
    for (const a of answers) {
      for (const [id, at] of a.rekeys) this.rekeys.set(id, at);
      for (const s of a.isakmp) this.isakmp.set(s.id, s);
      for (const s of a.ipsec) this.ipsec.set(s.id, s);
      out.isakmp.push(...a.isakmp);
      out.ipsec.push(...a.ipsec);
      out.errors.push(...a.errors);
    }
    return out;
  }

  /** Every SA of every shard, as records (a full resynchronisation of the store). */
  async exportAll(): Promise<SaRecord[]> {
    const answers = await Promise.all(this.inits.map((_, i) => this.request<Extract<FromShard, { t: 'exported' }>>(i, (req) => ({ t: 'export-all', req }))));
    return answers.flatMap((a) => a.records);
  }

  /** Stops the shards (their SAs are gone with them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await Promise.all(this.links.map((l) => l.close()));
  }
}

/** An endpoint factory for the daemon: `o.shards` engine shards in worker threads or processes. */
export function shardedEndpointFactory(o: ShardOptions): EndpointFactory {
  return (opts) => new ShardedEndpoint(opts, o);
}
