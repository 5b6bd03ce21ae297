/**
 * Codec benchmark: decode and encode rates of a Main Mode first message with 8 transforms and of a
 * Quick Mode first message (its plaintext payloads in a clear message), plus V8 heap bytes
 * retained per decoded message. Target (issue 2): ≥ 300,000 MM1 decodes/s and encodes/s on one
 * core. Run: `node --expose-gc build/bench/codec.bench.js` (≈ 5 s); `--quick` ≈ 1.5 s.
 * @module
 */
import { pathToFileURL } from 'node:url';
import { decodeMessage, encodeMessage, type Message } from '../src/codec/index.js';
import { mm1Sa, quickMode1Payloads, VID_DPD, VID_RFC3947 } from '../src/cli/sample.js';

export interface CodecBenchRow {
  name: string;
  bytes: number;
  decodesPerSec: number;
  encodesPerSec: number;
}

export interface CodecBenchResult {
  rows: CodecBenchRow[];
  heapBytesPerDecodedMm1: number | undefined;
}

function header(exchangeType: number, messageId: number): Message['header'] {
  return {
    initiatorCookie: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), responderCookie: new Uint8Array(8), nextPayload: 0,
    majorVersion: 1, minorVersion: 0, exchangeType, flags: 0, messageId,
  };
}

export function mm1Message(): Message {
  return { header: header(2, 0), payloads: [mm1Sa(8), { type: 'VID', data: VID_RFC3947 }, { type: 'VID', data: VID_DPD }] };
}

export function qm1Message(): Message {
  return { header: header(32, 0x1d2c3b4a), payloads: quickMode1Payloads() };
}

let sink = 0;

/** Operations per second of `fn`, best of `rounds` rounds of `ms` milliseconds each. */
function rate(fn: () => void, ms: number, rounds: number): number {
  for (let i = 0; i < 20000; i++) fn(); // warm-up (JIT)
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const limit = BigInt(ms) * 1_000_000n;
    let t = t0;
    while (t - t0 < limit) {
      for (let i = 0; i < 1000; i++) fn();
      n += 1000;
      t = process.hrtime.bigint();
    }
    best = Math.max(best, n / (Number(t - t0) / 1e9));
  }
  return best;
}

/** Heap bytes retained per decoded MM1: keep N decoded messages alive and measure the growth. */
function heapPerMessage(bytes: Uint8Array): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  const N = 20000;
  const keep: Message[] = new Array(N);
  gc(); gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) keep[i] = decodeMessage(bytes);
  gc(); gc();
  const after = process.memoryUsage().heapUsed;
  sink += keep.length;
  return Math.round((after - before) / N);
}

export function main(argv: string[] = process.argv.slice(2)): CodecBenchResult {
  const quick = argv.includes('--quick');
  const ms = quick ? 120 : 350;
  const rounds = 3;
  const rows: CodecBenchRow[] = [];
  for (const [name, msg] of [['MM1 (SA, 8 transforms, 2 VIDs)', mm1Message()], ['QM1 (HASH, SA, Ni, IDci, IDcr; clear)', qm1Message()]] as const) {
    const bytes = encodeMessage(msg);
    const decoded = decodeMessage(bytes);
    const decodesPerSec = rate(() => { sink += decodeMessage(bytes).payloads.length; }, ms, rounds);
    const encodesPerSec = rate(() => { sink += encodeMessage(decoded).length; }, ms, rounds);
    rows.push({ name, bytes: bytes.length, decodesPerSec, encodesPerSec });
  }
  const heapBytesPerDecodedMm1 = heapPerMessage(encodeMessage(mm1Message()));
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(10);
  console.log('message                                  bytes   decodes/s   encodes/s');
  for (const r of rows) console.log(`${r.name.padEnd(40)} ${String(r.bytes).padStart(5)} ${fmt(r.decodesPerSec)}  ${fmt(r.encodesPerSec)}`);
  console.log(`heap bytes retained per decoded MM1: ${heapBytesPerDecodedMm1 ?? 'n/a (run with --expose-gc)'}`);
  const mm1 = rows[0]!;
  const target = 300_000;
  console.log(`target ≥ ${target.toLocaleString('en-US')}/s: decode ${mm1.decodesPerSec >= target ? 'met' : 'MISSED'}, encode ${mm1.encodesPerSec >= target ? 'met' : 'MISSED'}`);
  if (sink === -1) console.log('');
  return { rows, heapBytesPerDecodedMm1 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
