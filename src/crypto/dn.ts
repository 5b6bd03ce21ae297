/**
 * Distinguished Names (X.501 Name, DER) compared by the rules of RFC 5280 §7.1: two names are
 * equal when they have the same number of RDNs and each RDN holds the same set of attribute types
 * with matching values, where string values are matched after the RFC 4518 string preparation
 * (transcoding to Unicode, mapping, NFKC, case folding, insignificant space handling). So
 * `C=CH, O=x, CN=gw` written in a configuration (PrintableString) equals the same name in a
 * certificate (UTF8String), and `cn=GW ` equals `CN=gw`. One comparison for the whole project:
 * certificate subjects against ID payloads, configured identities against the peer's, CRL issuers
 * against certificate issuers, and directoryName name constraints (`dnWithin`).
 * @module
 */
import { Tag, children, hexOf, oidText, readTlv, type Tlv } from './asn1.js';
import { constantTimeEqual } from './bytes.js';

/** One attribute of an RDN: its type (dotted OID) and its value prepared for comparison. */
interface Atv {
  readonly oid: string;
  /** 's:' + prepared text for string values; 'x' + tag + ':' + hex for any other value. */
  readonly key: string;
}

/** At most this many RDNs, and attributes per RDN, are read from a Name. */
const MAX_RDNS = 64;
const MAX_ATVS = 16;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf16be = new TextDecoder('utf-16be', { fatal: true });

/** A DirectoryString (or IA5String) value as Unicode text, or undefined when not a string type. */
function stringValue(b: Uint8Array, t: Tlv): string | undefined {
  const v = b.subarray(t.body, t.end);
  try {
    switch (t.tag) {
      case Tag.UTF8_STRING:
        return utf8.decode(v);
      case Tag.PRINTABLE_STRING:
      case Tag.IA5_STRING:
      case Tag.VISIBLE_STRING:
      case Tag.T61_STRING: // TeletexString: read as Latin-1, as most implementations do
        return latin1.decode(v);
      case Tag.BMP_STRING:
        return v.length % 2 === 0 ? utf16be.decode(v) : undefined;
      case Tag.UNIVERSAL_STRING: {
        if (v.length % 4 !== 0) return undefined;
        let s = '';
        for (let i = 0; i < v.length; i += 4) {
          const cp = ((v[i]! << 24) >>> 0) + (v[i + 1]! << 16) + (v[i + 2]! << 8) + v[i + 3]!;
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
          s += String.fromCodePoint(cp);
        }
        return s;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/**
 * RFC 4518 §2 string preparation for caseIgnoreMatch (and caseIgnoreIA5Match): characters mapped
 * to nothing (soft hyphen, zero-width and variation selectors, controls) dropped, other white
 * space mapped to SPACE, NFKC, case folded, leading and trailing spaces removed and inner runs
 * of spaces collapsed to one.
 */
export function prepareString(s: string): string {
  const mapped = s
    .replace(/[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff\ufffc]/g, '')
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]/g, '')
    .replace(/[\t\n\v\f\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g, ' ');
  return mapped.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC').replace(/ +/g, ' ').trim();
}

/** A DER Name → RDNs of prepared attributes (each RDN sorted: a SET has no order); undefined if malformed. */
export function parseName(b: Uint8Array, name?: Tlv): Atv[][] | undefined {
  const n = name ?? readTlv(b, 0, b.length);
  if (n === undefined || n.tag !== Tag.SEQUENCE || (name === undefined && n.end !== b.length)) return undefined;
  const sets = children(b, n, MAX_RDNS);
  if (sets === undefined) return undefined;
  const rdns: Atv[][] = [];
  for (const set of sets) {
    if (set.tag !== Tag.SET) return undefined;
    const atvs = children(b, set, MAX_ATVS);
    if (atvs === undefined || atvs.length === 0) return undefined;
    const rdn: Atv[] = [];
    for (const seq of atvs) {
      if (seq.tag !== Tag.SEQUENCE) return undefined;
      const parts = children(b, seq, 2);
      if (parts === undefined || parts.length !== 2) return undefined;
      const oid = oidText(b, parts[0]!);
      if (oid === undefined) return undefined;
      const v = parts[1]!;
      const s = stringValue(b, v);
      rdn.push({ oid, key: s !== undefined ? `s:${prepareString(s)}` : `x${v.tag}:${hexOf(b, v.body, v.end)}` });
    }
    rdn.sort((x, y) => (x.oid < y.oid ? -1 : x.oid > y.oid ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    rdns.push(rdn);
  }
  return rdns;
}

function rdnEqual(x: readonly Atv[], y: readonly Atv[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i]!.oid !== y[i]!.oid || x[i]!.key !== y[i]!.key) return false;
  return true;
}

/**
 * True if two DER Names are equal by RFC 5280 §7.1: byte-equal, or RDN by RDN with the same
 * attribute types and matching values (any of the string types, after RFC 4518 preparation).
 * A malformed name equals only its own bytes.
 */
export function dnEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (constantTimeEqual(a, b)) return true;
  const x = parseName(a);
  const y = parseName(b);
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!rdnEqual(x[i]!, y[i]!)) return false;
  return true;
}

/**
 * A text that is the same for two DER Names exactly when dnEqual holds (a map key): the prepared
 * RDNs, or the hex of a malformed name.
 */
export function dnKey(der: Uint8Array): string {
  const x = parseName(der);
  return x === undefined ? `raw:${hexOf(der, 0, der.length)}` : JSON.stringify(x.map((rdn) => rdn.map((a) => [a.oid, a.key])));
}

/**
 * True if `name` lies within the subtree `base` (RFC 5280 §4.2.1.10 directoryName constraints):
 * the RDNs of `base` are the first RDNs of `name`. Both are parsed RDN lists (see parseName).
 */
export function dnWithin(name: readonly (readonly Atv[])[], base: readonly (readonly Atv[])[]): boolean {
  if (base.length > name.length) return false;
  for (let i = 0; i < base.length; i++) if (!rdnEqual(name[i]!, base[i]!)) return false;
  return true;
}

/** pkcs-9 emailAddress: subject attributes that name-constraint checks treat as rfc822 names. */
const EMAIL_OID = '1.2.840.113549.1.9.1';

/** The emailAddress attribute values of a DER Name (lower case, prepared). */
export function dnEmails(rdns: readonly (readonly Atv[])[]): string[] {
  const out: string[] = [];
  for (const rdn of rdns) for (const a of rdn) if (a.oid === EMAIL_OID && a.key.startsWith('s:')) out.push(a.key.slice(2));
  return out;
}

const SHORT: Readonly<Record<string, string>> = {
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '0.9.2342.19200300.100.1.25': 'DC',
  [EMAIL_OID]: 'E',
};

/**
 * A DER Name as text for logs and status (`C=CH, O=org, CN=name`, in the order of the DER, as
 * RFC 2253 would print it reversed; ours follows strongSwan's and our config's order). Values that
 * are not strings show as `#hex`; control characters are left to the caller's escaping.
 * Undefined for a malformed name.
 */
export function dnText(der: Uint8Array): string | undefined {
  const n = readTlv(der, 0, der.length);
  if (n === undefined || n.tag !== Tag.SEQUENCE || n.end !== der.length) return undefined;
  const sets = children(der, n, MAX_RDNS);
  if (sets === undefined) return undefined;
  const parts: string[] = [];
  for (const set of sets) {
    const atvs = set.tag === Tag.SET ? children(der, set, MAX_ATVS) : undefined;
    if (atvs === undefined) return undefined;
    const one: string[] = [];
    for (const seq of atvs) {
      const p = seq.tag === Tag.SEQUENCE ? children(der, seq, 2) : undefined;
      if (p === undefined || p.length !== 2) return undefined;
      const oid = oidText(der, p[0]!);
      if (oid === undefined) return undefined;
      const s = stringValue(der, p[1]!);
      const v = s !== undefined ? s.replace(/([,+\\])/g, '\\$1') : `#${hexOf(der, p[1]!.start, p[1]!.end)}`;
      one.push(`${SHORT[oid] ?? oid}=${v}`);
    }
    parts.push(one.join(' + '));
  }
  return parts.join(', ');
}
