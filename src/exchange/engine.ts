/**
 * The state of one endpoint, shared by the drivers and the machinery modules: resolved options,
 * injected randomness, the connection table, the SA tables, the half-open table, the timer
 * queue, the output queues, and what is known about the datagram being handled. Internal: the
 * public surface is `Endpoint` (endpoint.ts); every other module is a set of functions over this.
 * @module
 */
import { DeletedSas } from './deleted-sas.js';
import { LocalProtocolError } from '../errors.js';
import { ConnectionTable } from './connections.js';
import { HalfOpenTable } from './half-open.js';
import { fingerprint } from './keys.js';
import { Fifo } from './outbox.js';
import { FirstAnswerLimiter, FirstMessageAdmission } from './rate.js';
import { SHORT_TIMERS, type Child, type EngineTimer, type P1, type Qm } from './records.js';
import { SaTables } from './tables.js';
import { TimerQueue } from './timers.js';
import { DEFAULT_REASSEMBLY_LIMITS, FragmentReassembly } from '../codec/fragments.js';
import { DEFAULT_FRAGMENT_SIZE, fragmentsOut } from './extensions/fragmentation.js';
import type { Address, EndpointOptions, EngineEvent, Transmit } from './types.js';

/** The options with their defaults applied. */
export type ResolvedOptions = Required<Omit<EndpointOptions, 'random' | 'connections' | 'certificateTime' | 'aggressiveRate' | 'firstMessageRate' | 'allocateSpi' | 'cookieTag' | 'fragmentReassembly'>>;

/** The defaults (docs/engine.md, "Surface"). */
const DEFAULTS: ResolvedOptions = {
  retransmitBaseMs: 1000,
  retransmitLimit: 5,
  halfOpenTimeoutMs: 30_000,
  halfOpenPerPeer: 32,
  halfOpenTotal: 5000,
  quickModeTimeoutMs: 30_000,
  messageIdBudget: 1024,
  maxIsakmpSasPerIdentity: 200,
  maxIsakmpSasPerAddress: 500,
  maxIpsecSasPerIdentity: 1000,
  maxQuickModesPerSa: 16,
  nonceLength: 32,
  sendErrorNotifies: true,
  nattPort: 4500,
  natKeepaliveSeconds: 0,
  fragmentSize: DEFAULT_FRAGMENT_SIZE,
};

/** The fields of `o` that are set, among the keys of `keys`. */
function definedFields<T extends object>(o: Partial<T>, keys: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in keys) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function resolveOptions(options: EndpointOptions): ResolvedOptions {
  return { ...DEFAULTS, ...definedFields<ResolvedOptions>(options, DEFAULTS) };
}

export class Engine {
  readonly random: (n: number) => Uint8Array;
  readonly opt: ResolvedOptions;
  /** Maps `now` to Unix ms for certificate validity. */
  readonly certTime: (now: number) => number;
  /** Kernel-reserved inbound SPIs (EndpointOptions.allocateSpi), if the caller has them. */
  readonly allocateSpi: ((local: string) => Uint8Array | undefined) | undefined;
  /** Marks our fresh cookies (EndpointOptions.cookieTag: the daemon's shard number). */
  readonly cookieTag: ((cookie: Uint8Array) => void) | undefined;
  /** Aggressive Mode first answers per second (issue 9.7). */
  readonly aggressiveLimiter: FirstAnswerLimiter;
  /** Admission of first messages before any decoding (issue 9.7; EndpointOptions.firstMessageRate). */
  readonly firstMessages: FirstMessageAdmission;
  readonly conns = new ConnectionTable();
  readonly sas = new SaTables();
  readonly halfOpen: HalfOpenTable;
  /** The peers' IKE fragments in reassembly (extensions/fragmentation.ts). */
  readonly fragments: FragmentReassembly;
  /** Handshake timers (retransmissions, half-open and Quick Mode timeouts) in their own lane. */
  readonly timers = new TimerQueue<P1 | Qm | Child, EngineTimer>(SHORT_TIMERS);
  /** IPsec SAs our rekeys replaced, their Delete held while more of our Quick Modes follow (ipsec-sa.ts). */
  readonly replacedKids = new Map<P1, Child[]>();
  /** The ISAKMP SAs we deleted last: names a lost Delete when the peer goes on using one (deleted-sas.ts). */
  readonly deleted = new DeletedSas();
  /** MM1 templates by offer (drivers/main-mode.ts). */
  readonly mm1Cache = new Map<string, { message: Uint8Array; saiB: Uint8Array; names: readonly string[] }>();
  readonly tx = new Fifo<Transmit>();
  readonly ev = new Fifo<EngineEvent>();
  /** The `now` of the current input (certificate validity is checked at certTime(now); liveness). */
  lastNow = 0;
  /** `message` events on (Endpoint.observeMessages; trace.ts). */
  observe = false;
  /** fp(): the datagram of the current handleDatagram call and its fingerprint. */
  private fpOf: Uint8Array | undefined;
  private fpValue = 0;
  /**
   * The addresses of the datagram being handled and the transmit queue length before it, until
   * a handler proves it authentic (extensions/nat-t.ts, authedFrom).
   */
  rxLocal: Address | undefined;
  rxRemote: Address | undefined;
  rxMark = 0;
  /** Answers to the datagram being handled go here, not to its SA's address (see authedFrom). */
  replyVia: { readonly p1: P1; readonly local: Address; readonly remote: Address } | undefined;

  constructor(options: EndpointOptions) {
    if (typeof options.random !== 'function') throw new LocalProtocolError(0, 'options.random is required');
    this.random = options.random;
    this.certTime = options.certificateTime ?? ((now) => now);
    this.allocateSpi = options.allocateSpi;
    this.cookieTag = options.cookieTag;
    this.aggressiveLimiter = new FirstAnswerLimiter(options.aggressiveRate ?? { perSecond: 100, burst: 100, perSourcePerSecond: 5, perSourceBurst: 10 });
    this.firstMessages = new FirstMessageAdmission(options.firstMessageRate ?? { perSecond: 1000, burst: 1000, perSourcePerSecond: 2, perSourceBurst: 4 });
    this.opt = resolveOptions(options);
    this.halfOpen = new HalfOpenTable(this.opt.halfOpenPerPeer, this.opt.halfOpenTotal);
    this.fragments = new FragmentReassembly({ ...DEFAULT_REASSEMBLY_LIMITS, ...(options.fragmentReassembly ?? {}) });
  }

  /** A new datagram is being handled. */
  beginDatagram(now: number): void {
    this.lastNow = now;
    this.fpOf = undefined;
    this.rxLocal = this.rxRemote = undefined;
    this.replyVia = undefined;
  }

  /** The fingerprint of the datagram being handled, computed at most once per datagram. */
  fp(bytes: Uint8Array): number {
    if (this.fpOf !== bytes) {
      this.fpOf = bytes;
      this.fpValue = fingerprint(bytes);
    }
    return this.fpValue;
  }

  send(local: Address, remoteAddr: Address, data: Uint8Array): void {
    const pieces = fragmentsOut(this, data);
    if (pieces === undefined) this.tx.push({ local, remote: remoteAddr, data });
    else for (const d of pieces) this.tx.push({ local, remote: remoteAddr, data: d });
  }

  emit(e: EngineEvent): void {
    this.ev.push(e);
  }
}
