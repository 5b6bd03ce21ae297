/** (split from endpoint.ts) */
import * as C from './crypto.js';
import { encodePayloadBody } from '../codec/index.js';
import { type IdPayload, type Payload } from '../codec/types.js';
import { CertEncoding, IdType, NotifyType } from '../constants/index.js';
import { expectedPeerId, sameCredentials } from './authorization.js';
import { Engine } from './engine.js';
import { idToIdentity, identityMatches, isWellFormedDerSequence } from './ids.js';
import { authMethodOf, ikeChosenAllowed } from './proposals.js';
import { P1 } from './records.js';
import { remote } from './refusal.js';
import { find, findAll } from './scripts.js';
import { type Connection } from './types.js';
import { type KeyObject } from 'node:crypto';

export function checkNonce(eng: Engine, n: Uint8Array): void {
  if (n.length < 8 || n.length > 256) throw remote(NotifyType.PAYLOAD_MALFORMED, `nonce of ${n.length} bytes`);
}

export function checkPhase1IdPayload(eng: Engine, id: IdPayload): void {
  // RFC 2407 §4.6.2: protocol/port 0, or UDP/500 (strongSwan and others send 17/500)
  const portOk = (id.protocol === 0 && id.port === 0) || (id.protocol === 17 && (id.port === 500 || id.port === 4500 || id.port === 0));
  if (!portOk) throw remote(NotifyType.INVALID_ID_INFORMATION, `phase-1 ID with protocol ${id.protocol} port ${id.port}`);
  if (id.idType === IdType.ID_DER_ASN1_DN && !isWellFormedDerSequence(id.data)) throw remote(NotifyType.INVALID_ID_INFORMATION, 'malformed DER distinguished name');
}

export function hashFor(eng: Engine, p1: P1, initiator: boolean, idB: Uint8Array): Uint8Array {
  const hs = p1.hs!;
  return initiator
    ? C.hashI({ prf: p1.prf!, skeyid: hs.skeyid!, gxi: hs.gxi!, gxr: hs.gxr!, ckyI: p1.ic, ckyR: p1.rc, saIBody: hs.saiB!, idIBody: idB })
    : C.hashR({ prf: p1.prf!, skeyid: hs.skeyid!, gxi: hs.gxi!, gxr: hs.gxr!, ckyI: p1.ic, ckyR: p1.rc, saIBody: hs.saiB!, idRBody: idB });
}

/** Our HASH_x or [CERT,] SIG_x payloads. */
export function authPayloads(eng: Engine, p1: P1, initiator: boolean): Payload[] {
  const h = hashFor(eng, p1, initiator, p1.hs!.ourIdB!);
  if (p1.conn.auth === 'psk') return [{ type: 'HASH', data: h }];
  const rsa = p1.conn.rsa!;
  const out: Payload[] = [];
  if (rsa.certificate) {
    out.push({ type: 'CERT', encoding: CertEncoding.X509_SIGNATURE, data: rsa.certificate });
    for (const c of rsa.chain ?? []) out.push({ type: 'CERT', encoding: CertEncoding.X509_SIGNATURE, data: c });
  }
  out.push({ type: 'SIG', data: C.rsaSignHash(rsa.privateKey, h) });
  return out;
}

/** Checks the peer's ID against the connection and its HASH/SIG (MM5/MM6/AM2). */
export function verifyPeer(eng: Engine, p1: P1, id: IdPayload, payloads: readonly Payload[], peerIsInitiator: boolean): void {
  checkPhase1IdPayload(eng, id);
  const hs = p1.hs!;
  const conn = p1.conn;
  // Main Mode PSK: the connection was chosen by address; now the ID must match it.
  let ok = identityMatches(expectedPeerId(conn, p1.remote.address), id.idType, id.data);
  if (!ok && p1.role === 'responder' && hs.candidates) {
    // another connection with the same credentials may fit this identity; the phase-1 transform
    // chosen at message 1 must be one that connection accepts too (issue 9.5)
    let refusedTransform: Connection | undefined;
    for (const c of hs.candidates) {
      if (c === conn || !sameCredentials(conn, c)) continue;
      if (!identityMatches(expectedPeerId(c, p1.remote.address), id.idType, id.data)) continue;
      if (!ikeChosenAllowed(p1.chosen!, c.ike, authMethodOf(c.auth), c.allowWeakGroups ?? false)) {
        refusedTransform ??= c;
        continue;
      }
      p1.conn = c;
      ok = true;
      break;
    }
    if (!ok && refusedTransform) {
      throw remote(NotifyType.NO_PROPOSAL_CHOSEN, `peer identity belongs to connection ${refusedTransform.name}, which does not accept the phase-1 transform chosen`);
    }
  }
  if (!ok) throw remote(NotifyType.INVALID_ID_INFORMATION, 'peer identity does not match the connection');
  const idB = encodePayloadBody(id);
  verifyAuth(eng, p1, payloads, idB, peerIsInitiator, id);
  p1.peerId = idToIdentity(id.idType, id.data);
}

export function verifyAuth(eng: Engine, p1: P1, payloads: readonly Payload[], peerIdB: Uint8Array, peerIsInitiator: boolean, id: { idType: number; data: Uint8Array }): void {
  const expected = hashFor(eng, p1, peerIsInitiator, peerIdB);
  if (p1.conn.auth === 'psk') {
    const h = find(payloads, 'HASH');
    if (!h || find(payloads, 'SIG')) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PSK authentication needs one HASH payload');
    if (!C.verifyHash(expected, h.data)) throw remote(NotifyType.AUTHENTICATION_FAILED, peerIsInitiator ? 'HASH_I does not verify' : 'HASH_R does not verify');
    return;
  }
  const sig = find(payloads, 'SIG');
  if (!sig || find(payloads, 'HASH')) throw remote(NotifyType.PAYLOAD_MALFORMED, 'signature authentication needs one SIG payload');
  const key = peerPublicKey(eng, p1, payloads, id);
  C.rsaVerifyHash(key, expected, sig.data);
}

/**
 * The peer's RSA key: from its CERT payloads (leaf first) chained to a configured trust anchor,
 * the certificate naming the ID the peer sent; or the configured public key when no CERT came.
 */
export function peerPublicKey(eng: Engine, p1: P1, payloads: readonly Payload[], id: { idType: number; data: Uint8Array }): KeyObject {
  const rsa = p1.conn.rsa!;
  const certs = findAll(payloads, 'CERT');
  if (certs.length === 0) {
    if (rsa.peerPublicKey) return rsa.peerPublicKey;
    throw remote(NotifyType.CERTIFICATE_UNAVAILABLE, 'no certificate from the peer and no configured public key');
  }
  for (const c of certs) {
    if (c.encoding !== CertEncoding.X509_SIGNATURE) throw remote(NotifyType.CERT_TYPE_UNSUPPORTED, `certificate encoding ${c.encoding}`);
  }
  if (!rsa.trusted || rsa.trusted.length === 0) throw remote(NotifyType.INVALID_CERT_AUTHORITY, 'no trust anchors configured');
  const chain = C.verifyCertificateChain({ certificates: certs.map((c) => c.data), trustAnchors: rsa.trusted, now: eng.certTime(eng.lastNow) });
  if (!C.certificateMatchesId(chain.leaf, id.idType, id.data)) throw remote(NotifyType.INVALID_ID_INFORMATION, 'peer ID is not in its certificate');
  return chain.publicKey;
}
