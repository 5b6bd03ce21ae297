/**
 * What an importer produces: isakmp connections and secrets in the terms of docs/config.md, each
 * with the notes that explain what could not be carried over and why. yaml-out.ts writes it as
 * the configuration file; the importers (swanctl.ts, ipsec-conf.ts, cisco.ts) fill it.
 * @module
 */

export type ImportedSecret =
  | { readonly kind: 'psk'; readonly psk: Uint8Array; readonly from: string }
  | { readonly kind: 'rsa'; readonly cert: string; readonly key: string; readonly ca: readonly string[]; readonly from: string };

export interface ImportedConnection {
  /** A valid isakmp connection name. */
  readonly name: string;
  /** Where it came from (`swanctl connection mm-psk, child pfs`). */
  readonly origin: string;
  readonly mode: 'main' | 'aggressive';
  readonly auth: 'psk' | 'rsa';
  readonly secret: ImportedSecret;
  readonly local: { readonly address?: string; readonly id?: string };
  readonly remote: { readonly address: string; readonly port?: number; readonly id?: string };
  readonly ike: readonly string[];
  /** ESP proposals; empty when the source protects with AH (`ah`). */
  readonly esp: readonly string[];
  /** AH proposals (`ah:`, instead of ESP), INTEG[-GROUP]. */
  readonly ah?: readonly string[];
  /** 'none' when the source says no PFS and esp carries no group. */
  readonly pfs?: string;
  readonly ipsecMode?: 'tunnel' | 'transport';
  /** Traffic selectors, one or several per side (one IPsec SA per local × remote pair). */
  readonly localTs?: readonly string[];
  readonly remoteTs?: readonly string[];
  /** Seconds. */
  readonly ikeLifetime?: number;
  readonly ikeRekeyMargin?: number;
  readonly lifetime?: number;
  readonly rekeyMargin?: number;
  readonly lifetimeKb?: number;
  readonly rekeyFuzz?: number;
  readonly start?: 'add' | 'start' | 'on-demand';
  readonly allowWeakGroups?: boolean;
  readonly allowAggressivePskResponder?: boolean;
  readonly natTraversal?: boolean;
  readonly encap?: boolean;
  readonly dpdDelay?: number;
  readonly dpdTimeout?: number;
  readonly dpdAction?: 'clear' | 'restart';
  /** Comments for this connection: settings not carried over (and why), choices made. */
  readonly notes: readonly string[];
}

export interface ImportResult {
  /** `swanctl.conf`, `ipsec.conf (strongSwan)`, `Cisco IOS` … */
  readonly format: string;
  readonly source: string;
  /** Settings of the global section, as YAML key → value text. */
  readonly global: readonly { readonly key: string; readonly value: string; readonly note?: string }[];
  readonly connections: readonly ImportedConnection[];
  /** Connections not imported, with the reason. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  /** Notes about the whole file (settings outside connections that were not carried). */
  readonly notes: readonly string[];
}

/** A connection name that the configuration accepts: 1-64 of [A-Za-z0-9_.-], starting alphanumeric. */
export function connectionName(raw: string, taken: ReadonlySet<string>): string {
  let n = raw.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 60);
  if (n === '') n = 'conn';
  let out = n;
  for (let i = 2; taken.has(out); i++) out = `${n}-${i}`;
  return out;
}

/** Parses durations as the three sources write them: 3600, 3600s, 60m, 8h, 1d. Undefined when not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]|secs?|mins?|hours?|days?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase()[0];
  const f = unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1;
  return Math.round(n * f);
}

/** A duration as the configuration writes it: 8h, 30m, 90s. */
export function durationText(seconds: number): string {
  if (seconds > 0 && seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * isakmp's DPD settings for a source's: none configured is `dpd_delay: 0` (the source sends no
 * R-U-THERE; isakmp still answers them); a timeout not longer than the delay is lengthened.
 */
export function dpdSettings(delay: number | undefined, timeout: number | undefined, notes: string[]): { dpdDelay: number; dpdTimeout?: number } {
  if (delay === undefined || delay === 0) return { dpdDelay: 0 };
  if (timeout !== undefined && timeout > delay) return { dpdDelay: delay, dpdTimeout: timeout };
  if (timeout !== undefined) notes.push(`DPD timeout ${timeout}s is not longer than the delay ${delay}s: isakmp needs it longer, ${delay * 5}s used`);
  return timeout === undefined && delay < 150 ? { dpdDelay: delay } : { dpdDelay: delay, dpdTimeout: delay * 5 };
}
