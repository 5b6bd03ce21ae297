// The bounded fragment reassembler of `isakmp decode` (SHAPES.md #2–#4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reassembler, MAX_FRAGMENTS } from '../../src/cli/reassembly.js';
import type { Message } from '../../src/codec/index.js';

const hdr = (c: number): Message['header'] => ({ initiatorCookie: new Uint8Array(8).fill(c), responderCookie: new Uint8Array(8), nextPayload: 132, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 });
const frag = (id: number, n: number, last: boolean, data: number[], c = 1): Message => ({ header: hdr(c), payloads: [{ type: 'FRAG', fragmentId: id, fragmentNumber: n, flags: last ? 1 : 0, data: Uint8Array.from(data) }] });

test('reassembles in any order; ignores duplicates and a second LAST', () => {
  const r = new Reassembler();
  assert.deepEqual(r.add(frag(1, 3, true, [5, 6])), { complete: false });
  assert.deepEqual(r.add(frag(1, 3, true, [5, 6])), { complete: false, note: 'duplicate fragment 3: ignored' });
  assert.deepEqual(r.add(frag(1, 1, false, [1, 2])), { complete: false });
  assert.deepEqual(r.add(frag(1, 2, false, [3, 4])), { complete: true, data: Uint8Array.from([1, 2, 3, 4, 5, 6]), count: 3 });
});
test('a new fragment ID resets the queue; SAs are kept apart', () => {
  const r = new Reassembler();
  r.add(frag(1, 1, false, [1]));
  r.add(frag(1, 1, false, [9], 2));
  assert.deepEqual(r.add(frag(2, 2, true, [2])), { complete: false });
  assert.deepEqual(r.add(frag(2, 1, false, [1])), { complete: true, data: Uint8Array.from([1, 2]), count: 2 });
  assert.deepEqual(r.add(frag(1, 2, true, [8], 2)), { complete: true, data: Uint8Array.from([9, 8]), count: 2 });
});
test('numbers above the cap, totals above 64 KiB and fragments beyond LAST are refused', () => {
  const r = new Reassembler();
  assert.equal(r.add(frag(1, MAX_FRAGMENTS + 1, false, [1]))!.complete, false);
  const big = new Array(40000).fill(0);
  r.add(frag(3, 1, false, big));
  assert.deepEqual(r.add(frag(3, 2, false, big)), { complete: false, note: 'fragments exceed 65535 bytes: queue dropped' });
  r.add(frag(4, 3, false, [3]));
  r.add(frag(4, 1, false, [1]));
  assert.deepEqual(r.add(frag(4, 2, true, [2])), { complete: false, note: 'fragments numbered beyond LAST: queue dropped' });
  assert.equal(r.add({ header: hdr(1), payloads: [] }), undefined);
});
