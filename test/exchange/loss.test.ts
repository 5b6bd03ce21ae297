// Retransmission, duplicates, half-open limits, and a lossy / duplicating / reordering link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, encodeMessage } from '../../src/codec/index.js';
import { buildIkeSa } from '../../src/exchange/proposals.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';
import { inspect } from '../../src/exchange/inspect.js';

function setup(pair: Pair, keyingTries?: number): void {
  pair.a.setConnection(conn(pair, 'a', keyingTries ? { keyingTries } : {}));
  pair.b.setConnection(conn(pair, 'b'));
}

/** Phase 1 up (a initiated), a's Quick Mode held back so that phase 1 is the last exchange (`tap` set). */
function phase1Last(seed: string): Pair {
  const pair = new Pair({ seed });
  setup(pair);
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 32 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(500);
  return pair;
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
  assert.deepEqual(pair.ev('a', 'dropped').map((d) => d.code), ['KEYING_RETRY', 'KEYING_RETRY'], 'two restarts with fresh cookies');
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
  const pair = phase1Last('dupreq');
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

test('a byte-identical repeat with nothing to answer is a REPEATED_MESSAGE drop: MM6 to our initiator, another message under the ID of a finished Quick Mode', () => {
  const pair = phase1Last('duprepeat');
  const mm6 = pair.sentBy('b')[2]!.data;
  assert.equal(pair.a.isakmpSas()[0]!.state, 'established');
  let before = pair.events.a.length;
  let n = pair.wire.length;
  // the responder's MM6 again (a responder repeats it when our MM5 came twice): nothing to answer
  pair.inject('a', mm6);
  assert.equal(pair.wire.length, n, 'nothing sent');
  const drops = pair.events.a.slice(before);
  assert.deepEqual(drops.map((e) => [e.type, e.type === 'dropped' ? e.code : undefined]), [['dropped', 'REPEATED_MESSAGE']]);
  assert.equal(pair.a.isakmpSas().length, 1);
  // a Quick Mode to the end; our finished one keeps HASH(3) for a repeat of HASH(2), and any
  // other message under its ID (here our own QM1 reflected) has nothing to answer
  pair.tap = undefined;
  pair.run(5000);
  assert.equal(pair.a.ipsecSas().length, 1);
  const qm1 = pair.sentBy('a').find((w) => decodeHeader(w.data).exchangeType === 32)!.data;
  before = pair.events.a.length;
  n = pair.wire.length;
  pair.inject('a', qm1);
  assert.equal(pair.wire.length, n, 'nothing sent');
  assert.deepEqual(pair.events.a.slice(before).map((e) => [e.type, e.type === 'dropped' ? e.code : undefined]), [['dropped', 'REPEATED_MESSAGE']]);
  assert.equal(pair.b.ipsecSas().length, 1);
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
  assert.equal(pair.b.stats().halfOpenEvicted, 18, 'the per-peer cap evicts that peer\'s oldest');
  for (let i = 0; i < 50; i++) pair.inject('b', mm1(100 + i), { address: `203.0.113.${10 + (i % 5)}`, port: 500 });
  assert.equal(pair.b.stats().halfOpen, 40);
  assert.equal(pair.b.stats().halfOpenEvicted, 18 + 42, 'the total cap evicts the oldest entry of the address holding the most');
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

// ---------------------------------------------------------------------------------------------
// Flood of spoofed first messages (SHAPES.md #9, issue 5 "flood test"): with a half-open cap
// reached, the oldest half-open responder entry that never saw the peer's MM3 is evicted instead
// of refusing the new MM1, so a legitimate peer gets in at once.

/** A genuine-looking MM1 (acceptable proposal) with a cookie unique to `i`. */
function spoofedMm1(i: number): Uint8Array {
  return encodeMessage({
    header: { initiatorCookie: Uint8Array.of(0xf1, 0x00, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff, 0x5a, 0xa5), responderCookie: new Uint8Array(8), nextPayload: 1, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 },
    payloads: [buildIkeSa([{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], 1)],
  });
}

function spoofedSource(i: number): { address: string; port: number } {
  return { address: `198.18.${(i >> 8) & 0xff}.${i & 0xff}`, port: 500 };
}

/** The responder of a road-warrior gateway: the legitimate peer's connection and a '%any' one. */
function gateway(pair: Pair): void {
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.b.setConnection(conn(pair, 'b', { name: 'anyone', remote: { address: '%any', port: 500 }, remoteId: { type: 'any' }, psk: new TextEncoder().encode('another secret') }));
}

/** The initiator sent one MM1 and no datagram twice (no retransmission, no new keying try). */
function firstTry(pair: Pair): void {
  const sent = pair.sentBy('a').map((w) => Buffer.from(w.data).toString('hex'));
  assert.equal(new Set(sent).size, sent.length, 'a retransmitted nothing');
  const mm1s = pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 2 && w.data.subarray(8, 16).every((x) => x === 0));
  assert.equal(mm1s.length, 1, 'one HDR, SA --> from a');
}

test('spoofed MM1 flood fills the half-open table (cap 100); HDR, SA --> of a legitimate peer during the flood completes MM + QM on its first try', () => {
  const CAP = 100;
  const pair = new Pair({ seed: 'flood-total', b: { halfOpenTotal: CAP } });
  gateway(pair);
  let n = 0;
  const flood = (k: number): void => {
    for (let j = 0; j < k; j++, n++) {
      pair.inject('b', spoofedMm1(n), spoofedSource(n % 1000));
      // memory bounded: never more half-open entries (nor ISAKMP SA records) than the cap
      assert.ok(pair.b.stats().halfOpen <= CAP);
      assert.ok(pair.b.stats().isakmp <= CAP + 1);
    }
  };
  // the table fills, then every further MM1 evicts the oldest entry
  flood(3 * CAP);
  assert.equal(pair.b.stats().halfOpen, CAP);
  assert.equal(pair.b.stats().halfOpenEvicted, 2 * CAP);
  assert.equal(pair.ev('b', 'dropped').filter((e) => e.code === 'HALF_OPEN_EVICTED').length, 2 * CAP);
  // the flood goes on at 2 MM1 per ms (20 per round trip of 10 ms) while a connects
  pair.a.initiate(pair.now, 'c');
  for (let ms = 0; ms < 2000; ms++) {
    flood(2);
    pair.run(1);
  }
  assertMirrored(pair, assert);
  firstTry(pair);
  assert.equal(pair.ev('a', 'failed').length, 0);
  assert.equal(pair.b.stats().halfOpen, CAP);
  // every spoofed entry either still waits (CAP of them) or was evicted; the legitimate one left the table established
  assert.equal(pair.b.stats().halfOpenEvicted, n - CAP);
  assert.equal(pair.b.isakmpSas().filter((s) => s.state === 'established').length, 1);
  // the flood stops: 30 s later all half-open state is gone, the legitimate SAs stay
  pair.run(31_000);
  assert.equal(pair.b.stats().halfOpen, 0);
  assert.deepEqual(pair.b.isakmpSas().map((s) => [s.connection, s.state]), [['c', 'established']]);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.equal(pair.b.stats().isakmp, 1);
});

test('a flood spoofing the legitimate peer\'s own address: the per-peer cap (32) evicts that peer\'s oldest only; the peer still completes on its first try', () => {
  const pair = new Pair({ seed: 'flood-peer' });
  gateway(pair);
  // a few half-open entries of an unrelated peer, older than the flood: never touched by it
  for (let i = 0; i < 5; i++) pair.inject('b', spoofedMm1(90_000 + i), { address: '203.0.113.77', port: 500 });
  let n = 0;
  const flood = (k: number): void => {
    for (let j = 0; j < k; j++, n++) {
      pair.inject('b', spoofedMm1(n), pair.addrA);
      assert.ok(pair.b.stats().halfOpen <= 32 + 5);
    }
  };
  flood(100);
  assert.equal(pair.b.stats().halfOpen, 32 + 5);
  assert.equal(pair.b.stats().halfOpenEvicted, 100 - 32);
  // 1 spoofed MM1 per ms from a's address (10 per round trip) while a connects
  pair.a.initiate(pair.now, 'c');
  for (let ms = 0; ms < 1000; ms++) {
    flood(1);
    pair.run(1);
  }
  assertMirrored(pair, assert);
  firstTry(pair);
  assert.equal(pair.b.stats().halfOpen, 32 + 5);
  // the unrelated peer's five entries are the oldest of all and are still there
  assert.equal(inspect(pair.b).phase1s().filter((p) => p.halfOpen && p.remote.address === '203.0.113.77').length, 5);
  pair.run(31_000);
  assert.equal(pair.b.stats().halfOpen, 0);
  assert.equal(pair.b.stats().isakmp, 1);
});

test('half-open entries past MM3 are never evicted: with only such entries the table is full and a new MM1 is refused', () => {
  const pair = new Pair({ seed: 'flood-mm3', b: { halfOpenTotal: 2 } });
  pair.b.setConnection(conn(pair, 'b', { name: 'anyone', remote: { address: '%any', port: 500 } , remoteId: { type: 'any' } }));
  // two initiators on a's side (their own addresses), each gets as far as MM3: MM4 is lost
  for (const i of [1, 2]) pair.a.setConnection(conn(pair, 'a', { name: `c${i}`, local: { address: `192.0.2.${10 + i}`, port: 500 } }));
  const isMm4 = (from: string, d: Uint8Array): boolean => from === 'b' && decodeHeader(d).exchangeType === 2 && (d[19]! & 1) === 0 && d.length > 200;
  pair.tap = (from, d) => (isMm4(from, d) ? null : d);
  pair.a.initiate(pair.now, 'c1');
  pair.a.initiate(pair.now, 'c2');
  pair.run(100);
  assert.equal(pair.b.stats().halfOpen, 2);
  // a third peer's MM1: nothing evictable, refused (no answer, no state)
  const before = pair.wire.length;
  pair.inject('b', spoofedMm1(1), { address: '203.0.113.5', port: 500 });
  assert.equal(pair.wire.length, before, 'no answer');
  assert.equal(pair.b.stats().halfOpen, 2);
  assert.equal(pair.b.stats().halfOpenEvicted, 0);
  assert.equal(pair.ev('b', 'dropped').at(-1)!.reason, 'half-open limit reached');
  assert.equal(pair.ev('b', 'dropped').at(-1)!.code, 'HALF_OPEN_REFUSED');
  // MM4 gets through on a's retransmission of MM3: both complete
  pair.tap = undefined;
  pair.run(10_000);
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 2);
  assert.equal(pair.b.stats().halfOpen, 0);
});

/**
 * Aggressive Mode with PSK on both sides of the pair, a initiates; a tap loses a's first encrypted
 * Aggressive Mode message (AM3) and keeps it. Runs for `ms`; gives the pair and the AM3 held.
 */
function aggressiveWithAm3Lost(seed: string, ms: number): { pair: Pair; am3: Uint8Array } {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', allowAggressivePsk: true, keyingTries: 1, fragmentation: 'no' }));
  pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', allowAggressivePsk: true, fragmentation: 'no' }));
  let am3: Uint8Array | undefined;
  pair.tap = (from, data) => {
    const h = decodeHeader(data);
    if (from === 'a' && h.exchangeType === 4 && (h.flags & 1) !== 0 && am3 === undefined) {
      am3 = new Uint8Array(data);
      return null;
    }
    return data;
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(ms);
  assert.ok(am3, 'the tap took AM3');
  return { pair, am3 };
}

const AM3_LOST = /the peer's Aggressive Mode message 3 never arrived, but it sent a Quick Mode under this half-open phase 1 \(connection c\): probably a lost datagram/;

test('Aggressive Mode message 3 lost: the responder reads no Quick Mode without it, answers nothing, names it once at the default level and again when the half-open phase 1 times out; nothing established on its side', () => {
  const { pair } = aggressiveWithAm3Lost('am3lost', 60_000);
  // the initiator is done with phase 1 and went on with its Quick Mode, retransmitted
  assert.equal(pair.ev('a', 'phase1-established').length, 1);
  const qms = pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 32);
  assert.ok(qms.length >= 3, `a's Quick Mode and its retransmissions: ${qms.length}`);
  // the responder: AM2 once, nothing else (no Quick Mode answer, no repeat of AM2)
  assert.deepEqual(pair.sentBy('b').map((w) => decodeHeader(w.data).exchangeType), [4]);
  assert.equal(pair.ev('b', 'phase1-established').length, 0);
  assert.equal(pair.b.ipsecSas().length, 0);
  // named once as a failure (the operator's line), its repeats as plain drops; every Quick Mode
  // datagram dropped (the last ones, after the half-open phase 1 is gone, as without an SA)
  const drops = pair.ev('b', 'dropped').filter((d) => AM3_LOST.test(d.reason));
  assert.ok(drops.length >= 3, `named drops: ${drops.length}`);
  assert.equal(pair.ev('b', 'dropped').length, qms.length);
  assert.deepEqual(drops.map((d) => d.cause), ['NO_ANSWER', ...drops.slice(1).map(() => undefined)]);
  // the half-open phase 1 ends at its timeout (30 s), named
  const failed = pair.ev('b', 'failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.kind, 'isakmp');
  assert.match(failed[0]!.reason, /the peer's Aggressive Mode message 3 never arrived, though it went on with a Quick Mode or Transaction under this phase 1: probably a lost datagram/);
  assert.equal(failed[0]!.cause, 'NO_ANSWER');
  assert.equal(pair.b.isakmpSas().length, 0);
  assert.equal(pair.b.stats().halfOpen, 0);
});

test('Aggressive Mode message 3 only late (after the Quick Mode): the half-open phase 1 waited for it, the Quick Mode retransmitted comes up', () => {
  const { pair, am3 } = aggressiveWithAm3Lost('am3late', 100);
  assert.equal(pair.ev('b', 'dropped').filter((d) => AM3_LOST.test(d.reason)).length, 1, 'the Quick Mode came first');
  pair.inject('b', am3);
  assert.equal(pair.ev('b', 'phase1-established').length, 1);
  pair.run(10_000);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assertMirrored(pair, assert);
});

const DELETED_IN_USE = /the peer sent a Quick Mode under ISAKMP SA [0-9a-f]{32} \(connection c\), which we deleted: unless it crossed our Delete on the way, the Delete never arrived/;

test('our Delete of the ISAKMP SA lost: the peer goes on with a Quick Mode under it; dropped (nothing to read it with), named once at the default level, its retransmissions plain drops', () => {
  const pair = new Pair({ seed: 'dellost' });
  setup(pair);
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.a.ipsecSas().length, 1);
  const saId = pair.a.isakmpSas()[0]!.id;
  // every Informational of a's lost from now on: b never hears of the Delete
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 5 ? null : data);
  pair.a.delete(pair.now, saId);
  assert.equal(pair.a.isakmpSas().length, 0);
  pair.run(100);
  assert.equal(pair.b.isakmpSas().length, 1, 'b still holds the ISAKMP SA');
  const before = pair.ev('a', 'dropped').length;
  const sentBefore = pair.sentBy('b').length;
  pair.b.rekey(pair.now, pair.b.ipsecSas()[0]!.id); // a Quick Mode under the SA a deleted
  pair.run(60_000);
  const drops = pair.ev('a', 'dropped').slice(before);
  const qms = pair.sentBy('b').slice(sentBefore).filter((w) => decodeHeader(w.data).exchangeType === 32 && Buffer.from(w.data.subarray(0, 16)).toString('hex') === saId);
  assert.ok(qms.length >= 3, `b's Quick Mode and its retransmissions: ${qms.length}`);
  assert.equal(drops.length, qms.length, 'every one dropped');
  assert.ok(drops.every((d) => DELETED_IN_USE.test(d.reason)), drops.map((d) => d.reason).join('\n'));
  assert.deepEqual(drops.map((d) => d.cause), ['NO_ANSWER', ...drops.slice(1).map(() => undefined)]);
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 1, 'no new IPsec SA on a');
  assert.equal(pair.a.isakmpSas().length, 0);
});

test('a Quick Mode under cookies we never had (or from another address than the deleted SA\'s peer) is the plain drop, not named as a lost Delete', () => {
  const pair = new Pair({ seed: 'delother' });
  setup(pair);
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const saId = pair.a.isakmpSas()[0]!.id;
  let qm: Uint8Array | undefined;
  pair.tap = (from, data) => {
    const h = decodeHeader(data);
    if (from === 'a' && h.exchangeType === 5) return null;
    if (from === 'b' && h.exchangeType === 32 && qm === undefined) qm = new Uint8Array(data);
    return data;
  };
  pair.a.delete(pair.now, saId);
  pair.b.rekey(pair.now, pair.b.ipsecSas()[0]!.id);
  pair.run(100);
  assert.ok(qm);
  const before = pair.ev('a', 'dropped').length;
  pair.inject('a', qm, { address: '192.0.2.99', port: 500 });
  const other = new Uint8Array(qm);
  other[8] = other[8]! ^ 0xff; // another responder cookie
  pair.inject('a', other);
  const drops = pair.ev('a', 'dropped').slice(before);
  assert.equal(drops.length, 2);
  for (const d of drops) {
    assert.match(d.reason, /Quick Mode without an established ISAKMP SA/);
    assert.equal(d.cause, undefined);
  }
});
