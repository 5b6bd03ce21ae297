/**
 * NAT traversal (RFC 3947, RFC 3948) as an extension: its vendor ID out and in, NAT-D payloads out
 * and in (the detection), the initiator's float to the NAT-T port, the responder's address change
 * (the SA follows the peer's NAT mapping, with proof of freshness, issue 9.3), UDP-encapsulated
 * Quick Mode proposals, NAT-OA payloads, and NAT keepalives (RFC 3948 §2.3) as liveness work.
 * The wire helpers are in ../natt.ts.
 * @module
 */
import type { Payload } from '../../codec/types.js';
import { NotifyType } from '../../constants/index.js';
import { bytesEqual } from '../../crypto/bytes.js';
import type { Engine } from '../engine.js';
import { sameAddress, sameAddressPort } from '../keys.js';
import { NATT_RFC3947_VID, addressBytes, encapsulatedProposals, natOaPayloads, natdHash, natdHashLength, nattVidKind, readNatOa } from '../natt.js';
import type { ChosenP1, KeyedP1, NatState, P1 } from '../records.js';
import { remote } from '../refusal.js';
import { findAll } from '../scripts.js';
import type { Address, Connection, IpsecProposal } from '../types.js';
import { liveOf, type Extension } from './index.js';

const VID: readonly Payload[] = [{ type: 'VID', data: NATT_RFC3947_VID }];
const NONE: readonly Payload[] = [];
/** RFC 3948 §2.3: a NAT keepalive is the single byte 0xff. */
const KEEPALIVE = Uint8Array.of(0xff);

/** NAT-T offered for this connection: on unless the connection or the endpoint (nattPort 0) turns it off. */
function nattEnabled(x: Engine, conn: Connection): boolean {
  return conn.natTraversal !== false && x.opt.nattPort !== 0;
}

/** UDP encapsulation in use on this SA (a NAT on either side, or forced): ports floated. */
export function natt(p1: P1): boolean {
  return p1.nat?.encapsulation === true;
}

/** The eight possible detection results, shared by all SAs (frozen: IsakmpSaInfo.nat hands them out). */
const NAT_STATES: readonly NatState[] = Array.from({ length: 8 }, (_, i) => Object.freeze({ local: (i & 1) !== 0, remote: (i & 2) !== 0, encapsulation: (i & 4) !== 0 }));

function natState(local: boolean, remoteNat: boolean, encapsulation: boolean): NatState {
  return NAT_STATES[(local ? 1 : 0) | (remoteNat ? 2 : 0) | (encapsulation ? 4 : 0)] ?? Object.freeze({ local, remote: remoteNat, encapsulation });
}

/** NAT-D is computed only over real addresses (an unspecified local address cannot be hashed). */
function natdPossible(p1: ChosenP1): boolean {
  // the hashes were made already: both addresses were IP literals
  if (p1.hs?.natd) return true;
  const l = p1.local.address;
  if (natdHashLength(p1.chosen.hash) === 0 || l === '0.0.0.0' || l === '::' || l === '%any' || p1.remote.address === '%any') return false;
  return addressBytes(l) !== undefined && addressBytes(p1.remote.address) !== undefined;
}

/**
 * HASH(CKY-I | CKY-R | IP | port) of our address and of the peer's: the same two values are
 * sent in our NAT-D payloads and compared with the peer's, computed once per exchange over the
 * addresses it began on (our AM3, sent from the NAT-T port, hashes the port-500 addresses of
 * AM1/AM2, as racoon does).
 */
function natdHashes(p1: ChosenP1): { readonly mine: Uint8Array; readonly theirs: Uint8Array } {
  const hs = p1.hs;
  const cached = hs?.natd;
  if (cached) return cached;
  const hash = p1.chosen.hash;
  const d = { local: p1.local, remote: p1.remote, mine: natdHash(hash, p1.ic, p1.rc, p1.local), theirs: natdHash(hash, p1.ic, p1.rc, p1.remote) };
  if (hs) hs.natd = d;
  return d;
}

/** Our NAT-D payloads: the peer's address first, then ours (faked with forceEncapsulation). */
function natdPayloads(x: Engine, p1: ChosenP1): Payload[] {
  const { mine, theirs } = natdHashes(p1);
  const ours = p1.conn.forceEncapsulation === true ? x.random(theirs.length) : mine;
  return [
    { type: 'NAT-D', payloadType: 20, hash: theirs },
    { type: 'NAT-D', payloadType: 20, hash: ours },
  ];
}

/**
 * The hashes of the addresses the message at hand came on, when they are not those the exchange
 * began on: AM3 arrives on the NAT-T port, and charon hashes that port in it (RFC 3947 §3.2: the
 * destination and source of the datagram as sent), racoon the port-500 addresses; both are right.
 */
function arrivalHashes(x: Engine, p1: ChosenP1): { readonly mine: Uint8Array; readonly theirs: Uint8Array } | undefined {
  const l = x.rxLocal;
  const r = x.rxRemote;
  if (!l || !r || (sameAddressPort(l, p1.local) && sameAddressPort(r, p1.remote))) return undefined;
  if (addressBytes(l.address) === undefined || addressBytes(r.address) === undefined) return undefined;
  const hash = p1.chosen.hash;
  return { mine: natdHash(hash, p1.ic, p1.rc, l), theirs: natdHash(hash, p1.ic, p1.rc, r) };
}

/**
 * The peer's NAT-D payloads (MM3 / MM4, AM2 / AM3): undefined when NAT-T is not negotiated or the
 * peer sent none. The first names our address as the peer saw it, the others the peer's own; each
 * is taken over the exchange's first addresses or over those the message came on.
 */
function detect(x: Engine, p1: ChosenP1, payloads: readonly Payload[]): { local: boolean; remote: boolean } | undefined {
  if (!p1.nattPeer || !natdPossible(p1)) return undefined;
  const ds = findAll(payloads, 'NAT-D');
  const first = ds[0];
  if (!first) return undefined;
  const len = natdHashLength(p1.chosen.hash);
  for (const d of ds) if (d.hash.length !== len) throw remote(NotifyType.PAYLOAD_MALFORMED, `NAT-D of ${d.hash.length} bytes, expected ${len}`);
  if (ds.length < 2) throw remote(NotifyType.PAYLOAD_MALFORMED, 'NAT-D: need our address and at least one of the peer');
  const { mine, theirs } = natdHashes(p1);
  const now = arrivalHashes(x, p1);
  const isTheirs = (h: Uint8Array | undefined): boolean => bytesEqual(h, theirs) || (now !== undefined && bytesEqual(h, now.theirs));
  let peerNat = true;
  for (let i = 1; i < ds.length; i++) if (isTheirs(ds[i]?.hash)) peerNat = false;
  const localNat = !bytesEqual(first.hash, mine) && !(now !== undefined && bytesEqual(first.hash, now.mine));
  return { local: localNat, remote: peerNat };
}

/**
 * Responder with NAT-T: an authenticated message from another address/port (the initiator
 * floated, or its NAT mapping changed) moves the SA there; replies queued while handling it
 * follow (RFC 3947 §4 / §6: answer where the message came from).
 */
function adoptPeer(x: Engine, p1: P1, local: Address, remoteAddr: Address): void {
  if (!natt(p1) || p1.role !== 'responder' || p1.life === 'dead') return;
  const oldL = p1.local;
  const oldR = p1.remote;
  if (oldR.port === remoteAddr.port && oldR.address === remoteAddr.address && oldL.port === local.port && oldL.address === local.address) return;
  p1.local = local;
  x.sas.moveP1(p1, remoteAddr);
  x.tx.rewriteFrom(x.rxMark, (t) => (t.remote === oldR ? { local, remote: remoteAddr, data: t.data } : t));
  // the UDP-encapsulated IPsec SAs that used the old mapping follow it (RFC 3947 §6 / RFC 3948)
  for (const c of x.sas.childrenOfPair(p1.pairKey)) {
    const i = c.info;
    if (c.state === 'dead' || i.udpEncapsulation !== true || i.remote.port !== oldR.port || i.local.port !== oldL.port || !sameAddress(i.remote.address, oldR.address)) continue;
    c.info = { ...i, local, remote: remoteAddr };
    x.emit({ type: 'ipsec-sa-updated', sa: c.info });
  }
}

/** End of a datagram: the answers queued for it go where it came from (see addressChange). */
export function redirectReplies(x: Engine): void {
  const v = x.replyVia;
  if (!v) return;
  x.replyVia = undefined;
  x.tx.rewriteFrom(x.rxMark, (t) => (t.remote === v.p1.remote ? { local: v.local, remote: v.remote, data: t.data } : t));
}

export const natTraversal: Extension = {
  name: 'nat-t',

  vendorIdsOut: (x, conn) => (nattEnabled(x, conn) ? VID : NONE),

  vendorIdsAnswer: (_x, p1) => (p1.nattPeer ? VID : NONE),

  vendorIdIn(x, p1, data) {
    if (nattVidKind(data) === 'rfc3947' && nattEnabled(x, p1.conn)) p1.nattPeer = true;
  },

  natdOut(x, p1, answering) {
    // the first key-exchange message carries NAT-D whenever NAT-T was agreed; the answer only
    // when the peer's NAT-D came and was read
    if (answering ? p1.nat !== undefined : p1.nattPeer && natdPossible(p1)) return natdPayloads(x, p1);
    return NONE;
  },

  natdIn(x, p1, payloads) {
    const nat = detect(x, p1, payloads);
    if (nat) p1.nat = natState(nat.local, nat.remote, nat.local || nat.remote || p1.conn.forceEncapsulation === true);
  },

  float(x, p1) {
    // RFC 3947 §4: the initiator moves to the NAT-T port on both ends from MM5 (AM3) on
    if (p1.role !== 'initiator' || !natt(p1)) return;
    const port = x.opt.nattPort;
    p1.local = { address: p1.local.address, port };
    x.sas.moveP1(p1, { address: p1.remote.address, port });
  },

  addressChange(x, p1, local, remoteAddr, fresh) {
    if (fresh) {
      p1.candidate = undefined;
      adoptPeer(x, p1, local, remoteAddr);
      return;
    }
    // authentic but maybe replayed: answered where it came from, the SA stays (issue 9.3)
    if (!natt(p1) || p1.role !== 'responder' || p1.life === 'dead') return;
    if (sameAddressPort(p1.remote, remoteAddr) && sameAddressPort(p1.local, local)) return;
    x.replyVia = { p1, local, remote: remoteAddr };
    p1.candidate = x.replyVia;
  },

  quickModeProposals: (_x, p1, proposals): readonly IpsecProposal[] => (natt(p1) ? encapsulatedProposals(proposals) : proposals),

  natOaOut(_x, p1, initiator, transport) {
    // RFC 3947 §5.2: the original addresses, only with UDP-encapsulated transport mode: each side
    // names the initiator first and the responder second, itself by its own address
    if (!transport) return NONE;
    if (initiator) return natt(p1) ? natOaPayloads(p1.local.address, p1.remote.address) : NONE;
    return natOaPayloads(p1.remote.address, p1.local.address);
  },

  natOaIn(_x, payloads, initiator, transport) {
    const oa = readNatOa(findAll(payloads, 'NAT-OA')); // PAYLOAD_MALFORMED whatever the mode
    if (!transport) return undefined;
    return initiator ? oa?.responder : oa?.initiator;
  },

  established(x, now, p1) {
    const n = x.opt.natKeepaliveSeconds;
    if (n > 0 && p1.nat?.local === true && p1.nat.encapsulation) liveOf(p1, now).keepaliveAt = now + n * 1000;
  },

  due: (_x, p1) => (p1.live && p1.live.keepaliveAt >= 0 ? p1.live.keepaliveAt : undefined),

  fire(x, now, p1: KeyedP1) {
    const live = p1.live;
    if (!live || live.keepaliveAt < 0 || now < live.keepaliveAt) return;
    x.tx.push({ local: p1.local, remote: p1.remote, data: KEEPALIVE, keepalive: true });
    live.keepaliveAt = now + x.opt.natKeepaliveSeconds * 1000;
  },
};
