/**
 * One timer queue for the whole endpoint: binary min-heaps whose entries know their position, so
 * that cancelling is a real O(log n) removal (a cancelled entry never keeps its SA record alive),
 * `pollTimeout()` is O(1) and `handleTimeout()` O(k log n) at any number of SAs.
 *
 * Two lanes, each its own heap: the kinds named at construction (short-lived handshake timers:
 * retransmissions, half-open and Quick Mode timeouts, set and cancelled several times per
 * handshake) live apart from the rest (SA lifetimes: thousands, set once per SA). A handshake's
 * timer work then walks a heap of the handshakes in flight, not one of every SA.
 *
 * Entries are typed by kind: with `E` a union of `TimerEntry<Target, Kind>` (one member per kind),
 * `add` takes the target type of its kind and `popDue` returns the union, so a `switch` on
 * `entry.kind` narrows `entry.target` without casts (see records.ts, `EngineTimer`).
 */

export interface TimerEntry<T, K extends number = number> {
  readonly at: number;
  /** False once fired or cancelled. */
  live: boolean;
  readonly target: T;
  readonly kind: K;
  /** Position in its heap array (internal). */
  pos: number;
  /** Which heap (internal): 1 for the short-lived kinds. */
  readonly lane: 0 | 1;
}

/** The target type of kind `K` in the entry union `E`. */
export type TimerTarget<E, K> = E extends TimerEntry<infer T, infer EK> ? (K extends EK ? T : never) : never;
/** The member of the entry union `E` for kind `K`. */
export type TimerOf<E, K> = E extends TimerEntry<unknown, infer EK> ? (K extends EK ? E : never) : never;

type Heap = TimerEntry<unknown>[];

export class TimerQueue<T, E extends TimerEntry<T> = TimerEntry<T>> {
  private readonly heaps: [Heap, Heap] = [[], []];

  /** `shortKinds`: the kinds kept in the second lane (see above). */
  constructor(private readonly shortKinds: readonly number[] = []) {}

  get size(): number {
    return this.heaps[0].length + this.heaps[1].length;
  }

  add<K extends E['kind']>(at: number, target: TimerTarget<E, K>, kind: K): TimerOf<E, K> {
    const lane = this.shortKinds.includes(kind) ? 1 : 0;
    const h = this.heaps[lane];
    // a whole deadline as a small integer: V8 then keeps `at` in the entry, not in a boxed number
    const e: TimerEntry<unknown> = { at: (at | 0) === at ? at | 0 : at, live: true, target, kind, pos: h.length, lane };
    h.push(e);
    up(h, e.pos);
    // the entry was built from a target of kind K's type: it is that member of the union
    return e as TimerOf<E, K>;
  }

  /** Removes an entry (no-op when it already fired or was cancelled). */
  cancel(e: TimerEntry<unknown> | undefined): void {
    if (!e || !e.live) return;
    e.live = false;
    const h = this.heaps[e.lane];
    const i = e.pos;
    const last = h.pop();
    if (last !== undefined && last !== e) {
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
  popDue(now: number): E | undefined {
    const a = this.heaps[0][0];
    const b = this.heaps[1][0];
    const top = !a ? b : !b ? a : a.at <= b.at ? a : b;
    if (!top || top.at > now) return undefined;
    this.cancel(top);
    // only add() puts entries in the heaps, each one a member of E
    return top as E;
  }
}

function up(h: Heap, i: number): void {
  const e = h[i];
  if (!e) return;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pe = h[p];
    if (!pe || pe.at <= e.at) break;
    h[i] = pe;
    pe.pos = i;
    i = p;
  }
  h[i] = e;
  e.pos = i;
}

function down(h: Heap, i: number): void {
  const e = h[i];
  if (!e) return;
  for (;;) {
    const l = 2 * i + 1;
    const le = h[l];
    if (!le) break;
    const re = h[l + 1];
    const c = re && re.at < le.at ? l + 1 : l;
    const ce = c === l ? le : re;
    if (!ce || ce.at >= e.at) break;
    h[i] = ce;
    ce.pos = i;
    i = c;
  }
  h[i] = e;
  e.pos = i;
}
