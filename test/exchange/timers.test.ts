// The endpoint's timer queue (src/exchange/timers.ts): two lanes, one order of firing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerQueue } from '../../src/exchange/timers.js';

test('TimerQueue: entries of both lanes fire in deadline order; peek is the earliest of both', () => {
  const q = new TimerQueue<string>([1]);
  q.add(50, 'long-50', 2);
  q.add(10, 'short-10', 1);
  q.add(30, 'long-30', 2);
  q.add(20, 'short-20', 1);
  q.add(40, 'short-40', 1);
  assert.equal(q.size, 5);
  assert.equal(q.peek(), 10);
  assert.equal(q.popDue(5), undefined, 'nothing due before 10');
  const fired: string[] = [];
  for (let e = q.popDue(100); e; e = q.popDue(100)) {
    assert.equal(e.live, false);
    fired.push(e.target);
  }
  assert.deepEqual(fired, ['short-10', 'short-20', 'long-30', 'short-40', 'long-50']);
  assert.equal(q.size, 0);
  assert.equal(q.peek(), undefined);
});

test('TimerQueue: cancel removes from the right lane, twice is a no-op, order of the rest kept', () => {
  const q = new TimerQueue<number>([7]);
  const entries = [];
  // deterministic pseudo-random deadlines over both lanes
  let x = 12345;
  for (let i = 0; i < 400; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    entries.push(q.add(x % 10_000, i, i % 3 === 0 ? 7 : 1));
  }
  const cancelled = new Set<number>();
  for (let i = 0; i < 400; i += 5) {
    q.cancel(entries[i]);
    q.cancel(entries[i]);
    cancelled.add(i);
  }
  q.cancel(undefined);
  assert.equal(q.size, 400 - cancelled.size);
  let last = -1;
  let n = 0;
  for (let e = q.popDue(Infinity); e; e = q.popDue(Infinity)) {
    assert.ok(e.at >= last, 'deadline order');
    assert.ok(!cancelled.has(e.target), 'a cancelled entry never fires');
    last = e.at;
    n++;
  }
  assert.equal(n, 400 - cancelled.size);
});
