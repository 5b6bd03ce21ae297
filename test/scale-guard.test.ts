// Issue 15: the shards and the replication live in the daemon. The sans-IO core (constants, codec,
// crypto, exchange) learns nothing about threads or stores: it imports nothing of the daemon,
// no thread, network or HTTP module, and names no worker, atomics, lease or store. The engine's
// part is plain: a cookie tag option and SA snapshots as records (src/exchange/snapshot.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const CORE = ['src/constants', 'src/codec', 'src/crypto', 'src/exchange'];
const FORBIDDEN: Array<[RegExp, string]> = [
  [/from\s+['"][./]*\/daemon\//, 'import from the daemon'],
  [/from\s+['"](node:)?(worker_threads|cluster|http|http2|https|net|dgram|child_process)['"]/, 'thread, network or process module'],
  [/\b(Worker|parentPort|workerData|MessageChannel|MessagePort|SharedArrayBuffer|Atomics|BroadcastChannel)\b/, 'thread primitive'],
  [/\b(etcd|redis|valkey|lease|shard)\w*/i, 'store or shard notion'],
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('the sans-IO engine knows nothing of threads, shards or stores', () => {
  const files = CORE.flatMap(sources);
  assert.ok(files.includes(join('src/exchange', 'snapshot.ts')), 'the snapshot module is part of the engine');
  const hits: string[] = [];
  for (const f of files) {
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*\*)/.test(line)) return; // comments may say what the daemon does with it
        for (const [re, what] of FORBIDDEN) if (re.test(line)) hits.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
      });
  }
  assert.deepEqual(hits, []);
});

test('the shards and the replication are daemon modules that drive the engine from outside', () => {
  const daemonSide = [...sources('src/daemon/shards'), ...sources('src/daemon/ha')];
  assert.ok(daemonSide.length >= 8, 'shard and HA modules found');
  for (const f of daemonSide) {
    const text = readFileSync(f, 'utf8');
    // the engine's internals stay internal: only its surface, its records and the snapshot functions
    for (const m of text.matchAll(/from\s+['"]((?:\.\.\/)+exchange\/[^'"]+)['"]/g)) {
      assert.match(m[1]!, /exchange\/(index|snapshot|types)\.js$/, `${f} imports ${m[1]} (engine internals)`);
    }
  }
});
