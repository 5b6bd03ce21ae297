/**
 * One timer queue for the whole endpoint: binary min-heaps whose entries know their position, so
 * that cancelling is a real O(log n) removal (a cancelled entry never keeps its SA record alive),
 * `pollTimeout()` is O(1) and `handleTimeout()` O(k log n) at any number of SAs.
 *
 * Two lanes, each its own heap: the kinds named at construction (short-lived handshake timers:
 * retransmissions, half-open and Quick Mode timeouts, set and cancelled several times per
 * handshake) live apart from the rest (SA lifetimes: thousands, set once per SA). A handshake's
 * timer work then walks a heap of the handshakes in flight, not one of every SA.
 */

export interface TimerEntry<T> {
  readonly at: number;
  /** False once fired or cancelled. */
  live: boolean;
  readonly target: T;
  readonly kind: number;
  /** Position in its heap array (internal). */
  pos: number;
  /** Which heap (internal): 1 for the short-lived kinds. */
  readonly lane: 0 | 1;
}

export class TimerQueue<T> {
  private readonly heaps: [TimerEntry<T>[], TimerEntry<T>[]] = [[], []];

  /** `shortKinds`: the kinds kept in the second lane (see above). */
  constructor(private readonly shortKinds: readonly number[] = []) {}

  get size(): number {
    return this.heaps[0].length + this.heaps[1].length;
  }

  add(at: number, target: T, kind: number): TimerEntry<T> {
    const lane = this.shortKinds.includes(kind) ? 1 : 0;
    const h = this.heaps[lane];
    const e: TimerEntry<T> = { at, live: true, target, kind, pos: h.length, lane };
    h.push(e);
    up(h, e.pos);
    return e;
  }

  /** Removes an entry (no-op when it already fired or was cancelled). */
  cancel(e: TimerEntry<T> | undefined): void {
    if (!e || !e.live) return;
    e.live = false;
    const h = this.heaps[e.lane];
    const i = e.pos;
    const last = h.pop()!;
    if (last !== e) {
      h[i] = last;
      last.pos = i;
      down(h, i);
      up(h, last.pos);
    }
  }

  /** Earliest deadline, or undefined. */
  peek(): number | undefined {
    const a = this.heaps[0][0];
    const b = this.heaps[1][0];
    if (!a) return b?.at;
    if (!b) return a.at;
    return a.at <= b.at ? a.at : b.at;
  }

  /** Removes and returns the earliest entry due at or before `now`. */
  popDue(now: number): TimerEntry<T> | undefined {
    const a = this.heaps[0][0];
    const b = this.heaps[1][0];
    const top = !a ? b : !b ? a : a.at <= b.at ? a : b;
    if (!top || top.at > now) return undefined;
    this.cancel(top);
    return top;
  }
}

function up<T>(h: TimerEntry<T>[], i: number): void {
  const e = h[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pe = h[p]!;
    if (pe.at <= e.at) break;
    h[i] = pe;
    pe.pos = i;
    i = p;
  }
  h[i] = e;
  e.pos = i;
}

function down<T>(h: TimerEntry<T>[], i: number): void {
  const n = h.length;
  const e = h[i]!;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && h[r]!.at < h[l]!.at ? r : l;
    const ce = h[c]!;
    if (ce.at >= e.at) break;
    h[i] = ce;
    ce.pos = i;
    i = c;
  }
  h[i] = e;
  e.pos = i;
}
