/**
 * Main Mode (identity protection, exchange type 2; RFC 2409 §5):
 *
 *     Initiator                          Responder
 *     HDR, SA                     -->                          MM1
 *                                 <--    HDR, SA               MM2
 *     HDR, KE, Ni                 -->                          MM3
 *                                 <--    HDR, KE, Nr           MM4
 *     HDR*, IDii, [CERT,] AUTH    -->                          MM5
 *                                 <--    HDR*, IDir, [CERT,] AUTH   MM6
 *
 * AUTH is HASH_I / HASH_R (pre-shared key) or SIG_I / SIG_R (signatures). The script rows are
 * indexed by the state that expects the message; each step is named after the message it takes
 * and the one it sends. NAT-T's NAT-D payloads, the vendor IDs and INITIAL-CONTACT come from the
 * extensions' hooks.
 * @module
 */
import { encodeMessage } from '../../codec/index.js';
import { toHex } from '../../crypto/bytes.js';
import type { Payload } from '../../codec/types.js';
import { CertEncoding, ExchangeType, NotifyType, PayloadType } from '../../constants/index.js';
import { authPayloads, certRequests, checkNonce, ourIdPayload, verifyPeer } from '../auth.js';
import type { Engine } from '../engine.js';
import { payloadNames, traceMessage } from '../trace.js';
import { checkIkeAnswerOf } from '../offer-text.js';
import { authOut, authenticated, float, natdIn, natdOut, vendorIdsAnswer, vendorIdsIn, vendorIdsOut } from '../extensions/index.js';
import { deriveKeys, keAndNonce, setChosen, setIv } from '../key-schedule.js';
import { abandonP1, established, failP1, handOverQuickModes, sendP1 } from '../lifecycle.js';
import { authMethodOf, buildIkeSa } from '../proposals.js';
import { expectChosen, expectHandshake, expectKeys, ivOf, type ChosenP1, type MainModeState, type P1 } from '../records.js';
import { errorOf, missing } from '../refusal.js';
import { CERT, CR, NATD, NOTIFIES, VIDS, one, rule, type MessageScript } from '../scripts.js';
import type { Connection } from '../types.js';
import { ZERO8, checkOut, encodeEncrypted, firstPayloadBody, sendUnprotectedNotify } from '../wire.js';
import { phase1Driver, sendPlainPhase1, type Phase1Message, type Phase1Step } from './phase1.js';

/** The six messages: who sends each, encrypted or not, which payloads with which counts. */
export const MM = {
  mm1: { name: 'MM1', label: 'HDR, SA -->', from: 'I', encrypted: 'no', first: 'SA', rules: [rule('SA', 1, 1), VIDS] },
  mm2: { name: 'MM2', label: '<-- HDR, SA', from: 'R', encrypted: 'no', first: 'SA', rules: [rule('SA', 1, 1), VIDS] },
  mm3: { name: 'MM3', label: 'HDR, KE, Ni -->', from: 'I', encrypted: 'no', rules: [rule('KE', 1, 1), rule('NONCE', 1, 1), NATD, VIDS, CR] },
  mm4: { name: 'MM4', label: '<-- HDR, KE, Nr', from: 'R', encrypted: 'no', rules: [rule('KE', 1, 1), rule('NONCE', 1, 1), NATD, VIDS, CR] },
  mm5: { name: 'MM5', label: 'HDR*, IDii, [CERT,] HASH_I|SIG_I -->', from: 'I', encrypted: 'yes', rules: [rule('ID', 1, 1), rule('HASH', 0, 1), rule('SIG', 0, 1), CERT, CR, NOTIFIES, VIDS] },
  mm6: { name: 'MM6', label: '<-- HDR*, IDir, [CERT,] HASH_R|SIG_R', from: 'R', encrypted: 'yes', rules: [rule('ID', 1, 1), rule('HASH', 0, 1), rule('SIG', 0, 1), CERT, NOTIFIES, VIDS] },
} as const satisfies Record<string, MessageScript>;

/** RFC 2409 §5 Main Mode, message by message (public: tests and tools list it). */
export const MAIN_MODE: readonly MessageScript[] = [MM.mm1, MM.mm2, MM.mm3, MM.mm4, MM.mm5, MM.mm6];

const EMPTY = new Uint8Array(0);
const TYPE = ExchangeType.IDENTITY_PROTECTION;

/** A short name for a vendor ID in the template key (the extensions hand out the same few arrays). */
const vidKeys = new WeakMap<Uint8Array, string>();
function vidKey(data: Uint8Array): string {
  let k = vidKeys.get(data);
  if (k === undefined) vidKeys.set(data, (k = toHex(data)));
  return k;
}

/**
 * MM1 with zero cookies, and its SA payload body (SAi_b): they depend only on the offered
 * transforms, the authentication method and the vendor IDs, so they are encoded once per
 * distinct offer (many connections share one) and kept in a small bounded table.
 */
function mm1Template(x: Engine, conn: Connection): { message: Uint8Array; saiB: Uint8Array; names: readonly string[] } {
  const auth = authMethodOf(conn, true);
  const vids: Payload[] = [];
  vendorIdsOut(x, conn, vids);
  let key = `${auth}`;
  for (const v of vids) if (v.type === 'VID') key += `|${vidKey(v.data)}`;
  for (const p of conn.ike) key += `|${p.encryption},${p.keyLength ?? ''},${p.hash},${p.group},${p.lifetimeSeconds ?? ''}`;
  const cached = x.mm1Cache.get(key);
  if (cached) return cached;
  const payloads: Payload[] = [buildIkeSa(conn.ike, auth), ...vids];
  checkOut(MM.mm1, payloads);
  const message = encodeMessage({
    header: { initiatorCookie: ZERO8, responderCookie: ZERO8, nextPayload: PayloadType.SA, majorVersion: 1, minorVersion: 0, exchangeType: TYPE, flags: 0, messageId: 0 },
    payloads,
  });
  const t = { message, saiB: firstPayloadBody(message), names: payloadNames(payloads) };
  if (x.mm1Cache.size >= 64) x.mm1Cache.clear(); // local configuration only: a handful of distinct offers
  x.mm1Cache.set(key, t);
  return t;
}

/** Initiator: HDR, SA --> (MM1 is the same for every exchange of a connection but for the initiator cookie). */
export function initiatorSendMm1(x: Engine, now: number, p1: P1): void {
  const t = mm1Template(x, p1.conn);
  const bytes = t.message.slice();
  bytes.set(p1.ic, 0);
  expectHandshake(p1).saiB = t.saiB; // shared, read-only (hashed, never wiped: it is no secret)
  p1.exchangeState = 'sent-mm1';
  traceMessage(x, 'out', MM.mm1.name, p1.conn.name, p1.remote, t.names);
  sendP1(x, now, p1, bytes, true);
}

/** Responder: HDR, SA --> ; then <-- HDR, SA (the transform already chosen by the first-message checks). */
export function responderTakeMm1SendMm2(x: Engine, now: number, p1: ChosenP1, payloads: readonly Payload[], reply: Payload): void {
  vendorIdsIn(x, p1, payloads);
  const out: Payload[] = [reply];
  vendorIdsAnswer(x, p1, out);
  // RFC 2409 has no rule, but CVE-2016-5361: never retransmit this reply on a timer.
  sendPlainPhase1(x, now, p1, TYPE, MM.mm2, out, 'sent-mm2', false);
}

/** Initiator: <-- HDR, SA ; then HDR, KE, Ni --> */
export function initiatorTakeMm2SendMm3(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const conn = p1.conn;
  let cp1: ChosenP1;
  try {
    cp1 = setChosen(p1, checkIkeAnswerOf(conn, one(m.payloads, 'SA')));
  } catch (e) {
    throw abandonP1(x, p1, e);
  }
  p1.rc = new Uint8Array(m.header.responderCookie);
  vendorIdsIn(x, p1, m.payloads);
  const hs = expectHandshake(p1);
  const kn = keAndNonce(x, cp1.chosen.group);
  hs.dh = kn.dh;
  hs.nonce = kn.nonce;
  const out: Payload[] = [{ type: 'KE', data: kn.dh.publicKey }, { type: 'NONCE', data: kn.nonce }];
  certRequests(conn, out);
  natdOut(x, cp1, false, out);
  sendPlainPhase1(x, now, p1, TYPE, MM.mm3, out, 'sent-mm3', true);
  // an exact repeat of this answer is then dropped as REPEATED_MESSAGE (see drivers/phase1.ts)
  p1.lastRecv = x.fp(m.bytes);
}

/** Responder: HDR, KE, Ni --> ; then <-- HDR, KE, Nr */
export function responderTakeMm3SendMm4(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const cp1 = expectChosen(p1);
  const hs = expectHandshake(p1);
  const ke = one(m.payloads, 'KE');
  const ni = one(m.payloads, 'NONCE');
  checkNonce(ni.data);
  natdIn(x, cp1, m.payloads);
  const kn = keAndNonce(x, cp1.chosen.group);
  hs.dh = kn.dh;
  hs.nonce = kn.nonce;
  let gxy: Uint8Array;
  try {
    gxy = kn.dh.computeSharedSecret(ke.data);
  } catch (e) {
    const { notify, reason } = errorOf(e);
    sendUnprotectedNotify(x, p1.local, p1.remote, p1.ic, notify || NotifyType.INVALID_KEY_INFORMATION);
    failP1(x, p1, notify, reason);
    throw e;
  }
  const kp1 = deriveKeys(cp1, hs, { gxy, ni: new Uint8Array(ni.data), nr: kn.nonce, gxi: new Uint8Array(ke.data), gxr: kn.dh.publicKey });
  const out: Payload[] = [{ type: 'KE', data: kn.dh.publicKey }, { type: 'NONCE', data: kn.nonce }];
  certRequests(p1.conn, out);
  natdOut(x, kp1, true, out);
  sendPlainPhase1(x, now, p1, TYPE, MM.mm4, out, 'sent-mm4', false);
  p1.lastRecv = x.fp(m.bytes);
  // the peer answered our MM2 at its address: no longer evicted to make room for new MM1s
  x.halfOpen.unlinkEvictable(p1);
}

/** Initiator: <-- HDR, KE, Nr ; then HDR*, IDii, [CERT,] HASH_I|SIG_I --> */
export function initiatorTakeMm4SendMm5(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const cp1 = expectChosen(p1);
  const hs = expectHandshake(p1);
  const ke = one(m.payloads, 'KE');
  const nr = one(m.payloads, 'NONCE');
  let gxy: Uint8Array;
  natdIn(x, cp1, m.payloads);
  const dh = hs.dh ?? missing('our DH key pair');
  try {
    checkNonce(nr.data);
    gxy = dh.computeSharedSecret(ke.data);
  } catch (e) {
    throw abandonP1(x, p1, e);
  }
  const kp1 = deriveKeys(cp1, hs, { gxy, ni: hs.nonce ?? missing('our nonce'), nr: new Uint8Array(nr.data), gxi: dh.publicKey, gxr: new Uint8Array(ke.data) });
  const out: Payload[] = [ourIdPayload(p1, hs), ...authPayloads(kp1, hs, true)];
  authOut(x, p1, out);
  checkOut(MM.mm5, out);
  traceMessage(x, 'out', MM.mm5.name, p1.conn.name, p1.remote, out);
  // RFC 3947 §4: the initiator floats to the NAT-T port from MM5 on
  float(x, p1);
  p1.exchangeState = 'sent-mm5';
  // a rekey: no Quick Mode of ours ends under the old SA once the peer may hold the new one
  if (p1.rekeyOf) handOverQuickModes(x, p1, p1.rekeyOf);
  const { bytes, nextIv } = encodeEncrypted(kp1, TYPE, 0, 0, out, ivOf(kp1));
  setIv(kp1, nextIv);
  sendP1(x, now, p1, bytes, true);
  p1.lastRecv = x.fp(m.bytes);
}

/** Responder: HDR*, IDii, HASH_I --> ; then <-- HDR*, IDir, HASH_R ; established. */
export function responderTakeMm5SendMm6(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const kp1 = expectKeys(p1);
  const hs = expectHandshake(p1);
  // the IV after MM5 first: an error notify under the phase-1 keys continues from it
  setIv(kp1, m.nextIv ?? missing('MM5 IV'));
  try {
    verifyPeer(x, kp1, hs, one(m.payloads, 'ID'), m.payloads, true);
  } catch (e) {
    throw abandonP1(x, p1, e);
  }
  authenticated(x, p1, true);
  p1.lastRecv = x.fp(m.bytes);
  const out: Payload[] = [ourIdPayload(p1, hs), ...authPayloads(kp1, hs, false)];
  authOut(x, p1, out);
  checkOut(MM.mm6, out);
  traceMessage(x, 'out', MM.mm6.name, p1.conn.name, p1.remote, out);
  const enc = encodeEncrypted(kp1, TYPE, 0, 0, out, ivOf(kp1));
  setIv(kp1, enc.nextIv);
  p1.exchangeState = 'done';
  sendP1(x, now, p1, enc.bytes, false);
  established(x, now, kp1, m.payloads);
}

/** Initiator: <-- HDR*, IDir, HASH_R ; established. */
export function initiatorTakeMm6(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const kp1 = expectKeys(p1);
  setIv(kp1, m.nextIv ?? missing('MM6 IV'));
  try {
    verifyPeer(x, kp1, expectHandshake(p1), one(m.payloads, 'ID'), m.payloads, false);
  } catch (e) {
    throw abandonP1(x, p1, e);
  }
  p1.lastRecv = x.fp(m.bytes);
  p1.exchangeState = 'done';
  established(x, now, kp1, m.payloads);
}

export const mainModeDriver = phase1Driver('main', TYPE, MM.mm1, {
  decodeInPlace: true,
  // the script rows by the state that expects them
  steps: {
    'sent-mm1': { receives: MM.mm2, learnsResponderCookie: true, step: initiatorTakeMm2SendMm3 },
    'sent-mm2': { receives: MM.mm3, step: responderTakeMm3SendMm4 },
    'sent-mm3': { receives: MM.mm4, step: initiatorTakeMm4SendMm5 },
    'sent-mm4': { receives: MM.mm5, step: responderTakeMm5SendMm6 },
    'sent-mm5': { receives: MM.mm6, step: initiatorTakeMm6 },
  } satisfies { readonly [S in MainModeState]?: Phase1Step },
  start: initiatorSendMm1,
  answer: responderTakeMm1SendMm2,
});
