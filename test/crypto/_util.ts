// Shared helpers for the crypto tests: vector loading (run from the repository root) and hex.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const VECTORS = 'test/vectors/crypto';
export const SHARED = '../shared/vectors';

export function loadVectors<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(VECTORS, name), 'utf8')) as T;
}

export function sharedPath(rel: string): string | undefined {
  const p = join(SHARED, rel);
  return existsSync(p) ? p : undefined;
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
