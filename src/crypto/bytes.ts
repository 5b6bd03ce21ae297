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

/** The two lowercase hex digits of every byte value, and their char codes (see toHexFlat). */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));
const HEX_CODES: readonly number[] = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * Lowercase hex of bytes (vectors, logs and ids of public values): a table lookup per byte,
 * several times faster than Number#toString(16) or a Buffer for the short values (cookies,
 * SPIs) the engine formats on its hot path.
 */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX_PAIRS[b[i]!];
  return s;
}

/** Reused char-code arrays by length (toHexFlat and flatString run synchronously: no sharing hazard). */
const CODES = new Map<number, number[]>();

function codesOf(n: number): number[] {
  let codes = CODES.get(n);
  if (!codes) CODES.set(n, (codes = new Array<number>(n).fill(0)));
  return codes;
}

/**
 * `toHex(a) + toHex(b)` as ONE flat string. Strings kept for a long time (the engine's SA ids and
 * index keys) are built this way: `+` of 13 or more characters makes a tree of cons strings
 * (5 heap objects for a 32-digit id) that the holder keeps alive and the collector copies.
 */
export function toHexFlat(a: Uint8Array, b?: Uint8Array): string {
  const codes = codesOf(2 * (a.length + (b?.length ?? 0)));
  let o = 0;
  for (let i = 0; i < a.length; i++, o += 2) {
    codes[o] = HEX_CODES[a[i]! >> 4]!;
    codes[o + 1] = HEX_CODES[a[i]! & 15]!;
  }
  if (b) {
    for (let i = 0; i < b.length; i++, o += 2) {
      codes[o] = HEX_CODES[b[i]! >> 4]!;
      codes[o + 1] = HEX_CODES[b[i]! & 15]!;
    }
  }
  return String.fromCharCode.apply(null, codes);
}

/** A string rebuilt flat (see toHexFlat) when it is long enough to be a cons string. */
export function flatString(s: string): string {
  const n = s.length;
  if (n < 13) return s;
  const codes = codesOf(n);
  for (let i = 0; i < n; i++) codes[i] = s.charCodeAt(i);
  return String.fromCharCode.apply(null, codes);
}

/** Byte-wise equality of public values (not constant time: use constantTimeEqual for secrets); false when either is missing. */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether the first `n` bytes of `a` and `b` are equal (both at least `n` long); public data only (early exit), no views made. */
export function prefixEqual(a: Uint8Array, b: Uint8Array, n: number): boolean {
  if (a.length < n || b.length < n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A big-endian unsigned 32-bit integer from the first 4 bytes (message IDs, SPIs, DPD sequence numbers). */
export function readUint32be(b: Uint8Array): number {
  return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
}

/** Bytes from hex (whitespace ignored). Throws RangeError on odd length or non-hex. */
export function fromHex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '');
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('invalid hex');
  return copyBytes(Buffer.from(h, 'hex'));
}
