/**
 * Flood helper for test/interop/flood.test.ts, run inside a namespace: sends Main Mode first
 * messages (each with a fresh initiator cookie, a proposal the responder accepts) from many local
 * source addresses, spread evenly over a few seconds. Prints one JSON line {sent, seconds}.
 *
 *   node flooder.js --target 198.18.0.2:500 --base 198.18.4.0 --sources 1000 --per 20 --seconds 8
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Endpoint } from '../../src/exchange/index.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    base: { type: 'string', default: '198.18.4.0' },
    sources: { type: 'string', default: '1000' },
    per: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '8' },
  },
});
const [host, port] = (values.target ?? '198.18.0.2:500').split(':') as [string, string];
const sources = Number(values.sources);
const per = Number(values.per);
const seconds = Number(values.seconds);

function addr(base: string, i: number): string {
  const b = base.split('.').map(Number) as [number, number, number, number];
  const n = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) + i;
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

// One genuine MM1 from the engine, used as a template (only the cookie changes).
const ep = new Endpoint({
  random: (n) => new Uint8Array(randomBytes(n)),
  connections: [
    {
      name: 'flood',
      local: { address: addr(values.base as string, 0), port: 500 },
      remote: { address: host, port: Number(port) },
      auth: 'psk',
      psk: new TextEncoder().encode('flood'),
      ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }],
      ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 }],
      initialContact: false,
    },
  ],
});
ep.initiate(0, 'flood');
const template = ep.pollTransmit()?.data;
if (!template) throw new Error('no MM1 template');

const socks: Socket[] = [];
for (let i = 0; i < sources; i++) {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, addr(values.base as string, i), () => resolve());
  });
  s.on('message', () => {}); // answers (MM2) are read and ignored
  socks.push(s);
}

const total = sources * per;
const t0 = performance.now();
let sent = 0;
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const due = Math.min(total, Math.ceil(((performance.now() - t0) / 1000 / seconds) * total));
    while (sent < due) {
      const msg = Buffer.from(template);
      randomBytes(8).copy(msg, 0);
      (socks[sent % sources] as Socket).send(msg, Number(port), host);
      sent++;
    }
    if (sent >= total) {
      clearInterval(tick);
      resolve();
    }
  }, 10);
});
const elapsed = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 200));
for (const s of socks) s.close();
console.log(JSON.stringify({ sent, seconds: elapsed }));
