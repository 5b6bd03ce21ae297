/** (split from endpoint.ts) */
import { type SaPayload } from '../codec/types.js';
import { type PeerIdentity } from './authorization.js';
import { type CipherInfo, type DhKeyPair, type PrfAlg } from './crypto.js';
import { HoNode } from './half-open.js';
import { type IpsecSelection } from './proposals.js';
import { remote } from './refusal.js';
import { p1Id } from './tables.js';
import { type TimerEntry } from './timers.js';
import { type Address, type ChosenIke, type Connection, type IpsecSaInfo, type Selector } from './types.js';

export const enum Tk {
  P1Retransmit = 1,
  P1HalfOpen = 2,
  P1Soft = 3,
  P1Hard = 4,
  QmRetransmit = 5,
  QmTimeout = 6,
  ChildSoft = 7,
  ChildHard = 8,
}

export interface PendingQm {
  readonly conn: Connection;
  readonly rekeyOf?: Child;
}

/** Handshake-only material, dropped (and wiped) once phase 1 is done. */
export interface Handshake {
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

export interface Retransmit {
  count: number;
  timer: TimerEntry<Target> | undefined;
}

export interface P1 {
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

export interface Qm {
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

export interface Child {
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

export type Target = P1 | Qm | Child;

/** Shared empty list of waiting Quick Modes (replaced, never mutated: see requestQm). */
export const NO_PENDING: PendingQm[] = [];

/** A Quick Mode record with every field present (one hidden class for both roles). */
export function newQm(p1: P1, msgId: number, role: 'initiator' | 'responder', conn: Connection, iv: Uint8Array, step: number, ni: Uint8Array, localTs: Selector, remoteTs: Selector, commit: boolean): Qm {
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

export function newHandshake(): Handshake {
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
