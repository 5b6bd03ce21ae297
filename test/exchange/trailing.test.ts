// Issue 10: Libreswan pads some unencrypted messages (its Aggressive Mode 1 and 2, its Main Mode 4
// with a certificate request) with a few zero bytes after the last payload, inside the ISAKMP
// length. The engine accepts them: the bytes are no payload, so no hash covers them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import { Pair, assertMirrored, conn, type Side } from '../helpers/pair.js';

/** `data` with `n` zero bytes appended inside the ISAKMP length (Libreswan's padding). */
function padded(data: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(data.length + n);
  out.set(data);
  new DataView(out.buffer).setUint32(24, out.length);
  return out;
}

/** A tap that pads the `which`-th (1-based) unencrypted message of `exchangeType` sent by `from`. */
function padNth(from: Side, exchangeType: number, which: readonly number[]): (f: Side, d: Uint8Array) => Uint8Array {
  let seen = 0;
  return (f, d) => {
    const h = decodeHeader(d);
    if (f !== from || h.exchangeType !== exchangeType || (h.flags & 1) !== 0) return d;
    seen++;
    return which.includes(seen) ? padded(d, 3) : d;
  };
}

test('issue 10: Main Mode with MM4 (and MM1..MM3) padded with 3 zero bytes negotiates; the keys agree', () => {
  const pair = new Pair({ seed: 'trailing-mm' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  const mm4 = padNth('b', 2, [1, 2]); // MM2 and MM4 from the responder
  const mm13 = padNth('a', 2, [1, 2]); // MM1 and MM3 from the initiator
  pair.tap = (f, d) => (f === 'a' ? mm13(f, d) : mm4(f, d));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  // the padding really went over the wire
  const clear = pair.wire.filter((w) => (decodeHeader(w.data).flags & 1) === 0 && decodeHeader(w.data).exchangeType === 2);
  assert.equal(clear.length, 4);
  assert.deepEqual([...clear[3]!.data.subarray(-3)], [0, 0, 0]);
  assert.equal(pair.ev('a', 'dropped').length + pair.ev('b', 'dropped').length, 0);
});

test('issue 10: Aggressive Mode with AM1 and AM2 padded with 3 zero bytes negotiates in both roles (HASH_I/HASH_R unaffected)', async (t) => {
  for (const initiator of ['a', 'b'] as const) {
    await t.test(`${initiator} initiates`, () => {
      const pair = new Pair({ seed: `trailing-am-${initiator}` });
      pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', allowAggressivePsk: true }));
      pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', allowAggressivePsk: true }));
      const responder: Side = initiator === 'a' ? 'b' : 'a';
      const am1 = padNth(initiator, 4, [1]);
      const am2 = padNth(responder, 4, [1]);
      pair.tap = (f, d) => (f === initiator ? am1(f, d) : am2(f, d));
      pair.ep(initiator).initiate(pair.now, 'c');
      pair.run(2000);
      assertMirrored(pair, assert);
      const am = pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 4);
      assert.deepEqual([...am[0]!.data.subarray(-3), ...am[1]!.data.subarray(-3)], [0, 0, 0, 0, 0, 0]);
    });
  }
});
