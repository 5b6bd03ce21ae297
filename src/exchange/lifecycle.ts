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
import { flatString, toHex } from '../crypto/bytes.js';
import { ProtocolId } from '../constants/index.js';
import type { Mutable, Payload } from '../codec/types.js';
import { peerIdWire, type PeerIdentity } from './authorization.js';
import * as C from './crypto.js';
import { sendInfo } from './drivers/informational.js';
import { startPhase1 } from './drivers/phase1.js';
import { clearQmRetransmit, requestQm, startQuick } from './drivers/quick-mode.js';
import type { Engine } from './engine.js';
import { authIn, established as livenessEstablished } from './extensions/index.js';
import { sameAddressPort, smi } from './keys.js';
import { NO_PENDING, Tk, encKeyOf, expectHandshake, hasKeys, type KeyedP1, type P1, type PendingQm } from './records.js';
import { seenTotal } from './replay.js';
import type { Connection, EngineEvent, IsakmpSaInfo } from './types.js';
import { cookiePair } from './wire.js';

const EMPTY = new Uint8Array(0);

/** Connection + authenticated identity: whose SAs the per-peer caps count together. */
function peerKeyOf(p1: P1): string {
  const id = p1.peerId ? peerIdWire(p1.peerId) : { idType: 0, data: EMPTY };
  return flatString(p1.conn.name + '\0' + id.idType + ':' + toHex(id.data));
}

/** A peer identity in words, for reasons (non-printable characters escaped by the loggers). */
export function peerText(id: PeerIdentity | undefined): string {
  if (!id) return '(unknown)';
  if (id.type === 'any') return '%any';
  if (id.type === 'other') return `ID type ${id.idType}`;
  return typeof id.value === 'string' ? id.value : `DN ${toHex(id.value)}`;
}

/** Phase 1 done: events, lifetime timers, handshake material wiped, pending Quick Modes started. */
export function established(x: Engine, now: number, p1: KeyedP1, payloads: readonly Payload[]): void {
  p1.life = 'established';
  clearHalfOpen(x, p1);
  if (!admitPeer(x, p1)) return;
  if (p1.role === 'initiator') {
    clearRetransmit(x, p1);
    p1.lastSent = undefined; // nothing of ours to repeat; lastRecv stays to ignore repeats
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
  const pending = p1.pending;
  p1.pending = NO_PENDING;
  for (const q of pending) startQuick(x, now, p1, q);
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
    destroyP1(x, p1);
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
 * `event` (default: `deleted` by local).
 */
export function deleteP1(x: Engine, p1: P1, event?: EngineEvent): void {
  sendDeleteP1(x, p1);
  removeP1(x, p1, event ?? { type: 'deleted', kind: 'isakmp', id: x.sas.p1Id(p1), connection: p1.conn.name, by: 'local' });
}

/** A new phase 1 replaces this one (it stays until the new one is established). */
export function rekeyP1(x: Engine, now: number, p1: P1): void {
  if (p1.replacedBy && p1.replacedBy.life !== 'dead') return; // already rekeying
  p1.replacedBy = startPhase1(x, now, x.conns.current(p1.conn), [], p1);
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
    clearQmRetransmit(x, qm);
    x.timers.cancel(qm.tTimeout);
    qm.dh?.wipe();
    if (qm.rekeyOf && qm.rekeyOf.state === 'rekeying') qm.rekeyOf.state = 'installed';
    if (qm.role === 'initiator') orphans.push(qm.rekeyOf ? { conn: qm.conn, rekeyOf: qm.rekeyOf } : { conn: qm.conn });
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
  return orphans;
}

/**
 * Removes a phase 1 with its event. Our Quick Modes in progress on it (and those waiting for it)
 * are started again under another ISAKMP SA when `reissueAt` is given (rekey), else reported failed.
 */
export function removeP1(x: Engine, p1: P1, event: EngineEvent, reissueAt?: number): void {
  if (p1.life === 'dead') return;
  const waiting = [...p1.pending, ...destroyP1(x, p1)];
  p1.pending = NO_PENDING;
  x.emit(event);
  for (const q of waiting) {
    if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
    if (reissueAt !== undefined) {
      if (q.rekeyOf) {
        if (q.rekeyOf.state !== 'installed') continue;
        q.rekeyOf.state = 'rekeying';
      }
      requestQm(x, reissueAt, q);
    } else {
      x.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify: 0, reason: 'ISAKMP SA removed during Quick Mode' });
    }
  }
}

/** Initiator without an answer: start over with fresh cookies (keying tries), else fail. */
export function retryOrFail(x: Engine, now: number, p1: P1, reason: string): void {
  const tries = (p1.hs?.tries ?? 0) + 1;
  const conn = x.conns.get(p1.conn.name);
  if (p1.role !== 'initiator' || tries >= (p1.conn.keyingTries ?? 3) || !conn) {
    failP1(x, p1, 0, reason);
    return;
  }
  const pending = p1.pending;
  const rekeyOf = p1.rekeyOf;
  p1.pending = NO_PENDING;
  destroyP1(x, p1);
  x.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'KEYING_RETRY', reason: `${reason}; keying try ${tries + 1}` });
  const again = startPhase1(x, now, conn, pending, rekeyOf && rekeyOf.life === 'established' ? rekeyOf : undefined);
  expectHandshake(again).tries = tries;
}

/** Our phase 1 (or the peer's) is abandoned: `failed` for it and for the Quick Modes waiting on it. */
export function failP1(x: Engine, p1: P1, notify: number, reason: string): void {
  if (p1.life === 'dead') return;
  const pending = p1.pending;
  destroyP1(x, p1);
  x.emit({ type: 'failed', kind: 'isakmp', connection: p1.conn.name, peer: p1.remote, notify, reason });
  for (const q of pending) {
    if (q.rekeyOf && q.rekeyOf.state === 'rekeying') q.rekeyOf.state = 'installed';
    x.emit({ type: 'failed', kind: 'ipsec', connection: q.conn.name, peer: p1.remote, notify, reason: `phase 1 failed: ${reason}` });
  }
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
