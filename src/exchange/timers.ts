/**
 * One timer queue for the whole endpoint: a binary min-heap whose entries know their position, so
 * that cancelling is a real O(log n) removal (a cancelled entry never keeps its SA record alive),
 * `pollTimeout()` is O(1) and `handleTimeout()` O(k log n) at any number of SAs.
 */

export interface TimerEntry<T> {
  readonly at: number;
  /** False once fired or cancelled. */
  live: boolean;
  readonly target: T;
  readonly kind: number;
  /** Position in the heap array (internal). */
  pos: number;
}

export class TimerQueue<T> {
  private heap: TimerEntry<T>[] = [];

  get size(): number {
    return this.heap.length;
  }

  add(at: number, target: T, kind: number): TimerEntry<T> {
    const e: TimerEntry<T> = { at, live: true, target, kind, pos: this.heap.length };
    this.heap.push(e);
    this.up(e.pos);
    return e;
  }

  /** Removes an entry (no-op when it already fired or was cancelled). */
  cancel(e: TimerEntry<T> | undefined): void {
    if (!e || !e.live) return;
    e.live = false;
    const h = this.heap;
    const i = e.pos;
    const last = h.pop()!;
    if (last !== e) {
      h[i] = last;
      last.pos = i;
      this.down(i);
      this.up(last.pos);
    }
  }

  /** Earliest deadline, or undefined. */
  peek(): number | undefined {
    return this.heap.length > 0 ? this.heap[0]!.at : undefined;
  }

  /** Removes and returns the earliest entry due at or before `now`. */
  popDue(now: number): TimerEntry<T> | undefined {
    const top = this.heap[0];
    if (!top || top.at > now) return undefined;
    this.cancel(top);
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
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

  private down(i: number): void {
    const h = this.heap;
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
}
