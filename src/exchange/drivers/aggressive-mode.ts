/**
 * Aggressive Mode (exchange type 4; RFC 2409 §5):
 *
 *     Initiator                                   Responder
 *     HDR, SA, KE, Ni, IDii                -->                                   AM1
 *                                          <--    HDR, SA, KE, Nr, IDir, AUTH    AM2
 *     HDR*, AUTH                           -->                                   AM3
 *
 * AM3 is drawn in clear in RFC 2409 §5, but keys exist by then and strongSwan (among others)
 * requires it encrypted: we send HDR*, HASH_I with IV = hash(g^xi | g^xr), and accept both forms.
 * As responder, a first message costs a Diffie-Hellman exchange before the peer proved its
 * address: it is answered only within a rate (issue 9.7), and an unknown identity is refused like
 * a known one we refuse (issue 9.10).
 * @module
 */
import { encodePayloadBody } from '../../codec/index.js';
import type { Payload } from '../../codec/types.js';
import { ExchangeType, NotifyType } from '../../constants/index.js';
import { authPayloads, certRequests, checkNonce, ourIdPayload, verifyAuth, verifyPeer } from '../auth.js';
import { expectedPeerId } from '../authorization.js';
import { IPSEC_DOI } from '../doi.js';
import type { Engine } from '../engine.js';
import { traceMessage } from '../trace.js';
import { checkIkeAnswerOf } from '../offer-text.js';
import { authOut, authenticated, float, natdIn, natdOut, vendorIdsAnswer, vendorIdsIn, vendorIdsOut } from '../extensions/index.js';
import { idToIdentity, identityMatches } from '../ids.js';
import { deriveKeys, keAndNonce, setChosen, setIv } from '../key-schedule.js';
import { abandonP1, clearRetransmit, established, sendP1 } from '../lifecycle.js';
import { authMethodOf, buildIkeSa } from '../proposals.js';
import { expectChosen, expectHandshake, expectKeys, ivOf, type AggressiveModeState, type ChosenP1, type KeyedP1, type P1 } from '../records.js';
import { Refused, missing, refuse, remote } from '../refusal.js';
import { CERT, CR, NATD, NOTIFIES, VIDS, one, rule, type MessageScript } from '../scripts.js';
import { LocalProtocolError } from '../../errors.js';
import type { Connection } from '../types.js';
import { checkOut, encodeEncrypted, encodePlain, firstPayloadBody } from '../wire.js';
import { phase1Driver, sendPlainPhase1, type Phase1Message, type Phase1Step } from './phase1.js';

/** The three messages. */
export const AM = {
  am1: { name: 'AM1', label: 'HDR, SA, KE, Ni, IDii -->', from: 'I', encrypted: 'no', first: 'SA', rules: [rule('SA', 1, 1), rule('KE', 1, 1), rule('NONCE', 1, 1), rule('ID', 1, 1), CR, VIDS] },
  am2: { name: 'AM2', label: '<-- HDR, SA, KE, Nr, IDir, [CERT,] HASH_R|SIG_R', from: 'R', encrypted: 'no', first: 'SA', rules: [rule('SA', 1, 1), rule('KE', 1, 1), rule('NONCE', 1, 1), rule('ID', 1, 1), rule('HASH', 0, 1), rule('SIG', 0, 1), CERT, CR, NATD, VIDS] },
  am3: { name: 'AM3', label: 'HDR*, [CERT,] HASH_I|SIG_I -->', from: 'I', encrypted: 'either', rules: [rule('HASH', 0, 1), rule('SIG', 0, 1), CERT, NATD, NOTIFIES, VIDS] },
} as const satisfies Record<string, MessageScript>;

/** RFC 2409 §5 Aggressive Mode, message by message (public: tests and tools list it). */
export const AGGRESSIVE_MODE: readonly MessageScript[] = [AM.am1, AM.am2, AM.am3];

const TYPE = ExchangeType.AGGRESSIVE;

/** Initiator: HDR, SA, KE, Ni, IDii --> (one group: the KE goes with the offer). */
export function initiatorSendAm1(x: Engine, now: number, p1: P1): void {
  const conn = p1.conn;
  const hs = expectHandshake(p1);
  const sa = buildIkeSa(conn.ike, authMethodOf(conn, true));
  const group = conn.ike[0]?.group ?? missing('a phase-1 proposal');
  if (conn.ike.some((p) => p.group !== group)) throw new LocalProtocolError(0, 'aggressive mode: all proposals must use one group');
  const kn = keAndNonce(x, group);
  hs.dh = kn.dh;
  hs.nonce = kn.nonce;
  const payloads: Payload[] = [sa, { type: 'KE', data: kn.dh.publicKey }, { type: 'NONCE', data: kn.nonce }, ourIdPayload(p1, hs)];
  certRequests(conn, payloads);
  vendorIdsOut(x, conn, payloads);
  checkOut(AM.am1, payloads);
  traceMessage(x, 'out', AM.am1.name, p1.conn.name, p1.remote, payloads);
  const bytes = encodePlain(p1, TYPE, 0, payloads);
  // SAi_b: the SA payload body exactly as sent (the first payload; no second encoding)
  hs.saiB = firstPayloadBody(bytes);
  p1.exchangeState = 'sent-am1';
  sendP1(x, now, p1, bytes, true);
}

/**
 * Responder, before anything is decoded: the expensive answer (Diffie-Hellman, HASH_R or a
 * signature) only within the rate. Checked first, so that refusals cost no decoding, and so that
 * unknown and known identities meet the same rate (no enumeration by who is answered, 9.10).
 */
function admitAm1(x: Engine, now: number, m: { readonly remote: { readonly address: string } }): void {
  const addr = m.remote.address;
  const known = x.sas.countOfAddress(addr) > 0;
  if (!x.aggressiveLimiter.take(now, addr, known)) throw OVER_RATE;
}

/** Thrown for every first message over the rate: one object, no stack captured per refusal during a flood. */
const OVER_RATE = new Refused('RATE_LIMITED', 'Aggressive Mode first message over the rate limit (aggressive_rate): not answered');

/**
 * Responder: the identity must name a connection that allows Aggressive Mode (with PSK only when
 * allowed).
 */
function screenAm1(x: Engine, now: number, m: { readonly remote: { readonly address: string } }, payloads: readonly Payload[], all: readonly Connection[]): Connection[] {
  void x;
  void now;
  const id = one(payloads, 'ID');
  IPSEC_DOI.checkPhase1Id(id);
  const addr = m.remote.address;
  // an unknown identity and a known one we refuse get the same answer (NO_PROPOSAL_CHOSEN),
  // so that a scanner cannot enumerate group names (issue 9.10); the reasons differ in the log
  let candidates = all.filter((c) => identityMatches(expectedPeerId(c, addr), id.idType, id.data));
  if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no Aggressive Mode connection for this identity');
  const pskOff = candidates.filter((c) => c.auth === 'psk' && c.allowAggressivePsk !== true);
  candidates = candidates.filter((c) => c.auth !== 'psk' || c.allowAggressivePsk === true);
  if (candidates.length === 0) {
    // an operator's choice to name (a client configured for Aggressive Mode gets no answer)
    const names = pskOff.map((c) => c.name).join(', ');
    throw refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'POLICY_REFUSED', `Aggressive Mode with a pre-shared key refused as responder for connection ${names}: its answer would carry a hash of the key that anyone can try to crack offline; set allow_aggressive_psk_responder: true on the connection to answer it anyway`);
  }
  return candidates;
}

/** Responder: HDR, SA, KE, Ni, IDii --> ; then <-- HDR, SA, KE, Nr, IDir, HASH_R */
export function responderTakeAm1SendAm2(x: Engine, now: number, p1: ChosenP1, payloads: readonly Payload[], reply: Payload): void {
  const hs = expectHandshake(p1);
  const ke = one(payloads, 'KE');
  const ni = one(payloads, 'NONCE');
  const id = one(payloads, 'ID');
  checkNonce(ni.data);
  const kn = keAndNonce(x, p1.chosen.group);
  hs.dh = kn.dh;
  hs.nonce = kn.nonce;
  const gxy = kn.dh.computeSharedSecret(ke.data);
  hs.peerIdB = encodePayloadBody(id);
  hs.peerId = { idType: id.idType, data: new Uint8Array(id.data) };
  p1.peerId = idToIdentity(id.idType, id.data);
  const kp1 = deriveKeys(p1, hs, { gxy, ni: new Uint8Array(ni.data), nr: kn.nonce, gxi: new Uint8Array(ke.data), gxr: kn.dh.publicKey });
  const idp = ourIdPayload(p1, hs);
  vendorIdsIn(x, p1, payloads);
  const out: Payload[] = [reply, { type: 'KE', data: kn.dh.publicKey }, { type: 'NONCE', data: kn.nonce }, idp, ...authPayloads(kp1, hs, false)];
  certRequests(p1.conn, out);
  vendorIdsAnswer(x, p1, out);
  natdOut(x, kp1, false, out);
  sendPlainPhase1(x, now, p1, TYPE, AM.am2, out, 'sent-am2', false);
}

/** Initiator: <-- HDR, SA, KE, Nr, IDir, HASH_R ; then HDR*, HASH_I --> ; established. */
export function initiatorTakeAm2SendAm3(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const conn = p1.conn;
  const hs = expectHandshake(p1);
  let kp1: KeyedP1;
  try {
    const chosen = checkIkeAnswerOf(conn, one(m.payloads, 'SA'));
    if (chosen.group !== conn.ike[0]?.group) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'answer changes the group');
    const cp1 = setChosen(p1, chosen);
    p1.rc = new Uint8Array(m.header.responderCookie);
    const ke = one(m.payloads, 'KE');
    const nr = one(m.payloads, 'NONCE');
    checkNonce(nr.data);
    const dh = hs.dh ?? missing('our DH key pair');
    const gxy = dh.computeSharedSecret(ke.data);
    kp1 = deriveKeys(cp1, hs, { gxy, ni: hs.nonce ?? missing('our nonce'), nr: new Uint8Array(nr.data), gxi: dh.publicKey, gxr: new Uint8Array(ke.data) });
    verifyPeer(x, kp1, hs, one(m.payloads, 'ID'), m.payloads, false);
    vendorIdsIn(x, p1, m.payloads);
    natdIn(x, kp1, m.payloads);
  } catch (e) {
    throw abandonP1(x, p1, e);
  }
  const out = authPayloads(kp1, hs, true);
  natdOut(x, kp1, true, out);
  authOut(x, p1, out);
  checkOut(AM.am3, out);
  traceMessage(x, 'out', AM.am3.name, p1.conn.name, p1.remote, out);
  // RFC 3947 §4: in Aggressive Mode the initiator floats with AM3
  float(x, p1);
  p1.lastRecv = x.fp(m.bytes);
  p1.exchangeState = 'done';
  // AM3 encrypted (see the top of this file): HDR*, HASH_I with IV = hash(g^xi | g^xr)
  const enc = encodeEncrypted(kp1, TYPE, 0, 0, out, ivOf(kp1));
  setIv(kp1, enc.nextIv);
  clearRetransmit(x, p1);
  p1.lastSent = enc.bytes;
  x.send(p1.local, p1.remote, enc.bytes);
  established(x, now, kp1, m.payloads);
}

/** Responder: HDR[*], HASH_I --> ; established. */
export function responderTakeAm3(x: Engine, now: number, p1: P1, m: Phase1Message): void {
  const kp1 = expectKeys(p1);
  const hs = expectHandshake(p1);
  try {
    verifyAuth(x, kp1, hs, m.payloads, hs.peerIdB ?? missing("the peer's ID"), true, hs.peerId ?? missing("the peer's ID"));
  } catch (e) {
    throw abandonP1(x, p1, e);
  }
  natdIn(x, expectChosen(p1), m.payloads);
  if (p1.nat) authenticated(x, p1, true);
  if (m.nextIv) setIv(kp1, m.nextIv);
  p1.lastRecv = x.fp(m.bytes);
  p1.exchangeState = 'done';
  // a notify in a clear AM3 is not covered by HASH_I: act on INITIAL-CONTACT only when encrypted
  established(x, now, kp1, m.nextIv ? m.payloads : []);
}

export const aggressiveModeDriver = phase1Driver('aggressive', TYPE, AM.am1, {
  decodeInPlace: false,
  // the script rows by the state that expects them
  steps: {
    'sent-am1': { receives: AM.am2, learnsResponderCookie: true, step: initiatorTakeAm2SendAm3 },
    'sent-am2': { receives: AM.am3, step: responderTakeAm3 },
  } satisfies { readonly [S in AggressiveModeState]?: Phase1Step },
  start: initiatorSendAm1,
  admit: admitAm1,
  screen: screenAm1,
  answer: responderTakeAm1SendAm2,
});
