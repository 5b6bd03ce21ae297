/**
 * The compact proposal syntax of the configuration file, mapped to the wire numbers of
 * src/constants:
 *
 *   phase 1 (ike):  ENC-HASH-GROUP          e.g. aes128-sha256-modp2048, aes256-sha1-ecp256
 *   phase 2 (esp):  ENC-INTEG[-GROUP]       e.g. aes128-sha256, aes256-sha1-modp2048
 *                   AEAD[-GROUP]            e.g. aes128gcm16, aes256gcm16-ecp256
 *
 * In phase 2 the optional group is the PFS group. Parsing is pure; errors are returned as text
 * (the config loader adds file and line).
 */
import {
  AuthAlgorithm,
  EncryptionAlgorithm,
  EspTransformId,
  GroupDescription,
  HashAlgorithm,
} from '../constants/index.js';

export interface IkeProposal {
  /** The compact text it came from, normalised to lower case. */
  readonly text: string;
  /** RFC 2409 App. A Encryption Algorithm. */
  readonly encryption: number;
  /** Key-Length attribute in bits (AES); undefined for fixed-length ciphers. */
  readonly keyLength: number | undefined;
  /** RFC 2409 App. A Hash Algorithm (also the PRF: HMAC with this hash). */
  readonly hash: number;
  /** Group Description (RFC 2409 §6, RFC 3526, RFC 5903). */
  readonly group: number;
}

export interface EspProposal {
  readonly text: string;
  /** RFC 2407 §4.4.4 ESP transform id. */
  readonly transform: number;
  readonly keyLength: number | undefined;
  /** RFC 2407 §4.5 Authentication Algorithm; undefined for AEAD transforms. */
  readonly auth: number | undefined;
  /** PFS group; undefined means no PFS. */
  readonly group: number | undefined;
}

interface Cipher {
  readonly ike: number | undefined;
  readonly esp: number;
  readonly keyLength: number | undefined;
  readonly aead?: boolean;
}

const CIPHERS: Readonly<Record<string, Cipher>> = {
  aes: { ike: EncryptionAlgorithm.AES_CBC, esp: EspTransformId.ESP_AES_CBC, keyLength: 128 },
  aes128: { ike: EncryptionAlgorithm.AES_CBC, esp: EspTransformId.ESP_AES_CBC, keyLength: 128 },
  aes192: { ike: EncryptionAlgorithm.AES_CBC, esp: EspTransformId.ESP_AES_CBC, keyLength: 192 },
  aes256: { ike: EncryptionAlgorithm.AES_CBC, esp: EspTransformId.ESP_AES_CBC, keyLength: 256 },
  '3des': { ike: EncryptionAlgorithm['3DES_CBC'], esp: EspTransformId.ESP_3DES, keyLength: undefined },
  aes128gcm16: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_16, keyLength: 128, aead: true },
  aes192gcm16: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_16, keyLength: 192, aead: true },
  aes256gcm16: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_16, keyLength: 256, aead: true },
};

const IKE_HASHES: Readonly<Record<string, number>> = {
  md5: HashAlgorithm.MD5,
  sha1: HashAlgorithm.SHA,
  sha: HashAlgorithm.SHA,
  sha256: HashAlgorithm.SHA2_256,
  sha2_256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha2_384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
  sha2_512: HashAlgorithm.SHA2_512,
};

const ESP_INTEG: Readonly<Record<string, number>> = {
  md5: AuthAlgorithm.HMAC_MD5,
  sha1: AuthAlgorithm.HMAC_SHA,
  sha: AuthAlgorithm.HMAC_SHA,
  sha256: AuthAlgorithm.HMAC_SHA2_256,
  sha2_256: AuthAlgorithm.HMAC_SHA2_256,
  sha384: AuthAlgorithm.HMAC_SHA2_384,
  sha2_384: AuthAlgorithm.HMAC_SHA2_384,
  sha512: AuthAlgorithm.HMAC_SHA2_512,
  sha2_512: AuthAlgorithm.HMAC_SHA2_512,
};

export const GROUPS: Readonly<Record<string, number>> = {
  modp768: GroupDescription.MODP_768,
  modp1024: GroupDescription.MODP_1024,
  modp1536: GroupDescription.MODP_1536,
  modp2048: GroupDescription.MODP_2048,
  modp3072: GroupDescription.MODP_3072,
  modp4096: GroupDescription.MODP_4096,
  modp6144: GroupDescription.MODP_6144,
  modp8192: GroupDescription.MODP_8192,
  ecp256: GroupDescription.ECP_256,
  ecp384: GroupDescription.ECP_384,
  ecp521: GroupDescription.ECP_521,
  modp1024s160: GroupDescription.MODP_1024_160_POS,
  modp2048s224: GroupDescription.MODP_2048_224_POS,
  modp2048s256: GroupDescription.MODP_2048_256_POS,
};

/** Groups refused unless a connection sets `allow_weak_groups: true` (DESIGN: security defaults). */
export const WEAK_GROUPS: ReadonlySet<number> = new Set([1, 2, 5, 22, 23, 24]);

/** The name used in the compact syntax for a group number ("modp2048"), or `group<N>`. */
export function groupName(group: number): string {
  for (const [name, value] of Object.entries(GROUPS)) if (value === group) return name;
  return `group${group}`;
}

function keys(table: Readonly<Record<string, unknown>>, filter?: (v: unknown) => boolean): string {
  return Object.entries(table)
    .filter(([, v]) => (filter ? filter(v) : true))
    .map(([k]) => k)
    .join(', ');
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses one phase-1 proposal such as `aes128-sha256-modp2048`. */
export function parseIkeProposal(text: string, opts: { allowWeakGroups?: boolean } = {}): Parsed<IkeProposal> {
  const norm = text.trim().toLowerCase();
  const parts = norm.split('-');
  if (parts.length !== 3) {
    return { ok: false, error: `'${text}' is not ENC-HASH-GROUP (example: aes128-sha256-modp2048)` };
  }
  const [enc, hash, group] = parts as [string, string, string];
  const cipher = CIPHERS[enc];
  if (cipher === undefined || cipher.ike === undefined) {
    return {
      ok: false,
      error: `unknown phase-1 encryption '${enc}' in '${text}' (use one of: ${keys(CIPHERS, (c) => (c as Cipher).ike !== undefined)})`,
    };
  }
  const h = IKE_HASHES[hash];
  if (h === undefined) {
    return { ok: false, error: `unknown hash '${hash}' in '${text}' (use one of: ${keys(IKE_HASHES)})` };
  }
  const g = GROUPS[group];
  if (g === undefined) {
    return { ok: false, error: `unknown DH group '${group}' in '${text}' (use one of: ${keys(GROUPS)})` };
  }
  if (WEAK_GROUPS.has(g) && opts.allowWeakGroups !== true) {
    return {
      ok: false,
      error: `DH group '${group}' in '${text}' is weak and refused by default (use modp2048 or stronger, or set allow_weak_groups: true)`,
    };
  }
  return { ok: true, value: { text: norm, encryption: cipher.ike, keyLength: cipher.keyLength, hash: h, group: g } };
}

/** Parses one phase-2 (ESP) proposal such as `aes128-sha256`, `aes256-sha1-modp2048`, `aes128gcm16`. */
export function parseEspProposal(text: string, opts: { allowWeakGroups?: boolean } = {}): Parsed<EspProposal> {
  const norm = text.trim().toLowerCase();
  const parts = norm.split('-');
  const enc = parts[0] ?? '';
  const cipher = CIPHERS[enc];
  if (cipher === undefined) {
    return { ok: false, error: `unknown ESP encryption '${enc}' in '${text}' (use one of: ${keys(CIPHERS)})` };
  }
  let auth: number | undefined;
  let rest: string[];
  if (cipher.aead === true) {
    rest = parts.slice(1);
  } else {
    const integ = parts[1];
    if (integ === undefined) {
      return { ok: false, error: `'${text}' lacks an integrity algorithm (example: aes128-sha256 or aes128-sha256-modp2048)` };
    }
    auth = ESP_INTEG[integ];
    if (auth === undefined) {
      return { ok: false, error: `unknown ESP integrity '${integ}' in '${text}' (use one of: ${keys(ESP_INTEG)})` };
    }
    rest = parts.slice(2);
  }
  if (rest.length > 1) {
    return { ok: false, error: `'${text}' has too many parts (ENC-INTEG[-GROUP] or AEAD[-GROUP])` };
  }
  let group: number | undefined;
  if (rest.length === 1) {
    const gname = rest[0] as string;
    group = GROUPS[gname];
    if (group === undefined) {
      return { ok: false, error: `unknown PFS group '${gname}' in '${text}' (use one of: ${keys(GROUPS)})` };
    }
    if (WEAK_GROUPS.has(group) && opts.allowWeakGroups !== true) {
      return {
        ok: false,
        error: `PFS group '${gname}' in '${text}' is weak and refused by default (use modp2048 or stronger, or set allow_weak_groups: true)`,
      };
    }
  }
  return { ok: true, value: { text: norm, transform: cipher.esp, keyLength: cipher.keyLength, auth, group } };
}
