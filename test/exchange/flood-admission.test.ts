// Issue 9.7: what a flood of first messages leaves to a legitimate peer. The admission rate
// (rate.ts FirstMessageAdmission) refuses a repeating source before any decoding once first
// messages arrive faster than the global rate; the half-open table (half-open.ts) evicts from the
// address holding the most entries, so a legitimate peer's single entry survives until the
// retransmission of a lost MM3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, encodeMessage } from '../../src/codec/index.js';
import { buildIkeSa } from '../../src/exchange/proposals.js';
import { FirstMessageAdmission } from '../../src/exchange/rate.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';

/** A genuine-looking MM1 (acceptable proposal) with a cookie unique to `i`. */
function spoofedMm1(i: number): Uint8Array {
  return encodeMessage({
    header: { initiatorCookie: Uint8Array.of(0xf2, 0x00, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff, 0x5a, 0xa5), responderCookie: new Uint8Array(8), nextPayload: 1, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 },
    payloads: [buildIkeSa([{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], 1)],
  });
}

/** The responder of a road-warrior gateway: the legitimate peer's connection and a '%any' one. */
function gateway(pair: Pair): void {
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.b.setConnection(conn(pair, 'b', { name: 'anyone', remote: { address: '%any', port: 500 }, remoteId: { type: 'any' }, psk: new TextEncoder().encode('another secret') }));
}

const isFirst = (d: Uint8Array): boolean => d.subarray(8, 16).every((x) => x === 0);
/** Main Mode message 3 from the initiator: unencrypted, responder cookie known, carries KE. */
const isMm3 = (d: Uint8Array): boolean => decodeHeader(d).exchangeType === 2 && !isFirst(d) && (d[19]! & 1) === 0;

test('FirstMessageAdmission: everything within the global rate; past it only sources with a token of their own', () => {
  const adm = new FirstMessageAdmission({ perSecond: 10, burst: 10, perSourcePerSecond: 2, perSourceBurst: 4 }, 8);
  // within the global burst: one source may send 10 at once
  for (let i = 0; i < 10; i++) assert.equal(adm.admit(0, '198.18.0.1'), true, `message ${i}`);
  // the global bucket is empty: the source's own burst of 4, then refused
  for (let i = 0; i < 4; i++) assert.equal(adm.admit(0, '198.18.0.1'), true, `own token ${i}`);
  assert.equal(adm.admit(0, '198.18.0.1'), false);
  // a source that has sent nothing yet still gets in, up to its own burst
  for (let i = 0; i < 4; i++) assert.equal(adm.admit(0, '198.18.0.2'), true);
  assert.equal(adm.admit(0, '198.18.0.2'), false);
  assert.equal(adm.refused, 2);
  // 500 ms later: 5 global tokens and 1 per source again
  for (let i = 0; i < 5; i++) assert.equal(adm.admit(500, '198.18.0.9'), true);
  assert.equal(adm.admit(500, '198.18.0.1'), true, 'its own token');
  assert.equal(adm.admit(500, '198.18.0.1'), false);
  assert.equal(adm.refused, 3);
  // the per-source records are bounded (8 here), the oldest forgotten first
  for (let i = 10; i < 30; i++) adm.admit(500, `198.18.1.${i}`);
  assert.equal(adm.admit(500, '198.18.0.1'), true, 'forgotten: a fresh record with its full burst');
});

test('issue 9.7: a flood of first messages from 10 addresses at 5,000/s: refused before decoding past the rate, the legitimate peer completes on its first try', () => {
  const pair = new Pair({ seed: 'admission', b: { halfOpenTotal: 100_000, halfOpenPerPeer: 100_000 } });
  gateway(pair);
  let n = 0;
  const flood = (k: number): void => {
    for (let j = 0; j < k; j++, n++) pair.inject('b', spoofedMm1(n), { address: `198.18.9.${n % 10}`, port: 500 });
  };
  pair.a.initiate(pair.now, 'c');
  for (let ms = 0; ms < 2000; ms++) {
    flood(5);
    pair.run(1);
  }
  assertMirrored(pair, assert);
  const mm1s = pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 2 && isFirst(w.data));
  assert.equal(mm1s.length, 1, 'one HDR, SA --> from a: never refused');
  const refused = pair.ev('b', 'dropped').filter((e) => e.code === 'FIRST_MESSAGE_LIMITED').length;
  assert.equal(refused, pair.b.stats().firstMessagesRefused);
  // admitted: at most the global burst and rate (1000 + 1000/s) plus each source's own (4 + 2/s)
  const admitted = n - refused;
  assert.ok(admitted <= 1000 + 2 * 1000 + 10 * (4 + 2 * 2) + 1, `${admitted} of ${n} admitted`);
  assert.ok(refused >= n - 3100, `${refused} refused`);
  // the refused ones made no state and got no answer
  assert.equal(pair.b.stats().halfOpen, admitted);
});

test('issue 9.7: the half-open table evicts from the address holding the most entries: a legitimate peer whose MM3 is lost during a flood from 20 addresses completes on its retransmission', () => {
  const CAP = 100;
  const pair = new Pair({
    seed: 'heaviest',
    // the admission rate out of the way: this is about the half-open table alone
    b: { halfOpenTotal: CAP, firstMessageRate: { perSecond: 1e9, burst: 1e9, perSourcePerSecond: 1e9, perSourceBurst: 1e9 } },
  });
  gateway(pair);
  let dropped = 0;
  pair.tap = (from, d) => (from === 'a' && isMm3(d) && dropped++ === 0 ? null : d);
  let n = 0;
  const flood = (k: number): void => {
    for (let j = 0; j < k; j++, n++) {
      pair.inject('b', spoofedMm1(n), { address: `198.18.8.${n % 20}`, port: 500 });
      assert.ok(pair.b.stats().halfOpen <= CAP);
    }
  };
  pair.a.initiate(pair.now, 'c');
  // 2 MM1 per ms: the table turns over every 50 ms, twenty times before a's MM3 comes again (1 s)
  for (let ms = 0; ms < 3000; ms++) {
    flood(2);
    pair.run(1);
  }
  assert.equal(dropped, 2, 'MM3 was lost once and sent again');
  assertMirrored(pair, assert);
  assert.equal(pair.ev('a', 'failed').length, 0);
  assert.ok(pair.b.stats().halfOpenEvicted >= n - CAP, 'the flood evicted its own entries');
});
