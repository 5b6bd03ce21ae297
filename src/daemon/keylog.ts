/**
 * The key log (`--keylog FILE`), for Wireshark/tshark and `isakmp decode --keylog`. Appends:
 *
 *   per ISAKMP SA, a line of Wireshark's ikev1_decryption_table:
 *     <initiator cookie, 16 hex digits>,<phase-1 encryption key, hex>
 *   per IPsec SA and direction, a line of Wireshark's esp_sa table:
 *     "IPv4","<src>","<dst>","0x<spi>","<encryption>","0x<key>","<authentication>","0x<key>"
 *
 * Lines starting with '#' are comments. Both kinds of line go to FILE (what `isakmp decode
 * --keylog` reads); each kind also goes to its own companion file beside it, FILE.ikev1_decryption_table
 * and FILE.esp_sa, so that each is one homogeneous Wireshark UAT table (copy or link them into
 * Wireshark's profile folder as `ikev1_decryption_table` and `esp_sa`). All three files are created
 * with mode 0600, opened without following a symbolic link (O_NOFOLLOW), and refused when they are
 * not ours or are open to group or others (see openKeyLogFile). This is the only place where key
 * material leaves the daemon, and only when the operator asked for it.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, writeSync } from 'node:fs';
import { AuthAlgorithm, EspTransformId } from '../constants/index.js';
import { UsageError } from '../errors.js';
import { exposure } from './preflight.js';
import { toHex } from '../crypto/bytes.js';
import type { IpsecSaInfo } from './engine.js';

/** The ikev1_decryption_table line for one ISAKMP SA. */
export function ikeKeyLogLine(initiatorCookie: Uint8Array, encryptionKey: Uint8Array): string {
  return `${toHex(initiatorCookie)},${toHex(encryptionKey)}`;
}

/** Wireshark's esp_sa names of the encryption algorithms, by ESP transform id (packet-ipsec.c, 4.0). */
const WIRESHARK_ESP_ENCRYPTION: Readonly<Record<number, string>> = {
  [EspTransformId.ESP_NULL]: 'NULL',
  [EspTransformId.ESP_3DES]: 'TripleDES-CBC [RFC2451]',
  [EspTransformId.ESP_AES_CBC]: 'AES-CBC [RFC3602]',
  [EspTransformId.ESP_AES_CTR]: 'AES-CTR [RFC3686]',
  [EspTransformId.ESP_AES_GCM_8]: 'AES-GCM with 8 octet ICV [RFC4106]',
  [EspTransformId.ESP_AES_GCM_12]: 'AES-GCM with 12 octet ICV [RFC4106]',
  [EspTransformId.ESP_AES_GCM_16]: 'AES-GCM with 16 octet ICV [RFC4106]',
};

/** Wireshark's esp_sa names of the authentication algorithms, by RFC 2407 Authentication Algorithm (0: none). */
const WIRESHARK_ESP_AUTH: Readonly<Record<number, string>> = {
  0: 'NULL',
  [AuthAlgorithm.HMAC_MD5]: 'HMAC-MD5-96 [RFC2403]',
  [AuthAlgorithm.HMAC_SHA]: 'HMAC-SHA-1-96 [RFC2404]',
  [AuthAlgorithm.HMAC_SHA2_256]: 'HMAC-SHA-256-128 [RFC4868]',
  [AuthAlgorithm.HMAC_SHA2_384]: 'HMAC-SHA-384-192 [RFC4868]',
  [AuthAlgorithm.HMAC_SHA2_512]: 'HMAC-SHA-512-256 [RFC4868]',
};

/** esp_sa lines for an IPsec SA: outbound (local -> remote) and inbound (remote -> local). */
export function espKeyLogLines(sa: IpsecSaInfo): string[] {
  const out: string[] = [];
  const fam = sa.local.address.includes(':') ? 'IPv6' : 'IPv4';
  for (const p of sa.protocols) {
    if (p.protocol !== 3) continue; // ESP only
    const enc = WIRESHARK_ESP_ENCRYPTION[p.transformId] ?? `transform-${p.transformId}`;
    const auth = WIRESHARK_ESP_AUTH[p.authAlgorithm] ?? `auth-${p.authAlgorithm}`;
    const line = (src: string, dst: string, k: { spi: Uint8Array; encryptionKey: Uint8Array; integrityKey: Uint8Array }): string =>
      [fam, src, dst, `0x${toHex(k.spi)}`, enc, `0x${toHex(k.encryptionKey)}`, auth, `0x${toHex(k.integrityKey)}`].map((f) => `"${f}"`).join(',');
    out.push(line(sa.local.address, sa.remote.address, p.outbound));
    out.push(line(sa.remote.address, sa.local.address, p.inbound));
  }
  return out;
}

/** Suffixes of the companion files (Wireshark's UAT table names). */
export const IKE_TABLE_SUFFIX = '.ikev1_decryption_table';
export const ESP_TABLE_SUFFIX = '.esp_sa';

/** Error code of a key log file the daemon refuses to write. */
export const KEYLOG_ERROR_CODE = 'ISAKMP_ERR_KEYLOG';

const OPEN_FLAGS = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW;

/**
 * Why an existing key log file is refused (not a regular file, other hard links, another owner,
 * open to group or others), or undefined: the one rule of openKeyLogFile and `daemon --check`.
 */
export function keyLogFileProblem(st: { isFile(): boolean; nlink: number; uid: number; mode: number }, path: string): string | undefined {
  const uid = process.getuid?.();
  if (!st.isFile()) return 'is not a regular file';
  if (st.nlink > 1) return `has ${st.nlink - 1} other hard link${st.nlink > 2 ? 's' : ''}`;
  if (uid !== undefined && st.uid !== uid) return `is owned by uid ${st.uid}, not by the daemon's user (uid ${uid})`;
  if ((st.mode & 0o066) !== 0) return `is ${exposure(st.mode)} (run chmod 600 '${path}')`;
  return undefined;
}

/**
 * Opens a key log file for appending, safely: never through a symbolic link (O_NOFOLLOW), created
 * 0600, and refused when it is not a regular file, has other hard links, is not owned by our
 * user, or is readable or writable by group or others. Returns the descriptor.
 */
export function openKeyLogFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    if (code === 'ELOOP') throw new UsageError(KEYLOG_ERROR_CODE, `key log '${path}' is a symbolic link: refused (key material is never written through a link; give the real path)`);
    throw new UsageError(KEYLOG_ERROR_CODE, `cannot open the key log '${path}': ${code}`);
  }
  try {
    const why = keyLogFileProblem(fstatSync(fd), path);
    if (why !== undefined) throw new UsageError(KEYLOG_ERROR_CODE, `key log '${path}' ${why}: refused, it would expose session keys`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export class KeyLog {
  /** FILE.ikev1_decryption_table: only the ISAKMP SA lines. */
  readonly ikePath: string;
  /** FILE.esp_sa: only the ESP SA lines. */
  readonly espPath: string;

  /**
   * Checks (and creates, mode 0600) the three files at once: throws UsageError(ISAKMP_ERR_KEYLOG)
   * when one is refused (see openKeyLogFile). Each write opens the file again with the same
   * checks, so a file replaced by a link later is refused then: `onError` hears about it (the
   * line is not written) instead of an exception.
   */
  constructor(readonly path: string, private readonly onError?: (message: string) => void) {
    this.ikePath = path + IKE_TABLE_SUFFIX;
    this.espPath = path + ESP_TABLE_SUFFIX;
    for (const p of [path, this.ikePath, this.espPath]) closeSync(openKeyLogFile(p));
  }

  private write(path: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    let fd: number;
    try {
      fd = openKeyLogFile(path);
    } catch (err) {
      if (this.onError === undefined) throw err;
      this.onError((err as Error).message);
      return;
    }
    try {
      writeSync(fd, lines.join('\n') + '\n');
    } finally {
      closeSync(fd);
    }
  }

  /** An ikev1_decryption_table line (see ikeKeyLogLine): to FILE and FILE.ikev1_decryption_table. */
  ike(line: string): void {
    this.write(this.path, [line]);
    this.write(this.ikePath, [line]);
  }

  /** Appends lines of either kind, each to FILE and its own companion file (an esp_sa line starts with a quote). */
  append(lines: readonly string[]): void {
    this.esp(lines.filter((l) => l.startsWith('"')));
    for (const l of lines) if (!l.startsWith('"')) this.ike(l);
  }

  /** esp_sa lines (see espKeyLogLines): to FILE and FILE.esp_sa. */
  esp(lines: readonly string[]): void {
    this.write(this.path, lines);
    this.write(this.espPath, lines);
  }
}
