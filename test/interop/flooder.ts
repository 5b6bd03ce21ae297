/**
 * Flood helper for test/interop/flood.test.ts, run inside a namespace: phase-1 first messages
 * (Main Mode, or Aggressive Mode for `--id`; each with a fresh initiator cookie and a proposal the
 * responder accepts) from `--sources` local addresses counted up from `--base`, either `--per` from
 * each spread over `--seconds`, or with `--per 0` as fast as this process can send for `--seconds`.
 * The flooding itself is bench/load-flood.ts's `flood()`. Prints `flooder: sending` on stderr when
 * the first message leaves, then one JSON line {exchange, sent, seconds, rate, replies} on stdout.
 *
 *   node flooder.js --target 198.18.0.2:500 --base 198.18.4.0 --sources 1000 --per 20 --seconds 8
 *   node flooder.js --target 198.18.0.2:500 --base 198.18.4.0 --sources 1000 --per 0 --seconds 8
 *        --exchange aggressive --id @group.peers.test
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
    exchange: { type: 'string', default: 'main' },
    id: { type: 'string' },
    ike: { type: 'string', default: 'aes128-sha256-modp2048' },
  },
});

if (values.exchange !== 'main' && values.exchange !== 'aggressive') {
  console.error(`flooder: --exchange must be main or aggressive, not '${values.exchange}'`);
  process.exit(2);
}
if (values.exchange === 'aggressive' && values.id === undefined) {
  console.error('flooder: --exchange aggressive needs --id IDENTITY (a group name the daemon knows)');
  process.exit(2);
}

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
  exchange: values.exchange,
  ike: values.ike!,
  ...(values.id !== undefined ? { id: values.id } : {}),
  source: (k) => addr(values.base!, k),
  onStart: () => process.stderr.write('flooder: sending\n'),
});
console.log(JSON.stringify({ exchange: r.exchange, sent: r.sent, seconds: r.seconds, rate: r.rate, replies: r.replies }));
