/**
 * The sans-IO IKEv1 endpoint (RFC 2408, RFC 2409, RFC 2407), with the quinn-proto surface:
 *
 *   inputs    handleDatagram(now, local, remote, bytes), handleTimeout(now)
 *   commands  initiate(now, connection), rekey(now, sa), delete(now, sa), reportTraffic(...)
 *   outputs   pollTransmit(), pollEvent(), pollTimeout()     (drain in this order after each call)
 *
 * No sockets, timers, clocks or global randomness: `now` (ms) is an argument and randomness comes
 * from `options.random`. `handleDatagram` never throws on peer input: each failure becomes one
 * `dropped` event and, where policy says so, one bounded notify.
 *
 * See docs/engine.md for the state machine.
 */
import type { KeyObject } from 'node:crypto';
import {
  CertEncoding,
  EncapsulationMode,
  ExchangeType,
  HeaderFlag,
  IdType,
  NotifyType,
  PayloadType,
  ProtocolId,
  isErrorNotify,
  nameOf,
} from '../constants/index.js';
import { IsakmpError, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { decodeMessage, decodePayloads, encodeMessage, encodePayloadBody, encodePayloads, payloadTypeOf } from '../codec/index.js';
import type { DataAttribute, Header, IdPayload, Mutable, NotifyPayload, Payload, SaPayload } from '../codec/types.js';
import { encodeAttributes } from '../codec/attributes.js';
import { Writer } from '../codec/writer.js';
import * as C from './crypto.js';
import type { CipherInfo, DhKeyPair, PrfAlg } from './crypto.js';
import {
  addressIdentity,
  hostSelector,
  idToIdentity,
  idToSelector,
  identityMatches,
  identityToId,
  isWellFormedDerSequence,
  selectorEquals,
  selectorToId,
  selectorWithin,
} from './ids.js';
import {
  authMethodOf,
  buildIkeSa,
  buildIpsecAnswer,
  buildIpsecSa,
  checkConnectionProposals,
  checkIkeAnswer,
  checkIpsecAnswer,
  durationAttr,
  ikeChosenAllowed,
  selectIke,
  selectIpsec,
  tvAttr,
  type IpsecSelection,
} from './proposals.js';
import { AGGRESSIVE_MODE, INFORMATIONAL, MAIN_MODE, QUICK_MODE, checkMessage, find, findAll, type MessageScript } from './scripts.js';
import { decodeHeaderView, decodePayloadsInPlace, encodePayloadsScratch } from '../codec/message.js';
import { TimerQueue, type TimerEntry } from './timers.js';
import { expectedPeerId, peerIdWire, provedFor, sameCredentials, samePeerIdentity, type PeerIdentity } from './authorization.js';
import { markSeen, seenTotal, seqAfter, wasSeen } from './replay.js';
import { FirstAnswerLimiter } from './rate.js';
import { NATT_RFC3947_VID, encapsulatedProposals, natOaPayloads, natdHash, natdHashLength, nattVidKind, readNatOa } from './natt.js';
import type {
  Address,
  ChosenIke,
  Connection,
  DirectionKeys,
  DropCode,
  EndpointOptions,
  EngineEvent,
  Identity,
  IpsecProposal,
  IpsecProtocolSa,
  IpsecSaInfo,
  IsakmpSaInfo,
  Selector,
  Transmit,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// internal records

const enum Tk {
  P1Retransmit = 1,
  P1HalfOpen = 2,
  P1Soft = 3,
  P1Hard = 4,
  QmRetransmit = 5,
  QmTimeout = 6,
  ChildSoft = 7,
  ChildHard = 8,
}

interface PendingQm {
  readonly conn: Connection;
  readonly rekeyOf?: Child;
}

/** Handshake-only material, dropped (and wiped) once phase 1 is done. */
interface Handshake {
  saiB?: Uint8Array;
  dh?: DhKeyPair;
  gxi?: Uint8Array;
  gxr?: Uint8Array;
  ni?: Uint8Array;
  nr?: Uint8Array;
  skeyid?: Uint8Array;
  /** Our ID payload body (IDii_b / IDir_b). */
  ourIdB?: Uint8Array;
  ourId?: { idType: number; data: Uint8Array };
  /** The peer's ID payload body, once received. */
  peerIdB?: Uint8Array;
  /** The peer's ID payload fields (Aggressive Mode responder: from AM1). */
  peerId?: { idType: number; data: Uint8Array };
  /** Responder: candidate connections (MM: chosen by address at MM1). */
  candidates?: Connection[];
  /** NAT-D hashes of this exchange (RFC 3947 §3.2), computed once for sending and checking. */
  natd?: { local: Address; remote: Address; mine: Uint8Array; theirs: Uint8Array };
}

interface Retransmit {
  count: number;
  timer: TimerEntry<Target> | undefined;
}

interface P1 {
  readonly kind: 'p1';
  /** Map key of the initiator cookie (see bkey). */
  readonly icKey: string;
  readonly role: 'initiator' | 'responder';
  readonly mode: 'main' | 'aggressive';
  conn: Connection;
  /** Where we send from / to: moves to the NAT-T port when NAT traversal floats (RFC 3947 §4). */
  local: Address;
  remote: Address;
  /** Normalised "local|remote" address pair, the key of the per-peer indexes. */
  readonly pairKey: string;
  /** The cookies; from deriveKeys() on, views of the SA's key block (see there). */
  ic: Uint8Array;
  rc: Uint8Array;
  /** The phase 1 that replaces this one (rekey in progress). */
  replacedBy?: P1;
  step: number;
  state: 'negotiating' | 'established' | 'deleting' | 'dead';
  hs: Handshake | undefined;
  chosen?: ChosenIke;
  prf?: PrfAlg;
  cipher?: CipherInfo;
  skeyidD?: Uint8Array;
  skeyidA?: Uint8Array;
  encKey?: Uint8Array;
  /** Current phase-1 IV: the last CBC block of the last phase-1 message (RFC 2409 App. B). */
  iv?: Uint8Array;
  peerId?: PeerIdentity;
  /** Fingerprint of the last request (see fingerprint()): a byte-identical repeat is recognised. */
  lastRecv?: number;
  lastSent?: Uint8Array;
  /** The last sent message must not be retransmitted on a timer (responder's first reply). */
  rtx?: Retransmit;
  tHalf?: TimerEntry<Target>;
  tSoft?: TimerEntry<Target>;
  tHard?: TimerEntry<Target>;
  establishedAt?: number;
  expiresAt?: number;
  qms?: Map<number, Qm>;
  /** Recently finished Quick Modes: message ID → [last received, last sent] for duplicates. */
  done?: Array<{ msgId: number; recv?: number; sent?: Uint8Array }>;
  /** The most recent of them (message ID 0: none), kept in the record itself: an SA with one finished Quick Mode needs no array. */
  doneId: number;
  doneRecv: number | undefined;
  doneSent: Uint8Array | undefined;
  /** Message IDs the peer used under this SA, all of them (see replay.ts): replays are refused. */
  seen1: number;
  seenRest: Int32Array | undefined;
  seenCount: number;
  /**
   * DPD (RFC 3706): the sequence number of our last R-U-THERE (-1: none yet; random start per SA,
   * then +1 per probe) and whether it was answered; the peer's last one answered (-1: none) and
   * how often it was answered again (retransmissions).
   */
  dpdOut: number;
  dpdAcked: boolean;
  dpdIn: number;
  dpdInRepeats: number;
  /** The message ID of the last R-U-THERE answered: the same datagram again is a replay. */
  dpdInMsgId: number;
  /**
   * NAT-T responder: where an authenticated but not provably fresh message last came from, when
   * that is not the SA's address (a NAT mapping change, or a replay from a spoofed port). Answers
   * go there; the SA moves only on proof of freshness (issue 9.3); DPD probes go to both.
   */
  candidate: { local: Address; remote: Address } | undefined;
  pending: PendingQm[];
  rekeyOf?: P1;
  halfOpen: boolean;
  /** The SA id (hex cookies), kept once established (the cookies no longer change). */
  id?: string;
  /** Responder still waiting for the peer's MM3/AM3: its place in the eviction lists (see HoNode). */
  ho?: HoNode;
  /** Initiator: how many times this negotiation was started over (keying tries). */
  tries: number;
  /** RFC 3947: both sides sent its vendor ID (NAT-D follows in MM3/MM4). */
  nattPeer: boolean;
  /** NAT-D results: a NAT in front of us / of the peer; undefined before MM3/MM4. */
  natLocal: boolean | undefined;
  natRemote: boolean | undefined;
  /** UDP encapsulation in use (a NAT seen on either side, or forced): ports floated. */
  natt: boolean;
  /** The peer sent the RFC 3706 DPD vendor ID. */
  dpdPeer: boolean;
  /** Once established: connection + authenticated identity, the key of the per-peer caps (issue 9.6). */
  peerKey: string | undefined;
}

interface Qm {
  readonly kind: 'qm';
  readonly p1: P1;
  readonly msgId: number;
  readonly role: 'initiator' | 'responder';
  readonly conn: Connection;
  iv: Uint8Array;
  step: number;
  ni: Uint8Array;
  nr?: Uint8Array;
  dh?: DhKeyPair;
  gxy?: Uint8Array;
  offer?: SaPayload;
  ourSpis?: Uint8Array[][];
  selection?: IpsecSelection;
  respSpis?: Uint8Array[];
  localTs: Selector;
  remoteTs: Selector;
  commit: boolean;
  /** Fingerprint of the last request (see fingerprint()): a byte-identical repeat is recognised. */
  lastRecv?: number;
  lastSent?: Uint8Array;
  rtx?: Retransmit;
  tTimeout?: TimerEntry<Target>;
  rekeyOf?: Child;
  /** Responder: lifetimes shortened, RESPONDER-LIFETIME sent. Initiator: lifetimes from the peer. */
  lifeSeconds?: number;
  lifeKilobytes?: number;
  /** The peer's own address from its NAT-OA payload (RFC 3947 §5.2), if it sent them. */
  peerOa?: string;
  /** Responder: where the first message came from when the SA is elsewhere (see P1.candidate). */
  replyTo: { readonly local: Address; readonly remote: Address } | undefined;
}

interface Child {
  readonly kind: 'child';
  /** Replaced (never changed in place) when a NAT mapping change moves the SA (see adoptPeer). */
  info: IpsecSaInfo;
  readonly pairKey: string;
  p1Id: string;
  conn: Connection;
  /** The identity the peer authenticated with in the ISAKMP SA this IPsec SA was negotiated under. */
  readonly peer: PeerIdentity | undefined;
  /** The ISAKMP SA's peer key (IPsec SAs counted per peer, issue 9.6). */
  readonly peerKey: string | undefined;
  bytes: number;
  state: 'installed' | 'rekeying' | 'dead';
  tSoft?: TimerEntry<Target>;
  tHard?: TimerEntry<Target>;
  softBytes: number;
}

type Target = P1 | Qm | Child;

/**
 * Half-open responder phase 1s that have not yet seen the peer's third message (MM3 / AM3), so the
 * peer never showed it receives at its claimed address: the entries a spoofed MM1 flood creates.
 * They sit on two intrusive doubly linked lists, oldest first: one over the endpoint, one per peer
 * address. When a half-open cap is reached the oldest entry is evicted in O(1) instead of refusing
 * the new first message (a legitimate peer answers our MM2 within one round trip; a flood must
 * push a whole table of newer entries in before that to evict it).
 */
interface HoNode {
  readonly p1: P1;
  readonly peer: HoPeer;
  prev: HoNode | undefined;
  next: HoNode | undefined;
  peerPrev: HoNode | undefined;
  peerNext: HoNode | undefined;
}

/** Half-open accounting of one peer address: all its half-open entries, and its evictable ones. */
interface HoPeer {
  readonly key: string;
  count: number;
  head: HoNode | undefined;
  tail: HoNode | undefined;
}

// ---------------------------------------------------------------------------------------------
// helpers

const ZERO8 = new Uint8Array(8);

/** Shared empty list of waiting Quick Modes (replaced, never mutated: see requestQm). */
const NO_PENDING: PendingQm[] = [];

/** A Quick Mode record with every field present (one hidden class for both roles). */
function newQm(p1: P1, msgId: number, role: 'initiator' | 'responder', conn: Connection, iv: Uint8Array, step: number, ni: Uint8Array, localTs: Selector, remoteTs: Selector, commit: boolean): Qm {
  return {
    kind: 'qm',
    p1,
    msgId,
    role,
    conn,
    iv,
    step,
    ni,
    nr: undefined,
    dh: undefined,
    gxy: undefined,
    offer: undefined,
    ourSpis: undefined,
    selection: undefined,
    respSpis: undefined,
    localTs,
    remoteTs,
    commit,
    lastRecv: undefined,
    lastSent: undefined,
    rtx: undefined,
    tTimeout: undefined,
    rekeyOf: undefined,
    lifeSeconds: undefined,
    lifeKilobytes: undefined,
    peerOa: undefined,
    replyTo: undefined,
  };
}

function newHandshake(): Handshake {
  return {
    saiB: undefined,
    dh: undefined,
    gxi: undefined,
    gxr: undefined,
    ni: undefined,
    nr: undefined,
    skeyid: undefined,
    ourIdB: undefined,
    ourId: undefined,
    peerIdB: undefined,
    peerId: undefined,
    candidates: undefined,
    natd: undefined,
  };
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(b: Uint8Array): string {
  // a table lookup per byte: several times faster than Number#toString(16) + padStart
  if (b.length === 8) return HEX[b[0]!]! + HEX[b[1]!]! + HEX[b[2]!]! + HEX[b[3]!]! + HEX[b[4]!]! + HEX[b[5]!]! + HEX[b[6]!]! + HEX[b[7]!]!;
  if (b.length === 4) return HEX[b[0]!]! + HEX[b[1]!]! + HEX[b[2]!]! + HEX[b[3]!]!;
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** Char codes of the hex digits, for hexFlat. */
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Reused char-code arrays by length (hexFlat and flat run synchronously: no sharing hazard). */
const CODES = new Map<number, number[]>();

/**
 * `hex(a) + hex(b)` as ONE flat string. Strings kept per SA (ids, index keys) are built this way:
 * `+` of 13 or more characters makes a tree of cons strings (5 objects for a 32-digit SA id)
 * that the SA would keep alive and the garbage collector would copy.
 */
function hexFlat(a: Uint8Array, b?: Uint8Array): string {
  const n = 2 * (a.length + (b?.length ?? 0));
  let codes = CODES.get(n);
  if (!codes) CODES.set(n, (codes = new Array<number>(n).fill(0)));
  let o = 0;
  for (let i = 0; i < a.length; i++, o += 2) {
    codes[o] = HEX_CODES[a[i]! >> 4]!;
    codes[o + 1] = HEX_CODES[a[i]! & 15]!;
  }
  if (b) {
    for (let i = 0; i < b.length; i++, o += 2) {
      codes[o] = HEX_CODES[b[i]! >> 4]!;
      codes[o + 1] = HEX_CODES[b[i]! & 15]!;
    }
  }
  return String.fromCharCode.apply(null, codes);
}

/** A string rebuilt flat (see hexFlat) when it is long enough to be a cons string. */
function flat(s: string): string {
  const n = s.length;
  if (n < 13) return s;
  let codes = CODES.get(n);
  if (!codes) CODES.set(n, (codes = new Array<number>(n).fill(0)));
  for (let i = 0; i < n; i++) codes[i] = s.charCodeAt(i);
  return String.fromCharCode.apply(null, codes);
}

/** A compact map key for 4- or 8-byte values (cookies, SPIs): 16-bit code units. */
function bkey(b: Uint8Array): string {
  if (b.length === 8) {
    return String.fromCharCode((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!, (b[4]! << 8) | b[5]!, (b[6]! << 8) | b[7]!);
  }
  if (b.length === 4) return String.fromCharCode((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
  return hex(b);
}

/**
 * A 4-byte IPsec SPI as a map key: the signed 32-bit integer (a small integer for V8, so no
 * string is built and none is hashed). Any other length gives NaN, which no stored SPI has.
 */
function spiKey(b: Uint8Array): number {
  return b.length === 4 ? (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]! : NaN;
}

/**
 * A fingerprint of a datagram for duplicate detection: two independent 32-bit multiply-xorshift
 * hashes over 4-byte words (FNV and murmur constants, seeded with the length) folded into one
 * signed 32-bit number (a small integer for V8: an SA keeps it without a boxed heap number). Far cheaper than keeping
 * a copy; a collision can only make us repeat our last answer or ignore a message, which an
 * on-path attacker could cause anyway.
 */
function fingerprint(b: Uint8Array): number {
  const n = b.length;
  let h1 = 0x811c9dc5 ^ n;
  let h2 = 0x01000193 ^ n;
  let i = 0;
  // four bytes per step (retransmitted datagrams are hashed whole, on every message)
  for (; i + 4 <= n; i += 4) {
    const w = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h1 ^= h1 >>> 13;
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  for (; i < n; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ b[i]!, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 ^ Math.imul(h2, 0x85ebca6b) ^ (h2 >>> 16)) | 0;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function readU32(b: Uint8Array): number {
  return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
}

/** The ISAKMP SPI of a phase 1 in notifies and Deletes (RFC 2408 §3.14): CKY-I | CKY-R. */
function cookiePair(p1: { ic: Uint8Array; rc: Uint8Array }): Uint8Array {
  return C.concatBytes(p1.ic, p1.rc);
}

/** A copy of the body of the first payload of an unencrypted message (already decoded, so well-formed). */
function firstPayloadBody(msg: Uint8Array): Uint8Array {
  const len = (msg[30]! << 8) | msg[31]!;
  return new Uint8Array(msg.subarray(32, 28 + len)); // a copy even when msg is a Buffer
}

/** The bytes of a payload chain that follow its first payload, up to the end of the last payload. */
function afterFirstPayload(plain: Uint8Array): Uint8Array {
  let off = 0;
  let next = -1;
  let firstEnd = -1;
  while (off + 4 <= plain.length) {
    next = plain[off]!;
    const len = (plain[off + 2]! << 8) | plain[off + 3]!;
    if (len < 4) break;
    off += len;
    if (firstEnd < 0) firstEnd = off;
    if (next === 0) break;
  }
  if (firstEnd < 0) return new Uint8Array(0);
  return plain.subarray(firstEnd, Math.min(off, plain.length));
}

/** A plaintext chain: a HASH payload (given value) followed by already-encoded payloads. */
function hashFirst(h: Uint8Array, restType: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + h.length + rest.length);
  out[0] = restType;
  out[2] = ((4 + h.length) >> 8) & 0xff;
  out[3] = (4 + h.length) & 0xff;
  out.set(h, 4);
  out.set(rest, 4 + h.length);
  return out;
}

/**
 * Fills in the HASH payload at the start of a chain encoded with 4 + h.length bytes of room
 * (the same bytes hashFirst(h, restType, rest) builds, without a second buffer).
 */
function putHashFirst(plain: Uint8Array, h: Uint8Array, restType: number): void {
  if (plain.length < 4 + h.length) throw new RangeError('no room for the HASH payload');
  plain[0] = restType;
  plain[1] = 0;
  plain[2] = ((4 + h.length) >> 8) & 0xff;
  plain[3] = (4 + h.length) & 0xff;
  plain.set(h, 4);
}

function pairKeyOf(local: Address, remoteAddr: Address): string {
  return `${local.address.toLowerCase()}|${remoteAddr.address.toLowerCase()}`;
}

/** pairKeyOf as a flat string, for keys an SA keeps (see hexFlat). */
function pairKeyFlat(local: Address, remoteAddr: Address): string {
  return flat(pairKeyOf(local, remoteAddr));
}

/**
 * Multimap buckets: one value is stored as itself, several as an insertion-ordered Set (most keys
 * — address pairs — hold one SA: no Set per SA; a key with thousands, e.g. one peer address with
 * many SAs, still adds and removes in O(1)).
 */
type Bucket<V> = V | Set<V>;

function addTo<K, V extends object>(m: Map<K, Bucket<V>>, k: K, v: V): void {
  const b = m.get(k);
  if (b === undefined) m.set(k, v);
  else if (b instanceof Set) b.add(v);
  else if (b !== v) m.set(k, new Set([b, v]));
}

function removeFrom<K, V extends object>(m: Map<K, Bucket<V>>, k: K, v: V): void {
  const b = m.get(k);
  if (b === undefined) return;
  if (!(b instanceof Set)) {
    if (b === v) m.delete(k);
    return;
  }
  b.delete(v);
  if (b.size === 1) m.set(k, b.values().next().value as V);
  else if (b.size === 0) m.delete(k);
}

/** The values of a bucket as a fresh array (safe to iterate while the map changes). */
function bucket<K, V extends object>(m: Map<K, Bucket<V>>, k: K): V[] {
  const b = m.get(k);
  return b === undefined ? [] : b instanceof Set ? [...b] : [b];
}

function bucketSize<K, V extends object>(m: Map<K, Bucket<V>>, k: K): number {
  const b = m.get(k);
  return b === undefined ? 0 : b instanceof Set ? b.size : 1;
}

/** The values of a bucket, not copied: only for loops that change nothing in the map. */
function bucketView<K, V extends object>(m: Map<K, Bucket<V>>, k: K): Iterable<V> {
  const b = m.get(k);
  return b === undefined ? [] : b instanceof Set ? b : [b];
}

/**
 * One frozen ChosenIke per distinct value: thousands of SAs negotiate the same few transforms,
 * and each would otherwise keep its own copy. Bounded: only values that passed proposal
 * selection (configured transforms) get here, and the table is cleared if it ever grows large.
 */
const chosenTable = new Map<string, ChosenIke>();
function internChosen(c: ChosenIke): ChosenIke {
  const k = `${c.encryption}/${c.keyLength}/${c.hash}/${c.prf}/${c.auth}/${c.group}/${c.lifetimeSeconds}/${c.lifetimeKilobytes ?? ''}`;
  let v = chosenTable.get(k);
  if (v === undefined) {
    if (chosenTable.size >= 256) chosenTable.clear();
    v = Object.freeze({ ...c });
    chosenTable.set(k, v);
  }
  return v;
}

const cipherCache = new Map<string, CipherInfo>();
function cipherCached(enc: number, bits: number | undefined): CipherInfo {
  const k = `${enc}/${bits ?? ''}`;
  let c = cipherCache.get(k);
  if (!c) cipherCache.set(k, (c = C.cipherFor(enc, bits)));
  return c;
}

/**
 * Keys of one direction: SPI | KEYMAT at `at` in a buffer both directions share. The views are
 * made on access (one byte array per IPsec SA instead of four per direction: fewer objects per
 * SA for the collector).
 */
class Keys implements DirectionKeys {
  constructor(private readonly buf: Uint8Array, private readonly at: number, private readonly spiLen: number, private readonly kmLen: number, private readonly encLen: number) {}
  get spi(): Uint8Array {
    return this.buf.subarray(this.at, this.at + this.spiLen);
  }
  get keymat(): Uint8Array {
    const k = this.at + this.spiLen;
    return this.buf.subarray(k, k + this.kmLen);
  }
  get encryptionKey(): Uint8Array {
    const k = this.at + this.spiLen;
    return this.buf.subarray(k, k + this.encLen);
  }
  get integrityKey(): Uint8Array {
    const k = this.at + this.spiLen;
    return this.buf.subarray(k + this.encLen, k + this.kmLen);
  }
  toJSON(): object {
    return { spi: this.spi, keymat: this.keymat, encryptionKey: this.encryptionKey, integrityKey: this.integrityKey };
  }
}

/** The phase-1 policy of a connection as text (identities first: they differ most), computed once per connection object. */
const policyKeys = new WeakMap<Connection, string>();
function policyKey(c: Connection): string {
  let k = policyKeys.get(c);
  if (k === undefined) {
    k = JSON.stringify([c.localId ?? null, c.remoteId ?? null, c.auth, c.exchange ?? 'main', c.ike]);
    policyKeys.set(c, k);
  }
  return k;
}

/** May a Quick Mode for `b` run under an ISAKMP SA negotiated for `a` (same peer policy)? */
function sharesIsakmpSa(a: Connection, b: Connection): boolean {
  if (a === b || a.name === b.name) return true;
  if (a.auth !== b.auth || policyKey(a) !== policyKey(b)) return false;
  if (a.auth === 'psk' && !bytesEqual(a.psk, b.psk)) return false;
  if (a.auth === 'rsa-sig' && a.rsa?.privateKey !== b.rsa?.privateKey) return false;
  return true;
}


/** Connection + authenticated identity: whose SAs the per-peer caps count together. */
function peerKeyOf(p1: P1): string {
  const id = p1.peerId ? peerIdWire(p1.peerId) : { idType: 0, data: new Uint8Array(0) };
  return flat(p1.conn.name + '\0' + id.idType + ':' + hex(id.data));
}

/** A peer identity in words, for reasons (non-printable characters escaped by the loggers). */
function peerText(id: PeerIdentity | undefined): string {
  if (!id) return '(unknown)';
  if (id.type === 'any') return '%any';
  if (id.type === 'other') return `ID type ${id.idType}`;
  return typeof id.value === 'string' ? id.value : `DN ${hex(id.value)}`;
}

function decrement<K>(m: Map<K, number>, k: K): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** The only payload after HASH(1) of an Informational, when it is an R-U-THERE or R-U-THERE-ACK (RFC 3706). */
function dpdOnly(payloads: readonly Payload[]): NotifyPayload | undefined {
  if (payloads.length !== 2) return undefined;
  const n = payloads[1]!;
  if (n.type !== 'N' || n.data.length !== 4) return undefined;
  return n.notifyType === NotifyType.R_U_THERE || n.notifyType === NotifyType.R_U_THERE_ACK ? n : undefined;
}

function sameAddressPort(a: Address, b: Address): boolean {
  return a.port === b.port && sameAddress(a.address, b.address);
}

/** A refusal that maps to no notify type: its drop code travels with it to the `dropped` event. */
class Refused extends RemoteProtocolError {
  constructor(readonly code: DropCode, reason: string) {
    super(0, reason);
  }
}

function errorOf(e: unknown): { notify: number; code?: DropCode; reason: string } {
  if (e instanceof Refused) return { notify: 0, code: e.code, reason: e.reason };
  if (e instanceof IsakmpError) return { notify: e.notify, reason: e.reason };
  if (e instanceof Error) return { notify: 0, code: 'INTERNAL_ERROR', reason: `internal: ${e.message.slice(0, 200)}` };
  return { notify: 0, code: 'INTERNAL_ERROR', reason: 'internal error' };
}

/** The `dropped` event of a caught error. */
function droppedEvent(peer: Address, e: unknown): EngineEvent {
  const { notify, code, reason } = errorOf(e);
  return code === undefined ? { type: 'dropped', peer, notify, reason } : { type: 'dropped', peer, notify, code, reason };
}

function remote(notify: number, reason: string): RemoteProtocolError {
  return new RemoteProtocolError(notify, reason);
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

const DPD_VID = Uint8Array.from([0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00]);

/**
 * The vendor IDs of a first phase-1 message that change what we do: RFC 3947 NAT-T, and RFC 3706
 * DPD (its ID with major version 1, any minor version).
 */
function peerVendorIds(payloads: readonly Payload[]): { rfc3947: boolean; dpd: boolean } {
  let rfc3947 = false;
  let dpd = false;
  for (const p of payloads) {
    if (p.type !== 'VID') continue;
    if (nattVidKind(p.data) === 'rfc3947') rfc3947 = true;
    else if (p.data.length === 16) {
      let same = true;
      for (let i = 0; i < 15 && same; i++) same = p.data[i] === DPD_VID[i];
      if (same) dpd = true;
    }
  }
  return { rfc3947, dpd };
}

// ---------------------------------------------------------------------------------------------

/**
 * The IKEv1 protocol endpoint. One instance serves any number of peers and connections.
 */
export class Endpoint {
  private readonly random: (n: number) => Uint8Array;
  private readonly allocateSpi: ((local: string) => Uint8Array | undefined) | undefined;
  private readonly opt: Required<Omit<EndpointOptions, 'random' | 'connections' | 'certificateTime' | 'aggressiveRate' | 'allocateSpi'>>;
  /** Aggressive Mode first answers per second (issue 9.7). */
  private readonly aggressiveLimiter: FirstAnswerLimiter;
  private readonly conns = new Map<string, Connection>();
  /** Connections by lower-case remote address ('%any' included): responder lookups stay O(1) in the number of peers. */
  private readonly connsByRemote = new Map<string, Bucket<Connection>>();
  private readonly p1s = new Map<string, P1>();
  private readonly children = new Map<string, Child>();
  /** Our inbound SPI (spiKey) → child, for Delete and uniqueness. */
  private readonly bySpi = new Map<number, Child>();
  /** The peer's inbound SPI (spiKey) → children (of any address pair; nearly always one), for the peer's Delete. */
  private readonly byPeerSpi = new Map<number, Bucket<Child>>();
  /** Per address pair: its phase 1s and IPsec SAs (no scans over all SAs). */
  private readonly p1ByPair = new Map<string, Bucket<P1>>();
  private readonly childByPair = new Map<string, Bucket<Child>>();
  /** Established ISAKMP SAs by peer key (connection + authenticated identity), IPsec SAs counted by it, ISAKMP SAs counted by peer address (issue 9.6). */
  private readonly p1ByPeerKey = new Map<string, Bucket<P1>>();
  private readonly childrenOfPeer = new Map<string, number>();
  private readonly p1sOfAddress = new Map<string, number>();
  /** Per peer address: half-open count and evictable entries (see HoNode). */
  private readonly halfOpenPeers = new Map<string, HoPeer>();
  private halfOpenCount = 0;
  /** All evictable half-open entries, oldest first. */
  private hoHead: HoNode | undefined;
  private hoTail: HoNode | undefined;
  private halfOpenEvicted = 0;
  /** See bestP1For(): cleared whenever a phase 1 becomes established or is removed. */
  private readonly bestP1Memo = new Map<string, { any: P1 | undefined; byConn: Map<string, P1> }>();
  /** Handshake timers (retransmissions, half-open and Quick Mode timeouts) in their own lane. */
  private readonly timers = new TimerQueue<Target>([Tk.P1Retransmit, Tk.P1HalfOpen, Tk.QmRetransmit, Tk.QmTimeout]);
  /** See mm1Template(). */
  private readonly mm1Cache = new Map<string, { message: Uint8Array; saiB: Uint8Array }>();
  private tx: Transmit[] = [];
  private txHead = 0;
  private ev: EngineEvent[] = [];
  private evHead = 0;
  /** The `now` of the current input (certificate validity is checked at certTime(now)). */
  private lastNow = 0;
  private readonly certTime: (now: number) => number;
  /** fp(): the datagram of the current handleDatagram call and its fingerprint. */
  private fpOf: Uint8Array | undefined;
  private fpValue = 0;
  /** The addresses of the datagram being handled and the transmit queue length before it (see authedFrom). */
  private rxLocal: Address | undefined;
  private rxRemote: Address | undefined;
  private rxMark = 0;
  /** Answers to the datagram being handled go here, not to its SA's address (see authedFrom). */
  private replyVia: { readonly p1: P1; readonly local: Address; readonly remote: Address } | undefined;

  constructor(options: EndpointOptions) {
    if (typeof options.random !== 'function') throw new LocalProtocolError(0, 'options.random is required');
    this.random = options.random;
    this.allocateSpi = options.allocateSpi;
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
    for (const c of options.connections ?? []) this.setConnection(c);
  }

  // ------------------------------------------------------------------------------ connections

  /** Adds or replaces a connection (by name). Existing SAs keep running; rekeys use the new one. */
  setConnection(c: Connection): void {
    if (!c.name) throw new LocalProtocolError(0, 'connection needs a name');
    const problem = checkConnectionProposals(c.ike, c.ipsec, c.allowWeakGroups ?? false);
    if (problem) throw new LocalProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `connection ${c.name}: ${problem}`);
    if (c.auth === 'psk' && (!c.psk || c.psk.length === 0)) throw new LocalProtocolError(0, `connection ${c.name}: psk missing`);
    if (c.auth === 'rsa-sig' && !c.rsa) throw new LocalProtocolError(0, `connection ${c.name}: rsa credentials missing`);
    const groups = new Set(c.ipsec.map((p) => p.group ?? 0));
    if (groups.size > 1) throw new LocalProtocolError(0, `connection ${c.name}: all IPsec proposals must use the same PFS group`);
    this.removeConnection(c.name);
    this.conns.set(c.name, c);
    addTo(this.connsByRemote, c.remote.address.toLowerCase(), c);
  }

  /** Removes a connection. Its SAs live on until they expire (they are no longer rekeyed). */
  removeConnection(name: string): boolean {
    const old = this.conns.get(name);
    if (!old) return false;
    removeFrom(this.connsByRemote, old.remote.address.toLowerCase(), old);
    return this.conns.delete(name);
  }

  /** Connections that may serve a peer address: those naming it, then the '%any' ones. */
  private connsFor(address: string): Connection[] {
    return [...bucket(this.connsByRemote, address.toLowerCase()), ...bucket(this.connsByRemote, '%any')];
  }

  connections(): Connection[] {
    return [...this.conns.values()];
  }

  // ------------------------------------------------------------------------------ outputs

  /** Next datagram to send, or undefined. Drain first after every input or command. */
  pollTransmit(): Transmit | undefined {
    if (this.txHead >= this.tx.length) {
      if (this.tx.length) {
        this.tx = [];
        this.txHead = 0;
      }
      return undefined;
    }
    const t = this.tx[this.txHead]!;
    this.tx[this.txHead++] = undefined as unknown as Transmit;
    return t;
  }

  /** Next event, or undefined. Drain after pollTransmit(). */
  pollEvent(): EngineEvent | undefined {
    if (this.evHead >= this.ev.length) {
      if (this.ev.length) {
        this.ev = [];
        this.evHead = 0;
      }
      return undefined;
    }
    const e = this.ev[this.evHead]!;
    this.ev[this.evHead++] = undefined as unknown as EngineEvent;
    return e;
  }

  /** When `handleTimeout` should next be called (ms, same clock as `now`), or undefined. */
  pollTimeout(): number | undefined {
    return this.timers.peek();
  }

  // ------------------------------------------------------------------------------ getters

  isakmpSas(): IsakmpSaInfo[] {
    const out: IsakmpSaInfo[] = [];
    for (const p1 of this.p1s.values()) if (p1.state !== 'dead') out.push(this.p1Info(p1));
    return out;
  }

  ipsecSas(): IpsecSaInfo[] {
    const out: IpsecSaInfo[] = [];
    for (const c of this.children.values()) if (c.state !== 'dead') out.push(c.info);
    return out;
  }

  /** Counts for status/metrics. */
  /**
   * Counts for status/metrics. `halfOpenEvicted`: half-open responder phase 1s dropped (oldest
   * first) to make room for a new first message when a half-open cap was reached.
   */
  stats(): { isakmp: number; established: number; halfOpen: number; halfOpenEvicted: number; ipsec: number; timers: number } {
    let established = 0;
    for (const p of this.p1s.values()) if (p.state === 'established') established++;
    return { isakmp: this.p1s.size, established, halfOpen: this.halfOpenCount, halfOpenEvicted: this.halfOpenEvicted, ipsec: this.children.size, timers: this.timers.size };
  }

  // ------------------------------------------------------------------------------ commands

  /**
   * Brings a connection up: a Quick Mode under an established ISAKMP SA with the peer, or a new
   * phase 1 followed by a Quick Mode.
   */
  initiate(now: number, connection: string | Connection): void {
    const conn = typeof connection === 'string' ? this.conns.get(connection) : connection;
    if (!conn) throw new LocalProtocolError(0, `no connection ${String(connection)}`);
    if (typeof connection !== 'string' && !this.conns.has(conn.name)) this.setConnection(conn);
    this.requestQm(now, { conn });
  }

  /** Rekeys an SA now (ISAKMP SA: new phase 1; IPsec SA: new Quick Mode). */
  rekey(now: number, saId: string): void {
    const p1 = this.findP1ById(saId);
    if (p1) {
      if (p1.state === 'established') this.rekeyP1(now, p1);
      return;
    }
    const child = this.children.get(saId);
    if (!child) throw new LocalProtocolError(0, `no SA ${saId}`);
    this.rekeyChild(now, child);
  }

  /** Deletes an SA and tells the peer (Delete payload under an ISAKMP SA with it). */
  delete(now: number, saId: string): void {
    const p1 = this.findP1ById(saId);
    if (p1) {
      if (p1.state === 'established') this.sendDeleteP1(now, p1);
      this.removeP1(p1, { type: 'deleted', kind: 'isakmp', id: this.p1Id(p1), connection: p1.conn.name, by: 'local' });
      return;
    }
    const child = this.children.get(saId);
    if (!child) throw new LocalProtocolError(0, `no SA ${saId}`);
    this.sendDeleteChildren(now, [child]);
    this.removeChild(child, 'local');
  }

  /**
   * Dead Peer Detection (RFC 3706): sends R-U-THERE under the ISAKMP SA. The answer arrives as a
   * `notify` event with R_U_THERE_ACK (36137). Returns the sequence number sent.
   */
  dpd(now: number, saId: string): number {
    const p1 = this.findP1ById(saId);
    if (!p1 || p1.state !== 'established') throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    const seq = p1.dpdOut === -1 ? readU32(this.random(4)) & 0x7fffffff : (p1.dpdOut + 1) >>> 0;
    p1.dpdOut = seq;
    p1.dpdAcked = false;
    const bytes = this.sendInfo(now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.R_U_THERE, spi: cookiePair(p1), data: u32(seq) }]);
    // the peer may have moved (authenticated traffic came from elsewhere): probe there too; its
    // ACK is the proof of freshness that moves the SA
    if (bytes && p1.candidate) this.send(p1.candidate.local, p1.candidate.remote, bytes);
    return seq;
  }

  /** Sends Notify / Delete payloads in a protected Informational exchange (HASH(1)) under an ISAKMP SA. */
  sendInformational(now: number, saId: string, payloads: ReadonlyArray<Extract<Payload, { type: 'N' | 'D' }>>): void {
    const p1 = this.findP1ById(saId);
    if (!p1 || p1.state !== 'established') throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    if (payloads.length === 0) throw new LocalProtocolError(0, 'nothing to send');
    this.sendInfo(now, p1, [...payloads]);
  }

  /**
   * Dataplane byte counts for an IPsec SA (kilobyte lifetimes): `bytes` is the total so far
   * (both directions) as the dataplane reports it.
   */
  reportTraffic(now: number, saId: string, bytes: number): void {
    const child = this.children.get(saId);
    if (!child || child.state === 'dead') return;
    child.bytes = Math.max(child.bytes, bytes);
    const limit = child.info.lifetimeKilobytes * 1024;
    if (!limit) return;
    if (child.bytes >= limit) {
      this.expireChild(now, child, true);
    } else if (child.bytes >= child.softBytes && child.state === 'installed' && child.info.role === 'initiator') {
      this.emit({ type: 'expired', kind: 'ipsec', id: child.info.id, connection: child.conn.name, hard: false });
      this.rekeyChild(now, child);
    }
  }

  // ------------------------------------------------------------------------------ timers

  handleTimeout(now: number): void {
    this.lastNow = now;
    for (let e = this.timers.popDue(now); e; e = this.timers.popDue(now)) {
      try {
        this.fire(now, e);
      } catch (err) {
        const { notify, reason } = errorOf(err);
        this.emit({ type: 'dropped', peer: { address: '', port: 0 }, notify, code: 'TIMER_ERROR', reason: `timer: ${reason}` });
      }
    }
  }

  private fire(now: number, e: TimerEntry<Target>): void {
    const t = e.target;
    switch (e.kind) {
      case Tk.P1Retransmit: {
        const p1 = t as P1;
        if (p1.state === 'dead' || !p1.rtx || p1.rtx.timer !== e) return;
        if (p1.rtx.count >= this.opt.retransmitLimit) {
          this.retryOrFail(now, p1, 'retransmit limit reached, peer does not answer');
          return;
        }
        p1.rtx.count++;
        if (p1.lastSent) this.send(p1.local, p1.remote, p1.lastSent);
        p1.rtx.timer = this.timers.add(now + this.opt.retransmitBaseMs * 2 ** p1.rtx.count, p1, Tk.P1Retransmit);
        return;
      }
      case Tk.P1HalfOpen: {
        const p1 = t as P1;
        if (p1.state !== 'negotiating' || p1.tHalf !== e) return;
        this.failP1(p1, 0, 'phase 1 not completed in time');
        return;
      }
      case Tk.P1Soft: {
        const p1 = t as P1;
        if (p1.state !== 'established' || p1.tSoft !== e) return;
        this.emit({ type: 'expired', kind: 'isakmp', id: this.p1Id(p1), connection: p1.conn.name, hard: false });
        if (p1.conn.rekey !== false && this.conns.has(p1.conn.name)) this.rekeyP1(now, p1);
        return;
      }
      case Tk.P1Hard: {
        const p1 = t as P1;
        if (p1.state === 'dead' || p1.tHard !== e) return;
        this.sendDeleteP1(now, p1);
        this.removeP1(p1, { type: 'expired', kind: 'isakmp', id: this.p1Id(p1), connection: p1.conn.name, hard: true });
        return;
      }
      case Tk.QmRetransmit: {
        const qm = t as Qm;
        if (!qm.rtx || qm.rtx.timer !== e || qm.p1.qms?.get(qm.msgId) !== qm) return;
        if (qm.rtx.count >= this.opt.retransmitLimit) {
          this.failQm(qm, 0, 'retransmit limit reached');
          return;
        }
        qm.rtx.count++;
        if (qm.lastSent) this.send(qm.replyTo?.local ?? qm.p1.local, qm.replyTo?.remote ?? qm.p1.remote, qm.lastSent);
        qm.rtx.timer = this.timers.add(now + this.opt.retransmitBaseMs * 2 ** qm.rtx.count, qm, Tk.QmRetransmit);
        return;
      }
      case Tk.QmTimeout: {
        const qm = t as Qm;
        if (qm.tTimeout !== e || qm.p1.qms?.get(qm.msgId) !== qm) return;
        this.failQm(qm, 0, 'Quick Mode not completed in time');
        return;
      }
      case Tk.ChildSoft: {
        const c = t as Child;
        if (c.state !== 'installed' || c.tSoft !== e) return;
        this.emit({ type: 'expired', kind: 'ipsec', id: c.info.id, connection: c.conn.name, hard: false });
        if (c.conn.rekey !== false && this.conns.has(c.conn.name)) this.rekeyChild(now, c);
        return;
      }
      case Tk.ChildHard: {
        const c = t as Child;
        if (c.state === 'dead' || c.tHard !== e) return;
        this.expireChild(now, c, true);
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------ datagrams

  /** Feeds one received UDP payload (without the non-ESP marker). Never throws on peer input. */
  handleDatagram(now: number, local: Address, remoteAddr: Address, bytes: Uint8Array): void {
    this.lastNow = now;
    this.fpOf = undefined;
    this.rxLocal = this.rxRemote = undefined;
    this.replyVia = undefined;
    let header: Header | undefined;
    try {
      header = decodeHeaderView(bytes); // cookies are views of `bytes`: copied where kept
    } catch (e) {
      this.emit(droppedEvent(remoteAddr, e));
      return;
    }
    try {
      this.dispatch(now, local, remoteAddr, header, bytes);
    } catch (e) {
      this.emit(droppedEvent(remoteAddr, e));
    }
    if (this.replyVia) this.redirectReplies();
  }

  private dispatch(now: number, local: Address, remoteAddr: Address, h: Header, bytes: Uint8Array): void {
    const p1 = this.p1s.get(bkey(h.initiatorCookie));
    const rcZero = isZero(h.responderCookie);
    switch (h.exchangeType) {
      case ExchangeType.IDENTITY_PROTECTION:
      case ExchangeType.AGGRESSIVE: {
        const mode = h.exchangeType === ExchangeType.IDENTITY_PROTECTION ? 'main' : 'aggressive';
        if (h.messageId !== 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'phase-1 message with non-zero message ID');
        if (!p1) {
          if (!rcZero) throw remote(NotifyType.INVALID_COOKIE, 'unknown cookies');
          if (isZero(h.initiatorCookie)) throw remote(NotifyType.INVALID_COOKIE, 'zero initiator cookie');
          this.respondFirst(now, local, remoteAddr, h, bytes, mode);
          return;
        }
        if (!this.samePeer(p1, remoteAddr) || p1.mode !== mode) throw remote(NotifyType.INVALID_COOKIE, 'cookies of another peer or exchange');
        this.beginAuth(local, remoteAddr);
        this.onPhase1(now, p1, h, bytes, rcZero);
        return;
      }
      case ExchangeType.QUICK_MODE: {
        if (!p1 || p1.state !== 'established' || !bytesEqual(p1.rc, h.responderCookie) || !this.samePeer(p1, remoteAddr)) {
          throw remote(NotifyType.INVALID_COOKIE, 'Quick Mode without an established ISAKMP SA');
        }
        this.beginAuth(local, remoteAddr);
        this.onQuick(now, p1, h, bytes);
        return;
      }
      case ExchangeType.INFORMATIONAL: {
        if (!p1 || !bytesEqual(p1.rc, h.responderCookie) || !this.samePeer(p1, remoteAddr) || !p1.skeyidA || !(h.flags & HeaderFlag.ENCRYPTION)) {
          // RFC 2408 §4.8 informationals outside an authenticated SA are never acted upon.
          this.logUnauthenticatedInfo(remoteAddr, bytes);
          return;
        }
        this.beginAuth(local, remoteAddr);
        this.onInformational(now, p1, h, bytes);
        return;
      }
      default:
        throw remote(NotifyType.INVALID_EXCHANGE_TYPE, `exchange type ${h.exchangeType} not supported`);
    }
  }

  /** The fingerprint of the datagram being handled, computed at most once per datagram. */
  private fp(bytes: Uint8Array): number {
    if (this.fpOf !== bytes) {
      this.fpOf = bytes;
      this.fpValue = fingerprint(bytes);
    }
    return this.fpValue;
  }

  private samePeer(p1: P1, r: Address): boolean {
    return sameAddress(p1.remote.address, r.address);
  }

  // ------------------------------------------------------------------------------ NAT traversal (RFC 3947)

  /** NAT-T offered for this connection: on unless the connection or the endpoint (nattPort 0) turns it off. */
  private nattEnabled(conn: Connection): boolean {
    return conn.natTraversal !== false && this.opt.nattPort !== 0;
  }

  /** Before handling a datagram of a known SA: where it came from (see authedFrom). */
  private beginAuth(local: Address, remoteAddr: Address): void {
    this.rxLocal = local;
    this.rxRemote = remoteAddr;
    this.rxMark = this.tx.length;
  }

  /**
   * Called by the handlers once the datagram proved to come from the peer (hash or signature
   * verified, not a replay). `fresh`: it could not have been sent before (a handshake message, a
   * Quick Mode completed with HASH(3) or answering ours, an ACK of our outstanding DPD probe): a
   * NAT-T responder's SA then follows the peer to where it came from. Otherwise (a first Quick
   * Mode message, an R-U-THERE, a Delete) the SA stays and only the answers go there (issue 9.3).
   */
  private authedFrom(p1: P1, fresh: boolean): void {
    const l = this.rxLocal;
    const r = this.rxRemote;
    this.rxLocal = this.rxRemote = undefined;
    if (!l || !r) return;
    if (fresh) {
      p1.candidate = undefined;
      this.adoptPeer(p1, l, r, this.rxMark);
      return;
    }
    if (!p1.natt || p1.role !== 'responder' || p1.state === 'dead') return;
    if (sameAddressPort(p1.remote, r) && sameAddressPort(p1.local, l)) return;
    this.replyVia = { p1, local: l, remote: r };
    p1.candidate = this.replyVia;
  }

  /** End of a datagram: the answers queued for it go where it came from (see authedFrom). */
  private redirectReplies(): void {
    const v = this.replyVia!;
    this.replyVia = undefined;
    for (let i = this.rxMark; i < this.tx.length; i++) {
      const t = this.tx[i]!;
      if (t.remote === v.p1.remote) this.tx[i] = { local: v.local, remote: v.remote, data: t.data };
    }
  }

  /**
   * Responder with NAT-T: an authenticated message from another address/port (the initiator
   * floated, or its NAT mapping changed) moves the SA there; replies queued while handling it
   * follow (RFC 3947 §4 / §6: answer where the message came from).
   */
  private adoptPeer(p1: P1, local: Address, remoteAddr: Address, mark: number): void {
    if (!p1.natt || p1.role !== 'responder' || p1.state === 'dead') return;
    const oldL = p1.local;
    const oldR = p1.remote;
    if (oldR.port === remoteAddr.port && oldR.address === remoteAddr.address && oldL.port === local.port && oldL.address === local.address) return;
    p1.local = local;
    p1.remote = remoteAddr;
    for (let i = mark; i < this.tx.length; i++) {
      const t = this.tx[i]!;
      if (t.remote === oldR) this.tx[i] = { local, remote: remoteAddr, data: t.data };
    }
    // the UDP-encapsulated IPsec SAs that used the old mapping follow it (RFC 3947 §6 / RFC 3948)
    for (const c of bucketView(this.childByPair, p1.pairKey)) {
      const i = c.info;
      if (c.state === 'dead' || i.udpEncapsulation !== true || i.remote.port !== oldR.port || i.local.port !== oldL.port || !sameAddress(i.remote.address, oldR.address)) continue;
      c.info = { ...i, local, remote: remoteAddr };
      this.emit({ type: 'ipsec-sa-updated', sa: c.info });
    }
  }

  /** NAT-D is computed only over real addresses (an unspecified local address cannot be hashed). */
  private natdPossible(p1: P1): boolean {
    const l = p1.local.address;
    return natdHashLength(p1.chosen!.hash) !== 0 && l !== '0.0.0.0' && l !== '::' && l !== '%any' && p1.remote.address !== '%any';
  }

  /**
   * HASH(CKY-I | CKY-R | IP | port) of our address and of the peer's: the same two values are
   * sent in our NAT-D payloads and compared with the peer's, so they are computed once per exchange
   * (again only if the addresses moved in between).
   */
  private natdHashes(p1: P1): { mine: Uint8Array; theirs: Uint8Array } {
    const hs = p1.hs;
    const cached = hs?.natd;
    if (cached && cached.local === p1.local && cached.remote === p1.remote) return cached;
    const hash = p1.chosen!.hash;
    const d = { local: p1.local, remote: p1.remote, mine: natdHash(hash, p1.ic, p1.rc, p1.local), theirs: natdHash(hash, p1.ic, p1.rc, p1.remote) };
    if (hs) hs.natd = d;
    return d;
  }

  /** Our NAT-D payloads: the peer's address first, then ours (faked with forceEncapsulation). */
  private natdPayloads(p1: P1): Payload[] {
    const { mine, theirs } = this.natdHashes(p1);
    const ours = p1.conn.forceEncapsulation === true ? this.random(theirs.length) : mine;
    return [
      { type: 'NAT-D', payloadType: 20, hash: theirs },
      { type: 'NAT-D', payloadType: 20, hash: ours },
    ];
  }

  /**
   * The peer's NAT-D payloads (MM3 / MM4): undefined when NAT-T is not negotiated or the peer sent
   * none. The first names our address as the peer saw it, the others the peer's own addresses.
   */
  private checkNatd(p1: P1, payloads: readonly Payload[]): { local: boolean; remote: boolean } | undefined {
    if (!p1.nattPeer || !this.natdPossible(p1)) return undefined;
    const ds = findAll(payloads, 'NAT-D');
    if (ds.length === 0) return undefined;
    const hash = p1.chosen!.hash;
    const len = natdHashLength(hash);
    for (const d of ds) if (d.hash.length !== len) throw remote(NotifyType.PAYLOAD_MALFORMED, `NAT-D of ${d.hash.length} bytes, expected ${len}`);
    if (ds.length < 2) throw remote(NotifyType.PAYLOAD_MALFORMED, 'NAT-D: need our address and at least one of the peer');
    const { mine, theirs } = this.natdHashes(p1);
    return {
      local: !bytesEqual(ds[0]!.hash, mine),
      remote: !ds.slice(1).some((d) => bytesEqual(d.hash, theirs)),
    };
  }

  private setNat(p1: P1, nat: { local: boolean; remote: boolean }): void {
    p1.natLocal = nat.local;
    p1.natRemote = nat.remote;
    p1.natt = nat.local || nat.remote || p1.conn.forceEncapsulation === true;
  }

  /** Initiator: move to the NAT-T port on both ends (RFC 3947 §4). */
  private float(p1: P1): void {
    const port = this.opt.nattPort;
    p1.local = { address: p1.local.address, port };
    p1.remote = { address: p1.remote.address, port };
  }

  /** The IPsec proposals of a connection as this phase 1 negotiates them (UDP-encapsulated modes under NAT-T). */
  private ipsecOf(p1: P1, conn: Connection): readonly IpsecProposal[] {
    return p1.natt ? encapsulatedProposals(conn.ipsec) : conn.ipsec;
  }

  private logUnauthenticatedInfo(peer: Address, bytes: Uint8Array): void {
    let what = 'unauthenticated informational ignored';
    try {
      const m = decodeMessage(bytes);
      const n = find(m.payloads, 'N');
      if (n) what = `unauthenticated notify ${n.notifyType} ignored`;
    } catch {
      /* the reason stays generic */
    }
    this.emit({ type: 'dropped', peer, notify: 0, code: 'UNAUTHENTICATED_INFORMATIONAL', reason: what });
  }

  // ------------------------------------------------------------------------------ phase 1: start

  private requestQm(now: number, pending: PendingQm): void {
    const conn = pending.conn;
    // an established ISAKMP SA for this connection with this peer?
    let negotiating: P1 | undefined;
    let best: P1 | undefined;
    const pairKey = pairKeyFlat(conn.local, conn.remote); // kept by a new phase 1 (see newP1)
    for (const p1 of bucketView(this.p1ByPair, pairKey)) {
      if ((p1.state !== 'established' && (p1.state !== 'negotiating' || p1.role !== 'initiator')) || !sharesIsakmpSa(p1.conn, conn)) continue;
      if (p1.state === 'established' && (!best || (p1.establishedAt ?? 0) > (best.establishedAt ?? 0))) best = p1;
      if (p1.state === 'negotiating' && p1.role === 'initiator') negotiating = p1;
    }
    if (best) {
      this.startQuick(now, best, pending);
      return;
    }
    if (negotiating) {
      if (negotiating.pending === NO_PENDING) negotiating.pending = [pending];
      else negotiating.pending.push(pending);
      return;
    }
    this.startPhase1(now, conn, [pending], undefined, pairKey);
  }

  private newP1(role: 'initiator' | 'responder', mode: 'main' | 'aggressive', conn: Connection, local: Address, remoteAddr: Address, ic: Uint8Array, rc: Uint8Array, icKey = bkey(ic), pairKey = pairKeyFlat(local, remoteAddr)): P1 {
    const p1: P1 = {
      kind: 'p1',
      icKey,
      role,
      mode,
      conn,
      local,
      remote: remoteAddr,
      pairKey,
      ic,
      rc,
      // every field present from the start: one hidden class for all phase 1s (monomorphic
      // property access on the hot path, fields stored in the object itself)
      replacedBy: undefined,
      step: 0,
      state: 'negotiating',
      hs: newHandshake(),
      chosen: undefined,
      prf: undefined,
      cipher: undefined,
      skeyidD: undefined,
      skeyidA: undefined,
      encKey: undefined,
      iv: undefined,
      peerId: undefined,
      lastRecv: undefined,
      lastSent: undefined,
      rtx: undefined,
      tHalf: undefined,
      tSoft: undefined,
      tHard: undefined,
      establishedAt: undefined,
      expiresAt: undefined,
      qms: undefined,
      done: undefined,
      doneId: 0,
      doneRecv: undefined,
      doneSent: undefined,
      seen1: 0,
      seenRest: undefined,
      seenCount: 0,
      dpdOut: -1,
      dpdAcked: false,
      dpdIn: -1,
      dpdInRepeats: 0,
      dpdInMsgId: 0,
      candidate: undefined,
      pending: NO_PENDING,
      rekeyOf: undefined,
      halfOpen: false,
      id: undefined,
      ho: undefined,
      tries: 0,
      nattPeer: false,
      natLocal: undefined,
      natRemote: undefined,
      natt: false,
      dpdPeer: false,
      peerKey: undefined,
    };
    this.p1s.set(p1.icKey, p1);
    addTo(this.p1ByPair, p1.pairKey, p1);
    return p1;
  }

  private freshCookie(): Uint8Array {
    return this.freshCookieKeyed().cookie;
  }

  /** A fresh non-zero cookie that no phase 1 uses as its initiator cookie, with its map key. */
  private freshCookieKeyed(): { cookie: Uint8Array; key: string } {
    for (;;) {
      const cookie = this.random(8);
      if (isZero(cookie)) continue;
      const key = bkey(cookie);
      if (!this.p1s.has(key)) return { cookie, key };
    }
  }

  /** `pairKey`: pairKeyFlat(conn.local, conn.remote) when the caller has it already. */
  private startPhase1(now: number, conn: Connection, pending: PendingQm[], rekeyOf?: P1, pairKey?: string): P1 {
    const mode = conn.exchange ?? 'main';
    const local = conn.local;
    const remoteAddr = conn.remote;
    if (remoteAddr.address === '%any') throw new LocalProtocolError(0, `connection ${conn.name}: cannot initiate to %any`);
    const ic = this.freshCookieKeyed();
    const p1 = this.newP1('initiator', mode, conn, local, remoteAddr, ic.cookie, new Uint8Array(8), ic.key, pairKey);
    p1.pending = pending;
    if (rekeyOf) p1.rekeyOf = rekeyOf;
    const hs = p1.hs!;
    if (mode === 'main') {
      // MM1 is the same for every exchange of a connection but for the initiator cookie
      const t = this.mm1Template(conn);
      const bytes = t.message.slice();
      bytes.set(p1.ic, 0);
      hs.saiB = t.saiB; // shared, read-only (hashed, never wiped: it is no secret)
      p1.step = 1;
      this.sendP1(now, p1, bytes, true);
      return p1;
    }
    const sa = buildIkeSa(conn.ike, authMethodOf(conn.auth));
    // Aggressive Mode: the group is fixed by the first proposal (one KE only).
    const group = conn.ike[0]!.group;
    if (conn.ike.some((p) => p.group !== group)) throw new LocalProtocolError(0, 'aggressive mode: all proposals must use one group');
    const kn = this.keAndNonce(group);
    hs.dh = kn.dh;
    hs.gxi = hs.dh.publicKey;
    hs.ni = kn.nonce;
    const id = this.ourIdentity(p1);
    hs.ourId = identityToId(id);
    const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
    hs.ourIdB = encodePayloadBody(idp);
    const payloads: Payload[] = [sa, { type: 'KE', data: hs.gxi }, { type: 'NONCE', data: hs.ni }, idp, { type: 'VID', data: DPD_VID }];
    if (this.nattEnabled(conn)) payloads.push({ type: 'VID', data: NATT_RFC3947_VID });
    this.checkOut(AGGRESSIVE_MODE[0]!, payloads);
    const bytes = this.encodePlain(p1, ExchangeType.AGGRESSIVE, 0, payloads);
    // SAi_b: the SA payload body exactly as sent (the first payload; no second encoding)
    hs.saiB = firstPayloadBody(bytes);
    p1.step = 1;
    this.sendP1(now, p1, bytes, true);
    return p1;
  }

  /**
   * MM1 with zero cookies, and its SA payload body (SAi_b): they depend only on the offered
   * transforms, the authentication method and NAT-T, so they are encoded once per distinct offer
   * (many connections share one) and kept in a small bounded table.
   */
  private mm1Template(conn: Connection): { message: Uint8Array; saiB: Uint8Array } {
    const natt = this.nattEnabled(conn);
    const auth = authMethodOf(conn.auth);
    let key = natt ? `${auth}n` : `${auth}`;
    for (const p of conn.ike) key += `|${p.encryption},${p.keyLength ?? ''},${p.hash},${p.group},${p.lifetimeSeconds ?? ''}`;
    const cached = this.mm1Cache.get(key);
    if (cached) return cached;
    const payloads: Payload[] = [buildIkeSa(conn.ike, auth), { type: 'VID', data: DPD_VID }];
    if (natt) payloads.push({ type: 'VID', data: NATT_RFC3947_VID });
    this.checkOut(MAIN_MODE[0]!, payloads);
    const message = encodeMessage({
      header: { initiatorCookie: ZERO8, responderCookie: ZERO8, nextPayload: PayloadType.SA, majorVersion: 1, minorVersion: 0, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 },
      payloads,
    });
    const t = { message, saiB: firstPayloadBody(message) };
    if (this.mm1Cache.size >= 64) this.mm1Cache.clear(); // local configuration only: a handful of distinct offers
    this.mm1Cache.set(key, t);
    return t;
  }

  /** Our phase-1 identity: configured, else the address the exchange actually uses. */
  private ourIdentity(p1: P1): Identity {
    return p1.conn.localId ?? addressIdentity(p1.local.address);
  }

  private checkOut(script: MessageScript, payloads: readonly Payload[]): void {
    checkMessage(script, payloads, true);
  }

  // ------------------------------------------------------------------------------ phase 1: responder first message

  private candidateConns(local: Address, remoteAddr: Address, mode: 'main' | 'aggressive'): Connection[] {
    const out: Connection[] = [];
    // exact remote matches first, then '%any' (no intermediate arrays: this runs for every MM1/AM1)
    for (const key of [remoteAddr.address.toLowerCase(), '%any']) {
      for (const c of bucketView(this.connsByRemote, key)) {
        if ((c.exchange ?? 'main') !== mode) continue;
        const l = c.local.address;
        if (l !== '%any' && l !== '0.0.0.0' && l !== '::' && !sameAddress(l, local.address)) continue;
        out.push(c);
      }
    }
    return out;
  }

  private respondFirst(now: number, local: Address, remoteAddr: Address, h: Header, bytes: Uint8Array, mode: 'main' | 'aggressive'): void {
    try {
      if (h.flags & HeaderFlag.ENCRYPTION) throw remote(NotifyType.INVALID_FLAGS, 'first phase-1 message encrypted');
      // the header was checked by decodeHeader: decode the payload chain only (same checks and offsets)
      // (Main Mode: in place, nothing of MM1's records is kept — SAi_b is copied from `bytes`
      // below and the chosen transform is numbers; the reply is encoded at once)
      const body = bytes.subarray(28);
      const msg = { payloads: mode === 'main' ? decodePayloadsInPlace(h.nextPayload, body, 28, false) : decodePayloads(h.nextPayload, body, { baseOffset: 28 }) };
      const script = mode === 'main' ? MAIN_MODE[0]! : AGGRESSIVE_MODE[0]!;
      checkMessage(script, msg.payloads);
      const sa = find(msg.payloads, 'SA')!;
      let candidates = this.candidateConns(local, remoteAddr, mode);
      if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no connection for this peer');
      if ((this.p1sOfAddress.get(remoteAddr.address) ?? 0) >= this.opt.maxIsakmpSasPerAddress) {
        throw new Refused('PEER_SA_LIMIT', `address ${remoteAddr.address} holds ${this.opt.maxIsakmpSasPerAddress} ISAKMP SAs (max_isakmp_sas_per_address)`);
      }
      if (mode === 'aggressive') {
        const id = find(msg.payloads, 'ID')!;
        this.checkPhase1IdPayload(id);
        // an unknown identity and a known one we refuse get the same answer (NO_PROPOSAL_CHOSEN),
        // so that a scanner cannot enumerate group names (issue 9.10); the reasons differ in the log
        candidates = candidates.filter((c) => identityMatches(expectedPeerId(c, remoteAddr.address), id.idType, id.data));
        if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no Aggressive Mode connection for this identity');
        candidates = candidates.filter((c) => c.auth !== 'psk' || c.allowAggressivePsk === true);
        if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'aggressive mode with PSK refused as responder (allow_aggressive_psk is off)');
        // the expensive answer (Diffie-Hellman, HASH_R or a signature) only within the rate
        const known = (this.p1sOfAddress.get(remoteAddr.address) ?? 0) > 0;
        if (!this.aggressiveLimiter.take(now, remoteAddr.address, known)) throw new Refused('RATE_LIMITED', 'Aggressive Mode first message over the rate limit (aggressive_rate): not answered');
      }
      let chosen: { conn: Connection; sel: ReturnType<typeof selectIke> } | undefined;
      let firstErr: unknown;
      for (const c of candidates) {
        try {
          chosen = { conn: c, sel: selectIke(sa, c.ike, authMethodOf(c.auth), c.allowWeakGroups ?? false, c.preferOwnOrder ?? false) };
          break;
        } catch (e) {
          firstErr ??= e;
        }
      }
      if (!chosen) throw firstErr ?? remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable proposal');
      // a well-formed, acceptable first message: room for it in the half-open table
      const peer = this.makeHalfOpenRoom(remoteAddr.address);
      const p1 = this.newP1('responder', mode, chosen.conn, local, remoteAddr, new Uint8Array(h.initiatorCookie), this.freshCookie());
      this.addHalfOpen(p1, peer);
      p1.tHalf = this.timers.add(now + this.opt.halfOpenTimeoutMs, p1, Tk.P1HalfOpen);
      p1.lastRecv = this.fp(bytes);
      this.setChosen(p1, chosen.sel.chosen);
      const hs = p1.hs!;
      // SAi_b: the body of the initiator's SA payload as received (the first payload, checked above)
      hs.saiB = firstPayloadBody(bytes);
      hs.candidates = candidates;
      try {
        if (mode === 'main') {
          const vids = peerVendorIds(msg.payloads);
          p1.dpdPeer = vids.dpd;
          const payloads: Payload[] = [chosen.sel.reply, { type: 'VID', data: DPD_VID }];
          if (this.nattEnabled(chosen.conn) && vids.rfc3947) {
            p1.nattPeer = true;
            payloads.push({ type: 'VID', data: NATT_RFC3947_VID });
          }
          this.checkOut(MAIN_MODE[1]!, payloads);
          p1.step = 2;
          // RFC 2409 has no rule, but CVE-2016-5361: never retransmit this reply on a timer.
          this.sendP1(now, p1, this.encodePlain(p1, ExchangeType.IDENTITY_PROTECTION, 0, payloads), false);
        } else {
          this.aggressiveRespond(now, p1, msg.payloads, chosen.sel.reply);
        }
      } catch (e) {
        this.destroyP1(p1);
        throw e;
      }
    } catch (e) {
      const { notify } = errorOf(e);
      if (this.opt.sendErrorNotifies && isErrorNotify(notify)) this.sendUnprotectedNotify(local, remoteAddr, h.initiatorCookie, notify);
      throw e;
    }
  }

  /** RFC 2408 §5.x: error reply to a first message: zero responder cookie, no state kept. */
  private sendUnprotectedNotify(local: Address, remoteAddr: Address, ic: Uint8Array, notify: number): void {
    const payloads: Payload[] = [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: new Uint8Array(0), data: new Uint8Array(0) }];
    const bytes = encodeMessage({
      header: { initiatorCookie: ic, responderCookie: ZERO8, nextPayload: PayloadType.N, majorVersion: 1, minorVersion: 0, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0 },
      payloads,
    });
    this.send(local, remoteAddr, bytes);
  }

  private setChosen(p1: P1, chosen: ChosenIke): void {
    p1.chosen = internChosen(chosen);
    p1.prf = C.prfAlgFromHashId(chosen.hash);
    p1.cipher = cipherCached(chosen.encryption, chosen.encryption === 7 ? chosen.keyLength : undefined);
  }

  // ------------------------------------------------------------------------------ phase 1: following messages

  private onPhase1(now: number, p1: P1, h: Header, bytes: Uint8Array, rcZero: boolean): void {
    // byte-identical repeat of the last request: the last response again, nothing else
    if (p1.lastRecv !== undefined && p1.lastRecv === this.fp(bytes)) {
      if (p1.lastSent && p1.role === 'responder') this.send(p1.local, p1.remote, p1.lastSent);
      return;
    }
    if (p1.state !== 'negotiating') throw remote(NotifyType.INVALID_EXCHANGE_TYPE, 'phase-1 message for a finished exchange');
    const script = p1.mode === 'main' ? MAIN_MODE : AGGRESSIVE_MODE;
    const m = script[p1.step];
    const peerRole = p1.role === 'initiator' ? 'R' : 'I';
    if (!m || m.from !== peerRole) throw remote(NotifyType.INVALID_EXCHANGE_TYPE, 'unexpected phase-1 message');
    if (p1.role === 'initiator' && p1.step === 1) {
      if (rcZero) throw remote(NotifyType.INVALID_COOKIE, 'reply with zero responder cookie');
    } else if (!bytesEqual(p1.rc, h.responderCookie)) {
      throw remote(NotifyType.INVALID_COOKIE, 'responder cookie mismatch');
    }
    const enc = (h.flags & HeaderFlag.ENCRYPTION) !== 0;
    if (m.encrypted === 'yes' && !enc) throw remote(NotifyType.INVALID_FLAGS, `${m.label}: must be encrypted`);
    if (m.encrypted === 'no' && enc) throw remote(NotifyType.INVALID_FLAGS, `${m.label}: must not be encrypted`);
    let payloads: readonly Payload[];
    let nextIv: Uint8Array | undefined;
    if (enc) {
      const r = this.decrypt(p1, p1.iv!, bytes);
      payloads = r.payloads;
      nextIv = r.nextIv;
    } else {
      // Main Mode MM2-MM4 (SA, KE, Nr, CR, VID): the handlers copy every byte field they keep
      // (nonces, KE data; the SA answer becomes numbers), so the records may alias `bytes`
      payloads = p1.mode === 'main' ? decodePayloadsInPlace(h.nextPayload, bytes.subarray(28), 28, false) : decodePayloads(h.nextPayload, bytes.subarray(28), { baseOffset: 28 });
    }
    checkMessage(m, payloads);
    const mm = p1.mode === 'main';
    if (p1.role === 'initiator') {
      if (mm && p1.step === 1) this.mmI2(now, p1, h, payloads);
      else if (mm && p1.step === 3) this.mmI4(now, p1, payloads);
      else if (mm && p1.step === 5) this.mmI6(now, p1, payloads, nextIv!, bytes);
      else if (!mm && p1.step === 1) this.amI2(now, p1, h, payloads, bytes);
      // an exact repeat of this answer is then ignored silently (see the top of onPhase1)
      if (mm && p1.state === 'negotiating' && p1.step > 1) p1.lastRecv = this.fp(bytes);
    } else {
      if (mm && p1.step === 2) this.mmR3(now, p1, payloads, bytes);
      else if (mm && p1.step === 4) this.mmR5(now, p1, payloads, nextIv!, bytes);
      else if (!mm && p1.step === 2) this.amR3(now, p1, payloads, nextIv, bytes);
    }
  }

  /** Initiator: <-- HDR, SA ; then HDR, KE, Ni --> */
  private mmI2(now: number, p1: P1, h: Header, payloads: readonly Payload[]): void {
    const conn = p1.conn;
    let chosen: ChosenIke;
    try {
      chosen = checkIkeAnswer(find(payloads, 'SA')!, conn.ike, authMethodOf(conn.auth), conn.allowWeakGroups ?? false);
      this.setChosen(p1, chosen);
    } catch (e) {
      const { notify, reason } = errorOf(e);
      this.failP1(p1, notify, reason);
      throw e;
    }
    p1.rc = new Uint8Array(h.responderCookie);
    const vids = peerVendorIds(payloads);
    p1.nattPeer = this.nattEnabled(conn) && vids.rfc3947;
    p1.dpdPeer = vids.dpd;
    const hs = p1.hs!;
    const kn = this.keAndNonce(chosen.group);
    hs.dh = kn.dh;
    hs.gxi = hs.dh.publicKey;
    hs.ni = kn.nonce;
    const out: Payload[] = [{ type: 'KE', data: hs.gxi }, { type: 'NONCE', data: hs.ni }];
    if (conn.auth === 'rsa-sig') out.push({ type: 'CR', certType: CertEncoding.X509_SIGNATURE, authority: new Uint8Array(0) });
    if (p1.nattPeer && this.natdPossible(p1)) out.push(...this.natdPayloads(p1));
    this.checkOut(MAIN_MODE[2]!, out);
    p1.step = 3;
    this.sendP1(now, p1, this.encodePlain(p1, ExchangeType.IDENTITY_PROTECTION, 0, out), true);
  }

  /** Responder: HDR, KE, Ni --> ; then <-- HDR, KE, Nr */
  private mmR3(now: number, p1: P1, payloads: readonly Payload[], bytes: Uint8Array): void {
    const hs = p1.hs!;
    const chosen = p1.chosen!;
    const ke = find(payloads, 'KE')!;
    const ni = find(payloads, 'NONCE')!;
    this.checkNonce(ni.data);
    const nat = this.checkNatd(p1, payloads);
    const kn = this.keAndNonce(chosen.group);
    hs.dh = kn.dh;
    hs.gxr = hs.dh.publicKey;
    let gxy: Uint8Array;
    try {
      gxy = hs.dh.computeSharedSecret(ke.data);
    } catch (e) {
      const { notify, reason } = errorOf(e);
      this.sendUnprotectedNotify(p1.local, p1.remote, p1.ic, notify || NotifyType.INVALID_KEY_INFORMATION);
      this.failP1(p1, notify, reason);
      throw e;
    }
    hs.gxi = new Uint8Array(ke.data);
    hs.ni = new Uint8Array(ni.data);
    hs.nr = kn.nonce;
    this.deriveKeys(p1, gxy);
    const out: Payload[] = [{ type: 'KE', data: hs.gxr }, { type: 'NONCE', data: hs.nr }];
    if (p1.conn.auth === 'rsa-sig') out.push({ type: 'CR', certType: CertEncoding.X509_SIGNATURE, authority: new Uint8Array(0) });
    if (nat) {
      this.setNat(p1, nat);
      out.push(...this.natdPayloads(p1));
    }
    this.checkOut(MAIN_MODE[3]!, out);
    p1.lastRecv = this.fp(bytes);
    p1.step = 4;
    // the peer answered our MM2 at its address: no longer evicted to make room for new MM1s
    this.unlinkEvictable(p1);
    this.sendP1(now, p1, this.encodePlain(p1, ExchangeType.IDENTITY_PROTECTION, 0, out), false);
  }

  /** Initiator: <-- HDR, KE, Nr ; then HDR*, IDii, [CERT,] HASH_I|SIG_I --> */
  private mmI4(now: number, p1: P1, payloads: readonly Payload[]): void {
    const hs = p1.hs!;
    const ke = find(payloads, 'KE')!;
    const nr = find(payloads, 'NONCE')!;
    let gxy: Uint8Array;
    const nat = this.checkNatd(p1, payloads);
    try {
      this.checkNonce(nr.data);
      gxy = hs.dh!.computeSharedSecret(ke.data);
    } catch (e) {
      const { notify, reason } = errorOf(e);
      this.failP1(p1, notify, reason);
      throw e;
    }
    hs.gxr = new Uint8Array(ke.data);
    hs.nr = new Uint8Array(nr.data);
    this.deriveKeys(p1, gxy);
    hs.ourId = identityToId(this.ourIdentity(p1));
    const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
    hs.ourIdB = encodePayloadBody(idp);
    const out: Payload[] = [idp, ...this.authPayloads(p1, true)];
    if (this.wantInitialContact(p1)) out.push(this.initialContactNotify(p1));
    this.checkOut(MAIN_MODE[4]!, out);
    if (nat) {
      this.setNat(p1, nat);
      // RFC 3947 §4: the initiator floats to the NAT-T port from MM5 on
      if (p1.natt) this.float(p1);
    }
    p1.step = 5;
    const { bytes, nextIv } = this.encodeEncrypted(p1, ExchangeType.IDENTITY_PROTECTION, 0, 0, out, p1.iv!);
    this.setIv(p1, nextIv);
    this.sendP1(now, p1, bytes, true);
  }

  /** Responder: HDR*, IDii, HASH_I --> ; then <-- HDR*, IDir, HASH_R */
  private mmR5(now: number, p1: P1, payloads: readonly Payload[], nextIv: Uint8Array, bytes: Uint8Array): void {
    const hs = p1.hs!;
    const id = find(payloads, 'ID')!;
    this.verifyPeer(p1, id, payloads, true);
    this.authedFrom(p1, true);
    this.setIv(p1, nextIv);
    p1.lastRecv = this.fp(bytes);
    hs.ourId = identityToId(this.ourIdentity(p1));
    const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
    hs.ourIdB = encodePayloadBody(idp);
    const out: Payload[] = [idp, ...this.authPayloads(p1, false)];
    if (this.wantInitialContact(p1)) out.push(this.initialContactNotify(p1));
    this.checkOut(MAIN_MODE[5]!, out);
    const enc = this.encodeEncrypted(p1, ExchangeType.IDENTITY_PROTECTION, 0, 0, out, p1.iv!);
    this.setIv(p1, enc.nextIv);
    p1.step = 6;
    this.sendP1(now, p1, enc.bytes, false);
    this.established(now, p1, payloads);
  }

  /** Initiator: <-- HDR*, IDir, HASH_R ; established. */
  private mmI6(now: number, p1: P1, payloads: readonly Payload[], nextIv: Uint8Array, bytes: Uint8Array): void {
    const id = find(payloads, 'ID')!;
    try {
      this.verifyPeer(p1, id, payloads, false);
    } catch (e) {
      const { notify, reason } = errorOf(e);
      this.failP1(p1, notify, reason);
      throw e;
    }
    this.setIv(p1, nextIv);
    p1.lastRecv = this.fp(bytes);
    p1.step = 6;
    this.established(now, p1, payloads);
  }

  /** Responder: HDR, SA, KE, Ni, IDii --> ; then <-- HDR, SA, KE, Nr, IDir, HASH_R */
  private aggressiveRespond(now: number, p1: P1, payloads: readonly Payload[], reply: SaPayload): void {
    const hs = p1.hs!;
    const chosen = p1.chosen!;
    const ke = find(payloads, 'KE')!;
    const ni = find(payloads, 'NONCE')!;
    const id = find(payloads, 'ID')!;
    this.checkNonce(ni.data);
    const kn = this.keAndNonce(chosen.group);
    hs.dh = kn.dh;
    hs.gxr = hs.dh.publicKey;
    const gxy = hs.dh.computeSharedSecret(ke.data);
    hs.gxi = new Uint8Array(ke.data);
    hs.ni = new Uint8Array(ni.data);
    hs.nr = kn.nonce;
    hs.peerIdB = encodePayloadBody(id);
    hs.peerId = { idType: id.idType, data: new Uint8Array(id.data) };
    p1.peerId = idToIdentity(id.idType, id.data);
    this.deriveKeys(p1, gxy);
    hs.ourId = identityToId(this.ourIdentity(p1));
    const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
    hs.ourIdB = encodePayloadBody(idp);
    const vids = peerVendorIds(payloads);
    p1.dpdPeer = vids.dpd;
    const out: Payload[] = [reply, { type: 'KE', data: hs.gxr }, { type: 'NONCE', data: hs.nr }, idp, ...this.authPayloads(p1, false), { type: 'VID', data: DPD_VID }];
    if (this.nattEnabled(p1.conn) && vids.rfc3947) {
      p1.nattPeer = true;
      out.push({ type: 'VID', data: NATT_RFC3947_VID });
      if (this.natdPossible(p1)) out.push(...this.natdPayloads(p1));
    }
    this.checkOut(AGGRESSIVE_MODE[1]!, out);
    p1.step = 2;
    this.sendP1(now, p1, this.encodePlain(p1, ExchangeType.AGGRESSIVE, 0, out), false);
  }

  /** Initiator: <-- HDR, SA, KE, Nr, IDir, HASH_R ; then HDR, HASH_I --> ; established. */
  private amI2(now: number, p1: P1, h: Header, payloads: readonly Payload[], bytes: Uint8Array): void {
    const conn = p1.conn;
    const hs = p1.hs!;
    let nat: { local: boolean; remote: boolean } | undefined;
    try {
      const chosen = checkIkeAnswer(find(payloads, 'SA')!, conn.ike, authMethodOf(conn.auth), conn.allowWeakGroups ?? false);
      if (chosen.group !== conn.ike[0]!.group) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'answer changes the group');
      this.setChosen(p1, chosen);
      p1.rc = new Uint8Array(h.responderCookie);
      const ke = find(payloads, 'KE')!;
      const nr = find(payloads, 'NONCE')!;
      this.checkNonce(nr.data);
      const gxy = hs.dh!.computeSharedSecret(ke.data);
      hs.gxr = new Uint8Array(ke.data);
      hs.nr = new Uint8Array(nr.data);
      this.deriveKeys(p1, gxy);
      this.verifyPeer(p1, find(payloads, 'ID')!, payloads, false);
      const vids = peerVendorIds(payloads);
      p1.nattPeer = this.nattEnabled(conn) && vids.rfc3947;
      p1.dpdPeer = vids.dpd;
      nat = this.checkNatd(p1, payloads);
    } catch (e) {
      const { notify, reason } = errorOf(e);
      this.failP1(p1, notify, reason);
      throw e;
    }
    const out: Payload[] = [...this.authPayloads(p1, true)];
    if (nat) out.push(...this.natdPayloads(p1));
    if (this.wantInitialContact(p1)) out.push(this.initialContactNotify(p1));
    this.checkOut(AGGRESSIVE_MODE[2]!, out);
    if (nat) {
      this.setNat(p1, nat);
      // RFC 3947 §4: in Aggressive Mode the initiator floats with AM3
      if (p1.natt) this.float(p1);
    }
    p1.lastRecv = this.fp(bytes);
    p1.step = 3;
    // AM3 is drawn in clear in RFC 2409 §5, but keys exist by now and strongSwan (among others)
    // requires HASH_I/SIG_I encrypted: HDR*, HASH_I with IV = hash(g^xi | g^xr). (As responder we
    // accept both forms.)
    const enc = this.encodeEncrypted(p1, ExchangeType.AGGRESSIVE, 0, 0, out, p1.iv!);
    this.setIv(p1, enc.nextIv);
    this.clearRetransmit(p1);
    p1.lastSent = enc.bytes;
    this.send(p1.local, p1.remote, enc.bytes);
    this.established(now, p1, payloads);
  }

  /** Responder: HDR, HASH_I --> ; established. */
  private amR3(now: number, p1: P1, payloads: readonly Payload[], nextIv: Uint8Array | undefined, bytes: Uint8Array): void {
    const hs = p1.hs!;
    this.verifyAuth(p1, payloads, hs.peerIdB!, true, hs.peerId!);
    const nat = this.checkNatd(p1, payloads);
    if (nat) {
      this.setNat(p1, nat);
      this.authedFrom(p1, true);
    }
    if (nextIv) this.setIv(p1, nextIv);
    p1.lastRecv = this.fp(bytes);
    p1.step = 3;
    // a notify in a clear AM3 is not covered by HASH_I: act on INITIAL-CONTACT only when encrypted
    this.established(now, p1, nextIv ? payloads : []);
  }

  private checkNonce(n: Uint8Array): void {
    if (n.length < 8 || n.length > 256) throw remote(NotifyType.PAYLOAD_MALFORMED, `nonce of ${n.length} bytes`);
  }

  private checkPhase1IdPayload(id: IdPayload): void {
    // RFC 2407 §4.6.2: protocol/port 0, or UDP/500 (strongSwan and others send 17/500)
    const portOk = (id.protocol === 0 && id.port === 0) || (id.protocol === 17 && (id.port === 500 || id.port === 4500 || id.port === 0));
    if (!portOk) throw remote(NotifyType.INVALID_ID_INFORMATION, `phase-1 ID with protocol ${id.protocol} port ${id.port}`);
    if (id.idType === IdType.ID_DER_ASN1_DN && !isWellFormedDerSequence(id.data)) throw remote(NotifyType.INVALID_ID_INFORMATION, 'malformed DER distinguished name');
  }

  /** SKEYID family, the phase-1 encryption key and the first phase-1 IV. */
  private deriveKeys(p1: P1, gxy: Uint8Array): void {
    const hs = p1.hs!;
    const prf = p1.prf!;
    const cipher = p1.cipher!;
    const skeyid = p1.conn.auth === 'psk'
      ? C.deriveSkeyid({ prf, method: 'psk', psk: p1.conn.psk!, nonceI: hs.ni!, nonceR: hs.nr! })
      : C.deriveSkeyid({ prf, method: 'sig', gxy, nonceI: hs.ni!, nonceR: hs.nr! });
    const k = C.derivePhase1Keys({ prf, skeyid, gxy, ckyI: p1.ic, ckyR: p1.rc });
    hs.skeyid = skeyid;
    const encKey = C.deriveEncryptionKey(prf, k.skeyidE, cipher.keyLength);
    const iv = C.phase1Iv(prf, hs.gxi!, hs.gxr!, cipher.blockSize);
    // What the SA keeps for its lifetime (cookies, SKEYID_d, SKEYID_a, the encryption key, the
    // phase-1 IV) lives in ONE buffer, the fields being views of it: a handful of heap objects
    // per SA instead of three per byte array, and one off-heap allocation instead of one per
    // array handed to OpenSSL. The IV moves on in place (setIv).
    const block = new Uint8Array(p1.ic.length + p1.rc.length + k.skeyidD.length + k.skeyidA.length + encKey.length + iv.length);
    let o = 0;
    const put = (b: Uint8Array): Uint8Array => {
      block.set(b, o);
      o += b.length;
      return block.subarray(o - b.length, o);
    };
    p1.ic = put(p1.ic);
    p1.rc = put(p1.rc);
    p1.skeyidD = put(k.skeyidD);
    p1.skeyidA = put(k.skeyidA);
    p1.encKey = put(encKey);
    p1.iv = put(iv);
    C.wipe(k.skeyidD, k.skeyidA, k.skeyidE, encKey, gxy);
  }

  /** The phase-1 IV moves on: copied into the SA's key block (see deriveKeys). */
  private setIv(p1: P1, iv: Uint8Array): void {
    const cur = p1.iv;
    if (cur && cur.length === iv.length) cur.set(iv);
    else p1.iv = iv;
  }

  private hashFor(p1: P1, initiator: boolean, idB: Uint8Array): Uint8Array {
    const hs = p1.hs!;
    return initiator
      ? C.hashI({ prf: p1.prf!, skeyid: hs.skeyid!, gxi: hs.gxi!, gxr: hs.gxr!, ckyI: p1.ic, ckyR: p1.rc, saIBody: hs.saiB!, idIBody: idB })
      : C.hashR({ prf: p1.prf!, skeyid: hs.skeyid!, gxi: hs.gxi!, gxr: hs.gxr!, ckyI: p1.ic, ckyR: p1.rc, saIBody: hs.saiB!, idRBody: idB });
  }

  /** Our HASH_x or [CERT,] SIG_x payloads. */
  private authPayloads(p1: P1, initiator: boolean): Payload[] {
    const h = this.hashFor(p1, initiator, p1.hs!.ourIdB!);
    if (p1.conn.auth === 'psk') return [{ type: 'HASH', data: h }];
    const rsa = p1.conn.rsa!;
    const out: Payload[] = [];
    if (rsa.certificate) {
      out.push({ type: 'CERT', encoding: CertEncoding.X509_SIGNATURE, data: rsa.certificate });
      for (const c of rsa.chain ?? []) out.push({ type: 'CERT', encoding: CertEncoding.X509_SIGNATURE, data: c });
    }
    out.push({ type: 'SIG', data: C.rsaSignHash(rsa.privateKey, h) });
    return out;
  }

  /** Checks the peer's ID against the connection and its HASH/SIG (MM5/MM6/AM2). */
  private verifyPeer(p1: P1, id: IdPayload, payloads: readonly Payload[], peerIsInitiator: boolean): void {
    this.checkPhase1IdPayload(id);
    const hs = p1.hs!;
    const conn = p1.conn;
    // Main Mode PSK: the connection was chosen by address; now the ID must match it.
    let ok = identityMatches(expectedPeerId(conn, p1.remote.address), id.idType, id.data);
    if (!ok && p1.role === 'responder' && hs.candidates) {
      // another connection with the same credentials may fit this identity; the phase-1 transform
      // chosen at message 1 must be one that connection accepts too (issue 9.5)
      let refusedTransform: Connection | undefined;
      for (const c of hs.candidates) {
        if (c === conn || !sameCredentials(conn, c)) continue;
        if (!identityMatches(expectedPeerId(c, p1.remote.address), id.idType, id.data)) continue;
        if (!ikeChosenAllowed(p1.chosen!, c.ike, authMethodOf(c.auth), c.allowWeakGroups ?? false)) {
          refusedTransform ??= c;
          continue;
        }
        p1.conn = c;
        ok = true;
        break;
      }
      if (!ok && refusedTransform) {
        throw remote(NotifyType.NO_PROPOSAL_CHOSEN, `peer identity belongs to connection ${refusedTransform.name}, which does not accept the phase-1 transform chosen`);
      }
    }
    if (!ok) throw remote(NotifyType.INVALID_ID_INFORMATION, 'peer identity does not match the connection');
    const idB = encodePayloadBody(id);
    this.verifyAuth(p1, payloads, idB, peerIsInitiator, id);
    p1.peerId = idToIdentity(id.idType, id.data);
  }

  private verifyAuth(p1: P1, payloads: readonly Payload[], peerIdB: Uint8Array, peerIsInitiator: boolean, id: { idType: number; data: Uint8Array }): void {
    const expected = this.hashFor(p1, peerIsInitiator, peerIdB);
    if (p1.conn.auth === 'psk') {
      const h = find(payloads, 'HASH');
      if (!h || find(payloads, 'SIG')) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PSK authentication needs one HASH payload');
      if (!C.verifyHash(expected, h.data)) throw remote(NotifyType.AUTHENTICATION_FAILED, peerIsInitiator ? 'HASH_I does not verify' : 'HASH_R does not verify');
      return;
    }
    const sig = find(payloads, 'SIG');
    if (!sig || find(payloads, 'HASH')) throw remote(NotifyType.PAYLOAD_MALFORMED, 'signature authentication needs one SIG payload');
    const key = this.peerPublicKey(p1, payloads, id);
    C.rsaVerifyHash(key, expected, sig.data);
  }

  /**
   * The peer's RSA key: from its CERT payloads (leaf first) chained to a configured trust anchor,
   * the certificate naming the ID the peer sent; or the configured public key when no CERT came.
   */
  private peerPublicKey(p1: P1, payloads: readonly Payload[], id: { idType: number; data: Uint8Array }): KeyObject {
    const rsa = p1.conn.rsa!;
    const certs = findAll(payloads, 'CERT');
    if (certs.length === 0) {
      if (rsa.peerPublicKey) return rsa.peerPublicKey;
      throw remote(NotifyType.CERTIFICATE_UNAVAILABLE, 'no certificate from the peer and no configured public key');
    }
    for (const c of certs) {
      if (c.encoding !== CertEncoding.X509_SIGNATURE) throw remote(NotifyType.CERT_TYPE_UNSUPPORTED, `certificate encoding ${c.encoding}`);
    }
    if (!rsa.trusted || rsa.trusted.length === 0) throw remote(NotifyType.INVALID_CERT_AUTHORITY, 'no trust anchors configured');
    const chain = C.verifyCertificateChain({ certificates: certs.map((c) => c.data), trustAnchors: rsa.trusted, now: this.certTime(this.lastNow) });
    if (!C.certificateMatchesId(chain.leaf, id.idType, id.data)) throw remote(NotifyType.INVALID_ID_INFORMATION, 'peer ID is not in its certificate');
    return chain.publicKey;
  }

  /** INITIAL-CONTACT only when we hold nothing else with this peer (never on a rekey). */
  private wantInitialContact(p1: P1): boolean {
    // sent by the initiator only (as strongSwan does), never on a rekey
    if (p1.role !== 'initiator' || p1.conn.initialContact === false || p1.rekeyOf) return false;
    for (const o of bucket(this.p1ByPair, p1.pairKey)) if (o !== p1 && o.state === 'established') return false;
    if (this.childByPair.has(p1.pairKey)) return false;
    return true;
  }

  private initialContactNotify(p1: P1): NotifyPayload {
    return { type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.INITIAL_CONTACT, spi: cookiePair(p1), data: new Uint8Array(0) };
  }

  /** Phase 1 done: events, lifetime timers, handshake material wiped, pending Quick Modes started. */
  private established(now: number, p1: P1, payloads: readonly Payload[]): void {
    p1.state = 'established';
    this.clearHalfOpen(p1);
    if (!this.admitPeer(now, p1)) return;
    if (p1.role === 'initiator') {
      this.clearRetransmit(p1);
      p1.lastSent = undefined; // nothing of ours to repeat; lastRecv stays to ignore repeats
    }
    const hs = p1.hs;
    if (hs) {
      hs.dh?.wipe();
      C.wipe(hs.skeyid, hs.ni, hs.nr);
    }
    p1.hs = undefined;
    p1.establishedAt = now;
    if (this.bestP1Memo.size !== 0) this.bestP1Memo.clear();
    const life = p1.chosen!.lifetimeSeconds * 1000;
    p1.expiresAt = now + life;
    p1.tHard = this.timers.add(p1.expiresAt, p1, Tk.P1Hard);
    if (p1.role === 'initiator' && p1.conn.rekey !== false) {
      p1.tSoft = this.timers.add(now + life - this.rekeyMargin(p1.conn, life), p1, Tk.P1Soft);
    }
    // INITIAL-CONTACT inside the authenticated exchange: forget older SAs with this peer.
    const ic = findAll(payloads, 'N').some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
    if (ic && !p1.rekeyOf) this.initialContact(p1);
    const info = this.p1Info(p1);
    this.emit({
      type: 'phase1-established',
      sa: info,
      peerId: p1.peerId,
      transform: p1.chosen!,
      lifetimeSeconds: p1.chosen!.lifetimeSeconds,
      keyLog: { initiatorCookie: p1.ic, responderCookie: p1.rc, encryptionKey: p1.encKey!, encryption: p1.chosen!.encryption },
    });
    const old = p1.rekeyOf;
    if (old) {
      p1.rekeyOf = undefined;
      this.emit({ type: 'rekeyed', kind: 'isakmp', old: this.p1Id(old), sa: info.id });
      if (old.state === 'established') this.sendDeleteP1(now, old);
      this.removeP1(old, { type: 'deleted', kind: 'isakmp', id: this.p1Id(old), connection: old.conn.name, by: 'local' }, now);
    }
    const pending = p1.pending;
    p1.pending = NO_PENDING;
    for (const q of pending) this.startQuick(now, p1, q);
  }

  /**
   * The per-peer caps at establishment (issue 9.6). Past the per-identity cap the oldest duplicate
   * (same identity, same address and port) is replaced; without one, or past the per-address cap,
   * the new SA is refused: deleted at once, with a `dropped` event that names the cap.
   */
  private admitPeer(now: number, p1: P1): boolean {
    const key = peerKeyOf(p1);
    const same = bucketView(this.p1ByPeerKey, key);
    let refusal: string | undefined;
    if (bucketSize(this.p1ByPeerKey, key) >= this.opt.maxIsakmpSasPerIdentity) {
      let oldest: P1 | undefined;
      for (const o of same) if (sameAddressPort(o.remote, p1.remote) && (!oldest || (o.establishedAt ?? 0) < (oldest.establishedAt ?? 0))) oldest = o;
      if (oldest) {
        this.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'PEER_SA_LIMIT', reason: `peer ${peerText(p1.peerId)} holds ${this.opt.maxIsakmpSasPerIdentity} ISAKMP SAs (max_isakmp_sas_per_identity): the oldest is replaced` });
        this.sendDeleteP1(now, oldest);
        this.removeP1(oldest, { type: 'deleted', kind: 'isakmp', id: this.p1Id(oldest), connection: oldest.conn.name, by: 'local' });
      } else {
        refusal = `peer ${peerText(p1.peerId)} holds ${this.opt.maxIsakmpSasPerIdentity} ISAKMP SAs (max_isakmp_sas_per_identity)`;
      }
    }
    if (!refusal && (this.p1sOfAddress.get(p1.remote.address) ?? 0) >= this.opt.maxIsakmpSasPerAddress) {
      refusal = `address ${p1.remote.address} holds ${this.opt.maxIsakmpSasPerAddress} ISAKMP SAs (max_isakmp_sas_per_address)`;
    }
    if (refusal) {
      this.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'PEER_SA_LIMIT', reason: `${refusal}: the new ISAKMP SA is refused` });
      this.sendDeleteP1(now, p1);
      this.destroyP1(p1);
      return false;
    }
    p1.peerKey = key;
    addTo(this.p1ByPeerKey, key, p1);
    this.p1sOfAddress.set(p1.remote.address, (this.p1sOfAddress.get(p1.remote.address) ?? 0) + 1);
    return true;
  }

  private rekeyMargin(conn: Connection, lifeMs: number): number {
    const margin = conn.rekeyMarginSeconds !== undefined ? conn.rekeyMarginSeconds * 1000 : Math.min(lifeMs / 10, 540_000);
    const fuzz = (conn.rekeyFuzzPercent ?? 100) / 100;
    const r = this.random(2);
    const jitter = margin * fuzz * (((r[0]! << 8) | r[1]!) / 65536);
    return Math.min(lifeMs * 0.9, margin + jitter);
  }

  /**
   * INITIAL-CONTACT (RFC 2407 §4.6.3.3) deletes the SAs "with the sender": between the same
   * addresses, of the same authenticated identity proved with the same credentials, and behind a
   * NAT (UDP encapsulation) of the same port only: two users behind one NAT, or a peer holding
   * weaker credentials, never tear down each other's SAs (issue 9.2).
   */
  private initialContact(p1: P1): void {
    for (const other of bucket(this.p1ByPair, p1.pairKey)) {
      if (other === p1 || other.state !== 'established' || !this.sameSender(p1, other.conn, other.peerId, other.remote)) continue;
      this.removeP1(other, { type: 'deleted', kind: 'isakmp', id: this.p1Id(other), connection: other.conn.name, by: 'peer' });
    }
    for (const c of bucket(this.childByPair, p1.pairKey)) {
      if (this.sameSender(p1, c.conn, c.peer, c.info.remote)) this.removeChild(c, 'peer');
    }
  }

  /** An SA (its connection, the peer identity it was negotiated with, its peer address) belongs to the peer of `p1`. */
  private sameSender(p1: P1, conn: Connection, peer: PeerIdentity | undefined, remoteAddr: Address): boolean {
    if (!sameCredentials(p1.conn, conn) || !samePeerIdentity(p1.peerId, peer)) return false;
    return !p1.natt || remoteAddr.port === p1.remote.port;
  }

  // ------------------------------------------------------------------------------ quick mode

  private freshSpi(): Uint8Array {
    for (;;) {
      const s = this.random(4);
      if (s[0] === 0 && s[1] === 0 && s[2] === 0) continue; // 0..255 reserved (RFC 2408 §3.5 / IANA)
      if (!this.bySpi.has(spiKey(s))) return s;
    }
  }

  private freshMsgId(p1: P1): number {
    for (;;) {
      const id = readU32(this.random(4));
      if (this.msgIdFree(p1, id)) return id;
    }
  }

  private msgIdFree(p1: P1, id: number): boolean {
    return id !== 0 && !p1.qms?.has(id) && this.doneFor(p1, id) === undefined;
  }

  /**
   * An SPI for an SA to our address `local`: a reserved one from `allocateSpi` when it gives one,
   * else 4 bytes of a batch of randomness (a copy), or a fresh draw if those are unusable.
   */
  private spiFrom(r: Uint8Array, off: number, local: string): Uint8Array {
    const k = this.allocateSpi?.(local);
    if (k !== undefined && k.length === 4 && !(k[0] === 0 && k[1] === 0 && k[2] === 0) && !this.bySpi.has(spiKey(k))) return k;
    const s = new Uint8Array(r.subarray(off, off + 4));
    if ((s[0] === 0 && s[1] === 0 && s[2] === 0) || this.bySpi.has(spiKey(s))) return this.freshSpi();
    return s;
  }

  /** A DH key pair from one draw of randomness; the drawn private bytes are wiped once copied. */
  private keyPair(group: number): DhKeyPair {
    const x = this.random(C.dhPrivateKeyLength(group));
    const dh = C.dhKeyPair(group, x);
    x.fill(0);
    return dh;
  }

  /** A DH key pair and a nonce from ONE draw of the injected randomness (the DH part is wiped). */
  private keAndNonce(group: number): { dh: DhKeyPair; nonce: Uint8Array } {
    const dl = C.dhPrivateKeyLength(group);
    const r = this.random(dl + this.opt.nonceLength);
    const x = r.subarray(0, dl);
    const dh = C.dhKeyPair(group, x);
    x.fill(0);
    return { dh, nonce: r.subarray(dl) };
  }

  private defaultTs(conn: Connection, p1: P1): { local: Selector; remote: Selector } {
    return {
      local: conn.localTs ?? hostSelector(p1.local.address),
      remote: conn.remoteTs ?? hostSelector(p1.remote.address),
    };
  }

  /** Initiator: HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] --> */
  private startQuick(now: number, p1: P1, pending: PendingQm): void {
    const conn = this.conns.get(pending.conn.name) ?? pending.conn;
    // one draw of randomness: message ID | Ni | our SPIs
    let nSpis = 0;
    for (const p of conn.ipsec) nSpis += p.protocols.length;
    const nl = this.opt.nonceLength;
    const r = this.random(4 + nl + 4 * nSpis);
    let msgId = readU32(r);
    if (!this.msgIdFree(p1, msgId)) msgId = this.freshMsgId(p1);
    const ts = pending.rekeyOf ? { local: pending.rekeyOf.info.localTs, remote: pending.rekeyOf.info.remoteTs } : this.defaultTs(conn, p1);
    const qm = newQm(p1, msgId, 'initiator', conn, C.phase2Iv(p1.prf!, p1.iv!, msgId, p1.cipher!.blockSize), 1, r.subarray(4, 4 + nl), ts.local, ts.remote, conn.commit === true);
    qm.rekeyOf = pending.rekeyOf;
    let off = 4 + nl;
    qm.ourSpis = conn.ipsec.map((p) => p.protocols.map(() => this.spiFrom(r, (off += 4) - 4, p1.local.address)));
    // reserve our SPIs until the SA exists or the exchange fails
    qm.offer = buildIpsecSa(this.ipsecOf(p1, conn), qm.ourSpis);
    const group = conn.ipsec[0]!.group ?? 0;
    const rest: Payload[] = [qm.offer, { type: 'NONCE', data: qm.ni }];
    if (group) {
      qm.dh = this.keyPair(group);
      rest.push({ type: 'KE', data: qm.dh.publicKey });
    }
    const idci = selectorToId(qm.localTs);
    const idcr = selectorToId(qm.remoteTs);
    rest.push(
      { type: 'ID', idType: idci.idType, protocol: idci.protocol, port: idci.port, data: idci.data },
      { type: 'ID', idType: idcr.idType, protocol: idcr.protocol, port: idcr.port, data: idcr.data },
    );
    // RFC 3947 §5.2: the original addresses when UDP-encapsulated transport mode is offered
    if (p1.natt && this.ipsecOf(p1, conn).some((p) => p.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT)) {
      rest.push(...natOaPayloads(p1.local.address, p1.remote.address));
    }
    // HASH(1) | SA ... encoded once, the hash filled in afterwards (a scratch view: used at once)
    const room = 4 + C.prfLength(p1.prf!);
    const plain = encodePayloadsScratch(rest, room);
    const h1 = C.quickModeHash1({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: msgId, afterHash: plain.subarray(room) });
    this.checkOut(QUICK_MODE[0]!, [{ type: 'HASH', data: h1 }, ...rest]);
    putHashFirst(plain, h1, PayloadType.SA);
    const flags = HeaderFlag.ENCRYPTION | (qm.commit ? HeaderFlag.COMMIT : 0);
    const enc = this.encryptRaw(p1, ExchangeType.QUICK_MODE, msgId, flags, PayloadType.HASH, plain, qm.iv);
    qm.iv = enc.nextIv;
    (p1.qms ??= new Map()).set(msgId, qm);
    qm.lastSent = enc.bytes;
    qm.rtx = { count: 0, timer: this.timers.add(now + this.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
    qm.tTimeout = this.timers.add(now + this.qmTimeout(), qm, Tk.QmTimeout);
    this.send(p1.local, p1.remote, enc.bytes);
  }

  private onQuick(now: number, p1: P1, h: Header, bytes: Uint8Array): void {
    if (!(h.flags & HeaderFlag.ENCRYPTION)) throw remote(NotifyType.INVALID_FLAGS, 'Quick Mode must be encrypted');
    if (h.messageId === 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'Quick Mode with message ID 0');
    this.phase1Confirmed(p1);
    const qm = p1.qms?.get(h.messageId);
    if (qm) {
      if (qm.lastRecv !== undefined && qm.lastRecv === this.fp(bytes)) {
        if (qm.lastSent && qm.role === 'responder') this.send(qm.replyTo?.local ?? p1.local, qm.replyTo?.remote ?? p1.remote, qm.lastSent);
        return;
      }
      if (qm.role === 'initiator') {
        if (qm.step === 1) this.qmI2(now, qm, h, bytes);
        else if (qm.step === 3) this.qmI4(now, qm, bytes);
        else throw remote(NotifyType.INVALID_MESSAGE_ID, 'unexpected Quick Mode message');
      } else {
        if (qm.step === 2) this.qmR3(now, qm, bytes);
        else throw remote(NotifyType.INVALID_MESSAGE_ID, 'unexpected Quick Mode message');
      }
      return;
    }
    const done = this.doneFor(p1, h.messageId);
    if (done) {
      if (done.sent && done.recv === this.fp(bytes)) this.send(p1.local, p1.remote, done.sent);
      return;
    }
    this.checkFreshMsgId(p1, h.messageId);
    this.qmR1(now, p1, h, bytes);
  }

  /** A recently finished Quick Mode of this SA (see P1.done / doneId). */
  private doneFor(p1: P1, msgId: number): { recv?: number; sent?: Uint8Array } | undefined {
    if (p1.doneId === msgId) return { recv: p1.doneRecv, sent: p1.doneSent };
    return p1.done?.find((d) => d.msgId === msgId);
  }

  /** Refuses a message ID the peer used before under this SA, or one past the SA's budget. */
  private checkFreshMsgId(p1: P1, msgId: number): void {
    if (wasSeen(p1, msgId)) throw remote(NotifyType.INVALID_MESSAGE_ID, 'message ID already used (replay)');
    if (seenTotal(p1) >= this.opt.messageIdBudget) throw new Refused('MESSAGE_ID_BUDGET', 'message-ID budget of this ISAKMP SA used up (it is being replaced)');
  }

  /** After an exchange the peer started: near the message-ID budget the SA is replaced (see replay.ts). */
  private retireIfSpent(now: number, p1: P1): void {
    if (seenTotal(p1) < this.opt.messageIdBudget - 16 || p1.state !== 'established') return;
    if (p1.replacedBy && p1.replacedBy.state !== 'dead') return;
    this.retireP1(now, p1);
  }

  /**
   * An ISAKMP SA that must be replaced before its lifetime ends (message-ID budget): the
   * initiator rekeys it; the responder deletes it (the peer negotiates a new one when it needs
   * one; IPsec SAs live on).
   */
  private retireP1(now: number, p1: P1): void {
    this.emit({ type: 'expired', kind: 'isakmp', id: this.p1Id(p1), connection: p1.conn.name, hard: false });
    if (p1.role === 'initiator' && p1.conn.rekey !== false && this.conns.has(p1.conn.name)) {
      this.rekeyP1(now, p1);
      return;
    }
    this.sendDeleteP1(now, p1);
    this.removeP1(p1, { type: 'deleted', kind: 'isakmp', id: this.p1Id(p1), connection: p1.conn.name, by: 'local' });
  }

  /**
   * A message under the ISAKMP SA from the peer shows that phase 1 is complete on its side too:
   * the last phase-1 message need not be kept for retransmission any longer.
   */
  private phase1Confirmed(p1: P1): void {
    if (p1.lastRecv !== undefined && p1.state === 'established') {
      p1.lastRecv = undefined;
      p1.lastSent = undefined;
    }
  }

  /** Responder: HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] --> ; then <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] */
  private qmR1(now: number, p1: P1, h: Header, bytes: Uint8Array): void {
    if ((p1.qms?.size ?? 0) >= this.opt.maxQuickModesPerSa) throw new Refused('QUICK_MODE_LIMIT', `too many Quick Modes in progress on this ISAKMP SA (max_quick_modes_per_sa ${this.opt.maxQuickModesPerSa})`);
    if (p1.peerKey !== undefined && (this.childrenOfPeer.get(p1.peerKey) ?? 0) >= this.opt.maxIpsecSasPerIdentity) {
      throw new Refused('PEER_SA_LIMIT', `peer ${peerText(p1.peerId)} holds ${this.opt.maxIpsecSasPerIdentity} IPsec SAs (max_ipsec_sas_per_identity)`);
    }
    const iv = C.phase2Iv(p1.prf!, p1.iv!, h.messageId, p1.cipher!.blockSize);
    const { payloads, plain, nextIv } = this.decrypt(p1, iv, bytes);
    if (payloads[0]?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'Quick Mode must start with HASH(1)');
    const expected = C.quickModeHash1({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: h.messageId, afterHash: afterFirstPayload(plain) });
    if (!C.verifyHash(expected, payloads[0].data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(1) does not verify');
    // authentic, but a first message proves no freshness: answered where it came from, the SA
    // moves only when HASH(3) completes the exchange (qmR3)
    this.authedFrom(p1, false);
    // authenticated from here on: errors are answered under the ISAKMP SA
    markSeen(p1, h.messageId);
    try {
      checkMessage(QUICK_MODE[0]!, payloads);
      this.qmRespond(now, p1, h, bytes, payloads, nextIv);
    } catch (e) {
      const { notify } = errorOf(e);
      if (isErrorNotify(notify)) this.sendInfo(now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: cookiePair(p1), data: new Uint8Array(0) }]);
      throw e;
    }
  }

  private qmRespond(now: number, p1: P1, h: Header, bytes: Uint8Array, payloads: readonly Payload[], iv: Uint8Array): void {
    const sa = find(payloads, 'SA')!;
    const ni = find(payloads, 'NONCE')!;
    const ke = find(payloads, 'KE');
    const ids = findAll(payloads, 'ID');
    this.checkNonce(ni.data);
    if (ids.length === 1) throw remote(NotifyType.PAYLOAD_MALFORMED, 'Quick Mode needs both IDci and IDcr or neither');
    // candidate connections: this ISAKMP SA's connection first, then others for the same peer
    const current = this.conns.get(p1.conn.name) ?? p1.conn;
    // (the others are listed only if the current one does not fit: it nearly always does)
    let candidates = [current];
    let peerTs: Selector;
    let ourTs: Selector;
    if (ids.length === 2) {
      const ci = idToSelector(ids[0]!);
      const cr = idToSelector(ids[1]!);
      if (!ci || !cr) throw remote(NotifyType.INVALID_ID_INFORMATION, 'Quick Mode IDs must be addresses, subnets or ranges');
      peerTs = ci;
      ourTs = cr;
    } else {
      peerTs = hostSelector(p1.remote.address);
      ourTs = hostSelector(p1.local.address);
    }
    let conn: Connection | undefined;
    let sel: IpsecSelection | undefined;
    let err: unknown;
    let listed = false;
    for (let i = 0; ; i++) {
      if (i === candidates.length) {
        if (listed) break;
        listed = true;
        // only connections whose credentials and identities the peer proved in this ISAKMP SA (issue 9.1)
        const addrs = { local: p1.local.address, remote: p1.remote.address };
        candidates = [current, ...this.connsFor(p1.remote.address).filter((o) => o.name !== p1.conn.name && provedFor(p1.conn, p1.peerId, o, addrs))];
        if (i === candidates.length) break;
      }
      const c = candidates[i]!;
      const ts = this.defaultTs(c, p1);
      if (!selectorWithin(peerTs, ts.remote) || !selectorWithin(ourTs, ts.local)) {
        err ??= remote(NotifyType.INVALID_ID_INFORMATION, 'traffic selectors outside the connection');
        continue;
      }
      try {
        sel = selectIpsec(sa, this.ipsecOf(p1, c), c.allowWeakGroups ?? false, c.preferOwnOrder ?? false);
        conn = c;
        break;
      } catch (e) {
        if (!err || (err instanceof IsakmpError && err.notify === NotifyType.INVALID_ID_INFORMATION)) err = e;
      }
    }
    if (!conn || !sel) throw err ?? remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IPsec proposal');
    if (sel.group && !ke) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PFS proposal chosen but no KE payload');
    if (!sel.group && ke) throw remote(NotifyType.INVALID_KEY_INFORMATION, 'KE payload without a PFS group');
    const qm = newQm(p1, h.messageId, 'responder', conn, iv, 2, new Uint8Array(ni.data), ourTs, peerTs, (h.flags & HeaderFlag.COMMIT) !== 0);
    if (this.replyVia?.p1 === p1) qm.replyTo = this.replyVia;
    // one draw of randomness: Nr | our SPIs
    const nl = this.opt.nonceLength;
    const r = this.random(nl + 4 * sel.entries.length);
    qm.nr = r.subarray(0, nl);
    qm.selection = sel;
    const rest: Payload[] = [];
    qm.respSpis = sel.entries.map((_, j) => this.spiFrom(r, nl + 4 * j, p1.local.address));
    rest.push(buildIpsecAnswer(sel, qm.respSpis), { type: 'NONCE', data: qm.nr! });
    if (sel.group) {
      qm.dh = this.keyPair(sel.group);
      qm.gxy = qm.dh.computeSharedSecret(ke!.data); // INVALID_KEY_INFORMATION on a bad value
      rest.push({ type: 'KE', data: qm.dh.publicKey });
    }
    if (ids.length === 2) rest.push(ids[0]!, ids[1]!);
    // RFC 3947 §5.2: the initiator's address as we see it and ours, only for UDP-encapsulated transport
    const oa = readNatOa(findAll(payloads, 'NAT-OA'));
    if (sel.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT) {
      qm.peerOa = oa?.initiator;
      rest.push(...natOaPayloads(p1.remote.address, p1.local.address));
    }
    if (sel.shortened) {
      const attrs = [tvAttr(1, 1), durationAttr(2, sel.lifetimeSeconds)];
      if (sel.lifetimeKilobytes) attrs.push(tvAttr(1, 2), durationAttr(2, sel.lifetimeKilobytes));
      const data = encodeAttrs(attrs);
      const e0 = sel.entries[0]!;
      rest.push({ type: 'N', doi: 1, protocol: e0.protocol, notifyType: NotifyType.RESPONDER_LIFETIME, spi: e0.peerSpi, data });
    }
    const room = 4 + C.prfLength(p1.prf!);
    const plain = encodePayloadsScratch(rest, room); // scratch view: hashed and encrypted at once
    const h2 = C.quickModeHash2({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, afterHash: plain.subarray(room) });
    this.checkOut(QUICK_MODE[1]!, [{ type: 'HASH', data: h2 }, ...rest]);
    putHashFirst(plain, h2, PayloadType.SA);
    const enc = this.encryptRaw(p1, ExchangeType.QUICK_MODE, qm.msgId, HeaderFlag.ENCRYPTION, PayloadType.HASH, plain, qm.iv);
    qm.iv = enc.nextIv;
    qm.lastRecv = this.fp(bytes);
    qm.lastSent = enc.bytes;
    (p1.qms ??= new Map()).set(qm.msgId, qm);
    // the peer is authenticated: retransmitting HASH(2) until HASH(3) arrives amplifies nothing
    qm.rtx = { count: 0, timer: this.timers.add(now + this.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
    qm.tTimeout = this.timers.add(now + this.qmTimeout(), qm, Tk.QmTimeout);
    this.send(p1.local, p1.remote, enc.bytes);
  }

  /** Initiator: <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] ; then HDR*, HASH(3) --> */
  private qmI2(now: number, qm: Qm, h: Header, bytes: Uint8Array): void {
    const p1 = qm.p1;
    const { payloads, plain, nextIv } = this.decrypt(p1, qm.iv, bytes);
    if (payloads[0]?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'Quick Mode must start with HASH(2)');
    const expected = C.quickModeHash2({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, afterHash: afterFirstPayload(plain) });
    if (!C.verifyHash(expected, payloads[0].data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(2) does not verify');
    this.authedFrom(qm.p1, true);
    try {
      checkMessage(QUICK_MODE[1]!, payloads);
      const sa = find(payloads, 'SA')!;
      const nr = find(payloads, 'NONCE')!;
      this.checkNonce(nr.data);
      const sel = checkIpsecAnswer(sa, qm.offer!, this.ipsecOf(qm.p1, qm.conn), qm.conn.allowWeakGroups ?? false);
      const ke = find(payloads, 'KE');
      if (qm.dh) {
        if (!ke) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PFS answer without KE');
        qm.gxy = qm.dh.computeSharedSecret(ke.data);
      } else if (ke) throw remote(NotifyType.INVALID_KEY_INFORMATION, 'KE without PFS');
      const ids = findAll(payloads, 'ID');
      if (ids.length === 2) {
        const ci = idToSelector(ids[0]!);
        const cr = idToSelector(ids[1]!);
        if (!ci || !cr || !selectorEquals(ci, qm.localTs) || !selectorEquals(cr, qm.remoteTs)) {
          throw remote(NotifyType.INVALID_ID_INFORMATION, 'answer changes the traffic selectors');
        }
      } else if (ids.length !== 0) throw remote(NotifyType.PAYLOAD_MALFORMED, 'one ID payload in the answer');
      let life = sel.lifetimeSeconds;
      let kb = sel.lifetimeKilobytes;
      for (const n of findAll(payloads, 'N')) {
        if (n.notifyType === NotifyType.RESPONDER_LIFETIME) {
          const l = parseLifetimeData(n.data);
          if (l.seconds) life = Math.min(life, l.seconds);
          if (l.kilobytes) kb = kb ? Math.min(kb, l.kilobytes) : l.kilobytes;
        }
      }
      const oa = readNatOa(findAll(payloads, 'NAT-OA'));
      if (sel.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT) qm.peerOa = oa?.responder;
      qm.selection = sel;
      qm.nr = new Uint8Array(nr.data);
      qm.lifeSeconds = life;
      qm.lifeKilobytes = kb;
    } catch (e) {
      const { notify, reason } = errorOf(e);
      if (isErrorNotify(notify)) this.sendInfo(now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: cookiePair(p1), data: new Uint8Array(0) }]);
      this.failQm(qm, notify, reason);
      throw e;
    }
    const h3 = C.quickModeHash3({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, nonceR: qm.nr });
    this.checkOut(QUICK_MODE[2]!, [{ type: 'HASH', data: h3 }]);
    const enc = this.encryptRaw(p1, ExchangeType.QUICK_MODE, qm.msgId, HeaderFlag.ENCRYPTION | (qm.commit ? HeaderFlag.COMMIT : 0), PayloadType.HASH, hashFirst(h3, 0, new Uint8Array(0)), nextIv);
    qm.iv = enc.nextIv;
    qm.lastRecv = this.fp(bytes);
    qm.lastSent = enc.bytes;
    this.send(p1.local, p1.remote, enc.bytes);
    // the commit bit from either side: the SA is used only after CONNECTED (RFC 2408 §3.1)
    if ((h.flags & HeaderFlag.COMMIT) !== 0) qm.commit = true;
    if (qm.commit) {
      // wait for CONNECTED; HASH(3) is resent when HASH(2) is repeated
      qm.step = 3;
      this.clearQmRetransmit(qm);
      qm.rtx = { count: 0, timer: this.timers.add(now + this.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
      return;
    }
    this.qmDone(now, qm);
  }

  /** Responder: HDR*, HASH(3) --> ; [then <-- HDR*, HASH(4), N(CONNECTED)] ; SA installed. */
  private qmR3(now: number, qm: Qm, bytes: Uint8Array): void {
    const p1 = qm.p1;
    const { payloads, nextIv } = this.decrypt(p1, qm.iv, bytes);
    checkMessage(QUICK_MODE[2]!, payloads);
    const expected = C.quickModeHash3({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, nonceR: qm.nr! });
    if (!C.verifyHash(expected, (payloads[0] as { data: Uint8Array }).data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(3) does not verify');
    this.authedFrom(qm.p1, true);
    qm.iv = nextIv;
    qm.lastRecv = this.fp(bytes);
    qm.lastSent = undefined;
    if (qm.commit) {
      const n: NotifyPayload = { type: 'N', doi: 1, protocol: qm.selection!.entries[0]!.protocol, notifyType: NotifyType.CONNECTED, spi: qm.respSpis![0]!, data: new Uint8Array(0) };
      const restBytes = encodePayloads([n]);
      const h4 = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, afterHash: restBytes });
      this.checkOut(QUICK_MODE[3]!, [{ type: 'HASH', data: h4 }, n]);
      const enc = this.encryptRaw(p1, ExchangeType.QUICK_MODE, qm.msgId, HeaderFlag.ENCRYPTION | HeaderFlag.COMMIT, PayloadType.HASH, hashFirst(h4, PayloadType.N, restBytes), qm.iv);
      qm.iv = enc.nextIv;
      qm.lastSent = enc.bytes;
      this.send(p1.local, p1.remote, enc.bytes);
    }
    this.qmDone(now, qm);
  }

  /** Initiator with the commit bit: <-- HDR*, HASH(4), N(CONNECTED) */
  private qmI4(now: number, qm: Qm, bytes: Uint8Array): void {
    const p1 = qm.p1;
    const { payloads, plain } = this.decrypt(p1, qm.iv, bytes);
    checkMessage(QUICK_MODE[3]!, payloads);
    const expected = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, afterHash: afterFirstPayload(plain) });
    if (!C.verifyHash(expected, (payloads[0] as { data: Uint8Array }).data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(4) does not verify');
    this.authedFrom(qm.p1, true);
    const n = find(payloads, 'N')!;
    if (n.notifyType !== NotifyType.CONNECTED) throw remote(NotifyType.PAYLOAD_MALFORMED, 'expected CONNECTED');
    qm.lastRecv = this.fp(bytes);
    qm.lastSent = undefined;
    this.qmDone(now, qm);
  }

  /** KEYMAT for both directions of every protocol; the IPsec SA is born. */
  private qmDone(now: number, qm: Qm): void {
    const p1 = qm.p1;
    const sel = qm.selection!;
    this.clearQmRetransmit(qm);
    this.timers.cancel(qm.tTimeout);
    p1.qms!.delete(qm.msgId);
    if (p1.qms!.size === 0) p1.qms = undefined;
    // remember the exchange briefly: a repeat of its last request gets its last response again
    // (only when there is one: a responder without the commit bit has nothing to resend)
    if (qm.role === 'responder') this.retireIfSpent(now, p1);
    if (qm.lastSent) {
      if (p1.doneId !== 0) {
        const done = (p1.done ??= []);
        done.push({ msgId: p1.doneId, recv: p1.doneRecv, sent: p1.doneSent });
        if (done.length > 3) done.shift();
      }
      p1.doneId = qm.msgId;
      p1.doneRecv = qm.lastRecv;
      p1.doneSent = qm.lastSent;
    } else if (qm.role === 'initiator') {
      markSeen(p1, qm.msgId);
    }
    const protocols: IpsecProtocolSa[] = [];
    const spiKeys: number[] = []; // [our inbound, peer's inbound] per protocol
    let firstInSpi: Uint8Array | undefined;
    const initiator = qm.role === 'initiator';
    const nonceI = qm.ni;
    const nonceR = qm.nr!;
    for (let j = 0; j < sel.entries.length; j++) {
      const e = sel.entries[j]!;
      // our inbound SPI: initiator offered it (proposal ours), responder chose it
      const inSpi = initiator ? qm.ourSpis![sel.ours]![j]! : qm.respSpis![j]!;
      const outSpi = e.peerSpi;
      firstInSpi ??= inSpi;
      spiKeys.push(spiKey(inSpi), spiKey(outSpi));
      const len = e.keys.enc + e.keys.auth;
      const kin = C.deriveKeymat({ prf: p1.prf!, skeyidD: p1.skeyidD!, protocol: e.protocol, spi: inSpi, nonceI, nonceR, gxy: qm.gxy, length: len });
      const kout = C.deriveKeymat({ prf: p1.prf!, skeyidD: p1.skeyidD!, protocol: e.protocol, spi: outSpi, nonceI, nonceR, gxy: qm.gxy, length: len });
      // inbound SPI | KEYMAT | outbound SPI | KEYMAT in one buffer (two heap objects for all four)
      const si = inSpi.length;
      const buf = new Uint8Array(si + len + outSpi.length + len);
      buf.set(inSpi, 0);
      buf.set(kin, si);
      buf.set(outSpi, si + len);
      buf.set(kout, si + len + outSpi.length);
      C.wipe(kin, kout);
      protocols.push({
        protocol: e.protocol,
        transformId: e.parsed.transformId,
        keyLength: e.keys.enc * 8,
        authAlgorithm: e.parsed.authAlgorithm,
        inbound: new Keys(buf, 0, si, len, e.keys.enc),
        outbound: new Keys(buf, si + len, outSpi.length, len, e.keys.enc),
      });
    }
    qm.dh?.wipe();
    C.wipe(qm.gxy);
    const lifeSeconds = qm.lifeSeconds ?? sel.lifetimeSeconds;
    const lifeKb = qm.lifeKilobytes ?? sel.lifetimeKilobytes;
    const info: Mutable<IpsecSaInfo> = {
      id: 'q' + hex(firstInSpi!),
      isakmpSa: this.p1Id(p1),
      connection: qm.conn.name,
      role: qm.role,
      mode: sel.mode,
      group: sel.group,
      local: p1.local,
      remote: p1.remote,
      localTs: qm.localTs,
      remoteTs: qm.remoteTs,
      lifetimeSeconds: lifeSeconds,
      lifetimeKilobytes: lifeKb,
      establishedAt: now,
      protocols,
    };
    if (p1.natt) info.udpEncapsulation = true;
    if (qm.peerOa !== undefined) info.peerOriginalAddress = qm.peerOa;
    const child: Child = { kind: 'child', info, pairKey: p1.pairKey, p1Id: info.isakmpSa, conn: qm.conn, peer: p1.peerId, peerKey: p1.peerKey, bytes: 0, state: 'installed', tSoft: undefined, tHard: undefined, softBytes: lifeKb * 1024 * 0.9 };
    this.children.set(info.id, child);
    addTo(this.childByPair, child.pairKey, child);
    if (child.peerKey !== undefined) this.childrenOfPeer.set(child.peerKey, (this.childrenOfPeer.get(child.peerKey) ?? 0) + 1);
    for (let j = 0; j < spiKeys.length; j += 2) {
      this.bySpi.set(spiKeys[j]!, child);
      addTo(this.byPeerSpi, spiKeys[j + 1]!, child);
    }
    if (lifeSeconds) {
      const life = lifeSeconds * 1000;
      child.tHard = this.timers.add(now + life, child, Tk.ChildHard);
      if (initiator && qm.conn.rekey !== false) child.tSoft = this.timers.add(now + life - this.rekeyMargin(qm.conn, life), child, Tk.ChildSoft);
    }
    this.emit(qm.rekeyOf ? { type: 'ipsec-sa-established', sa: info, rekeyOf: qm.rekeyOf.info.id } : { type: 'ipsec-sa-established', sa: info });
    const old = qm.rekeyOf;
    if (old && old.state !== 'dead') {
      this.emit({ type: 'rekeyed', kind: 'ipsec', old: old.info.id, sa: info.id });
      this.sendDeleteChildren(now, [old]);
      this.removeChild(old, 'local');
    }
  }

  /** A Quick Mode lives at least as long as its retransmission schedule. */
  private qmTimeout(): number {
    const schedule = this.opt.retransmitBaseMs * (2 ** (this.opt.retransmitLimit + 1) - 1);
    return Math.max(this.opt.quickModeTimeoutMs, schedule + this.opt.retransmitBaseMs);
  }

  private failQm(qm: Qm, notify: number, reason: string): void {
    const p1 = qm.p1;
    this.clearQmRetransmit(qm);
    this.timers.cancel(qm.tTimeout);
    p1.qms?.delete(qm.msgId);
    if (p1.qms && p1.qms.size === 0) p1.qms = undefined;
    qm.dh?.wipe();
    if (qm.rekeyOf && qm.rekeyOf.state === 'rekeying') qm.rekeyOf.state = 'installed';
    this.emit({ type: 'failed', kind: 'ipsec', connection: qm.conn.name, peer: p1.remote, notify, reason });
  }

  private clearQmRetransmit(qm: Qm): void {
    this.timers.cancel(qm.rtx?.timer);
    qm.rtx = undefined;
  }

  // ------------------------------------------------------------------------------ informational

  /** HDR*, HASH(1), N/D --> under an established ISAKMP SA, fresh message ID and IV. */
  private sendInfo(now: number, p1: P1, payloads: Payload[]): Uint8Array | undefined {
    void now;
    if (!p1.skeyidA || !p1.iv) return undefined;
    const msgId = this.freshMsgId(p1);
    const restBytes = encodePayloads(payloads);
    const h = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA, messageId: msgId, afterHash: restBytes });
    this.checkOut(INFORMATIONAL, [{ type: 'HASH', data: h }, ...payloads]);
    const iv = C.phase2Iv(p1.prf!, p1.iv, msgId, p1.cipher!.blockSize);
    const enc = this.encryptRaw(p1, ExchangeType.INFORMATIONAL, msgId, HeaderFlag.ENCRYPTION, PayloadType.HASH, hashFirst(h, payloadTypeOf(payloads[0]!), restBytes), iv);
    this.send(p1.local, p1.remote, enc.bytes);
    return enc.bytes;
  }

  private onInformational(now: number, p1: P1, h: Header, bytes: Uint8Array): void {
    if (h.messageId === 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'protected informational with message ID 0');
    const iv = C.phase2Iv(p1.prf!, p1.iv!, h.messageId, p1.cipher!.blockSize);
    const { payloads, plain } = this.decrypt(p1, iv, bytes);
    if (payloads[0]?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'informational must start with HASH(1)');
    const expected = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: h.messageId, afterHash: afterFirstPayload(plain) });
    if (!C.verifyHash(expected, payloads[0].data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'informational HASH(1) does not verify');
    checkMessage(INFORMATIONAL, payloads);
    const dpd = dpdOnly(payloads);
    if (dpd) {
      this.onDpd(now, p1, dpd, h.messageId);
      return;
    }
    this.checkFreshMsgId(p1, h.messageId);
    this.authedFrom(p1, false);
    markSeen(p1, h.messageId);
    this.phase1Confirmed(p1);
    // verified: act, payload by payload; once our ISAKMP SA is gone, ignore the rest
    for (const p of payloads) {
      if (p1.state === 'dead') break;
      if (p.type === 'D') this.onDelete(now, p1, p);
      else if (p.type === 'N') this.onNotify(now, p1, p);
    }
    this.retireIfSpent(now, p1);
  }

  /**
   * An Informational that carries only R-U-THERE or R-U-THERE-ACK (RFC 3706): protected by its
   * sequence number, not by the message-ID set (see replay.ts). An ACK of our outstanding probe
   * proves the peer fresh at the address it came from (the SA may move there).
   */
  private onDpd(now: number, p1: P1, n: NotifyPayload, msgId: number): void {
    const seq = readU32(n.data);
    if (n.notifyType === NotifyType.R_U_THERE) {
      if (msgId === p1.dpdInMsgId) throw remote(NotifyType.INVALID_MESSAGE_ID, 'R-U-THERE message ID already used (replay)');
      if (p1.dpdIn === -1 || seqAfter(seq, p1.dpdIn)) {
        p1.dpdIn = seq;
        p1.dpdInRepeats = 0;
      } else if (seq === p1.dpdIn && p1.dpdInRepeats < 3) {
        p1.dpdInRepeats++; // a retransmission of the same probe (our ACK was lost)
      } else {
        throw new Refused('DPD_REPLAY', `R-U-THERE with an old sequence number ${seq} (replay)`);
      }
      p1.dpdInMsgId = msgId;
      this.authedFrom(p1, false);
    } else {
      if (seq !== p1.dpdOut || p1.dpdAcked) throw new Refused('DPD_REPLAY', `R-U-THERE-ACK for sequence number ${seq}, not our outstanding probe's (replay)`);
      p1.dpdAcked = true;
      this.authedFrom(p1, true);
    }
    this.phase1Confirmed(p1);
    this.onNotify(now, p1, n);
  }

  private onDelete(now: number, p1: P1, d: Extract<Payload, { type: 'D' }>): void {
    void now;
    if (d.protocol === ProtocolId.PROTO_ISAKMP) {
      for (const spi of d.spis) {
        if (spi.length === 16 && bytesEqual(spi.subarray(0, 8), p1.ic) && bytesEqual(spi.subarray(8), p1.rc)) {
          this.removeP1(p1, { type: 'deleted', kind: 'isakmp', id: this.p1Id(p1), connection: p1.conn.name, by: 'peer' });
          return;
        }
      }
      return;
    }
    if (d.protocol !== ProtocolId.PROTO_IPSEC_ESP && d.protocol !== ProtocolId.PROTO_IPSEC_AH) return;
    for (const spi of d.spis) {
      // the peer names its inbound SPI (our outbound); accept our inbound too
      const child = this.findChildBySpi(p1, spi);
      if (child) this.removeChild(child, 'peer');
    }
  }

  /** An IPsec SA the peer of `p1` may delete: named by SPI, between the same addresses, negotiated with the same identity and credentials. */
  private findChildBySpi(p1: P1, spi: Uint8Array): Child | undefined {
    const h = spiKey(spi);
    let peer: Child | undefined;
    for (const c of bucketView(this.byPeerSpi, h)) if (c.pairKey === p1.pairKey && c.state !== 'dead' && this.mayAct(p1, c)) peer = c; // the newest
    if (peer) return peer;
    const own = this.bySpi.get(h);
    if (own && own.state !== 'dead' && own.pairKey === p1.pairKey && this.mayAct(p1, own)) return own;
    return undefined;
  }

  private mayAct(p1: P1, c: Child): boolean {
    return sameCredentials(p1.conn, c.conn) && samePeerIdentity(p1.peerId, c.peer);
  }

  private onNotify(now: number, p1: P1, n: NotifyPayload): void {
    switch (n.notifyType) {
      case NotifyType.R_U_THERE:
        if (n.data.length === 4 && p1.state === 'established') {
          this.sendInfo(now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.R_U_THERE_ACK, spi: cookiePair(p1), data: new Uint8Array(n.data) }]);
        }
        break;
      case NotifyType.INITIAL_CONTACT:
        this.initialContact(p1);
        break;
      default:
        // an authenticated error answers a Quick Mode of ours still waiting for HASH(2)
        if (isErrorNotify(n.notifyType)) {
          for (const qm of [...(p1.qms?.values() ?? [])]) {
            if (qm.role === 'initiator' && qm.step === 1) this.failQm(qm, n.notifyType, `peer refused the Quick Mode: ${nameOf(NotifyType, n.notifyType)}`);
          }
        }
        break;
    }
    this.emit({ type: 'notify', peer: p1.remote, isakmpSa: this.p1Id(p1), notify: n.notifyType, spi: new Uint8Array(n.spi), data: new Uint8Array(n.data) });
  }

  private sendDeleteP1(now: number, p1: P1): void {
    if (p1.state !== 'established') return;
    this.sendInfo(now, p1, [{ type: 'D', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, spiSize: 16, spis: [cookiePair(p1)] }]);
  }

  /** Delete for IPsec SAs: our inbound SPIs, under the newest established ISAKMP SA with the peer. */
  private sendDeleteChildren(now: number, kids: Child[]): void {
    for (const c of kids) {
      const p1 = this.bestP1For(c.pairKey, c.conn.name) ?? this.bestP1For(c.pairKey);
      if (!p1) continue;
      const byProto = new Map<number, Uint8Array[]>();
      for (const p of c.info.protocols) (byProto.get(p.protocol) ?? byProto.set(p.protocol, []).get(p.protocol)!).push(p.inbound.spi);
      const payloads: Payload[] = [];
      for (const [protocol, spis] of byProto) payloads.push({ type: 'D', doi: 1, protocol, spiSize: 4, spis });
      this.sendInfo(now, p1, payloads);
    }
  }

  /**
   * The newest established phase 1 between an address pair (of one connection, if named). One scan
   * of the pair fills a memo for every connection name, kept until a phase 1 is established or
   * removed anywhere: deleting n IPsec SAs of one peer costs O(n), not O(n²).
   */
  private bestP1For(pairKey: string, connName?: string): P1 | undefined {
    let m = this.bestP1Memo.get(pairKey);
    if (!m) {
      let any: P1 | undefined;
      const byConn = new Map<string, P1>();
      for (const p1 of bucketView(this.p1ByPair, pairKey)) {
        if (p1.state !== 'established') continue;
        const at = p1.establishedAt ?? 0;
        if (!any || at > (any.establishedAt ?? 0)) any = p1;
        const c = byConn.get(p1.conn.name);
        if (!c || at > (c.establishedAt ?? 0)) byConn.set(p1.conn.name, p1);
      }
      m = { any, byConn };
      this.bestP1Memo.set(pairKey, m);
    }
    return connName ? m.byConn.get(connName) : m.any;
  }

  // ------------------------------------------------------------------------------ rekey / expiry

  private rekeyP1(now: number, p1: P1): void {
    if (p1.replacedBy && p1.replacedBy.state !== 'dead') return; // already rekeying
    const conn = this.conns.get(p1.conn.name) ?? p1.conn;
    p1.replacedBy = this.startPhase1(now, conn, [], p1);
  }

  private rekeyChild(now: number, child: Child): void {
    if (child.state !== 'installed') return;
    child.state = 'rekeying';
    const conn = this.conns.get(child.conn.name) ?? child.conn;
    this.requestQm(now, { conn, rekeyOf: child });
  }

  private expireChild(now: number, child: Child, hard: boolean): void {
    this.emit({ type: 'expired', kind: 'ipsec', id: child.info.id, connection: child.conn.name, hard });
    this.sendDeleteChildren(now, [child]);
    this.removeChild(child, undefined);
  }

  // ------------------------------------------------------------------------------ state removal

  private removeChild(c: Child, by: 'local' | 'peer' | undefined): void {
    if (c.state === 'dead') return;
    c.state = 'dead';
    this.timers.cancel(c.tSoft);
    this.timers.cancel(c.tHard);
    this.children.delete(c.info.id);
    removeFrom(this.childByPair, c.pairKey, c);
    if (c.peerKey !== undefined) decrement(this.childrenOfPeer, c.peerKey);
    for (const p of c.info.protocols) {
      const k = spiKey(p.inbound.spi);
      if (this.bySpi.get(k) === c) this.bySpi.delete(k);
      removeFrom(this.byPeerSpi, spiKey(p.outbound.spi), c);
    }
    if (by) {
      this.emit({ type: 'deleted', kind: 'ipsec', id: c.info.id, connection: c.conn.name, by, spis: c.info.protocols.map((p) => p.inbound.spi) });
    }
    for (const p of c.info.protocols) C.wipe(p.inbound.keymat, p.outbound.keymat);
  }

  private clearRetransmit(p1: P1): void {
    this.timers.cancel(p1.rtx?.timer);
    p1.rtx = undefined;
  }

  private clearHalfOpen(p1: P1): void {
    this.timers.cancel(p1.tHalf);
    p1.tHalf = undefined;
    if (p1.halfOpen) {
      p1.halfOpen = false;
      this.halfOpenCount--;
      const peer = this.halfOpenPeers.get(p1.remote.address);
      if (peer) {
        this.unlinkEvictable(p1);
        if (--peer.count <= 0) this.halfOpenPeers.delete(peer.key);
      }
    }
  }

  /**
   * Makes room for one more half-open responder phase 1 from `address`: at a cap, evicts the
   * oldest entry (of this peer, then of all peers) that has not seen the peer's third message.
   * Entries past message 3, established SAs and our own initiator states are never evicted; when
   * only such entries fill the table, the new first message is refused.
   */
  private makeHalfOpenRoom(address: string): HoPeer | undefined {
    const peer = this.halfOpenPeers.get(address);
    if ((peer?.count ?? 0) >= this.opt.halfOpenPerPeer) {
      if (!peer?.head) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit for this peer reached');
      this.evictHalfOpen(peer.head.p1);
    }
    if (this.halfOpenCount >= this.opt.halfOpenTotal) {
      if (!this.hoHead) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit reached');
      this.evictHalfOpen(this.hoHead.p1);
    }
    // an eviction may have removed the peer's record (its last entry)
    return peer && peer.count > 0 ? peer : undefined;
  }

  private evictHalfOpen(p1: P1): void {
    this.halfOpenEvicted++;
    this.destroyP1(p1);
    this.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'HALF_OPEN_EVICTED', reason: 'half-open phase 1 evicted (half-open limit reached)' });
  }

  /** Counts a new responder phase 1 as half-open and appends it to the eviction lists. */
  private addHalfOpen(p1: P1, existing: HoPeer | undefined): void {
    let peer = existing;
    if (!peer) {
      peer = { key: p1.remote.address, count: 0, head: undefined, tail: undefined };
      this.halfOpenPeers.set(peer.key, peer);
    }
    p1.halfOpen = true;
    this.halfOpenCount++;
    peer.count++;
    const n: HoNode = { p1, peer, prev: this.hoTail, next: undefined, peerPrev: peer.tail, peerNext: undefined };
    if (this.hoTail) this.hoTail.next = n;
    else this.hoHead = n;
    this.hoTail = n;
    if (peer.tail) peer.tail.peerNext = n;
    else peer.head = n;
    peer.tail = n;
    p1.ho = n;
  }

  /** The peer answered with message 3: this entry is no longer evictable (still half-open). */
  private unlinkEvictable(p1: P1): void {
    const n = p1.ho;
    if (!n) return;
    p1.ho = undefined;
    if (n.prev) n.prev.next = n.next;
    else this.hoHead = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.hoTail = n.prev;
    const peer = n.peer;
    if (n.peerPrev) n.peerPrev.peerNext = n.peerNext;
    else peer.head = n.peerNext;
    if (n.peerNext) n.peerNext.peerPrev = n.peerPrev;
    else peer.tail = n.peerPrev;
  }

  /** Removes all state of a phase 1 (no event). */
  /** Removes all state of a phase 1 (no event). Returns our Quick Modes that were in progress on it. */
  private destroyP1(p1: P1): PendingQm[] {
    const orphans: PendingQm[] = [];
    if (p1.state === 'dead') return orphans;
    p1.state = 'dead';
    if (this.bestP1Memo.size !== 0) this.bestP1Memo.clear();
    if (p1.peerKey !== undefined) {
      removeFrom(this.p1ByPeerKey, p1.peerKey, p1);
      decrement(this.p1sOfAddress, p1.remote.address);
    }
    this.clearRetransmit(p1);
    this.clearHalfOpen(p1);
    this.timers.cancel(p1.tSoft);
    this.timers.cancel(p1.tHard);
    for (const qm of p1.qms?.values() ?? []) {
      this.clearQmRetransmit(qm);
      this.timers.cancel(qm.tTimeout);
      qm.dh?.wipe();
      if (qm.rekeyOf && qm.rekeyOf.state === 'rekeying') qm.rekeyOf.state = 'installed';
      if (qm.role === 'initiator') orphans.push(qm.rekeyOf ? { conn: qm.conn, rekeyOf: qm.rekeyOf } : { conn: qm.conn });
    }
    p1.qms = undefined;
    if (p1.hs) {
      p1.hs.dh?.wipe();
      C.wipe(p1.hs.skeyid);
    }
    p1.hs = undefined;
    C.wipe(p1.skeyidA, p1.skeyidD, p1.encKey);
    if (this.p1s.get(p1.icKey) === p1) this.p1s.delete(p1.icKey);
    removeFrom(this.p1ByPair, p1.pairKey, p1);
    return orphans;
  }

  /**
   * Removes a phase 1 with its event. Our Quick Modes in progress on it (and those waiting for it)
   * are started again under another ISAKMP SA when `reissueAt` is given (rekey), else reported failed.
   */
  private removeP1(p1: P1, event: EngineEvent, reissueAt?: number): void {
    if (p1.state === 'dead') return;
    const waiting = [...p1.pending, ...this.destroyP1(p1)];
    p1.pending = NO_PENDING;
    this.emit(event);
    for (const q of waiting) {
      if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
      if (reissueAt !== undefined) {
        if (q.rekeyOf) {
          if (q.rekeyOf.state !== 'installed') continue;
          q.rekeyOf.state = 'rekeying';
        }
        this.requestQm(reissueAt, q);
      } else {
        this.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify: 0, reason: 'ISAKMP SA removed during Quick Mode' });
      }
    }
  }

  /** Initiator without an answer: start over with fresh cookies (keying tries), else fail. */
  private retryOrFail(now: number, p1: P1, reason: string): void {
    const tries = p1.tries + 1;
    if (p1.role !== 'initiator' || tries >= (p1.conn.keyingTries ?? 3) || !this.conns.has(p1.conn.name)) {
      this.failP1(p1, 0, reason);
      return;
    }
    const pending = p1.pending;
    const rekeyOf = p1.rekeyOf;
    p1.pending = NO_PENDING;
    this.destroyP1(p1);
    this.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'KEYING_RETRY', reason: `${reason}; keying try ${tries + 1}` });
    const again = this.startPhase1(now, this.conns.get(p1.conn.name)!, pending, rekeyOf && rekeyOf.state === 'established' ? rekeyOf : undefined);
    again.tries = tries;
  }

  private failP1(p1: P1, notify: number, reason: string): void {
    if (p1.state === 'dead') return;
    const pending = p1.pending;
    this.destroyP1(p1);
    this.emit({ type: 'failed', kind: 'isakmp', connection: p1.conn.name, peer: p1.remote, notify, reason });
    for (const q of pending) {
      if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
      this.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify, reason: `phase 1 failed: ${reason}` });
    }
  }

  // ------------------------------------------------------------------------------ encoding

  private p1Id(p1: P1): string {
    if (p1.id !== undefined) return p1.id;
    const id = hexFlat(p1.ic, p1.rc);
    if (p1.state === 'established') p1.id = id;
    return id;
  }

  private findP1ById(id: string): P1 | undefined {
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    const ic = new Uint8Array(8);
    for (let i = 0; i < 8; i++) ic[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
    const p1 = this.p1s.get(bkey(ic));
    return p1 && this.p1Id(p1) === id ? p1 : undefined;
  }

  private p1Info(p1: P1): IsakmpSaInfo {
    // optional fields assigned in place (object spreads of conditional literals cost a clone each)
    const info: Mutable<IsakmpSaInfo> = {
      id: this.p1Id(p1),
      connection: p1.conn.name,
      role: p1.role,
      exchange: p1.mode,
      state: p1.state === 'established' ? 'established' : p1.state === 'negotiating' ? 'negotiating' : 'deleting',
      local: p1.local,
      remote: p1.remote,
      initiatorCookie: p1.ic,
      responderCookie: p1.rc,
    };
    if (p1.peerId) info.peerId = p1.peerId;
    if (p1.chosen) info.transform = p1.chosen;
    if (p1.establishedAt !== undefined) info.establishedAt = p1.establishedAt;
    if (p1.expiresAt !== undefined) info.expiresAt = p1.expiresAt;
    if (p1.natLocal !== undefined || p1.natt) info.nat = { local: p1.natLocal ?? false, remote: p1.natRemote ?? false, encapsulation: p1.natt };
    if (p1.dpdPeer) info.dpd = true;
    return info;
  }

  private header(p1: P1, exchangeType: number, messageId: number, flags: number, nextPayload: number): Header {
    return { initiatorCookie: p1.ic, responderCookie: p1.rc, nextPayload, majorVersion: 1, minorVersion: 0, exchangeType, flags, messageId };
  }

  private encodePlain(p1: P1, exchangeType: number, messageId: number, payloads: readonly Payload[]): Uint8Array {
    return encodeMessage({ header: this.header(p1, exchangeType, messageId, 0, 0), payloads });
  }

  private encodeEncrypted(p1: P1, exchangeType: number, messageId: number, extraFlags: number, payloads: readonly Payload[], iv: Uint8Array): { bytes: Uint8Array; nextIv: Uint8Array } {
    const plain = encodePayloadsScratch(payloads, 0); // scratch view, encrypted at once
    return this.encryptRaw(p1, exchangeType, messageId, HeaderFlag.ENCRYPTION | extraFlags, payloadTypeOf(payloads[0]!), plain, iv);
  }

  private encryptRaw(p1: P1, exchangeType: number, messageId: number, flags: number, first: number, plain: Uint8Array, iv: Uint8Array): { bytes: Uint8Array; nextIv: Uint8Array } {
    // RFC 2408 §3.1 header, then the encrypted body: the ciphertext is written once, after
    // 28 bytes left free for the header (one allocation per datagram, no copy)
    const { message: bytes, nextIv } = C.encryptMessageAt({ cipher: p1.cipher!, key: p1.encKey!, iv, plaintext: plain }, 28);
    const n = bytes.length;
    bytes.set(p1.ic, 0);
    bytes.set(p1.rc, 8);
    bytes[16] = first;
    bytes[17] = 0x10;
    bytes[18] = exchangeType;
    bytes[19] = flags;
    bytes[20] = messageId >>> 24;
    bytes[21] = (messageId >>> 16) & 0xff;
    bytes[22] = (messageId >>> 8) & 0xff;
    bytes[23] = messageId & 0xff;
    bytes[24] = n >>> 24;
    bytes[25] = (n >>> 16) & 0xff;
    bytes[26] = (n >>> 8) & 0xff;
    bytes[27] = n & 0xff;
    return { bytes, nextIv };
  }

  private decrypt(p1: P1, iv: Uint8Array, bytes: Uint8Array): { payloads: Payload[]; plain: Uint8Array; nextIv: Uint8Array } {
    if (!p1.encKey || !p1.cipher) throw remote(NotifyType.INVALID_FLAGS, 'encrypted message before keys exist');
    // the header was checked by decodeHeader (length = datagram, version, flags)
    const { plaintext, nextIv } = C.decryptMessage({ cipher: p1.cipher, key: p1.encKey, iv, ciphertext: bytes.subarray(28) });
    // the plaintext is a fresh buffer of our own: decode in place (no second copy)
    const payloads = decodePayloadsInPlace(bytes[16]!, plaintext, 28, true);
    return { payloads, plain: plaintext, nextIv };
  }

  private sendP1(now: number, p1: P1, bytes: Uint8Array, retransmit: boolean): void {
    this.clearRetransmit(p1);
    p1.lastSent = bytes; // short-lived: kept only until the next message of the exchange
    if (retransmit) p1.rtx = { count: 0, timer: this.timers.add(now + this.opt.retransmitBaseMs, p1, Tk.P1Retransmit) };
    this.send(p1.local, p1.remote, bytes);
  }

  private send(local: Address, remoteAddr: Address, data: Uint8Array): void {
    this.tx.push({ local, remote: remoteAddr, data });
  }

  private emit(e: EngineEvent): void {
    this.ev.push(e);
  }
}

// ---------------------------------------------------------------------------------------------

function encodeAttrs(attrs: readonly DataAttribute[]): Uint8Array {
  const w = new Writer(4 * attrs.length + 16);
  encodeAttributes(w, attrs);
  return w.finishCopy();
}

/** RESPONDER-LIFETIME notification data: SA life type/duration attributes (RFC 2407 §4.6.3.1). */
export function parseLifetimeData(d: Uint8Array): { seconds?: number; kilobytes?: number } {
  const out: { seconds?: number; kilobytes?: number } = {};
  let off = 0;
  let type: number | undefined;
  for (let guard = 0; guard < 16 && off + 4 <= d.length; guard++) {
    const af = d[off]! & 0x80;
    const cls = ((d[off]! & 0x7f) << 8) | d[off + 1]!;
    let value: number;
    if (af) {
      value = (d[off + 2]! << 8) | d[off + 3]!;
      off += 4;
    } else {
      const len = (d[off + 2]! << 8) | d[off + 3]!;
      if (len === 0 || len > 8 || off + 4 + len > d.length) break;
      value = 0;
      for (let i = 0; i < len; i++) value = value * 256 + d[off + 4 + i]!;
      off += 4 + len;
    }
    if (cls === 1) type = value;
    else if (cls === 2 && type !== undefined) {
      if (type === 1) out.seconds = value;
      else if (type === 2) out.kilobytes = value;
      type = undefined;
    }
  }
  return out;
}

