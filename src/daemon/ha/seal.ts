/**
 * Records at rest in the store: AES-256-GCM (node:crypto) under a key derived from the cluster
 * key with HKDF-SHA-256, a random 96-bit nonce per write, the store key as associated data (a
 * record moved to another key does not open). Layout: nonce (12) | ciphertext | tag (16).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export class Sealer {
  private readonly key: Buffer;

  constructor(clusterKey: Uint8Array) {
    this.key = Buffer.from(hkdfSync('sha256', clusterKey, Buffer.alloc(0), 'isakmp ha records v1', 32));
  }

  seal(storeKey: string, plain: Uint8Array): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(storeKey));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([nonce, body, c.getAuthTag()]);
  }

  /** The plaintext, or undefined when the record does not open (another cluster key, or tampered). */
  open(storeKey: string, sealed: Uint8Array): Buffer | undefined {
    if (sealed.length < 28) return undefined;
    const b = Buffer.from(sealed);
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, 12));
      d.setAAD(Buffer.from(storeKey));
      d.setAuthTag(b.subarray(b.length - 16));
      return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]);
    } catch {
      return undefined;
    }
  }
}

/** The routing key of the engine shards (shards/route.ts) on every node of a cluster. */
export function routingKeyOf(clusterKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', clusterKey, Buffer.alloc(0), 'isakmp shard routing v1', 32));
}
