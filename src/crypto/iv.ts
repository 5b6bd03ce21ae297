/**
 * RFC 2409 App. B: IVs of the ISAKMP SA.
 *   phase 1:   IV = hash(g^xi | g^xr), truncated to the cipher block size; each following
 *              message uses the last ciphertext block of the previous one (CBC chaining).
 *   phase 2, Informational (and Transaction) exchanges, one per message ID:
 *              IV = hash(last phase-1 CBC output block | M-ID), truncated to the block size,
 *              then chained within that exchange the same way.
 * `hash` is the negotiated hash (not the HMAC prf). g^xi/g^xr are the KE payload data.
 * @module
 */
import { copyBytes, uint32be } from './bytes.js';
import { hash, type PrfAlg } from './prf.js';

function truncate(h: Uint8Array, blockSize: number): Uint8Array {
  if (!Number.isInteger(blockSize) || blockSize <= 0 || blockSize > h.byteLength) {
    throw new RangeError(`block size ${blockSize} does not fit a ${h.byteLength}-byte hash`);
  }
  return copyBytes(h, 0, blockSize);
}

/** Phase-1 IV: hash(g^xi | g^xr) truncated to `blockSize`. */
export function phase1Iv(prf: PrfAlg, gxi: Uint8Array, gxr: Uint8Array, blockSize: number): Uint8Array {
  return truncate(hash(prf, gxi, gxr), blockSize);
}

/**
 * First IV of a Quick Mode / Informational / Transaction exchange: hash(last phase-1 CBC block |
 * M-ID) truncated to `blockSize`. `messageId` is the header's Message ID as a uint32 or 4 bytes.
 */
export function phase2Iv(prf: PrfAlg, lastPhase1Block: Uint8Array, messageId: number | Uint8Array, blockSize: number): Uint8Array {
  const mid = typeof messageId === 'number' ? uint32be(messageId) : messageId;
  if (mid.byteLength !== 4) throw new RangeError('message ID must be 4 bytes');
  return truncate(hash(prf, lastPhase1Block, mid), blockSize);
}

/** Last `blockSize` bytes of a ciphertext: the next IV in CBC chaining. */
export function lastCipherBlock(ciphertext: Uint8Array, blockSize: number): Uint8Array {
  if (ciphertext.byteLength < blockSize) throw new RangeError('ciphertext shorter than one block');
  return copyBytes(ciphertext, ciphertext.byteLength - blockSize);
}
