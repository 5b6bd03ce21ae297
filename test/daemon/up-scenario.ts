/**
 * Two daemons on loopback (the real engine, logs at the default level collected as JSON lines)
 * and `isakmp up CONNECTION` on the left one: the failure-line tests' scenario. Each side's YAML
 * comes from the caller, given the side's UDP port, the other's and its control socket.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { freeUdpPorts, tempDir } from './helpers.js';

export type Line = Record<string, unknown>;

/** What a side's configuration is built from. */
export interface SidePorts {
  readonly port: number;
  readonly peer: number;
  readonly sock: string;
}

/** The `global:` section of a side on loopback (its port, no NAT-T port, its control socket). */
export function loopbackGlobal(o: SidePorts): string {
  return `global:
  listen: [127.0.0.1]
  port: ${o.port}
  natt_port: 0
  control_socket: ${o.sock}
`;
}

export interface UpResult {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly left: Line[];
  readonly right: Line[];
}

export async function upScenario(o: { prefix: string; connection: string; upTimeoutS?: number; left: (p: SidePorts) => string; right: (p: SidePorts) => string }): Promise<UpResult> {
  const dir = tempDir(o.prefix);
  const [lp, rp] = await freeUdpPorts(2);
  const logs: Record<'left' | 'right', Line[]> = { left: [], right: [] };
  const mk = (side: 'left' | 'right', text: string): Daemon => {
    const file = join(dir, `${side}.yaml`);
    writeFileSync(file, text);
    // the default level: info
    return new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, logger: new Logger({ level: 'info', areas: {}, format: 'json', write: (l) => logs[side].push(JSON.parse(l) as Line) }) });
  };
  const r = mk('right', o.right({ port: rp!, peer: lp!, sock: join(dir, 'r.sock') }));
  const l = mk('left', o.left({ port: lp!, peer: rp!, sock: join(dir, 'l.sock') }));
  await r.start();
  await l.start();
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await runCli(['up', o.connection, '--socket', join(dir, 'l.sock'), '--timeout', String(o.upTimeoutS ?? 10)], { out: (s) => out.push(s), err: (s) => err.push(s) });
    await new Promise((res) => setTimeout(res, 100));
    return { code, out, err, left: logs.left, right: logs.right };
  } finally {
    await l.stop();
    await r.stop();
  }
}
