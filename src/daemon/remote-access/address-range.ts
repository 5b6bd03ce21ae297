/**
 * Address pool specifications as the configuration writes them: a subnet (`10.10.0.0/24`,
 * `fd00:10::/120`) or an inclusive range (`10.10.0.10-10.10.0.200`), parsed into a range of
 * integers (bigint, so that IPv4 and IPv6 share one code path) with the text form back.
 */
import { ipv4ToText, ipv6ToText, parseIpv4, parseIpv6 } from '../../codec/identification.js';

export interface AddressRange {
  readonly family: 4 | 6;
  /** First and last usable address, inclusive. */
  readonly first: bigint;
  readonly last: bigint;
  /** The spec as written (for messages). */
  readonly spec: string;
}

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** An address as text → family and integer; undefined when it is not an IPv4 or IPv6 address. */
export function addressToBig(text: string): { family: 4 | 6; value: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: bytesToBig(v4) };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  if (v6 !== undefined) return { family: 6, value: bytesToBig(v6) };
  return undefined;
}

/** The canonical text of an address (dotted quad, RFC 5952 for IPv6). */
export function bigToAddress(family: 4 | 6, value: bigint): string {
  const n = family === 4 ? 4 : 16;
  const b = new Uint8Array(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return family === 4 ? ipv4ToText(b) : ipv6ToText(b);
}

/** Canonical text of an address given in any accepted form; undefined when it is not one. */
export function canonicalAddress(text: string): string | undefined {
  const a = addressToBig(text);
  return a === undefined ? undefined : bigToAddress(a.family, a.value);
}

/**
 * One spec → its usable addresses, or an error text in the operator's words. In an IPv4 subnet of
 * /30 or wider the network and broadcast addresses are left out (/31 and /32 keep both, RFC 3021);
 * in an IPv6 subnet of /127 or wider the first address (the subnet-router anycast) is left out.
 */
export function parseRangeSpec(spec: string): { ok: true; range: AddressRange } | { ok: false; error: string } {
  const s = spec.trim();
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const base = addressToBig(s.slice(0, slash));
    const prefixText = s.slice(slash + 1);
    if (base === undefined) return { ok: false, error: `'${spec}': '${s.slice(0, slash)}' is not an IPv4 or IPv6 address` };
    const bits = base.family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return { ok: false, error: `'${spec}': the prefix length must be 0..${bits}` };
    const prefix = Number(prefixText);
    const hostBits = BigInt(bits - prefix);
    const hostMask = (1n << hostBits) - 1n;
    if ((base.value & hostMask) !== 0n) {
      return { ok: false, error: `'${spec}': host bits are set (the subnet is ${bigToAddress(base.family, base.value & ~hostMask)}/${prefix})` };
    }
    let first = base.value;
    let last = base.value | hostMask;
    if (base.family === 4 && prefix <= 30) {
      first += 1n; // network address
      last -= 1n; // broadcast address
    } else if (base.family === 6 && prefix <= 127) {
      first += 1n; // subnet-router anycast (RFC 4291 §2.6.1)
    }
    return { ok: true, range: { family: base.family, first, last, spec: s } };
  }
  const dash = s.indexOf('-');
  if (dash >= 0) {
    const a = addressToBig(s.slice(0, dash).trim());
    const b = addressToBig(s.slice(dash + 1).trim());
    if (a === undefined || b === undefined) return { ok: false, error: `'${spec}': a range is two addresses, like 10.10.0.10-10.10.0.200` };
    if (a.family !== b.family) return { ok: false, error: `'${spec}': both ends of a range must be IPv4 or both IPv6` };
    if (a.value > b.value) return { ok: false, error: `'${spec}': the first address is after the last` };
    return { ok: true, range: { family: a.family, first: a.value, last: b.value, spec: s } };
  }
  const one = addressToBig(s);
  if (one !== undefined) return { ok: true, range: { family: one.family, first: one.value, last: one.value, spec: s } };
  return { ok: false, error: `'${spec}' is not a subnet (10.10.0.0/24) or a range (10.10.0.10-10.10.0.200)` };
}
