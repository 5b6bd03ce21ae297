/**
 * Certificate files of the `secrets` section: a `cert:` file may hold our certificate followed by
 * the intermediate CA certificates that issued it (PEM, as a "fullchain" file does), and `chain:`
 * names more files of intermediates. What we send is our certificate, then the intermediates in
 * order from the one that issued it upwards (RFC 4945 §3.3.2: leaf first), never a self-signed
 * root: the peer must hold that as a trust anchor, and sending it proves nothing.
 */
import { X509Certificate } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM file (every CERTIFICATE block, in order) or of a DER file (one). Throws when there is none or one does not parse. */
export function readCertificates(buf: Buffer): X509Certificate[] {
  const text = buf.toString('latin1');
  const blocks = text.match(PEM_CERT);
  if (blocks === null) return [new X509Certificate(buf)];
  return blocks.map((b) => new X509Certificate(b));
}

/** A certificate that issued itself: a root (trust anchor), never sent. */
export function selfSigned(c: X509Certificate): boolean {
  try {
    return c.checkIssued(c) && c.verify(c.publicKey);
  } catch {
    return false;
  }
}

/** Whether `issuer` issued `c` (names and signature). */
function issued(issuer: X509Certificate, c: X509Certificate): boolean {
  try {
    return c.checkIssued(issuer) && c.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export interface OrderedChain {
  /** The intermediates to send after our certificate, the issuer of our certificate first. */
  readonly chain: readonly X509Certificate[];
  /** Roots found among the given certificates (left out). */
  readonly roots: readonly X509Certificate[];
  /** A certificate that is not a CA or does not fit the chain, in words; undefined when all fit. */
  readonly problem: string | undefined;
}

/**
 * Orders `intermediates` from the issuer of `leaf` upwards. Self-signed roots are left out;
 * a certificate that is not a CA, or that issued none of the chain, is a problem (a wrong file).
 */
export function orderChain(leaf: X509Certificate, intermediates: readonly X509Certificate[]): OrderedChain {
  const roots = intermediates.filter(selfSigned);
  const pool = intermediates.filter((c) => !selfSigned(c));
  const chain: X509Certificate[] = [];
  for (const c of pool) {
    if (!c.ca) return { chain, roots, problem: `'${oneLine(c.subject)}' is not a CA certificate (only intermediate CAs belong in the chain)` };
  }
  let cur = leaf;
  while (pool.length > 0) {
    const i = pool.findIndex((c) => issued(c, cur));
    if (i < 0) break;
    cur = pool.splice(i, 1)[0] as X509Certificate;
    chain.push(cur);
  }
  const stray = pool[0];
  if (stray !== undefined) return { chain, roots, problem: `'${oneLine(stray.subject)}' did not issue '${oneLine(cur.subject)}' nor any certificate of the chain above it` };
  return { chain, roots, problem: undefined };
}

/** A subject as one line (node gives one RDN per line). */
export function oneLine(subject: string): string {
  return subject.split('\n').join(', ');
}
