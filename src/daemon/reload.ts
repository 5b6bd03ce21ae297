/**
 * Reload: which connections a new configuration changes, adds and removes (by fingerprint), the
 * settings that keep their running values until a restart, and the one-line answer.
 */
import type { Config } from './config/index.js';

export interface ReloadPlan {
  readonly unchanged: number;
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** listen/port/control_socket/dataplane/metrics differ: they keep their running values. */
  readonly restartNeeded: boolean;
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const old = new Map(running.connections.map((c) => [c.name, c]));
  const fresh = new Map(next.connections.map((c) => [c.name, c]));
  const g0 = running.global;
  const g1 = next.global;
  const restartNeeded =
    JSON.stringify([g0.listen, g0.port, g0.nattPort, g0.controlSocket, g0.dataplane, g0.metrics]) !==
    JSON.stringify([g1.listen, g1.port, g1.nattPort, g1.controlSocket, g1.dataplane, g1.metrics]);
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
  return { unchanged, changed, added, removed, restartNeeded };
}

/** The new configuration as it runs: the settings that need a restart keep their running values. */
export function runningConfig(running: Config, next: Config): Config {
  const g0 = running.global;
  return { ...next, global: { ...next.global, listen: g0.listen, port: g0.port, nattPort: g0.nattPort, controlSocket: g0.controlSocket, dataplane: g0.dataplane, metrics: g0.metrics } };
}

export function reloadMessage(path: string, p: ReloadPlan): string {
  const list = (names: readonly string[]): string => (names.length ? ` (${names.join(', ')})` : '');
  return (
    `reloaded ${path}: ${p.unchanged} unchanged, ${p.changed.length} changed${list(p.changed)}, ` +
    `${p.added.length} added${list(p.added)}, ${p.removed.length} removed${list(p.removed)}` +
    (p.restartNeeded ? '; listen/port/control_socket/dataplane/metrics changes need a restart' : '')
  );
}
