/**
 * RFC 2409 §5.1: RSA signatures as IKEv1 uses them. The signed data is HASH_I or HASH_R itself,
 * put in a PKCS#1 v1.5 block type 1 (RFC 2313 §8.1) with NO DigestInfo:
 *   EM = 00 01 FF..FF 00 || HASH        (k bytes, k = modulus length, at least 8 FF bytes)
 * This is what strongSwan calls SIGN_RSA_EMSA_PKCS1_NULL and what OpenSSL's RSA_private_encrypt
 * with RSA_PKCS1_PADDING produces.
 *
 * Verification never parses the recovered block: it rejects a signature whose length is not k,
 * s = 0 or s ≥ n, performs the raw public-key operation (no padding), and compares the result
 * with the expected EM built here, in constant time (SHAPES.md #17, #25, #26). Keys below
 * `RSA_MIN_BITS` are refused unless the caller lowers the bound explicitly (#27).
 * @module
 */
import { constants, privateEncrypt, publicDecrypt, type KeyObject } from 'node:crypto';
import { NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import { compareBe, constantTimeEqual, copyBytes, isZero, u8 } from './bytes.js';

/** Smallest RSA modulus accepted by default, in bits. */
export const RSA_MIN_BITS = 2048;

export interface RsaOptions {
  /** Smallest modulus accepted, in bits (default RSA_MIN_BITS). */
  minBits?: number;
}

/** Modulus length in bits of an RSA KeyObject (public or private); throws TypeError if not RSA. */
export function rsaModulusBits(key: KeyObject): number {
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError(`not an RSA key: ${String(key.asymmetricKeyType)}`);
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new TypeError('RSA key without modulus length');
  return bits;
}

const modulusCache = new WeakMap<KeyObject, Uint8Array>();

function modulusBytes(key: KeyObject): Uint8Array {
  let n = modulusCache.get(key);
  if (!n) {
    const jwk = key.export({ format: 'jwk' });
    if (typeof jwk.n !== 'string') throw new TypeError('RSA key without modulus');
    n = u8(Buffer.from(jwk.n, 'base64url'));
    // strip a possible leading zero octet
    let i = 0;
    while (i < n.byteLength - 1 && n[i] === 0) i++;
    n = copyBytes(n, i);
    modulusCache.set(key, n);
  }
  return n;
}

/** The expected PKCS#1 v1.5 type-1 block over raw `data` for a k-byte modulus, or undefined if it cannot fit. */
export function pkcs1Type1Block(data: Uint8Array, k: number): Uint8Array | undefined {
  if (data.byteLength + 11 > k) return undefined;
  const em = new Uint8Array(k);
  em[0] = 0x00;
  em[1] = 0x01;
  em.fill(0xff, 2, k - data.byteLength - 1);
  em[k - data.byteLength - 1] = 0x00;
  em.set(data, k - data.byteLength);
  return em;
}

/**
 * Sign HASH_I / HASH_R with our RSA private key, IKEv1 style (type-1 block, no DigestInfo).
 * Throws RangeError if the key is below `minBits` or the hash does not fit.
 */
export function rsaSignHash(privateKey: KeyObject, hashValue: Uint8Array, opts: RsaOptions = {}): Uint8Array {
  const bits = rsaModulusBits(privateKey);
  const min = opts.minBits ?? RSA_MIN_BITS;
  if (bits < min) throw new RangeError(`RSA key of ${bits} bits is below the minimum of ${min}`);
  if (hashValue.byteLength + 11 > Math.ceil(bits / 8)) throw new RangeError('hash too long for this RSA key');
  return u8(privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, hashValue));
}

function authFailed(reason: string): RemoteProtocolError {
  return new RemoteProtocolError(NotifyType.AUTHENTICATION_FAILED, reason);
}

/**
 * Verify an IKEv1 RSA signature (SIG payload body) over the expected HASH_I / HASH_R.
 * Throws RemoteProtocolError(AUTHENTICATION_FAILED) for a key below `minBits`, a signature
 * whose length differs from the modulus length, s = 0, s ≥ n, or any difference from the
 * expected block (wrong padding, truncated/extended hash, trailing garbage, wrong hash).
 */
export function rsaVerifyHash(publicKey: KeyObject, expectedHash: Uint8Array, signature: Uint8Array, opts: RsaOptions = {}): void {
  let bits: number;
  try {
    bits = rsaModulusBits(publicKey);
  } catch {
    throw authFailed('peer key is not an RSA key');
  }
  const min = opts.minBits ?? RSA_MIN_BITS;
  if (bits < min) throw authFailed(`peer RSA key of ${bits} bits is below the minimum of ${min}`);
  const n = modulusBytes(publicKey);
  const k = n.byteLength;
  if (signature.byteLength !== k) throw authFailed(`signature is ${signature.byteLength} bytes, modulus is ${k}`);
  if (isZero(signature)) throw authFailed('signature is zero');
  if (compareBe(signature, n) >= 0) throw authFailed('signature is not below the modulus');
  const expected = pkcs1Type1Block(expectedHash, k);
  if (!expected) throw authFailed('hash too long for the peer RSA key');
  let em: Uint8Array;
  try {
    em = u8(publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature));
  } catch {
    throw authFailed('RSA public-key operation failed');
  }
  if (!constantTimeEqual(em, expected)) throw authFailed('signature does not match HASH');
}
