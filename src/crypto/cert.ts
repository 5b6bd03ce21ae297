/**
 * X.509 certificates for IKEv1 signature authentication (RFC 2409 §5.1, RFC 4945 profile), via
 * node:crypto `X509Certificate`: parsing (errors are values: INVALID_CERT_ENCODING), chain
 * building to configured trust anchors with the validity period checked at a time the caller
 * passes in (no clock here), minimum RSA key size, the path constraints and revocation of
 * cert-path.ts, and matching the peer's ID payload against subject / subjectAltName (DNs compared
 * by RFC 5280 §7.1, see dn.ts).
 * @module
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { IdType, NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import { constantTimeEqual, copyBytes, u8 } from './bytes.js';
import { certInfo, keyUsageOf, KeyUsage } from './cert-ext.js';
import { checkPathConstraints } from './cert-path.js';
import type { CertificateRevocationList } from './crl.js';
import { dnEqual } from './dn.js';
import { RSA_MIN_BITS } from './rsa.js';

export { dnEqual };

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
  /**
   * Complete CRLs (see parseCrl) of the CAs in the chain: a certificate whose issuer has one is
   * refused when listed, when no CRL of that issuer verifies with the issuer's key, or when none
   * is current at `now`. Issuers without a CRL here are not checked for revocation.
   */
  crls?: readonly CertificateRevocationList[];
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
 * `now`, each signed by the next, every issuer a CA, keys large enough, then the RFC 5280 path
 * constraints (pathLenConstraint, name constraints, extended key usage, unknown critical
 * extensions) and revocation by `crls` (see cert-path.ts). Throws
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
      // RFC 5280 §6 constraints over the whole path: pathLenConstraint, name constraints,
      // extended key usage, unknown critical extensions, revocation
      checkPathConstraints({ chain, now, ...(input.crls !== undefined ? { crls: input.crls } : {}) });
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

/** DER of the certificate's subject Name (the form ID_DER_ASN1_DN carries), or undefined. */
export function certificateSubjectDer(cert: X509Certificate): Uint8Array | undefined {
  const info = certInfo(cert);
  return info === undefined ? undefined : copyBytes(info.subject, 0, info.subject.length);
}

/**
 * The keyUsage bits of a certificate (RFC 5280 §4.2.1.3) as a number (bit 0 = digitalSignature =
 * 0x80 of the first octet ... keyCertSign = 0x04), undefined when the extension is absent, or
 * null when it cannot be read.
 */
export function certificateKeyUsage(cert: X509Certificate): number | undefined | null {
  const info = certInfo(cert);
  return info === undefined ? null : keyUsageOf(info);
}

/** Signature algorithms never accepted on a peer-supplied certificate: md2/md4/md5 with RSA. */
const WEAK_SIG_OIDS = new Set(['1.2.840.113549.1.1.2', '1.2.840.113549.1.1.3', '1.2.840.113549.1.1.4']);

function checkProfile(c: X509Certificate, role: 'leaf' | 'ca', what: string): void {
  const info = certInfo(c);
  if (!info) throw invalidCert(`${what}: structure does not parse`);
  if (WEAK_SIG_OIDS.has(info.sigAlgOid)) throw invalidCert(`${what}: signed with an MD2/MD4/MD5 algorithm`);
  if (info.sigAlgOid !== info.tbsSigAlgOid) throw invalidCert(`${what}: the two signature algorithm fields differ`);
  const ku = keyUsageOf(info);
  if (ku === null) throw invalidCert(`${what}: unreadable keyUsage`);
  if (ku === undefined) return;
  // RFC 4945 §5.1.3.2: an IKE end-entity certificate with keyUsage needs digitalSignature or nonRepudiation
  if (role === 'leaf' && (ku & (KeyUsage.DIGITAL_SIGNATURE | KeyUsage.NON_REPUDIATION)) === 0) throw invalidCert(`${what}: keyUsage allows no signatures`);
  // RFC 5280 §4.2.1.3: a certificate-signing CA with keyUsage needs keyCertSign
  if (role === 'ca' && (ku & KeyUsage.KEY_CERT_SIGN) === 0) throw invalidCert(`${what}: keyUsage lacks keyCertSign`);
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
