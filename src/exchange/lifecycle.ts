/** (split from endpoint.ts) */
import * as C from './crypto.js';
import { type Payload } from '../codec/types.js';
import { NotifyType, ProtocolId } from '../constants/index.js';
import { addTo, bucketSize, bucketView, decrement, removeFrom } from './bucket.js';
import { sendInfo } from './drivers/informational.js';
import { requestQm, startPhase1 } from './drivers/phase1.js';
import { clearQmRetransmit, startQuick } from './drivers/quick-mode.js';
import { Engine } from './engine.js';
import { initialContact } from './extensions/initial-contact.js';
import { clearHalfOpen } from './half-open.js';
import { sameAddressPort } from './keys.js';
import { NO_PENDING, P1, PendingQm, Tk } from './records.js';
import { seenTotal } from './replay.js';
import { findAll } from './scripts.js';
import { p1Id, p1Info, peerKeyOf, peerText } from './tables.js';
import { type Connection, type EngineEvent } from './types.js';
import { cookiePair } from './wire.js';

/** Phase 1 done: events, lifetime timers, handshake material wiped, pending Quick Modes started. */
export function established(eng: Engine, now: number, p1: P1, payloads: readonly Payload[]): void {
  p1.state = 'established';
  clearHalfOpen(eng, p1);
  if (!admitPeer(eng, now, p1)) return;
  if (p1.role === 'initiator') {
    clearRetransmit(eng, p1);
    p1.lastSent = undefined; // nothing of ours to repeat; lastRecv stays to ignore repeats
  }
  const hs = p1.hs;
  if (hs) {
    hs.dh?.wipe();
    C.wipe(hs.skeyid, hs.ni, hs.nr);
  }
  p1.hs = undefined;
  p1.establishedAt = now;
  if (eng.bestP1Memo.size !== 0) eng.bestP1Memo.clear();
  const life = p1.chosen!.lifetimeSeconds * 1000;
  p1.expiresAt = now + life;
  p1.tHard = eng.timers.add(p1.expiresAt, p1, Tk.P1Hard);
  if (p1.role === 'initiator' && p1.conn.rekey !== false) {
    p1.tSoft = eng.timers.add(now + life - rekeyMargin(eng, p1.conn, life), p1, Tk.P1Soft);
  }
  // INITIAL-CONTACT inside the authenticated exchange: forget older SAs with this peer.
  const ic = findAll(payloads, 'N').some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
  if (ic && !p1.rekeyOf) initialContact(eng, p1);
  const info = p1Info(eng, p1);
  eng.emit({
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
    eng.emit({ type: 'rekeyed', kind: 'isakmp', old: p1Id(eng, old), sa: info.id });
    if (old.state === 'established') sendDeleteP1(eng, now, old);
    removeP1(eng, old, { type: 'deleted', kind: 'isakmp', id: p1Id(eng, old), connection: old.conn.name, by: 'local' }, now);
  }
  const pending = p1.pending;
  p1.pending = NO_PENDING;
  for (const q of pending) startQuick(eng, now, p1, q);
}

/**
 * The per-peer caps at establishment (issue 9.6). Past the per-identity cap the oldest duplicate
 * (same identity, same address and port) is replaced; without one, or past the per-address cap,
 * the new SA is refused: deleted at once, with a `dropped` event that names the cap.
 */
export function admitPeer(eng: Engine, now: number, p1: P1): boolean {
  const key = peerKeyOf(p1);
  const same = bucketView(eng.p1ByPeerKey, key);
  let refusal: string | undefined;
  if (bucketSize(eng.p1ByPeerKey, key) >= eng.opt.maxIsakmpSasPerIdentity) {
    let oldest: P1 | undefined;
    for (const o of same) if (sameAddressPort(o.remote, p1.remote) && (!oldest || (o.establishedAt ?? 0) < (oldest.establishedAt ?? 0))) oldest = o;
    if (oldest) {
      eng.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'PEER_SA_LIMIT', reason: `peer ${peerText(p1.peerId)} holds ${eng.opt.maxIsakmpSasPerIdentity} ISAKMP SAs (max_isakmp_sas_per_identity): the oldest is replaced` });
      sendDeleteP1(eng, now, oldest);
      removeP1(eng, oldest, { type: 'deleted', kind: 'isakmp', id: p1Id(eng, oldest), connection: oldest.conn.name, by: 'local' });
    } else {
      refusal = `peer ${peerText(p1.peerId)} holds ${eng.opt.maxIsakmpSasPerIdentity} ISAKMP SAs (max_isakmp_sas_per_identity)`;
    }
  }
  if (!refusal && (eng.p1sOfAddress.get(p1.remote.address) ?? 0) >= eng.opt.maxIsakmpSasPerAddress) {
    refusal = `address ${p1.remote.address} holds ${eng.opt.maxIsakmpSasPerAddress} ISAKMP SAs (max_isakmp_sas_per_address)`;
  }
  if (refusal) {
    eng.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'PEER_SA_LIMIT', reason: `${refusal}: the new ISAKMP SA is refused` });
    sendDeleteP1(eng, now, p1);
    destroyP1(eng, p1);
    return false;
  }
  p1.peerKey = key;
  addTo(eng.p1ByPeerKey, key, p1);
  eng.p1sOfAddress.set(p1.remote.address, (eng.p1sOfAddress.get(p1.remote.address) ?? 0) + 1);
  return true;
}

export function rekeyMargin(eng: Engine, conn: Connection, lifeMs: number): number {
  const margin = conn.rekeyMarginSeconds !== undefined ? conn.rekeyMarginSeconds * 1000 : Math.min(lifeMs / 10, 540_000);
  const fuzz = (conn.rekeyFuzzPercent ?? 100) / 100;
  const r = eng.random(2);
  const jitter = margin * fuzz * (((r[0]! << 8) | r[1]!) / 65536);
  return Math.min(lifeMs * 0.9, margin + jitter);
}

/** After an exchange the peer started: near the message-ID budget the SA is replaced (see replay.ts). */
export function retireIfSpent(eng: Engine, now: number, p1: P1): void {
  if (seenTotal(p1) < eng.opt.messageIdBudget - 16 || p1.state !== 'established') return;
  if (p1.replacedBy && p1.replacedBy.state !== 'dead') return;
  retireP1(eng, now, p1);
}

/**
 * An ISAKMP SA that must be replaced before its lifetime ends (message-ID budget): the
 * initiator rekeys it; the responder deletes it (the peer negotiates a new one when it needs
 * one; IPsec SAs live on).
 */
export function retireP1(eng: Engine, now: number, p1: P1): void {
  eng.emit({ type: 'expired', kind: 'isakmp', id: p1Id(eng, p1), connection: p1.conn.name, hard: false });
  if (p1.role === 'initiator' && p1.conn.rekey !== false && eng.conns.has(p1.conn.name)) {
    rekeyP1(eng, now, p1);
    return;
  }
  sendDeleteP1(eng, now, p1);
  removeP1(eng, p1, { type: 'deleted', kind: 'isakmp', id: p1Id(eng, p1), connection: p1.conn.name, by: 'local' });
}

export function sendDeleteP1(eng: Engine, now: number, p1: P1): void {
  if (p1.state !== 'established') return;
  sendInfo(eng, now, p1, [{ type: 'D', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, spiSize: 16, spis: [cookiePair(p1)] }]);
}

export function rekeyP1(eng: Engine, now: number, p1: P1): void {
  if (p1.replacedBy && p1.replacedBy.state !== 'dead') return; // already rekeying
  const conn = eng.conns.get(p1.conn.name) ?? p1.conn;
  p1.replacedBy = startPhase1(eng, now, conn, [], p1);
}

export function clearRetransmit(eng: Engine, p1: P1): void {
  eng.timers.cancel(p1.rtx?.timer);
  p1.rtx = undefined;
}

/** Removes all state of a phase 1 (no event). */
/** Removes all state of a phase 1 (no event). Returns our Quick Modes that were in progress on it. */
export function destroyP1(eng: Engine, p1: P1): PendingQm[] {
  const orphans: PendingQm[] = [];
  if (p1.state === 'dead') return orphans;
  p1.state = 'dead';
  if (eng.bestP1Memo.size !== 0) eng.bestP1Memo.clear();
  if (p1.peerKey !== undefined) {
    removeFrom(eng.p1ByPeerKey, p1.peerKey, p1);
    decrement(eng.p1sOfAddress, p1.remote.address);
  }
  clearRetransmit(eng, p1);
  clearHalfOpen(eng, p1);
  eng.timers.cancel(p1.tSoft);
  eng.timers.cancel(p1.tHard);
  for (const qm of p1.qms?.values() ?? []) {
    clearQmRetransmit(eng, qm);
    eng.timers.cancel(qm.tTimeout);
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
  if (eng.p1s.get(p1.icKey) === p1) eng.p1s.delete(p1.icKey);
  removeFrom(eng.p1ByPair, p1.pairKey, p1);
  return orphans;
}

/**
 * Removes a phase 1 with its event. Our Quick Modes in progress on it (and those waiting for it)
 * are started again under another ISAKMP SA when `reissueAt` is given (rekey), else reported failed.
 */
export function removeP1(eng: Engine, p1: P1, event: EngineEvent, reissueAt?: number): void {
  if (p1.state === 'dead') return;
  const waiting = [...p1.pending, ...destroyP1(eng, p1)];
  p1.pending = NO_PENDING;
  eng.emit(event);
  for (const q of waiting) {
    if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
    if (reissueAt !== undefined) {
      if (q.rekeyOf) {
        if (q.rekeyOf.state !== 'installed') continue;
        q.rekeyOf.state = 'rekeying';
      }
      requestQm(eng, reissueAt, q);
    } else {
      eng.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify: 0, reason: 'ISAKMP SA removed during Quick Mode' });
    }
  }
}

/** Initiator without an answer: start over with fresh cookies (keying tries), else fail. */
export function retryOrFail(eng: Engine, now: number, p1: P1, reason: string): void {
  const tries = p1.tries + 1;
  if (p1.role !== 'initiator' || tries >= (p1.conn.keyingTries ?? 3) || !eng.conns.has(p1.conn.name)) {
    failP1(eng, p1, 0, reason);
    return;
  }
  const pending = p1.pending;
  const rekeyOf = p1.rekeyOf;
  p1.pending = NO_PENDING;
  destroyP1(eng, p1);
  eng.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'KEYING_RETRY', reason: `${reason}; keying try ${tries + 1}` });
  const again = startPhase1(eng, now, eng.conns.get(p1.conn.name)!, pending, rekeyOf && rekeyOf.state === 'established' ? rekeyOf : undefined);
  again.tries = tries;
}

export function failP1(eng: Engine, p1: P1, notify: number, reason: string): void {
  if (p1.state === 'dead') return;
  const pending = p1.pending;
  destroyP1(eng, p1);
  eng.emit({ type: 'failed', kind: 'isakmp', connection: p1.conn.name, peer: p1.remote, notify, reason });
  for (const q of pending) {
    if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
    eng.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify, reason: `phase 1 failed: ${reason}` });
  }
}

export function sendP1(eng: Engine, now: number, p1: P1, bytes: Uint8Array, retransmit: boolean): void {
  clearRetransmit(eng, p1);
  p1.lastSent = bytes; // short-lived: kept only until the next message of the exchange
  if (retransmit) p1.rtx = { count: 0, timer: eng.timers.add(now + eng.opt.retransmitBaseMs, p1, Tk.P1Retransmit) };
  eng.send(p1.local, p1.remote, bytes);
}
