/**
 * Small keys and fingerprints the tables and the duplicate checks use: compact map keys for
 * cookies and SPIs, the address-pair key, the datagram fingerprint, address comparisons.
 * @module
 */
import { flatString } from '../crypto/bytes.js';
import type { Address } from './types.js';

/** A compact map key for 4- or 8-byte values (cookies, SPIs): 16-bit code units. */
export function bkey(b: Uint8Array): string {
  // (an index past the end reads as 0, like the missing byte of a pair)
  if (b.length === 8) {
    return String.fromCharCode(((b[0] ?? 0) << 8) | (b[1] ?? 0), ((b[2] ?? 0) << 8) | (b[3] ?? 0), ((b[4] ?? 0) << 8) | (b[5] ?? 0), ((b[6] ?? 0) << 8) | (b[7] ?? 0));
  }
  let s = '';
  for (let i = 0; i < b.length; i += 2) s += String.fromCharCode(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  return b.length === 4 ? s : `${b.length}:${s}`;
}

/**
 * A 4-byte IPsec SPI as a map key: the signed 32-bit integer (a small integer for V8, so no
 * string is built and none is hashed). Any other length gives NaN, which no stored SPI has.
 */
export function spiKey(b: Uint8Array): number {
  if (b.length !== 4) return NaN;
  return ((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0);
}

/**
 * A fingerprint of a datagram for duplicate detection: two independent 32-bit multiply-xorshift
 * hashes over 4-byte words (FNV and murmur constants, seeded with the length) folded into one
 * signed 32-bit number (a small integer for V8: an SA keeps it without a boxed heap number). Far
 * cheaper than keeping a copy; a collision can only make us repeat our last answer or ignore a
 * message, which an on-path attacker could cause anyway.
 */
export function fingerprint(b: Uint8Array): number {
  const n = b.length;
  let h1 = 0x811c9dc5 ^ n;
  let h2 = 0x01000193 ^ n;
  let i = 0;
  // four bytes per step (retransmitted datagrams are hashed whole, on every message); an index
  // past the end reads as 0 here, like the missing bytes of a word
  for (; i + 4 <= n; i += 4) {
    const w = (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h1 ^= h1 >>> 13;
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  for (; i < n; i++) {
    const v = b[i] ?? 0;
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 ^ v, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 ^ Math.imul(h2, 0x85ebca6b) ^ (h2 >>> 16)) | 0;
}

/** The key of the per-address-pair indexes: "local|remote", lower case. */
export function pairKeyOf(local: Address, remoteAddr: Address): string {
  return `${local.address.toLowerCase()}|${remoteAddr.address.toLowerCase()}`;
}

/** pairKeyOf as a flat string, for keys an SA keeps (see crypto/bytes.ts, flatString). */
export function pairKeyFlat(local: Address, remoteAddr: Address): string {
  return flatString(pairKeyOf(local, remoteAddr));
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function sameAddressPort(a: Address, b: Address): boolean {
  return a.port === b.port && sameAddress(a.address, b.address);
}

/**
 * A number as V8 stores it best in a record kept per SA: a whole number in the 32-bit range
 * becomes a small integer (arithmetic such as `a * 2 ** n` or an attribute parse may hand it over
 * as a double, which a field then keeps as a separate 16-byte heap number); others stay as they are.
 */
export function smi(n: number): number {
  return (n | 0) === n ? n | 0 : n;
}

/** A message ID / sequence number as 4 big-endian bytes. */
export function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
