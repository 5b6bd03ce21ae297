/**
 * RFC 2409 §5 and §5.5–5.7: the authenticating hashes.
 *   HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
 *   HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
 *   Quick Mode:   HASH(1) = prf(SKEYID_a, M-ID | <message after HASH(1)>)
 *                 HASH(2) = prf(SKEYID_a, M-ID | Ni_b | <message after HASH(2)>)
 *                 HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
 *   Informational HASH(1) = prf(SKEYID_a, M-ID | N/D)  (also the Transaction exchange's HASH)
 * "_b" means the payload body without its 4-byte generic header; "message after HASH" is every
 * following payload including its generic header, exactly as on the wire (before padding).
 * For ECP groups g^xi/g^xr are the KE data x‖y. Compare received hashes with `verifyHash`.
 * @module
 */
import { constantTimeEqual, uint32be } from './bytes.js';
import { hash, prf as prfFn, type PrfAlg } from './prf.js';

export interface Phase1HashInput {
  prf: PrfAlg;
  skeyid: Uint8Array;
  /** g^xi, g^xr: KE payload data of initiator and responder. */
  gxi: Uint8Array;
  gxr: Uint8Array;
  ckyI: Uint8Array;
  ckyR: Uint8Array;
  /** SAi_b: the initiator's whole SA payload body (DOI, situation, proposals). */
  saIBody: Uint8Array;
}

/** HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b). */
export function hashI(input: Phase1HashInput & { idIBody: Uint8Array }): Uint8Array {
  const { prf, skeyid, gxi, gxr, ckyI, ckyR, saIBody, idIBody } = input;
  return prfFn(prf, skeyid, gxi, gxr, ckyI, ckyR, saIBody, idIBody);
}

/** HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b). */
export function hashR(input: Phase1HashInput & { idRBody: Uint8Array }): Uint8Array {
  const { prf, skeyid, gxi, gxr, ckyI, ckyR, saIBody, idRBody } = input;
  return prfFn(prf, skeyid, gxr, gxi, ckyR, ckyI, saIBody, idRBody);
}

function mid(messageId: number | Uint8Array): Uint8Array {
  const m = typeof messageId === 'number' ? uint32be(messageId) : messageId;
  if (m.byteLength !== 4) throw new RangeError('message ID must be 4 bytes');
  return m;
}

export interface Phase2HashInput {
  prf: PrfAlg;
  skeyidA: Uint8Array;
  /** Message ID of the exchange (uint32 or its 4 header bytes). */
  messageId: number | Uint8Array;
}

/** Quick Mode HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr]) over `afterHash`. */
export function quickModeHash1(input: Phase2HashInput & { afterHash: Uint8Array }): Uint8Array {
  return prfFn(input.prf, input.skeyidA, mid(input.messageId), input.afterHash);
}

/** Quick Mode HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [| KE] [| IDci | IDcr]) over `afterHash`. */
export function quickModeHash2(input: Phase2HashInput & { nonceI: Uint8Array; afterHash: Uint8Array }): Uint8Array {
  return prfFn(input.prf, input.skeyidA, mid(input.messageId), input.nonceI, input.afterHash);
}

/** Quick Mode HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
export function quickModeHash3(input: Phase2HashInput & { nonceI: Uint8Array; nonceR: Uint8Array }): Uint8Array {
  return prfFn(input.prf, input.skeyidA, Uint8Array.of(0), mid(input.messageId), input.nonceI, input.nonceR);
}

/** Informational (and Transaction) HASH(1) = prf(SKEYID_a, M-ID | N/D ...) over `afterHash`. */
export function informationalHash(input: Phase2HashInput & { afterHash: Uint8Array }): Uint8Array {
  return prfFn(input.prf, input.skeyidA, mid(input.messageId), input.afterHash);
}

/** Constant-time check of a received HASH payload body against the expected value. */
export function verifyHash(expected: Uint8Array, received: Uint8Array): boolean {
  return constantTimeEqual(expected, received);
}

/**
 * RFC 3947 §3.2 NAT-D payload data: HASH = hash(CKY-I | CKY-R | IP | Port), with the negotiated
 * hash (not the prf); IP is 4 (IPv4) or 16 (IPv6) bytes, Port 2 bytes big-endian. One payload
 * for the remote address and one per local address.
 */
export function natDetectionHash(alg: PrfAlg, ckyI: Uint8Array, ckyR: Uint8Array, ip: Uint8Array, port: number): Uint8Array {
  if (ip.byteLength !== 4 && ip.byteLength !== 16) throw new RangeError('NAT-D address must be 4 or 16 bytes');
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`not a port: ${port}`);
  return hash(alg, ckyI, ckyR, ip, Uint8Array.of(port >> 8, port & 0xff));
}
