/**
 * strongSwan-style proposal strings for configuration files, e.g. IKE "aes128-sha256-modp2048",
 * ESP "aes256-sha1-ecp256" (the group is the PFS group), AH "sha256".
 */
import { LocalProtocolError } from '../errors.js';
import type { IkeProposal, IpsecProposal } from './types.js';

const CIPHERS: Record<string, { ike: number; esp: number; bits?: number }> = {
  aes128: { ike: 7, esp: 12, bits: 128 },
  aes192: { ike: 7, esp: 12, bits: 192 },
  aes256: { ike: 7, esp: 12, bits: 256 },
  aes: { ike: 7, esp: 12, bits: 128 },
  '3des': { ike: 5, esp: 3 },
};

/** Hash token → [IKE hash id (RFC 2409 App. A / RFC 4868), IPsec auth algorithm (RFC 2407 §4.5)]. */
const HASHES: Record<string, [number, number]> = {
  md5: [1, 1],
  sha1: [2, 2],
  sha: [2, 2],
  sha256: [4, 5],
  sha2_256: [4, 5],
  sha384: [5, 6],
  sha2_384: [5, 6],
  sha512: [6, 7],
  sha2_512: [6, 7],
};

const GROUPS: Record<string, number> = {
  modp768: 1,
  modp1024: 2,
  modp1536: 5,
  modp2048: 14,
  modp3072: 15,
  modp4096: 16,
  modp6144: 17,
  modp8192: 18,
  ecp256: 19,
  ecp384: 20,
  ecp521: 21,
  modp1024s160: 22,
  modp2048s224: 23,
  modp2048s256: 24,
};

function bad(what: string, s: string): never {
  throw new LocalProtocolError(0, `${what}: cannot parse proposal "${s}"`);
}

/** "aes128-sha256-modp2048" → IkeProposal. */
export function parseIkeProposal(s: string, lifetimeSeconds?: number): IkeProposal {
  const [c, h, g, ...rest] = s.toLowerCase().split('-');
  const cipher = CIPHERS[c ?? ''];
  const hash = HASHES[h ?? ''];
  const group = GROUPS[g ?? ''];
  if (!cipher || !hash || group === undefined || rest.length) bad('ike', s);
  return {
    encryption: cipher.ike,
    ...(cipher.bits ? { keyLength: cipher.bits } : {}),
    hash: hash[0],
    group,
    ...(lifetimeSeconds ? { lifetimeSeconds } : {}),
  };
}

/**
 * ESP "aes128-sha256[-modp2048]" or AH "sha256[-modp2048]" (the group turns PFS on) → IpsecProposal.
 * `mode` 1 tunnel (default), 2 transport.
 */
export function parseIpsecProposal(protocol: 'esp' | 'ah', s: string, opts: { mode?: number; lifetimeSeconds?: number; lifetimeKilobytes?: number } = {}): IpsecProposal {
  const parts = s.toLowerCase().split('-');
  let group = 0;
  const last = parts[parts.length - 1] ?? '';
  if (GROUPS[last] !== undefined) {
    group = GROUPS[last]!;
    parts.pop();
  }
  let spec;
  if (protocol === 'esp') {
    if (parts.length !== 2) bad('esp', s);
    const cipher = CIPHERS[parts[0]!];
    const hash = HASHES[parts[1]!];
    if (!cipher || !hash) bad('esp', s);
    spec = { protocol: 3, transformId: cipher.esp, ...(cipher.bits ? { keyLength: cipher.bits } : {}), authAlgorithm: hash[1] };
  } else {
    if (parts.length !== 1) bad('ah', s);
    const hash = HASHES[parts[0]!];
    if (!hash) bad('ah', s);
    const ahId: Record<number, number> = { 1: 2, 2: 3, 5: 5, 6: 6, 7: 7 };
    spec = { protocol: 2, transformId: ahId[hash[1]]!, authAlgorithm: hash[1] };
  }
  return {
    protocols: [spec],
    mode: opts.mode ?? 1,
    ...(group ? { group } : {}),
    ...(opts.lifetimeSeconds ? { lifetimeSeconds: opts.lifetimeSeconds } : {}),
    ...(opts.lifetimeKilobytes ? { lifetimeKilobytes: opts.lifetimeKilobytes } : {}),
  };
}
