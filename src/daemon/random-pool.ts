/**
 * The engine's randomness (cookies, nonces, IVs, SPIs) drawn from OpenSSL in blocks: one
 * `randomFillSync` call costs about as much as the work of answering a Main Mode first message,
 * and a flood makes one cookie per datagram. Bytes handed out are copied and wiped from the
 * block; large requests go to OpenSSL directly.
 */
import { randomFillSync } from 'node:crypto';

export function pooledRandom(blockSize = 16_384): (n: number) => Uint8Array {
  const block = new Uint8Array(blockSize);
  let used = blockSize;
  return (n: number): Uint8Array => {
    if (n > blockSize / 8) return randomFillSync(new Uint8Array(n));
    if (used + n > blockSize) {
      randomFillSync(block);
      used = 0;
    }
    const out = block.slice(used, used + n);
    block.fill(0, used, used + n);
    used += n;
    return out;
  };
}
