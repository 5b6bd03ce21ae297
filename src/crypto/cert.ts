/**
 * X.509 certificates for IKEv1 signature authentication (RFC 2409 §5.1, RFC 4945 profile), via
 * node:crypto `X509Certificate`: parsing (errors are values: INVALID_CERT_ENCODING), chain
 * building to configured trust anchors with the validity period checked at a time the caller
 * passes in (no clock here), minimum RSA key size, and matching the peer's ID payload against
 * subject / subjectAltName.
 * @module
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { IdType, NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import { constantTimeEqual, copyBytes, toHex, u8 } from './bytes.js';
import { RSA_MIN_BITS } from './rsa.js';

/** Largest certificate accepted, in bytes (a CERT payload body). */
export const MAX_CERT_SIZE = 16384;

/** Parse a DER certificate (CERT payload body, X.509 Signature encoding). RemoteProtocolError(INVALID_CERT_ENCODING) on failure. */
export function parseCertificate(der: Uint8Array): X509Certificate {
  if (!(der instanceof Uint8Array) || der.byteLength === 0 || der.byteLength > MAX_CERT_SIZE) {
    throw new RemoteProtocolError(NotifyType.INVALID_CERT_ENCODING, `certificate of ${der?.byteLength} bytes`);
  }
  // Only DER: a PEM text would also parse in node, but the CERT payload carries DER.
  if (der[0] !== 0x30) throw new RemoteProtocolError(NotifyType.INVALID_CERT_ENCODING, 'certificate is not a DER SEQUENCE');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
    // Touch the fields we rely on so that lazily-parsed defects surface here as values.
    void cert.subject;
    void cert.publicKey;
  } catch {
    throw new RemoteProtocolError(NotifyType.INVALID_CERT_ENCODING, 'certificate does not parse');
  }
  if (certificateSubjectDer(cert) === undefined) throw new RemoteProtocolError(NotifyType.INVALID_CERT_ENCODING, 'certificate subject does not parse');
  return cert;
}

function toCert(c: Uint8Array | X509Certificate): X509Certificate {
  return c instanceof X509Certificate ? c : parseCertificate(c);
}

export interface VerifyChainInput {
  /** The peer's certificates from its CERT payloads, leaf first, the rest in any order. */
  certificates: ReadonlyArray<Uint8Array | X509Certificate>;
  /** Configured trust anchors (CA certificates). */
  trustAnchors: ReadonlyArray<Uint8Array | X509Certificate>;
  /** The time to check validity at, as a Date or milliseconds since the epoch (caller's clock). */
  now: Date | number;
  /** Smallest RSA modulus accepted anywhere in the chain (default RSA_MIN_BITS). */
  minRsaBits?: number;
  /** Longest chain accepted, leaf and anchor included (default 8). */
  maxDepth?: number;
}

export interface VerifiedChain {
  leaf: X509Certificate;
  /** The leaf's public key, for signature verification. */
  publicKey: KeyObject;
  /** Leaf, intermediates, anchor. */
  chain: X509Certificate[];
}

function invalidCert(reason: string): RemoteProtocolError {
  return new RemoteProtocolError(NotifyType.INVALID_CERTIFICATE, reason);
}

function checkTime(c: X509Certificate, now: number, what: string): void {
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw invalidCert(`${what}: unreadable validity period`);
  if (now < from) throw invalidCert(`${what}: not yet valid (from ${c.validFrom})`);
  if (now > to) throw invalidCert(`${what}: expired (${c.validTo})`);
}

function checkKey(c: X509Certificate, minRsaBits: number, what: string): void {
  const k = c.publicKey;
  if (k.asymmetricKeyType === 'rsa') {
    const bits = k.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < minRsaBits) throw invalidCert(`${what}: RSA key of ${bits} bits below minimum ${minRsaBits}`);
    const e = k.asymmetricKeyDetails?.publicExponent;
    if (e === undefined || e < 3n || e % 2n === 0n) throw invalidCert(`${what}: unusable RSA public exponent`);
  } else if (k.asymmetricKeyType !== 'ec') {
    throw invalidCert(`${what}: unsupported key type ${String(k.asymmetricKeyType)}`);
  }
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Build and check the chain from the leaf to one of `trustAnchors`: every certificate valid at
 * `now`, each signed by the next, every issuer a CA, keys large enough. Throws
 * RemoteProtocolError(INVALID_CERTIFICATE) (or INVALID_CERT_ENCODING for unparsable input).
 */
export function verifyCertificateChain(input: VerifyChainInput): VerifiedChain {
  const now = typeof input.now === 'number' ? input.now : input.now.getTime();
  if (!Number.isFinite(now)) throw new TypeError('verifyCertificateChain: now is not a valid time');
  const minRsaBits = input.minRsaBits ?? RSA_MIN_BITS;
  const maxDepth = input.maxDepth ?? 8;
  if (input.certificates.length === 0) throw invalidCert('no certificate');
  if (input.certificates.length > maxDepth) throw invalidCert('too many certificates');
  const certs = input.certificates.map(toCert);
  const anchors = input.trustAnchors.map(toCert);
  const leaf = certs[0]!;
  const pool = certs.slice(1);
  const chain: X509Certificate[] = [leaf];
  let cur = leaf;
  checkTime(cur, now, 'certificate');
  checkKey(cur, minRsaBits, 'certificate');
  checkProfile(cur, 'leaf', 'certificate');
  // A leaf configured as a trust anchor itself (pinned) is accepted as is.
  if (anchors.some((a) => constantTimeEqual(u8(a.raw), u8(cur.raw)))) return { leaf, publicKey: leaf.publicKey, chain };
  for (let depth = 1; depth < maxDepth; depth++) {
    const anchor = anchors.find((a) => a.ca && issuedBy(cur, a));
    if (anchor) {
      checkTime(anchor, now, 'trust anchor');
      checkKey(anchor, minRsaBits, 'trust anchor');
      chain.push(anchor);
      return { leaf, publicKey: leaf.publicKey, chain };
    }
    const i = pool.findIndex((c) => c.ca && issuedBy(cur, c));
    if (i < 0) throw invalidCert('certificate does not chain to a configured CA');
    cur = pool.splice(i, 1)[0]!;
    checkTime(cur, now, 'intermediate CA');
    checkKey(cur, minRsaBits, 'intermediate CA');
    checkProfile(cur, 'ca', 'intermediate CA');
    chain.push(cur);
  }
  throw invalidCert('certificate chain too long');
}

// ---------------------------------------------------------------------------------------------
// Minimal bounded DER reading: enough to find the subject Name of a certificate and to compare
// Distinguished Names. Every length is checked against its parent; nothing is allocated from a
// claimed length.

interface Tlv {
  tag: number;
  start: number; // offset of the tag
  body: number; // offset of the contents
  end: number; // offset after the contents
}

function readTlv(b: Uint8Array, off: number, limit: number): Tlv | undefined {
  if (off + 2 > limit) return undefined;
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers never occur here
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const nb = len & 0x7f;
    if (nb === 0 || nb > 3 || p + nb > limit) return undefined;
    len = 0;
    for (let i = 0; i < nb; i++) len = len * 256 + b[p + i]!;
    p += nb;
  }
  if (p + len > limit) return undefined;
  return { tag, start: off, body: p, end: p + len };
}

/** DER of the certificate's subject Name (the form ID_DER_ASN1_DN carries), or undefined. */
export function certificateSubjectDer(cert: X509Certificate): Uint8Array | undefined {
  const parts = certParts(cert);
  if (!parts) return undefined;
  // [0] version is optional; then serial, signature, issuer, validity, subject.
  const base = parts.fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = parts.fields[base + 4];
  if (!subject || subject.tag !== 0x30) return undefined;
  return copyBytes(parts.raw, subject.start, subject.end);
}

/** The outer parts of a certificate: TBSCertificate fields and the signature algorithm OID (hex). */
function certParts(cert: X509Certificate): { raw: Uint8Array; fields: Tlv[]; sigAlgOid: string } | undefined {
  const raw = u8(cert.raw);
  const outer = readTlv(raw, 0, raw.byteLength);
  if (!outer || outer.tag !== 0x30) return undefined;
  const tbs = readTlv(raw, outer.body, outer.end);
  if (!tbs || tbs.tag !== 0x30) return undefined;
  const fields: Tlv[] = [];
  let p = tbs.body;
  while (p < tbs.end && fields.length < 12) {
    const t = readTlv(raw, p, tbs.end);
    if (!t) return undefined;
    fields.push(t);
    p = t.end;
  }
  const alg = readTlv(raw, tbs.end, outer.end);
  if (!alg || alg.tag !== 0x30) return undefined;
  const oid = readTlv(raw, alg.body, alg.end);
  if (!oid || oid.tag !== 0x06) return undefined;
  return { raw, fields, sigAlgOid: toHex(raw.subarray(oid.body, oid.end)) };
}

/**
 * The keyUsage bits of a certificate (RFC 5280 §4.2.1.3) as a number (bit 0 = digitalSignature =
 * 0x80 of the first octet ... keyCertSign = 0x04), undefined when the extension is absent, or
 * null when it cannot be read.
 */
export function certificateKeyUsage(cert: X509Certificate): number | undefined | null {
  const parts = certParts(cert);
  if (!parts) return null;
  const { raw, fields } = parts;
  const ext = fields.find((f) => f.tag === 0xa3);
  if (!ext) return undefined;
  const seq = readTlv(raw, ext.body, ext.end);
  if (!seq || seq.tag !== 0x30) return null;
  let p = seq.body;
  while (p < seq.end) {
    const e = readTlv(raw, p, seq.end);
    if (!e || e.tag !== 0x30) return null;
    const oid = readTlv(raw, e.body, e.end);
    if (!oid || oid.tag !== 0x06) return null;
    if (toHex(raw.subarray(oid.body, oid.end)) === '551d0f') {
      let v = readTlv(raw, oid.end, e.end);
      if (v && v.tag === 0x01) v = readTlv(raw, v.end, e.end); // critical flag
      if (!v || v.tag !== 0x04) return null;
      const bits = readTlv(raw, v.body, v.end);
      if (!bits || bits.tag !== 0x03 || bits.end - bits.body < 1) return null;
      const b1 = bits.body + 1 < bits.end ? raw[bits.body + 1]! : 0;
      const b2 = bits.body + 2 < bits.end ? raw[bits.body + 2]! : 0;
      return (b1 << 8) | b2;
    }
    p = e.end;
  }
  return undefined;
}

/** keyUsage masks (first octet in the high byte). */
const KU_DIGITAL_SIGNATURE = 0x8000;
const KU_NON_REPUDIATION = 0x4000;
const KU_KEY_CERT_SIGN = 0x0400;

/** Signature algorithms never accepted on a peer-supplied certificate: md2/md4/md5 with RSA. */
const WEAK_SIG_OIDS = new Set(['2a864886f70d010102', '2a864886f70d010103', '2a864886f70d010104']);

function checkProfile(c: X509Certificate, role: 'leaf' | 'ca', what: string): void {
  const parts = certParts(c);
  if (!parts) throw invalidCert(`${what}: structure does not parse`);
  if (WEAK_SIG_OIDS.has(parts.sigAlgOid)) throw invalidCert(`${what}: signed with an MD2/MD4/MD5 algorithm`);
  const ku = certificateKeyUsage(c);
  if (ku === null) throw invalidCert(`${what}: unreadable keyUsage`);
  if (ku === undefined) return;
  // RFC 4945 §5.1.3.2: an IKE end-entity certificate with keyUsage needs digitalSignature or nonRepudiation
  if (role === 'leaf' && (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) === 0) throw invalidCert(`${what}: keyUsage allows no signatures`);
  // RFC 5280 §4.2.1.3: a certificate-signing CA with keyUsage needs keyCertSign
  if (role === 'ca' && (ku & KU_KEY_CERT_SIGN) === 0) throw invalidCert(`${what}: keyUsage lacks keyCertSign`);
}

const STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16]); // UTF8, Printable, T61, IA5

/** Parse a DER Name into RDNs of [oid, stringTag, value] entries; undefined if malformed. */
function parseName(b: Uint8Array): Array<Array<[string, number, string]>> | undefined {
  const name = readTlv(b, 0, b.byteLength);
  if (!name || name.tag !== 0x30 || name.end !== b.byteLength) return undefined;
  const rdns: Array<Array<[string, number, string]>> = [];
  let p = name.body;
  while (p < name.end) {
    const set = readTlv(b, p, name.end);
    if (!set || set.tag !== 0x31) return undefined;
    const atvs: Array<[string, number, string]> = [];
    let q = set.body;
    while (q < set.end) {
      const seq = readTlv(b, q, set.end);
      if (!seq || seq.tag !== 0x30) return undefined;
      const oid = readTlv(b, seq.body, seq.end);
      if (!oid || oid.tag !== 0x06) return undefined;
      const val = readTlv(b, oid.end, seq.end);
      if (!val || val.end !== seq.end) return undefined;
      const hex = (s: number, e: number) => toHex(b.subarray(s, e));
      atvs.push([hex(oid.body, oid.end), STRING_TAGS.has(val.tag) ? 0x0c : val.tag, hex(val.body, val.end)]);
      q = seq.end;
    }
    if (atvs.length === 0) return undefined;
    atvs.sort((x, y) => (x.join('/') < y.join('/') ? -1 : 1));
    rdns.push(atvs);
    p = set.end;
  }
  return rdns;
}

/**
 * True if two DER Distinguished Names are equal: byte-equal, or equal RDN by RDN with the same
 * attribute types and values, where UTF8String, PrintableString, T61String and IA5String of the
 * same bytes count as equal (peers re-encode DNs from configuration strings).
 */
export function dnEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (constantTimeEqual(a, b)) return true;
  const x = parseName(a), y = parseName(b);
  if (!x || !y || x.length !== y.length) return false;
  return JSON.stringify(x) === JSON.stringify(y);
}

function ipv6String(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return parts.join(':');
}

/**
 * True if `cert` names the identity of an ID payload (IPsec DOI, RFC 2407 §4.6.2):
 * ID_DER_ASN1_DN against the subject; ID_FQDN against dNSName, ID_USER_FQDN against rfc822Name,
 * ID_IPV4_ADDR / ID_IPV6_ADDR against iPAddress subjectAltNames (exact, no wildcards, no
 * fallback to the subject CN). Any other ID type never matches.
 */
export function certificateMatchesId(cert: X509Certificate, idType: number, idData: Uint8Array): boolean {
  try {
    switch (idType) {
      case IdType.ID_DER_ASN1_DN: {
        const subj = certificateSubjectDer(cert);
        return subj !== undefined && dnEqual(subj, idData);
      }
      case IdType.ID_FQDN: {
        const s = Buffer.from(idData).toString('latin1');
        if (s.length === 0 || s.length > 255 || !/^[\x21-\x7e]+$/.test(s) || s.includes('*')) return false;
        return cert.checkHost(s, { subject: 'never', wildcards: false }) !== undefined;
      }
      case IdType.ID_USER_FQDN: {
        const s = Buffer.from(idData).toString('latin1');
        if (s.length === 0 || s.length > 255 || !/^[\x21-\x7e]+$/.test(s)) return false;
        return cert.checkEmail(s, { subject: 'never' }) !== undefined;
      }
      case IdType.ID_IPV4_ADDR:
        if (idData.byteLength !== 4) return false;
        return cert.checkIP(Array.from(idData).join('.')) !== undefined;
      case IdType.ID_IPV6_ADDR:
        if (idData.byteLength !== 16) return false;
        return cert.checkIP(ipv6String(idData)) !== undefined;
      default:
        return false;
    }
  } catch {
    return false;
  }
}
