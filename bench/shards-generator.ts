/**
 * The process legs' load generator (bench/shards-process.ts), in a worker thread of the bench so
 * that its CPU time is told apart from the main thread's (which plays the daemon's main process:
 * the shards' events come to it). Per job: replays recorded conversations from 64 source sockets
 * to the shards' port, each answer releasing the next recorded message of its conversation (a map
 * lookup and a send); the recording is the one made against the shard the answer names.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';

export interface GeneratorJob {
  readonly port: number;
  readonly shards: number;
  /** Conversations by index, then by shard: the initiator's messages. */
  readonly recordings: readonly (readonly Uint8Array[])[];
  readonly concurrency: number;
  /** Start the conversations on the shards in turn (by what the warm-up learned of the source ports). */
  readonly balance: boolean;
}

/** Posted when every conversation's last message is sent. */
export interface GeneratorDone {
  readonly sent: number;
}

const SOURCES = 64;
const port = parentPort!;
const sources: Socket[] = [];
/** Which shard each source socket's first messages reach (learned from the answers). */
const shardOfSource = new Array<number>(SOURCES).fill(-1);

async function open(): Promise<void> {
  for (let j = 0; j < SOURCES; j++) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.setRecvBufferSize(4 << 20);
    sources.push(s);
  }
}

function run(job: GeneratorJob): void {
  interface Flight {
    readonly i: number;
    messages: readonly Uint8Array[] | undefined;
    next: number;
  }
  const n = job.shards;
  const flights = new Map<string, Flight>();
  const bySource: number[][] = Array.from({ length: n }, () => []);
  shardOfSource.forEach((k, j) => k >= 0 && k < n && bySource[k]!.push(j));
  const cursor = new Array<number>(n).fill(0);
  let started = 0;
  let finished = 0;
  const pick = (c: number): number => {
    const list = bySource[c % n]!;
    return !job.balance || list.length === 0 ? c % SOURCES : list[cursor[c % n]!++ % list.length]!;
  };
  const start = (): void => {
    while (started < job.recordings.length && started - finished < job.concurrency) {
      const i = started++;
      const mm1 = job.recordings[i]![0]!; // the same against every shard
      flights.set(Buffer.from(mm1.buffer, mm1.byteOffset, 8).toString('hex'), { i, messages: undefined, next: 1 });
      sources[pick(i)]!.send(mm1, job.port, '127.0.0.1');
    }
  };
  const onAnswer = (j: number, msg: Buffer): void => {
    if (msg.length < 16) return;
    const ic = msg.toString('hex', 0, 8);
    const f = flights.get(ic);
    if (f === undefined) return;
    if (f.messages === undefined) {
      const k = msg[8]!; // our responder cookie: its shard
      shardOfSource[j] = k;
      f.messages = job.recordings[f.i]!.slice(k * 5, k * 5 + 5);
    }
    const m = f.messages[f.next++];
    if (m === undefined) return;
    sources[j]!.send(m, job.port, '127.0.0.1');
    if (f.next >= f.messages.length) {
      flights.delete(ic);
      finished++;
      if (finished >= job.recordings.length) {
        for (const s of sources) s.removeAllListeners('message');
        port.postMessage({ sent: finished } satisfies GeneratorDone);
      } else start();
    }
  };
  sources.forEach((s, j) => s.on('message', (msg) => onAnswer(j, msg)));
  start();
}

// a job, answered `ready` once its recordings are here and the sockets open; then `go`
const opened = open();
let loaded: GeneratorJob | undefined;
port.on('message', (m: GeneratorJob | 'go') => {
  if (m === 'go') run(loaded!);
  else {
    loaded = m;
    void opened.then(() => port.postMessage('ready'));
  }
});
port.on('close', () => {
  for (const s of sources) s.close();
});
