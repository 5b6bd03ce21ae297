/**
 * Reload: which connections a new configuration changes, adds and removes (by fingerprint), the
 * settings that keep their running values until a restart, and the one-line answer.
 */
import type { Config } from './config/index.js';

import type { GlobalConfig } from './config/types.js';

export interface ReloadPlan {
  readonly unchanged: number;
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** The settings read at start only that the new file changes (their keys in the file): they keep their running values. */
  readonly restartKeys: readonly string[];
}

/**
 * The `global` settings the daemon reads at start only (sockets, the engine's caps and rates, the
 * key log, the shards), by their key in the file and their field: a reload keeps their running
 * values and its answer names those the file changed. `ha` is read at start too.
 */
const START_ONLY: readonly (readonly [string, keyof GlobalConfig])[] = [
  ['listen', 'listen'],
  ['port', 'port'],
  ['natt_port', 'nattPort'],
  ['control_socket', 'controlSocket'],
  ['dataplane', 'dataplane'],
  ['metrics', 'metrics'],
  ['keylog', 'keylog'],
  ['max_half_open', 'maxHalfOpen'],
  ['max_half_open_per_peer', 'maxHalfOpenPerPeer'],
  ['fragment_size', 'fragmentSize'],
  ['max_isakmp_sas_per_identity', 'maxIsakmpSasPerIdentity'],
  ['max_isakmp_sas_per_address', 'maxIsakmpSasPerAddress'],
  ['max_ipsec_sas_per_identity', 'maxIpsecSasPerIdentity'],
  ['max_quick_modes_per_sa', 'maxQuickModesPerSa'],
  ['message_id_budget', 'messageIdBudget'],
  ['aggressive_rate', 'aggressiveRate'],
  ['receive_buffer', 'receiveBuffer'],
  ['first_message_rate', 'firstMessageRate'],
  ['nat_keepalive', 'natKeepalive'],
  ['shards', 'shards'],
  ['shard_mode', 'shardMode'],
];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function planReload(running: Config, next: Config): ReloadPlan {
  const old = new Map(running.connections.map((c) => [c.name, c]));
  const fresh = new Map(next.connections.map((c) => [c.name, c]));
  const restartKeys = START_ONLY.filter(([, f]) => !same(running.global[f], next.global[f])).map(([k]) => k);
  if (!same(running.ha, next.ha)) restartKeys.push('ha');
  let unchanged = 0;
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [name, c] of old) {
    const n = fresh.get(name);
    if (n === undefined) removed.push(name);
    else if (n.fingerprint !== c.fingerprint) changed.push(name);
    else unchanged++;
  }
  for (const name of fresh.keys()) if (!old.has(name)) added.push(name);
  return { unchanged, changed, added, removed, restartKeys };
}

/** The new configuration as it runs: the settings read at start only keep their running values. */
export function runningConfig(running: Config, next: Config): Config {
  const global: Record<string, unknown> = { ...next.global };
  for (const [, f] of START_ONLY) global[f] = running.global[f];
  const { ha: _ignored, ...rest } = next;
  return { ...rest, global: global as unknown as GlobalConfig, ...(running.ha !== undefined ? { ha: running.ha } : {}) };
}

export function reloadMessage(path: string, p: ReloadPlan): string {
  const list = (names: readonly string[]): string => (names.length ? ` (${names.join(', ')})` : '');
  return (
    `reloaded ${path}: ${p.unchanged} unchanged, ${p.changed.length} changed${list(p.changed)}, ` +
    `${p.added.length} added${list(p.added)}, ${p.removed.length} removed${list(p.removed)}` +
    (p.restartKeys.length > 0 ? `; ${p.restartKeys.join(', ')} keep their running values until a restart` : '')
  );
}
