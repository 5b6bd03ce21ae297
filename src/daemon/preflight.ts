/**
 * What the operator should know about a configuration that loads: the files it names (the
 * updown script must exist and be executable; a key log the daemon would refuse), local file
 * hygiene (the configuration holds pre-shared keys, key files hold private keys: neither may be
 * readable by group or others; nobody else may write the updown script, certificates, CAs or
 * CRLs), pre-shared keys let through by `allow_weak_psk`, identities that default (an RSA
 * connection without `remote.id` expects the peer's address), and CRLs that are out of date.
 * `isakmp daemon --check` prints these notes (and fails on an `error`); the daemon refuses to
 * start or reload with an `error` and logs the others at start and on reload.
 */
import { accessSync, constants as fsConstants, lstatSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { certificateSubjectDer, dnEqual, dnText, type CertificateRevocationList } from '../crypto/index.js';
import type { Config } from './config/index.js';
import { fileErrorText } from './file-errors.js';
import { ESP_TABLE_SUFFIX, IKE_TABLE_SUFFIX, keyLogFileProblem } from './keylog.js';

export interface PreflightNote {
  /**
   * `error`: the daemon cannot work so (a missing updown script, a key log it refuses);
   * `warn`: what weakens security or will fail; `info`: a default worth knowing.
   */
  readonly level: 'error' | 'warn' | 'info';
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

/** The updown script: there, a regular file, executable; nobody else may write it (it runs as the daemon). */
function updownNotes(path: string, stat: (p: string) => Stats): PreflightNote[] {
  const where = 'global.updown';
  let st: Stats;
  try {
    st = stat(path);
  } catch (err) {
    return [{ level: 'error', where, message: `cannot use the updown script '${path}': ${fileErrorText(err)}` }];
  }
  if (!st.isFile()) return [{ level: 'error', where, message: `the updown script '${path}' is not a regular file` }];
  try {
    accessSync(path, fsConstants.X_OK);
    if ((st.mode & 0o111) === 0) throw new Error('no x bit');
  } catch {
    return [{ level: 'error', where, message: `the updown script '${path}' is not executable: run chmod 755 '${path}' (or 700)` }];
  }
  const why = exposure(st.mode, 0o022);
  const uid = process.getuid?.();
  const out: PreflightNote[] = [];
  if (why !== undefined) out.push({ level: 'warn', where, message: `the updown script '${path}' is ${why}: whoever can write it runs code as the daemon: run chmod go-w '${path}'` });
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) out.push({ level: 'warn', where, message: `the updown script '${path}' belongs to uid ${st.uid}, who can change what the daemon runs: give it to root (or the daemon's user)` });
  return out;
}

/** A key log the daemon would refuse at start (keylog.ts), or whose folder is missing. */
function keylogNotes(path: string): PreflightNote[] {
  const out: PreflightNote[] = [];
  for (const p of [path, path + IKE_TABLE_SUFFIX, path + ESP_TABLE_SUFFIX]) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      try {
        accessSync(dirname(p), fsConstants.W_OK);
      } catch (err) {
        out.push({ level: 'error', where: 'keylog', message: `the key log '${p}' cannot be created: its folder ${dirname(p)} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not writable'}` });
        return out;
      }
      continue;
    }
    const why = st.isSymbolicLink() ? 'is a symbolic link' : keyLogFileProblem(st, p);
    if (why !== undefined) out.push({ level: 'error', where: 'keylog', message: `key log '${p}' ${why}: the daemon refuses it, it would expose session keys` });
  }
  return out;
}

/**
 * Notes on `config` at time `now` (ms). `keylog`: the key log to check (`--keylog` or
 * global.keylog; `daemon --check` asks, the daemon opens it itself). `stat` is injectable for tests.
 */
export function preflightNotes(config: Config, now: number, stat: (p: string) => Stats = statSync, opts: { readonly keylog?: string } = {}): PreflightNote[] {
  const out: PreflightNote[] = [];
  if (config.global.updown !== undefined) out.push(...updownNotes(config.global.updown, stat));
  if (opts.keylog !== undefined) out.push(...keylogNotes(opts.keylog));
  // the file holds the pre-shared keys: nobody else may read it; nobody else may ever write it
  const psk = [...config.secrets.values()].some((x) => x.kind === 'psk');
  const cfg = fileNote(config.file, psk ? 'the configuration file (it holds pre-shared keys)' : 'the configuration file', psk ? EXPOSING : 0o022, stat);
  if (cfg) out.push(cfg);
  // the cluster key seals the replicated SA records (docs/ha.md): private as a private key
  if (config.ha !== undefined) {
    const k = fileNote(config.ha.clusterKeyFile, 'the cluster key (ha.cluster_key)', EXPOSING, stat);
    if (k) out.push(k);
  }
  for (const [name, s] of config.secrets) {
    if (s.kind === 'psk') {
      if (s.weakness !== undefined) out.push({ level: 'warn', where: `secrets.${name}.psk`, message: `weak pre-shared key, accepted because of allow_weak_psk: ${s.weakness}; anyone who records one exchange can try guesses offline: replace it with 20 or more random characters` });
      continue;
    }
    if (s.kind === 'rsa') {
      const k = fileNote(s.keyPath, `the private key of secret '${name}'`, EXPOSING, stat);
      if (k) out.push(k);
      for (const root of s.rootsInChain) {
        out.push({ level: 'info', where: `secrets.${name}`, message: `the root CA '${root.subject.split('\n').join(', ')}' among the chain certificates is not sent (a peer must hold its root as a trust anchor); ${s.chain.length} intermediate CA${s.chain.length === 1 ? ' is' : 's are'} sent after our certificate` });
      }
    }
    // certificates and CRLs are public, but whoever may write them can swap a trust anchor or a revocation list
    const certFiles = s.kind === 'rsa' ? [[s.certPath, `the certificate of secret '${name}'`] as const, ...[...new Set(s.chainPaths)].filter((p) => p !== s.certPath).map((p) => [p, `an intermediate CA certificate of secret '${name}'`] as const)] : [];
    for (const [path, what] of [...certFiles, ...[...new Set(s.caPaths)].map((p) => [p, `a CA certificate of secret '${name}'`] as const), ...[...new Set(s.crlPaths)].map((p) => [p, `a CRL of secret '${name}'`] as const)] as const) {
      const n = fileNote(path, what, 0o022, stat);
      if (n) out.push({ ...n, message: n.message.replace(/run chmod 600/, 'run chmod go-w') });
    }
    const subjects = s.cas.map((c) => certificateSubjectDer(c)).filter((x): x is Uint8Array => x !== undefined);
    for (const [i, crl] of s.crls.entries()) {
      const path = s.crlPaths[i] ?? '?';
      out.push(...crlNotes(`secrets.${name}.crls`, path, crl, now, subjects.some((d) => dnEqual(d, crl.issuer))));
    }
  }
  for (const c of config.connections) {
    if (c.auth === 'psk' || c.remote.id !== undefined || c.remote.address === '%any') continue;
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
