/**
 * The constraints of RFC 5280 §6 path validation checked on a chain that is already built and
 * signed (leaf first, trust anchor last): unrecognised critical extensions, basicConstraints
 * pathLenConstraint, name constraints, extended key usage for IKE, and revocation by the
 * configured CRLs. Each refusal is a RemoteProtocolError(INVALID_CERTIFICATE) whose reason names
 * the certificate and the rule.
 *
 * The trust anchor's own constraints (pathLenConstraint, nameConstraints, extKeyUsage) are
 * applied too, as OpenSSL does: a root that says `pathlen:0` means it.
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import {
  basicConstraintsOf,
  certInfo,
  extKeyUsageOf,
  nameConstraintsOf,
  subjectAltNamesOf,
  unknownCriticalExtensions,
  type CertInfo,
} from './cert-ext.js';
import { crlIssuerProblem, crlListsSerial, type CertificateRevocationList } from './crl.js';
import { dnEmails, dnEqual, dnText, parseName } from './dn.js';
import { nameConstraintViolation } from './name-constraints.js';

/**
 * Extended key usages that allow a certificate to authenticate IKE (RFC 4945 §5.1.3.12 and
 * common practice): anyExtendedKeyUsage, id-kp-serverAuth, id-kp-clientAuth, id-kp-ipsecIKE. A
 * certificate without the extension is not restricted.
 */
export const IKE_EKUS: ReadonlySet<string> = new Set([
  '2.5.29.37.0', // anyExtendedKeyUsage
  '1.3.6.1.5.5.7.3.1', // id-kp-serverAuth
  '1.3.6.1.5.5.7.3.2', // id-kp-clientAuth
  '1.3.6.1.5.5.7.3.17', // id-kp-ipsecIKE (RFC 4945)
]);

function invalid(reason: string): RemoteProtocolError {
  return new RemoteProtocolError(NotifyType.INVALID_CERTIFICATE, reason);
}

/** The role and name of chain[i] for messages: "certificate 'CN=gw'", "intermediate CA 'CN=sub'". */
function label(chain: readonly X509Certificate[], infos: readonly CertInfo[], i: number): string {
  const role = i === 0 ? 'certificate' : i === chain.length - 1 ? 'trust anchor' : 'intermediate CA';
  const name = dnText(infos[i]!.subject);
  return name ? `${role} '${name}'` : role;
}

function selfIssued(info: CertInfo): boolean {
  return dnEqual(info.issuer, info.subject);
}

export interface PathCheckInput {
  /** Leaf first, then each issuer, the trust anchor last (a pinned leaf alone is its own anchor). */
  readonly chain: readonly X509Certificate[];
  readonly now: number;
  /** CRLs to check the chain against (see `checkRevocation`). */
  readonly crls?: readonly CertificateRevocationList[];
}

/** Throws RemoteProtocolError(INVALID_CERTIFICATE) for the first rule the chain breaks. */
export function checkPathConstraints(input: PathCheckInput): void {
  const { chain } = input;
  const infos: CertInfo[] = [];
  for (let i = 0; i < chain.length; i++) {
    const info = certInfo(chain[i]!);
    if (info === undefined) throw invalid(`${i === 0 ? 'certificate' : 'CA certificate'}: structure does not parse`);
    infos.push(info);
  }
  for (let i = 0; i < chain.length; i++) {
    const unknown = unknownCriticalExtensions(infos[i]!);
    if (unknown.length > 0) throw invalid(`${label(chain, infos, i)}: critical extension ${unknown.join(', ')} is not supported`);
  }
  checkPathLength(chain, infos);
  checkNames(chain, infos);
  checkEku(chain, infos);
  if (input.crls !== undefined && input.crls.length > 0) checkRevocation(chain, infos, input.crls, input.now);
}

/** basicConstraints pathLenConstraint (RFC 5280 §4.2.1.9, §6.1.4 (l)(m)). */
function checkPathLength(chain: readonly X509Certificate[], infos: readonly CertInfo[]): void {
  for (let k = 1; k < chain.length; k++) {
    const bc = basicConstraintsOf(infos[k]!);
    if (bc === null) throw invalid(`${label(chain, infos, k)}: unreadable basicConstraints`);
    if (bc?.pathLen === undefined) continue;
    // intermediates between this CA and the leaf, self-issued ones not counted
    let below = 0;
    for (let j = 1; j < k; j++) if (!selfIssued(infos[j]!)) below++;
    if (below > bc.pathLen) {
      throw invalid(`${label(chain, infos, k)} allows ${bc.pathLen} intermediate CA${bc.pathLen === 1 ? '' : 's'} below it (pathLenConstraint), the chain has ${below}`);
    }
  }
}

/** Name constraints of every CA (anchor included) over the certificates below it (RFC 5280 §6.1.3 (b)). */
function checkNames(chain: readonly X509Certificate[], infos: readonly CertInfo[]): void {
  for (let k = 1; k < chain.length; k++) {
    const nc = nameConstraintsOf(infos[k]!);
    if (nc === null) throw invalid(`${label(chain, infos, k)}: unreadable nameConstraints`);
    if (nc === undefined) continue;
    for (let j = 0; j < k; j++) {
      if (j > 0 && selfIssued(infos[j]!)) continue;
      const alt = subjectAltNamesOf(infos[j]!);
      if (alt === null) throw invalid(`${label(chain, infos, j)}: unreadable subjectAltName`);
      const rdns = parseName(infos[j]!.subject);
      if (rdns === undefined) throw invalid(`${label(chain, infos, j)}: subject does not parse`);
      const why = nameConstraintViolation(nc, {
        altNames: alt ?? [],
        ...(rdns.length > 0 ? { subject: infos[j]!.subject } : {}),
        subjectEmails: dnEmails(rdns),
      });
      if (why !== undefined) throw invalid(`${label(chain, infos, j)}: ${why} (set by ${label(chain, infos, k)})`);
    }
  }
}

/** extendedKeyUsage: the leaf's, and any CA's that restricts the chain, must allow IKE (see IKE_EKUS). */
function checkEku(chain: readonly X509Certificate[], infos: readonly CertInfo[]): void {
  for (let i = 0; i < chain.length; i++) {
    const eku = extKeyUsageOf(infos[i]!);
    if (eku === null) throw invalid(`${label(chain, infos, i)}: unreadable extendedKeyUsage`);
    if (eku === undefined || eku.some((o) => IKE_EKUS.has(o))) continue;
    throw invalid(`${label(chain, infos, i)}: extendedKeyUsage (${eku.join(', ')}) allows no IKE use (needs none, anyExtendedKeyUsage, serverAuth, clientAuth or ipsecIKE)`);
  }
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Revocation (RFC 5280 §6.3, complete CRLs only): for each certificate below the anchor whose
 * issuer has configured CRLs (same issuer name), one of them must be vouched for by the actual
 * issuer certificate in the chain (name, cRLSign, signature), none may list the certificate's
 * serial, and one must be current at `now` (thisUpdate ≤ now ≤ nextUpdate). Issuers without a
 * configured CRL are not checked. Fails closed: a CRL that names the issuer but does not verify,
 * or that is out of date, refuses the certificate.
 */
function checkRevocation(chain: readonly X509Certificate[], infos: readonly CertInfo[], crls: readonly CertificateRevocationList[], now: number): void {
  for (let j = 0; j + 1 < chain.length; j++) {
    const info = infos[j]!;
    const named = crls.filter((c) => dnEqual(c.issuer, info.issuer));
    if (named.length === 0) continue;
    const issuerCert = chain[j + 1]!;
    const usable: CertificateRevocationList[] = [];
    let problem: string | undefined;
    for (const c of named) {
      const p = crlIssuerProblem(c, issuerCert);
      if (p === undefined) usable.push(c);
      else problem ??= p;
    }
    const issuerName = dnText(info.issuer) ?? 'its issuer';
    if (usable.length === 0) throw invalid(`${label(chain, infos, j)}: the CRL of '${issuerName}' cannot be used: ${problem}`);
    if (usable.some((c) => crlListsSerial(c, info.serial))) throw invalid(`${label(chain, infos, j)} is revoked (serial ${info.serial} on the CRL of '${issuerName}')`);
    if (!usable.some((c) => c.thisUpdate <= now && (c.nextUpdate === undefined || now <= c.nextUpdate))) {
      const c = usable[0]!;
      const why = c.thisUpdate > now ? `is not valid before ${isoTime(c.thisUpdate)}` : `expired at ${isoTime(c.nextUpdate!)}`;
      throw invalid(`${label(chain, infos, j)}: the CRL of '${issuerName}' ${why} (install a current CRL and run isakmp reload)`);
    }
  }
}
