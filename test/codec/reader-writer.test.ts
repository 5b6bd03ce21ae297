// The bounded Reader and the growable Writer: every out-of-bounds read is a DecodeError with an
// absolute offset, every out-of-range write is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/codec/reader.js';
import { Writer } from '../../src/codec/writer.js';
import { throwsNotify, toHex } from './helpers.js';

test('Reader reads big-endian numbers and views, and refuses to run past its window', () => {
  const buf = Uint8Array.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const r = new Reader(buf, 1, 9, 100);
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0203);
  assert.equal(r.u32(), 0x04050607);
  assert.equal(r.remaining, 1);
  const e = throwsNotify(() => r.u16(), 'PAYLOAD_MALFORMED');
  assert.equal(e.offset, 108, 'offset includes the base');
  assert.equal(toHex(r.bytes(1)), '08');
  throwsNotify(() => r.u8(), 'PAYLOAD_MALFORMED', 109);
  throwsNotify(() => new Reader(buf).bytes(11), 'PAYLOAD_MALFORMED', 0);
  throwsNotify(() => new Reader(buf).bytes(-1), 'PAYLOAD_MALFORMED', 0);
  const big = new Reader(Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
  assert.equal(big.u32(), 0xffffffff, 'u32 is unsigned');
});

test('Reader.sub bounds a sub-reader and skips past it', () => {
  const r = new Reader(Uint8Array.from([1, 2, 3, 4, 5]));
  const s = r.sub(3);
  assert.equal(r.pos, 3);
  assert.equal(toHex(s.rest()), '010203');
  throwsNotify(() => r.sub(3), 'PAYLOAD_MALFORMED', 3);
});

test('Writer grows, back-patches lengths, and refuses values wider than their field', () => {
  const w = new Writer(2);
  w.u8(1); w.u16(0x0203); w.u24(0x040506); w.u32(0x0708090a); w.bytes(Uint8Array.from([0xb, 0xc]));
  w.patch16(1, 0xbeef);
  assert.equal(toHex(w.finish()), '01beef0405060708090a0b0c');
  for (const f of [() => w.u8(256), () => w.u8(-1), () => w.u16(65536), () => w.u24(1 << 24), () => w.u32(2 ** 32), () => w.u8(1.5), () => w.patch16(0, 70000)]) {
    throwsNotify(f, 'PAYLOAD_MALFORMED');
  }
});
