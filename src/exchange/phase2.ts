/**
 * What every exchange under an ISAKMP SA with its own message ID shares (Quick Mode,
 * Informational, and the Transaction exchange to come): the arrival checks, message IDs (fresh
 * ones for us; the peer's kept to refuse replays within a budget, replay.ts), the per-message-ID
 * IV (RFC 2409 App. B), protected messages whose first payload is HASH(1) = prf(SKEYID_a, M-ID |
 * rest) (Informational and Transaction; Quick Mode's HASH(1) is the same, its HASH(2)/(3) are
 * its own), and the short memory of finished exchanges that answers a repeated request.
 * @module
 */
import { encodePayloads, payloadTypeOf } from '../codec/index.js';
import type { Header, Payload } from '../codec/types.js';
import { HeaderFlag, NotifyType, PayloadType } from '../constants/index.js';
import { bytesEqual, readUint32be } from '../crypto/bytes.js';
import * as C from './crypto.js';
import type { Engine } from './engine.js';
import { isEstablished, ivOf, skeyidAOf, type KeyedP1, type P1 } from './records.js';
import { Refused, missing, refuse, remote } from './refusal.js';
import type { RemoteProtocolError } from '../errors.js';
import { seenTotal, wasSeen } from './replay.js';
import { afterFirstPayload, checkOut, decrypt, encryptRaw, hashFirst } from './wire.js';
import { checkMessage, type MessageScript } from './scripts.js';
import type { Address } from './types.js';
import type { DeletedSa } from './deleted-sas.js';

/**
 * An exchange that needs an established ISAKMP SA (Quick Mode, Transaction): the cookies must name
 * one, from its peer, and the message must be encrypted with a non-zero message ID.
 */
export function requireEstablished(x: Engine, p1: P1 | undefined, h: Header, remoteAddr: Address, what: string): KeyedP1 {
  if (p1 && awaitsAm3(p1, h, remoteAddr)) throw am3Missing(p1, what);
  if (!isEstablished(p1) || !bytesEqual(p1.rc, h.responderCookie) || !samePeer(p1, remoteAddr)) {
    const gone = p1 === undefined && (h.flags & HeaderFlag.ENCRYPTION) !== 0 ? x.deleted.find(h.initiatorCookie, h.responderCookie, remoteAddr.address) : undefined;
    if (gone) throw deletedSaInUse(gone, what);
    throw remote(NotifyType.INVALID_COOKIE, `${what} without an established ISAKMP SA`);
  }
  if (!(h.flags & HeaderFlag.ENCRYPTION)) throw remote(NotifyType.INVALID_FLAGS, `${what} must be encrypted`);
  if (h.messageId === 0) throw remote(NotifyType.INVALID_MESSAGE_ID, `${what} with message ID 0`);
  return p1;
}

/** `what` (the driver's word for the exchange) as a log reason names it. */
function exchangeLabel(what: string): string {
  return what === 'transaction' ? 'Transaction exchange (Mode Config or XAUTH)' : what;
}

/** An encrypted message under the cookies of our Aggressive Mode responder phase 1 that waits for message 3, from its peer. */
function awaitsAm3(p1: P1, h: Header, remoteAddr: Address): boolean {
  return p1.life === 'negotiating' && p1.exchangeState === 'sent-am2' && p1.hs !== undefined && (h.flags & HeaderFlag.ENCRYPTION) !== 0 && bytesEqual(p1.rc, h.responderCookie) && samePeer(p1, remoteAddr);
}

/**
 * The peer's Aggressive Mode message 3 did not arrive, but its next exchange did: it holds the
 * phase 1 as up (the initiator is done once it sent message 3) and does not repeat message 3
 * (strongSwan answers our message 2 repeated with "next request already sent"). Without message 3
 * there are no keys to read it with (its IV follows from message 3's last block) and no HASH_I:
 * dropped, and the phase 1 stays half-open in case message 3 was only late. Named once at the
 * default level (a Failure), its repeats are plain drops; the half-open timeout names it again.
 */
function am3Missing(p1: P1, what: string): RemoteProtocolError {
  const hs = p1.hs ?? missing('the handshake');
  const exchange = exchangeLabel(what);
  const reason = `the peer's Aggressive Mode message 3 never arrived, but it sent a ${exchange} under this half-open phase 1 (connection ${p1.conn.name}): probably a lost datagram; the peer holds phase 1 as up and does not repeat message 3, so nothing comes up until it gives that up and starts over`;
  if (hs.am3Missing) return remote(NotifyType.INVALID_COOKIE, reason);
  hs.am3Missing = true;
  return refuse(NotifyType.INVALID_COOKIE, 'NO_ANSWER', reason);
}

/**
 * The peer goes on under an ISAKMP SA we deleted: our Delete never arrived (it is sent once and
 * not answered). Nothing can be read (the keys are gone); named once per SA at the default level
 * (a Failure), later messages under it are plain drops (deleted-sas.ts).
 */
function deletedSaInUse(gone: DeletedSa, what: string): RemoteProtocolError {
  const exchange = exchangeLabel(what);
  const reason = `the peer sent a ${exchange} under ISAKMP SA ${gone.id} (connection ${gone.connection}), which we deleted: unless it crossed our Delete on the way, the Delete never arrived (a lost datagram), so the peer still holds that SA and repeats this until its retransmissions give up, then starts over with a new phase 1 (sooner with DPD on its side)`;
  if (gone.named) return remote(NotifyType.INVALID_COOKIE, reason);
  gone.named = true;
  return refuse(NotifyType.INVALID_COOKIE, 'NO_ANSWER', reason);
}

/** The datagram came from the SA's peer address (the port may differ: NAT-T). */
export function samePeer(p1: P1, r: Address): boolean {
  return p1.remote.address.toLowerCase() === r.address.toLowerCase();
}

/** The first IV of an exchange with message ID `msgId`: hash(last phase-1 block | M-ID). */
export function phase2Iv(p1: KeyedP1, msgId: number): Uint8Array {
  return C.phase2Iv(p1.prf, ivOf(p1), msgId, p1.cipher.blockSize);
}

/** A message ID for an exchange we start: random, not in use under this SA. */
export function freshMsgId(x: Engine, p1: P1): number {
  for (;;) {
    const id = readUint32be(x.random(4));
    if (msgIdFree(p1, id)) return id;
  }
}

export function msgIdFree(p1: P1, id: number): boolean {
  return id !== 0 && !p1.qms?.has(id) && doneFor(p1, id) === undefined;
}

/** A recently finished exchange of this SA (see P1.done / doneId): its last request and answer. */
export function doneFor(p1: P1, msgId: number): { readonly recv: number | undefined; readonly sent: Uint8Array | undefined } | undefined {
  if (p1.doneId === (msgId | 0)) return { recv: p1.doneRecv, sent: p1.doneSent };
  return p1.done?.find((d) => d.msgId === msgId);
}

/**
 * A byte-identical repeat (fingerprint `fp`) of the last request of a recently finished exchange
 * under `msgId`, any of them when the peer used the ID for several: its answer, to send again.
 */
export function repeatOf(p1: P1, msgId: number, fp: number): { readonly sent: Uint8Array | undefined } | undefined {
  if (p1.doneId === (msgId | 0) && p1.doneRecv === fp) return { sent: p1.doneSent };
  return p1.done?.find((d) => d.msgId === msgId && d.recv === fp);
}

/** Remembers a finished exchange briefly: a byte-identical repeat of its last request gets its last answer again. */
export function rememberDone(p1: P1, msgId: number, recv: number | undefined, sent: Uint8Array): void {
  if (p1.doneId !== 0) {
    const done = (p1.done ??= []);
    done.push({ msgId: p1.doneId >>> 0, recv: p1.doneRecv, sent: p1.doneSent });
    if (done.length > 3) done.shift();
  }
  p1.doneId = msgId | 0; // signed: a small integer for V8 (see records.ts)
  p1.doneRecv = recv;
  p1.doneSent = sent;
}

/** Refuses a message ID the peer used before under this SA, or one past the SA's budget. */
export function checkFreshMsgId(x: Engine, p1: P1, msgId: number): void {
  if (wasSeen(p1, msgId)) throw remote(NotifyType.INVALID_MESSAGE_ID, 'message ID already used (replay)');
  if (seenTotal(p1) >= x.opt.messageIdBudget) throw new Refused('MESSAGE_ID_BUDGET', 'message-ID budget of this ISAKMP SA used up (it is being replaced)');
}

/**
 * A message under the ISAKMP SA from the peer shows that phase 1 is complete on its side too:
 * the last phase-1 message need not be kept for retransmission any longer.
 */
export function phase1Confirmed(p1: P1): void {
  if (p1.lastRecv !== undefined && p1.life === 'established') {
    p1.lastRecv = undefined;
    p1.lastSent = undefined;
  }
}

/**
 * Decrypts a protected message whose first payload is HASH(1) = prf(SKEYID_a, M-ID | rest) and
 * checks that hash; `script`, when given, is checked after the hash (never before: an
 * unauthenticated message learns nothing from our refusal).
 */
export function openHashed(p1: KeyedP1, iv: Uint8Array, bytes: Uint8Array, msgId: number, what: string, script?: MessageScript): { payloads: Payload[]; nextIv: Uint8Array } {
  const { payloads, plain, nextIv } = decrypt(p1, iv, bytes);
  const h = payloads[0];
  if (h?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, `${what} must start with HASH(1)`);
  const expected = C.informationalHash({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: msgId, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, h.data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, `${what} HASH(1) does not verify`);
  p1.heard++;
  if (script) checkMessage(script, payloads);
  return { payloads, nextIv };
}

/** HDR*, HASH(1), payloads: a protected message of `exchangeType`, encrypted from `iv`. */
export function sealHashed(p1: KeyedP1, exchangeType: number, msgId: number, flags: number, payloads: readonly Payload[], iv: Uint8Array, script: MessageScript): { bytes: Uint8Array; nextIv: Uint8Array } {
  const first = payloads[0] ?? missing('a payload after HASH(1)');
  const rest = encodePayloads(payloads);
  const h = C.informationalHash({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: msgId, afterHash: rest });
  checkOut(script, [{ type: 'HASH', data: h }, ...payloads]);
  return encryptRaw(p1, exchangeType, msgId, HeaderFlag.ENCRYPTION | flags, PayloadType.HASH, hashFirst(h, payloadTypeOf(first), rest), iv);
}
