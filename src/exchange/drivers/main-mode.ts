/** (split from endpoint.ts) */
import { encodePayloadBody } from '../../codec/index.js';
import { type Header, type IdPayload, type Payload } from '../../codec/types.js';
import { CertEncoding, ExchangeType, NotifyType } from '../../constants/index.js';
import { authPayloads, checkNonce, verifyPeer } from '../auth.js';
import { Engine } from '../engine.js';
import { initialContactNotify, wantInitialContact } from '../extensions/initial-contact.js';
import { authedFrom, checkNatd, float, natdPayloads, natdPossible, nattEnabled, setNat } from '../extensions/nat-t.js';
import { peerVendorIds } from '../extensions/vendor-ids.js';
import { unlinkEvictable } from '../half-open.js';
import { identityToId } from '../ids.js';
import { deriveKeys, keAndNonce, setChosen, setIv } from '../key-schedule.js';
import { established, failP1, sendP1 } from '../lifecycle.js';
import { authMethodOf, checkIkeAnswer } from '../proposals.js';
import { P1 } from '../records.js';
import { errorOf } from '../refusal.js';
import { MAIN_MODE, find } from '../scripts.js';
import { type ChosenIke } from '../types.js';
import { checkOut, encodeEncrypted, encodePlain, sendUnprotectedNotify } from '../wire.js';
import { ourIdentity } from './phase1.js';

/** Initiator: <-- HDR, SA ; then HDR, KE, Ni --> */
export function mmI2(eng: Engine, now: number, p1: P1, h: Header, payloads: readonly Payload[]): void {
  const conn = p1.conn;
  let chosen: ChosenIke;
  try {
    chosen = checkIkeAnswer(find(payloads, 'SA')!, conn.ike, authMethodOf(conn.auth), conn.allowWeakGroups ?? false);
    setChosen(eng, p1, chosen);
  } catch (e) {
    const { notify, reason } = errorOf(e);
    failP1(eng, p1, notify, reason);
    throw e;
  }
  p1.rc = new Uint8Array(h.responderCookie);
  const vids = peerVendorIds(payloads);
  p1.nattPeer = nattEnabled(eng, conn) && vids.rfc3947;
  p1.dpdPeer = vids.dpd;
  const hs = p1.hs!;
  const kn = keAndNonce(eng, chosen.group);
  hs.dh = kn.dh;
  hs.gxi = hs.dh.publicKey;
  hs.ni = kn.nonce;
  const out: Payload[] = [{ type: 'KE', data: hs.gxi }, { type: 'NONCE', data: hs.ni }];
  if (conn.auth === 'rsa-sig') out.push({ type: 'CR', certType: CertEncoding.X509_SIGNATURE, authority: new Uint8Array(0) });
  if (p1.nattPeer && natdPossible(eng, p1)) out.push(...natdPayloads(eng, p1));
  checkOut(eng, MAIN_MODE[2]!, out);
  p1.step = 3;
  sendP1(eng, now, p1, encodePlain(eng, p1, ExchangeType.IDENTITY_PROTECTION, 0, out), true);
}

/** Responder: HDR, KE, Ni --> ; then <-- HDR, KE, Nr */
export function mmR3(eng: Engine, now: number, p1: P1, payloads: readonly Payload[], bytes: Uint8Array): void {
  const hs = p1.hs!;
  const chosen = p1.chosen!;
  const ke = find(payloads, 'KE')!;
  const ni = find(payloads, 'NONCE')!;
  checkNonce(eng, ni.data);
  const nat = checkNatd(eng, p1, payloads);
  const kn = keAndNonce(eng, chosen.group);
  hs.dh = kn.dh;
  hs.gxr = hs.dh.publicKey;
  let gxy: Uint8Array;
  try {
    gxy = hs.dh.computeSharedSecret(ke.data);
  } catch (e) {
    const { notify, reason } = errorOf(e);
    sendUnprotectedNotify(eng, p1.local, p1.remote, p1.ic, notify || NotifyType.INVALID_KEY_INFORMATION);
    failP1(eng, p1, notify, reason);
    throw e;
  }
  hs.gxi = new Uint8Array(ke.data);
  hs.ni = new Uint8Array(ni.data);
  hs.nr = kn.nonce;
  deriveKeys(eng, p1, gxy);
  const out: Payload[] = [{ type: 'KE', data: hs.gxr }, { type: 'NONCE', data: hs.nr }];
  if (p1.conn.auth === 'rsa-sig') out.push({ type: 'CR', certType: CertEncoding.X509_SIGNATURE, authority: new Uint8Array(0) });
  if (nat) {
    setNat(eng, p1, nat);
    out.push(...natdPayloads(eng, p1));
  }
  checkOut(eng, MAIN_MODE[3]!, out);
  p1.lastRecv = eng.fp(bytes);
  p1.step = 4;
  // the peer answered our MM2 at its address: no longer evicted to make room for new MM1s
  unlinkEvictable(eng, p1);
  sendP1(eng, now, p1, encodePlain(eng, p1, ExchangeType.IDENTITY_PROTECTION, 0, out), false);
}

/** Initiator: <-- HDR, KE, Nr ; then HDR*, IDii, [CERT,] HASH_I|SIG_I --> */
export function mmI4(eng: Engine, now: number, p1: P1, payloads: readonly Payload[]): void {
  const hs = p1.hs!;
  const ke = find(payloads, 'KE')!;
  const nr = find(payloads, 'NONCE')!;
  let gxy: Uint8Array;
  const nat = checkNatd(eng, p1, payloads);
  try {
    checkNonce(eng, nr.data);
    gxy = hs.dh!.computeSharedSecret(ke.data);
  } catch (e) {
    const { notify, reason } = errorOf(e);
    failP1(eng, p1, notify, reason);
    throw e;
  }
  hs.gxr = new Uint8Array(ke.data);
  hs.nr = new Uint8Array(nr.data);
  deriveKeys(eng, p1, gxy);
  hs.ourId = identityToId(ourIdentity(eng, p1));
  const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
  hs.ourIdB = encodePayloadBody(idp);
  const out: Payload[] = [idp, ...authPayloads(eng, p1, true)];
  if (wantInitialContact(eng, p1)) out.push(initialContactNotify(eng, p1));
  checkOut(eng, MAIN_MODE[4]!, out);
  if (nat) {
    setNat(eng, p1, nat);
    // RFC 3947 §4: the initiator floats to the NAT-T port from MM5 on
    if (p1.natt) float(eng, p1);
  }
  p1.step = 5;
  const { bytes, nextIv } = encodeEncrypted(eng, p1, ExchangeType.IDENTITY_PROTECTION, 0, 0, out, p1.iv!);
  setIv(eng, p1, nextIv);
  sendP1(eng, now, p1, bytes, true);
}

/** Responder: HDR*, IDii, HASH_I --> ; then <-- HDR*, IDir, HASH_R */
export function mmR5(eng: Engine, now: number, p1: P1, payloads: readonly Payload[], nextIv: Uint8Array, bytes: Uint8Array): void {
  const hs = p1.hs!;
  const id = find(payloads, 'ID')!;
  verifyPeer(eng, p1, id, payloads, true);
  authedFrom(eng, p1, true);
  setIv(eng, p1, nextIv);
  p1.lastRecv = eng.fp(bytes);
  hs.ourId = identityToId(ourIdentity(eng, p1));
  const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
  hs.ourIdB = encodePayloadBody(idp);
  const out: Payload[] = [idp, ...authPayloads(eng, p1, false)];
  if (wantInitialContact(eng, p1)) out.push(initialContactNotify(eng, p1));
  checkOut(eng, MAIN_MODE[5]!, out);
  const enc = encodeEncrypted(eng, p1, ExchangeType.IDENTITY_PROTECTION, 0, 0, out, p1.iv!);
  setIv(eng, p1, enc.nextIv);
  p1.step = 6;
  sendP1(eng, now, p1, enc.bytes, false);
  established(eng, now, p1, payloads);
}

/** Initiator: <-- HDR*, IDir, HASH_R ; established. */
export function mmI6(eng: Engine, now: number, p1: P1, payloads: readonly Payload[], nextIv: Uint8Array, bytes: Uint8Array): void {
  const id = find(payloads, 'ID')!;
  try {
    verifyPeer(eng, p1, id, payloads, false);
  } catch (e) {
    const { notify, reason } = errorOf(e);
    failP1(eng, p1, notify, reason);
    throw e;
  }
  setIv(eng, p1, nextIv);
  p1.lastRecv = eng.fp(bytes);
  p1.step = 6;
  established(eng, now, p1, payloads);
}
