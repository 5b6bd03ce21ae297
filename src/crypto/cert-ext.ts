/**
 * The fields of an X.509 certificate that node:crypto's `X509Certificate` does not expose, read
 * from its DER with the bounded reader of asn1.ts (RFC 5280 §4.1, §4.2): serial number, issuer and
 * subject Names as DER, signature algorithms, and the extensions path validation needs —
 * basicConstraints (cA, pathLenConstraint), keyUsage, extKeyUsage, subjectAltName and
 * nameConstraints. Results are computed once per certificate object.
 *
 * Each extension reader returns its value, `undefined` when the certificate lacks the extension,
 * or `null` when it is present but malformed (the caller refuses the certificate).
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { Tag, booleanOf, children, expect, integerHex, oidText, readTlv, smallInteger, type Tlv } from './asn1.js';
import { u8 } from './bytes.js';

/** Extension OIDs (RFC 5280 §4.2.1). */
export const ExtOid = {
  SUBJECT_KEY_IDENTIFIER: '2.5.29.14',
  KEY_USAGE: '2.5.29.15',
  SUBJECT_ALT_NAME: '2.5.29.17',
  ISSUER_ALT_NAME: '2.5.29.18',
  BASIC_CONSTRAINTS: '2.5.29.19',
  NAME_CONSTRAINTS: '2.5.29.30',
  CRL_DISTRIBUTION_POINTS: '2.5.29.31',
  CERTIFICATE_POLICIES: '2.5.29.32',
  AUTHORITY_KEY_IDENTIFIER: '2.5.29.35',
  EXT_KEY_USAGE: '2.5.29.37',
  AUTHORITY_INFO_ACCESS: '1.3.6.1.5.5.7.1.1',
} as const;

/**
 * Extensions this code understands well enough that a critical one does not make the certificate
 * unusable (RFC 5280 §4.2: an unrecognised critical extension MUST make it be rejected).
 * certificatePolicies is listed because with no policy required by us (initial-policy-set
 * anyPolicy, RFC 5280 §6.1.1) a critical policy extension restricts nothing we rely on;
 * policyConstraints, policyMappings and inhibitAnyPolicy are not: a CA that marks them critical
 * asks for policy processing we do not do, so such a certificate is refused.
 */
const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set(Object.values(ExtOid));

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING's contents (the DER of the extension's value). */
  readonly value: Tlv;
}

export interface CertInfo {
  readonly raw: Uint8Array;
  /** serialNumber without leading zero octets, lower-case hex. */
  readonly serial: string;
  /** DER of the issuer and subject Names. */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  /** Dotted OID of the outer signatureAlgorithm. */
  readonly sigAlgOid: string;
  /** Dotted OID of the TBSCertificate's signature field (must equal sigAlgOid, RFC 5280 §4.1.1.2). */
  readonly tbsSigAlgOid: string;
  readonly extensions: readonly Extension[];
}

const infos = new WeakMap<X509Certificate, CertInfo | null>();

/** The parsed fields of `cert`, or undefined when its DER does not have the RFC 5280 shape. */
export function certInfo(cert: X509Certificate): CertInfo | undefined {
  let i = infos.get(cert);
  if (i === undefined) {
    i = readCertInfo(u8(cert.raw)) ?? null;
    infos.set(cert, i);
  }
  return i ?? undefined;
}

function algOid(raw: Uint8Array, t: Tlv | undefined): string | undefined {
  if (t === undefined || t.tag !== Tag.SEQUENCE) return undefined;
  const oid = readTlv(raw, t.body, t.end);
  return oid === undefined ? undefined : oidText(raw, oid);
}

function readCertInfo(raw: Uint8Array): CertInfo | undefined {
  const outer = expect(raw, 0, raw.length, Tag.SEQUENCE);
  if (outer === undefined || outer.end !== raw.length) return undefined;
  const top = children(raw, outer, 3);
  if (top === undefined || top.length !== 3) return undefined;
  const [tbs, sigAlg] = top as [Tlv, Tlv, Tlv];
  if (tbs.tag !== Tag.SEQUENCE) return undefined;
  const fields = children(raw, tbs, 12);
  if (fields === undefined) return undefined;
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, sig, issuer, , subject] = fields.slice(base, base + 5);
  if (serial === undefined || issuer?.tag !== Tag.SEQUENCE || subject?.tag !== Tag.SEQUENCE) return undefined;
  const serialHex = integerHex(raw, serial);
  const sigAlgOid = algOid(raw, sigAlg);
  const tbsSigAlgOid = algOid(raw, sig);
  if (serialHex === undefined || sigAlgOid === undefined || tbsSigAlgOid === undefined) return undefined;
  const extensions: Extension[] = [];
  const extField = fields.slice(base + 6).find((f) => f.tag === 0xa3);
  if (extField !== undefined) {
    const seq = expect(raw, extField.body, extField.end, Tag.SEQUENCE);
    const list = seq === undefined || seq.end !== extField.end ? undefined : children(raw, seq, 64);
    if (list === undefined) return undefined;
    for (const e of list) {
      const parts = e.tag === Tag.SEQUENCE ? children(raw, e, 3) : undefined;
      if (parts === undefined || parts.length < 2) return undefined;
      const oid = oidText(raw, parts[0]!);
      let critical = false;
      let value = parts[1]!;
      if (parts.length === 3) {
        const c = booleanOf(raw, parts[1]!);
        if (c === undefined) return undefined;
        critical = c;
        value = parts[2]!;
      }
      if (oid === undefined || value.tag !== Tag.OCTET_STRING) return undefined;
      if (extensions.some((x) => x.oid === oid)) return undefined; // RFC 5280 §4.2: one instance each
      extensions.push({ oid, critical, value });
    }
  }
  return {
    raw,
    serial: serialHex,
    issuer: raw.slice(issuer.start, issuer.end),
    subject: raw.slice(subject.start, subject.end),
    sigAlgOid,
    tbsSigAlgOid,
    extensions,
  };
}

/** The critical extensions of `info` this code does not understand (dotted OIDs). */
export function unknownCriticalExtensions(info: CertInfo): string[] {
  return info.extensions.filter((e) => e.critical && !KNOWN_EXTENSIONS.has(e.oid)).map((e) => e.oid);
}

/** The value element inside the extension `oid`'s OCTET STRING; undefined if absent, null if malformed. */
function extValue(info: CertInfo, oid: string): Tlv | undefined | null {
  const e = info.extensions.find((x) => x.oid === oid);
  if (e === undefined) return undefined;
  const v = readTlv(info.raw, e.value.body, e.value.end);
  return v === undefined || v.end !== e.value.end ? null : v;
}

/** basicConstraints (RFC 5280 §4.2.1.9): cA and the optional pathLenConstraint. */
export function basicConstraintsOf(info: CertInfo): { ca: boolean; pathLen?: number } | undefined | null {
  const v = extValue(info, ExtOid.BASIC_CONSTRAINTS);
  if (v === undefined || v === null) return v;
  if (v.tag !== Tag.SEQUENCE) return null;
  const parts = children(info.raw, v, 2);
  if (parts === undefined) return null;
  let ca = false;
  let i = 0;
  if (parts[i]?.tag === Tag.BOOLEAN) {
    const b = booleanOf(info.raw, parts[i]!);
    if (b === undefined) return null;
    ca = b;
    i++;
  }
  if (i < parts.length) {
    const n = smallInteger(info.raw, parts[i]!);
    if (n === undefined || i + 1 !== parts.length) return null;
    return { ca, pathLen: n };
  }
  return { ca };
}

/**
 * keyUsage (RFC 5280 §4.2.1.3) as a number: bit 0 (digitalSignature) = 0x8000 ... keyCertSign =
 * 0x0400, cRLSign = 0x0200 (first octet in the high byte).
 */
export function keyUsageOf(info: CertInfo): number | undefined | null {
  const v = extValue(info, ExtOid.KEY_USAGE);
  if (v === undefined || v === null) return v;
  if (v.tag !== Tag.BIT_STRING || v.end - v.body < 1) return null;
  const b1 = v.body + 1 < v.end ? info.raw[v.body + 1]! : 0;
  const b2 = v.body + 2 < v.end ? info.raw[v.body + 2]! : 0;
  return (b1 << 8) | b2;
}

/** keyUsage masks. */
export const KeyUsage = {
  DIGITAL_SIGNATURE: 0x8000,
  NON_REPUDIATION: 0x4000,
  KEY_CERT_SIGN: 0x0400,
  CRL_SIGN: 0x0200,
} as const;

/** extKeyUsage (RFC 5280 §4.2.1.12): the purposes as dotted OIDs. */
export function extKeyUsageOf(info: CertInfo): string[] | undefined | null {
  const v = extValue(info, ExtOid.EXT_KEY_USAGE);
  if (v === undefined || v === null) return v;
  if (v.tag !== Tag.SEQUENCE) return null;
  const list = children(info.raw, v, 64);
  if (list === undefined || list.length === 0) return null;
  const out: string[] = [];
  for (const t of list) {
    const oid = oidText(info.raw, t);
    if (oid === undefined) return null;
    out.push(oid);
  }
  return out;
}

/** A GeneralName (RFC 5280 §4.2.1.6) of the forms path validation compares. */
export type GeneralName =
  | { readonly kind: 'dns' | 'email' | 'uri'; readonly value: string }
  /** 4 or 16 bytes in a subjectAltName; address and mask (8 or 32 bytes) in a name constraint. */
  | { readonly kind: 'ip'; readonly bytes: Uint8Array }
  /** directoryName: the DER of the Name. */
  | { readonly kind: 'dn'; readonly der: Uint8Array }
  /** otherName, x400Address, ediPartyName, registeredID: kept by their context tag only. */
  | { readonly kind: 'other'; readonly tag: number };

const latin1 = new TextDecoder('latin1');

function generalName(raw: Uint8Array, t: Tlv): GeneralName | undefined {
  const text = (): string => latin1.decode(raw.subarray(t.body, t.end));
  switch (t.tag) {
    case 0x81:
      return { kind: 'email', value: text() };
    case 0x82:
      return { kind: 'dns', value: text() };
    case 0x86:
      return { kind: 'uri', value: text() };
    case 0x87:
      return { kind: 'ip', bytes: raw.slice(t.body, t.end) };
    case 0xa4: {
      const n = expect(raw, t.body, t.end, Tag.SEQUENCE);
      return n === undefined || n.end !== t.end ? undefined : { kind: 'dn', der: raw.slice(n.start, n.end) };
    }
    case 0xa0:
    case 0xa3:
    case 0xa5:
    case 0x88:
      return { kind: 'other', tag: t.tag & 0x1f };
    default:
      return undefined;
  }
}

/** subjectAltName (RFC 5280 §4.2.1.6): at most 256 names. */
export function subjectAltNamesOf(info: CertInfo): GeneralName[] | undefined | null {
  const v = extValue(info, ExtOid.SUBJECT_ALT_NAME);
  if (v === undefined || v === null) return v;
  if (v.tag !== Tag.SEQUENCE) return null;
  const list = children(info.raw, v, 256);
  if (list === undefined || list.length === 0) return null;
  const out: GeneralName[] = [];
  for (const t of list) {
    const g = generalName(info.raw, t);
    if (g === undefined) return null;
    out.push(g);
  }
  return out;
}

export interface NameConstraints {
  readonly permitted: readonly GeneralName[];
  readonly excluded: readonly GeneralName[];
}

function subtrees(raw: Uint8Array, t: Tlv): GeneralName[] | undefined {
  const list = children(raw, t, 256);
  if (list === undefined || list.length === 0) return undefined;
  const out: GeneralName[] = [];
  for (const st of list) {
    // GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
    // RFC 5280 §4.2.1.10: minimum MUST be zero and maximum MUST be absent; anything else is refused.
    const parts = st.tag === Tag.SEQUENCE ? children(raw, st, 3) : undefined;
    if (parts === undefined || parts.length !== 1) return undefined;
    const g = generalName(raw, parts[0]!);
    if (g === undefined) return undefined;
    if (g.kind === 'ip' && g.bytes.length !== 8 && g.bytes.length !== 32) return undefined;
    out.push(g);
  }
  return out;
}

/** nameConstraints (RFC 5280 §4.2.1.10): permitted and excluded subtrees. */
export function nameConstraintsOf(info: CertInfo): NameConstraints | undefined | null {
  const v = extValue(info, ExtOid.NAME_CONSTRAINTS);
  if (v === undefined || v === null) return v;
  if (v.tag !== Tag.SEQUENCE) return null;
  const parts = children(info.raw, v, 2);
  if (parts === undefined || parts.length === 0) return null;
  let permitted: GeneralName[] = [];
  let excluded: GeneralName[] = [];
  let last = 0;
  for (const p of parts) {
    const which = p.tag === 0xa0 ? 1 : p.tag === 0xa1 ? 2 : 0;
    if (which <= last) return null; // unknown tag, repeated or out of order
    last = which;
    const list = subtrees(info.raw, p);
    if (list === undefined) return null;
    if (which === 1) permitted = list;
    else excluded = list;
  }
  return { permitted, excluded };
}
