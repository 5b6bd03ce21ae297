/**
 * Counters shown by `isakmp status --json`, and the same as Prometheus text on an optional
 * localhost HTTP port. Label values come from bounded sets (SA kinds, notify names, states).
 */
import { createServer, type Server } from 'node:http';

export type SaKind = 'isakmp' | 'ipsec';

export interface CounterSnapshot {
  readonly exchanges: {
    readonly started: Record<SaKind, number>;
    readonly completed: Record<SaKind, number>;
    /** failed[kind][notify name] */
    readonly failed: Record<SaKind, Record<string, number>>;
  };
  /** Dropped datagrams by the notify type the engine gave as the reason. */
  readonly dropped: Record<string, number>;
  readonly rekeyed: Record<SaKind, number>;
  readonly deleted: Record<SaKind, number>;
  readonly expired: Record<SaKind, number>;
  readonly transport: Record<string, number>;
  /** Current SAs by kind and state (filled in when the snapshot is taken). */
  readonly sas: Record<string, number>;
  readonly dataplaneFailures: number;
  /** Half-open responder phase 1s now, and how many the engine evicted to make room (when it reports them). */
  readonly halfOpen?: { readonly current: number; readonly evicted: number };
}

/**
 * The label of a dropped datagram: the notify type's name, else the engine's drop code (see
 * DropCode in src/exchange/types.ts: half-open evictions and refusals, unauthenticated
 * informationals, keying tries, the Quick Mode limit, timer and internal errors), else NO_NOTIFY.
 */
export function dropLabel(notifyName: string | undefined, code: string | undefined): string {
  return notifyName ?? code ?? 'NO_NOTIFY';
}

const MAX_LABELS = 64;

export class Counters {
  started: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  completed: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  failed: Record<SaKind, Record<string, number>> = { isakmp: {}, ipsec: {} };
  dropped: Record<string, number> = {};
  rekeyed: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  deleted: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  expired: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  dataplaneFailures = 0;

  private static bump(table: Record<string, number>, key: string): void {
    if (table[key] === undefined && Object.keys(table).length >= MAX_LABELS) key = 'OTHER';
    table[key] = (table[key] ?? 0) + 1;
  }

  fail(kind: SaKind, notifyName: string): void {
    Counters.bump(this.failed[kind], notifyName);
  }

  drop(notifyName: string): void {
    Counters.bump(this.dropped, notifyName);
  }

  snapshot(transport: Record<string, number>, sas: Record<string, number>, halfOpen?: { current: number; evicted: number }): CounterSnapshot {
    return {
      ...(halfOpen !== undefined ? { halfOpen: { ...halfOpen } } : {}),
      exchanges: { started: { ...this.started }, completed: { ...this.completed }, failed: { isakmp: { ...this.failed.isakmp }, ipsec: { ...this.failed.ipsec } } },
      dropped: { ...this.dropped },
      rekeyed: { ...this.rekeyed },
      deleted: { ...this.deleted },
      expired: { ...this.expired },
      transport: { ...transport },
      sas: { ...sas },
      dataplaneFailures: this.dataplaneFailures,
    };
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition format (version 0.0.4). */
export function prometheusText(s: CounterSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, rows: [Record<string, string>, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${v}`);
    }
  };
  const kinds: SaKind[] = ['isakmp', 'ipsec'];
  family('isakmp_exchanges_started_total', 'counter', 'Negotiations started (phase 1 = isakmp, Quick Mode = ipsec).', kinds.map((k) => [{ kind: k }, s.exchanges.started[k]]));
  family('isakmp_exchanges_completed_total', 'counter', 'Negotiations that established an SA.', kinds.map((k) => [{ kind: k }, s.exchanges.completed[k]]));
  family(
    'isakmp_exchanges_failed_total',
    'counter',
    'Negotiations abandoned, by the notify type describing why.',
    kinds.flatMap((k) => Object.entries(s.exchanges.failed[k]).map(([r, v]) => [{ kind: k, reason: r }, v] as [Record<string, string>, number])),
  );
  family('isakmp_packets_dropped_total', 'counter', 'Datagrams dropped by the engine, by notify type.', Object.entries(s.dropped).map(([r, v]) => [{ notify: r }, v]));
  family('isakmp_sas_rekeyed_total', 'counter', 'SAs replaced by a rekey.', kinds.map((k) => [{ kind: k }, s.rekeyed[k]]));
  family('isakmp_sas_deleted_total', 'counter', 'SAs deleted (by us or the peer).', kinds.map((k) => [{ kind: k }, s.deleted[k]]));
  family('isakmp_sas_expired_total', 'counter', 'SAs that reached their lifetime.', kinds.map((k) => [{ kind: k }, s.expired[k]]));
  family('isakmp_transport_total', 'counter', 'UDP transport counters.', Object.entries(s.transport).map(([k, v]) => [{ counter: k }, v]));
  family('isakmp_sas', 'gauge', 'Current SAs by kind and state.', Object.entries(s.sas).map(([k, v]) => {
    const [kind, state] = k.split(':');
    return [{ kind: kind ?? k, state: state ?? '' }, v];
  }));
  if (s.halfOpen !== undefined) {
    family('isakmp_half_open', 'gauge', 'Half-open responder phase-1 exchanges now.', [[{}, s.halfOpen.current]]);
    family('isakmp_half_open_evicted_total', 'counter', 'Half-open responder phase-1 exchanges evicted at the half-open caps.', [[{}, s.halfOpen.evicted]]);
  }
  family('isakmp_dataplane_failures_total', 'counter', 'IPsec SAs the dataplane could not install.', [[{}, s.dataplaneFailures]]);
  return out.join('\n') + '\n';
}

/** Serves GET /metrics on a localhost address. */
export async function startMetricsServer(address: string, port: number, snapshot: () => CounterSnapshot): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(snapshot()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
