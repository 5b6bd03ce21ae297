/**
 * CRL files named by the configuration (`secrets.NAME.crls`): read (PEM with one or more
 * `X509 CRL` blocks, or DER), parsed by src/crypto/crl.ts, and checked against the configured CAs
 * when the CRL's issuer is one of them. Re-read on every load, so `isakmp reload` picks up a new
 * CRL. A CRL issued by an intermediate CA that is not configured is checked when it is used,
 * against the intermediate certificate the peer sends.
 */
import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import { certificateSubjectDer, CrlError, crlIssuerProblem, crlPemBlocks, dnEqual, dnText, MAX_CRL_SIZE, parseCrl, type CertificateRevocationList } from '../crypto/index.js';
import type { ConnectionConfig } from './config/index.js';
import { fileErrorText } from './file-errors.js';

/** The CRLs in a file, or why it cannot be used (in an operator's words). */
export function readCrlFile(path: string): { ok: true; crls: CertificateRevocationList[] } | { ok: false; error: string } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    return { ok: false, error: `cannot read CRL '${path}': ${fileErrorText(err)}` };
  }
  if (buf.length > MAX_CRL_SIZE * 2) return { ok: false, error: `CRL '${path}' is larger than ${MAX_CRL_SIZE * 2} bytes` };
  const text = buf.subarray(0, 64).toString('latin1');
  const ders = text.includes('-----BEGIN') ? crlPemBlocks(buf.toString('latin1')) : [new Uint8Array(buf)];
  if (ders.length === 0) return { ok: false, error: `'${path}' holds no '-----BEGIN X509 CRL-----' block (give a CRL in PEM or DER)` };
  const crls: CertificateRevocationList[] = [];
  for (const der of ders) {
    try {
      crls.push(parseCrl(der));
    } catch (err) {
      if (!(err instanceof CrlError)) throw err;
      return { ok: false, error: `'${path}' is not a usable CRL: ${err.message}` };
    }
  }
  return { ok: true, crls };
}

/**
 * When the CRL names one of the configured CAs as its issuer, one of those CAs must vouch for it
 * (name, cRLSign, signature); returns why not, or undefined.
 */
export function crlIssuerMismatch(crl: CertificateRevocationList, cas: readonly { path: string; value: X509Certificate }[], path: string): string | undefined {
  const named = cas.filter((c) => {
    const s = certificateSubjectDer(c.value);
    return s !== undefined && dnEqual(s, crl.issuer);
  });
  if (named.length === 0) return undefined;
  const problems = named.map((c) => crlIssuerProblem(crl, c.value));
  if (problems.some((p) => p === undefined)) return undefined;
  return `the CRL '${path}' names the CA '${dnText(crl.issuer) ?? '?'}' (${named.map((c) => c.path).join(', ')}) as its issuer, but ${problems[0]}`;
}

/** Do two versions of a connection use the same CRLs (byte for byte)? */
export function sameCrls(a: ConnectionConfig | undefined, b: ConnectionConfig | undefined): boolean {
  const x = a !== undefined && a.secret.kind !== 'psk' ? a.secret.crls : [];
  const y = b !== undefined && b.secret.kind !== 'psk' ? b.secret.crls : [];
  return x.length === y.length && x.every((c, i) => Buffer.compare(c.raw, y[i]!.raw) === 0);
}
