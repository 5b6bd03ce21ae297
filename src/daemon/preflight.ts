/**
 * What the operator should know about a configuration that loads: local file hygiene (the
 * configuration holds pre-shared keys, key files hold private keys: neither may be readable by
 * group or others), identities that default (an RSA connection without `remote.id` expects the
 * peer's address), and CRLs that are out of date. `isakmp daemon --check` prints these notes;
 * the daemon logs them at start and on reload.
 */
import { statSync, type Stats } from 'node:fs';
import { certificateSubjectDer, dnEqual, dnText, type CertificateRevocationList } from '../crypto/index.js';
import type { Config } from './config/index.js';

export interface PreflightNote {
  /** `warn` for what weakens security or will fail; `info` for a default worth knowing. */
  readonly level: 'warn' | 'info';
  /** Where: a file, or a configuration path such as `connections.gw.remote.id`. */
  readonly where: string;
  readonly message: string;
}

/** Group/other permission bits that expose a secret file: read or write. */
const EXPOSING = 0o066;

/** Why `mode` opens a file to other users beyond `mask`'s bits (e.g. "readable by group and others, mode 0644"), or undefined. */
export function exposure(mode: number, mask: number = EXPOSING): string | undefined {
  const m = mode & mask;
  if (m === 0) return undefined;
  const perms = (r: number, w: number): string => [m & r ? 'readable' : '', m & w ? 'writable' : ''].filter(Boolean).join(' and ');
  const g = perms(0o040, 0o020);
  const o = perms(0o004, 0o002);
  const by = g && o && g === o ? `${g} by group and others` : [g && `${g} by group`, o && `${o} by others`].filter(Boolean).join(', ');
  return `${by} (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`;
}

function fileNote(path: string, what: string, mask: number, stat: (p: string) => Stats): PreflightNote | undefined {
  let st: Stats;
  try {
    st = stat(path);
  } catch {
    return undefined; // a missing file was reported by the loader, or this is a test's in-memory config
  }
  const why = exposure(st.mode, mask);
  if (why === undefined) return undefined;
  return { level: 'warn', where: path, message: `${what} is ${why}: run chmod 600 '${path}'` };
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

function crlNotes(where: string, path: string, crl: CertificateRevocationList, now: number, knownCa: boolean): PreflightNote[] {
  const out: PreflightNote[] = [];
  const issuer = dnText(crl.issuer) ?? '?';
  if (crl.nextUpdate !== undefined && crl.nextUpdate < now) {
    out.push({ level: 'warn', where, message: `the CRL '${path}' of '${issuer}' expired at ${isoTime(crl.nextUpdate)}: certificates of that CA are refused until a current CRL is installed (then isakmp reload)` });
  } else if (crl.thisUpdate > now) {
    out.push({ level: 'warn', where, message: `the CRL '${path}' of '${issuer}' is not valid before ${isoTime(crl.thisUpdate)} (is the clock right?): certificates of that CA are refused until then` });
  } else if (crl.nextUpdate !== undefined && crl.nextUpdate - now < 86400_000) {
    out.push({ level: 'warn', where, message: `the CRL '${path}' of '${issuer}' expires at ${isoTime(crl.nextUpdate)}: install the next one before then (then isakmp reload)` });
  }
  if (!knownCa) {
    out.push({ level: 'info', where, message: `the CRL '${path}' is issued by '${issuer}', which is not one of the configured CAs: it is checked against the intermediate CA certificate the peer sends` });
  }
  return out;
}

/** Notes on `config` at time `now` (ms). `stat` is injectable for tests. */
export function preflightNotes(config: Config, now: number, stat: (p: string) => Stats = statSync): PreflightNote[] {
  const out: PreflightNote[] = [];
  // the file holds the pre-shared keys: nobody else may read it; nobody else may ever write it
  const psk = [...config.secrets.values()].some((x) => x.kind === 'psk');
  const cfg = fileNote(config.file, psk ? 'the configuration file (it holds pre-shared keys)' : 'the configuration file', psk ? EXPOSING : 0o022, stat);
  if (cfg) out.push(cfg);
  for (const [name, s] of config.secrets) {
    if (s.kind !== 'rsa') continue;
    const k = fileNote(s.keyPath, `the private key of secret '${name}'`, EXPOSING, stat);
    if (k) out.push(k);
    const subjects = s.cas.map((c) => certificateSubjectDer(c)).filter((x): x is Uint8Array => x !== undefined);
    for (const [i, crl] of s.crls.entries()) {
      const path = s.crlPaths[i] ?? '?';
      out.push(...crlNotes(`secrets.${name}.crls`, path, crl, now, subjects.some((d) => dnEqual(d, crl.issuer))));
    }
  }
  for (const c of config.connections) {
    if (c.auth !== 'rsa' || c.remote.id !== undefined || c.remote.address === '%any') continue;
    out.push({
      level: 'info',
      where: `connections.${c.name}.remote.id`,
      message:
        `not set: the peer must prove its address ${c.remote.address} as its identity, and its certificate must carry it as an ` +
        `iPAddress subjectAltName (any other certificate of the CA is refused); set remote.id to the DN or host name in the peer's certificate otherwise`,
    });
  }
  return out;
}
