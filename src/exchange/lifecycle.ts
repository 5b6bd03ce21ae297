/**
 * The life of a phase 1 (ISAKMP SA) outside its exchange: established (per-peer caps, lifetime
 * timers, handshake material wiped, INITIAL-CONTACT, rekey completion, waiting Quick Modes
 * started — unless post-authentication steps hold them), rekeyed, retired, deleted, failed or
 * started over (keying tries); the retransmission of the phase-1 message we sent last; the
 * IsakmpSaInfo summary.
 *
 * Quick Mode hold: an exchange that must run after authentication and before any Quick Mode (the
 * Transaction exchange's XAUTH / Mode Config) calls holdQuickModes() before the SA is established
 * (from its extension's `established` hook at the latest) and releaseQuickModes() when done; our
 * Quick Modes wait on the SA meanwhile and the peer's are refused.
 * @module
 */
import { flatString, toHexFlat } from '../crypto/bytes.js';
import { NotifyType, ProtocolId, isErrorNotify, nameOf } from '../constants/index.js';
import { traceMessage } from './trace.js';
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { errorOf } from './refusal.js';
import type { Mutable, Payload } from '../codec/types.js';
import { peerIdWire, type PeerIdentity } from './authorization.js';
import * as C from './crypto.js';
import { sendInfo } from './drivers/informational.js';
import { startPhase1 } from './drivers/phase1.js';
import { clearQmRetransmit } from './drivers/quick-mode.js';
import { deleteReplaced } from './ipsec-sa.js';
import { requestQm, startWaiting } from './drivers/quick-mode-queue.js';
import type { Engine } from './engine.js';
import { authIn, established as livenessEstablished } from './extensions/index.js';
import { identityText } from './ids.js';
import { peerRefusalText } from './peer-refusal.js';
import { sameAddressPort, smi } from './keys.js';
import { NO_PENDING, Tk, encKeyOf, expectHandshake, hasKeys, type KeyedP1, type P1, type PendingQm, type Qm } from './records.js';
import { markSeen, seenTotal } from './replay.js';
import type { Address, Connection, EngineEvent, FailureCause, IsakmpSaInfo } from './types.js';
import { cookiePair, sendUnprotectedNotify } from './wire.js';

const EMPTY = new Uint8Array(0);

/** Connection + authenticated identity: whose SAs the per-peer caps count together. */
function peerKeyOf(p1: P1): string {
  const id = p1.peerId ? peerIdWire(p1.peerId) : { idType: 0, data: EMPTY };
  return flatString(p1.conn.name + '\0' + id.idType + ':' + toHexFlat(id.data));
}

/** A peer identity in words, for reasons (non-printable characters escaped by the loggers). */
export function peerText(id: PeerIdentity | undefined): string {
  return id === undefined ? '(unknown)' : identityText(id);
}

/** Phase 1 done: events, lifetime timers, handshake material wiped, pending Quick Modes started. */
export function established(x: Engine, now: number, p1: KeyedP1, payloads: readonly Payload[]): void {
  p1.life = 'established';
  clearHalfOpen(x, p1);
  if (!admitPeer(x, p1)) return;
  if (p1.role === 'initiator') {
    clearRetransmit(x, p1);
    p1.lastSent = undefined; // nothing of ours to repeat; lastRecv stays to know repeats (REPEATED_MESSAGE drops)
  }
  const hs = p1.hs;
  if (hs) {
    hs.dh?.wipe();
    C.wipe(hs.auth?.skeyid, hs.nonce);
  }
  p1.hs = undefined;
  p1.establishedAt = now;
  x.sas.p1sChanged();
  const life = p1.chosen.lifetimeSeconds * 1000;
  p1.expiresAt = smi(now + life);
  p1.tHard = x.timers.add(p1.expiresAt, p1, Tk.P1Hard);
  if (p1.role === 'initiator' && p1.conn.rekey !== false) {
    p1.tSoft = x.timers.add(now + life - rekeyMargin(x, p1.conn, life, p1.conn.ikeRekeyMarginSeconds ?? p1.conn.rekeyMarginSeconds), p1, Tk.P1Soft);
  }
  livenessEstablished(x, now, p1);
  authIn(x, p1, payloads);
  const info = p1Info(x, p1);
  x.emit({
    type: 'phase1-established',
    sa: info,
    peerId: p1.peerId,
    transform: p1.chosen,
    lifetimeSeconds: p1.chosen.lifetimeSeconds,
    keyLog: { initiatorCookie: p1.ic, responderCookie: p1.rc, encryptionKey: encKeyOf(p1), encryption: p1.chosen.encryption },
  });
  const old = p1.rekeyOf;
  if (old) {
    p1.rekeyOf = undefined;
    x.emit({ type: 'rekeyed', kind: 'isakmp', old: x.sas.p1Id(old), sa: info.id });
    sendDeleteP1(x, old);
    removeP1(x, old, { type: 'deleted', kind: 'isakmp', id: x.sas.p1Id(old), connection: old.conn.name, by: 'local' }, now);
  }
  if (p1.holds === 0) startPending(x, now, p1);
}

function startPending(x: Engine, now: number, p1: KeyedP1): void {
  startWaiting(x, now, p1);
}

/** A post-authentication step (e.g. XAUTH) must finish before Quick Mode may use this SA. */
export function holdQuickModes(p1: P1): void {
  p1.holds++;
}

/** A post-authentication step finished: when none is left, the waiting Quick Modes start. */
export function releaseQuickModes(x: Engine, now: number, p1: KeyedP1): void {
  if (p1.holds > 0) p1.holds--;
  if (p1.holds === 0 && p1.life === 'established') startPending(x, now, p1);
}

/**
 * The per-peer caps at establishment (issue 9.6). Past the per-identity cap the oldest duplicate
 * (same identity, same address and port) is replaced; without one, or past the per-address cap,
 * the new SA is refused: deleted at once, with a `dropped` event that names the cap.
 */
function admitPeer(x: Engine, p1: KeyedP1): boolean {
  const key = peerKeyOf(p1);
  let refusal: string | undefined;
  const max = x.opt.maxIsakmpSasPerIdentity;
  if (x.sas.countOfPeer(key) >= max) {
    let oldest: P1 | undefined;
    for (const o of x.sas.p1sOfPeer(key)) if (sameAddressPort(o.remote, p1.remote) && (!oldest || (o.establishedAt ?? 0) < (oldest.establishedAt ?? 0))) oldest = o;
    if (oldest) {
      x.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'PEER_SA_LIMIT', reason: `peer ${peerText(p1.peerId)} holds ${max} ISAKMP SAs (max_isakmp_sas_per_identity): the oldest is replaced` });
      deleteP1(x, oldest);
    } else {
      refusal = `peer ${peerText(p1.peerId)} holds ${max} ISAKMP SAs (max_isakmp_sas_per_identity)`;
    }
  }
  if (!refusal && x.sas.countOfAddress(p1.remote.address) >= x.opt.maxIsakmpSasPerAddress) {
    refusal = `address ${p1.remote.address} holds ${x.opt.maxIsakmpSasPerAddress} ISAKMP SAs (max_isakmp_sas_per_address)`;
  }
  if (refusal) {
    x.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'PEER_SA_LIMIT', reason: `${refusal}: the new ISAKMP SA is refused` });
    sendDeleteP1(x, p1);
    p1.life = 'negotiating'; // never established: failP1 reports it and its waiting Quick Modes
    failP1(x, p1, 0, `${refusal}: the new ISAKMP SA is refused`);
    return false;
  }
  x.sas.admit(p1, key);
  return true;
}

/**
 * How long before hard expiry an initiator rekeys: `marginSeconds` (default 10 % of the lifetime,
 * at most 9 min) plus random fuzz, at most 90 % of the lifetime.
 */
export function rekeyMargin(x: Engine, conn: Connection, lifeMs: number, marginSeconds: number | undefined): number {
  const margin = marginSeconds !== undefined ? marginSeconds * 1000 : Math.min(lifeMs / 10, 540_000);
  const fuzz = (conn.rekeyFuzzPercent ?? 100) / 100;
  const r = x.random(2);
  const jitter = margin * fuzz * ((((r[0] ?? 0) << 8) | (r[1] ?? 0)) / 65536);
  // whole milliseconds: timer deadlines stay small integers (no boxed number per timer entry)
  return Math.floor(Math.min(lifeMs * 0.9, margin + jitter));
}

/** After an exchange the peer started: near the message-ID budget the SA is replaced (see replay.ts). */
export function retireIfSpent(x: Engine, now: number, p1: P1): void {
  if (seenTotal(p1) < x.opt.messageIdBudget - 16 || p1.life !== 'established') return;
  if (p1.replacedBy && p1.replacedBy.life !== 'dead') return;
  // an ISAKMP SA that must be replaced before its lifetime ends (message-ID budget): the
  // initiator rekeys it; the responder deletes it (the peer negotiates a new one when it needs
  // one; IPsec SAs live on)
  x.emit({ type: 'expired', kind: 'isakmp', id: x.sas.p1Id(p1), connection: p1.conn.name, hard: false });
  if (p1.role === 'initiator' && p1.conn.rekey !== false && x.conns.has(p1.conn.name)) {
    rekeyP1(x, now, p1);
    return;
  }
  deleteP1(x, p1);
}

/** A Delete for an established ISAKMP SA (HDR*, HASH(1), D), nothing otherwise. */
export function sendDeleteP1(x: Engine, p1: P1): void {
  if (p1.life !== 'established') return;
  sendInfo(x, p1, [{ type: 'D', doi: p1.doi.id, protocol: ProtocolId.PROTO_ISAKMP, spiSize: 16, spis: [cookiePair(p1)] }]);
}

/**
 * Deletes an ISAKMP SA on our side: the peer is told (when established), then it goes with
 * `event` (default: `deleted` by local). Remembered briefly (deleted-sas.ts) in case the Delete
 * is lost and the peer goes on with it (an SA a rekey replaced is not: the peer has the new one).
 */
export function deleteP1(x: Engine, p1: P1, event?: EngineEvent): void {
  if (p1.life === 'established') x.deleted.remember(p1);
  sendDeleteP1(x, p1);
  removeP1(x, p1, event ?? { type: 'deleted', kind: 'isakmp', id: x.sas.p1Id(p1), connection: p1.conn.name, by: 'local' });
}

/**
 * Is there a newer established ISAKMP SA than `p1`, of the same connection with the same
 * authenticated peer, that we renew ourselves (its rekey is scheduled or running)? Then `p1` is
 * not rekeyed at its soft lifetime but expires: without this, each of two ISAKMP SAs of ours with
 * the peer renews itself (a DH exchange) every lifetime for ever. Only one we renew counts (see
 * supersededChild, ipsec-sa.ts).
 */
export function supersededP1(x: Engine, p1: P1): boolean {
  if (p1.peerKey === undefined) return false;
  const at = p1.establishedAt ?? 0;
  for (const o of x.sas.p1sOfPeer(p1.peerKey)) {
    if (o === p1 || o.life !== 'established' || o.conn.name !== p1.conn.name || (o.establishedAt ?? 0) <= at) continue;
    if (o.tSoft?.live === true || (o.replacedBy !== undefined && o.replacedBy.life !== 'dead')) return true;
  }
  return false;
}

/**
 * A new phase 1 replaces this one (it stays until the new one is established). Our Quick Modes
 * waiting on it wait for the new one instead, and so do those asked for meanwhile (see
 * successorOf in drivers/quick-mode-queue.ts); should the new one fail, they go back to this one.
 */
export function rekeyP1(x: Engine, now: number, p1: P1): void {
  if (p1.replacedBy && p1.replacedBy.life !== 'dead') return; // already rekeying
  // refused before anything changes (startPhase1 would refuse too, after the queue was taken)
  if (p1.conn.remote.address === '%any') throw new LocalProtocolError(0, `ISAKMP SA ${x.sas.p1Id(p1)}: connection ${p1.conn.name} cannot initiate a new phase 1 to %any (the peer rekeys it)`);
  const waiting = p1.pending === NO_PENDING ? [] : p1.pending;
  p1.pending = NO_PENDING;
  p1.replacedBy = startPhase1(x, now, x.conns.current(p1.conn), waiting, p1);
}

/**
 * Our Quick Mode `qm` got no answer at all, every retransmission of its first message included:
 * the peer has most likely lost the ISAKMP SA (restarted without INITIAL-CONTACT, failed over),
 * and every later Quick Mode or DPD probe under it would go unanswered too, so the IPsec SA being
 * rekeyed would expire and nothing would bring the tunnel back. The ISAKMP SA goes (with a
 * Delete: a peer that holds it and ignored the Quick Mode learns we dropped it; IPsec SAs stay,
 * as on any ISAKMP SA delete) and the Quick Mode, with those waiting behind it, is asked for
 * again: under another established ISAKMP SA with the peer, else after a new phase 1 (keying
 * tries apply). Once only: the same Quick Mode unanswered again simply fails.
 */
export function retryUnderNewPhase1(x: Engine, now: number, qm: Qm): void {
  const p1 = qm.p1;
  x.emit(failedEvent('ipsec', qm.conn.name, p1.remote, 0, `Quick Mode got no answer under ISAKMP SA ${x.sas.p1Id(p1)}: the peer has probably lost that SA (a restart?); it is deleted and the Quick Mode negotiated again under a new phase 1`, 'NO_ANSWER', true));
  const again: PendingQm[] = [{ ...takeBack(x, qm), secondTry: true }];
  p1.qms?.delete(qm.msgId);
  markSeen(p1, qm.msgId);
  if (p1.pending !== NO_PENDING) again.push(...p1.pending);
  p1.pending = NO_PENDING;
  deleteP1(x, p1);
  for (const q of again) requestQm(x, now, q, false);
}

/** A Quick Mode's timers stopped and its DH key wiped; the IPsec SA it rekeyed is no longer rekeying. */
function stopQm(x: Engine, qm: Qm): void {
  clearQmRetransmit(x, qm);
  x.timers.cancel(qm.tTimeout);
  qm.dh?.wipe();
  if (qm.rekeyOf && qm.rekeyOf.state === 'rekeying') qm.rekeyOf.state = 'installed';
}

/** A Quick Mode of ours stopped, as the request that starts it again elsewhere. */
function takeBack(x: Engine, qm: Qm): PendingQm {
  stopQm(x, qm);
  return qm.rekeyOf ? { conn: qm.conn, rekeyOf: qm.rekeyOf } : { conn: qm.conn, ts: { local: qm.localTs, remote: qm.remoteTs } };
}

/**
 * Our MM5 of `next`, which replaces `old`, goes now: our Quick Modes in flight on `old` stop and
 * wait for `next` (first in its queue), a late answer to them dropped as a message ID already
 * seen. A peer that moves its IPsec SAs to the new ISAKMP SA once that is established on its side
 * (strongSwan, at our MM5) deletes with the old one an IPsec SA whose Quick Mode ends under the
 * old one after that moment, while we would keep it. Should `next` fail, they go back to `old`
 * with the rest of its queue.
 */
export function handOverQuickModes(x: Engine, next: P1, old: P1): void {
  if (!old.qms) return;
  const moved: PendingQm[] = [];
  for (const qm of [...old.qms.values()]) {
    if (qm.role !== 'initiator') continue;
    moved.push(takeBack(x, qm));
    old.qms.delete(qm.msgId);
    markSeen(old, qm.msgId);
  }
  if (old.qms.size === 0) old.qms = undefined;
  if (moved.length > 0) next.pending = next.pending === NO_PENDING ? moved : [...moved, ...next.pending];
}

export function clearRetransmit(x: Engine, p1: P1): void {
  const hs = p1.hs;
  if (!hs) return;
  x.timers.cancel(hs.rtx?.timer);
  hs.rtx = undefined;
}

/** Sends a phase-1 message, kept as the last sent; `retransmit`: resent on a timer until answered. */
export function sendP1(x: Engine, now: number, p1: P1, bytes: Uint8Array, retransmit: boolean): void {
  clearRetransmit(x, p1);
  p1.lastSent = bytes; // short-lived: kept only until the next message of the exchange
  if (retransmit) expectHandshake(p1).rtx = { count: 0, timer: x.timers.add(now + x.opt.retransmitBaseMs, p1, Tk.P1Retransmit) };
  x.send(p1.local, p1.remote, bytes);
}

/** The phase 1 is no longer half-open: its timeout goes, and its place in the half-open table. */
export function clearHalfOpen(x: Engine, p1: P1): void {
  const hs = p1.hs;
  if (!hs) return;
  x.timers.cancel(hs.tHalf);
  hs.tHalf = undefined;
  x.halfOpen.release(p1);
}

/** Removes all state of a phase 1 (no event). Returns our Quick Modes that were in progress on it. */
export function destroyP1(x: Engine, p1: P1): PendingQm[] {
  const orphans: PendingQm[] = [];
  if (p1.life === 'dead') return orphans;
  p1.life = 'dead';
  clearRetransmit(x, p1);
  clearHalfOpen(x, p1);
  x.timers.cancel(p1.tSoft);
  x.timers.cancel(p1.tHard);
  x.timers.cancel(p1.live?.timer);
  for (const qm of p1.qms?.values() ?? []) {
    // ours go back to the caller (started again elsewhere, or failed); the peer's end here
    if (qm.role === 'initiator') orphans.push(takeBack(x, qm));
    else {
      stopQm(x, qm);
      x.emit({ type: 'failed', kind: 'ipsec', connection: qm.conn.name, peer: p1.remote, notify: 0, reason: 'ISAKMP SA removed during the Quick Mode' });
    }
  }
  p1.qms = undefined;
  if (p1.hs) {
    p1.hs.dh?.wipe();
    C.wipe(p1.hs.auth?.skeyid);
  }
  p1.hs = undefined;
  // SKEYID_d, SKEYID_a and the encryption key: the key block between the cookies and the IV
  if (hasKeys(p1)) p1.keys.fill(0, 16, p1.keys.length - p1.cipher.blockSize);
  x.sas.removeP1(p1);
  deleteReplaced(x, p1); // under another ISAKMP SA with the peer, if there is one
  return orphans;
}

/**
 * Removes a phase 1 with its event. Our Quick Modes in progress on it (and those waiting for it)
 * are started again under another ISAKMP SA when `reissueAt` is given (rekey), else reported failed.
 */
export function removeP1(x: Engine, p1: P1, event: EngineEvent, reissueAt?: number): void {
  if (p1.life === 'dead') return;
  const wasNegotiating = p1.life === 'negotiating';
  const waiting = [...p1.pending, ...destroyP1(x, p1)];
  p1.pending = NO_PENDING;
  x.emit(event);
  // a negotiation that ends without an ISAKMP SA: it was started, it failed
  if (wasNegotiating) x.emit({ type: 'failed', kind: 'isakmp', connection: p1.conn.name, peer: p1.remote, notify: 0, reason: 'negotiation abandoned (SA deleted)' });
  for (const q of waiting) {
    if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
    if (reissueAt !== undefined) {
      if (q.rekeyOf) {
        if (q.rekeyOf.state !== 'installed') continue;
        q.rekeyOf.state = 'rekeying';
      }
      requestQm(x, reissueAt, q, false);
    } else {
      x.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify: 0, reason: 'ISAKMP SA removed during Quick Mode' });
    }
  }
}

/** Initiator without an answer: start over with fresh cookies (keying tries), else fail. */
export function retryOrFail(x: Engine, now: number, p1: P1, reason: string): void {
  const tries = (p1.hs?.tries ?? 0) + 1;
  const peerError = p1.hs?.peerError ?? 0;
  const conn = x.conns.get(p1.conn.name);
  if (p1.role !== 'initiator' || tries >= (p1.conn.keyingTries ?? 3) || !conn) {
    failUnanswered(x, p1, reason);
    return;
  }
  const pending = p1.pending;
  const rekeyOf = p1.rekeyOf;
  p1.pending = NO_PENDING;
  destroyP1(x, p1);
  // a failure line for the operator at each try (not only when the last one ends, minutes later)
  x.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'KEYING_RETRY', cause: peerError !== 0 ? 'PEER_REFUSED' : 'NO_ANSWER', connection: p1.conn.name, reason: `${reason}; keying try ${tries + 1}` });
  const replaces = rekeyOf && rekeyOf.life === 'established' ? rekeyOf : undefined;
  const again = startPhase1(x, now, conn, pending, replaces, undefined, false);
  if (replaces) replaces.replacedBy = again;
  const hs = expectHandshake(again);
  hs.tries = tries;
  hs.peerError = peerError;
}

/**
 * A phase 1 the peer stopped answering fails: NO_ANSWER, or PEER_REFUSED when the peer sent an
 * error notify in clear meanwhile (not acted upon, see drivers/informational.ts: the likely cause).
 */
export function failUnanswered(x: Engine, p1: P1, reason: string): void {
  const peerError = p1.hs?.peerError ?? 0;
  if (peerError !== 0) failP1(x, p1, peerError, `${reason}; ${peerRefusalText(peerError, false, p1)}`, 'PEER_REFUSED');
  else failP1(x, p1, 0, reason, 'NO_ANSWER');
}

/**
 * Our phase 1 (or the peer's) is abandoned: `failed` for it and for the Quick Modes waiting on it;
 * when it was to replace an ISAKMP SA that still lives, those go back to that one instead.
 */
export function failP1(x: Engine, p1: P1, notify: number, reason: string, cause?: FailureCause): void {
  if (p1.life === 'dead') return;
  const pending = p1.pending;
  p1.pending = NO_PENDING;
  destroyP1(x, p1);
  x.emit(failedEvent('isakmp', p1.conn.name, p1.remote, notify, reason, cause));
  if (p1.rekeyOf?.life === 'established') {
    for (const q of pending) requestQm(x, x.lastNow, q, false);
    return;
  }
  for (const q of pending) {
    if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
    x.emit(failedEvent('ipsec', q.conn.name, p1.remote, notify, `phase 1 failed: ${reason}`, cause));
  }
}

/**
 * A phase 1 refused (ours or the peer's): the peer is told with an error notify where RFC 2408
 * allows it and policy permits (`sendErrorNotifies`) — protected under the phase-1 keys when both
 * sides hold the same (HDR*, HASH(1), N), else in clear with the exchange's cookies (a pre-shared
 * key mismatch: the peer could not read ours) — then the phase 1 fails with its cause. Returns
 * what to throw for the `dropped` event: without the cause, which the `failed` event carries.
 */
export function abandonP1(x: Engine, p1: P1, e: unknown): unknown {
  const { notify, reason, cause } = errorOf(e);
  if (p1.life === 'dead') return e;
  if (x.opt.sendErrorNotifies && notify !== 0 && isErrorNotify(notify)) {
    if (cause !== 'PSK_MISMATCH' && cause !== 'PEER_REFUSED' && hasKeys(p1)) {
      sendInfo(x, p1, [{ type: 'N', doi: p1.doi.id, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: cookiePair(p1), data: EMPTY }]);
    } else if (cause !== 'PEER_REFUSED') {
      const n = cause === 'PSK_MISMATCH' ? NotifyType.AUTHENTICATION_FAILED : notify;
      sendUnprotectedNotify(x, p1.local, p1.remote, p1.ic, n, p1.rc);
      traceMessage(x, 'out', 'NOTIFY', p1.conn.name, p1.remote, [`N(${nameOf(NotifyType, n)})`]);
    }
  }
  failP1(x, p1, notify, reason, cause);
  return cause !== undefined ? new RemoteProtocolError(notify, reason) : e;
}

/** A `failed` event, with its cause when known (`retrying`: the engine negotiates it again itself). */
export function failedEvent(kind: 'isakmp' | 'ipsec', connection: string, peer: Address, notify: number, reason: string, cause: FailureCause | undefined, retrying = false): EngineEvent {
  const e: Mutable<Extract<EngineEvent, { type: 'failed' }>> = { type: 'failed', kind, connection, peer, notify, reason };
  if (cause !== undefined) e.cause = cause;
  if (retrying) e.retrying = true;
  return e;
}

/** The summary of a phase 1 for isakmpSas() and events. */
export function p1Info(x: Engine, p1: P1): IsakmpSaInfo {
  // optional fields assigned in place (object spreads of conditional literals cost a clone each)
  const info: Mutable<IsakmpSaInfo> = {
    id: x.sas.p1Id(p1),
    connection: p1.conn.name,
    role: p1.role,
    exchange: p1.mode,
    state: p1.life === 'dead' ? 'deleting' : p1.life,
    local: p1.local,
    remote: p1.remote,
    initiatorCookie: p1.ic,
    responderCookie: p1.rc,
  };
  if (p1.peerId) info.peerId = p1.peerId;
  if (p1.chosen) info.transform = p1.chosen;
  if (p1.establishedAt !== undefined) info.establishedAt = p1.establishedAt;
  if (p1.expiresAt !== undefined) info.expiresAt = p1.expiresAt;
  if (p1.nat) info.nat = p1.nat;
  if (p1.dpdPeer) info.dpd = true;
  return info;
}
