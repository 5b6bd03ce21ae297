/**
 * `isakmp/daemon`: the daemon as a library (what `isakmp daemon` is made of): configuration
 * loading and validation, the daemon around an endpoint, its status records, the control socket's
 * client, the dataplane adapters and the key log. Sockets, timers, the control server, updown and
 * metrics are internal. The names are listed in docs/api.md.
 * @module
 */
export { UsageError } from '../errors.js';
export {
  parseConfig,
  loadConfig,
  parseIdentity,
  parseTrafficSelector,
  parseDuration,
  ConfigError,
  CONFIG_ERROR_CODE,
  DEFAULT_CONTROL_SOCKET,
  ANY_IDENTITY,
  LOG_LEVELS,
  LOG_AREAS,
  type Config,
  type GlobalConfig,
  type ListenAddress,
  type ConnectionConfig,
  type Secret,
  type PskSecret,
  type RsaSecret,
  type ConfigIdentity,
  type TrafficSelector,
  type ConfigProblem,
  type LogLevel,
  type LogArea,
  type StartAction,
} from './config/index.js';
export { Daemon, type DaemonOptions } from './daemon.js';
export { MAX_STATUS_SAS, type StatusData, type IsakmpSaStatus, type IpsecSaStatus, type IpsecSaState } from './status.js';
export { toEngineConnection, engineConnections, type EndpointLike, type EndpointFactory, type EndpointFactoryOptions } from './engine.js';
export { realEndpointFactory } from './real-endpoint.js';
export { controlRequest, type ControlRequest, type ControlResponse, type ControlCommand } from './control.js';
export { NoneDataplane, XfrmDataplane, type Dataplane, type DataplaneRecord, type TrapSpec, type IpRunner, type CommandResult } from './dataplane.js';
export { KeyLog, ikeKeyLogLine, espKeyLogLines, IKE_TABLE_SUFFIX, ESP_TABLE_SUFFIX } from './keylog.js';
export { Logger, type LoggerOptions, type LogFields } from './log.js';
export type { CounterSnapshot } from './counters.js';
