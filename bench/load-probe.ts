/**
 * Measurement probe preloaded into a responder under test (`node --expose-gc --import
 * build/bench/load-probe.js dist/cli/main.js daemon ...`). It changes nothing in the daemon; it only
 * answers `{ type: 'mem' }` on the IPC channel the benchmark opened with a full garbage collection
 * followed by the process's memory and CPU figures, so that heap deltas count live data only.
 * When the benchmark process goes away (the IPC channel closes), the daemon exits.
 */
export interface ProbeReply {
  readonly type: 'mem';
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly cpuMs: number;
  readonly gc: boolean;
}

const gc = (globalThis as { gc?: () => void }).gc;

if (typeof process.send === 'function') {
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== 'mem') return;
    if (gc) {
      gc();
      gc();
    }
    const mu = process.memoryUsage();
    const c = process.cpuUsage();
    const reply: ProbeReply = {
      type: 'mem',
      heapUsed: mu.heapUsed,
      heapTotal: mu.heapTotal,
      rss: mu.rss,
      external: mu.external,
      arrayBuffers: mu.arrayBuffers,
      cpuMs: (c.user + c.system) / 1000,
      gc: gc !== undefined,
    };
    process.send!(reply);
  });
  // The IPC channel must not keep a daemon alive that was told to stop; and a daemon whose
  // benchmark went away (killed) must not be left behind.
  process.channel?.unref();
  process.once('disconnect', () => process.exit(0));
}
