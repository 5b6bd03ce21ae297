/**
 * How the sharded endpoint reaches a shard (docs/scale.md): a worker thread of the daemon's process
 * (worker.ts; datagram buffers are transferred, `dpd` answers come through shared memory) or a
 * child process (shard-process.ts; V8 serialization over the IPC channel, and optionally the
 * shard's own sockets of every socket group, passed as its descriptors 4, 5, ...).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { FromShard, ShardInit, ToShard } from './protocol.js';
import type { SocketGroup } from './socket-group.js';

const WORKER = new URL('./worker.js', import.meta.url);
const PROCESS = new URL('./shard-process.js', import.meta.url);
/** How long a shard process may take to exit once its channel is closed. */
const CLOSE_WAIT_MS = 2000;

export interface ShardLink {
  /** The shard process' id (processes only; benchmarks read its CPU time). */
  readonly pid?: number;
  post(batch: ToShard[], transfer: ArrayBuffer[]): void;
  /** Ends the shard (its SAs are gone with it). */
  close(): Promise<void>;
}

export interface LinkHandlers {
  message(batch: FromShard[]): void;
  /** The shard ended on its own (an uncaught error, killed). */
  stopped(why: string): void;
}

/** A shard process' socket of one group: where the group listens, and the descriptor in the child. */
export interface ShardSocket {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
  readonly natt: boolean;
  readonly fd: number;
}

/** What the first IPC message to a shard process holds. */
export interface ShardProcessStart {
  readonly init: ShardInit;
  readonly sockets: readonly ShardSocket[];
}

export function threadLink(init: ShardInit, h: LinkHandlers, resourceLimits?: ResourceLimits): ShardLink {
  const w = new Worker(WORKER, { workerData: init, ...(resourceLimits !== undefined ? { resourceLimits } : {}) });
  w.on('message', (batch: FromShard[]) => h.message(batch));
  w.on('error', (err) => h.stopped(err.message));
  w.unref();
  return {
    post: (batch, transfer) => w.postMessage(batch, transfer),
    close: async () => void (await w.terminate()),
  };
}

/** Shard `init.shard` in a child process; with `groups`, it gets socket `init.shard` of each. */
export function processLink(init: ShardInit, h: LinkHandlers, groups: readonly SocketGroup[] = []): ShardLink {
  const fds = groups.map((g) => g.fds[init.shard]!);
  const child: ChildProcess = fork(PROCESS, [], {
    serialization: 'advanced',
    stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...fds],
    execArgv: [],
  });
  let closing = false;
  child.on('message', (batch: FromShard[]) => h.message(batch));
  child.on('exit', (code, signal) => {
    if (!closing) h.stopped(signal !== null ? `killed by ${signal}` : `exited with code ${code}`);
  });
  child.on('error', (err) => {
    if (!closing) h.stopped(err.message);
  });
  // the IPC channel stays referenced: with the shards owning the sockets it is what the main
  // process waits on (close() ends it)
  const start: ShardProcessStart = { init, sockets: groups.map((g, k) => ({ address: g.address, family: g.family, port: g.port, natt: g.natt, fd: 4 + k })) };
  child.send(start);
  return {
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    post: (batch) => {
      if (child.connected) child.send(batch);
    },
    // the shard exits when its channel closes (it ignores signals sent to the daemon's group)
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const stuck = setTimeout(() => child.kill('SIGKILL'), CLOSE_WAIT_MS);
        child.once('exit', () => {
          clearTimeout(stuck);
          resolve();
        });
        if (child.connected) child.disconnect();
        else child.kill('SIGKILL');
      }),
  };
}
