/**
 * IPsec SAs (the "children" of ISAKMP SAs): born from a finished Quick Mode (KEYMAT for both
 * directions of every protocol, RFC 2409 §5.5), counted against the peer (issue 9.6), rekeyed at
 * their soft lifetime (seconds or kilobytes, initiator; a remote-access gateway's answered SAs
 * too, see gateway-rekey.ts), expired at their hard lifetime, deleted
 * by us (a Delete under the newest ISAKMP SA with the peer) or by the peer.
 * @module
 */
import type { Mutable, Payload } from '../codec/types.js';
import { toHexFlat } from '../crypto/bytes.js';
import * as C from './crypto.js';
import { sendInfo } from './drivers/informational.js';
import { requestQm } from './drivers/quick-mode-queue.js';
import type { Engine } from './engine.js';
import { inbound } from './extensions/index.js';
import { natt } from './extensions/nat-t.js';
import { sameSaSelectors } from './ids.js';
import { smi, spiKey } from './keys.js';
import { clientRekeyed, gatewayRekeyChild, gatewayRekeyMargin, gatewayRekeys, isRemoteAccessGateway } from './gateway-rekey.js';
import { rekeyMargin } from './lifecycle.js';
import type { IpsecSelection } from './proposals.js';
import { Tk, type Child, type P1, type Qm, skeyidDOf } from './records.js';
import { missing } from './refusal.js';
import type { DirectionKeys, IpsecProtocolSa, IpsecSaInfo } from './types.js';

/**
 * Keys of one direction: SPI | KEYMAT at `at` in a buffer both directions share. The views are
 * made on access (one byte array per IPsec SA instead of four per direction: fewer objects per
 * SA for the collector), and the three lengths are packed into one small integer (SPI length,
 * KEYMAT length and encryption key length each fit in a byte).
 */
class Keys implements DirectionKeys {
  private readonly lens: number;
  constructor(private readonly buf: Uint8Array, private readonly at: number, spiLen: number, kmLen: number, encLen: number) {
    this.lens = spiLen | (kmLen << 8) | (encLen << 16);
  }
  get spi(): Uint8Array {
    return this.buf.subarray(this.at, this.at + (this.lens & 0xff));
  }
  get keymat(): Uint8Array {
    const k = this.at + (this.lens & 0xff);
    return this.buf.subarray(k, k + ((this.lens >> 8) & 0xff));
  }
  get encryptionKey(): Uint8Array {
    const k = this.at + (this.lens & 0xff);
    return this.buf.subarray(k, k + (this.lens >> 16));
  }
  get integrityKey(): Uint8Array {
    const k = this.at + (this.lens & 0xff);
    return this.buf.subarray(k + (this.lens >> 16), k + ((this.lens >> 8) & 0xff));
  }
  toJSON(): object {
    return { spi: this.spi, keymat: this.keymat, encryptionKey: this.encryptionKey, integrityKey: this.integrityKey };
  }
}

/**
 * The IPsec SA of a finished Quick Mode: KEYMAT for both directions of every protocol of the
 * chosen proposal, our inbound SPIs `inSpis` (one per protocol), the peer's from `sel`.
 */
export function installIpsecSa(x: Engine, now: number, qm: Qm, sel: IpsecSelection, nonceR: Uint8Array, inSpis: readonly Uint8Array[]): void {
  const p1 = qm.p1;
  const protocols: IpsecProtocolSa[] = [];
  const spiKeys: number[] = []; // [our inbound, peer's inbound] per protocol
  let firstInSpi: Uint8Array | undefined;
  let j = 0;
  const skeyidD = skeyidDOf(p1);
  for (const e of sel.entries) {
    const inSpi = inSpis[j++] ?? missing('inbound SPI');
    const outSpi = e.peerSpi;
    firstInSpi ??= inSpi;
    spiKeys.push(spiKey(inSpi), spiKey(outSpi));
    const len = e.keys.enc + e.keys.auth;
    const kin = C.deriveKeymat({ prf: p1.prf, skeyidD, protocol: e.protocol, spi: inSpi, nonceI: qm.ni, nonceR, gxy: qm.gxy, length: len });
    const kout = C.deriveKeymat({ prf: p1.prf, skeyidD, protocol: e.protocol, spi: outSpi, nonceI: qm.ni, nonceR, gxy: qm.gxy, length: len });
    // inbound SPI | KEYMAT | outbound SPI | KEYMAT in one buffer (two heap objects for all four)
    const si = inSpi.length;
    const buf = new Uint8Array(si + len + outSpi.length + len);
    buf.set(inSpi, 0);
    buf.set(kin, si);
    buf.set(outSpi, si + len);
    buf.set(kout, si + len + outSpi.length);
    C.wipe(kin, kout);
    protocols.push({
      protocol: smi(e.protocol),
      transformId: smi(e.parsed.transformId),
      // the cipher's key bits (AES-GCM: without its salt, which ends the encryption key)
      keyLength: smi(e.parsed.keyLength ?? e.keys.enc * 8),
      authAlgorithm: smi(e.parsed.authAlgorithm),
      inbound: new Keys(buf, 0, si, len, e.keys.enc),
      outbound: new Keys(buf, si + len, outSpi.length, len, e.keys.enc),
    });
  }
  qm.dh?.wipe();
  C.wipe(qm.gxy);
  const lifeSeconds = qm.lifeSeconds ?? sel.lifetimeSeconds;
  const lifeKb = qm.lifeKilobytes ?? sel.lifetimeKilobytes;
  const info: Mutable<IpsecSaInfo> = {
    id: 'q' + toHexFlat(firstInSpi ?? missing('a protocol')),
    isakmpSa: x.sas.p1Id(p1),
    connection: qm.conn.name,
    role: qm.role,
    mode: smi(sel.mode),
    group: smi(sel.group),
    local: p1.local,
    remote: p1.remote,
    localTs: qm.localTs,
    remoteTs: qm.remoteTs,
    lifetimeSeconds: smi(lifeSeconds),
    lifetimeKilobytes: smi(lifeKb),
    establishedAt: smi(now),
    protocols,
  };
  if (qm.localSelectors !== undefined && qm.localSelectors.length > 1) info.localSelectors = qm.localSelectors;
  if (qm.wireLocalTs !== undefined) info.wireLocalTs = qm.wireLocalTs;
  if (natt(p1)) info.udpEncapsulation = true;
  if (qm.peerOa !== undefined) info.peerOriginalAddress = qm.peerOa;
  const child: Child = { info, pairKey: p1.pairKey, conn: qm.conn, peer: p1.peerId, peerKey: p1.peerKey, bytes: 0, state: 'installed', tSoft: undefined, tHard: undefined };
  x.sas.addChild(child, spiKeys);
  if (lifeSeconds) {
    const life = lifeSeconds * 1000;
    child.tHard = x.timers.add(now + life, child, Tk.ChildHard);
    if (qm.role === 'initiator' && qm.conn.rekey !== false) child.tSoft = x.timers.add(now + life - rekeyMargin(x, qm.conn, life, qm.conn.rekeyMarginSeconds), child, Tk.ChildSoft);
    else if (gatewayRekeys(qm.conn, qm.role)) child.tSoft = x.timers.add(now + life - gatewayRekeyMargin(x, qm.conn, life), child, Tk.ChildSoft);
  }
  if (qm.role === 'responder' && isRemoteAccessGateway(qm.conn)) clientRekeyed(x, child);
  x.emit(qm.rekeyOf ? { type: 'ipsec-sa-established', sa: info, rekeyOf: qm.rekeyOf.info.id } : { type: 'ipsec-sa-established', sa: info });
  const old = qm.rekeyOf;
  if (old && old.state !== 'dead') {
    x.emit({ type: 'rekeyed', kind: 'ipsec', old: old.info.id, sa: info.id });
    holdDelete(x, p1, old);
  }
}

/** `old`, replaced by a rekey of ours under `p1`, waits for the one Delete of deleteReplaced. */
export function holdDelete(x: Engine, p1: P1, old: Child): void {
  const held = x.replacedKids.get(p1);
  if (held) held.push(old);
  else x.replacedKids.set(p1, [old]);
}

/** The ids of the IPsec SAs whose Delete `p1` holds (those still there), for its snapshot record. */
export function heldDeletes(x: Engine, p1: P1): string[] {
  const out: string[] = [];
  for (const c of x.replacedKids.get(p1) ?? []) if (c.state !== 'dead') out.push(c.info.id);
  return out;
}

/**
 * The IPsec SAs our rekeys under `p1` replaced go, with one Delete (one Informational exchange)
 * for all of them: called when none of our Quick Modes waits on `p1` any more (and when `p1`
 * goes). Held until then because a peer keeps the IVs of a few exchanges per ISAKMP SA only and
 * may take our datagrams out of order: strongSwan keeps three, and its threads took the Delete
 * sent after a QM3 and the next QM1 before that QM3; with a Delete after each of four rekeys, the
 * IV of the Quick Mode in progress was forgotten (four exchanges since its QM1) and its QM3 did
 * not decrypt (seen with `isakmp rekey NAME` and four selector pairs).
 */
export function deleteReplaced(x: Engine, p1: P1): void {
  const held = x.replacedKids.get(p1);
  if (!held) return;
  x.replacedKids.delete(p1);
  const kids = held.filter((c) => c.state !== 'dead');
  if (kids.length === 0) return;
  const first = kids[0] as Child;
  const under = p1.life === 'established' ? p1 : x.sas.bestP1For(first.pairKey, first.conn.name) ?? x.sas.bestP1For(first.pairKey);
  if (under) sendInfo(x, under, deletePayloads(under, kids));
  for (const c of kids) removeChild(x, c, 'local');
}

/** D payloads for IPsec SAs: one per protocol, with our inbound SPIs. */
function deletePayloads(p1: P1, kids: readonly Child[]): Payload[] {
  const byProto = new Map<number, Uint8Array[]>();
  for (const c of kids) {
    for (const p of c.info.protocols) {
      const spis = byProto.get(p.protocol);
      if (spis) spis.push(p.inbound.spi);
      else byProto.set(p.protocol, [p.inbound.spi]);
    }
  }
  const payloads: Payload[] = [];
  for (const [protocol, spis] of byProto) payloads.push({ type: 'D', doi: p1.doi.id, protocol, spiSize: 4, spis });
  return payloads;
}

/** Delete for IPsec SAs: our inbound SPIs, under the newest established ISAKMP SA with the peer. */
export function sendDeleteChildren(x: Engine, kids: readonly Child[]): void {
  for (const c of kids) {
    const p1 = x.sas.bestP1For(c.pairKey, c.conn.name) ?? x.sas.bestP1For(c.pairKey);
    if (!p1) continue;
    sendInfo(x, p1, deletePayloads(p1, [c]));
  }
}

/** Deletes IPsec SAs on our side: the peer is told, then they go (`deleted` by local). */
export function deleteChildren(x: Engine, kids: readonly Child[]): void {
  for (const c of kids) {
    sendDeleteChildren(x, [c]);
    removeChild(x, c, 'local');
  }
}

/** A new Quick Mode replaces this IPsec SA (it is deleted when the new one is up). */
/**
 * Can we rekey `child` at all? A Quick Mode needs an established ISAKMP SA with the peer, or a
 * new phase 1, which a connection to '%any' (a responder for whoever comes) cannot initiate.
 */
export function canRekeyChild(x: Engine, child: Child): boolean {
  if (child.conn.remote.address !== '%any') return true;
  for (const p1 of x.sas.p1sOfPair(child.pairKey)) if (p1.life === 'established') return true;
  return false;
}

export function rekeyChild(x: Engine, now: number, child: Child): void {
  if (child.state !== 'installed') return;
  if (isRemoteAccessGateway(child.conn)) {
    // under the client's own ISAKMP SA (its address is not in the connection), whether the client
    // negotiated the SA or our own rekey of one did
    gatewayRekeyChild(x, now, child);
    return;
  }
  child.state = 'rekeying';
  requestQm(x, now, { conn: x.conns.current(child.conn), rekeyOf: child });
}

/**
 * Is there a newer IPsec SA than `child` for the same traffic (same connection, peer and
 * selectors) that we renew ourselves (its rekey is scheduled or running)? Then `child` is not
 * rekeyed at its soft lifetime but expires: without this, each of two SAs of ours for the same
 * traffic renews itself every lifetime for ever. Only a newer SA that we renew counts: whether the
 * peer renews its own is the peer's policy, and skipping ours for it could leave none.
 */
export function supersededChild(x: Engine, child: Child): boolean {
  for (const c of x.sas.childrenOfPair(child.pairKey)) {
    if (c === child || c.conn.name !== child.conn.name || c.peerKey !== child.peerKey) continue;
    if (c.state !== 'rekeying' && (c.state !== 'installed' || c.tSoft?.live !== true)) continue;
    if (c.info.establishedAt > child.info.establishedAt && sameSaSelectors(c.info, child.info)) return true;
  }
  return false;
}

/** Lifetime reached: `expired`, a Delete, gone. */
export function expireChild(x: Engine, child: Child, hard: boolean): void {
  x.emit({ type: 'expired', kind: 'ipsec', id: child.info.id, connection: child.conn.name, hard });
  sendDeleteChildren(x, [child]);
  removeChild(x, child, undefined);
}

/** Removes an IPsec SA (`deleted` event when `by` says who deleted it; none on expiry). */
export function removeChild(x: Engine, c: Child, by: 'local' | 'peer' | undefined): void {
  if (c.state === 'dead') return;
  c.state = 'dead';
  x.timers.cancel(c.tSoft);
  x.timers.cancel(c.tHard);
  x.sas.removeChild(c);
  if (by) {
    x.emit({ type: 'deleted', kind: 'ipsec', id: c.info.id, connection: c.conn.name, by, spis: c.info.protocols.map((p) => p.inbound.spi) });
  }
  for (const p of c.info.protocols) C.wipe(p.inbound.keymat, p.outbound.keymat);
}

/**
 * Dataplane byte counts of an IPsec SA: `bytes` in total (both directions) for kilobyte
 * lifetimes (soft: the initiator rekeys; hard: expiry); `inboundBytes`, when the dataplane tells
 * them apart, received so far: more than last time is a sign of life of the peer (DPD sends
 * nothing then). A total alone says nothing about the peer (our own traffic to a dead peer
 * counts too), so it does not count as one.
 */
export function reportTraffic(x: Engine, now: number, child: Child, bytes: number, inboundBytes?: number): void {
  if (inboundBytes !== undefined) {
    const p1 = x.sas.findP1ById(child.info.isakmpSa) ?? x.sas.bestP1For(child.pairKey, child.conn.name);
    const live = p1?.live;
    if (p1 && live && p1.life === 'established') {
      const seen = (live.inboundBytes ??= new Map());
      if (inboundBytes > (seen.get(child.info.id) ?? 0)) inbound(x, now, p1);
      seen.set(child.info.id, inboundBytes);
    }
  }
  child.bytes = Math.max(child.bytes, bytes);
  const limit = child.info.lifetimeKilobytes * 1024;
  if (!limit) return;
  if (child.bytes >= limit) {
    expireChild(x, child, true);
  } else if (child.bytes >= limit * 0.9 && child.state === 'installed' && (child.info.role === 'initiator' || gatewayRekeys(child.conn, child.info.role))) {
    x.emit({ type: 'expired', kind: 'ipsec', id: child.info.id, connection: child.conn.name, hard: false });
    rekeyChild(x, now, child);
  }
}
