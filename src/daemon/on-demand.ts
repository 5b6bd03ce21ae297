/**
 * On-demand connections (`start: on-demand`): the kernel traps installed one per selector pair,
 * their log lines, and the acquire that negotiates when traffic meets a trap (at most one try per
 * connection every 5 s, none while an IPsec SA of the connection exists or the daemon stops).
 * @module
 */
import type { ConnectionConfig } from './config/index.js';
import type { Dataplane } from './dataplane.js';
import type { Connection } from './engine.js';
import type { Logger } from './log.js';
import { selectorText } from './status.js';
import { selectorPairs } from '../exchange/ids.js';

/** What the traps need from the daemon. */
export interface OnDemandContext {
  readonly dataplane: Dataplane;
  readonly logger: Logger;
  readonly now: () => number;
  readonly connections: () => readonly ConnectionConfig[];
  /** The engine's connection of a configured one (addresses and selectors resolved). */
  readonly engineConnection: (c: ConnectionConfig) => Connection;
  /** Names of the connections that hold an IPsec SA now. */
  readonly hasIpsecSa: (name: string) => boolean;
  readonly stopping: () => boolean;
  /** Negotiates the connection (errors are the daemon's to log). */
  readonly initiate: (name: string) => void;
}

export class OnDemand {
  private readonly lastAcquire = new Map<string, number>();

  constructor(private readonly ctx: OnDemandContext) {}

  /**
   * Installs the kernel traps of an on-demand connection, one per selector pair (traffic of any of
   * them brings the connection up); resolves to the dataplane's first error, if any.
   */
  async trap(c: ConnectionConfig): Promise<string | undefined> {
    const dp = this.ctx.dataplane;
    const e = this.ctx.engineConnection(c);
    if (dp.trap === undefined) return undefined;
    for (const ts of selectorPairs(e.localTs, e.remoteTs, e.local.address, e.remote.address)) {
      const err = await dp.trap({ name: c.name, local: e.local.address, remote: e.remote.address, localTs: ts.local, remoteTs: ts.remote, mode: c.ipsecMode });
      if (err !== undefined) return err;
    }
    return undefined;
  }

  /** The log lines of an on-demand connection's traps (one per selector pair), or its error. */
  logTrap(c: ConnectionConfig, err: string | undefined): void {
    const { logger } = this.ctx;
    if (err !== undefined) {
      logger.error('dataplane', `on-demand ${c.name}: ${err}`);
      return;
    }
    const e = this.ctx.engineConnection(c);
    for (const ts of selectorPairs(e.localTs, e.remoteTs, e.local.address, e.remote.address)) {
      logger.info('dataplane', 'on-demand trap installed', { connection: c.name, ts: `${selectorText(ts.local)} === ${selectorText(ts.remote)}` });
    }
  }

  /** The kernel saw traffic for an on-demand connection: negotiate, unless already done or doing so. */
  onAcquire(name: string): void {
    const c = this.ctx.connections().find((x) => x.name === name);
    if (c === undefined || c.start !== 'on-demand' || this.ctx.stopping()) return;
    const now = this.ctx.now();
    if (now - (this.lastAcquire.get(name) ?? -Infinity) < 5000) return;
    if (this.ctx.hasIpsecSa(name)) return;
    this.lastAcquire.set(name, now);
    this.ctx.logger.info('ike', 'on-demand: traffic for the connection, initiating', { connection: name });
    this.ctx.initiate(name);
  }
}
