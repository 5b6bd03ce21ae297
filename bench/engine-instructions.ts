/**
 * Instruction counts of the engine bench's handshake (issue 11): repeatable where CPU time on a
 * shared machine is not. One process runs `warm` handshakes (JIT settles), then `n` more, of one
 * kind: `engine` (two endpoints, Main Mode PSK + Quick Mode, as bench/engine.bench.ts) or `crypto`
 * (the bench's cryptoOnly, the same src/crypto calls). Run it under valgrind twice with different
 * `n` and subtract: start-up and warm-up cancel, the difference over the extra handshakes is the
 * instructions per handshake.
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node build/bench/engine-instructions.js engine 19 1000 200 1200
 * `bash bench/engine-instructions.sh [group]` runs the four processes and prints the figures.
 */
import { pathToFileURL } from 'node:url';
import { Endpoint } from '../src/exchange/index.js';
import { connA, connB, cryptoOnly, ONE_PEER, pump, random } from './engine.bench.js';

export function run(kind: string, group: number, warm: number, n: number, setup: number): void {
  if (kind === 'crypto') {
    for (let i = 0; i < warm + n; i++) cryptoOnly(group);
    return;
  }
  const a = new Endpoint({ random, ...ONE_PEER });
  const b = new Endpoint({ random, connections: [connB(group)] });
  // connections are configuration: the same number in both runs of a subtraction (so they cancel)
  for (let i = 0; i < Math.max(setup, warm + n); i++) a.setConnection(connA(i, group));
  let ok = 0;
  const batch = 50;
  for (let start = 0; start < warm + n; start += batch) {
    const end = Math.min(warm + n, start + batch);
    for (let i = start; i < end; i++) a.initiate(1, `c${i}`);
    ok += pump(a, b, 1);
  }
  if (ok !== warm + n) throw new Error(`${ok}/${warm + n} handshakes completed`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [kind = 'engine', group = '19', warm = '1000', n = '200', setup = '0'] = process.argv.slice(2);
  run(kind, Number(group), Number(warm), Number(n), Number(setup));
}
