/**
 * Phase-1 authentication (RFC 2409 §5, §5.1): our ID payload, our HASH_I/HASH_R or [CERT,] SIG
 * payloads, and the checks of the peer's: its identity against the connection (with the
 * responder's switch to another connection of the same credentials, issue 9.5), its HASH or its
 * signature with a certificate chained to a configured trust anchor.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { encodePayloadBody } from '../codec/index.js';
import type { IdPayload, Payload } from '../codec/types.js';
import { CertEncoding, NotifyType } from '../constants/index.js';
import { expectedPeerId, ourIdentityFor, sameCredentials } from './authorization.js';
import * as C from './crypto.js';
import type { Engine } from './engine.js';
import { idToIdentity, identityMatches, identityText, identityToId } from './ids.js';
import { authMethodOf, ikeChosenAllowed } from './proposals.js';
import type { Handshake, KeyedP1, P1 } from './records.js';
import { Failure, missing, refuse, remote } from './refusal.js';
import { IsakmpError, LocalProtocolError } from '../errors.js';
import { find, findAll } from './scripts.js';
import type { Connection, RsaConnection } from './types.js';

const NO_PAYLOADS: readonly Payload[] = [];
const EMPTY = new Uint8Array(0);
/** CERTREQs sent at most (one per CA; the scripts accept as many). */
export const MAX_CERT_REQUESTS = 16;
/** Our CERTREQs by trust-anchor list (computed once per configured list). */
const certRequestCache = new WeakMap<readonly Uint8Array[], readonly Payload[]>();

/**
 * Signatures: our CERTREQ payloads, one per configured CA naming its DN (RFC 2408 §3.10, RFC 4945
 * §3.2.4: so that a peer with several certificates sends the right one), appended to `out`; one
 * without a name when no CA is configured (a pinned peer certificate). Nothing with a PSK.
 */
export function certRequests(conn: Connection, out: Payload[]): void {
  if (conn.auth !== 'rsa-sig' || hybridGateway(conn)) return; // a Hybrid gateway asks no certificate of its client (it has none)
  const trusted = conn.rsa.trusted ?? [];
  let crs = certRequestCache.get(trusted);
  if (crs === undefined) {
    const names = C.caSubjectNames(trusted).slice(0, MAX_CERT_REQUESTS);
    crs = names.length > 0 ? names.map((authority) => ({ type: 'CR' as const, certType: CertEncoding.X509_SIGNATURE, authority })) : [{ type: 'CR', certType: CertEncoding.X509_SIGNATURE, authority: EMPTY }];
    certRequestCache.set(trusted, crs);
  }
  for (const cr of crs ?? NO_PAYLOADS) out.push(cr);
}

/** RFC 2409 §5: nonces of 8 to 256 bytes. */
export function checkNonce(n: Uint8Array): void {
  if (n.length < 8 || n.length > 256) throw remote(NotifyType.PAYLOAD_MALFORMED, `nonce of ${n.length} bytes`);
}

/** Our phase-1 ID payload (configured identity, else the address the exchange uses); its body is kept for our hash. */
export function ourIdPayload(p1: P1, hs: Handshake): IdPayload {
  const id = identityToId(ourIdentityFor(p1.conn, p1.local.address));
  const idp: IdPayload = { type: 'ID', idType: id.idType, protocol: 0, port: 0, data: id.data };
  hs.ourIdB = encodePayloadBody(idp);
  return idp;
}

/** Hybrid authentication (draft-ietf-ipsec-isakmp-hybrid-auth-05): our side is the XAUTH client, which sends a HASH. */
export const hybridClient = (c: Connection): boolean => c.xauth?.hybrid === true && c.xauth.role === 'client';
/** Hybrid, our side is the gateway: it signs, and takes the client's HASH. */
export const hybridGateway = (c: Connection): boolean => c.xauth?.hybrid === true && c.xauth.role === 'server';

/** HASH_I (initiator's) or HASH_R (responder's) over the ID payload body `idB`. */
function hashFor(p1: KeyedP1, hs: Handshake, initiator: boolean, idB: Uint8Array): Uint8Array {
  const a = hs.auth ?? missing('SKEYID');
  return initiator
    ? C.hashI({ prf: p1.prf, skeyid: a.skeyid, gxi: a.gxi, gxr: a.gxr, ckyI: p1.ic, ckyR: p1.rc, saIBody: a.saiB, idIBody: idB })
    : C.hashR({ prf: p1.prf, skeyid: a.skeyid, gxi: a.gxi, gxr: a.gxr, ckyI: p1.ic, ckyR: p1.rc, saIBody: a.saiB, idRBody: idB });
}

/** Our HASH_x or [CERT,] SIG_x payloads (after ourIdPayload). */
export function authPayloads(p1: KeyedP1, hs: Handshake, initiator: boolean): Payload[] {
  const h = hashFor(p1, hs, initiator, hs.ourIdB ?? missing('our ID payload'));
  const conn = p1.conn;
  if (conn.auth === 'psk' || hybridClient(conn)) return [{ type: 'HASH', data: h }];
  const rsa = conn.rsa;
  if (!rsa.privateKey) throw new LocalProtocolError(0, `connection ${conn.name} has no private key to sign with`);
  const out: Payload[] = [];
  if (rsa.certificate) {
    out.push({ type: 'CERT', encoding: CertEncoding.X509_SIGNATURE, data: rsa.certificate });
    for (const c of rsa.chain ?? []) out.push({ type: 'CERT', encoding: CertEncoding.X509_SIGNATURE, data: c });
  }
  out.push({ type: 'SIG', data: C.rsaSignHash(rsa.privateKey, h) });
  return out;
}

/**
 * Checks the peer's ID against the connection and its HASH/SIG (MM5/MM6/AM2). A responder whose
 * connection was chosen by address may move to another candidate with the same credentials that
 * this identity fits, when that connection accepts the transform chosen at message 1.
 */
export function verifyPeer(x: Engine, p1: KeyedP1, hs: Handshake, id: IdPayload, payloads: readonly Payload[], peerIsInitiator: boolean): void {
  p1.doi.checkPhase1Id(id);
  const conn = p1.conn;
  // Main Mode PSK: the connection was chosen by address; now the ID must match it.
  let ok = identityMatches(expectedPeerId(conn, p1.remote.address), id.idType, id.data);
  if (!ok && p1.role === 'responder') {
    // another connection with the same credentials may fit this identity; the phase-1 transform
    // chosen at message 1 must be one that connection accepts too (issue 9.5)
    let refusedTransform: Connection | undefined;
    for (const c of hs.candidates) {
      if (c === conn || !sameCredentials(conn, c)) continue;
      if (!identityMatches(expectedPeerId(c, p1.remote.address), id.idType, id.data)) continue;
      if (!ikeChosenAllowed(p1.chosen, c.ike, authMethodOf(c, false), c.allowWeakGroups ?? false)) {
        refusedTransform ??= c;
        continue;
      }
      p1.conn = c;
      ok = true;
      break;
    }
    if (!ok && refusedTransform) {
      throw refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'NO_PROPOSAL_CHOSEN', `peer identity ${idText(id)} belongs to connection ${refusedTransform.name}, which does not accept the phase-1 transform chosen with connection ${conn.name} (give both the same ike proposals)`);
    }
  }
  if (!ok) {
    throw refuse(NotifyType.INVALID_ID_INFORMATION, 'IDENTITY_MISMATCH', `identity mismatch: peer identity does not match the connection: the peer said ${idText(id)}, connection ${conn.name} expects ${identityText(expectedPeerId(conn, p1.remote.address))} (check remote.id here and the peer's own id)`);
  }
  verifyAuth(x, p1, hs, payloads, encodePayloadBody(id), peerIsInitiator, id);
  p1.peerId = idToIdentity(id.idType, id.data);
}

/** The peer's HASH (PSK) or SIG (signatures) over its ID payload body `peerIdB`. */
export function verifyAuth(x: Engine, p1: KeyedP1, hs: Handshake, payloads: readonly Payload[], peerIdB: Uint8Array, peerIsInitiator: boolean, id: { readonly idType: number; readonly data: Uint8Array }): void {
  const expected = hashFor(p1, hs, peerIsInitiator, peerIdB);
  const conn = p1.conn;
  // Hybrid: the client's HASH (signature SKEYID) only shows it holds the keys; XAUTH follows
  if (conn.auth === 'psk' || hybridGateway(conn)) {
    const h = find(payloads, 'HASH');
    if (!h || find(payloads, 'SIG')) throw remote(NotifyType.PAYLOAD_MALFORMED, conn.auth === 'psk' ? 'PSK authentication needs one HASH payload' : 'a Hybrid client authenticates with one HASH payload');
    if (!C.verifyHash(expected, h.data)) {
      if (conn.auth !== 'psk') throw remote(NotifyType.AUTHENTICATION_FAILED, `the Hybrid client's ${peerIsInitiator ? 'HASH_I' : 'HASH_R'} does not verify`);
      throw refuse(NotifyType.AUTHENTICATION_FAILED, 'PSK_MISMATCH', `probable pre-shared key mismatch: ${peerIsInitiator ? 'HASH_I' : 'HASH_R'} from the peer does not verify; check that both sides use the same psk for this peer`);
    }
    return;
  }
  const sig = find(payloads, 'SIG');
  if (!sig || find(payloads, 'HASH')) throw remote(NotifyType.PAYLOAD_MALFORMED, 'signature authentication needs one SIG payload');
  const key = peerPublicKey(x, conn, payloads, id);
  try {
    C.rsaVerifyHash(key, expected, sig.data);
  } catch (e) {
    const why = e instanceof IsakmpError ? e.reason : 'error';
    throw refuse(NotifyType.AUTHENTICATION_FAILED, 'AUTH_FAILED', `the peer's signature does not verify (${why}): its certificate or key is not the one it signs with, or the message was altered`);
  }
}

/** A certificate refusal of src/crypto in the operator's words (cause CERTIFICATE_REFUSED). */
function certificateRefused(e: unknown): unknown {
  if (!(e instanceof IsakmpError) || e instanceof Failure) return e;
  return refuse(e.notify, 'CERTIFICATE_REFUSED', `certificate refused: ${e.reason} (check ca: and crls: here, and the certificate chain the peer sends)`);
}

/**
 * The peer's RSA key: from its CERT payloads (leaf first) chained to a configured trust anchor,
 * the certificate naming the ID the peer sent; or the configured public key when no CERT came.
 */
function peerPublicKey(x: Engine, conn: RsaConnection, payloads: readonly Payload[], id: { readonly idType: number; readonly data: Uint8Array }): KeyObject {
  const rsa = conn.rsa;
  const certs = findAll(payloads, 'CERT');
  if (certs.length === 0) {
    if (rsa.peerPublicKey) return rsa.peerPublicKey;
    throw refuse(NotifyType.CERTIFICATE_UNAVAILABLE, 'CERTIFICATE_REFUSED', 'certificate refused: no certificate from the peer and no configured public key (the peer must send its certificate)');
  }
  for (const c of certs) {
    if (c.encoding !== CertEncoding.X509_SIGNATURE) throw refuse(NotifyType.CERT_TYPE_UNSUPPORTED, 'CERTIFICATE_REFUSED', `certificate refused: encoding ${c.encoding} (only X.509 signature certificates are taken)`);
  }
  if (!rsa.trusted || rsa.trusted.length === 0) throw refuse(NotifyType.INVALID_CERT_AUTHORITY, 'CERTIFICATE_REFUSED', 'certificate refused: no trust anchors configured (set ca:)');
  let chain: ReturnType<typeof C.verifyCertificateChain>;
  try {
    chain = C.verifyCertificateChain({ certificates: certs.map((c) => c.data), trustAnchors: rsa.trusted, now: x.certTime(x.lastNow), ...(rsa.crls ? { crls: rsa.crls } : {}) });
  } catch (e) {
    throw certificateRefused(e);
  }
  if (!C.certificateMatchesId(chain.leaf, id.idType, id.data)) {
    throw refuse(NotifyType.INVALID_ID_INFORMATION, 'IDENTITY_MISMATCH', `identity mismatch: peer ID ${idText(id)} is not in its certificate (subject ${chain.leaf.subject.split('\n').join(', ')}): set remote.id to a name the certificate carries`);
  }
  return chain.publicKey;
}

/** The ID payload's identity as text. */
function idText(id: { readonly idType: number; readonly data: Uint8Array }): string {
  return identityText(idToIdentity(id.idType, id.data));
}
