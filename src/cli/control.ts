/**
 * `isakmp up NAME`, `isakmp down NAME`, `isakmp status [--json]`, `isakmp reload`: clients of the
 * daemon's control socket. Exit 0 on success; otherwise 1 with one line saying why (2 for usage).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { controlRequest, type ControlCommand, type ControlResponse } from '../daemon/control.js';
import { DEFAULT_CONTROL_SOCKET, loadConfig } from '../daemon/config/index.js';
import type { StatusData } from '../daemon/status.js';
import { UsageError } from '../errors.js';
import { escapeJsonText, escapeText } from '../text-escape.js';
import type { Output } from './decode.js';

export const DEFAULT_CONFIG = '/etc/isakmp/isakmp.yaml';

/** The socket path: --socket, else the config file's control_socket (--config or the default file), else the default. */
function socketPath(values: { socket?: string | undefined; config?: string | undefined }): string {
  if (values.socket !== undefined) return values.socket;
  const file = values.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  if (file !== undefined) return loadConfig(file).global.controlSocket;
  return DEFAULT_CONTROL_SOCKET;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Human-readable status. */
export function formatStatus(d: StatusData): string[] {
  const out: string[] = [];
  out.push(`listening: ${d.listening.map((l) => `${l.address}:${l.port}${l.natt ? ' (nat-t)' : ''}`).join(', ')}; dataplane: ${d.dataplane}`);
  out.push(`connections (${d.connections.length}):`);
  for (const c of d.connections) out.push(`  ${pad(c.name, 16)} ${c.exchange} ${c.auth} -> ${c.remote}  start=${c.start}`);
  out.push(`ISAKMP SAs (${d.isakmp.length}${d.negotiating.responder ? `, plus ${d.negotiating.responder} half-open as responder` : ''}${d.truncated ? ', list truncated' : ''}):`);
  for (const s of d.isakmp) {
    out.push(`  ${pad(s.connection, 16)} ${s.state.toUpperCase()} ${s.role} ${s.exchange} ${s.local} <-> ${s.remote}`);
    out.push(`    cookies ${s.initiatorCookie}_i ${s.responderCookie}_r`);
    out.push(`    local id ${s.localId ?? '-'}  peer id ${s.peerId ?? '-'}`);
    if (s.algorithms) out.push(`    ${s.algorithms}${s.lifetimeLeft !== undefined ? `, expires in ${s.lifetimeLeft}s` : ''}`);
    if (s.nat) out.push(`    NAT: ${s.nat.local ? 'in front of us' : 'not in front of us'}, ${s.nat.remote ? 'in front of the peer' : 'not in front of the peer'}${s.nat.encapsulation ? '; UDP-encapsulated on the NAT-T port' : ''}`);
  }
  out.push(`IPsec SAs (${d.ipsec.length}):`);
  for (const s of d.ipsec) {
    out.push(`  ${pad(s.connection, 16)} ${(s.state ?? 'established').toUpperCase()} ${s.role} ${s.mode}${s.udpEncapsulation ? '/udp-encap' : ''} ${s.local} <-> ${s.remote} spi in ${s.spiIn} out ${s.spiOut}`);
    const kb = s.lifetimeKilobytes > 0 ? (s.kilobytesLeft !== undefined ? `, ${s.kilobytesLeft} KiB left of ${s.lifetimeKilobytes}` : `, lifetime ${s.lifetimeKilobytes} KiB`) : '';
    out.push(
      `    ${s.localTs} === ${s.remoteTs}  ${s.algorithms}, expires in ${s.lifetimeLeft}s${kb}, bytes ${s.bytes ?? 'n/a'}${s.dataplane ? `, dataplane ${s.dataplane}` : ''}`,
    );
  }
  const c = d.counters;
  const failed = (k: 'isakmp' | 'ipsec') => Object.entries(c.exchanges.failed[k]).map(([r, n]) => `${r}=${n}`).join(' ') || '0';
  out.push(`exchanges: phase 1 started ${c.exchanges.started.isakmp} completed ${c.exchanges.completed.isakmp} failed ${failed('isakmp')}; quick mode started ${c.exchanges.started.ipsec} completed ${c.exchanges.completed.ipsec} failed ${failed('ipsec')}`);
  const dropped = Object.entries(c.dropped).map(([r, n]) => `${r}=${n}`).join(' ');
  out.push(`packets: in ${c.transport.packetsIn ?? 0} out ${c.transport.packetsOut ?? 0}${dropped ? `; dropped ${dropped}` : ''}`);
  // peer identities are the peer's choice: no control character reaches the terminal (issue 9.9)
  return out.map(escapeText);
}

export async function runControl(cmd: ControlCommand, argv: string[], io: Output): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        socket: { type: 'string', short: 's' },
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`isakmp ${cmd}: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const needsName = cmd === 'up' || cmd === 'down' || cmd === 'rekey';
  if (needsName && positionals.length !== 1) {
    io.err(`isakmp ${cmd}: give exactly one connection name (isakmp ${cmd} NAME)`);
    return 2;
  }
  if (!needsName && positionals.length !== 0) {
    io.err(`isakmp ${cmd}: unexpected argument '${positionals[0]}'`);
    return 2;
  }
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const t = Number(values.timeout);
    if (!Number.isInteger(t) || t < 1 || t > 600) {
      io.err(`isakmp ${cmd}: --timeout is whole seconds, 1 to 600`);
      return 2;
    }
    timeoutMs = t * 1000;
  }
  let res: ControlResponse;
  try {
    const path = socketPath(values);
    res = await controlRequest(
      path,
      { cmd, ...(needsName ? { name: positionals[0] as string } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
      (timeoutMs ?? 30_000) + 5_000,
    );
  } catch (err) {
    const msg = (err as Error).message;
    io.err(`isakmp ${cmd}: ${err instanceof UsageError && err.code === 'ISAKMP_ERR_CONFIG' ? msg.split('\n')[0] : msg}`);
    return 1;
  }
  if (!res.ok) {
    io.err(`isakmp ${cmd}: ${escapeText(res.error)}`);
    return 1;
  }
  if (cmd === 'status') {
    if (values.json === true) io.out(escapeJsonText(JSON.stringify(res.data, null, 2)));
    else for (const l of formatStatus(res.data as StatusData)) io.out(l);
  } else io.out(escapeText(res.message));
  return 0;
}
