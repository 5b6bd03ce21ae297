/** (split from endpoint.ts) */
import { encodePayloadBody } from '../../codec/index.js';
import { type Header, type IdPayload, type Payload, type SaPayload } from '../../codec/types.js';
import { ExchangeType, NotifyType } from '../../constants/index.js';
import { authPayloads, checkNonce, verifyAuth, verifyPeer } from '../auth.js';
import { Engine } from '../engine.js';
import { DPD_VID } from '../extensions/dpd.js';
import { initialContactNotify, wantInitialContact } from '../extensions/initial-contact.js';
import { authedFrom, checkNatd, float, natdPayloads, natdPossible, nattEnabled, setNat } from '../extensions/nat-t.js';
import { peerVendorIds } from '../extensions/vendor-ids.js';
import { idToIdentity, identityToId } from '../ids.js';
import { deriveKeys, keAndNonce, setChosen, setIv } from '../key-schedule.js';
import { clearRetransmit, established, failP1, sendP1 } from '../lifecycle.js';
import { NATT_RFC3947_VID } from '../natt.js';
import { authMethodOf, checkIkeAnswer } from '../proposals.js';
import { P1 } from '../records.js';
import { errorOf, remote } from '../refusal.js';
import { AGGRESSIVE_MODE, find } from '../scripts.js';
import { checkOut, encodeEncrypted, encodePlain } from '../wire.js';
import { ourIdentity } from './phase1.js';

/** Responder: HDR, SA, KE, Ni, IDii --> ; then <-- HDR, SA, KE, Nr, IDir, HASH_R */
export function aggressiveRespond(eng: Engine, now: number, p1: P1, payloads: readonly Payload[], reply: SaPayload): void {
  const hs = p1.hs!;
  const chosen = p1.chosen!;
  const ke = find(payloads, 'KE')!;
  const ni = find(payloads, 'NONCE')!;
  const id = find(payloads, 'ID')!;
  checkNonce(eng, ni.data);
  const kn = keAndNonce(eng, chosen.group);
  hs.dh = kn.dh;
  hs.gxr = hs.dh.publicKey;
  const gxy = hs.dh.computeSharedSecret(ke.data);
  hs.gxi = new Uint8Array(ke.data);
  hs.ni = new Uint8Array(ni.data);
  hs.nr = kn.nonce;
  hs.peerIdB = encodePayloadBody(id);
  hs.peerId = { idType: id.idType, data: new Uint8Array(id.data) };
  p1.peerId = idToIdentity(id.idType, id.data);
  deriveKeys(eng, p1, gxy);
  hs.ourId = identityToId(ourIdentity(eng, p1));
  const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
  hs.ourIdB = encodePayloadBody(idp);
  const vids = peerVendorIds(payloads);
  p1.dpdPeer = vids.dpd;
  const out: Payload[] = [reply, { type: 'KE', data: hs.gxr }, { type: 'NONCE', data: hs.nr }, idp, ...authPayloads(eng, p1, false), { type: 'VID', data: DPD_VID }];
  if (nattEnabled(eng, p1.conn) && vids.rfc3947) {
    p1.nattPeer = true;
    out.push({ type: 'VID', data: NATT_RFC3947_VID });
    if (natdPossible(eng, p1)) out.push(...natdPayloads(eng, p1));
  }
  checkOut(eng, AGGRESSIVE_MODE[1]!, out);
  p1.step = 2;
  sendP1(eng, now, p1, encodePlain(eng, p1, ExchangeType.AGGRESSIVE, 0, out), false);
}

/** Initiator: <-- HDR, SA, KE, Nr, IDir, HASH_R ; then HDR, HASH_I --> ; established. */
export function amI2(eng: Engine, now: number, p1: P1, h: Header, payloads: readonly Payload[], bytes: Uint8Array): void {
  const conn = p1.conn;
  const hs = p1.hs!;
  let nat: { local: boolean; remote: boolean } | undefined;
  try {
    const chosen = checkIkeAnswer(find(payloads, 'SA')!, conn.ike, authMethodOf(conn.auth), conn.allowWeakGroups ?? false);
    if (chosen.group !== conn.ike[0]!.group) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'answer changes the group');
    setChosen(eng, p1, chosen);
    p1.rc = new Uint8Array(h.responderCookie);
    const ke = find(payloads, 'KE')!;
    const nr = find(payloads, 'NONCE')!;
    checkNonce(eng, nr.data);
    const gxy = hs.dh!.computeSharedSecret(ke.data);
    hs.gxr = new Uint8Array(ke.data);
    hs.nr = new Uint8Array(nr.data);
    deriveKeys(eng, p1, gxy);
    verifyPeer(eng, p1, find(payloads, 'ID')!, payloads, false);
    const vids = peerVendorIds(payloads);
    p1.nattPeer = nattEnabled(eng, conn) && vids.rfc3947;
    p1.dpdPeer = vids.dpd;
    nat = checkNatd(eng, p1, payloads);
  } catch (e) {
    const { notify, reason } = errorOf(e);
    failP1(eng, p1, notify, reason);
    throw e;
  }
  const out: Payload[] = [...authPayloads(eng, p1, true)];
  if (nat) out.push(...natdPayloads(eng, p1));
  if (wantInitialContact(eng, p1)) out.push(initialContactNotify(eng, p1));
  checkOut(eng, AGGRESSIVE_MODE[2]!, out);
  if (nat) {
    setNat(eng, p1, nat);
    // RFC 3947 §4: in Aggressive Mode the initiator floats with AM3
    if (p1.natt) float(eng, p1);
  }
  p1.lastRecv = eng.fp(bytes);
  p1.step = 3;
  // AM3 is drawn in clear in RFC 2409 §5, but keys exist by now and strongSwan (among others)
  // requires HASH_I/SIG_I encrypted: HDR*, HASH_I with IV = hash(g^xi | g^xr). (As responder we
  // accept both forms.)
  const enc = encodeEncrypted(eng, p1, ExchangeType.AGGRESSIVE, 0, 0, out, p1.iv!);
  setIv(eng, p1, enc.nextIv);
  clearRetransmit(eng, p1);
  p1.lastSent = enc.bytes;
  eng.send(p1.local, p1.remote, enc.bytes);
  established(eng, now, p1, payloads);
}

/** Responder: HDR, HASH_I --> ; established. */
export function amR3(eng: Engine, now: number, p1: P1, payloads: readonly Payload[], nextIv: Uint8Array | undefined, bytes: Uint8Array): void {
  const hs = p1.hs!;
  verifyAuth(eng, p1, payloads, hs.peerIdB!, true, hs.peerId!);
  const nat = checkNatd(eng, p1, payloads);
  if (nat) {
    setNat(eng, p1, nat);
    authedFrom(eng, p1, true);
  }
  if (nextIv) setIv(eng, p1, nextIv);
  p1.lastRecv = eng.fp(bytes);
  p1.step = 3;
  // a notify in a clear AM3 is not covered by HASH_I: act on INITIAL-CONTACT only when encrypted
  established(eng, now, p1, nextIv ? payloads : []);
}
