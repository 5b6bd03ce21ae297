/** (split from endpoint.ts) */
import * as C from './crypto.js';
import { type Mutable, type Payload } from '../codec/types.js';
import { addTo, decrement, removeFrom } from './bucket.js';
import { sendInfo } from './drivers/informational.js';
import { requestQm } from './drivers/phase1.js';
import { clearQmRetransmit } from './drivers/quick-mode.js';
import { Engine } from './engine.js';
import { hex, spiKey } from './keys.js';
import { rekeyMargin, retireIfSpent } from './lifecycle.js';
import { Child, Qm, Tk } from './records.js';
import { remote } from './refusal.js';
import { markSeen } from './replay.js';
import { bestP1For, p1Id } from './tables.js';
import { type DirectionKeys, type IpsecProtocolSa, type IpsecSaInfo } from './types.js';

/**
 * Keys of one direction: SPI | KEYMAT at `at` in a buffer both directions share. The views are
 * made on access (one byte array per IPsec SA instead of four per direction: fewer objects per
 * SA for the collector).
 */
export class Keys implements DirectionKeys {
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

/** KEYMAT for both directions of every protocol; the IPsec SA is born. */
export function qmDone(eng: Engine, now: number, qm: Qm): void {
  const p1 = qm.p1;
  const sel = qm.selection!;
  clearQmRetransmit(eng, qm);
  eng.timers.cancel(qm.tTimeout);
  p1.qms!.delete(qm.msgId);
  if (p1.qms!.size === 0) p1.qms = undefined;
  // remember the exchange briefly: a repeat of its last request gets its last response again
  // (only when there is one: a responder without the commit bit has nothing to resend)
  if (qm.role === 'responder') retireIfSpent(eng, now, p1);
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
    isakmpSa: p1Id(eng, p1),
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
  eng.children.set(info.id, child);
  addTo(eng.childByPair, child.pairKey, child);
  if (child.peerKey !== undefined) eng.childrenOfPeer.set(child.peerKey, (eng.childrenOfPeer.get(child.peerKey) ?? 0) + 1);
  for (let j = 0; j < spiKeys.length; j += 2) {
    eng.bySpi.set(spiKeys[j]!, child);
    addTo(eng.byPeerSpi, spiKeys[j + 1]!, child);
  }
  if (lifeSeconds) {
    const life = lifeSeconds * 1000;
    child.tHard = eng.timers.add(now + life, child, Tk.ChildHard);
    if (initiator && qm.conn.rekey !== false) child.tSoft = eng.timers.add(now + life - rekeyMargin(eng, qm.conn, life), child, Tk.ChildSoft);
  }
  eng.emit(qm.rekeyOf ? { type: 'ipsec-sa-established', sa: info, rekeyOf: qm.rekeyOf.info.id } : { type: 'ipsec-sa-established', sa: info });
  const old = qm.rekeyOf;
  if (old && old.state !== 'dead') {
    eng.emit({ type: 'rekeyed', kind: 'ipsec', old: old.info.id, sa: info.id });
    sendDeleteChildren(eng, now, [old]);
    removeChild(eng, old, 'local');
  }
}

/** Delete for IPsec SAs: our inbound SPIs, under the newest established ISAKMP SA with the peer. */
export function sendDeleteChildren(eng: Engine, now: number, kids: Child[]): void {
  for (const c of kids) {
    const p1 = bestP1For(eng, c.pairKey, c.conn.name) ?? bestP1For(eng, c.pairKey);
    if (!p1) continue;
    const byProto = new Map<number, Uint8Array[]>();
    for (const p of c.info.protocols) (byProto.get(p.protocol) ?? byProto.set(p.protocol, []).get(p.protocol)!).push(p.inbound.spi);
    const payloads: Payload[] = [];
    for (const [protocol, spis] of byProto) payloads.push({ type: 'D', doi: 1, protocol, spiSize: 4, spis });
    sendInfo(eng, now, p1, payloads);
  }
}

export function rekeyChild(eng: Engine, now: number, child: Child): void {
  if (child.state !== 'installed') return;
  child.state = 'rekeying';
  const conn = eng.conns.get(child.conn.name) ?? child.conn;
  requestQm(eng, now, { conn, rekeyOf: child });
}

export function expireChild(eng: Engine, now: number, child: Child, hard: boolean): void {
  eng.emit({ type: 'expired', kind: 'ipsec', id: child.info.id, connection: child.conn.name, hard });
  sendDeleteChildren(eng, now, [child]);
  removeChild(eng, child, undefined);
}

export function removeChild(eng: Engine, c: Child, by: 'local' | 'peer' | undefined): void {
  if (c.state === 'dead') return;
  c.state = 'dead';
  eng.timers.cancel(c.tSoft);
  eng.timers.cancel(c.tHard);
  eng.children.delete(c.info.id);
  removeFrom(eng.childByPair, c.pairKey, c);
  if (c.peerKey !== undefined) decrement(eng.childrenOfPeer, c.peerKey);
  for (const p of c.info.protocols) {
    const k = spiKey(p.inbound.spi);
    if (eng.bySpi.get(k) === c) eng.bySpi.delete(k);
    removeFrom(eng.byPeerSpi, spiKey(p.outbound.spi), c);
  }
  if (by) {
    eng.emit({ type: 'deleted', kind: 'ipsec', id: c.info.id, connection: c.conn.name, by, spis: c.info.protocols.map((p) => p.inbound.spi) });
  }
  for (const p of c.info.protocols) C.wipe(p.inbound.keymat, p.outbound.keymat);
}
