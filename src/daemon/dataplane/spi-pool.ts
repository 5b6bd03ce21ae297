/**
 * Inbound SPIs the kernel reserved (ALLOCSPI), kept ready per local address so that the engine,
 * which picks SPIs synchronously while answering Quick Mode, can take one without waiting.
 *
 * ALLOCSPI leaves a larval SA holding the SPI, unique for (our address, ESP); the inbound SA later
 * replaces it (UPDSA). The kernel drops a larval SA after net.core.xfrm_acq_expires (30 s by
 * default), so pooled SPIs older than `maxAgeMs` are thrown away, and a taken SPI whose larval SA
 * is gone by install time is installed with NEWSA instead.
 *
 * The pool refills in batches (one netlink batch of `batch` ALLOCSPI requests) when it falls below
 * `low`; an empty pool makes `take` return undefined and the engine draws a random SPI, as before.
 */
import type { KernelError } from './kernel.js';
import { familyOf } from './addresses.js';
import { IPPROTO_ESP, type XfrmSpiRequest } from './xfrm-messages.js';

/** reqids of larval SAs: 0x7f000000 and up (the adapter's own SAs count up from 1). */
export const LARVAL_REQID_BASE = 0x7f000000;

export interface SpiPoolOptions {
  /** Refill when fewer than this many wait (default 32). */
  readonly low?: number;
  /** SPIs asked for per refill (default 128; doubled, up to 1024, each time the pool runs dry). */
  readonly batch?: number;
  /** Pooled SPIs older than this are dropped (default 20 s, below the kernel's 30 s). */
  readonly maxAgeMs?: number;
  /** SPI range (default 0xc0000000-0xcfffffff). */
  readonly min?: number;
  readonly max?: number;
  readonly clock?: () => number;
}

interface Pool {
  readonly spis: number[];
  readonly times: number[];
  head: number;
  refilling: boolean;
  /** The last refill's refusal, to log once. */
  failed: string | undefined;
  /** Refills done: an empty pool after one means the pool is too small for the rate. */
  refills: number;
}

export class SpiPool {
  private readonly pools = new Map<string, Pool>();
  /** SPIs handed out whose larval SA may still exist: SPI → the time it was reserved. */
  private readonly handedOut = new Map<number, number>();
  private readonly low: number;
  private batch: number;
  private readonly maxBatch = 1024;
  private readonly maxAge: number;
  private readonly min: number;
  private readonly max: number;
  private readonly clock: () => number;
  /** ALLOCSPI requests sent so far (for the benchmark's kernel calls per SA). */
  requested = 0;
  private nextReqid = 0;

  constructor(
    private readonly alloc: (reqs: readonly XfrmSpiRequest[]) => Promise<(number | KernelError)[]>,
    private readonly log: (message: string) => void,
    o: SpiPoolOptions = {},
  ) {
    this.low = o.low ?? 32;
    this.batch = o.batch ?? 128;
    this.maxAge = o.maxAgeMs ?? 20_000;
    this.clock = o.clock ?? (() => performance.now());
    this.min = o.min ?? 0xc0000000;
    this.max = o.max ?? 0xcfffffff;
  }

  /** An SPI reserved for SAs to `local`, or undefined (pool empty: refilling). Never blocks. */
  take(local: string): number | undefined {
    let p = this.pools.get(local);
    if (p === undefined) {
      p = { spis: [], times: [], head: 0, refilling: false, failed: undefined, refills: 0 };
      this.pools.set(local, p);
    }
    const now = this.clock();
    let spi: number | undefined;
    while (p.head < p.spis.length) {
      const t = p.times[p.head] as number;
      const s = p.spis[p.head] as number;
      p.head++;
      if (now - t <= this.maxAge) {
        spi = s;
        this.handedOut.set(s, t);
        break;
      }
    }
    if (p.head > 1024 && p.head * 2 > p.spis.length) {
      p.spis.splice(0, p.head);
      p.times.splice(0, p.head);
      p.head = 0;
    }
    if (spi === undefined && p.refills > 0 && this.batch < this.maxBatch) this.batch *= 2; // ran dry: ask for more next time
    if (p.spis.length - p.head < this.low) void this.refill(local, p);
    return spi;
  }

  /** True when `spi` came from this pool recently enough that its larval SA should still exist; forgets it. */
  claim(spi: number): boolean {
    const t = this.handedOut.get(spi);
    if (t === undefined) return false;
    this.handedOut.delete(spi);
    return this.clock() - t < 29_000;
  }

  /** Forgets SPIs handed out long ago (their larval SAs are gone); bounded by the clock. */
  private sweep(): void {
    if (this.handedOut.size < 4096) return;
    const now = this.clock();
    for (const [s, t] of this.handedOut) if (now - t > 30_000) this.handedOut.delete(s);
  }

  private async refill(local: string, p: Pool): Promise<void> {
    if (p.refilling) return;
    p.refilling = true;
    this.sweep();
    try {
      const family = familyOf(local);
      const src = family === 6 ? '::' : '0.0.0.0';
      // each larval SA its own reqid (from a range our SAs never use: they count up from 1), so
      // that the kernel's hash chains of larval SAs stay short (it walks one on every ALLOCSPI)
      const reqs: XfrmSpiRequest[] = [];
      for (let i = 0; i < this.batch; i++) reqs.push({ family, src, dst: local, proto: IPPROTO_ESP, min: this.min, max: this.max, reqid: LARVAL_REQID_BASE + (this.nextReqid++ & 0xffffff) });
      this.requested += this.batch;
      const got = await this.alloc(reqs);
      const now = this.clock();
      let refused: KernelError | undefined;
      for (const g of got) {
        if (typeof g === 'number') {
          p.spis.push(g);
          p.times.push(now);
        } else refused ??= g;
      }
      if (refused !== undefined && p.failed !== refused.message) this.log(`xfrm: the kernel refused SPIs for ${local} (ALLOCSPI): ${refused.message}; random SPIs are used meanwhile`);
      p.failed = refused?.message;
      p.refills++;
    } finally {
      p.refilling = false;
    }
  }
}
