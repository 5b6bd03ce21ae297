/**
 * Pieces the importers share: secret values (`"text"`, `0x…` hex, `0s…` base64), identities and
 * traffic selectors checked with the configuration loader's own parsers (so what is written will
 * load), addresses, and finding the private key that belongs to a certificate.
 * @module
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseIdentity, parseTrafficSelector } from '../daemon/config/index.js';

/** A secret as strongSwan and Libreswan write it: "text", 0xHEX, 0sBASE64. */
export function secretBytes(value: string): Uint8Array {
  const v = value.trim();
  if (/^0x[0-9a-fA-F]+$/.test(v) && v.length % 2 === 0) return Uint8Array.from(Buffer.from(v.slice(2), 'hex'));
  if (/^0s[A-Za-z0-9+/=]+$/.test(v)) return Uint8Array.from(Buffer.from(v.slice(2), 'base64'));
  return new TextEncoder().encode(v.replace(/^"(.*)"$/s, '$1'));
}

/** An identity the configuration accepts, or the reason it does not. */
export function checkIdentity(id: string): { ok: true; id: string } | { ok: false; reason: string } {
  if (id === '%any') return { ok: true, id };
  const r = parseIdentity(id);
  return r.ok ? { ok: true, id } : { ok: false, reason: r.error };
}

/** Identities compared as strongSwan does for secrets: `@name` and `name` are the same FQDN. */
export function sameIdentity(a: string, b: string): boolean {
  const n = (s: string): string => s.trim().replace(/^@(?!@)/, '').replace(/^"|"$/g, '').toLowerCase();
  return n(a) === n(b);
}

/**
 * A traffic selector in isakmp's syntax (`10.1.0.0/16`, `198.18.0.1/32[udp/500]`) from the
 * strongSwan / Libreswan forms (`10.1.0.0/16[udp/%any]`, `[17/500]`), or the reason it cannot be.
 */
export function trafficSelector(text: string): { ok: true; ts: string } | { ok: false; reason: string } {
  let t = text.trim();
  t = t.replace(/\[([a-z0-9]+)\/%any\]$/i, '[$1]').replace(/\[%any\]$/i, '');
  const r = parseTrafficSelector(t);
  return r.ok ? { ok: true, ts: t } : { ok: false, reason: r.error };
}

export const isAddress = (s: string): boolean => isIP(s) !== 0;

/** The first IP address of a comma- or space-separated list, and what else the list held. */
export function firstAddress(list: string): { address?: string; others: string[]; names: string[] } {
  const items = list.split(/[\s,]+/).filter(Boolean);
  const address = items.find(isAddress);
  return { ...(address !== undefined ? { address } : {}), others: items.filter((i) => i !== address), names: items.filter((i) => !isAddress(i) && !i.startsWith('%')) };
}

/** The key file among `folders` whose public key is the certificate's, if any. */
export function keyForCertificate(certFile: string, folders: readonly string[]): string | undefined {
  let certKey: Buffer;
  try {
    certKey = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      const f = join(folder, name);
      try {
        if (!statSync(f).isFile()) continue;
        const pub = createPublicKey(createPrivateKey(readFileSync(f))).export({ type: 'spki', format: 'der' });
        if (pub.equals(certKey)) return f;
      } catch {
        // not a key (or an encrypted one): try the next file
      }
    }
  }
  return undefined;
}

/** A certificate file that X509Certificate can read. */
export function isCertificate(file: string): boolean {
  try {
    new X509Certificate(readFileSync(file));
    return true;
  } catch {
    return false;
  }
}

/** Every certificate file in a folder (sorted). */
export function certificatesIn(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder).sort().map((n) => join(folder, n)).filter((f) => statSync(f).isFile() && isCertificate(f));
}
