/** (split from endpoint.ts) */
import { type Address } from './types.js';

export const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex(b: Uint8Array): string {
  // a table lookup per byte: several times faster than Number#toString(16) + padStart
  if (b.length === 8) return HEX[b[0]!]! + HEX[b[1]!]! + HEX[b[2]!]! + HEX[b[3]!]! + HEX[b[4]!]! + HEX[b[5]!]! + HEX[b[6]!]! + HEX[b[7]!]!;
  if (b.length === 4) return HEX[b[0]!]! + HEX[b[1]!]! + HEX[b[2]!]! + HEX[b[3]!]!;
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** Char codes of the hex digits, for hexFlat. */
export const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Reused char-code arrays by length (hexFlat and flat run synchronously: no sharing hazard). */
export const CODES = new Map<number, number[]>();

/**
 * `hex(a) + hex(b)` as ONE flat string. Strings kept per SA (ids, index keys) are built this way:
 * `+` of 13 or more characters makes a tree of cons strings (5 objects for a 32-digit SA id)
 * that the SA would keep alive and the garbage collector would copy.
 */
export function hexFlat(a: Uint8Array, b?: Uint8Array): string {
  const n = 2 * (a.length + (b?.length ?? 0));
  let codes = CODES.get(n);
  if (!codes) CODES.set(n, (codes = new Array<number>(n).fill(0)));
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

/** A string rebuilt flat (see hexFlat) when it is long enough to be a cons string. */
export function flat(s: string): string {
  const n = s.length;
  if (n < 13) return s;
  let codes = CODES.get(n);
  if (!codes) CODES.set(n, (codes = new Array<number>(n).fill(0)));
  for (let i = 0; i < n; i++) codes[i] = s.charCodeAt(i);
  return String.fromCharCode.apply(null, codes);
}

/** A compact map key for 4- or 8-byte values (cookies, SPIs): 16-bit code units. */
export function bkey(b: Uint8Array): string {
  if (b.length === 8) {
    return String.fromCharCode((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!, (b[4]! << 8) | b[5]!, (b[6]! << 8) | b[7]!);
  }
  if (b.length === 4) return String.fromCharCode((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
  return hex(b);
}

/**
 * A 4-byte IPsec SPI as a map key: the signed 32-bit integer (a small integer for V8, so no
 * string is built and none is hashed). Any other length gives NaN, which no stored SPI has.
 */
export function spiKey(b: Uint8Array): number {
  return b.length === 4 ? (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]! : NaN;
}

/**
 * A fingerprint of a datagram for duplicate detection: two independent 32-bit multiply-xorshift
 * hashes over 4-byte words (FNV and murmur constants, seeded with the length) folded into one
 * signed 32-bit number (a small integer for V8: an SA keeps it without a boxed heap number). Far cheaper than keeping
 * a copy; a collision can only make us repeat our last answer or ignore a message, which an
 * on-path attacker could cause anyway.
 */
export function fingerprint(b: Uint8Array): number {
  const n = b.length;
  let h1 = 0x811c9dc5 ^ n;
  let h2 = 0x01000193 ^ n;
  let i = 0;
  // four bytes per step (retransmitted datagrams are hashed whole, on every message)
  for (; i + 4 <= n; i += 4) {
    const w = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h1 ^= h1 >>> 13;
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  for (; i < n; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ b[i]!, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 ^ Math.imul(h2, 0x85ebca6b) ^ (h2 >>> 16)) | 0;
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function readU32(b: Uint8Array): number {
  return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
}

export function pairKeyOf(local: Address, remoteAddr: Address): string {
  return `${local.address.toLowerCase()}|${remoteAddr.address.toLowerCase()}`;
}

/** pairKeyOf as a flat string, for keys an SA keeps (see hexFlat). */
export function pairKeyFlat(local: Address, remoteAddr: Address): string {
  return flat(pairKeyOf(local, remoteAddr));
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function sameAddressPort(a: Address, b: Address): boolean {
  return a.port === b.port && sameAddress(a.address, b.address);
}
