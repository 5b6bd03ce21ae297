/**
 * Which of our addresses a datagram reached, when it arrived on a wildcard socket (0.0.0.0, ::):
 * the local address of the connections with its sender as their remote address, else the one
 * local address of the `%any` connections of its family. A table of the configuration's
 * (remote, local) pairs, so that a shard process, which has no configuration, answers the same
 * way as the daemon (engine.ts `receivingAddress` reads it from the connections).
 */
import { isIP } from 'node:net';
import type { Address } from '../engine.js';

/** The connections' [remote address or %any, local address] pairs (those with a local address). */
export type ReceivingTable = readonly (readonly [remote: string, local: string])[];

export function receivingAddressIn(table: ReceivingTable, local: Address, remote: string): Address {
  if (local.address !== '0.0.0.0' && local.address !== '::') return local;
  const exact = new Set(table.filter(([r]) => r === remote).map(([, l]) => l));
  if (exact.size === 1) return { address: [...exact][0]!, port: local.port };
  if (exact.size === 0) {
    const fam = isIP(remote);
    const any = new Set(table.filter(([r, l]) => r === '%any' && isIP(l) === fam).map(([, l]) => l));
    if (any.size === 1) return { address: [...any][0]!, port: local.port };
  }
  return local;
}
