/**
 * Measurement probe preloaded into a responder under test (`node --expose-gc --import
 * build/bench/load-probe.js dist/cli/main.js daemon ...`). It changes nothing in the daemon; it
 * answers on the IPC channel the benchmark opened:
 *
 *   { type: 'mem' }      a full garbage collection, then the process's memory and CPU figures and the
 *                        xfrm dataplane's installs since the previous 'mem' (latency p50/p99 from the
 *                        'isakmp:xfrm-install' diagnostics channel, kernel requests and system calls);
 *   { type: 'metrics', port }  the daemon's Prometheus text, fetched from inside the daemon's
 *                        process (and so its network namespace).
 *
 * When the benchmark process goes away (the IPC channel closes), the daemon exits.
 */
import { subscribe } from 'node:diagnostics_channel';

export interface DataplaneFigures {
  readonly installs: number;
  readonly failed: number;
  /** Install latency (QM3 handled → SAs and policies in the kernel), ms. */
  readonly p50: number;
  readonly p99: number;
  /** Kernel calls so far (cumulative): netlink requests, send() and recv() calls, ALLOCSPI requests. */
  readonly requests: number;
  readonly sends: number;
  readonly recvs: number;
  readonly allocSpi: number;
}

export interface ProbeReply {
  readonly type: 'mem';
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly cpuMs: number;
  readonly gc: boolean;
  readonly dataplane?: DataplaneFigures;
}

const gc = (globalThis as { gc?: () => void }).gc;

interface Published {
  ms: number;
  ok: boolean;
  dataplane: { spiRequests?: number; kernel?: { stats?: { requests: number; sends: number; recvs: number } } };
}
let latencies: number[] = [];
let failed = 0;
let last: Published['dataplane'] | undefined;
subscribe('isakmp:xfrm-install', (m) => {
  const p = m as Published;
  latencies.push(p.ms);
  if (!p.ok) failed++;
  last = p.dataplane;
});

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function dataplaneFigures(): DataplaneFigures | undefined {
  if (last === undefined) return undefined;
  const sorted = latencies.sort((a, b) => a - b);
  const st = last.kernel?.stats;
  const f: DataplaneFigures = {
    installs: sorted.length,
    failed,
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
    requests: st?.requests ?? 0,
    sends: st?.sends ?? 0,
    recvs: st?.recvs ?? 0,
    allocSpi: last.spiRequests ?? 0,
  };
  latencies = [];
  failed = 0;
  return f;
}

if (typeof process.send === 'function') {
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null) return;
    const t = (m as { type?: unknown }).type;
    if (t === 'metrics') {
      const port = Number((m as { port?: unknown }).port);
      void fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .then(
          (text) => process.send!({ type: 'metrics', text }),
          (err: Error) => process.send!({ type: 'metrics', text: '', error: err.message }),
        );
      return;
    }
    if (t !== 'mem') return;
    if (gc) {
      gc();
      gc();
    }
    const mu = process.memoryUsage();
    const c = process.cpuUsage();
    const dp = dataplaneFigures();
    const reply: ProbeReply = {
      type: 'mem',
      heapUsed: mu.heapUsed,
      heapTotal: mu.heapTotal,
      rss: mu.rss,
      external: mu.external,
      arrayBuffers: mu.arrayBuffers,
      cpuMs: (c.user + c.system) / 1000,
      gc: gc !== undefined,
      ...(dp !== undefined ? { dataplane: dp } : {}),
    };
    process.send!(reply);
  });
  // The IPC channel must not keep a daemon alive that was told to stop; and a daemon whose
  // benchmark went away (killed) must not be left behind.
  process.channel?.unref();
  process.once('disconnect', () => process.exit(0));
}
