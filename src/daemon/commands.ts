/**
 * Commands: what `isakmp up / down / rekey / status / reload` ask over the control socket, and the
 * engine commands behind them (initiate, delete, rekey), each followed by a pump of the driver loop.
 */
import { UsageError } from '../errors.js';
import type { ConnectionConfig } from './config/index.js';
import type { ControlRequest, ControlResponse } from './control.js';
import type { DaemonContext } from './context.js';
import type { Logger } from './log.js';
import { statusOfConnection, type StatusData } from './status.js';
import type { InitiateResult } from './engine.js';

/** The engine commands the daemon runs for the operator and for itself (start, reload, DPD). */
export class EngineCommands {
  constructor(private readonly o: DaemonContext) {}

  /** Runs an engine command; an SA that vanished meanwhile is logged, not fatal. */
  safe(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.o.logger.warn('ike', `engine refused a command: ${(err as Error).message}`);
    }
  }

  /**
   * Starts phase 1 + Quick Mode for a connection's selector pairs that lack an IPsec SA (the engine
   * starts nothing for a connection that is up). Throws UsageError for an unknown name.
   */
  initiate(name: string): InitiateResult {
    const { endpoint } = this.o;
    const connections = this.o.connections();
    const c = connections.find((x) => x.name === name);
    if (c === undefined) {
      throw new UsageError('ISAKMP_ERR_UNKNOWN_CONNECTION', `no connection named '${name}' (configured: ${connections.map((x) => x.name).join(', ') || 'none'})`);
    }
    const r = endpoint.initiate(this.o.now(), name);
    // counted by the engine's `started` events (see events-log.ts)
    if (r.started > 0) this.o.logger.info('ike', 'initiating', { connection: name, pairs: r.started > 1 ? r.started : undefined });
    else this.o.logger.debug('ike', r.negotiating > 0 ? 'already negotiating' : 'already up', { connection: name });
    this.o.pump();
    return r;
  }

  /** Deletes every SA of a connection (IPsec first, then ISAKMP), telling the peer. Returns how many. */
  down(name: string): number {
    const { endpoint } = this.o;
    const now = this.o.now();
    const ipsec = endpoint.ipsecSas().filter((s) => s.connection === name);
    const isakmp = endpoint.isakmpSas().filter((s) => s.connection === name);
    for (const s of ipsec) this.safe(() => endpoint.delete(now, s.id));
    for (const s of isakmp) this.safe(() => endpoint.delete(now, s.id));
    this.o.pump();
    return ipsec.length + isakmp.length;
  }

  /**
   * Rekeys now (ISAKMP: new phase 1; IPsec: new Quick Mode): one SA when `name` is an SA id from
   * `status` (cookies, or 'q' + inbound SPI), else every established SA of the connection `name`.
   */
  rekey(name: string): number {
    const { endpoint } = this.o;
    const now = this.o.now();
    let n = 0;
    const one = endpoint.isakmpSas().find((s) => s.id === name) ?? endpoint.ipsecSas().find((s) => s.id === name);
    if (one !== undefined) {
      this.safe(() => endpoint.rekey(now, one.id));
      this.o.pump();
      return 1;
    }
    for (const s of endpoint.isakmpSas()) {
      if (s.connection !== name || s.state !== 'established') continue;
      this.safe(() => endpoint.rekey(now, s.id));
      n++;
    }
    for (const s of endpoint.ipsecSas()) {
      if (s.connection !== name) continue;
      this.safe(() => endpoint.rekey(now, s.id));
      n++;
    }
    this.o.pump();
    return n;
  }
}

/** What the control socket's requests act on (the daemon). */
export interface ControlTarget {
  readonly stopping: boolean;
  readonly logger: Logger;
  connections(): readonly ConnectionConfig[];
  status(): StatusData;
  reload(): Promise<string>;
  down(name: string): number;
  rekey(name: string): number;
  /** Initiates and waits until the connection is up, failed, or `timeoutMs` passed; `progress` hears the exchange. */
  up(name: string, timeoutMs: number, progress?: (line: string) => void): Promise<ControlResponse>;
}

/** Answers one control request (`progress`: lines streamed before the answer); never throws. */
export async function handleControlRequest(t: ControlTarget, req: ControlRequest, progress: (line: string) => void = () => {}): Promise<ControlResponse> {
  t.logger.debug('control', 'request', { cmd: req.cmd, name: req.name });
  if (t.stopping) return { ok: false, error: 'the daemon is shutting down' };
  switch (req.cmd) {
    case 'status': {
      if (req.name === undefined) return { ok: true, message: 'status', data: t.status() };
      const name = req.name;
      if (!t.connections().some((c) => c.name === name)) return { ok: false, error: `no connection named '${name}' (configured: ${t.connections().map((c) => c.name).join(', ') || 'none'})` };
      return { ok: true, message: `status of ${name}`, data: statusOfConnection(t.status(), name) };
    }
    case 'reload':
      try {
        return { ok: true, message: await t.reload() };
      } catch (err) {
        return { ok: false, error: `reload refused, running configuration kept: ${(err as Error).message.split('\n').join('; ')}` };
      }
    case 'down': {
      const name = req.name as string;
      if (!t.connections().some((c) => c.name === name)) return { ok: false, error: `no connection named '${name}'` };
      const n = t.down(name);
      if (n === 0) return { ok: false, error: `connection '${name}' has no SAs` };
      return { ok: true, message: `connection '${name}': deleted ${n} SA${n === 1 ? '' : 's'}` };
    }
    case 'rekey': {
      const name = req.name as string;
      const n = t.rekey(name);
      if (n === 0) return { ok: false, error: `no SA with id '${name}' and no established SAs of a connection '${name}'` };
      return { ok: true, message: `${name}: rekeying ${n} SA${n === 1 ? '' : 's'}` };
    }
    case 'up':
      return t.up(req.name as string, req.timeoutMs ?? 30_000, progress);
  }
}
