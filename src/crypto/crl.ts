/**
 * Certificate revocation lists (RFC 5280 §5): a bounded reader of the CRL's DER, its signature
 * checked with node:crypto against the issuing CA's key, and lookups of revoked serial numbers.
 * Only complete CRLs are accepted: a delta CRL, an indirect CRL (certificateIssuer entries) or a
 * partitioned one (issuingDistributionPoint), and any other critical extension, is refused when
 * the CRL is read, so a CRL that is accepted lists every revoked certificate of its issuer.
 * OCSP is not implemented.
 * @module
 */
import { verify, type X509Certificate } from 'node:crypto';
import { Tag, booleanOf, children, expect, integerHex, oidText, readTlv, timeOf, type Tlv } from './asn1.js';
import { certInfo, keyUsageOf, KeyUsage } from './cert-ext.js';
import { dnEqual } from './dn.js';

/** A CRL that cannot be used, with the reason in an operator's words. */
export class CrlError extends Error {
  override readonly name = 'CrlError';
}

/** Largest CRL read (DER bytes): 16 MiB, the bound of the DER reader's lengths. */
export const MAX_CRL_SIZE = 16 * 1024 * 1024;
/** Most revoked certificates one CRL may list. */
export const MAX_CRL_ENTRIES = 1_000_000;

interface SigAlg {
  /** Digest for crypto.verify; null for EdDSA. */
  readonly hash: string | null;
  readonly keyType: 'rsa' | 'ec' | 'ed25519' | 'ed448';
}

/** Signature algorithms accepted on a CRL (RFC 4055, RFC 5758, RFC 8410). */
const SIG_ALGS: Readonly<Record<string, SigAlg>> = {
  '1.2.840.113549.1.1.5': { hash: 'sha1', keyType: 'rsa' },
  '1.2.840.113549.1.1.14': { hash: 'sha224', keyType: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', keyType: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', keyType: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', keyType: 'rsa' },
  '1.2.840.10045.4.1': { hash: 'sha1', keyType: 'ec' },
  '1.2.840.10045.4.3.1': { hash: 'sha224', keyType: 'ec' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', keyType: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', keyType: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', keyType: 'ec' },
  '1.3.101.112': { hash: null, keyType: 'ed25519' },
  '1.3.101.113': { hash: null, keyType: 'ed448' },
};

const CRL_EXT = {
  AUTHORITY_KEY_IDENTIFIER: '2.5.29.35',
  ISSUER_ALT_NAME: '2.5.29.18',
  CRL_NUMBER: '2.5.29.20',
  DELTA_CRL_INDICATOR: '2.5.29.27',
  ISSUING_DISTRIBUTION_POINT: '2.5.29.28',
  FRESHEST_CRL: '2.5.29.46',
  REASON_CODE: '2.5.29.21',
  INVALIDITY_DATE: '2.5.29.24',
  CERTIFICATE_ISSUER: '2.5.29.29',
} as const;

export interface CertificateRevocationList {
  /** The CRL's DER. */
  readonly raw: Uint8Array;
  /** DER of the issuer Name. */
  readonly issuer: Uint8Array;
  /** Milliseconds since the epoch. */
  readonly thisUpdate: number;
  /** Milliseconds since the epoch; undefined when the CRL names none (then it never expires). */
  readonly nextUpdate: number | undefined;
  /** cRLNumber as hex, when present. */
  readonly crlNumber: string | undefined;
  /** Revoked serial numbers (hex, no leading zero octets). */
  readonly revoked: ReadonlySet<string>;
  /** Dotted OID of the signature algorithm. */
  readonly sigAlgOid: string;
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
}

function fail(reason: string): never {
  throw new CrlError(reason);
}

function algOid(b: Uint8Array, t: Tlv | undefined): string | undefined {
  if (t === undefined || t.tag !== Tag.SEQUENCE) return undefined;
  const o = readTlv(b, t.body, t.end);
  return o === undefined ? undefined : oidText(b, o);
}

/** Reads `Extensions` (a SEQUENCE of Extension); calls `each` per extension. */
function readExtensions(b: Uint8Array, seq: Tlv, what: string, each: (oid: string, critical: boolean, value: Tlv) => void): void {
  const list = seq.tag === Tag.SEQUENCE ? children(b, seq, 64) : undefined;
  if (list === undefined) fail(`${what}: extensions do not parse`);
  const seen = new Set<string>();
  for (const e of list) {
    const parts = e.tag === Tag.SEQUENCE ? children(b, e, 3) : undefined;
    if (parts === undefined || parts.length < 2) fail(`${what}: an extension does not parse`);
    const oid = oidText(b, parts[0]!);
    let critical = false;
    let value = parts[1]!;
    if (parts.length === 3) {
      const c = booleanOf(b, parts[1]!);
      if (c === undefined) fail(`${what}: an extension's critical flag does not parse`);
      critical = c;
      value = parts[2]!;
    }
    if (oid === undefined || value.tag !== Tag.OCTET_STRING) fail(`${what}: an extension does not parse`);
    if (seen.has(oid)) fail(`${what}: extension ${oid} appears twice`);
    seen.add(oid);
    each(oid, critical, value);
  }
}

/**
 * Reads a DER CRL (RFC 5280 §5.1). Throws CrlError with the reason when it is malformed or of
 * a kind not supported (delta, indirect, partitioned, unknown critical extensions, RSASSA-PSS or
 * MD5 signatures). The signature is not checked here: see `crlSignedBy`.
 */
export function parseCrl(der: Uint8Array): CertificateRevocationList {
  if (!(der instanceof Uint8Array) || der.length === 0) fail('empty CRL');
  if (der.length > MAX_CRL_SIZE) fail(`CRL of ${der.length} bytes is larger than ${MAX_CRL_SIZE}`);
  const raw = Uint8Array.from(der);
  const outer = expect(raw, 0, raw.length, Tag.SEQUENCE);
  if (outer === undefined || outer.end !== raw.length) fail('not a DER CRL (CertificateList SEQUENCE)');
  const top = children(raw, outer, 3);
  if (top === undefined || top.length !== 3) fail('not a DER CRL (tbsCertList, signatureAlgorithm, signature)');
  const [tbs, alg, sig] = top as [Tlv, Tlv, Tlv];
  const sigAlgOid = algOid(raw, alg);
  if (sigAlgOid === undefined) fail('signature algorithm does not parse');
  if (sigAlgOid === '1.2.840.113549.1.1.10') fail('RSASSA-PSS signed CRLs are not supported (sign CRLs with PKCS#1 v1.5, ECDSA or EdDSA)');
  if (SIG_ALGS[sigAlgOid] === undefined) fail(`signature algorithm ${sigAlgOid} is not supported for CRLs`);
  if (sig.tag !== Tag.BIT_STRING || sig.end - sig.body < 2 || raw[sig.body] !== 0) fail('signature value does not parse');
  if (tbs.tag !== Tag.SEQUENCE) fail('tbsCertList does not parse');
  const f = children(raw, tbs, 8);
  if (f === undefined) fail('tbsCertList does not parse');
  let i = 0;
  if (f[i]?.tag === Tag.INTEGER) {
    if (raw[f[i]!.body] !== 1 || f[i]!.end - f[i]!.body !== 1) fail('CRL version is not v2');
    i++;
  }
  if (algOid(raw, f[i]) !== sigAlgOid) fail('the signature algorithm inside the CRL differs from the outer one');
  i++;
  const issuer = f[i++];
  if (issuer === undefined || issuer.tag !== Tag.SEQUENCE) fail('issuer does not parse');
  const thisT = f[i++];
  const thisUpdate = thisT === undefined ? undefined : timeOf(raw, thisT);
  if (thisUpdate === undefined) fail('thisUpdate does not parse');
  let nextUpdate: number | undefined;
  if (f[i] !== undefined && (f[i]!.tag === Tag.UTC_TIME || f[i]!.tag === Tag.GENERALIZED_TIME)) {
    nextUpdate = timeOf(raw, f[i]!);
    if (nextUpdate === undefined) fail('nextUpdate does not parse');
    i++;
  }
  const revoked = new Set<string>();
  if (f[i] !== undefined && f[i]!.tag === Tag.SEQUENCE) {
    const entries = children(raw, f[i]!, MAX_CRL_ENTRIES);
    if (entries === undefined) fail(`revoked certificates do not parse (or more than ${MAX_CRL_ENTRIES})`);
    for (const e of entries) {
      const p = e.tag === Tag.SEQUENCE ? children(raw, e, 3) : undefined;
      if (p === undefined || p.length < 2) fail('a revoked-certificate entry does not parse');
      const serial = integerHex(raw, p[0]!);
      if (serial === undefined || timeOf(raw, p[1]!) === undefined) fail('a revoked-certificate entry does not parse');
      if (p[2] !== undefined) {
        readExtensions(raw, p[2], `entry ${serial}`, (oid, critical, value) => {
          if (oid === CRL_EXT.CERTIFICATE_ISSUER) fail('indirect CRLs (certificateIssuer entries) are not supported');
          if (oid === CRL_EXT.REASON_CODE) {
            const r = readTlv(raw, value.body, value.end);
            if (r === undefined || r.tag !== Tag.ENUMERATED || r.end - r.body !== 1) fail(`entry ${serial}: reasonCode does not parse`);
            if (raw[r.body] === 8) fail('removeFromCRL entries belong to delta CRLs, which are not supported');
          } else if (critical && oid !== CRL_EXT.INVALIDITY_DATE) fail(`entry ${serial}: critical extension ${oid} is not supported`);
        });
      }
      revoked.add(serial);
    }
    i++;
  }
  let crlNumber: string | undefined;
  if (f[i] !== undefined && f[i]!.tag === 0xa0) {
    const seq = expect(raw, f[i]!.body, f[i]!.end, Tag.SEQUENCE);
    if (seq === undefined || seq.end !== f[i]!.end) fail('CRL extensions do not parse');
    readExtensions(raw, seq, 'CRL', (oid, critical, value) => {
      if (oid === CRL_EXT.DELTA_CRL_INDICATOR) fail('delta CRLs are not supported (give the complete CRL)');
      if (oid === CRL_EXT.ISSUING_DISTRIBUTION_POINT) fail('partitioned CRLs (issuingDistributionPoint) are not supported (give the complete CRL)');
      if (oid === CRL_EXT.CRL_NUMBER) {
        const n = readTlv(raw, value.body, value.end);
        crlNumber = n === undefined ? undefined : integerHex(raw, n);
        if (crlNumber === undefined) fail('cRLNumber does not parse');
      } else if (critical) fail(`critical CRL extension ${oid} is not supported`);
    });
    i++;
  }
  if (i !== f.length) fail('tbsCertList has unexpected fields');
  return {
    raw,
    issuer: raw.slice(issuer.start, issuer.end),
    thisUpdate,
    nextUpdate,
    crlNumber,
    revoked,
    sigAlgOid,
    tbs: raw.subarray(tbs.start, tbs.end),
    signature: raw.subarray(sig.body + 1, sig.end),
  };
}

/** The CRLs in a PEM text (`-----BEGIN X509 CRL-----` blocks) as DER; empty when there is none. */
export function crlPemBlocks(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]*?)-----END X509 CRL-----/g;
  for (let m = re.exec(text); m !== null && out.length < 1024; m = re.exec(text)) out.push(Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

const verdicts = new WeakMap<CertificateRevocationList, Map<string, string | undefined>>();

/**
 * Why `issuer` cannot vouch for `crl`, or undefined when it can: the names must match (RFC 5280
 * §7.1), the issuer's keyUsage (when present) must allow cRLSign, and the CRL's signature must
 * verify with its key. Remembered per CRL and issuer certificate.
 */
export function crlIssuerProblem(crl: CertificateRevocationList, issuer: X509Certificate): string | undefined {
  let m = verdicts.get(crl);
  if (m === undefined) {
    m = new Map();
    verdicts.set(crl, m);
  }
  const key = issuer.fingerprint256;
  if (m.has(key)) return m.get(key);
  const r = checkIssuer(crl, issuer);
  if (m.size < 64) m.set(key, r);
  return r;
}

function checkIssuer(crl: CertificateRevocationList, issuer: X509Certificate): string | undefined {
  const info = certInfo(issuer);
  if (info === undefined) return 'the issuer certificate does not parse';
  if (!dnEqual(crl.issuer, info.subject)) return 'the CRL names another issuer';
  const ku = keyUsageOf(info);
  if (ku === null) return 'the issuer certificate has an unreadable keyUsage';
  if (ku !== undefined && (ku & KeyUsage.CRL_SIGN) === 0) return 'the issuer certificate may not sign CRLs (keyUsage lacks cRLSign)';
  const alg = SIG_ALGS[crl.sigAlgOid]!;
  const key = issuer.publicKey;
  if (key.asymmetricKeyType !== alg.keyType) return `the CRL is signed with a ${alg.keyType} algorithm, the issuer has a ${String(key.asymmetricKeyType)} key`;
  try {
    if (!verify(alg.hash, crl.tbs, key, crl.signature)) return 'the CRL signature does not verify with the issuer key';
  } catch {
    return 'the CRL signature does not verify with the issuer key';
  }
  return undefined;
}

/** Is the serial (hex, no leading zero octets) on the CRL? */
export function crlListsSerial(crl: CertificateRevocationList, serial: string): boolean {
  return crl.revoked.has(serial);
}
