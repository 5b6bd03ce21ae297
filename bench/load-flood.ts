/**
 * Flood source for the flood tests (test/interop/flood.test.ts through test/interop/flooder.ts,
 * test/interop/flood-defaults.test.ts directly): genuine phase-1 first messages made by the engine
 * — Main Mode message 1, or Aggressive Mode message 1 for a given identity (its SA, KE, nonce and
 * ID: the responder does all of its Diffie-Hellman work for each one it answers) — each with a
 * fresh random initiator cookie, from many local source addresses. Answers are read and thrown
 * away. Run it inside the namespace that holds the source addresses (interop/load/netns.sh spoof N,
 * or the addresses flood.test.ts adds).
 *
 * Two paces:
 *   - `--per N`: N messages from each source, spread evenly over `--seconds`;
 *   - `--per 0`: as fast as this process can send, for `--seconds` (sources taken in turn).
 *
 *   node build/bench/load-flood.js --target 198.19.10.2:500 --sources 1000 --per 20 --seconds 8
 *   node build/bench/load-flood.js --target 198.19.10.2:500 --per 0 --seconds 8
 *        --exchange aggressive --id @group.example --ike aes128-sha256-modp2048
 *
 * Prints one JSON line: {exchange, sent, seconds, rate, replies, sources}.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes, randomFillSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Endpoint } from '../src/exchange/index.js';
import { loadConnection, parseTarget } from './load-gen.js';

/** The k-th source address of interop/load/netns.sh spoof: 250 per /24 from 198.19.16.1. */
export function spoofAddress(k: number): string {
  return `198.19.${16 + Math.floor(k / 250)}.${1 + (k % 250)}`;
}

export type FloodExchange = 'main' | 'aggressive';

export interface FloodOptions {
  readonly target: { address: string; port: number };
  readonly sources: number;
  /** Messages from each source, spread evenly over `seconds`; 0 (or absent): as fast as we can for `seconds`. */
  readonly perSource?: number;
  readonly seconds: number;
  /** Which first message (default 'main'). */
  readonly exchange?: FloodExchange;
  /** Our identity in Aggressive Mode message 1 (`@group.name`, an address...): required for 'aggressive'. */
  readonly id?: string;
  /** Proposal in the first message (default aes128-sha256-modp2048: one the responder accepts, so it does its work). */
  readonly ike?: string;
  /** The k-th source address (default spoofAddress: the addresses of interop/load/netns.sh spoof). */
  readonly source?: (k: number) => string;
  /** Called once every socket is bound, just before the first message leaves. */
  readonly onStart?: () => void;
}

export interface FloodResult {
  readonly exchange: FloodExchange;
  readonly sent: number;
  readonly seconds: number;
  /** sent / seconds, rounded. */
  readonly rate: number;
  /** Messages answered: datagrams, an IKE fragmented answer counted once (by its first fragment). */
  readonly replies: number;
  readonly sources: number;
}

/** ISAKMP header length, the IKE fragment payload's type and its fragment number's offset in the datagram. */
const HEADER = 28;
const FRAGMENT_PAYLOAD = 132;
const FRAGMENT_NUMBER_AT = HEADER + 6;

/** Whether a datagram is a whole answer or the first fragment of one (later fragments are not counted). */
export function startsAnAnswer(d: Uint8Array): boolean {
  if (d.length <= FRAGMENT_NUMBER_AT || d[16] !== FRAGMENT_PAYLOAD) return true;
  return d[FRAGMENT_NUMBER_AT] === 1;
}

export interface FirstMessageOptions {
  readonly exchange?: FloodExchange;
  readonly ike?: string;
  readonly id?: string;
  readonly local?: string;
}

/**
 * A genuine phase-1 first message from the engine (its cookie is overwritten per datagram): Main
 * Mode message 1, or Aggressive Mode message 1 carrying `id` (a PSK connection that opted in to
 * Aggressive Mode, as a road warrior's group connection does).
 */
export function firstMessage(target: { address: string; port: number }, o: FirstMessageOptions = {}): Uint8Array {
  const exchange = o.exchange ?? 'main';
  if (exchange === 'aggressive' && o.id === undefined) throw new Error('load-flood: an Aggressive Mode flood needs --id (the identity in message 1)');
  const base = loadConnection(
    { target, count: 1, durationS: 1, psk: 'flood', ike: o.ike ?? 'aes128-sha256-modp2048', ...(o.id !== undefined ? { localId: o.id } : {}) },
    { address: o.local ?? spoofAddress(0), port: 500 },
    'flood',
  );
  const conn = exchange === 'aggressive' ? { ...base, exchange, allowAggressivePsk: true } : base;
  const ep = new Endpoint({ random: (n) => new Uint8Array(randomBytes(n)), connections: [conn] });
  ep.initiate(0, 'flood');
  const t = ep.pollTransmit();
  if (!t) throw new Error('load-flood: the engine made no first message');
  return t.data;
}

/** A genuine Main Mode message 1 (kept for callers of the Main-Mode-only flooder). */
export function mainModeFirstMessage(target: { address: string; port: number }, ike = 'aes128-sha256-modp2048', local = spoofAddress(0)): Uint8Array {
  return firstMessage(target, { exchange: 'main', ike, local });
}

/** Sockets bound to each source and connected to the target (a connected send needs no address lookup). */
async function openSources(o: FloodOptions, onReply: (d: Buffer) => void): Promise<Socket[]> {
  const source = o.source ?? spoofAddress;
  const socks: Socket[] = [];
  try {
    for (let k = 0; k < o.sources; k++) {
      const s = createSocket('udp4');
      s.on('error', () => {}); // ICMP errors and full buffers are part of a flood
      socks.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, source(k), () => {
          s.connect(o.target.port, o.target.address, () => {
            s.off('error', reject);
            resolve();
          });
        });
      });
      s.on('message', onReply);
    }
  } catch (e) {
    for (const s of socks) s.close();
    throw e;
  }
  return socks;
}

const BATCH = 128;
/** Sends not yet handed to the kernel, at most: a flood must not grow without bound in the flooder either. */
const MAX_QUEUED = 4096;

export async function flood(o: FloodOptions): Promise<FloodResult> {
  const exchange = o.exchange ?? 'main';
  const template = Buffer.from(firstMessage(o.target, { exchange, ...(o.ike !== undefined ? { ike: o.ike } : {}), ...(o.id !== undefined ? { id: o.id } : {}), local: (o.source ?? spoofAddress)(0) }));
  let replies = 0;
  const socks = await openSources(o, (d) => {
    if (startsAnAnswer(d)) replies++;
  });
  try {
    const cookies = Buffer.alloc(8 * BATCH);
    let sent = 0;
    let queued = 0;
    const done = (): void => {
      queued--;
    };
    const sendOne = (i: number): void => {
      const msg = Buffer.from(template);
      cookies.copy(msg, 0, 8 * (i % BATCH), 8 * (i % BATCH) + 8);
      queued++;
      socks[sent % socks.length]!.send(msg, done);
      sent++;
    };
    o.onStart?.();
    const t0 = performance.now();
    const end = t0 + o.seconds * 1000;
    const per = o.perSource ?? 0;
    if (per > 0) {
      // paced: the first `due` messages by now, evenly over the duration
      const total = o.sources * per;
      await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          const due = Math.min(total, Math.ceil(((performance.now() - t0) / (o.seconds * 1000)) * total));
          while (sent < due) {
            randomFillSync(cookies);
            for (let i = 0; i < BATCH && sent < due; i++) sendOne(i);
          }
          if (sent >= total) {
            clearInterval(tick);
            resolve();
          }
        }, 5);
      });
    } else {
      // as fast as we can: a batch, then a turn of the event loop (answers, send callbacks)
      while (performance.now() < end) {
        if (queued < MAX_QUEUED) {
          randomFillSync(cookies);
          for (let i = 0; i < BATCH; i++) sendOne(i);
        }
        await new Promise((r) => setImmediate(r));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 300)); // late answers
    return { exchange, sent, seconds: Math.round(seconds * 100) / 100, rate: Math.round(sent / seconds), replies, sources: o.sources };
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
      exchange: { type: 'string', default: 'main' },
      id: { type: 'string' },
    },
  });
  if (values.target === undefined) {
    console.error('load-flood: --target ADDRESS:PORT is required');
    process.exit(2);
  }
  if (values.exchange !== 'main' && values.exchange !== 'aggressive') {
    console.error(`load-flood: --exchange must be main or aggressive, not '${values.exchange}'`);
    process.exit(2);
  }
  if (values.exchange === 'aggressive' && values.id === undefined) {
    console.error('load-flood: --exchange aggressive needs --id IDENTITY (the identity in message 1, e.g. a group name the responder knows)');
    process.exit(2);
  }
  const r = await flood({
    target: parseTarget(values.target),
    sources: Number(values.sources),
    perSource: Number(values.per),
    seconds: Number(values.seconds),
    ike: values.ike!,
    exchange: values.exchange,
    ...(values.id !== undefined ? { id: values.id } : {}),
  });
  console.log(JSON.stringify(r));
}
