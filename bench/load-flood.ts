/**
 * Flood source for test/interop/flood-load.test.ts: Main Mode first messages (a genuine MM1 made by
 * the engine, with a fresh random initiator cookie each) from many local source addresses, spread
 * evenly over a few seconds. Answers (MM2) are read and thrown away. Run it inside the namespace
 * that holds the source addresses (interop/load/netns.sh spoof N).
 *
 *   node build/bench/load-flood.js --target 198.19.10.2:500 --sources 1000
 *        --per 20 --seconds 8
 *
 * Prints one JSON line: {sent, seconds, replies, sources}.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Endpoint } from '../src/exchange/index.js';
import { loadConnection, parseTarget } from './load-gen.js';

/** The k-th source address of interop/load/netns.sh spoof: 250 per /24 from 198.19.16.1. */
export function spoofAddress(k: number): string {
  return `198.19.${16 + Math.floor(k / 250)}.${1 + (k % 250)}`;
}

export interface FloodOptions {
  readonly target: { address: string; port: number };
  readonly sources: number;
  readonly perSource: number;
  readonly seconds: number;
  /** Proposal in MM1 (default aes128-sha256-modp2048: one the responder accepts, so it keeps state). */
  readonly ike?: string;
  /** The k-th source address (default spoofAddress: the addresses of interop/load/netns.sh spoof). */
  readonly source?: (k: number) => string;
}

export interface FloodResult {
  readonly sent: number;
  readonly seconds: number;
  readonly replies: number;
  readonly sources: number;
}

/** A genuine Main Mode message 1 from the engine (its cookie is overwritten per datagram). */
export function mainModeFirstMessage(target: { address: string; port: number }, ike = 'aes128-sha256-modp2048', local = spoofAddress(0)): Uint8Array {
  const conn = loadConnection({ target, count: 1, durationS: 1, psk: 'flood', ike }, { address: local, port: 500 }, 'flood');
  const ep = new Endpoint({ random: (n) => new Uint8Array(randomBytes(n)), connections: [conn] });
  ep.initiate(0, 'flood');
  const t = ep.pollTransmit();
  if (!t) throw new Error('load-flood: the engine made no first message');
  return t.data;
}

export async function flood(o: FloodOptions): Promise<FloodResult> {
  const source = o.source ?? spoofAddress;
  const template = Buffer.from(mainModeFirstMessage(o.target, o.ike, source(0)));
  const socks: Socket[] = [];
  let replies = 0;
  try {
    for (let k = 0; k < o.sources; k++) {
      const s = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, source(k), () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('message', () => replies++);
      s.on('error', () => {}); // ICMP errors and full buffers are part of a flood
      socks.push(s);
    }
    const total = o.sources * o.perSource;
    const cookies = randomBytes(8 * total);
    let sent = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.ceil(((performance.now() - t0) / (o.seconds * 1000)) * total));
        for (; sent < due; sent++) {
          const msg = Buffer.from(template);
          cookies.copy(msg, 0, 8 * sent, 8 * sent + 8);
          socks[sent % o.sources]!.send(msg, o.target.port, o.target.address);
        }
        if (sent >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 300)); // late MM2s
    return { sent, seconds: Math.round(seconds * 100) / 100, replies, sources: o.sources };
  } finally {
    for (const s of socks) s.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      sources: { type: 'string', default: '1000' },
      per: { type: 'string', default: '20' },
      seconds: { type: 'string', default: '8' },
      ike: { type: 'string', default: 'aes128-sha256-modp2048' },
    },
  });
  if (values.target === undefined) {
    console.error('load-flood: --target ADDRESS:PORT is required');
    process.exit(2);
  }
  const r = await flood({ target: parseTarget(values.target), sources: Number(values.sources), perSource: Number(values.per), seconds: Number(values.seconds), ike: values.ike! });
  console.log(JSON.stringify(r));
}
