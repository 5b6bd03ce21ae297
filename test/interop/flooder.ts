/**
 * Flood helper for test/interop/flood.test.ts, run inside a namespace: Main Mode first messages
 * (each with a fresh initiator cookie, a proposal the responder accepts) from `--sources` local
 * addresses counted up from `--base`, spread evenly over a few seconds. The flooding itself is
 * bench/load-flood.ts's `flood()`. Prints one JSON line {sent, seconds}.
 *
 *   node flooder.js --target 198.18.0.2:500 --base 198.18.4.0 --sources 1000 --per 20 --seconds 8
 */
import { parseArgs } from 'node:util';
import { flood } from '../../bench/load-flood.js';
import { parseTarget } from '../../bench/load-gen.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: '198.18.0.2:500' },
    base: { type: 'string', default: '198.18.4.0' },
    sources: { type: 'string', default: '1000' },
    per: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '8' },
  },
});

/** The i-th IPv4 address after `base`. */
function addr(base: string, i: number): string {
  const b = base.split('.').map(Number) as [number, number, number, number];
  const n = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) + i;
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const r = await flood({
  target: parseTarget(values.target!),
  sources: Number(values.sources),
  perSource: Number(values.per),
  seconds: Number(values.seconds),
  source: (k) => addr(values.base!, k),
});
console.log(JSON.stringify({ sent: r.sent, seconds: r.seconds }));
