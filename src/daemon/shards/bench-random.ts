/**
 * Benchmarks only (bench/shards.bench.ts): randomness that depends on a seed and on the initiator
 * cookie of the datagram being handled, so that a responder's answers to a recorded conversation
 * are the same every time it is replayed: the load can then come from pre-computed messages and
 * cost the generator nothing. Every key it yields is predictable; the daemon never uses it.
 */
import { createHmac, randomBytes } from 'node:crypto';

export class BenchRandom {
  /** The initiator cookie (hex) of the datagram being handled; undefined outside one. */
  current: string | undefined;
  private readonly counters = new Map<string, number>();

  constructor(private readonly seed: string) {}

  /** Sets `current` from a datagram (its first 8 bytes). */
  enter(data: Uint8Array): void {
    this.current = Buffer.from(data.subarray(0, 8)).toString('hex');
  }

  readonly random = (n: number): Uint8Array => {
    const ic = this.current;
    if (ic === undefined) return new Uint8Array(randomBytes(n));
    const c = this.counters.get(ic) ?? 0;
    this.counters.set(ic, c + 1);
    const out = new Uint8Array(n);
    for (let o = 0, k = 0; o < n; k++, o += 32) {
      const h = createHmac('sha256', this.seed).update(`${ic}/${c}/${k}`).digest();
      out.set(h.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  };
}
