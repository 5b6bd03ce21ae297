// Retransmission, duplicates, half-open limits, and a lossy / duplicating / reordering link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, encodeMessage } from '../../src/codec/index.js';
import { buildIkeSa } from '../../src/exchange/index.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';

function setup(pair: Pair, keyingTries?: number): void {
  pair.a.setConnection(conn(pair, 'a', keyingTries ? { keyingTries } : {}));
  pair.b.setConnection(conn(pair, 'b'));
}

function empty(pair: Pair): void {
  for (const side of ['a', 'b'] as const) {
    const ep = pair.ep(side);
    assert.equal(ep.isakmpSas().length, 0, `${side}: no ISAKMP SA`);
    assert.equal(ep.ipsecSas().length, 0, `${side}: no IPsec SA`);
    assert.equal(ep.stats().halfOpen, 0);
    assert.equal(ep.pollTimeout(), undefined, `${side}: no timer`);
  }
}

test('HDR, SA --> retransmitted with exponential backoff (1, 2, 4, 8, 16 s), then given up: no state left', () => {
  const pair = new Pair({ seed: 'backoff', knobs: { loss: 1 } });
  setup(pair, 1);
  pair.a.initiate(pair.now, 'c');
  pair.run(200_000);
  const times = pair.sentBy('a').map((w) => w.at);
  assert.deepEqual(times, [0, 1000, 3000, 7000, 15000, 31000]);
  const f = pair.ev('a', 'failed');
  assert.deepEqual(f.map((x) => x.kind), ['isakmp', 'ipsec']);
  empty(pair);
});

test('100 % loss with 3 keying tries: three negotiations with fresh cookies, then failed, no state left', () => {
  const pair = new Pair({ seed: 'tries', knobs: { loss: 1 } });
  setup(pair);
  pair.a.initiate(pair.now, 'c');
  pair.run(600_000);
  const cookies = new Set(pair.sentBy('a').map((w) => Buffer.from(w.data.subarray(0, 8)).toString('hex')));
  assert.equal(cookies.size, 3);
  assert.equal(pair.sentBy('a').length, 18);
  assert.deepEqual(pair.ev('a', 'failed').map((x) => x.kind), ['isakmp', 'ipsec']);
  empty(pair);
});

test('100 % loss after phase 1 (Quick Mode lost): QM gives up, no IPsec state, ISAKMP SA stays', () => {
  const pair = new Pair({ seed: 'qmloss' });
  setup(pair);
  pair.tap = (_from, data) => (decodeHeader(data).exchangeType === 32 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(200_000);
  assert.equal(pair.ev('a', 'failed')[0]!.kind, 'ipsec');
  assert.equal(pair.a.ipsecSas().length, 0);
  assert.equal(pair.b.ipsecSas().length, 0);
  assert.equal(pair.a.isakmpSas().length, 1);
});

test('the responder never retransmits <-- HDR, SA on a timer (spoofed MM1, then silence): 1 datagram, state expires at 30 s', () => {
  const pair = new Pair({ seed: 'amp' });
  pair.b.setConnection(conn(pair, 'b'));
  const mm1 = encodeMessage({
    header: { initiatorCookie: Uint8Array.of(5, 5, 5, 5, 5, 5, 5, 5), responderCookie: new Uint8Array(8), nextPayload: 1, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 },
    payloads: [buildIkeSa([{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], 1)],
  });
  pair.inject('b', mm1);
  assert.equal(pair.b.stats().halfOpen, 1);
  pair.run(60_000);
  assert.equal(pair.sentBy('b').length, 1);
  assert.equal(pair.b.stats().halfOpen, 0);
  assert.equal(pair.b.isakmpSas().length, 0);
  assert.equal(pair.b.pollTimeout(), undefined);
});

test('a byte-identical repeat of the last request gets the last response again, and nothing else', () => {
  const pair = new Pair({ seed: 'dupreq' });
  setup(pair);
  // hold back Quick Mode so that phase 1 is the last exchange
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 32 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(500);
  const fromA = pair.sentBy('a');
  const fromB = pair.sentBy('b');
  assert.equal(pair.b.isakmpSas()[0]!.state, 'established');
  const before = pair.events.b.length;
  const n = pair.wire.length;
  // MM5 repeated → MM6 again; the older MM3 and MM1 repeated → nothing
  pair.inject('b', fromA[2]!.data);
  pair.inject('b', fromA[1]!.data);
  pair.inject('b', fromA[0]!.data);
  const resent = pair.wire.slice(n).map((w) => w.data);
  assert.equal(resent.length, 1);
  assert.deepEqual(resent[0], fromB[2]!.data, 'MM6 again');
  assert.equal(pair.b.isakmpSas().length, 1);
  assert.deepEqual(pair.events.b.slice(before).map((e) => e.type), ['dropped', 'dropped']);
  // once a Quick Mode arrived, phase 1 is known to be complete on both sides: MM5 repeats are dropped
  pair.tap = undefined;
  pair.run(5000);
  assert.equal(pair.b.ipsecSas().length, 1);
  const m = pair.wire.length;
  pair.inject('b', fromA[2]!.data);
  assert.equal(pair.wire.length, m);
});

test('half-open caps: per peer (default 32) and in total', () => {
  const pair = new Pair({ seed: 'caps', b: { halfOpenTotal: 40 } });
  pair.b.setConnection(conn(pair, 'b', { remote: { address: '%any', port: 500 } }));
  const mm1 = (i: number) => encodeMessage({
    header: { initiatorCookie: Uint8Array.of(7, 7, 7, 7, 0, 0, i >> 8, i & 0xff), responderCookie: new Uint8Array(8), nextPayload: 1, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 },
    payloads: [buildIkeSa([{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], 1)],
  });
  for (let i = 0; i < 50; i++) pair.inject('b', mm1(i), { address: '203.0.113.9', port: 500 });
  assert.equal(pair.b.stats().halfOpen, 32);
  for (let i = 0; i < 50; i++) pair.inject('b', mm1(100 + i), { address: `203.0.113.${10 + (i % 5)}`, port: 500 });
  assert.equal(pair.b.stats().halfOpen, 40);
  pair.run(31_000);
  assert.equal(pair.b.stats().halfOpen, 0);
  assert.equal(pair.b.isakmpSas().length, 0);
});

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
  test(`30 % loss with reordering and delay (seed ${seed}): Main Mode + Quick Mode complete, keys mirrored`, () => {
    const pair = new Pair({ seed: `loss30-${seed}`, knobs: { loss: 0.3, reorder: 0.2, delay: 20 } });
    setup(pair);
    pair.a.initiate(pair.now, 'c');
    pair.run(600_000);
    assert.ok(pair.wire.some((w) => !w.delivered), 'some datagrams were lost');
    assertMirrored(pair, assert);
  });
}

test('a repeated HDR*, HASH(1), SA, Ni --> while the Quick Mode is open gets <-- HDR*, HASH(2) again', () => {
  const pair = new Pair({ seed: 'dupqm1' });
  setup(pair);
  // hold back HASH(3)
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 32 && data.length < 100 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(500);
  const qm1 = pair.sentBy('a').find((w) => decodeHeader(w.data).exchangeType === 32)!;
  const qm2 = pair.sentBy('b').find((w) => decodeHeader(w.data).exchangeType === 32)!;
  const n = pair.wire.length;
  pair.inject('b', qm1.data);
  assert.deepEqual(pair.wire.slice(n).map((w) => w.data), [qm2.data]);
  assert.equal(pair.b.ipsecSas().length, 0);
  // HASH(3) finally arrives (the initiator answers the repeated HASH(2) from its finished exchange)
  pair.tap = undefined;
  pair.run(5000);
  assert.equal(pair.b.ipsecSas().length, 1);
});

test('every datagram duplicated (and reordered): exactly one ISAKMP SA and one IPsec SA per side', () => {
  const pair = new Pair({ seed: 'dup', knobs: { dup: 1, reorder: 0.5 } });
  setup(pair);
  pair.a.initiate(pair.now, 'c');
  pair.run(60_000);
  assertMirrored(pair, assert);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.b.isakmpSas().length, 1);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
});
