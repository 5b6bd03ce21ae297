/**
 * Identities (phase 1) and traffic selectors (Quick Mode) to and from ID payload fields
 * (RFC 2407 §4.6.2). Address text is parsed here without node:net (the core is sans-IO).
 */
import { IdType } from '../constants/index.js';
import type { IdPayload } from '../codec/types.js';
import { parseIpv4, parseIpv6 } from '../codec/identification.js';
import { dnEqual, dnText } from './crypto.js';
import type { Identity, Selector } from './types.js';

const parsed = new Map<string, Uint8Array | undefined>();

/** Address text → bytes (4 or 16), or undefined. Results are cached (bounded); treat them as read-only. */
export function parseAddress(s: string): Uint8Array | undefined {
  let b = parsed.get(s);
  if (b === undefined && !parsed.has(s)) {
    b = s.includes(':') ? parseIpv6(s) : parseIpv4(s);
    if (parsed.size >= 4096) parsed.clear();
    parsed.set(s, b);
  }
  return b;
}

/** Bytes (4 or 16) → address text (IPv6 in full lower-case groups with '::' for the longest zero run). */
export function formatAddress(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function prefixMask(len: number, bytes: number): Uint8Array {
  const m = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const bits = Math.max(0, Math.min(8, len - 8 * i));
    m[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

function maskToPrefix(m: Uint8Array): number | undefined {
  let len = 0;
  let seenZero = false;
  for (const byte of m) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set) {
        if (seenZero) return undefined;
        len++;
      } else seenZero = true;
    }
  }
  return len;
}

/** A selector for one host. */
export function hostSelector(address: string, protocol = 0, port = 0): Selector {
  return { family: address.includes(':') ? 6 : 4, start: address, end: address, protocol, port };
}

/** A selector for a subnet, e.g. subnetSelector('10.1.0.0', 16). */
export function subnetSelector(network: string, prefix: number, protocol = 0, port = 0): Selector {
  const b = parseAddress(network);
  if (!b) throw new RangeError(`not an address: ${network}`);
  const m = prefixMask(prefix, b.length);
  const lo = b.map((x, i) => x & m[i]!);
  const hi = b.map((x, i) => (x & m[i]!) | (~m[i]! & 0xff));
  return { family: b.length === 4 ? 4 : 6, start: formatAddress(lo), end: formatAddress(hi), prefix, protocol, port };
}

/** The ID payload fields (type, protocol, port, data) of a selector. */
export function selectorToId(s: Selector): { idType: number; protocol: number; port: number; data: Uint8Array } {
  const lo = parseAddress(s.start)!;
  const v4 = lo.length === 4;
  if (s.start === s.end && s.prefix === undefined) {
    return { idType: v4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, protocol: s.protocol, port: s.port, data: lo.slice() };
  }
  if (s.prefix !== undefined) {
    const data = new Uint8Array(lo.length * 2);
    data.set(lo, 0);
    data.set(prefixMask(s.prefix, lo.length), lo.length);
    return { idType: v4 ? IdType.ID_IPV4_ADDR_SUBNET : IdType.ID_IPV6_ADDR_SUBNET, protocol: s.protocol, port: s.port, data };
  }
  const hi = parseAddress(s.end)!;
  const data = new Uint8Array(lo.length * 2);
  data.set(lo, 0);
  data.set(hi, lo.length);
  return { idType: v4 ? IdType.ID_IPV4_ADDR_RANGE : IdType.ID_IPV6_ADDR_RANGE, protocol: s.protocol, port: s.port, data };
}

/** A Quick Mode ID payload → selector; undefined for any type other than address/subnet/range. */
export function idToSelector(id: Pick<IdPayload, 'idType' | 'protocol' | 'port' | 'data'>): Selector | undefined {
  const d = id.data;
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR: {
      const n = id.idType === IdType.ID_IPV4_ADDR ? 4 : 16;
      if (d.length !== n) return undefined;
      const a = formatAddress(d);
      return { family: n === 4 ? 4 : 6, start: a, end: a, protocol: id.protocol, port: id.port };
    }
    case IdType.ID_IPV4_ADDR_SUBNET:
    case IdType.ID_IPV6_ADDR_SUBNET: {
      const n = id.idType === IdType.ID_IPV4_ADDR_SUBNET ? 4 : 16;
      if (d.length !== 2 * n) return undefined;
      const prefix = maskToPrefix(d.subarray(n));
      if (prefix === undefined) return undefined;
      const s = subnetSelector(formatAddress(d.subarray(0, n)), prefix, id.protocol, id.port);
      return s;
    }
    case IdType.ID_IPV4_ADDR_RANGE:
    case IdType.ID_IPV6_ADDR_RANGE: {
      const n = id.idType === IdType.ID_IPV4_ADDR_RANGE ? 4 : 16;
      if (d.length !== 2 * n) return undefined;
      const lo = d.subarray(0, n);
      const hi = d.subarray(n);
      if (compareBytes(lo, hi) > 0) return undefined;
      return { family: n === 4 ? 4 : 6, start: formatAddress(lo), end: formatAddress(hi), protocol: id.protocol, port: id.port };
    }
    default:
      return undefined;
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Is `inner` inside `outer` (addresses, protocol and port; 0 = any)? */
export function selectorWithin(inner: Selector, outer: Selector): boolean {
  if (inner.family !== outer.family) return false;
  if (outer.protocol !== 0 && inner.protocol !== outer.protocol) return false;
  if (outer.port !== 0 && inner.port !== outer.port) return false;
  const il = parseAddress(inner.start)!;
  const ih = parseAddress(inner.end)!;
  const ol = parseAddress(outer.start)!;
  const oh = parseAddress(outer.end)!;
  return compareBytes(il, ol) >= 0 && compareBytes(ih, oh) <= 0;
}

export function selectorEquals(a: Selector, b: Selector): boolean {
  return a.family === b.family && a.protocol === b.protocol && a.port === b.port &&
    compareBytes(parseAddress(a.start)!, parseAddress(b.start)!) === 0 &&
    compareBytes(parseAddress(a.end)!, parseAddress(b.end)!) === 0;
}

/** One selector or a list of them (a connection's `localTs` / `remoteTs`) as a list. */
export function selectorList(ts: Selector | readonly Selector[] | undefined): readonly Selector[] {
  if (ts === undefined) return [];
  return isSelectorArray(ts) ? ts : [ts];
}

function isSelectorArray(ts: Selector | readonly Selector[]): ts is readonly Selector[] {
  return Array.isArray(ts);
}

/** Every local selector an IPsec SA carries: its `localSelectors`, else its one `localTs`. */
export function localSelectorsOf(sa: { readonly localTs: Selector; readonly localSelectors?: readonly Selector[] }): readonly Selector[] {
  return sa.localSelectors ?? [sa.localTs];
}

type SaSelectors = { readonly localTs: Selector; readonly localSelectors?: readonly Selector[]; readonly remoteTs: Selector };

/** Do two IPsec SAs carry the same selectors (every local one, and the remote one)? */
export function sameSaSelectors(a: SaSelectors, b: SaSelectors): boolean {
  const la = localSelectorsOf(a);
  const lb = localSelectorsOf(b);
  return la.length === lb.length && la.every((l, i) => selectorEquals(l, lb[i]!)) && selectorEquals(a.remoteTs, b.remoteTs);
}

/** A pair of traffic selectors: one IPsec SA's. */
export interface SelectorPair {
  readonly local: Selector;
  readonly remote: Selector;
}

/**
 * The selector pairs of a connection: every local × remote selector of the same IP version, in
 * the configured order; a side without selectors is its phase-1 address (`localAddress`,
 * `remoteAddress`; a responder's `%any` remote side is open: undefined there, see pairFits).
 */
export function selectorPairs(localTs: Selector | readonly Selector[] | undefined, remoteTs: Selector | readonly Selector[] | undefined, localAddress: string, remoteAddress: string): SelectorPair[] {
  const ls = localTs === undefined ? [hostSelector(localAddress)] : selectorList(localTs);
  const rs = remoteTs === undefined ? [hostSelector(remoteAddress)] : selectorList(remoteTs);
  const out: SelectorPair[] = [];
  for (const local of ls) for (const remote of rs) if (local.family === remote.family) out.push({ local, remote });
  return out;
}

/** Phase-1 identity → ID payload fields (protocol 0, port 0). */
export function identityToId(id: Identity): { idType: number; data: Uint8Array } {
  switch (id.type) {
    case 'ipv4': {
      const b = parseIpv4(id.value);
      if (!b) throw new RangeError(`not an IPv4 address: ${id.value}`);
      return { idType: IdType.ID_IPV4_ADDR, data: b };
    }
    case 'ipv6': {
      const b = parseIpv6(id.value);
      if (!b) throw new RangeError(`not an IPv6 address: ${id.value}`);
      return { idType: IdType.ID_IPV6_ADDR, data: b };
    }
    case 'fqdn':
      return { idType: IdType.ID_FQDN, data: new TextEncoder().encode(id.value) };
    case 'user-fqdn':
      return { idType: IdType.ID_USER_FQDN, data: new TextEncoder().encode(id.value) };
    case 'der-asn1-dn':
      return { idType: IdType.ID_DER_ASN1_DN, data: id.value };
    case 'key-id':
      return { idType: IdType.ID_KEY_ID, data: id.value };
    case 'any':
      throw new RangeError('identity "any" cannot be sent');
  }
}

/** A key ID as the configuration writes it: `keyid:TEXT` when printable ASCII, else `keyid:0xHEX`. */
export function keyIdText(b: Uint8Array): string {
  let text = true;
  for (const c of b) if (c < 0x21 || c > 0x7e) text = false;
  if (text && b.length > 0 && !(b.length > 2 && b[0] === 0x30 && (b[1] === 0x78 || b[1] === 0x58))) return `keyid:${String.fromCharCode(...b)}`;
  let hex = '';
  for (const c of b) hex += c.toString(16).padStart(2, '0');
  return `keyid:0x${hex}`;
}

/** An identity in the operator's words: an address, a name, `keyid:…`, a DN as text, `%any`. */
export function identityText(id: Identity | { readonly type: 'other'; readonly idType: number; readonly data: Uint8Array } | undefined): string {
  if (id === undefined) return '(none)';
  switch (id.type) {
    case 'any':
      return '%any';
    case 'other':
      return `ID type ${id.idType}`;
    case 'key-id':
      return keyIdText(id.value);
    case 'der-asn1-dn':
      return dnText(id.value) ?? 'a malformed DN';
    default:
      return id.value;
  }
}

/** The address identity of an address text. */
export function addressIdentity(address: string): Identity {
  return address.includes(':') ? { type: 'ipv6', value: address } : { type: 'ipv4', value: address };
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** ID payload fields → identity record (bounded; unknown types kept raw). */
export function idToIdentity(idType: number, data: Uint8Array):
  Identity | { type: 'other'; idType: number; data: Uint8Array } {
  switch (idType) {
    case IdType.ID_IPV4_ADDR:
      if (data.length === 4) return { type: 'ipv4', value: formatAddress(data) };
      break;
    case IdType.ID_IPV6_ADDR:
      if (data.length === 16) return { type: 'ipv6', value: formatAddress(data) };
      break;
    case IdType.ID_FQDN:
      if (data.length > 0 && data.length <= 255) return { type: 'fqdn', value: utf8.decode(data) };
      break;
    case IdType.ID_USER_FQDN:
      if (data.length > 0 && data.length <= 255) return { type: 'user-fqdn', value: utf8.decode(data) };
      break;
    case IdType.ID_DER_ASN1_DN:
      if (data.length > 0) return { type: 'der-asn1-dn', value: Uint8Array.from(data) };
      break;
    case IdType.ID_KEY_ID:
      if (data.length > 0 && data.length <= 256) return { type: 'key-id', value: Uint8Array.from(data) };
      break;
  }
  return { type: 'other', idType, data: Uint8Array.from(data.subarray(0, 256)) };
}

/** Does the identity the peer sent match what the connection expects? */
export function identityMatches(expected: Identity, idType: number, data: Uint8Array): boolean {
  if (expected.type === 'any') return true;
  if (expected.type === 'ipv4' || expected.type === 'ipv6') {
    // the cached parse (read-only): no allocation per check
    const want = expected.type === 'ipv4' ? (expected.value.includes(':') ? undefined : parseAddress(expected.value)) : parseAddress(expected.value);
    const wantType = expected.type === 'ipv4' ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR;
    if (!want || want.length !== (expected.type === 'ipv4' ? 4 : 16)) throw new RangeError(`not an ${expected.type === 'ipv4' ? 'IPv4' : 'IPv6'} address: ${expected.value}`);
    return wantType === idType && compareBytes(want, data) === 0;
  }
  const want = identityToId(expected);
  if (want.idType !== idType) return false;
  if (expected.type === 'fqdn' || expected.type === 'user-fqdn') {
    return utf8.decode(data).toLowerCase() === expected.value.toLowerCase();
  }
  // ID_KEY_ID: opaque bytes, compared exactly
  if (expected.type === 'key-id') return compareBytes(want.data, data) === 0;
  // ID_DER_ASN1_DN: RFC 5280 §7.1 (string types and case do not matter), the one DN comparison
  return dnEqual(want.data, data);
}

/** Strict DER check of a Name (SEQUENCE with exact definite lengths, no trailing bytes). */
export function isWellFormedDerSequence(d: Uint8Array): boolean {
  const parse = (off: number, end: number, depth: number): number => {
    if (depth > 16 || off + 2 > end) return -1;
    const tag = d[off]!;
    let len = d[off + 1]!;
    let p = off + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || p + n > end) return -1;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + d[p + i]!;
      p += n;
    }
    if (p + len > end) return -1;
    if (tag & 0x20) {
      let q = p;
      while (q < p + len) {
        q = parse(q, p + len, depth + 1);
        if (q < 0) return -1;
      }
    }
    return p + len;
  };
  if (d.length < 2 || d[0] !== 0x30) return false;
  return parse(0, d.length, 0) === d.length;
}
