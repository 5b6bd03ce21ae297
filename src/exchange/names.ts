/**
 * The compact, strongSwan-style proposal syntax, one parser for the library and the
 * configuration file (src/daemon/config/), mapped to the wire numbers of src/constants:
 *
 *   phase 1 (ike):  ENC-HASH-GROUP          e.g. aes128-sha256-modp2048, aes256-sha1-ecp256
 *   phase 2 (esp):  ENC-INTEG[-GROUP]       e.g. aes128-sha256, aes256-sha1-modp2048
 *                   AEAD[-GROUP]            e.g. aes128gcm16, aes256gcm16-ecp256
 *   phase 2 (ah):   INTEG[-GROUP]           e.g. sha256, sha1-modp2048
 *
 * In phase 2 the optional group is the PFS group. The `...Spec` parsers are pure and return
 * errors as text (the config loader adds file and line); `parseIkeProposal` /
 * `parseIpsecProposal` build the engine's records from them and throw.
 */
import {
  AhTransformId,
  AuthAlgorithm,
  AuthMethod,
  EncapsulationMode,
  EncryptionAlgorithm,
  EspTransformId,
  GroupDescription,
  HashAlgorithm,
  ProtocolId,
} from '../constants/index.js';
import { LocalProtocolError } from '../errors.js';
import { DH_GROUPS, dhGroupInfo } from '../crypto/index.js';
import type { IkeProposal, IpsecProposal, IpsecProtocolSpec } from './types.js';
import type { Mutable } from '../codec/types.js';

export interface IkeProposalSpec {
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

export interface EspProposalSpec {
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
  aes128gcm12: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_12, keyLength: 128, aead: true },
  aes192gcm12: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_12, keyLength: 192, aead: true },
  aes256gcm12: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_12, keyLength: 256, aead: true },
  aes128gcm8: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_8, keyLength: 128, aead: true },
  aes192gcm8: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_8, keyLength: 192, aead: true },
  aes256gcm8: { ike: undefined, esp: EspTransformId.ESP_AES_GCM_8, keyLength: 256, aead: true },
};

/** Names the parser accepts as synonyms but that are never printed (the first name above is). */
const SYNONYMS: ReadonlySet<string> = new Set(['aes', 'sha', 'sha2_256', 'sha2_384', 'sha2_512']);

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

/**
 * The groups the engine negotiates, by compact name, in IANA order: derived from the one DH-group
 * registry (`DH_GROUPS` in src/crypto/dh.ts: numbers, names, sizes and the weak/opt-in policy).
 */
const GROUPS: Readonly<Record<string, number>> = Object.fromEntries(DH_GROUPS.filter((g) => g.negotiable).map((g) => [g.shortName, g.id]));

/** Whether a group needs `allow_weak_groups` (the registry's policy). */
const isWeak = (group: number): boolean => dhGroupInfo(group)?.weak === true;

/** The compact name of a group number ("modp2048"), or `group<N>` for one the registry lacks. */
export function groupName(group: number): string {
  return dhGroupInfo(group)?.shortName ?? `group${group}`;
}

function keys(table: Readonly<Record<string, unknown>>, filter?: (v: unknown) => boolean): string {
  return Object.entries(table)
    .filter(([, v]) => (filter ? filter(v) : true))
    .map(([k]) => k)
    .join(', ');
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses one phase-1 proposal such as `aes128-sha256-modp2048`. */
export function parseIkeProposalSpec(text: string, opts: { allowWeakGroups?: boolean } = {}): Parsed<IkeProposalSpec> {
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
  if (isWeak(g) && opts.allowWeakGroups !== true) {
    return {
      ok: false,
      error: `DH group '${group}' in '${text}' is weak and refused by default (use modp2048 or stronger, or set allow_weak_groups: true)`,
    };
  }
  return { ok: true, value: { text: norm, encryption: cipher.ike, keyLength: cipher.keyLength, hash: h, group: g } };
}

/** Parses one phase-2 (ESP) proposal such as `aes128-sha256`, `aes256-sha1-modp2048`, `aes128gcm16`. */
export function parseEspProposalSpec(text: string, opts: { allowWeakGroups?: boolean } = {}): Parsed<EspProposalSpec> {
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
    const g = pfsGroup(rest[0]!, text, opts);
    if (!g.ok) return g;
    group = g.value;
  }
  return { ok: true, value: { text: norm, transform: cipher.esp, keyLength: cipher.keyLength, auth, group } };
}

export interface AhProposalSpec {
  readonly text: string;
  /** RFC 2407 §4.4.3 AH transform id. */
  readonly transform: number;
  /** RFC 2407 §4.5 Authentication Algorithm. */
  readonly auth: number;
  /** PFS group; undefined means no PFS. */
  readonly group: number | undefined;
}

/** AH transform for each integrity algorithm (RFC 2407 §4.4.3, RFC 4868). */
const AH_TRANSFORM: Readonly<Record<number, number>> = {
  [AuthAlgorithm.HMAC_MD5]: AhTransformId.AH_MD5,
  [AuthAlgorithm.HMAC_SHA]: AhTransformId.AH_SHA,
  [AuthAlgorithm.HMAC_SHA2_256]: AhTransformId.AH_SHA2_256,
  [AuthAlgorithm.HMAC_SHA2_384]: AhTransformId.AH_SHA2_384,
  [AuthAlgorithm.HMAC_SHA2_512]: AhTransformId.AH_SHA2_512,
};

function pfsGroup(gname: string, text: string, opts: { allowWeakGroups?: boolean }): Parsed<number> {
  const group = GROUPS[gname];
  if (group === undefined) return { ok: false, error: `unknown PFS group '${gname}' in '${text}' (use one of: ${keys(GROUPS)})` };
  if (isWeak(group) && opts.allowWeakGroups !== true) {
    return { ok: false, error: `PFS group '${gname}' in '${text}' is weak and refused by default (use modp2048 or stronger, or set allow_weak_groups: true)` };
  }
  return { ok: true, value: group };
}

/** Parses one phase-2 AH proposal such as `sha256` or `sha1-modp2048`. */
export function parseAhProposalSpec(text: string, opts: { allowWeakGroups?: boolean } = {}): Parsed<AhProposalSpec> {
  const norm = text.trim().toLowerCase();
  const parts = norm.split('-');
  if (parts.length > 2) return { ok: false, error: `'${text}' has too many parts (INTEG[-GROUP])` };
  const auth = ESP_INTEG[parts[0] ?? ''];
  if (auth === undefined) return { ok: false, error: `unknown AH integrity '${parts[0]}' in '${text}' (use one of: ${keys(ESP_INTEG)})` };
  let group: number | undefined;
  if (parts.length === 2) {
    const g = pfsGroup(parts[1]!, text, opts);
    if (!g.ok) return g;
    group = g.value;
  }
  return { ok: true, value: { text: norm, transform: AH_TRANSFORM[auth]!, auth, group } };
}

function orThrow<T>(what: string, r: Parsed<T>): T {
  if (!r.ok) throw new LocalProtocolError(0, `${what}: ${r.error}`);
  return r.value;
}

/**
 * "aes128-sha256-modp2048" → the engine's IkeProposal. Weak groups parse (the engine refuses
 * them at setConnection unless the connection opts in).
 */
export function parseIkeProposal(s: string, lifetimeSeconds?: number): IkeProposal {
  const p = orThrow('ike', parseIkeProposalSpec(s, { allowWeakGroups: true }));
  const out: Mutable<IkeProposal> = { encryption: p.encryption, hash: p.hash, group: p.group };
  if (p.keyLength !== undefined) out.keyLength = p.keyLength;
  if (lifetimeSeconds) out.lifetimeSeconds = lifetimeSeconds;
  return out;
}

/**
 * ESP "aes128-sha256[-modp2048]" / "aes128gcm16[-group]" or AH "sha256[-modp2048]" (the group
 * turns PFS on) → the engine's IpsecProposal. `mode` 1 tunnel (default), 2 transport.
 */
export function parseIpsecProposal(protocol: 'esp' | 'ah', s: string, opts: { mode?: number; lifetimeSeconds?: number; lifetimeKilobytes?: number } = {}): IpsecProposal {
  let spec: IpsecProtocolSpec;
  let group: number | undefined;
  if (protocol === 'esp') {
    const p = orThrow('esp', parseEspProposalSpec(s, { allowWeakGroups: true }));
    const e: Mutable<IpsecProtocolSpec> = { protocol: ProtocolId.PROTO_IPSEC_ESP, transformId: p.transform };
    if (p.keyLength !== undefined) e.keyLength = p.keyLength;
    if (p.auth !== undefined) e.authAlgorithm = p.auth;
    spec = e;
    group = p.group;
  } else {
    const p = orThrow('ah', parseAhProposalSpec(s, { allowWeakGroups: true }));
    spec = { protocol: ProtocolId.PROTO_IPSEC_AH, transformId: p.transform, authAlgorithm: p.auth };
    group = p.group;
  }
  const out: Mutable<IpsecProposal> = { protocols: [spec], mode: opts.mode ?? EncapsulationMode.TUNNEL };
  if (group) out.group = group;
  if (opts.lifetimeSeconds) out.lifetimeSeconds = opts.lifetimeSeconds;
  if (opts.lifetimeKilobytes) out.lifetimeKilobytes = opts.lifetimeKilobytes;
  return out;
}

// ---------------------------------------------------------------------------------------------
// names of negotiated SAs (status, logs): the same tables, read backwards

/** The first non-synonym name of `table` whose entry satisfies `match`. */
function nameIn<T>(table: Readonly<Record<string, T>>, match: (v: T) => boolean): string | undefined {
  for (const [name, v] of Object.entries(table)) if (!SYNONYMS.has(name) && match(v)) return name;
  return undefined;
}

const AUTH_METHOD_NAMES: Readonly<Record<string, number>> = {
  psk: AuthMethod.PRE_SHARED_KEY,
  rsa: AuthMethod.RSA_SIGNATURES,
  // remote access ("-resp": the gateway initiated)
  'xauth-psk': AuthMethod.XAUTH_INIT_PRESHARED,
  'xauth-psk-resp': AuthMethod.XAUTH_RESP_PRESHARED,
  'xauth-rsa': AuthMethod.XAUTH_INIT_RSA,
  'xauth-rsa-resp': AuthMethod.XAUTH_RESP_RSA,
  'hybrid-rsa': AuthMethod.HYBRID_INIT_RSA,
  'hybrid-rsa-resp': AuthMethod.HYBRID_RESP_RSA,
};

/**
 * A chosen phase-1 transform in the compact syntax plus its authentication method, as `status`
 * shows it: `aes128-sha256-modp2048 psk`. Numbers without a name print as `enc<N>`, `hash<N>`,
 * `group<N>`, `auth<N>`.
 */
export function ikeTransformName(t: { readonly encryption: number; readonly keyLength?: number; readonly hash: number; readonly group: number; readonly auth: number }): string {
  const enc = nameIn(CIPHERS, (c) => c.ike === t.encryption && (c.keyLength === undefined || c.keyLength === t.keyLength)) ?? `enc${t.encryption}`;
  const hash = nameIn(IKE_HASHES, (h) => h === t.hash) ?? `hash${t.hash}`;
  const auth = nameIn(AUTH_METHOD_NAMES, (a) => a === t.auth) ?? `auth${t.auth}`;
  return `${enc}-${hash}-${groupName(t.group)} ${auth}`;
}

/**
 * One protocol of a negotiated IPsec SA in the compact syntax, with the PFS group when there is
 * one (0: none): `esp aes128-sha256`, `esp aes256gcm16-ecp256`, `ah sha256-modp2048`.
 */
export function ipsecTransformName(p: { readonly protocol: number; readonly transformId: number; readonly keyLength?: number; readonly authAlgorithm?: number }, group: number): string {
  const integ = p.authAlgorithm !== undefined && p.authAlgorithm !== 0 ? (nameIn(ESP_INTEG, (a) => a === p.authAlgorithm) ?? `auth${p.authAlgorithm}`) : undefined;
  const pfs = group !== 0 ? `-${groupName(group)}` : '';
  if (p.protocol === ProtocolId.PROTO_IPSEC_AH) return `ah ${integ ?? `ah${p.transformId}`}${pfs}`;
  const enc = nameIn(CIPHERS, (c) => c.esp === p.transformId && (c.keyLength === undefined || c.keyLength === p.keyLength)) ?? `esp${p.transformId}`;
  return `esp ${enc}${integ !== undefined ? `-${integ}` : ''}${pfs}`;
}
