/**
 * Event subscriber: the dataplane and the updown hook follow the engine's IPsec SAs (install,
 * follow a NAT mapping, remove; updown up/down), the daemon's SA states follow the dataplane
 * (sa-states.ts), and while IPsec SAs exist the traffic poll reads the dataplane's byte counters
 * for `status` and the engine's kilobyte lifetimes.
 *
 * The traffic poll is one `setTimeout` at a time (global `traffic_poll`), armed when an install
 * succeeds and re-armed after each read; it stops when the last IPsec SA goes.
 */
import type { EngineCommands } from './commands.js';
import type { DaemonContext } from './context.js';
import type { Dataplane } from './dataplane.js';
import type { EngineEvent } from './engine.js';
import type { SaStates } from './sa-states.js';
import type { Updown, UpdownReason } from './updown.js';

export interface DataplaneEventsOptions {
  readonly sas: SaStates;
  readonly dataplane: Dataplane;
  /** The updown hook of the running configuration (reload may change it). */
  readonly updown: () => Updown | undefined;
  /** Seconds between two traffic polls (global `traffic_poll`, read at each arming). */
  readonly trafficPollSeconds: () => number;
  /** For the engine command that reports traffic. */
  readonly commands: EngineCommands;
}

export class DataplaneEvents {
  private trafficTimer: NodeJS.Timeout | undefined;
  private trafficBusy = false;
  /** False from shutdown on: the poll is not armed again. */
  private polling = true;
  private closed = false;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly o: DataplaneEventsOptions,
  ) {}

  onEvent(e: EngineEvent): void {
    const { sas } = this.o;
    switch (e.type) {
      case 'ipsec-sa-established': {
        const sa = e.sa;
        sas.established(sa, e.rekeyOf);
        void this.o.dataplane.install(sa).then((r) => {
          const failed = r.status.startsWith('failed');
          if (failed) this.ctx.counters.dataplaneFailures++;
          else if (this.ctx.logger.enabled('dataplane', 'debug')) this.ctx.logger.debug('dataplane', `SA ${r.status}`, { id: sa.id, dataplane: this.o.dataplane.name });
          sas.installed(sa.id, failed);
          if (!failed) this.scheduleTraffic();
        });
        void this.o.updown()?.run('up', 'established', sa);
        break;
      }
      case 'ipsec-sa-updated': {
        const sa = e.sa;
        if (!sas.updated(sa)) break;
        this.ctx.logger.info('ike', 'IPsec SA follows the peer\'s new NAT mapping', { id: sa.id, connection: sa.connection, local: `${sa.local.address}:${sa.local.port}`, remote: `${sa.remote.address}:${sa.remote.port}` });
        void this.o.dataplane.update?.(sa).then((err) => {
          if (err !== undefined) this.ctx.counters.dataplaneFailures++;
        });
        break;
      }
      case 'rekeyed':
        if (e.kind === 'ipsec') sas.rekeyedIpsec(e.old);
        else sas.markIsakmp(e.old, 'rekeyed');
        break;
      case 'deleted':
        if (e.kind === 'ipsec') this.ipsecGone(e.id, e.by === 'peer' ? 'deleted-peer' : 'deleted-local');
        else sas.isakmpGone(e.id);
        break;
      case 'expired':
        if (e.kind === 'ipsec' && e.hard) this.ipsecGone(e.id, 'expired');
        else if (e.kind === 'isakmp' && e.hard) sas.isakmpGone(e.id);
        else if (e.kind === 'isakmp') sas.markIsakmp(e.id, 'expiring');
        else sas.expiringIpsec(e.id);
        break;
      default:
        break;
    }
  }

  private ipsecGone(id: string, reason: UpdownReason): void {
    const sa = this.o.sas.ipsecGone(id);
    if (this.o.sas.ipsecCount === 0) this.stopTraffic();
    void this.o.dataplane.remove(id);
    if (sa !== undefined) void this.o.updown()?.run('down', reason, sa);
  }

  /** Arms the traffic poll (byte counters) while IPsec SAs exist; one poll at a time. */
  private scheduleTraffic(): void {
    if (this.o.dataplane.traffic === undefined || !this.polling || this.trafficTimer !== undefined || this.o.sas.ipsecCount === 0) return;
    this.trafficTimer = setTimeout(() => {
      this.trafficTimer = undefined;
      void this.pollTraffic().finally(() => this.scheduleTraffic());
    }, this.o.trafficPollSeconds() * 1000);
    this.trafficTimer.unref();
  }

  private stopTraffic(): void {
    if (this.trafficTimer !== undefined) clearTimeout(this.trafficTimer);
    this.trafficTimer = undefined;
  }

  /** True while the traffic poll timer is armed. */
  get trafficPollArmed(): boolean {
    return this.trafficTimer !== undefined;
  }

  /**
   * Reads the dataplane's byte counters once, keeps them for `status` and hands them to the
   * engine (kilobyte lifetimes: soft limit → rekey, hard limit → expiry). Returns how many SAs
   * got a count.
   */
  async pollTraffic(): Promise<number> {
    if (this.o.dataplane.traffic === undefined || this.trafficBusy || this.closed) return 0;
    this.trafficBusy = true;
    try {
      const counts = await this.o.dataplane.traffic();
      if (this.closed) return 0;
      const now = this.ctx.now();
      let n = 0;
      for (const [id, bytes] of counts) {
        if (!this.o.sas.setBytes(id, bytes)) continue;
        this.o.commands.safe(() => this.ctx.endpoint.reportTraffic?.(now, id, bytes));
        n++;
      }
      this.ctx.pump();
      return n;
    } catch (err) {
      this.ctx.logger.warn('dataplane', `reading traffic counters: ${(err as Error).message}`);
      return 0;
    } finally {
      this.trafficBusy = false;
    }
  }

  /** Shutdown begins: the traffic poll stops. */
  stopPolling(): void {
    this.polling = false;
    this.stopTraffic();
  }

  /**
   * Shutdown, once the Deletes left: updown "down" for every IPsec SA still up, the states are
   * forgotten, no more reads. The caller then flushes the dataplane.
   */
  close(): void {
    this.stopPolling();
    this.closed = true;
    for (const sa of this.o.sas.ipsecRecords()) void this.o.updown()?.run('down', 'shutdown', sa);
    this.o.sas.clear();
  }
}
