/**
 * The daemon as a library: configuration loading/validation, the driver loop around an endpoint,
 * the control socket client, dataplane adapters, key log formats. (`isakmp daemon` uses these.)
 * @module
 */
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
  type Config,
  type GlobalConfig,
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
export { toEngineConnection, type EndpointLike, type EndpointFactory, type EndpointFactoryOptions } from './engine.js';
export { realEndpointFactory } from './real-endpoint.js';
export { controlRequest, ControlServer, parseRequest, type ControlRequest, type ControlResponse, type ControlCommand } from './control.js';
export { NoneDataplane, XfrmDataplane, spawnIp, parseXfrmStateStats, type XfrmStateStats, type Dataplane, type DataplaneRecord, type IpRunner, type TrapSpec } from './dataplane.js';
export { KeyLog, ikeKeyLogLine, espKeyLogLines, IKE_TABLE_SUFFIX, ESP_TABLE_SUFFIX } from './keylog.js';
export { Logger, type LoggerOptions } from './log.js';
export { Counters, prometheusText, dropLabel, type CounterSnapshot } from './metrics.js';
export { UdpTransport, classifyNattDatagram, addNonEspMarker } from './udp.js';
export { Updown, updownEnv } from './updown.js';
