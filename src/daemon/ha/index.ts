/**
 * Failover for the daemon (docs/ha.md): the HA node of a configuration with an `ha` section,
 * wired to the daemon's engine shards, logger and dataplane.
 */
import { CONFIG_ERROR_CODE, type Config } from '../config/index.js';
import type { EndpointLike, IpsecSaInfo } from '../engine.js';
import type { Logger } from '../log.js';
import { ShardedEndpoint } from '../shards/sharded-endpoint.js';
import { UsageError } from '../../errors.js';
import { HaNode } from './node.js';

export { HaNode, type HaState } from './node.js';

export interface HaWiring {
  readonly logger: Logger;
  readonly installTakenOver: (sa: IpsecSaInfo) => void;
  readonly onActive: () => void;
  readonly onLost: (why: string) => void;
}

/** The HA node of `config`, or undefined without an `ha` section. */
export function haFor(config: Config, endpoint: EndpointLike, w: HaWiring): HaNode | undefined {
  if (config.ha === undefined) return undefined;
  if (!(endpoint instanceof ShardedEndpoint)) throw new UsageError(CONFIG_ERROR_CODE, `${config.file}: ha: failover runs in the engine shards, which this daemon was not started with (use isakmp daemon)`);
  return new HaNode(config.ha, { endpoint, ...w });
}
