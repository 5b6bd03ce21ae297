/**
 * Token buckets for the expensive first answers (issue 9.7): an Aggressive Mode first message
 * costs the responder a Diffie-Hellman key pair, a shared secret and HASH_R (a signature with
 * certificates) before the peer showed it receives at its address, so a spoofed flood could
 * otherwise burn every CPU cycle. One bucket over all sources and one per source address; a
 * message is answered only when both have a token. Time is the engine's `now` (ms).
 */

/** A token bucket: `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number | undefined;

  constructor(private readonly rate: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether a token is there, without taking it. */
  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  private refill(now: number): void {
    if (this.at !== undefined && now > this.at) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}

export interface RateLimit {
  /** Answers per second over all sources, and how many may come at once. */
  readonly perSecond: number;
  readonly burst: number;
  /** Answers per second to one source address, and how many may come at once. */
  readonly perSourcePerSecond: number;
  readonly perSourceBurst: number;
}

/** The global bucket and a bounded table of per-source buckets (a spoofed flood has endless sources). */
export class FirstAnswerLimiter {
  private readonly all: TokenBucket;
  private readonly bySource = new Map<string, TokenBucket>();

  constructor(private readonly limit: RateLimit, private readonly maxSources = 4096) {
    this.all = new TokenBucket(limit.perSecond, limit.burst);
  }

  /**
   * Takes a token from both buckets, or from neither. A `known` source (one with an established
   * ISAKMP SA: it proved its address before) needs only its own bucket, so that a flood of
   * spoofed sources never locks out the peers we already serve.
   */
  take(now: number, source: string, known = false): boolean {
    if (!known && !this.all.has(now)) return false;
    let b = this.bySource.get(source);
    if (!b) {
      // a full table is forgotten at once: its sources start with full buckets again, which the
      // global bucket still bounds
      if (this.bySource.size >= this.maxSources) this.bySource.clear();
      b = new TokenBucket(this.limit.perSourcePerSecond, this.limit.perSourceBurst);
      this.bySource.set(source, b);
    }
    if (!b.take(now)) return false;
    return known || this.all.take(now);
  }
}

/**
 * Admission of phase-1 first messages (zero responder cookie, unknown initiator cookie) before
 * anything is decoded beyond the header (issue 9.7). While first messages arrive within the
 * global rate, every one is admitted, with no bookkeeping per source. Past it — a flood — a first
 * message is admitted only when its source address still has a token of its own: a peer that
 * sends one first message and waits (every legitimate initiator, also the thousands of a
 * reconnect storm) always gets through, a source that repeats itself faster than
 * `perSourcePerSecond` is refused before any work. The per-source records are bounded
 * (`maxSources`, the oldest forgotten first); against spoofed floods from more addresses than that
 * the defence falls back to the half-open table alone.
 */
export class FirstMessageAdmission {
  private readonly all: TokenBucket;
  private readonly bySource = new Map<string, TokenBucket>();
  /** First messages refused so far (stats()). */
  refused = 0;

  constructor(private readonly limit: RateLimit, private readonly maxSources = 16_384) {
    this.all = new TokenBucket(limit.perSecond, limit.burst);
  }

  /** Whether the first message from `source` at `now` may be processed. */
  admit(now: number, source: string): boolean {
    if (this.all.take(now)) return true;
    let b = this.bySource.get(source);
    if (!b) {
      if (this.bySource.size >= this.maxSources) {
        const oldest = this.bySource.keys().next();
        if (!oldest.done) this.bySource.delete(oldest.value);
      }
      b = new TokenBucket(this.limit.perSourcePerSecond, this.limit.perSourceBurst);
      this.bySource.set(source, b);
    }
    if (b.take(now)) return true;
    this.refused++;
    return false;
  }
}
