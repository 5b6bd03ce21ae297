/**
 * RFC 2409 §5 and Appendix B: the IKEv1 key schedule. SKEYID per authentication method, the
 * SKEYID_d/_a/_e family, the Appendix B key expansion, the phase-1 encryption key and KEYMAT
 * (RFC 2409 §5.5) with and without PFS. Pure functions; every output is a fresh Uint8Array the
 * caller owns (wipe it with `wipe()` when the SA dies).
 * @module
 */
import { createHmac } from 'node:crypto';
import { copyBytes, u8 } from './bytes.js';
import { prf as prfFn, prfLength, type PrfAlg } from './prf.js';

/** Authentication methods whose SKEYID this module derives. */
export type SkeyidMethod = 'psk' | 'sig';

export interface DeriveSkeyidInput {
  prf: PrfAlg;
  /** 'psk': SKEYID = prf(pre-shared-key, Ni_b | Nr_b); 'sig': SKEYID = prf(Ni_b | Nr_b, g^xy). */
  method: SkeyidMethod;
  /** The pre-shared key (method 'psk' only). */
  psk?: Uint8Array;
  /** Ni_b, Nr_b: the bodies of the nonce payloads (without generic header). */
  nonceI: Uint8Array;
  nonceR: Uint8Array;
  /** g^xy, fixed length big-endian (method 'sig' only; ignored for 'psk'). */
  gxy?: Uint8Array;
}

const ZERO = Uint8Array.of(0);
const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);

/**
 * RFC 2409 §5: SKEYID.
 *   signatures:       SKEYID = prf(Ni_b | Nr_b, g^xy)
 *   pre-shared keys:  SKEYID = prf(pre-shared-key, Ni_b | Nr_b)
 * (Public-key encryption methods 4/5 are deliberately not offered; see docs/crypto.md.)
 */
export function deriveSkeyid(input: DeriveSkeyidInput): Uint8Array {
  const { prf, method, nonceI, nonceR } = input;
  if (method === 'psk') {
    if (!input.psk) throw new TypeError('deriveSkeyid: method psk needs psk');
    return prfFn(prf, input.psk, nonceI, nonceR);
  }
  if (method === 'sig') {
    if (!input.gxy) throw new TypeError('deriveSkeyid: method sig needs gxy');
    const key = new Uint8Array(nonceI.byteLength + nonceR.byteLength);
    key.set(nonceI, 0);
    key.set(nonceR, nonceI.byteLength);
    const out = prfFn(prf, key, input.gxy);
    key.fill(0);
    return out;
  }
  throw new TypeError(`deriveSkeyid: unknown method ${String(method)}`);
}

export interface DerivePhase1KeysInput {
  prf: PrfAlg;
  skeyid: Uint8Array;
  /** g^xy, fixed length big-endian (MODP: |p| bytes; ECP: the x coordinate). */
  gxy: Uint8Array;
  /** CKY-I, CKY-R: the 8-byte cookies from the ISAKMP header. */
  ckyI: Uint8Array;
  ckyR: Uint8Array;
}

export interface Phase1Keys {
  skeyidD: Uint8Array;
  skeyidA: Uint8Array;
  skeyidE: Uint8Array;
}

/**
 * RFC 2409 §5:
 *   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
 *   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
 *   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
 */
export function derivePhase1Keys(input: DerivePhase1KeysInput): Phase1Keys {
  const { prf, skeyid, gxy, ckyI, ckyR } = input;
  const skeyidD = prfFn(prf, skeyid, gxy, ckyI, ckyR, ZERO);
  const skeyidA = prfFn(prf, skeyid, skeyidD, gxy, ckyI, ckyR, ONE);
  const skeyidE = prfFn(prf, skeyid, skeyidA, gxy, ckyI, ckyR, TWO);
  return { skeyidD, skeyidA, skeyidE };
}

/** Upper bound on any expansion this module performs (bytes); far above any real cipher need. */
export const MAX_EXPANDED_KEY_LENGTH = 4096;

function checkLength(fn: string, length: number): void {
  if (!Number.isInteger(length) || length <= 0 || length > MAX_EXPANDED_KEY_LENGTH) {
    throw new RangeError(`${fn}: length must be an integer in 1..${MAX_EXPANDED_KEY_LENGTH}, got ${length}`);
  }
}

/**
 * RFC 2409 Appendix B expansion, always applied:
 *   K1 = prf(key, 0x00), K2 = prf(key, K1), K3 = prf(key, K2), ...
 *   result = first `length` bytes of K1 | K2 | K3 | ...
 * (For the phase-1 encryption key use `deriveEncryptionKey`, which only expands when SKEYID_e is
 * shorter than the cipher key, as RFC 2409 App. B says.)
 */
export function expandKey(prf: PrfAlg, key: Uint8Array, length: number): Uint8Array {
  checkLength('expandKey', length);
  const out = new Uint8Array(length);
  let k: Uint8Array = ZERO;
  let o = 0;
  while (o < length) {
    const h = createHmac(prf, key);
    h.update(k);
    const next = h.digest();
    const take = Math.min(next.byteLength, length - o);
    out.set(next.subarray(0, take), o);
    o += take;
    if (k !== ZERO) k.fill(0);
    k = next;
  }
  k.fill(0);
  return out;
}

/**
 * RFC 2409 Appendix B: the phase-1 encryption key Ka. If SKEYID_e is at least `keyLength` bytes,
 * Ka is its first `keyLength` bytes; otherwise Ka is the App. B expansion of SKEYID_e.
 */
export function deriveEncryptionKey(prf: PrfAlg, skeyidE: Uint8Array, keyLength: number): Uint8Array {
  checkLength('deriveEncryptionKey', keyLength);
  if (skeyidE.byteLength >= keyLength) return copyBytes(skeyidE, 0, keyLength);
  return expandKey(prf, skeyidE, keyLength);
}

export interface DeriveKeymatInput {
  prf: PrfAlg;
  skeyidD: Uint8Array;
  /** Protocol ID of the IPsec SA (RFC 2407 §4.4.1: 2 AH, 3 ESP, 4 IPCOMP), one octet. */
  protocol: number;
  /** The SPI of this SA as carried in the proposal (the SPI chosen by the receiving side). */
  spi: Uint8Array;
  nonceI: Uint8Array;
  nonceR: Uint8Array;
  /** g(qm)^xy of the Quick Mode KE exchange when PFS is used; omit without PFS. */
  gxy?: Uint8Array;
  /** Bytes of KEYMAT wanted (encryption key then integrity key); must be > 0. */
  length: number;
}

/**
 * RFC 2409 §5.5, one SA (one SPI, one direction):
 *   without PFS: KEYMAT = K1 | K2 | ..., K1 = prf(SKEYID_d, protocol | SPI | Ni_b | Nr_b),
 *                K(n+1) = prf(SKEYID_d, Kn | protocol | SPI | Ni_b | Nr_b)
 *   with PFS:    the same with g(qm)^xy inserted before protocol:
 *                K1 = prf(SKEYID_d, g(qm)^xy | protocol | SPI | Ni_b | Nr_b), ...
 */
export function deriveKeymat(input: DeriveKeymatInput): Uint8Array {
  const { prf, skeyidD, protocol, spi, nonceI, nonceR, gxy, length } = input;
  checkLength('deriveKeymat', length);
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) throw new RangeError(`deriveKeymat: protocol ${protocol} is not one octet`);
  const proto = Uint8Array.of(protocol);
  const out = new Uint8Array(length);
  const hl = prfLength(prf);
  let prev: Uint8Array | undefined;
  let o = 0;
  while (o < length) {
    const h = createHmac(prf, skeyidD);
    if (prev) h.update(prev);
    if (gxy) h.update(gxy);
    h.update(proto);
    h.update(spi);
    h.update(nonceI);
    h.update(nonceR);
    const k = h.digest();
    const take = Math.min(hl, length - o);
    out.set(k.subarray(0, take), o);
    o += take;
    prev?.fill(0);
    prev = k;
  }
  prev?.fill(0);
  return u8(out);
}
