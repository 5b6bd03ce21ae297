/**
 * node:crypto in two threads of one process against two processes (issue 15, docs/scale.md): the
 * same loop of object creations (HMAC, hash, CBC cipher, ECDH key pair, and the handshake's mix)
 * run by one and by two worker threads of one process, and by one and by two processes, each for
 * a fixed time after a warm-up; operations per second of each runner, and each of two against one. Shows what a second engine shard costs the
 * first when both live in one process (OpenSSL 3.0's shared state), apart from any hand-off.
 *   node build/bench/crypto-threads.bench.js        (also run by `npm run bench -- crypto-threads`)
 * Environment: CRYPTO_THREADS_MS (default 4000 per run), CRYPTO_THREADS_MIXES (default handshake;
 * also hmac, hash, cipher, ecdh).
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createECDH, createHash, createHmac } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

type Mix = 'hmac' | 'hash' | 'cipher' | 'ecdh' | 'handshake';
const MIXES: readonly Mix[] = ['hmac', 'hash', 'cipher', 'ecdh', 'handshake'];
const MS = Number(process.env.CRYPTO_THREADS_MS ?? 4000);
/** The mixes to run (default: the handshake's; single-call loops vary by ±30 % between runs on this VM). */
const RUN_MIXES = (process.env.CRYPTO_THREADS_MIXES ?? 'handshake').split(',') as Mix[];
const SELF = fileURLToPath(import.meta.url);

const KEY = Buffer.alloc(16, 1);
const IV = Buffer.alloc(16, 2);
const DATA = Buffer.alloc(200, 3);

function hmacs(n: number): void {
  for (let i = 0; i < n; i++) createHmac('sha256', KEY).update(DATA).digest();
}
function hashes(n: number): void {
  for (let i = 0; i < n; i++) createHash('sha256').update(DATA).digest();
}
function ciphers(n: number): void {
  for (let i = 0; i < n; i++) {
    const c = createCipheriv('aes-128-cbc', KEY, IV);
    c.update(DATA);
    c.final();
  }
}
function keyPair(): void {
  createECDH('prime256v1').generateKeys();
}

/** One operation of a mix; the handshake mix is one side's object count of an ECP-256 MM PSK + QM. */
const OPS: Readonly<Record<Mix, () => void>> = {
  hmac: () => hmacs(1),
  hash: () => hashes(1),
  cipher: () => ciphers(1),
  ecdh: keyPair,
  handshake: () => {
    keyPair();
    hmacs(26);
    hashes(8);
    ciphers(10);
  },
};

/** Runs `mix` for `ms` (after a quarter of that unmeasured, for the JIT) and returns operations per second. */
function run(mix: Mix, ms: number): number {
  const op = OPS[mix];
  const w0 = Date.now();
  while (Date.now() - w0 < ms / 4) op();
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < ms) {
    op();
    n++;
  }
  return (n * 1000) / (Date.now() - t0);
}

function inWorkers(mix: Mix, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      new Promise<number>((resolve, reject) => {
        const w = new Worker(SELF, { workerData: { mix, ms: MS } });
        w.once('message', (r: number) => resolve(r));
        w.once('error', reject);
      }),
    ),
  );
}

function inProcesses(mix: Mix, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      new Promise<number>((resolve, reject) => {
        const p = spawn(process.execPath, [SELF, '--child', mix], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.once('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`child exited ${code}`))));
      }),
    ),
  );
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  console.log(`crypto-threads: operations per second of each runner, ${MS} ms per run; ${cores} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (cores < 2) console.log('  (one core: two runners share it; the comparison below needs two)');
  const f = (xs: readonly number[]): string => xs.map((x) => x.toFixed(0).padStart(7)).join(' ');
  for (const mix of RUN_MIXES) {
    if (!MIXES.includes(mix)) throw new Error(`unknown mix ${mix} (${MIXES.join(', ')})`);
    const w1 = await inWorkers(mix, 1);
    const w2 = await inWorkers(mix, 2);
    const p1 = await inProcesses(mix, 1);
    const p2 = await inProcesses(mix, 2);
    const per = (xs: readonly number[], base: number): string => (xs.reduce((a, b) => a + b, 0) / xs.length / base).toFixed(2);
    console.log(`  ${mix.padEnd(9)} workers: 1 ${f(w1)}, 2 ${f(w2)} (${per(w2, w1[0]!)}x each)   processes: 1 ${f(p1)}, 2 ${f(p2)} (${per(p2, p1[0]!)}x each)`);
  }
}

if (!isMainThread) {
  const { mix, ms } = workerData as { mix: Mix; ms: number };
  parentPort!.postMessage(run(mix, ms));
} else if (process.argv[2] === '--child') {
  process.stdout.write(`${run(process.argv[3] as Mix, MS)}\n`);
} else {
  await main();
}
