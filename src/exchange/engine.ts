/** (split from endpoint.ts) */
import { LocalProtocolError } from '../errors.js';
import { Bucket } from './bucket.js';
import { HoNode, HoPeer } from './half-open.js';
import { fingerprint } from './keys.js';
import { FirstAnswerLimiter } from './rate.js';
import { Child, P1, Target, Tk } from './records.js';
import { remote } from './refusal.js';
import { TimerQueue } from './timers.js';
import { type Address, type Connection, type EndpointOptions, type EngineEvent, type Transmit } from './types.js';

export class Engine {
  readonly random: (n: number) => Uint8Array;
  readonly opt: Required<Omit<EndpointOptions, 'random' | 'connections' | 'certificateTime' | 'aggressiveRate'>>;
  /** Aggressive Mode first answers per second (issue 9.7). */
  readonly aggressiveLimiter: FirstAnswerLimiter;
  readonly conns = new Map<string, Connection>();
  /** Connections by lower-case remote address ('%any' included): responder lookups stay O(1) in the number of peers. */
  readonly connsByRemote = new Map<string, Bucket<Connection>>();
  readonly p1s = new Map<string, P1>();
  readonly children = new Map<string, Child>();
  /** Our inbound SPI (spiKey) → child, for Delete and uniqueness. */
  readonly bySpi = new Map<number, Child>();
  /** The peer's inbound SPI (spiKey) → children (of any address pair; nearly always one), for the peer's Delete. */
  readonly byPeerSpi = new Map<number, Bucket<Child>>();
  /** Per address pair: its phase 1s and IPsec SAs (no scans over all SAs). */
  readonly p1ByPair = new Map<string, Bucket<P1>>();
  readonly childByPair = new Map<string, Bucket<Child>>();
  /** Established ISAKMP SAs by peer key (connection + authenticated identity), IPsec SAs counted by it, ISAKMP SAs counted by peer address (issue 9.6). */
  readonly p1ByPeerKey = new Map<string, Bucket<P1>>();
  readonly childrenOfPeer = new Map<string, number>();
  readonly p1sOfAddress = new Map<string, number>();
  /** Per peer address: half-open count and evictable entries (see HoNode). */
  readonly halfOpenPeers = new Map<string, HoPeer>();
  halfOpenCount = 0;
  /** All evictable half-open entries, oldest first. */
  hoHead: HoNode | undefined;
  hoTail: HoNode | undefined;
  halfOpenEvicted = 0;
  /** See bestP1For(): cleared whenever a phase 1 becomes established or is removed. */
  readonly bestP1Memo = new Map<string, { any: P1 | undefined; byConn: Map<string, P1> }>();
  /** Handshake timers (retransmissions, half-open and Quick Mode timeouts) in their own lane. */
  readonly timers = new TimerQueue<Target>([Tk.P1Retransmit, Tk.P1HalfOpen, Tk.QmRetransmit, Tk.QmTimeout]);
  /** See mm1Template(). */
  readonly mm1Cache = new Map<string, { message: Uint8Array; saiB: Uint8Array }>();
  tx: Transmit[] = [];
  txHead = 0;
  ev: EngineEvent[] = [];
  evHead = 0;
  /** The `now` of the current input (certificate validity is checked at certTime(now)). */
  lastNow = 0;
  readonly certTime: (now: number) => number;
  /** fp(): the datagram of the current handleDatagram call and its fingerprint. */
  fpOf: Uint8Array | undefined;
  fpValue = 0;
  /** The addresses of the datagram being handled and the transmit queue length before it (see authedFrom). */
  rxLocal: Address | undefined;
  rxRemote: Address | undefined;
  rxMark = 0;
  /** Answers to the datagram being handled go here, not to its SA's address (see authedFrom). */
  replyVia: { readonly p1: P1; readonly local: Address; readonly remote: Address } | undefined;

  constructor(options: EndpointOptions) {
    if (typeof options.random !== 'function') throw new LocalProtocolError(0, 'options.random is required');
    this.random = options.random;
    this.certTime = options.certificateTime ?? ((now) => now);
    this.aggressiveLimiter = new FirstAnswerLimiter(options.aggressiveRate ?? { perSecond: 100, burst: 100, perSourcePerSecond: 5, perSourceBurst: 10 });
    this.opt = {
      retransmitBaseMs: options.retransmitBaseMs ?? 1000,
      retransmitLimit: options.retransmitLimit ?? 5,
      halfOpenTimeoutMs: options.halfOpenTimeoutMs ?? 30_000,
      halfOpenPerPeer: options.halfOpenPerPeer ?? 32,
      halfOpenTotal: options.halfOpenTotal ?? 5000,
      quickModeTimeoutMs: options.quickModeTimeoutMs ?? 30_000,
      messageIdBudget: options.messageIdBudget ?? 1024,
      maxIsakmpSasPerIdentity: options.maxIsakmpSasPerIdentity ?? 200,
      maxIsakmpSasPerAddress: options.maxIsakmpSasPerAddress ?? 500,
      maxIpsecSasPerIdentity: options.maxIpsecSasPerIdentity ?? 1000,
      maxQuickModesPerSa: options.maxQuickModesPerSa ?? 16,
      nonceLength: options.nonceLength ?? 32,
      sendErrorNotifies: options.sendErrorNotifies ?? true,
      nattPort: options.nattPort ?? 4500,
    };
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
    this.tx.push({ local, remote: remoteAddr, data });
  }

  emit(e: EngineEvent): void {
    this.ev.push(e);
  }
}
