// DESIGN.md: the protocol core (constants, codec, crypto, exchange) never touches sockets, timers,
// the file system, clocks or global randomness. This test reads their sources and fails if any does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const CORE = ['src/constants', 'src/codec', 'src/crypto', 'src/exchange'];
const FORBIDDEN: Array<[RegExp, string]> = [
  [/from\s+['"](node:)?(dgram|net|fs|fs\/promises|timers|timers\/promises|child_process|http|https|worker_threads)['"]/, 'I/O module import'],
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/\bnew Date\s*\(\s*\)/, 'new Date()'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\bsetTimeout\s*\(|\bsetInterval\s*\(|\bsetImmediate\s*\(/, 'timer'],
  [/\bprocess\.(hrtime|env|exit|stdout|stderr)\b/, 'process access'],
  [/\bperformance\.now\s*\(/, 'performance.now()'],
  [/\brandomBytes\s*\(|\brandomFillSync\s*\(|\brandomInt\s*\(|\brandomUUID\s*\(/, 'global randomness'],
];

function sources(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return out; }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(sources(p));
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('the sans-IO core imports no I/O and reads no clock or global randomness', () => {
  const files = CORE.flatMap(sources);
  assert.ok(files.length > 0, 'core sources found (run from the repository root)');
  const hits: string[] = [];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments may name what is forbidden
      for (const [re, what] of FORBIDDEN) if (re.test(line)) hits.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, []);
});
