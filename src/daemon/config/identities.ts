/**
 * Identities and traffic selectors as written in the configuration (RFC 2407 §4.6.2): text →
 * the ID payload's type and bytes, and `ADDRESS[/PREFIX][[PROTO[/PORT]]]` → a selector.
 */
import { isIP } from 'node:net';
import { IdType } from '../../constants/index.js';
import { fromHex } from '../../crypto/bytes.js';
import { encodeDn } from '../der.js';
import type { ConfigIdentity, TrafficSelector } from './types.js';

export function ipBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  // IPv6: expand '::'
  let s = address;
  let tail4: number[] = [];
  const last = s.lastIndexOf(':');
  if (s.includes('.')) {
    tail4 = s.slice(last + 1).split('.').map(Number);
    s = s.slice(0, last + 1) + '0:0';
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? new Array<string>(8 - h.length - t.length).fill('0') : [];
  const groups = [...h, ...fill, ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail4.length === 4) out.set(tail4, 12);
  return out;
}

/**
 * Parses an identity as written in the config:
 *   198.18.0.1 / 2001:db8::1      ID_IPV4_ADDR / ID_IPV6_ADDR
 *   @host.example or host.example ID_FQDN (a leading @ forces FQDN)
 *   user@host.example             ID_USER_FQDN
 *   keyid:TEXT or keyid:0xHEX     ID_KEY_ID
 *   C=CH, O=org, CN=name          ID_DER_ASN1_DN
 */
export function parseIdentity(text: string): { ok: true; value: ConfigIdentity } | { ok: false; error: string } {
  const t = text.trim();
  if (t === '') return { ok: false, error: 'empty identity' };
  const enc = new TextEncoder();
  const fam = isIP(t);
  if (fam === 4) return { ok: true, value: { type: IdType.ID_IPV4_ADDR, data: ipBytes(t), text: t } };
  if (fam === 6) return { ok: true, value: { type: IdType.ID_IPV6_ADDR, data: ipBytes(t), text: t } };
  if (t.startsWith('keyid:')) {
    const v = t.slice(6);
    if (/^0x([0-9a-fA-F]{2})+$/.test(v)) {
      return { ok: true, value: { type: IdType.ID_KEY_ID, data: fromHex(v.slice(2)), text: t } };
    }
    if (v === '') return { ok: false, error: `'${t}': keyid: needs a value` };
    return { ok: true, value: { type: IdType.ID_KEY_ID, data: enc.encode(v), text: t } };
  }
  if (/^[A-Za-z]+=/.test(t)) {
    const dn = encodeDn(t);
    if (!dn.ok) return dn;
    return { ok: true, value: { type: IdType.ID_DER_ASN1_DN, data: dn.value, text: t } };
  }
  if (t.startsWith('@')) {
    const v = t.slice(1);
    if (v === '') return { ok: false, error: `'${t}': @ needs a host name` };
    return { ok: true, value: { type: IdType.ID_FQDN, data: enc.encode(v), text: v } };
  }
  if (/^[^@\s]+@[^@\s]+$/.test(t)) return { ok: true, value: { type: IdType.ID_USER_FQDN, data: enc.encode(t), text: t } };
  if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(t)) {
    return { ok: true, value: { type: IdType.ID_FQDN, data: enc.encode(t), text: t } };
  }
  return {
    ok: false,
    error: `cannot tell what kind of identity '${t}' is (write an IP address, a host name, user@host, keyid:VALUE or a DN like C=CH, O=org, CN=name)`,
  };
}

const PROTOCOLS: Readonly<Record<string, number>> = { any: 0, icmp: 1, tcp: 6, udp: 17, icmpv6: 58, gre: 47, sctp: 132 };

/** Parses `10.0.0.0/24`, `198.18.0.1` (= /32), `2001:db8::/64`, optionally followed by `[udp]`, `[tcp/443]`, `[17/500]`. */
export function parseTrafficSelector(text: string): { ok: true; value: TrafficSelector } | { ok: false; error: string } {
  const t = text.trim();
  const m = /^([^[\]/]+)(?:\/(\d{1,3}))?(?:\[([a-z0-9]+)(?:\/(\d{1,5}))?\])?$/i.exec(t);
  if (m === null) {
    return { ok: false, error: `'${t}' is not a traffic selector (write ADDRESS[/PREFIX][[PROTO[/PORT]]], e.g. 10.1.0.0/16 or 198.18.0.1/32[udp/500])` };
  }
  const addr = m[1] as string;
  const fam = isIP(addr);
  if (fam === 0) return { ok: false, error: `'${addr}' in '${t}' is not an IPv4 or IPv6 address` };
  const max = fam === 4 ? 32 : 128;
  const prefix = m[2] !== undefined ? Number(m[2]) : max;
  if (prefix > max) return { ok: false, error: `prefix /${prefix} in '${t}' is longer than ${max}` };
  let protocol = 0;
  let port = 0;
  if (m[3] !== undefined) {
    const p = m[3].toLowerCase();
    const n = /^\d+$/.test(p) ? Number(p) : PROTOCOLS[p];
    if (n === undefined || n > 255) {
      return { ok: false, error: `unknown protocol '${m[3]}' in '${t}' (use a number 0-255 or one of: ${Object.keys(PROTOCOLS).join(', ')})` };
    }
    protocol = n;
  }
  if (m[4] !== undefined) {
    port = Number(m[4]);
    if (port > 65535) return { ok: false, error: `port ${port} in '${t}' is above 65535` };
    if (protocol === 0) return { ok: false, error: `a port in '${t}' needs a protocol (tcp, udp, ...)` };
  }
  // Host bits must be zero, so that what we send is what we mean.
  const bytes = ipBytes(addr);
  for (let bit = prefix; bit < max; bit++) {
    if ((bytes[bit >> 3] as number) & (0x80 >> (bit & 7))) {
      return { ok: false, error: `'${t}' has host bits set beyond /${prefix} (write the network address)` };
    }
  }
  return { ok: true, value: { family: fam as 4 | 6, address: addr, prefix, protocol, port, text: t } };
}
