/**
 * `isakmp demo` (what `npm start` runs): two daemons in this process, on loopback UDP with
 * unprivileged ports and an embedded configuration, negotiate Main Mode (PSK) + Quick Mode (PFS),
 * print each established SA, delete them, and exit 0. Nothing to configure, no root needed.
 */
import { flagOption, stringOption, type ParsedArgs } from './args.js';
import { toHex } from '../crypto/bytes.js';
import { parseConfig, type Config } from '../daemon/config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { Logger } from '../daemon/log.js';
import { realEndpointFactory } from '../daemon/real-endpoint.js';
import type { EngineEvent } from '../daemon/engine.js';
import { modeName } from '../exchange/natt.js';
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
    psk: "isakmp demo 6Vq9tR2xL7mB4sKe1WzH"
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

/** The ports the demo prefers (documented); when one is busy it binds a free ephemeral port instead. */
export const DEMO_PORTS = { left: 15500, right: 15600 } as const;

/** A copy of a configuration with the IKE port replaced (0 = let the kernel pick a free port). */
function withPort(c: Config, port: number): Config {
  return { ...c, global: { ...c.global, port } };
}

/**
 * Starts a daemon on `config`'s port; if that cannot be bound (another demo, another program),
 * starts a fresh one on port 0 and reads the port the kernel gave it back. Never fails for a busy port.
 */
async function startWithFallback(config: Config, mk: (c: Config) => Daemon): Promise<{ daemon: Daemon; port: number; fellBack: boolean }> {
  let daemon = mk(config);
  let fellBack = false;
  try {
    await daemon.start();
  } catch (err) {
    if (!/^cannot bind UDP /.test((err as Error).message)) throw err;
    fellBack = true;
    daemon = mk(withPort(config, 0));
    await daemon.start();
  }
  const port = daemon.addresses().find((a) => !a.natt)?.port;
  if (port === undefined || port === 0) throw new Error('no UDP port bound');
  return { daemon, port, fellBack };
}


export async function runDaemonDemo(args: ParsedArgs, io: Output): Promise<number> {
  const values = { verbose: flagOption(args, 'verbose'), timeout: stringOption(args, 'timeout') };
  const timeoutMs = values.timeout !== undefined ? Number(values.timeout) * 1000 : 10_000;
  const t0 = performance.now();
  const lines: string[] = [];
  const spis: Record<'left' | 'right', { in: string; out: string } | undefined> = { left: undefined, right: undefined };
  let failure: string | undefined;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const onEvent = (side: 'left' | 'right') => (e: EngineEvent): void => {
    const tag = side.padEnd(5);
    if (e.type === 'phase1-established') {
      const s = e.sa;
      const line = `${tag}  ISAKMP SA established  ${s.role} ${s.exchange} mode  ${s.local.address}:${s.local.port} <-> ${s.remote.address}:${s.remote.port}  cookies ${toHex(s.initiatorCookie)}_i ${toHex(s.responderCookie)}_r`;
      io.out(line);
      lines.push(line);
    } else if (e.type === 'ipsec-sa-established') {
      const p = e.sa.protocols[0];
      const si = p ? toHex(p.inbound.spi) : '?';
      const so = p ? toHex(p.outbound.spi) : '?';
      spis[side] = { in: si, out: so };
      io.out(`${tag}  IPsec SA established   ${e.sa.role} ESP ${modeName(e.sa.mode)}  spi in ${si} out ${so}  PFS group ${e.sa.group}`);
      if (spis.left !== undefined && spis.right !== undefined) done();
    } else if (e.type === 'failed') {
      failure = `${side}: ${e.kind} negotiation failed: ${e.reason}`;
      done();
    } else if (e.type === 'deleted' && values.verbose === true) {
      io.out(`${tag}  ${e.kind} SA ${e.id} deleted by ${e.by}`);
    }
  };
  const quiet = new Logger({ level: values.verbose === true ? 'info' : 'warn', areas: {}, format: 'text', write: (l) => io.err(l.trimEnd()) });
  const mk = (side: 'left' | 'right') => (config: Config): Daemon =>
    new Daemon({ config, endpointFactory: realEndpointFactory, control: false, logger: quiet, onEvent: onEvent(side) });
  const embedded = (side: 'left' | 'right', ports: { left: number; right: number }): Config => {
    const c = parseConfig(demoConfig(side, ports), `<embedded ${side} config>`);
    // The left side is started by hand below, once both ports are known.
    return { ...c, connections: c.connections.map((x) => ({ ...x, start: 'add' as const })) };
  };
  let left: Daemon | undefined;
  let right: Daemon | undefined;
  const timer = setTimeout(() => {
    failure = `no IPsec SA within ${timeoutMs / 1000} s`;
    done();
  }, timeoutMs);
  try {
    // Right (the responder) first, then left pointed at the port right really got; then right is
    // told left's real port too, and left initiates.
    const r = await startWithFallback(embedded('right', DEMO_PORTS), mk('right'));
    right = r.daemon;
    const l = await startWithFallback(embedded('left', { left: DEMO_PORTS.left, right: r.port }), mk('left'));
    left = l.daemon;
    const ports = { left: l.port, right: r.port };
    if (ports.left !== DEMO_PORTS.left) await right.applyConfig(embedded('right', ports));
    const busy = r.fellBack || l.fellBack ? ` (${[l.fellBack ? DEMO_PORTS.left : undefined, r.fellBack ? DEMO_PORTS.right : undefined].filter((x) => x !== undefined).join(' and ')} busy: free ports instead)` : '';
    io.out(`isakmp demo: two daemons on 127.0.0.1 (UDP ${ports.left} and ${ports.right}${busy}), Main Mode PSK + Quick Mode with PFS`);
    left.initiate('to-right');
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
  await left?.stop(); // sends Deletes for its SAs
  await right?.stop();
  if (failure !== undefined) {
    io.err(`isakmp demo: failed: ${failure}`);
    return 1;
  }
  io.out(`both sides agree on the SPIs; SAs deleted, daemons stopped (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  return 0;
}
