/**
 * One timer queue for the whole endpoint (a binary min-heap with lazy cancellation), so that
 * `pollTimeout()` is O(1) and `handleTimeout()` O(k log n) at any number of SAs.
 */

export interface TimerEntry<T> {
  at: number;
  /** Set to false to cancel; the entry is skipped when it reaches the top. */
  live: boolean;
  readonly target: T;
  readonly kind: number;
}

export class TimerQueue<T> {
  private heap: TimerEntry<T>[] = [];

  get size(): number {
    return this.heap.length;
  }

  add(at: number, target: T, kind: number): TimerEntry<T> {
    const e: TimerEntry<T> = { at, live: true, target, kind };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (pe.at <= e.at) break;
      h[i] = pe;
      i = p;
    }
    h[i] = e;
    return e;
  }

  /** Earliest live deadline, or undefined. Drops cancelled entries from the top. */
  peek(): number | undefined {
    const h = this.heap;
    while (h.length > 0 && !h[0]!.live) this.pop();
    return h.length > 0 ? h[0]!.at : undefined;
  }

  /** Removes and returns the earliest live entry due at or before `now`. */
  popDue(now: number): TimerEntry<T> | undefined {
    const h = this.heap;
    while (h.length > 0) {
      const top = h[0]!;
      if (!top.live) {
        this.pop();
        continue;
      }
      if (top.at > now) return undefined;
      this.pop();
      top.live = false;
      return top;
    }
    return undefined;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
