/**
 * Remote-access daemons over loopback for the daemon tests: the YAML of a gateway and of a client
 * (one shape; what a test varies comes in as the `xauth:` value and extra connection keys) and a
 * daemon maker that writes the file, keeps every log line tagged with the daemon's name, and
 * feeds an EventLog.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/daemon/config/index.js';
import { Daemon } from '../../../src/daemon/daemon.js';
import { Logger } from '../../../src/daemon/log.js';
import { realEndpointFactory } from '../../../src/daemon/real-endpoint.js';
import type { EndpointFactory } from '../../../src/daemon/engine.js';
import type { EventLog } from '../helpers.js';

const GROUP_PSK = 'group secret of the loopback gateway';

function head(port: number, sock: string, address = '127.0.0.1'): string {
  return `global:
  listen: ["${address}"]
  port: ${port}
  natt_port: 0
  control_socket: ${sock}
secrets:
  group: { psk: "${GROUP_PSK}", allow_weak_psk: true }
connections:
`;
}

/** Connection `rw` for any peer at 127.0.0.1:`port`; `xauth` is the value of its `xauth:` key, `extra` more keys (4-space indented lines). */
export function gatewayYaml(o: { port: number; sock: string; xauth: string; extra?: string }): string {
  return `${head(o.port, o.sock)}  rw:
    secret: group
    local:  { address: 127.0.0.1, id: "@gw.test" }
    remote: { address: "%any", id: "%any" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
    xauth: ${o.xauth}
${o.extra ?? ''}`;
}

/** Connection `office` to the gateway at 127.0.0.1:`gateway`, with identity @`id`.test, from `address` (127.0.0.1 unless given). */
export function clientYaml(o: { address?: string; port: number; gateway: number; sock: string; id: string; xauth: string; extra?: string }): string {
  const address = o.address ?? '127.0.0.1';
  return `${head(o.port, o.sock, address)}  office:
    secret: group
    local:  { address: ${address}, id: "@${o.id}.test" }
    remote: { address: 127.0.0.1, port: ${o.gateway}, id: "@gw.test" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
    xauth: ${o.xauth}
${o.extra ?? ''}`;
}

/**
 * A daemon maker for one test folder: its config file written there, its log lines pushed to
 * `lines` as "NAME: line"; the engine in the main thread unless a factory is given (shards).
 */
export function daemonMaker(dir: string, lines: string[], opts: { keylog?: boolean } = {}): (yaml: string, name: string, events: EventLog, factory?: EndpointFactory) => Daemon {
  return (yaml, name, events, factory = realEndpointFactory) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, yaml, { mode: 0o600 });
    return new Daemon({
      config: parseConfig(yaml, file),
      endpointFactory: factory,
      ...(opts.keylog ? { keylog: join(dir, `${name}.keys`) } : {}),
      logger: new Logger({ level: 'debug', areas: {}, format: 'text', write: (l) => lines.push(`${name}: ${l}`) }),
      onEvent: events.push,
    });
  };
}
