/**
 * RFC 2407 §4.6.2 Identification data: typed records for the ID types of §4.6.2.1 and back.
 * Bad lengths are `DecodeError` INVALID_ID_INFORMATION (RFC 2408 §5.7).
 * @module
 */
import { IdType, NotifyType } from '../constants/index.js';
import { DecodeError } from '../errors.js';
import { checkIdData } from './payloads.js';

export type Identification =
  | { readonly kind: 'ipv4'; readonly address: string }
  | { readonly kind: 'ipv6'; readonly address: string }
  | { readonly kind: 'ipv4-subnet'; readonly address: string; readonly mask: string; readonly prefix: number | undefined }
  | { readonly kind: 'ipv6-subnet'; readonly address: string; readonly mask: string; readonly prefix: number | undefined }
  | { readonly kind: 'ipv4-range'; readonly start: string; readonly end: string }
  | { readonly kind: 'ipv6-range'; readonly start: string; readonly end: string }
  | { readonly kind: 'fqdn'; readonly name: string }
  | { readonly kind: 'user-fqdn'; readonly name: string }
  | { readonly kind: 'der-asn1-dn'; readonly der: Uint8Array }
  | { readonly kind: 'der-asn1-gn'; readonly der: Uint8Array }
  | { readonly kind: 'key-id'; readonly keyId: Uint8Array }
  | { readonly kind: 'unknown'; readonly idType: number; readonly data: Uint8Array };

const bad = (why: string): never => {
  throw new DecodeError(NotifyType.INVALID_ID_INFORMATION, why);
};

export function ipv4ToText(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text: lower-case hex, longest run (≥ 2) of zero groups compressed to "::". */
export function ipv6ToText(b: Uint8Array, at = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/**
 * Parses dotted-quad text; `undefined` when it is not one: exactly four parts of 1–3 decimal digits,
 * each ≤ 255, no leading zeros (`010` is octal to some parsers: refuse rather than guess).
 * A character loop without split or regex: the engine calls this on its hot path.
 */
export function parseIpv4(s: string): Uint8Array | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  const out = new Uint8Array(4);
  let part = 0;
  let digits = 0;
  let v = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c === 46) {
      if (digits === 0 || v > 255 || part > 3) return undefined;
      out[part++] = v;
      digits = 0;
      v = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && v === 0)) {
      v = v * 10 + (c - 48);
      digits++;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

/** Parses IPv6 text (with "::" and an embedded dotted quad); `undefined` when invalid. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIpv4(it);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  let all: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  const out = new Uint8Array(16);
  all.forEach((x, i) => { out[2 * i] = x >>> 8; out[2 * i + 1] = x & 0xff; });
  return out;
}

/** Prefix length of a contiguous netmask, or `undefined`. */
function prefixOf(mask: Uint8Array, at: number, n: number): number | undefined {
  let bits = 0;
  let i = 0;
  for (; i < n && mask[at + i] === 0xff; i++) bits += 8;
  if (i < n) {
    const m = mask[at + i]!;
    let k = 0;
    while (k < 8 && (m & (0x80 >>> k))) k++;
    if (((0xff00 >>> k) & 0xff) !== m) return undefined;
    bits += k;
    for (i++; i < n; i++) if (mask[at + i] !== 0) return undefined;
  }
  return bits;
}

function maskOf(prefix: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = (0xff00 >>> bits) & 0xff;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

/** A typed view of ID data (RFC 2407 §4.6.2.1). Throws DecodeError INVALID_ID_INFORMATION. */
export function decodeIdentification(idType: number, data: Uint8Array): Identification {
  const why = checkIdData(undefined, idType, data.length, 0);
  if (why !== undefined) bad(why);
  switch (idType) {
    case IdType.ID_IPV4_ADDR: return { kind: 'ipv4', address: ipv4ToText(data) };
    case IdType.ID_IPV6_ADDR: return { kind: 'ipv6', address: ipv6ToText(data) };
    case IdType.ID_IPV4_ADDR_SUBNET:
      return { kind: 'ipv4-subnet', address: ipv4ToText(data), mask: ipv4ToText(data, 4), prefix: prefixOf(data, 4, 4) };
    case IdType.ID_IPV6_ADDR_SUBNET:
      return { kind: 'ipv6-subnet', address: ipv6ToText(data), mask: ipv6ToText(data, 16), prefix: prefixOf(data, 16, 16) };
    case IdType.ID_IPV4_ADDR_RANGE: return { kind: 'ipv4-range', start: ipv4ToText(data), end: ipv4ToText(data, 4) };
    case IdType.ID_IPV6_ADDR_RANGE: return { kind: 'ipv6-range', start: ipv6ToText(data), end: ipv6ToText(data, 16) };
    case IdType.ID_FQDN:
    case IdType.ID_USER_FQDN: {
      let name = '';
      try { name = utf8.decode(data); } catch { bad(`ID type ${idType} is not valid UTF-8`); }
      return { kind: idType === IdType.ID_FQDN ? 'fqdn' : 'user-fqdn', name };
    }
    case IdType.ID_DER_ASN1_DN: return { kind: 'der-asn1-dn', der: data };
    case IdType.ID_DER_ASN1_GN: return { kind: 'der-asn1-gn', der: data };
    case IdType.ID_KEY_ID: return { kind: 'key-id', keyId: data };
    default: return { kind: 'unknown', idType, data };
  }
}

/** Input of `encodeIdentification`: a decoded record, or a subnet given by prefix. */
export type IdentificationInput =
  | Identification
  | { readonly kind: 'ipv4-subnet' | 'ipv6-subnet'; readonly address: string; readonly prefix: number; readonly mask?: string };

/** The inverse of `decodeIdentification`: ID type and data. Throws DecodeError on bad input. */
export function encodeIdentification(id: IdentificationInput): { idType: number; data: Uint8Array } {
  const v4 = (s: string): Uint8Array => parseIpv4(s) ?? bad(`not an IPv4 address: ${s.slice(0, 64)}`);
  const v6 = (s: string): Uint8Array => parseIpv6(s) ?? bad(`not an IPv6 address: ${s.slice(0, 64)}`);
  const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };
  const mask = (m: string | undefined, prefix: number | undefined, n: number): Uint8Array => {
    if (m !== undefined) return n === 4 ? v4(m) : v6(m);
    if (prefix === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > n * 8) return bad(`bad prefix ${String(prefix)}`);
    return maskOf(prefix, n);
  };
  const need = (data: Uint8Array, idType: number): Uint8Array => {
    if (data.length === 0) bad(`ID type ${idType} with empty data`);
    return data;
  };
  switch (id.kind) {
    case 'ipv4': return { idType: IdType.ID_IPV4_ADDR, data: v4(id.address) };
    case 'ipv6': return { idType: IdType.ID_IPV6_ADDR, data: v6(id.address) };
    case 'ipv4-subnet': return { idType: IdType.ID_IPV4_ADDR_SUBNET, data: cat(v4(id.address), mask(id.mask, id.prefix, 4)) };
    case 'ipv6-subnet': return { idType: IdType.ID_IPV6_ADDR_SUBNET, data: cat(v6(id.address), mask(id.mask, id.prefix, 16)) };
    case 'ipv4-range': return { idType: IdType.ID_IPV4_ADDR_RANGE, data: cat(v4(id.start), v4(id.end)) };
    case 'ipv6-range': return { idType: IdType.ID_IPV6_ADDR_RANGE, data: cat(v6(id.start), v6(id.end)) };
    case 'fqdn': return { idType: IdType.ID_FQDN, data: need(enc.encode(id.name), IdType.ID_FQDN) };
    case 'user-fqdn': return { idType: IdType.ID_USER_FQDN, data: need(enc.encode(id.name), IdType.ID_USER_FQDN) };
    case 'der-asn1-dn': return { idType: IdType.ID_DER_ASN1_DN, data: need(id.der, IdType.ID_DER_ASN1_DN) };
    case 'der-asn1-gn': return { idType: IdType.ID_DER_ASN1_GN, data: need(id.der, IdType.ID_DER_ASN1_GN) };
    case 'key-id': return { idType: IdType.ID_KEY_ID, data: need(id.keyId, IdType.ID_KEY_ID) };
    case 'unknown': return { idType: id.idType, data: id.data };
  }
}
