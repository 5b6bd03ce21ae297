/**
 * `isakmp up NAME`, `isakmp down NAME`, `isakmp status [NAME] [--json]`, `isakmp reload`: clients
 * of the daemon's control socket. Exit 0 on success; otherwise 1 with one line saying why (2 for
 * usage). `isakmp up` prints the exchange's progress as it goes and ends with the cause line; its
 * exit code tells the failures apart: 3 the peer does not answer, 4 refused by the peer, 5 refused
 * by us (a mismatch our side found: keys, proposals, identities, selectors, certificates).
 */
import { existsSync } from 'node:fs';
import { controlRequest, type ControlCommand, type ControlResponse } from '../daemon/control.js';
import { DEFAULT_CONTROL_SOCKET, loadConfig } from '../daemon/config/index.js';
import type { StatusData } from '../daemon/status.js';
import { UsageError } from '../errors.js';
import { escapeJsonText, escapeText } from '../text-escape.js';
import { flagOption, stringOption, type ParsedArgs } from './args.js';
import type { Output } from './decode.js';

export const DEFAULT_CONFIG = '/etc/isakmp/isakmp.yaml';

/** Exit codes of `isakmp up` beyond 0 (up), 1 (other errors) and 2 (usage). */
export const EXIT_NO_ANSWER = 3;
export const EXIT_REFUSED_BY_PEER = 4;
export const EXIT_REFUSED_BY_US = 5;

/** The exit code of a failed `up` by its cause (FailureCause). */
export function upExitCode(cause: string | undefined): number {
  if (cause === 'NO_ANSWER') return EXIT_NO_ANSWER;
  if (cause === 'PEER_REFUSED') return EXIT_REFUSED_BY_PEER;
  return cause !== undefined ? EXIT_REFUSED_BY_US : 1;
}

/** Seconds as `2h05m`, `4m10s`, `12s`. */
function dur(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** `established …Z (5m ago), rekey in 2h51m, expires in 2h59m`. */
function times(x: { establishedAt?: string; age?: number; rekeyIn?: number; lifetimeLeft?: number }): string {
  const parts: string[] = [];
  if (x.establishedAt !== undefined) parts.push(`established ${x.establishedAt}${x.age !== undefined ? ` (${dur(x.age)} ago)` : ''}`);
  if (x.rekeyIn !== undefined) parts.push(`rekey in ${dur(x.rekeyIn)}`);
  if (x.lifetimeLeft !== undefined) parts.push(`expires in ${dur(x.lifetimeLeft)}`);
  return parts.join(', ');
}

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

/** A remote-access SA's user, virtual address and Mode Config attributes with their values. */
function remoteAccessLines(ra: NonNullable<StatusData['isakmp'][number]['remoteAccess']>): string[] {
  const out = [`    remote access: user ${ra.user !== undefined ? escapeText(ra.user) : '-'}  virtual address ${ra.virtualAddress ?? '-'}`];
  for (const name of ra.attributes) out.push(`      ${name} ${(ra.values[name] ?? []).join(', ')}`.trimEnd());
  return out;
}

/** Human-readable status: IPsec SAs nested under the ISAKMP SA they were negotiated under, then the pools' leases. */
export function formatStatus(d: StatusData): string[] {
  const out: string[] = [];
  out.push(`listening: ${d.listening.map((l) => `${l.address}:${l.port}${l.natt ? ' (nat-t)' : ''}`).join(', ')}; dataplane: ${d.dataplane}`);
  out.push(`connections (${d.connections.length}):`);
  for (const c of d.connections) out.push(`  ${pad(c.name, 16)} ${c.exchange} ${c.auth} -> ${c.remote}  start=${c.start}`);
  const ipsecLines = (s: StatusData['ipsec'][number], indent: string): void => {
    out.push(`${indent}${pad(s.connection, 16)} ${(s.state ?? 'established').toUpperCase()} ${s.role} ${s.mode}${s.udpEncapsulation ? '/udp-encap' : ''} ${s.local} <-> ${s.remote}${s.udpEncapsulationPorts ? ` udp ${s.udpEncapsulationPorts.local} <-> ${s.udpEncapsulationPorts.remote}` : ''} spi in ${s.spiIn} out ${s.spiOut}`);
    const kb = s.lifetimeKilobytes > 0 ? (s.kilobytesLeft !== undefined ? `, ${s.kilobytesLeft} KiB left of ${s.lifetimeKilobytes}` : `, lifetime ${s.lifetimeKilobytes} KiB`) : '';
    out.push(`${indent}  ${s.localTs} === ${s.remoteTs}  ${s.algorithms}`);
    out.push(`${indent}  ${times(s)}${kb}, bytes ${s.bytes ?? 'n/a'}${s.dataplane ? `, dataplane ${s.dataplane}` : ''}`);
  };
  out.push(`ISAKMP SAs (${d.isakmp.length}${d.negotiating.responder ? `, plus ${d.negotiating.responder} half-open as responder` : ''}${d.truncated ? ', list truncated' : ''}):`);
  const listed = new Set<string>();
  for (const s of d.isakmp) {
    out.push(`  ${pad(s.connection, 16)} ${s.state.toUpperCase()} ${s.role} ${s.exchange} ${s.local} <-> ${s.remote}`);
    out.push(`    cookies ${s.initiatorCookie}_i ${s.responderCookie}_r`);
    out.push(`    local id ${s.localId ?? '-'}  peer id ${s.peerId ?? '-'}`);
    if (s.algorithms) out.push(`    ${s.algorithms}`);
    const t = times(s);
    if (t) out.push(`    ${t}`);
    if (s.remoteAccess) out.push(...remoteAccessLines(s.remoteAccess));
    if (s.nat) out.push(`    NAT: ${s.nat.local ? 'in front of us' : 'not in front of us'}, ${s.nat.remote ? 'in front of the peer' : 'not in front of the peer'}${s.nat.encapsulation ? '; UDP-encapsulated on the NAT-T port' : ''}`);
    const children = d.ipsec.filter((q) => q.isakmpSa === s.id);
    if (children.length > 0) out.push(`    IPsec SAs (${children.length}):`);
    for (const q of children) {
      listed.add(q.id);
      ipsecLines(q, '      ');
    }
  }
  // IPsec SAs whose ISAKMP SA is gone (they live on until they expire or are deleted)
  const orphans = d.ipsec.filter((q) => !listed.has(q.id));
  out.push(
    orphans.length === d.ipsec.length ? `IPsec SAs (${d.ipsec.length}):` : orphans.length === 0 ? `IPsec SAs (${d.ipsec.length}): each under its ISAKMP SA above` : `IPsec SAs whose ISAKMP SA is gone (${orphans.length} of ${d.ipsec.length}):`,
  );
  for (const q of orphans) ipsecLines(q, '  ');
  if (d.leases !== undefined) {
    out.push(`address pool leases (${d.leases.length}):`);
    for (const l of d.leases) out.push(`  ${pad(l.connection, 16)} ${pad(l.address, 15)} user ${l.user ?? '-'}  identity ${l.identity}`);
  }
  const c = d.counters;
  const kind = (k: 'isakmp' | 'ipsec', label: string): string => {
    const failedBy = Object.entries(c.exchanges.failed[k]);
    const failed = failedBy.reduce((n, [, v]) => n + v, 0);
    const inProgress = c.exchanges.started[k] - c.exchanges.completed[k] - failed;
    return `${label} started ${c.exchanges.started[k]} = completed ${c.exchanges.completed[k]} + failed ${failed}${failedBy.length ? ` (${failedBy.map(([r, n]) => `${r}=${n}`).join(' ')})` : ''} + in progress ${Math.max(0, inProgress)}`;
  };
  out.push(`exchanges: ${kind('isakmp', 'phase 1')}; ${kind('ipsec', 'quick mode')}; rekeyed ${c.rekeyed.isakmp} ISAKMP, ${c.rekeyed.ipsec} IPsec`);
  const dropped = Object.entries(c.dropped).map(([r, n]) => `${r}=${n}`).join(' ');
  out.push(`packets: in ${c.transport.packetsIn ?? 0} out ${c.transport.packetsOut ?? 0}${dropped ? `; dropped ${dropped}` : ''}`);
  // peer identities are the peer's choice: no control character reaches the terminal (issue 9.9)
  return out.map(escapeText);
}

export async function runControl(cmd: ControlCommand, args: ParsedArgs, io: Output): Promise<number> {
  const values = { socket: stringOption(args, 'socket'), config: stringOption(args, 'config'), json: flagOption(args, 'json'), timeout: stringOption(args, 'timeout') };
  const positionals = args.positionals;
  const needsName = cmd === 'up' || cmd === 'down' || cmd === 'rekey';
  const takesName = needsName || cmd === 'status';
  if (needsName && positionals.length !== 1) {
    io.err(`isakmp ${cmd}: give exactly one connection name (isakmp ${cmd} NAME)`);
    return 2;
  }
  if (positionals.length > (takesName ? 1 : 0)) {
    io.err(`isakmp ${cmd}: unexpected argument '${positionals[takesName ? 1 : 0]}'`);
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
      { cmd, ...(positionals[0] !== undefined ? { name: positionals[0] } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(cmd === 'up' ? { progress: true } : {}) },
      (timeoutMs ?? 30_000) + 5_000,
      // `up`: the exchange as it goes, one line each
      cmd === 'up' ? (line) => io.out(escapeText(line)) : undefined,
    );
  } catch (err) {
    const msg = (err as Error).message;
    io.err(`isakmp ${cmd}: ${err instanceof UsageError && err.code === 'ISAKMP_ERR_CONFIG' ? msg.split('\n')[0] : msg}`);
    return 1;
  }
  if (!res.ok) {
    io.err(`isakmp ${cmd}: ${escapeText(res.error)}`);
    return cmd === 'up' ? upExitCode(res.cause) : 1;
  }
  if (cmd === 'status') {
    if (values.json === true) io.out(escapeJsonText(JSON.stringify(res.data, null, 2)));
    else for (const l of formatStatus(res.data as StatusData)) io.out(l);
  } else io.out(escapeText(res.message));
  return 0;
}
