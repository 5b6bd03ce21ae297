/**
 * Prometheus metrics on an optional localhost HTTP port (`global.metrics`), with `prom-client`:
 * one family per unit (packets, bytes, exchanges, SAs, seconds), label values from bounded sets
 * (exchange names, results, notify names, SA kinds and states, configured connection names),
 * `isakmp_build_info`, and the client's process and Node.js metrics. The numbers are read at
 * scrape time from one snapshot of the daemon's counters (counters.ts, the same ones
 * `status --json` shows) and SA tables, so the families of one scrape agree with each other.
 * METRIC_FAMILIES is the list docs/daemon.md shows; a test compares the two and a real scrape.
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { Counter, Gauge, Registry } from 'prom-client';
import { UsageError } from '../errors.js';
import { EXCHANGE_NAMES, type CounterSnapshot, type SaKind } from './counters.js';
import type { ConnectionFigures } from './status.js';
import { packageVersion } from './version.js';

/** What a scrape reads. */
export interface MetricsSource {
  snapshot(): CounterSnapshot;
  /** Every configured connection (and any other that still has SAs), with its SAs. */
  connectionFigures(): readonly ConnectionFigures[];
  /** The gateway's XAUTH verdicts and address pools (xauth-events.ts, modecfg-events.ts). */
  remoteAccessFigures?(): RemoteAccessFigures;
}

/** What the remote-access families show: XAUTH verdicts by connection, and each connection's pool. */
export interface RemoteAccessFigures {
  readonly xauth: readonly { readonly connection: string; readonly verdict: string; readonly count: number }[];
  readonly pools: readonly { readonly connection: string; readonly size: number; readonly leased: number; readonly exhausted: number }[];
}

const NO_REMOTE_ACCESS: RemoteAccessFigures = { xauth: [], pools: [] };

export interface MetricFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: readonly string[];
  readonly help: string;
}

/** The daemon's own families (process_* and nodejs_* come from prom-client's default metrics). */
export const METRIC_FAMILIES: readonly MetricFamily[] = [
  { name: 'isakmp_build_info', type: 'gauge', labels: ['version', 'nodejs'], help: 'Always 1: the version of isakmp and of Node.js that run.' },
  { name: 'isakmp_packets_received_total', type: 'counter', labels: ['kind'], help: 'UDP datagrams received on the IKE and NAT-T ports, by what they were: isakmp, esp (ESP in UDP left to the kernel), nat_keepalive, runt.' },
  { name: 'isakmp_bytes_received_total', type: 'counter', labels: [], help: 'UDP payload bytes received on the IKE and NAT-T ports (every datagram).' },
  { name: 'isakmp_packets_sent_total', type: 'counter', labels: ['kind'], help: 'UDP datagrams sent, by kind: isakmp (messages), nat_keepalive.' },
  { name: 'isakmp_bytes_sent_total', type: 'counter', labels: [], help: 'UDP payload bytes sent (every datagram, non-ESP marker included).' },
  { name: 'isakmp_send_errors_total', type: 'counter', labels: [], help: 'Datagrams the kernel refused to send, or with no socket to send from.' },
  { name: 'isakmp_packets_dropped_total', type: 'counter', labels: ['reason'], help: 'ISAKMP messages the engine refused, by the notify type describing why (or the engine\'s drop code).' },
  { name: 'isakmp_exchanges_started_total', type: 'counter', labels: ['exchange'], help: 'Exchanges started: main, aggressive (phase 1), quick (Quick Mode); ours and the peers\'.' },
  { name: 'isakmp_exchanges_finished_total', type: 'counter', labels: ['exchange', 'result', 'notify'], help: 'Exchanges finished, by result (completed, failed) and, for failures, the notify type, else the failure cause (NO_ANSWER for timeouts); never more than started.' },
  { name: 'isakmp_sas', type: 'gauge', labels: ['kind', 'state'], help: 'SAs now, by kind (isakmp, ipsec) and state.' },
  { name: 'isakmp_sas_rekeyed_total', type: 'counter', labels: ['kind'], help: 'SAs replaced by a rekey.' },
  { name: 'isakmp_sas_deleted_total', type: 'counter', labels: ['kind'], help: 'SAs deleted, by us or by the peer.' },
  { name: 'isakmp_sas_expired_total', type: 'counter', labels: ['kind'], help: 'SAs that reached their hard lifetime.' },
  { name: 'isakmp_half_open', type: 'gauge', labels: [], help: 'Half-open responder phase-1 exchanges now.' },
  { name: 'isakmp_half_open_evicted_total', type: 'counter', labels: [], help: 'Half-open responder phase-1 exchanges evicted at the half-open caps.' },
  { name: 'isakmp_dataplane_failures_total', type: 'counter', labels: [], help: 'IPsec SAs the dataplane could not install.' },
  { name: 'isakmp_connection_up', type: 'gauge', labels: ['connection'], help: '1 when the connection has an established IPsec SA, else 0.' },
  { name: 'isakmp_connection_sas', type: 'gauge', labels: ['connection', 'kind', 'state'], help: 'SAs of each connection now, by kind and state.' },
  { name: 'isakmp_xauth_verdicts_total', type: 'counter', labels: ['connection', 'verdict'], help: 'XAUTH checks of a gateway connection\'s users, by verdict: accepted, refused (wrong user or password), backend_error (the users file or RADIUS could not answer: the client is refused).' },
  { name: 'isakmp_pool_addresses', type: 'gauge', labels: ['connection', 'state'], help: 'Addresses of a gateway connection\'s Mode Config pool, by state: leased, free.' },
  { name: 'isakmp_pool_exhausted_total', type: 'counter', labels: ['connection'], help: 'Clients refused because the connection\'s pool had no free address.' },
  { name: 'isakmp_connection_lifetime_remaining_seconds', type: 'gauge', labels: ['connection', 'kind'], help: 'Seconds until the first established SA of the connection reaches its lifetime (absent when none is established).' },
];

type Row = readonly [Record<string, string>, number];
const KINDS: readonly SaKind[] = ['isakmp', 'ipsec'];

/** The rows of each family, from one snapshot. */
function rowsOf(name: string, s: CounterSnapshot, conns: readonly ConnectionFigures[], ra: RemoteAccessFigures): Row[] {
  const t = (k: string): number => s.transport[k] ?? 0;
  switch (name) {
    case 'isakmp_build_info':
      return [[{ version: packageVersion(), nodejs: process.version }, 1]];
    case 'isakmp_packets_received_total': {
      const [esp, ka, runt] = [t('espDropped'), t('keepalivesDropped'), t('runtsDropped')];
      return [[{ kind: 'isakmp' }, t('packetsIn') - esp - ka - runt], [{ kind: 'esp' }, esp], [{ kind: 'nat_keepalive' }, ka], [{ kind: 'runt' }, runt]];
    }
    case 'isakmp_bytes_received_total':
      return [[{}, t('bytesIn')]];
    case 'isakmp_packets_sent_total':
      return [[{ kind: 'isakmp' }, t('packetsOut')], [{ kind: 'nat_keepalive' }, t('keepalivesOut')]];
    case 'isakmp_bytes_sent_total':
      return [[{}, t('bytesOut') + t('keepalivesOut')]]; // a keepalive is one octet
    case 'isakmp_send_errors_total':
      return [[{}, t('sendErrors')]];
    case 'isakmp_packets_dropped_total':
      return Object.entries(s.dropped).map(([reason, v]) => [{ reason }, v]);
    case 'isakmp_exchanges_started_total':
      return EXCHANGE_NAMES.map((x) => [{ exchange: x }, s.exchanges.byExchange.started[x]]);
    case 'isakmp_exchanges_finished_total':
      return EXCHANGE_NAMES.flatMap((x): Row[] => [
        [{ exchange: x, result: 'completed' }, s.exchanges.byExchange.completed[x]],
        ...Object.entries(s.exchanges.byExchange.failed[x]).map(([notify, v]): Row => [{ exchange: x, result: 'failed', notify }, v]),
      ]);
    case 'isakmp_sas':
      return Object.entries(s.sas).map(([k, v]) => {
        const [kind, state] = k.split(':');
        return [{ kind: kind ?? k, state: state ?? '' }, v];
      });
    case 'isakmp_sas_rekeyed_total':
      return KINDS.map((k) => [{ kind: k }, s.rekeyed[k]]);
    case 'isakmp_sas_deleted_total':
      return KINDS.map((k) => [{ kind: k }, s.deleted[k]]);
    case 'isakmp_sas_expired_total':
      return KINDS.map((k) => [{ kind: k }, s.expired[k]]);
    case 'isakmp_half_open':
      return [[{}, s.halfOpen?.current ?? 0]];
    case 'isakmp_half_open_evicted_total':
      return [[{}, s.halfOpen?.evicted ?? 0]];
    case 'isakmp_dataplane_failures_total':
      return [[{}, s.dataplaneFailures]];
    case 'isakmp_connection_up':
      return conns.map((c) => [{ connection: c.connection }, c.up ? 1 : 0]);
    case 'isakmp_connection_sas':
      return conns.flatMap((c) => Object.entries(c.sas).map(([k, v]): Row => {
        const [kind, state] = k.split(':');
        return [{ connection: c.connection, kind: kind ?? k, state: state ?? '' }, v];
      }));
    case 'isakmp_connection_lifetime_remaining_seconds':
      return conns.flatMap((c) => KINDS.flatMap((k): Row[] => (c.lifetimeLeft[k] !== undefined ? [[{ connection: c.connection, kind: k }, c.lifetimeLeft[k]]] : [])));
    case 'isakmp_xauth_verdicts_total':
      return ra.xauth.map((x) => [{ connection: x.connection, verdict: x.verdict }, x.count]);
    case 'isakmp_pool_addresses':
      return ra.pools.flatMap((p): Row[] => [
        [{ connection: p.connection, state: 'leased' }, p.leased],
        [{ connection: p.connection, state: 'free' }, Math.max(0, p.size - p.leased)],
      ]);
    case 'isakmp_pool_exhausted_total':
      return ra.pools.map((p) => [{ connection: p.connection }, p.exhausted]);
    default:
      return [];
  }
}

/** The Prometheus text of one scrape, and its content type. */
export interface MetricsRegistry {
  readonly contentType: string;
  scrape(): Promise<string>;
}

/**
 * A registry of its own per daemon (two daemons may share a process: `isakmp demo`, tests), with
 * prom-client's default process and Node.js metrics. prom-client is loaded only when metrics are
 * configured.
 */
export async function createMetricsRegistry(source: MetricsSource): Promise<MetricsRegistry> {
  const prom = await import('prom-client');
  const registry: Registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  // One snapshot per scrape: every family's collect() reads it (they run before any value is read).
  type Snap = { s: CounterSnapshot; conns: readonly ConnectionFigures[]; ra: RemoteAccessFigures };
  let snap: Snap | undefined;
  const current = (): Snap => (snap ??= { s: source.snapshot(), conns: source.connectionFigures(), ra: source.remoteAccessFigures?.() ?? NO_REMOTE_ACCESS });
  for (const f of METRIC_FAMILIES) {
    const config = { name: f.name, help: f.help, labelNames: [...f.labels], registers: [registry] };
    if (f.type === 'counter') {
      new prom.Counter({
        ...config,
        collect(this: Counter) {
          this.reset();
          const { s, conns, ra } = current();
          for (const [labels, v] of rowsOf(f.name, s, conns, ra)) this.inc(labels, Math.max(0, v));
        },
      });
    } else {
      new prom.Gauge({
        ...config,
        collect(this: Gauge) {
          this.reset();
          const { s, conns, ra } = current();
          for (const [labels, v] of rowsOf(f.name, s, conns, ra)) this.set(labels, v);
        },
      });
    }
  }
  return {
    contentType: registry.contentType,
    async scrape() {
      snap = undefined;
      try {
        return await registry.metrics();
      } finally {
        snap = undefined;
      }
    },
  };
}

/**
 * Serves GET /metrics on a localhost address. Rejects with ISAKMP_ERR_METRICS (one line: the
 * address and why) when the port cannot be had, e.g. another program listens on it.
 */
export async function startMetricsServer(address: string, port: number, source: MetricsSource): Promise<Server> {
  const registry = await createMetricsRegistry(source);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.scrape().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
      const hint = err.code === 'EADDRINUSE' ? ' (another program listens there: pick another global.metrics port, or stop it)' : err.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : '';
      reject(new UsageError('ISAKMP_ERR_METRICS', `cannot listen for metrics on ${where}: ${err.code ?? err.message}${hint}`));
    });
    server.listen(port, address, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  return server;
}
