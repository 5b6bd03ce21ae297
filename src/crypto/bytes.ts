/**
 * The project's one bytes module: constant-time comparison, wiping, concatenation, fixed-length
 * big-endian padding, and hex (`toHex` / `fromHex`, the only hex encoder and decoder of constants
 * in src/: the daemon, the CLI and the engine use these).
 * @module
 */
import { timingSafeEqual } from 'node:crypto';

/** Bytes as the public API hands them out: a plain Uint8Array view (never a Node Buffer subclass). */
export function u8(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Constant-time equality of two byte strings. Lengths are public (a length mismatch returns false
 * at once); for equal lengths the time does not depend on where the bytes differ.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  if (a.byteLength === 0) return true;
  return timingSafeEqual(a, b);
}

/** Overwrite key material with zeros (call when the SA that owns it dies). Accepts undefined. */
export function wipe(...bufs: Array<Uint8Array | undefined | null>): void {
  for (const b of bufs) if (b) b.fill(0);
}

/**
 * A fresh plain Uint8Array copy of b[start, end). Never `b.slice()`: on a Node Buffer, `slice`
 * returns a view sharing memory, so wiping the "copy" would wipe the caller's bytes.
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.byteLength): Uint8Array {
  // A plain Uint8Array's slice is one native copy; a Buffer's slice would be a view, so Buffers
  // (and other subclasses) take the explicit copy below.
  if (Object.getPrototypeOf(b) === Uint8Array.prototype) return b.slice(start, end);
  const out = new Uint8Array(Math.max(0, end - start));
  out.set(b.subarray(start, end));
  return out;
}

/** Concatenate byte strings into a fresh Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Big-endian left pad with zeros to exactly `len` bytes (input must not be longer). Returns the input itself (as a plain view) when it already has that length. */
export function leftPad(b: Uint8Array, len: number): Uint8Array {
  if (b.byteLength === len) return u8(b);
  if (b.byteLength > len) throw new RangeError(`value of ${b.byteLength} bytes does not fit in ${len}`);
  const out = new Uint8Array(len);
  out.set(b, len - b.byteLength);
  return out;
}

/** A 32-bit unsigned integer as 4 big-endian bytes (message IDs, SPIs). */
export function uint32be(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a uint32: ${v}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v);
  return out;
}

/** Compare two equal-length big-endian unsigned integers: -1, 0, 1. Not constant time (public values). */
export function compareBe(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) throw new RangeError('compareBe needs equal lengths');
  for (let i = 0; i < a.byteLength; i++) {
    const x = a[i]!, y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** True if every byte is zero. */
export function isZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.byteLength; i++) acc |= b[i]!;
  return acc === 0;
}

/** Lowercase hex of bytes (for vectors and logs of public values). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Bytes from hex (whitespace ignored). Throws RangeError on odd length or non-hex. */
export function fromHex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '');
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('invalid hex');
  return copyBytes(Buffer.from(h, 'hex'));
}
