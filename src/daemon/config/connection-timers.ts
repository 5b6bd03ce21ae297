/**
 * A connection's clocks: RFC 3706 Dead Peer Detection (delay, timeout, action), and the lifetimes
 * of its ISAKMP and IPsec SAs with the margins and fuzz of their rekeying.
 */
import type { ConnectionConfig } from './types.js';
import { duration, integer, oneOf, type Section } from './yaml.js';

export type Dpd = Pick<ConnectionConfig, 'dpdDelay' | 'dpdTimeout' | 'dpdAction'>;

/** `dpd_delay` (30 s; 0 = off), `dpd_timeout` (150 s, longer than the delay), `dpd_action`. */
export function parseDpd(s: Section): Dpd {
  const { ctx, path } = s;
  const dpdDelay = s.opt('dpd_delay', (n, p) => duration(ctx, n, p), 30);
  const dpdTimeout = s.opt('dpd_timeout', (n, p) => duration(ctx, n, p), 150);
  const dpdAction = s.opt('dpd_action', (n, p) => oneOf(ctx, n, p, ['clear', 'restart'] as const), 'clear');
  if (dpdDelay > 0 && dpdTimeout <= dpdDelay) ctx.error(s.at('dpd_timeout'), `${path}.dpd_timeout`, `must be longer than dpd_delay (${dpdDelay}s)`);
  return { dpdDelay, dpdTimeout, dpdAction };
}

export type Lifetimes = Pick<ConnectionConfig, 'ikeLifetime' | 'ikeRekeyMargin' | 'lifetime' | 'lifetimeKb' | 'rekeyMargin' | 'rekeyFuzz'>;

/** Lifetimes and rekey margins; a margin must be shorter than its lifetime. */
export function parseLifetimes(s: Section): Lifetimes {
  const { ctx, path } = s;
  const ikeLifetime = s.opt('ike_lifetime', (n, p) => duration(ctx, n, p), 4 * 3600);
  const ikeRekeyMargin = s.opt('ike_rekey_margin', (n, p) => duration(ctx, n, p), 9 * 60);
  const lifetime = s.opt('lifetime', (n, p) => duration(ctx, n, p), 3600);
  const rekeyMargin = s.opt('rekey_margin', (n, p) => duration(ctx, n, p), 9 * 60);
  const lifetimeKb = s.opt('lifetime_kb', (n, p) => integer(ctx, n, p, 1, 2 ** 32 - 1), undefined as number | undefined);
  const rekeyFuzz = s.opt('rekey_fuzz', (n, p) => integer(ctx, n, p, 0, 100), 100);
  if (ikeRekeyMargin >= ikeLifetime) ctx.error(s.at('ike_rekey_margin'), `${path}.ike_rekey_margin`, `must be shorter than ike_lifetime (${ikeLifetime}s)`);
  if (rekeyMargin >= lifetime) ctx.error(s.at('rekey_margin'), `${path}.rekey_margin`, `must be shorter than lifetime (${lifetime}s)`);
  if (ikeLifetime < 60) ctx.error(s.at('ike_lifetime'), `${path}.ike_lifetime`, 'must be at least 60s');
  if (lifetime < 30) ctx.error(s.at('lifetime'), `${path}.lifetime`, 'must be at least 30s');
  return { ikeLifetime, ikeRekeyMargin, lifetime, lifetimeKb, rekeyMargin, rekeyFuzz };
}
