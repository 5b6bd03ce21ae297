// The engine's allocation-saving internals (docs/engine.md "Performance") against the public
// functions they stand in for: same bytes, same records, same errors. Byte-identical wire output
// of whole exchanges is shown by keymat.test.ts (keys rebuilt from the wire) and the interop suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodePayloads, encodePayloads, type Payload } from '../../src/codec/index.js';
import { decodeHeader } from '../../src/codec/index.js';
import { decodeDatagramPayloadsInPlace, decodeHeaderView, decodePayloadsInPlace, encodePayloadsScratch } from '../../src/codec/message.js';
import { cipherFor, decryptMessage, encryptMessage } from '../../src/crypto/index.js';
import { decryptMessageOwned, encryptMessageAt } from '../../src/crypto/cipher.js';
import { DecodeError } from '../../src/errors.js';

const CHAIN: Payload[] = [
  { type: 'NONCE', data: new Uint8Array(32).fill(0x5a) },
  { type: 'ID', idType: 1, protocol: 17, port: 500, data: Uint8Array.of(192, 0, 2, 1) },
  { type: 'N', doi: 1, protocol: 3, notifyType: 24576, spi: Uint8Array.of(1, 2, 3, 4), data: Uint8Array.of(0x80, 1, 0, 1) },
];

test('encodePayloadsScratch: room zero bytes, then exactly the encodePayloads bytes', () => {
  const want = encodePayloads(CHAIN);
  for (const room of [0, 4 + 20, 4 + 32, 4 + 64]) {
    const got = encodePayloadsScratch(CHAIN, room);
    assert.equal(got.length, room + want.length);
    assert.deepEqual([...got.subarray(0, room)], new Array(room).fill(0));
    assert.deepEqual(got.subarray(room), want);
  }
  // the room is zeroed even after the scratch buffer held other bytes
  encodePayloadsScratch([{ type: 'NONCE', data: new Uint8Array(200).fill(0xff) }], 0);
  const again = encodePayloadsScratch(CHAIN, 36);
  assert.ok(again.subarray(0, 36).every((b) => b === 0));
});

test('decodePayloadsInPlace: the same records as decodePayloads, as views of the input', () => {
  const body = encodePayloads(CHAIN);
  const padded = new Uint8Array(body.length + 7);
  padded.set(body);
  assert.deepEqual(decodePayloadsInPlace(10, body, 28, false), decodePayloads(10, body, { baseOffset: 28 }));
  assert.deepEqual(decodePayloadsInPlace(10, padded, 28, true), decodePayloads(10, padded, { baseOffset: 28, allowTrailing: true }));
  const recs = decodePayloadsInPlace(10, body, 28, false);
  assert.deepEqual(recs.map((p) => p.type), ['NONCE', 'ID', 'N']);
  const nonce = recs[0] as { type: string; data: Uint8Array };
  assert.equal(nonce.type, 'NONCE');
  assert.equal(nonce.data.buffer, body.buffer, 'no copy: the record is a view of the input');
  // same errors and offsets: trailing bytes refused unless allowed, a bad length reported at its offset
  const e1 = (() => { try { decodePayloads(10, padded, { baseOffset: 28 }); } catch (e) { return e; } })() as DecodeError;
  assert.throws(() => decodePayloadsInPlace(10, padded, 28, false), (e: unknown) => e instanceof DecodeError && e.notify === e1.notify && e.offset === e1.offset);
  const bad = new Uint8Array(body);
  bad[3] = 2; // first payload length 2 < 4
  const e2 = (() => { try { decodePayloads(10, bad, { baseOffset: 28 }); } catch (e) { return e; } })() as DecodeError;
  assert.ok(e2 instanceof DecodeError);
  assert.throws(() => decodePayloadsInPlace(10, bad, 28, false), (e: unknown) => e instanceof DecodeError && e.notify === e2.notify && e.offset === e2.offset);
});

test('decodeDatagramPayloadsInPlace: the decodePayloadsInPlace records of the body after the header, views of the datagram; same errors', () => {
  const body = encodePayloads(CHAIN);
  const datagram = new Uint8Array(28 + body.length + 5); // 5 bytes after the last payload
  datagram.set(body, 28);
  const want = decodePayloadsInPlace(10, datagram.subarray(28), 28, true);
  const got = decodeDatagramPayloadsInPlace(10, datagram, true);
  assert.deepEqual(got, want);
  assert.deepEqual(got.map((p) => p.type), ['NONCE', 'ID', 'N']);
  const nonce = got[0] as { type: string; data: Uint8Array };
  assert.equal(nonce.data.buffer, datagram.buffer, 'no copy: the record is a view of the datagram');
  assert.equal(nonce.data.byteOffset, 28 + 4);
  const errorOf = (f: () => unknown): DecodeError => { try { f(); } catch (e) { if (e instanceof DecodeError) return e; throw e; } throw new Error('no error'); };
  // trailing bytes refused unless allowed; a bad payload length, and a bad ID inside a body, at their datagram offsets
  const e1 = errorOf(() => decodePayloadsInPlace(10, datagram.subarray(28), 28, false));
  const g1 = errorOf(() => decodeDatagramPayloadsInPlace(10, datagram, false));
  assert.deepEqual([g1.notify, g1.offset, g1.message], [e1.notify, e1.offset, e1.message]);
  const bad = new Uint8Array(datagram);
  bad[28 + 3] = 2; // first payload length 2 < 4
  const e2 = errorOf(() => decodePayloadsInPlace(10, bad.subarray(28), 28, true));
  const g2 = errorOf(() => decodeDatagramPayloadsInPlace(10, bad, true));
  assert.deepEqual([g2.notify, g2.offset, g2.message], [e2.notify, e2.offset, e2.message]);
  assert.equal(g2.offset, 28 + 2);
  const badId = new Uint8Array(datagram);
  badId[28 + 36 + 4] = 4; // the ID payload's type (after the 36-byte NONCE payload): ID_IPV4_ADDR_SUBNET needs 8 bytes, has 4
  const e3 = errorOf(() => decodePayloadsInPlace(10, badId.subarray(28), 28, true));
  const g3 = errorOf(() => decodeDatagramPayloadsInPlace(10, badId, true));
  assert.deepEqual([g3.notify, g3.offset, g3.message, g3.payload], [e3.notify, e3.offset, e3.message, e3.payload]);
  assert.equal(g3.payload, 5, 'reported inside the ID payload');
});

test('encryptMessageAt: the encryptMessage ciphertext after `room` free bytes, same next IV', () => {
  for (const [enc, bits] of [[7, 128], [7, 256], [5, undefined]] as const) {
    const cipher = cipherFor(enc, bits);
    const key = randomBytes(cipher.keyLength);
    const iv = randomBytes(cipher.blockSize);
    for (const n of [1, 15, 16, 17, 100, 333]) {
      const plaintext = randomBytes(n);
      const want = encryptMessage({ cipher, key, iv, plaintext });
      const got = encryptMessageAt({ cipher, key, iv, plaintext }, 28);
      assert.equal(got.message.length, 28 + want.ciphertext.length);
      assert.ok(got.message.subarray(0, 28).every((b) => b === 0));
      assert.deepEqual(got.message.subarray(28), want.ciphertext);
      assert.deepEqual(got.nextIv, want.nextIv);
      assert.notEqual(got.nextIv.buffer, got.message.buffer, 'next IV is a copy');
      const back = decryptMessage({ cipher, key, iv, ciphertext: got.message.subarray(28) });
      assert.deepEqual(back.plaintext.subarray(0, n), new Uint8Array(plaintext));
    }
  }
  const cipher = cipherFor(7, 128);
  assert.throws(() => encryptMessageAt({ cipher, key: new Uint8Array(15), iv: new Uint8Array(16), plaintext: new Uint8Array(1) }, 28), RangeError);
});

test('decryptMessageOwned: the decryptMessage plaintext and next IV, a plain Uint8Array; same refusals', () => {
  for (const [enc, bits] of [[7, 128], [7, 256], [5, undefined]] as const) {
    const cipher = cipherFor(enc, bits);
    const key = randomBytes(cipher.keyLength);
    const iv = randomBytes(cipher.blockSize);
    for (const n of [1, 16, 100]) {
      const { ciphertext } = encryptMessage({ cipher, key, iv, plaintext: randomBytes(n) });
      const want = decryptMessage({ cipher, key, iv, ciphertext });
      const got = decryptMessageOwned({ cipher, key, iv, ciphertext });
      assert.deepEqual(got.plaintext, want.plaintext);
      assert.deepEqual(got.nextIv, want.nextIv);
      assert.equal(Object.getPrototypeOf(got.plaintext), Uint8Array.prototype);
    }
    for (const bad of [new Uint8Array(0), new Uint8Array(cipher.blockSize + 1)]) {
      const thrown = (f: () => unknown): Error => { try { f(); } catch (e) { return e as Error; } throw new Error('no error'); };
      const e1 = thrown(() => decryptMessage({ cipher, key, iv, ciphertext: bad }));
      const e2 = thrown(() => decryptMessageOwned({ cipher, key, iv, ciphertext: bad }));
      assert.equal(e1.constructor.name, 'RemoteProtocolError');
      assert.deepEqual([e2.constructor, e2.message], [e1.constructor, e1.message]);
    }
  }
});

test('decodeHeaderView: the decodeHeader record, cookies as views of the datagram; same errors', () => {
  const msg = new Uint8Array(28);
  msg.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
  msg.set([9, 10, 11, 12, 13, 14, 15, 16], 8);
  msg[16] = 1; // SA
  msg[17] = 0x10;
  msg[18] = 2;
  msg[27] = 28;
  const view = decodeHeaderView(msg);
  assert.deepEqual({ ...view, initiatorCookie: [...view.initiatorCookie], responderCookie: [...view.responderCookie] }, {
    ...decodeHeader(msg),
    initiatorCookie: [1, 2, 3, 4, 5, 6, 7, 8],
    responderCookie: [9, 10, 11, 12, 13, 14, 15, 16],
  });
  assert.equal(view.initiatorCookie.buffer, msg.buffer, 'a view, not a copy');
  msg[17] = 0x20;
  assert.throws(() => decodeHeaderView(msg), (e: unknown) => e instanceof DecodeError && e.notify === 5);
  assert.throws(() => decodeHeader(msg), (e: unknown) => e instanceof DecodeError && e.notify === 5);
  assert.throws(() => decodeHeaderView(msg.subarray(0, 20)), (e: unknown) => e instanceof DecodeError && e.notify === 30);
});
