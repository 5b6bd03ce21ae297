/**
 * The engine's internal records: a phase 1 (ISAKMP SA, negotiating or established), a Quick Mode
 * in progress, an IPsec SA (a "child"), the handshake-only material of a phase 1, and the typed
 * timer entries that point at them.
 *
 * Each record type keeps ONE object layout for its whole life: every field is present from
 * creation (set to `undefined` until it is known), so V8 gives all records of a type one hidden
 * class and the hot paths stay monomorphic (docs/engine.md, "Performance"). What a record has at a
 * given point is said by types instead: the exchange state is a union of named states, and a
 * phase 1 whose transform was chosen, or whose keys exist, is a `ChosenP1` / `KeyedP1` (type
 * guards below), the same object seen through a narrower type.
 * @module
 */
import type { SaPayload } from '../codec/types.js';
import type { SelectorPair } from './ids.js';
import type { PeerIdentity } from './authorization.js';
import type { RecentInformational } from './replay.js';
import type { CipherInfo, DhKeyPair, PrfAlg } from './crypto.js';
import type { Doi } from './doi.js';
import type { HoNode } from './half-open.js';
import type { IpsecSelection } from './proposals.js';
import { PRF_OUTPUT_LENGTH } from '../crypto/prf.js';
import { missing } from './refusal.js';
import type { TimerEntry } from './timers.js';
import type { Address, ChosenIke, Connection, IpsecProposal, IpsecSaInfo, Selector } from './types.js';

// ---------------------------------------------------------------------------------------------
// exchange states

/**
 * Main Mode (RFC 2409 §5), by the last message sent: the initiator sends MM1, MM3, MM5 and then
 * waits for MM2, MM4, MM6; the responder sends MM2, MM4, MM6. `done`: MM6 sent or received.
 */
export type MainModeState = 'sent-mm1' | 'sent-mm2' | 'sent-mm3' | 'sent-mm4' | 'sent-mm5' | 'done';
/** Aggressive Mode (RFC 2409 §5): AM1 sent (initiator), AM2 sent (responder), or done. */
export type AggressiveModeState = 'sent-am1' | 'sent-am2' | 'done';
export type Phase1State = MainModeState | AggressiveModeState;
/**
 * Quick Mode (RFC 2409 §5.5): QM1 sent (initiator, waits for QM2), QM2 sent (responder, waits for
 * QM3), QM3 sent with the commit bit (initiator, waits for QM4 = CONNECTED). An exchange that
 * finishes leaves the table at once (no `done` state).
 */
export type QuickModeState = 'sent-qm1' | 'sent-qm2' | 'sent-qm3';

/** The life of an ISAKMP SA. `dead`: removed (a record may still be referenced by a timer or a Quick Mode). */
export type P1Life = 'negotiating' | 'established' | 'dead';

// ---------------------------------------------------------------------------------------------
// timers

/** Timer kinds; the short-lived ones (handshakes) are listed in SHORT_TIMERS. */
export const Tk = {
  P1Retransmit: 1,
  P1HalfOpen: 2,
  P1Soft: 3,
  P1Hard: 4,
  QmRetransmit: 5,
  QmTimeout: 6,
  ChildSoft: 7,
  ChildHard: 8,
  /** Liveness of an established ISAKMP SA: DPD probes and dead peers, NAT keepalives (extensions/). */
  Liveness: 9,
  /** Retransmission of our Transaction exchange requests (drivers/transaction.ts). */
  TxnRetransmit: 10,
  /** An XAUTH client's Quick Modes start a moment after its ACK of the gateway's STATUS (extensions/xauth.ts). */
  XauthSettled: 11,
  /** A Mode Config push client waits this long for the gateway's SET (extensions/modecfg.ts). */
  ModeCfgWait: 12,
} as const;

export const SHORT_TIMERS: readonly number[] = [Tk.P1Retransmit, Tk.P1HalfOpen, Tk.QmRetransmit, Tk.QmTimeout, Tk.TxnRetransmit, Tk.ModeCfgWait];

/** Every timer the engine sets, one member per kind: a switch on `kind` narrows `target`. */
export type EngineTimer =
  | TimerEntry<P1, typeof Tk.P1Retransmit>
  | TimerEntry<P1, typeof Tk.P1HalfOpen>
  | TimerEntry<P1, typeof Tk.P1Soft>
  | TimerEntry<P1, typeof Tk.P1Hard>
  | TimerEntry<Qm, typeof Tk.QmRetransmit>
  | TimerEntry<Qm, typeof Tk.QmTimeout>
  | TimerEntry<Child, typeof Tk.ChildSoft>
  | TimerEntry<Child, typeof Tk.ChildHard>
  | TimerEntry<P1, typeof Tk.Liveness>
  | TimerEntry<P1, typeof Tk.TxnRetransmit>
  | TimerEntry<P1, typeof Tk.XauthSettled>
  | TimerEntry<P1, typeof Tk.ModeCfgWait>;

export type TimerOfKind<K extends EngineTimer['kind']> = Extract<EngineTimer, { readonly kind: K }>;

/** Retransmission of the last message we sent in an exchange (1, 2, 4, 8, 16 s by default). */
export interface Retransmit<K extends typeof Tk.P1Retransmit | typeof Tk.QmRetransmit> {
  count: number;
  timer: TimerOfKind<K> | undefined;
}

// ---------------------------------------------------------------------------------------------
// phase 1

/** A Quick Mode we want once an ISAKMP SA with the peer exists. */
export interface PendingQm {
  readonly conn: Connection;
  readonly rekeyOf?: Child;
  /** The selector pair to negotiate (a rekey: its SA's; absent: the connection's first pair). */
  readonly ts?: SelectorPair;
  /** The proposals to offer (the gateway's rekey: the negotiated one first); absent: the connection's. */
  readonly ipsec?: readonly IpsecProposal[];
  /** Asked for again after it got no answer under an ISAKMP SA the peer had lost (lifecycle.ts, retryUnderNewPhase1). */
  readonly secondTry?: true;
}

/** What HASH_I / HASH_R are computed over besides the ID (RFC 2409 §5): fixed once the keys exist. */
export interface AuthInputs {
  readonly skeyid: Uint8Array;
  readonly gxi: Uint8Array;
  readonly gxr: Uint8Array;
  readonly saiB: Uint8Array;
}

/** Handshake-only material of a phase 1, dropped (and wiped) once phase 1 is done. */
export interface Handshake {
  /** SAi_b: the initiator's SA payload body as sent / received (empty until then). */
  saiB: Uint8Array;
  /** Our DH key pair and nonce (drawn with MM3/MM4 or AM1/AM2). */
  dh: DhKeyPair | undefined;
  nonce: Uint8Array | undefined;
  /** Set when the keys are derived: what the authentication hashes need. */
  auth: AuthInputs | undefined;
  /** Our ID payload body (IDii_b / IDir_b), once sent. */
  ourIdB: Uint8Array | undefined;
  /** Aggressive Mode responder: the peer's ID payload (body and fields) from AM1, checked at AM3. */
  peerIdB: Uint8Array | undefined;
  peerId: { readonly idType: number; readonly data: Uint8Array } | undefined;
  /** Responder: the connections that fit the first message (Main Mode: chosen by address at MM1). */
  candidates: readonly Connection[];
  /** NAT-D hashes of this exchange (RFC 3947 §3.2), computed once for sending and checking. */
  natd: { readonly local: Address; readonly remote: Address; readonly mine: Uint8Array; readonly theirs: Uint8Array } | undefined;
  /** Retransmission of our last phase-1 message (absent: not on a timer, the responder's replies). */
  rtx: Retransmit<typeof Tk.P1Retransmit> | undefined;
  /** Responder: the half-open timeout, whether it counts as half-open, its place in the eviction lists (half-open.ts). */
  tHalf: TimerOfKind<typeof Tk.P1HalfOpen> | undefined;
  halfOpen: boolean;
  ho: HoNode | undefined;
  /** Initiator: how many times this negotiation was started over (keying tries). */
  tries: number;
  /** Initiator: an error notify the peer sent in clear for this negotiation (not acted upon; named when it fails). */
  peerError: number;
  /**
   * Aggressive Mode responder waiting for message 3: the peer already sent a Quick Mode or a
   * Transaction under these cookies (its message 3 was lost; named once, then when this phase 1 times out).
   */
  am3Missing: boolean;
}

const EMPTY = new Uint8Array(0);

export function newHandshake(): Handshake {
  return {
    saiB: EMPTY,
    dh: undefined,
    nonce: undefined,
    auth: undefined,
    ourIdB: undefined,
    peerIdB: undefined,
    peerId: undefined,
    candidates: [],
    natd: undefined,
    rtx: undefined,
    tHalf: undefined,
    halfOpen: false,
    ho: undefined,
    tries: 0,
    peerError: 0,
    am3Missing: false,
  };
}

/** RFC 3947 NAT detection as kept on an SA (interned: eight possible values, see natInfo()). */
export interface NatState {
  /** A NAT in front of us / of the peer. */
  readonly local: boolean;
  readonly remote: boolean;
  /** UDP encapsulation in use (a NAT on either side, or forced): ports floated. */
  readonly encapsulation: boolean;
}

/** RFC 3706 sequence numbers of one ISAKMP SA (extensions/dpd.ts), allocated on the first probe either way. */
export interface DpdSequence {
  /** Our last R-U-THERE (-1: none yet; random start per SA, +1 per new probe) and whether it was answered. */
  out: number;
  acked: boolean;
  /** The peer's last R-U-THERE answered (-1: none), how often it was answered again, and its message ID. */
  in: number;
  inRepeats: number;
  inMsgId: number;
}

/**
 * Liveness of an established ISAKMP SA (extensions/dpd.ts, extensions/nat-t.ts), allocated only
 * for SAs that probe (DPD configured, the peer announced it) or keep a NAT mapping open.
 */
export interface Liveness {
  /** When the peer last proved itself alive: an authenticated message, or IPsec traffic reported. */
  lastInbound: number;
  /** When the R-U-THERE now unanswered was first sent (-1: none outstanding) and last (re)sent. */
  probeSince: number;
  probeSentAt: number;
  /**
   * NAT-T responder: when an R-U-THERE is due to the address the peer was last heard from but not
   * yet proved at (P1.candidate): at once, its ACK moves the SA there (-1: none due); and when a
   * probe last went to such an address (-1: never), at most one per DPD delay.
   */
  proveAt: number;
  candidateProbedAt: number;
  /** The next NAT keepalive (-1: none). */
  keepaliveAt: number;
  /** Inbound byte counts last reported per IPsec SA id (see ipsec-sa.ts, reportTraffic). */
  inboundBytes: Map<string, number> | undefined;
  timer: TimerOfKind<typeof Tk.Liveness> | undefined;
}

/**
 * The last request of an exchange and our last answer: a byte-identical repeat of the request
 * (recognised by its fingerprint, see keys.ts) gets the same answer again, and nothing else.
 */
export interface LastMessages {
  lastRecv: number | undefined;
  lastSent: Uint8Array | undefined;
}

/**
 * A phase 1: an ISAKMP SA being negotiated or established (one hidden class for all, see above).
 * What only the negotiation needs lives in `hs` (dropped when it ends), so an established SA
 * carries no field for it.
 */
export interface P1 extends LastMessages {
  readonly role: 'initiator' | 'responder';
  readonly mode: 'main' | 'aggressive';
  /** The Domain of Interpretation it was negotiated under (RFC 2407: IPsec). */
  readonly doi: Doi;
  conn: Connection;
  /** Where we send from / to: moves to the NAT-T port when NAT traversal floats (RFC 3947 §4). */
  local: Address;
  /** Changed only through SaTables.moveP1 (it is the key of an index). */
  remote: Address;
  /** Normalised "local|remote" address pair, the key of the per-peer indexes. */
  readonly pairKey: string;
  /** The cookies; from deriveKeys() on, views of the SA's key block (see key-schedule.ts). */
  ic: Uint8Array;
  rc: Uint8Array;
  /** The phase 1 that replaces this one (rekey in progress). */
  replacedBy: P1 | undefined;
  /** Where the phase-1 exchange is (its driver's script rows are keyed by it). */
  exchangeState: Phase1State;
  life: P1Life;
  hs: Handshake | undefined;
  chosen: ChosenIke | undefined;
  prf: PrfAlg | undefined;
  cipher: CipherInfo | undefined;
  /**
   * The key block, from deriveKeys() on: CKY-I | CKY-R | SKEYID_d | SKEYID_a | encryption key |
   * current phase-1 IV in one buffer. `ic` and `rc` are views of it; SKEYID_d, SKEYID_a, the
   * encryption key and the IV are viewed on use (skeyidDOf, skeyidAOf, encKeyOf, ivOf): four
   * views fewer kept per SA. The IV is the last CBC block of the last phase-1 message (RFC 2409
   * App. B), moved on in place (key-schedule.ts, setIv).
   */
  keys: Uint8Array | undefined;
  peerId: PeerIdentity | undefined;
  tSoft: TimerOfKind<typeof Tk.P1Soft> | undefined;
  tHard: TimerOfKind<typeof Tk.P1Hard> | undefined;
  establishedAt: number | undefined;
  expiresAt: number | undefined;
  /** Exchanges with a message ID in progress under this SA (Quick Modes). */
  qms: Map<number, Qm> | undefined;
  /** Recently finished Quick Modes: message ID → [last received, last sent] for duplicates. */
  done: Array<{ msgId: number; recv: number | undefined; sent: Uint8Array | undefined }> | undefined;
  /** The most recent of them (its message ID as a signed 32-bit integer, a small integer for V8; 0: none), kept in the record itself: an SA with one finished Quick Mode needs no array. */
  doneId: number;
  doneRecv: number | undefined;
  doneSent: Uint8Array | undefined;
  /** Message IDs the peer used under this SA, all of them (see replay.ts): replays are refused. */
  seen1: number;
  seenRest: Int32Array | undefined;
  seenCount: number;
  recentInfo: RecentInformational[] | undefined;
  /**
   * NAT-T responder: where an authenticated but not provably fresh message last came from, when
   * that is not the SA's address (a NAT mapping change, or a replay from a spoofed port). Answers
   * go there; the SA moves only on proof of freshness (issue 9.3); DPD probes go to both.
   */
  candidate: { readonly local: Address; readonly remote: Address } | undefined;
  pending: PendingQm[];
  rekeyOf: P1 | undefined;
  /** The SA id (hex cookies), kept once established (the cookies no longer change). */
  id: string | undefined;
  /** RFC 3947: both sides sent its vendor ID (NAT-D follows in MM3/MM4). */
  nattPeer: boolean;
  /** NAT-D results (undefined before MM3/MM4, or without NAT-T). */
  nat: NatState | undefined;
  /** The peer sent the RFC 3706 DPD vendor ID. */
  dpdPeer: boolean;
  /** The peer sent the FRAGMENTATION vendor ID (extensions/fragmentation.ts). */
  fragPeer: boolean;
  dpd: DpdSequence | undefined;
  live: Liveness | undefined;
  /**
   * Post-authentication steps still to run before Quick Mode may use this SA (none today; a
   * Transaction exchange, XAUTH / Mode Config, would hold the SA here: see lifecycle.ts,
   * holdQuickModes / releaseQuickModes).
   */
  holds: number;
  /**
   * Messages from the peer verified under this SA so far (a count, not a clock): a Quick Mode of
   * ours unanswered while this moved shows a peer that holds the SA (lifecycle.ts, retryUnderNewPhase1).
   */
  heard: number;
  /** Once established: connection + authenticated identity, the key of the per-peer caps (issue 9.6). */
  peerKey: string | undefined;
}

/** A phase 1 whose transform is chosen (MM1/MM2, AM1/AM2 on): its prf and cipher are known. */
export interface ChosenP1 extends P1 {
  chosen: ChosenIke;
  prf: PrfAlg;
  cipher: CipherInfo;
}

/** A phase 1 whose keys exist (after the DH exchange): SKEYID_d/_a, the encryption key, the IV (see P1.keys). */
export interface KeyedP1 extends ChosenP1 {
  keys: Uint8Array;
}

/** SKEYID_d of a keyed phase 1: a view of its key block (see P1.keys). */
export function skeyidDOf(p1: KeyedP1): Uint8Array {
  const l = PRF_OUTPUT_LENGTH[p1.prf];
  return p1.keys.subarray(16, 16 + l);
}

/** SKEYID_a of a keyed phase 1: a view of its key block. */
export function skeyidAOf(p1: KeyedP1): Uint8Array {
  const l = PRF_OUTPUT_LENGTH[p1.prf];
  return p1.keys.subarray(16 + l, 16 + 2 * l);
}

/** The phase-1 encryption key (from SKEYID_e): a view of the key block. */
export function encKeyOf(p1: KeyedP1): Uint8Array {
  return p1.keys.subarray(16 + 2 * PRF_OUTPUT_LENGTH[p1.prf], p1.keys.length - p1.cipher.blockSize);
}

/** The current phase-1 IV (one cipher block): the end of the key block. */
export function ivOf(p1: KeyedP1): Uint8Array {
  return p1.keys.subarray(p1.keys.length - p1.cipher.blockSize);
}

export function isChosen(p1: P1): p1 is ChosenP1 {
  return p1.chosen !== undefined && p1.prf !== undefined && p1.cipher !== undefined;
}

export function hasKeys(p1: P1): p1 is KeyedP1 {
  return p1.keys !== undefined && isChosen(p1);
}

/** The phase 1's transform, which its state guarantees (an internal error otherwise). */
export function expectChosen(p1: P1): ChosenP1 {
  return isChosen(p1) ? p1 : missing('phase-1 transform');
}

/** The phase 1's keys, which its state guarantees (an internal error otherwise). */
export function expectKeys(p1: P1): KeyedP1 {
  return hasKeys(p1) ? p1 : missing('phase-1 keys');
}

/** The handshake material of a phase 1 still negotiating. */
export function expectHandshake(p1: P1): Handshake {
  return p1.hs ?? missing('phase-1 handshake');
}

/** An established ISAKMP SA: keyed, authenticated, not yet removed. */
export function isEstablished(p1: P1 | undefined): p1 is KeyedP1 {
  return p1 !== undefined && p1.life === 'established' && hasKeys(p1);
}

/** Shared empty list of waiting Quick Modes (replaced, never mutated). */
export const NO_PENDING: PendingQm[] = [];

// ---------------------------------------------------------------------------------------------
// Quick Mode and IPsec SAs

export interface Qm extends LastMessages {
  readonly p1: KeyedP1;
  readonly msgId: number;
  readonly role: 'initiator' | 'responder';
  readonly conn: Connection;
  iv: Uint8Array;
  state: QuickModeState;
  ni: Uint8Array;
  nr: Uint8Array | undefined;
  dh: DhKeyPair | undefined;
  gxy: Uint8Array | undefined;
  /** Initiator: the SA payload offered and our SPIs per proposal and protocol. */
  offer: SaPayload | undefined;
  /** Initiator: the proposals `offer` was built from, when not the connection's (the gateway's rekey). */
  offeredFrom: readonly IpsecProposal[] | undefined;
  ourSpis: Uint8Array[][] | undefined;
  selection: IpsecSelection | undefined;
  /** Responder: our SPIs, one per protocol of the chosen proposal. */
  respSpis: Uint8Array[] | undefined;
  localTs: Selector;
  remoteTs: Selector;
  /** Every local selector the SA will carry when more than `localTs` (see IpsecSaInfo.localSelectors). */
  localSelectors: readonly Selector[] | undefined;
  /** What names our side in the ID payloads when it is not `localTs` (see IpsecSaInfo.wireLocalTs). */
  wireLocalTs: Selector | undefined;
  commit: boolean;
  rtx: Retransmit<typeof Tk.QmRetransmit> | undefined;
  tTimeout: TimerOfKind<typeof Tk.QmTimeout> | undefined;
  rekeyOf: Child | undefined;
  /** Ours, asked for again after no answer under a lost ISAKMP SA: unanswered again, it fails. */
  secondTry: boolean;
  /** `p1.heard` when it started (ours). */
  heardAtStart: number;
  /** Responder: lifetimes shortened, RESPONDER-LIFETIME sent. Initiator: lifetimes from the peer. */
  lifeSeconds: number | undefined;
  lifeKilobytes: number | undefined;
  /** The peer's own address from its NAT-OA payload (RFC 3947 §5.2), if it sent them. */
  peerOa: string | undefined;
  /** Responder: where the first message came from when the SA is elsewhere (see P1.candidate). */
  replyTo: { readonly local: Address; readonly remote: Address } | undefined;
}

/** A Quick Mode record with every field present (one hidden class for both roles). */
export function newQm(p1: KeyedP1, msgId: number, role: 'initiator' | 'responder', conn: Connection, iv: Uint8Array, state: QuickModeState, ni: Uint8Array, localTs: Selector, remoteTs: Selector, commit: boolean): Qm {
  return {
    p1,
    msgId,
    role,
    conn,
    iv,
    state,
    ni,
    nr: undefined,
    dh: undefined,
    gxy: undefined,
    offer: undefined,
    offeredFrom: undefined,
    ourSpis: undefined,
    selection: undefined,
    respSpis: undefined,
    localTs,
    remoteTs,
    localSelectors: undefined,
    wireLocalTs: undefined,
    commit,
    lastRecv: undefined,
    lastSent: undefined,
    rtx: undefined,
    tTimeout: undefined,
    rekeyOf: undefined,
    secondTry: false,
    heardAtStart: p1.heard,
    lifeSeconds: undefined,
    lifeKilobytes: undefined,
    peerOa: undefined,
    replyTo: undefined,
  };
}

/** An IPsec SA pair (one Quick Mode result). */
export interface Child {
  /** Replaced (never changed in place) when a NAT mapping change moves the SA (see extensions/nat-t.ts). */
  info: IpsecSaInfo;
  readonly pairKey: string;
  conn: Connection;
  /** The identity the peer authenticated with in the ISAKMP SA this IPsec SA was negotiated under. */
  readonly peer: PeerIdentity | undefined;
  /** The ISAKMP SA's peer key (IPsec SAs counted per peer, issue 9.6). */
  readonly peerKey: string | undefined;
  bytes: number;
  state: 'installed' | 'rekeying' | 'dead';
  tSoft: TimerOfKind<typeof Tk.ChildSoft> | undefined;
  tHard: TimerOfKind<typeof Tk.ChildHard> | undefined;
}
