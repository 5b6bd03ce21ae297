/**
 * IP addresses as the kernel's `xfrm_address_t` holds them (16 bytes, IPv4 in the first 4) and
 * back to canonical text (RFC 5952 for IPv6), so that what we send and what the kernel reports
 * compare equal as strings.
 */
import { isIP } from 'node:net';
import { formatAddress } from '../../exchange/ids.js';

/** Writes `text` (IPv4 or IPv6) at `bytes[at..at+16)`; throws on anything else. */
export function writeAddress(bytes: Uint8Array, at: number, text: string): void {
  const fam = isIP(text);
  if (fam === 4) {
    const p = text.split('.');
    for (let i = 0; i < 4; i++) bytes[at + i] = Number(p[i]);
    return;
  }
  if (fam !== 6) throw new Error(`not an IP address: ${text}`);
  let s = text;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4 !== null) {
    const n = v4.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, v4.index) + ((n[0] << 8) | n[1]).toString(16) + ':' + ((n[2] << 8) | n[3]).toString(16);
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? '0', 16);
    bytes[at + 2 * i] = g >> 8;
    bytes[at + 2 * i + 1] = g & 0xff;
  }
}

/** Text of the address at `bytes[at..]` for a family: dotted quad, or RFC 5952 IPv6. */
export function readAddress(bytes: Uint8Array, at: number, family: 4 | 6): string {
  return formatAddress(bytes.subarray(at, at + (family === 4 ? 4 : 16)));
}

/** Canonical text of an address (IPv6 per RFC 5952, IPv4 unchanged); other text is returned as is. */
export function canonicalAddress(text: string): string {
  if (isIP(text) !== 6) return text;
  const b = new Uint8Array(16);
  writeAddress(b, 0, text);
  return readAddress(b, 0, 6);
}

/** The address family of a textual address (4 when it has no colon). */
export const familyOf = (text: string): 4 | 6 => (text.includes(':') ? 6 : 4);
