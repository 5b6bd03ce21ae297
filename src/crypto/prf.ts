/**
 * RFC 2409 §4 / App. A: the IKEv1 hash algorithms and their HMAC prf (RFC 2104), including the
 * RFC 4868 SHA-2 hash IDs 4, 5, 6. IKEv1 defines no separate PRF attribute value, so the prf is
 * always HMAC with the negotiated hash.
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import { NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import { u8 } from './bytes.js';

/** Hash / prf names used throughout the crypto API (node:crypto digest names). */
export type PrfAlg = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Output length in bytes of each hash (and of its HMAC prf). */
export const PRF_OUTPUT_LENGTH: Readonly<Record<PrfAlg, number>> = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

const BY_HASH_ID: ReadonlyMap<number, PrfAlg> = new Map<number, PrfAlg>([
  [1, 'md5'],
  [2, 'sha1'],
  [4, 'sha256'],
  [5, 'sha384'],
  [6, 'sha512'],
]);

/** True if the IKE Hash Algorithm attribute value (RFC 2409 App. A, RFC 4868) is supported. */
export function isSupportedHashId(hashId: number): boolean {
  return BY_HASH_ID.has(hashId);
}

/**
 * The prf/hash for an IKE Hash Algorithm attribute value: 1 MD5, 2 SHA1, 4 SHA2-256, 5 SHA2-384,
 * 6 SHA2-512. Anything else (3 Tiger, unknown) throws RemoteProtocolError(ATTRIBUTES_NOT_SUPPORTED).
 */
export function prfAlgFromHashId(hashId: number): PrfAlg {
  const alg = BY_HASH_ID.get(hashId);
  if (alg === undefined) throw new RemoteProtocolError(NotifyType.ATTRIBUTES_NOT_SUPPORTED, `hash algorithm ${hashId} not supported`);
  return alg;
}

/** Output length in bytes of prf/hash `alg`. */
export function prfLength(alg: PrfAlg): number {
  const n = PRF_OUTPUT_LENGTH[alg];
  if (n === undefined) throw new TypeError(`unknown prf ${String(alg)}`);
  return n;
}

/** prf(key, data...) = HMAC-<alg>(key, data[0] | data[1] | ...). */
export function prf(alg: PrfAlg, key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const h = createHmac(alg, key);
  for (const d of data) h.update(d);
  return u8(h.digest());
}

/** hash(data...) = <alg>(data[0] | data[1] | ...), the plain hash used for IVs. */
export function hash(alg: PrfAlg, ...data: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const d of data) h.update(d);
  return u8(h.digest());
}
