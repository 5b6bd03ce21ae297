/**
 * A throw-away PKI made by the tests with the OpenSSL command line: keys, CA and end-entity
 * certificates with the extensions a test asks for (written as openssl x509v3 config lines), and
 * CRLs with chosen revoked certificates and update times (`openssl ca -gencrl` over an index
 * file we write). Everything lives in a temporary folder; `pki()` returns undefined when the
 * openssl command is missing, so a test can skip with a message.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: X509Certificate;
  readonly der: Uint8Array;
  readonly key: KeyObject;
  readonly serial: number;
  readonly subject: string;
}

export interface IssueOptions {
  /** openssl subject, e.g. "/C=CH/O=test/CN=gw". */
  readonly subj: string;
  /** x509v3 extension lines, e.g. ['basicConstraints=critical,CA:TRUE,pathlen:0']. */
  readonly ext?: readonly string[];
  /** Signing CA; absent: self-signed. */
  readonly issuer?: Issued;
  /** 'rsa' (2048 bits, default for end entities) or 'ec' (P-256, default for CAs). */
  readonly keyType?: 'rsa' | 'ec';
  /** Reuse the key of another certificate (a second CA with the same key, a re-issued leaf). */
  readonly keyOf?: Issued;
  /** Validity in days from now (default 3650). Subjects are always UTF8String (openssl -utf8). */
  readonly days?: number;
}

export const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'];
export const EE_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];

/** YYYYMMDDHHMMSSZ for openssl's CRL times. */
export function opensslTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

export class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'isakmp-pki-'));
  /** When the PKI was made: certificates are valid from here for `days` (default 3650). */
  readonly t0 = Date.now();
  private serial = 0x1000;

  private run(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** Issues a certificate (a CA when ext says so). */
  issue(name: string, o: IssueOptions): Issued {
    const d = this.dir;
    const keyPath = o.keyOf?.keyPath ?? join(d, `${name}.key`);
    if (o.keyOf === undefined) {
      const type = o.keyType ?? (o.ext?.some((l) => /CA:TRUE/.test(l)) ? 'ec' : 'rsa');
      this.run(type === 'ec'
        ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]
        : ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath]);
    }
    const csr = join(d, `${name}.csr`);
    const extPath = join(d, `${name}.ext`);
    writeFileSync(extPath, `[v3]\n${(o.ext ?? EE_EXT).join('\n')}\n`);
    this.run(['req', '-new', '-utf8', '-key', keyPath, '-subj', o.subj, '-out', csr]);
    const certPath = join(d, `${name}.pem`);
    const serial = this.serial++;
    const signer = o.issuer !== undefined ? ['-CA', o.issuer.certPath, '-CAkey', o.issuer.keyPath] : ['-signkey', keyPath];
    this.run(['x509', '-req', '-in', csr, ...signer, '-set_serial', String(serial), '-days', String(o.days ?? 3650), '-sha256', '-extfile', extPath, '-extensions', 'v3', '-out', certPath]);
    const cert = new X509Certificate(readFileSync(certPath));
    return { name, certPath, keyPath, cert, der: new Uint8Array(cert.raw), key: createPrivateKey(readFileSync(keyPath)), serial, subject: o.subj };
  }

  /**
   * A CRL signed by `ca` listing `revoked`, valid from `lastUpdate` to `nextUpdate` (ms; default
   * t0 and t0 + 7 days), with extra CRL extension lines `ext` (e.g. '2.5.29.27=critical,ASN1:INTEGER:1').
   * Returns its DER and the path of its PEM.
   */
  crl(ca: Issued, revoked: readonly Issued[], o: { lastUpdate?: number; nextUpdate?: number; name?: string; ext?: readonly string[] } = {}): { der: Uint8Array; path: string } {
    const d = join(this.dir, `crl-${o.name ?? ca.name}-${this.serial++}`);
    execFileSync('mkdir', ['-p', d]);
    const when = opensslTime(o.lastUpdate ?? this.t0).slice(2); // index.txt wants YYMMDDHHMMSSZ
    const lines = revoked.map((r) => `R\t${opensslTime(this.t0 + 3650 * 86400_000).slice(2)}\t${when}\t${r.serial.toString(16).toUpperCase()}\tunknown\t${r.subject}`);
    writeFileSync(join(d, 'index.txt'), lines.length ? lines.join('\n') + '\n' : '');
    writeFileSync(join(d, 'ca.cnf'), `[ca]\ndefault_ca = ca\n[ca]\ndatabase = ${join(d, 'index.txt')}\ncrlnumber = ${join(d, 'crlnumber')}\ndefault_md = sha256\n[crlext]\nauthorityKeyIdentifier=keyid\n${(o.ext ?? []).join('\n')}\n`);
    writeFileSync(join(d, 'crlnumber'), '01\n');
    const path = join(d, 'crl.pem');
    this.run(['ca', '-gencrl', '-config', join(d, 'ca.cnf'), '-name', 'ca', '-cert', ca.certPath, '-keyfile', ca.keyPath, '-crlexts', 'crlext',
      '-crl_lastupdate', opensslTime(o.lastUpdate ?? this.t0), '-crl_nextupdate', opensslTime(o.nextUpdate ?? this.t0 + 7 * 86400_000), '-out', path]);
    const derPath = join(d, 'crl.der');
    this.run(['crl', '-in', path, '-outform', 'DER', '-out', derPath]);
    return { der: new Uint8Array(readFileSync(derPath)), path };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A new PKI folder, or undefined when the openssl command line is not installed. */
export function pki(): Pki | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return new Pki();
}
