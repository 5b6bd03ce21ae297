/**
 * How the daemon chooses and drives its engine: one `Endpoint` in the main thread, or engine
 * shards (docs/scale.md) when `global.shards` is 2 or more or `ha` is set (replication runs in
 * the shards): child processes that own their sockets (`global.shard_mode: process`, the default
 * when the native binding is built), or worker threads behind the main thread's sockets. The
 * daemon's loop stays the same: the sharded endpoint wakes it when shard output is queued.
 */
import type { Config } from '../config/index.js';
import { loadNativeSockets } from '../dataplane/native.js';
import type { EndpointFactory, EndpointLike } from '../engine.js';
import { routingKeyOf } from '../ha/seal.js';
import type { DaemonTransport, TransportOptions } from '../udp.js';
import type { ReceivingTable } from './receiving.js';
import { ShardedEndpoint, shardedEndpointFactory } from './sharded-endpoint.js';
import { ShardSocketsTransport } from './transport.js';

export { ShardedEndpoint, shardedEndpointFactory } from './sharded-endpoint.js';

/** The engine factory for a configuration: `single` (the real endpoint) or shards. */
export function engineFactoryFor(config: Config, single: EndpointFactory): EndpointFactory {
  const n = config.global.shards;
  if (n < 2 && config.ha === undefined) return single;
  const { mode, note } = shardModeFor(config);
  return shardedEndpointFactory({
    shards: n,
    mode,
    ...(mode === 'process' ? { ownSockets: true } : {}),
    ...(note !== undefined ? { note } : {}),
    replicate: config.ha !== undefined,
    ...(config.ha !== undefined ? { routingKey: routingKeyOf(config.ha.clusterKey) } : {}),
  });
}

/**
 * Threads or processes for the shards, and why when it is not what `global.shard_mode` asked or
 * defaulted to: processes need the native binding (socket groups, socket-group.ts); HA replication
 * runs with threads (not tried across processes yet).
 */
export function shardModeFor(config: Config): { mode: 'thread' | 'process'; note?: string } {
  const asked = config.global.shardMode;
  // threads by default: on the 2-core machine measured (docs/scale.md) two shard threads gave
  // 1.41x one, two shard processes 1.18x; processes only when asked
  if (asked !== 'process') return { mode: 'thread' };
  if (config.ha !== undefined) return { mode: 'thread', note: `engine shards in threads, not processes: ha replication runs with shards in threads${asked === 'process' ? ' (global.shard_mode: process is not applied)' : ''}` };
  if (config.global.shards < 2) return { mode: 'thread' };
  const sys = loadNativeSockets();
  if (sys instanceof Error) return { mode: 'thread', note: `engine shards in threads, not processes: shard processes need the native binding for their socket groups: ${sys.message}` };
  return { mode: 'process' };
}

/** The daemon's transport when shard processes own the sockets (undefined: the daemon's own UDP sockets). */
export function shardTransport(ep: EndpointLike, opts: Omit<TransportOptions, 'onDatagram'>, receiving: () => ReceivingTable): DaemonTransport | undefined {
  if (!(ep instanceof ShardedEndpoint) || !ep.ownSockets) return undefined;
  const sys = loadNativeSockets();
  if (sys instanceof Error) throw new Error(`engine shard processes: ${sys.message}`);
  return new ShardSocketsTransport(sys, ep, opts, receiving);
}

/** After a reload: where datagrams on wildcard sockets are addressed, to shard processes with sockets. */
export function syncReceiving(ep: EndpointLike, table: ReceivingTable): void {
  if (ep instanceof ShardedEndpoint) ep.setReceivingTable(table);
}

/** Why the shards run as they do, when it was said (logged at start). */
export function shardNote(ep: EndpointLike): string | undefined {
  return ep instanceof ShardedEndpoint ? ep.note : undefined;
}

/** Hooks the daemon's loop to an endpoint that answers asynchronously (shards). */
export function attachLoop(ep: EndpointLike, pump: () => void, problem: (m: string, level?: 'warn') => void): void {
  if (ep instanceof ShardedEndpoint) {
    ep.setWakeup(pump);
    ep.setProblemSink(problem);
  }
}

/** Stops the shards of a sharded endpoint (nothing for one in the main thread). */
export async function closeEndpoint(ep: EndpointLike): Promise<void> {
  if (ep instanceof ShardedEndpoint) await ep.close();
}
