/**
 * An engine shard in a worker thread (shard-loop.ts), started by sharded-endpoint.ts with a
 * ShardInit as its `workerData`. `dpd` answers go to shared memory the main thread waits on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ShardInit, ToShard } from './protocol.js';
import { runShard } from './shard-loop.js';

const init = workerData as ShardInit;
const port = parentPort!;
const dpdAnswers = new Int32Array(init.dpdAnswers!);

runShard(init, {
  post: (m, transfer = []) => port.postMessage([m], transfer),
  onMessage: (f) => port.on('message', (batch: ToShard[]) => f(batch)),
  answerDpd(req, seq, outcome) {
    // the main thread waits on the answer (Atomics): the request number goes last
    Atomics.store(dpdAnswers, 1, seq | 0);
    Atomics.store(dpdAnswers, 2, outcome);
    Atomics.store(dpdAnswers, 0, req);
    Atomics.notify(dpdAnswers, 0);
  },
});
