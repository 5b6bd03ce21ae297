/**
 * How the daemon chooses and drives its engine: one `Endpoint` in the main thread, or engine
 * shards in worker threads (docs/scale.md) when `global.shards` is 2 or more or `ha` is set
 * (replication runs in the shards). The daemon's loop stays the same: the sharded endpoint wakes
 * it when shard output is queued.
 */
import type { Config } from '../config/index.js';
import type { EndpointFactory, EndpointLike } from '../engine.js';
import { routingKeyOf } from '../ha/seal.js';
import { ShardedEndpoint, shardedEndpointFactory } from './sharded-endpoint.js';

export { ShardedEndpoint, shardedEndpointFactory } from './sharded-endpoint.js';

/** The engine factory for a configuration: `single` (the real endpoint) or shards. */
export function engineFactoryFor(config: Config, single: EndpointFactory): EndpointFactory {
  const n = config.global.shards;
  if (n < 2 && config.ha === undefined) return single;
  return shardedEndpointFactory({
    shards: n,
    replicate: config.ha !== undefined,
    ...(config.ha !== undefined ? { routingKey: routingKeyOf(config.ha.clusterKey) } : {}),
  });
}

/** Hooks the daemon's loop to an endpoint that answers asynchronously (shards). */
export function attachLoop(ep: EndpointLike, pump: () => void, problem: (m: string) => void): void {
  if (ep instanceof ShardedEndpoint) {
    ep.setWakeup(pump);
    ep.setProblemSink(problem);
  }
}

/** Stops the shards of a sharded endpoint (nothing for one in the main thread). */
export async function closeEndpoint(ep: EndpointLike): Promise<void> {
  if (ep instanceof ShardedEndpoint) await ep.close();
}
