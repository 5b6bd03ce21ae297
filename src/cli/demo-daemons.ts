/**
 * `isakmp demo` (what `npm start` runs): two daemons in this process, on loopback UDP with
 * unprivileged ports and an embedded configuration, negotiate Main Mode (PSK) + Quick Mode (PFS),
 * print each established SA, delete them, and exit 0. Nothing to configure, no root needed.
 */
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { parseConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { Logger } from '../daemon/log.js';
import { realEndpointFactory } from '../daemon/real-endpoint.js';
import type { EngineEvent } from '../daemon/engine.js';
import type { Output } from './decode.js';

/** The embedded configuration of one side (YAML, the same format as `isakmp daemon --config`). */
export function demoConfig(side: 'left' | 'right', ports: { left: number; right: number }, proposal = 'aes128-sha256-modp2048'): string {
  const me = side === 'left' ? ports.left : ports.right;
  const peer = side === 'left' ? ports.right : ports.left;
  const other = side === 'left' ? 'right' : 'left';
  return `global:
  listen: [127.0.0.1]
  port: ${me}
  natt_port: 0
secrets:
  demo:
    psk: isakmp-demo-shared-secret
connections:
  to-${other}:
    mode: main
    auth: psk
    secret: demo
    local:  { address: 127.0.0.1, id: "@${side}.demo" }
    remote: { address: 127.0.0.1, port: ${peer}, id: "@${other}.demo" }
    ike: ${proposal}
    esp: aes128-sha256
    pfs: modp2048
    start: ${side === 'left' ? 'start' : 'add'}
`;
}

async function portsFree(ports: number[]): Promise<boolean> {
  for (const p of ports) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

async function pickPorts(): Promise<{ left: number; right: number }> {
  if (await portsFree([15500, 15600])) return { left: 15500, right: 15600 };
  const any = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<number>((resolve) => {
          const s = createSocket('udp4');
          s.bind(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => resolve(p));
          });
        }),
    ),
  );
  return { left: any[0] as number, right: any[1] as number };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export async function runDaemonDemo(argv: string[], io: Output): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: { verbose: { type: 'boolean', short: 'v' }, timeout: { type: 'string' } } }).values;
  } catch (err) {
    io.err(`isakmp demo: ${(err as Error).message}`);
    return 2;
  }
  const timeoutMs = values.timeout !== undefined ? Number(values.timeout) * 1000 : 10_000;
  const t0 = performance.now();
  const ports = await pickPorts();
  io.out(`isakmp demo: two daemons on 127.0.0.1 (UDP ${ports.left} and ${ports.right}), Main Mode PSK + Quick Mode with PFS`);
  const lines: string[] = [];
  const spis: Record<'left' | 'right', { in: string; out: string } | undefined> = { left: undefined, right: undefined };
  let failure: string | undefined;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const onEvent = (side: 'left' | 'right') => (e: EngineEvent): void => {
    const tag = side.padEnd(5);
    if (e.type === 'phase1-established') {
      const s = e.sa;
      const line = `${tag}  ISAKMP SA established  ${s.role} ${s.exchange} mode  ${s.local.address}:${s.local.port} <-> ${s.remote.address}:${s.remote.port}  cookies ${hex(s.initiatorCookie)}_i ${hex(s.responderCookie)}_r`;
      io.out(line);
      lines.push(line);
    } else if (e.type === 'ipsec-sa-established') {
      const p = e.sa.protocols[0];
      const si = p ? hex(p.inbound.spi) : '?';
      const so = p ? hex(p.outbound.spi) : '?';
      spis[side] = { in: si, out: so };
      io.out(`${tag}  IPsec SA established   ${e.sa.role} ESP ${e.sa.mode === 2 ? 'transport' : 'tunnel'}  spi in ${si} out ${so}  PFS group ${e.sa.group}`);
      if (spis.left !== undefined && spis.right !== undefined) done();
    } else if (e.type === 'failed') {
      failure = `${side}: ${e.kind} negotiation failed: ${e.reason}`;
      done();
    } else if (e.type === 'deleted' && values.verbose === true) {
      io.out(`${tag}  ${e.kind} SA ${e.id} deleted by ${e.by}`);
    }
  };
  const quiet = new Logger({ level: values.verbose === true ? 'info' : 'warn', areas: {}, format: 'text', write: (l) => io.err(l.trimEnd()) });
  const mk = (side: 'left' | 'right'): Daemon =>
    new Daemon({
      config: parseConfig(demoConfig(side, ports), `<embedded ${side} config>`),
      endpointFactory: realEndpointFactory,
      control: false,
      logger: quiet,
      onEvent: onEvent(side),
    });
  const right = mk('right');
  const left = mk('left');
  const timer = setTimeout(() => {
    failure = `no IPsec SA within ${timeoutMs / 1000} s`;
    done();
  }, timeoutMs);
  try {
    await right.start();
    await left.start();
    await finished;
  } catch (err) {
    failure = (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
  if (failure === undefined) {
    const l = spis.left as { in: string; out: string };
    const r = spis.right as { in: string; out: string };
    if (l.in !== r.out || l.out !== r.in) failure = `SPIs disagree: left in ${l.in} out ${l.out}, right in ${r.in} out ${r.out}`;
  }
  await left.stop(); // sends Deletes for its SAs
  await right.stop();
  if (failure !== undefined) {
    io.err(`isakmp demo: failed: ${failure}`);
    return 1;
  }
  io.out(`both sides agree on the SPIs; SAs deleted, daemons stopped (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  return 0;
}
