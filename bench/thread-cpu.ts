/**
 * Benchmarks only: CPU time per thread of this process, from Linux's /proc/self/task/TID/schedstat
 * (nanoseconds on a CPU, per thread). Node 20 has no per-thread CPU clock for worker threads
 * (process.cpuUsage() counts the whole process), so the shard bench reads it here: the main
 * thread is the thread whose id is the process id, a shard is a thread that appeared when its
 * worker was started, the rest are V8's platform threads (GC, compiler) and libuv's.
 * Elsewhere than Linux every figure is absent.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TASKS = '/proc/self/task';

/** CPU nanoseconds by thread id. */
export function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  if (!existsSync(TASKS)) return out;
  for (const t of readdirSync(TASKS)) {
    try {
      const ns = Number(readFileSync(`${TASKS}/${t}/schedstat`, 'utf8').split(' ')[0]);
      out.set(Number(t), ns);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** A thread's name (Linux's comm: V8's platform workers, libuv's, the inspector...), or '?'. */
function threadName(tid: number): string {
  try {
    return readFileSync(`${TASKS}/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Thread ids now alive. */
export function threadIds(): Set<number> {
  return new Set(threadCpu().keys());
}

/** CPU ms spent between two samples, grouped: main thread, the given threads by name, and the rest. */
export function cpuBetween(a: Map<number, number>, b: Map<number, number>, named: ReadonlyMap<number, string>): Map<string, number> {
  const out = new Map<string, number>([['main', 0]]);
  for (const name of named.values()) out.set(name, 0);
  out.set('other threads', 0);
  for (const [tid, ns] of b) {
    const d = (ns - (a.get(tid) ?? 0)) / 1e6;
    const name = tid === process.pid ? 'main' : (named.get(tid) ?? (process.env.SHARDS_TIDS ? `${threadName(tid)} ${tid}` : 'other threads'));
    out.set(name, (out.get(name) ?? 0) + d);
  }
  return out;
}
