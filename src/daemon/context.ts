/**
 * What the daemon's parts share (commands, event subscribers, liveness): the engine, the clock,
 * the logs and counters, the running configuration's connections, and the driver loop's pump.
 */
import type { ConnectionConfig } from './config/index.js';
import type { EndpointLike } from './engine.js';
import type { Logger } from './log.js';
import type { Counters } from './counters.js';

export interface DaemonContext {
  readonly endpoint: EndpointLike;
  readonly logger: Logger;
  readonly counters: Counters;
  /** Milliseconds, the daemon's monotonic clock. */
  readonly now: () => number;
  /** The running configuration's connections (a reload replaces them). */
  readonly connections: () => readonly ConnectionConfig[];
  /** Drains the engine's transmits and events and re-arms its timer: after every input or command. */
  readonly pump: () => void;
}
