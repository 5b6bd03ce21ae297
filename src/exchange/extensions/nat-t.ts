/** (split from endpoint.ts) */
import { type Payload } from '../../codec/types.js';
import { NotifyType } from '../../constants/index.js';
import { bucketView } from '../bucket.js';
import { Engine } from '../engine.js';
import { bytesEqual, sameAddress, sameAddressPort } from '../keys.js';
import { encapsulatedProposals, natdHash, natdHashLength } from '../natt.js';
import { P1 } from '../records.js';
import { remote } from '../refusal.js';
import { findAll } from '../scripts.js';
import { type Address, type Connection, type IpsecProposal } from '../types.js';

/** NAT-T offered for this connection: on unless the connection or the endpoint (nattPort 0) turns it off. */
export function nattEnabled(eng: Engine, conn: Connection): boolean {
  return conn.natTraversal !== false && eng.opt.nattPort !== 0;
}

/** Before handling a datagram of a known SA: where it came from (see authedFrom). */
export function beginAuth(eng: Engine, local: Address, remoteAddr: Address): void {
  eng.rxLocal = local;
  eng.rxRemote = remoteAddr;
  eng.rxMark = eng.tx.length;
}

/**
 * Called by the handlers once the datagram proved to come from the peer (hash or signature
 * verified, not a replay). `fresh`: it could not have been sent before (a handshake message, a
 * Quick Mode completed with HASH(3) or answering ours, an ACK of our outstanding DPD probe): a
 * NAT-T responder's SA then follows the peer to where it came from. Otherwise (a first Quick
 * Mode message, an R-U-THERE, a Delete) the SA stays and only the answers go there (issue 9.3).
 */
export function authedFrom(eng: Engine, p1: P1, fresh: boolean): void {
  const l = eng.rxLocal;
  const r = eng.rxRemote;
  eng.rxLocal = eng.rxRemote = undefined;
  if (!l || !r) return;
  if (fresh) {
    p1.candidate = undefined;
    adoptPeer(eng, p1, l, r, eng.rxMark);
    return;
  }
  if (!p1.natt || p1.role !== 'responder' || p1.state === 'dead') return;
  if (sameAddressPort(p1.remote, r) && sameAddressPort(p1.local, l)) return;
  eng.replyVia = { p1, local: l, remote: r };
  p1.candidate = eng.replyVia;
}

/** End of a datagram: the answers queued for it go where it came from (see authedFrom). */
export function redirectReplies(eng: Engine): void {
  const v = eng.replyVia!;
  eng.replyVia = undefined;
  for (let i = eng.rxMark; i < eng.tx.length; i++) {
    const t = eng.tx[i]!;
    if (t.remote === v.p1.remote) eng.tx[i] = { local: v.local, remote: v.remote, data: t.data };
  }
}

/**
 * Responder with NAT-T: an authenticated message from another address/port (the initiator
 * floated, or its NAT mapping changed) moves the SA there; replies queued while handling it
 * follow (RFC 3947 §4 / §6: answer where the message came from).
 */
export function adoptPeer(eng: Engine, p1: P1, local: Address, remoteAddr: Address, mark: number): void {
  if (!p1.natt || p1.role !== 'responder' || p1.state === 'dead') return;
  const oldL = p1.local;
  const oldR = p1.remote;
  if (oldR.port === remoteAddr.port && oldR.address === remoteAddr.address && oldL.port === local.port && oldL.address === local.address) return;
  p1.local = local;
  p1.remote = remoteAddr;
  for (let i = mark; i < eng.tx.length; i++) {
    const t = eng.tx[i]!;
    if (t.remote === oldR) eng.tx[i] = { local, remote: remoteAddr, data: t.data };
  }
  // the UDP-encapsulated IPsec SAs that used the old mapping follow it (RFC 3947 §6 / RFC 3948)
  for (const c of bucketView(eng.childByPair, p1.pairKey)) {
    const i = c.info;
    if (c.state === 'dead' || i.udpEncapsulation !== true || i.remote.port !== oldR.port || i.local.port !== oldL.port || !sameAddress(i.remote.address, oldR.address)) continue;
    c.info = { ...i, local, remote: remoteAddr };
    eng.emit({ type: 'ipsec-sa-updated', sa: c.info });
  }
}

/** NAT-D is computed only over real addresses (an unspecified local address cannot be hashed). */
export function natdPossible(eng: Engine, p1: P1): boolean {
  const l = p1.local.address;
  return natdHashLength(p1.chosen!.hash) !== 0 && l !== '0.0.0.0' && l !== '::' && l !== '%any' && p1.remote.address !== '%any';
}

/**
 * HASH(CKY-I | CKY-R | IP | port) of our address and of the peer's: the same two values are
 * sent in our NAT-D payloads and compared with the peer's, so they are computed once per exchange
 * (again only if the addresses moved in between).
 */
export function natdHashes(eng: Engine, p1: P1): { mine: Uint8Array; theirs: Uint8Array } {
  const hs = p1.hs;
  const cached = hs?.natd;
  if (cached && cached.local === p1.local && cached.remote === p1.remote) return cached;
  const hash = p1.chosen!.hash;
  const d = { local: p1.local, remote: p1.remote, mine: natdHash(hash, p1.ic, p1.rc, p1.local), theirs: natdHash(hash, p1.ic, p1.rc, p1.remote) };
  if (hs) hs.natd = d;
  return d;
}

/** Our NAT-D payloads: the peer's address first, then ours (faked with forceEncapsulation). */
export function natdPayloads(eng: Engine, p1: P1): Payload[] {
  const { mine, theirs } = natdHashes(eng, p1);
  const ours = p1.conn.forceEncapsulation === true ? eng.random(theirs.length) : mine;
  return [
    { type: 'NAT-D', payloadType: 20, hash: theirs },
    { type: 'NAT-D', payloadType: 20, hash: ours },
  ];
}

/**
 * The peer's NAT-D payloads (MM3 / MM4): undefined when NAT-T is not negotiated or the peer sent
 * none. The first names our address as the peer saw it, the others the peer's own addresses.
 */
export function checkNatd(eng: Engine, p1: P1, payloads: readonly Payload[]): { local: boolean; remote: boolean } | undefined {
  if (!p1.nattPeer || !natdPossible(eng, p1)) return undefined;
  const ds = findAll(payloads, 'NAT-D');
  if (ds.length === 0) return undefined;
  const hash = p1.chosen!.hash;
  const len = natdHashLength(hash);
  for (const d of ds) if (d.hash.length !== len) throw remote(NotifyType.PAYLOAD_MALFORMED, `NAT-D of ${d.hash.length} bytes, expected ${len}`);
  if (ds.length < 2) throw remote(NotifyType.PAYLOAD_MALFORMED, 'NAT-D: need our address and at least one of the peer');
  const { mine, theirs } = natdHashes(eng, p1);
  return {
    local: !bytesEqual(ds[0]!.hash, mine),
    remote: !ds.slice(1).some((d) => bytesEqual(d.hash, theirs)),
  };
}

export function setNat(eng: Engine, p1: P1, nat: { local: boolean; remote: boolean }): void {
  p1.natLocal = nat.local;
  p1.natRemote = nat.remote;
  p1.natt = nat.local || nat.remote || p1.conn.forceEncapsulation === true;
}

/** Initiator: move to the NAT-T port on both ends (RFC 3947 §4). */
export function float(eng: Engine, p1: P1): void {
  const port = eng.opt.nattPort;
  p1.local = { address: p1.local.address, port };
  p1.remote = { address: p1.remote.address, port };
}

/** The IPsec proposals of a connection as this phase 1 negotiates them (UDP-encapsulated modes under NAT-T). */
export function ipsecOf(eng: Engine, p1: P1, conn: Connection): readonly IpsecProposal[] {
  return p1.natt ? encapsulatedProposals(conn.ipsec) : conn.ipsec;
}
