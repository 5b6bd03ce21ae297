// Byte helpers: constant-time comparison semantics, wiping, fixed-length encodings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantTimeEqual, wipe } from '../../src/crypto/index.js';
import { leftPad, uint32be, compareBe, concatBytes, fromHex, toHex } from '../../src/crypto/bytes.js';

test('constantTimeEqual compares contents and refuses different lengths', () => {
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)), true);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)), false);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2)), false);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
  assert.equal(constantTimeEqual(Buffer.from([9]), Uint8Array.of(9)), true);
});

test('wipe zeroes every buffer it is given and tolerates undefined', () => {
  const a = Uint8Array.of(1, 2, 3), b = Buffer.from([4, 5]);
  const view = a.subarray(1);
  wipe(a, undefined, b, null);
  assert.deepEqual([...a, ...b, ...view], [0, 0, 0, 0, 0, 0, 0]);
});

test('fixed-length big-endian helpers', () => {
  assert.equal(toHex(leftPad(Uint8Array.of(1, 2), 4)), '00000102');
  assert.throws(() => leftPad(Uint8Array.of(1, 2, 3), 2), RangeError);
  assert.equal(toHex(uint32be(0xdeadbeef)), 'deadbeef');
  assert.throws(() => uint32be(-1), RangeError);
  assert.equal(compareBe(fromHex('0100'), fromHex('00ff')), 1);
  assert.equal(compareBe(fromHex('00ff'), fromHex('0100')), -1);
  assert.equal(compareBe(fromHex('abcd'), fromHex('abcd')), 0);
  assert.equal(toHex(concatBytes(fromHex('01'), new Uint8Array(0), fromHex('0203'))), '010203');
  assert.throws(() => fromHex('abc'), RangeError);
  assert.throws(() => fromHex('zz'), RangeError);
});
