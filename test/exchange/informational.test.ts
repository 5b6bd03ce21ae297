// Informational exchanges under HASH(1) (RFC 2408 §4.8, RFC 2409 §5.7): Delete, INITIAL-CONTACT,
// DPD (RFC 3706); nothing acts on an unauthenticated or badly hashed informational.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, encodeMessage } from '../../src/codec/index.js';
import { Pair, anotherQuickMode, conn, establishedPair } from '../helpers/pair.js';
import { craftProtected } from '../helpers/craft.js';
import { inspect } from '../../src/exchange/inspect.js';

const up = establishedPair;

test('HDR*, HASH(1), D(ESP) -->: the initiator deletes its IPsec SA; the peer removes its own', () => {
  const pair = up('del-child-a');
  const id = pair.a.ipsecSas()[0]!.id;
  pair.a.delete(pair.now, id);
  pair.run(100);
  assert.equal(pair.a.ipsecSas().length, 0);
  assert.equal(pair.b.ipsecSas().length, 0);
  assert.equal(pair.ev('a', 'deleted')[0]!.by, 'local');
  assert.equal(pair.ev('b', 'deleted')[0]!.by, 'peer');
  const h = decodeHeader(pair.wire[0]!.data);
  assert.equal(h.exchangeType, 5);
  assert.equal(h.nextPayload, 8);
  assert.equal(h.flags & 1, 1);
  assert.notEqual(h.messageId, 0);
  // ISAKMP SA stays
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.b.isakmpSas().length, 1);
});

test('<-- HDR*, HASH(1), D(ESP): the responder deletes; the initiator removes its own', () => {
  const pair = up('del-child-b');
  pair.b.delete(pair.now, pair.b.ipsecSas()[0]!.id);
  pair.run(100);
  assert.equal(pair.a.ipsecSas().length, 0);
  assert.equal(pair.ev('a', 'deleted')[0]!.kind, 'ipsec');
});

test('HDR*, HASH(1), D(ISAKMP) from either side removes the ISAKMP SA only; IPsec SAs live on', () => {
  for (const side of ['a', 'b'] as const) {
    const pair = up(`del-p1-${side}`);
    const ep = pair.ep(side);
    ep.delete(pair.now, ep.isakmpSas()[0]!.id);
    pair.run(100);
    assert.equal(pair.a.isakmpSas().length, 0);
    assert.equal(pair.b.isakmpSas().length, 0);
    assert.equal(pair.a.ipsecSas().length, 1);
    assert.equal(pair.b.ipsecSas().length, 1);
    const other = side === 'a' ? 'b' : 'a';
    assert.equal(pair.ev(other, 'deleted')[0]!.by, 'peer');
  }
});

test('DPD: HDR*, HASH(1), N(R-U-THERE) --> ; <-- HDR*, HASH(1), N(R-U-THERE-ACK) with the same sequence', () => {
  const pair = up('dpd');
  const seq = pair.a.dpd(pair.now, pair.a.isakmpSas()[0]!.id);
  pair.run(100);
  const acks = pair.ev('a', 'notify').filter((n) => n.notify === 36137);
  assert.equal(acks.length, 1);
  assert.equal(pair.ev('b', 'notify')[0]!.notify, 36136);
  assert.equal(pair.sentBy('b').length, 1);
  void seq;
});

for (const mode of ['wrong', 'missing', 'truncated', 'not-first'] as const) {
  test(`HASH(1) ${mode}: Delete and R-U-THERE are not acted upon`, () => {
    const pair = up(`bad-hash-${mode}`);
    const saId = pair.a.isakmpSas()[0]!.id;
    const child = pair.b.ipsecSas()[0]!;
    const spi = child.protocols[0]!.outbound.spi; // a's inbound SPI
    const del = craftProtected(pair.a, saId, 5, 0x01020304, [{ type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [spi] }], mode);
    pair.inject('b', del);
    const dpd = craftProtected(pair.a, saId, 5, 0x01020305, [{ type: 'N', doi: 1, protocol: 1, notifyType: 36136, spi: new Uint8Array(16), data: Uint8Array.of(0, 0, 0, 1) }], mode);
    pair.inject('b', dpd);
    assert.equal(pair.b.ipsecSas().length, 1);
    assert.equal(pair.sentBy('b').length, 0, 'no R-U-THERE-ACK, no notify');
    assert.equal(pair.ev('b', 'dropped').length, 2);
    // control: the same messages with a good HASH(1) are acted upon
    pair.inject('b', craftProtected(pair.a, saId, 5, 0x01020306, [{ type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [spi] }], 'good'));
    assert.equal(pair.b.ipsecSas().length, 0);
  });
}

test('unauthenticated informational / DPD (no state, or real cookies but clear): dropped, no reply, no state', () => {
  const pair = up('unauth');
  const sa = pair.a.isakmpSas()[0]!;
  const mk = (ic: Uint8Array, rc: Uint8Array, notifyType: number) => encodeMessage({
    header: { initiatorCookie: ic, responderCookie: rc, nextPayload: 11, majorVersion: 1, minorVersion: 0, exchangeType: 5, flags: 0, messageId: 0 },
    payloads: [{ type: 'N', doi: 1, protocol: 1, notifyType, spi: new Uint8Array(0), data: Uint8Array.of(0, 0, 0, 7) }],
  });
  pair.inject('b', mk(Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9), Uint8Array.of(8, 8, 8, 8, 8, 8, 8, 8), 36136));
  pair.inject('b', mk(sa.initiatorCookie, sa.responderCookie, 36136));
  pair.inject('b', mk(sa.initiatorCookie, sa.responderCookie, 24578)); // INITIAL-CONTACT in clear
  const del = encodeMessage({
    header: { initiatorCookie: sa.initiatorCookie, responderCookie: sa.responderCookie, nextPayload: 12, majorVersion: 1, minorVersion: 0, exchangeType: 5, flags: 0, messageId: 5 },
    payloads: [{ type: 'D', doi: 1, protocol: 1, spiSize: 16, spis: [new Uint8Array([...sa.initiatorCookie, ...sa.responderCookie])] }],
  });
  pair.inject('b', del);
  assert.equal(pair.sentBy('b').length, 0);
  assert.equal(pair.b.isakmpSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.equal(pair.ev('b', 'dropped').length, 4);
  assert.deepEqual(pair.ev('b', 'dropped').map((d) => [d.notify, d.code]), new Array(4).fill([0, 'UNAUTHENTICATED_INFORMATIONAL']));
});

test('duplicated Delete (CVE-2023-38712 shape): D(ISAKMP), D(ISAKMP), N(R-U-THERE) → one delete, the rest ignored', () => {
  const pair = up('dupdel');
  const sa = pair.a.isakmpSas()[0]!;
  const cookies = new Uint8Array([...sa.initiatorCookie, ...sa.responderCookie]);
  pair.a.sendInformational(pair.now, sa.id, [
    { type: 'D', doi: 1, protocol: 1, spiSize: 16, spis: [cookies] },
    { type: 'D', doi: 1, protocol: 1, spiSize: 16, spis: [cookies] },
    { type: 'N', doi: 1, protocol: 1, notifyType: 36136, spi: cookies, data: Uint8Array.of(0, 0, 0, 1) },
  ]);
  pair.run(100);
  assert.equal(pair.ev('b', 'deleted').length, 1);
  assert.equal(pair.b.isakmpSas().length, 0);
  assert.equal(pair.sentBy('b').length, 0, 'no ACK after the SA was deleted');
  assert.equal(pair.b.ipsecSas().length, 1);
});

test('INITIAL-CONTACT under HASH(1) clears our older SAs with that peer', () => {
  const pair = up('ic');
  const saId = pair.a.isakmpSas()[0]!.id;
  pair.a.sendInformational(pair.now, saId, [{ type: 'N', doi: 1, protocol: 1, notifyType: 24578, spi: new Uint8Array(16), data: new Uint8Array(0) }]);
  pair.run(100);
  // the ISAKMP SA that carried it stays, IPsec SAs with the peer are cleared
  assert.equal(pair.b.isakmpSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 0);
});

test('a new Main Mode from a restarted peer with INITIAL-CONTACT replaces the old SAs', () => {
  const pair = up('restart');
  const fresh = new Pair({ seed: 'restart2' });
  // a "restarted" a: new endpoint, same address
  fresh.a.setConnection(conn(fresh, 'a'));
  pair.a = fresh.a;
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.b.isakmpSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.ok(pair.ev('b', 'deleted').some((d) => d.kind === 'ipsec' && d.by === 'peer'));
});

test('replayed protected messages: a captured R-U-THERE or Quick Mode HASH(1) message gets no second answer', () => {
  const pair = up('replay');
  const saId = pair.a.isakmpSas()[0]!.id;
  pair.a.dpd(pair.now, saId);
  pair.run(100);
  const dpd = pair.sentBy('a').at(-1)!.data;
  const acks = pair.sentBy('b').length;
  pair.inject('b', dpd);
  assert.equal(pair.sentBy('b').length, acks, 'no second R-U-THERE-ACK');
  assert.equal(pair.ev('b', 'dropped').at(-1)!.notify, 9);
  // Quick Mode: run five more so the first falls out of the short "finished" memory, then replay it
  pair.clearEvents();
  for (let i = 0; i < 5; i++) anotherQuickMode(pair, 'a');
  pair.run(1000);
  assert.equal(pair.b.ipsecSas().length, 6);
  const firstQm = pair.sentBy('a').find((w) => decodeHeader(w.data).exchangeType === 32)!;
  const n = pair.sentBy('b').length;
  pair.inject('b', firstQm.data);
  assert.equal(pair.sentBy('b').length, n, 'no HASH(2) for a replayed HASH(1) message');
  assert.equal(pair.b.ipsecSas().length, 6);
});

test('<-- HDR*, HASH(1), D(ESP) goes under the newest established ISAKMP SA with the peer, also once that ISAKMP SA was replaced by a rekey', () => {
  const pair = up('del-newest');
  // a second IPsec SA under the same ISAKMP SA (Quick Mode under the existing one)
  anotherQuickMode(pair, 'a');
  pair.run(2000);
  assert.equal(pair.b.ipsecSas().length, 2);
  assert.equal(pair.b.isakmpSas().length, 1);
  const [c1, c2] = pair.b.ipsecSas();
  const cookiesOf = (d: Uint8Array): string => Buffer.from(d.subarray(0, 16)).toString('hex');
  const p1old = pair.b.isakmpSas()[0]!.id;
  pair.wire.length = 0;
  pair.b.delete(pair.now, c1!.id);
  pair.run(100);
  assert.deepEqual(pair.sentBy('b').map((w) => [decodeHeader(w.data).exchangeType, cookiesOf(w.data)]), [[5, p1old]]);
  assert.equal(pair.a.ipsecSas().length, 1);
  // phase 1 replaced (the old ISAKMP SA is deleted); the remaining IPsec SA lives on
  pair.a.rekey(pair.now, pair.a.isakmpSas()[0]!.id);
  pair.run(2000);
  assert.equal(pair.b.isakmpSas().length, 1);
  const p1new = pair.b.isakmpSas()[0]!.id;
  assert.notEqual(p1new, p1old);
  assert.equal(pair.b.ipsecSas().length, 1);
  pair.wire.length = 0;
  pair.clearEvents();
  pair.b.delete(pair.now, c2!.id);
  pair.run(100);
  assert.deepEqual(pair.sentBy('b').map((w) => [decodeHeader(w.data).exchangeType, cookiesOf(w.data)]), [[5, p1new]]);
  assert.equal(pair.a.ipsecSas().length, 0, 'the peer acted on the Delete');
  assert.deepEqual(pair.ev('a', 'deleted').map((e) => [e.kind, e.by]), [['ipsec', 'peer']]);
});

test("vpnc's disconnect: Deletes under one reused message ID, and under message ID 0, are acted upon; their replays are not", () => {
  // vpnc draws each Delete's message ID from one random byte: the IPsec and the ISAKMP Delete share
  // an ID once in 256 disconnects, and use 0 as often
  for (const [first, second] of [
    [0x96, 0x96],
    [0, 0x72],
    [0x41, 0],
  ] as const) {
    const pair = up(`vpnc-del-${first}-${second}`);
    const sa = pair.a.isakmpSas()[0]!;
    const spi = pair.a.ipsecSas()[0]!.protocols[0]!.inbound.spi;
    const cookies = new Uint8Array([...sa.initiatorCookie, ...sa.responderCookie]);
    const delEsp = craftProtected(pair.a, sa.id, 5, first, [{ type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [spi] }]);
    const delIsakmp = craftProtected(pair.a, sa.id, 5, second, [{ type: 'D', doi: 1, protocol: 1, spiSize: 16, spis: [cookies] }]);
    pair.inject('b', delEsp);
    assert.equal(pair.b.ipsecSas().length, 0, `the IPsec SA goes (message ID ${first})`);
    // a replay of the first Delete: refused, the ISAKMP SA stays
    pair.inject('b', delEsp);
    assert.equal(pair.ev('b', 'dropped').at(-1)!.notify, 9, 'the replay is refused (INVALID_MESSAGE_ID)');
    assert.equal(pair.b.isakmpSas().length, 1);
    pair.inject('b', delIsakmp);
    assert.equal(pair.b.isakmpSas().length, 0, `the ISAKMP SA goes (message ID ${second} after ${first})`);
    assert.deepEqual(
      pair.ev('b', 'deleted').map((d) => [d.kind, d.by]),
      [
        ['ipsec', 'peer'],
        ['isakmp', 'peer'],
      ],
    );
  }
});

test('a reused Informational message ID: at most four different messages under it, and only under the four latest IDs', () => {
  const pair = up('reused-ids');
  const saId = pair.a.isakmpSas()[0]!.id;
  const notify = (n: number) => [{ type: 'N' as const, doi: 1, protocol: 1, notifyType: 40000 + n, spi: new Uint8Array(0), data: new Uint8Array(0) }];
  const notifies = (): number[] => pair.ev('b', 'notify').map((e) => e.notify - 40000);
  // four different messages under one ID are taken, the fifth is not
  for (let n = 0; n < 5; n++) pair.inject('b', craftProtected(pair.a, saId, 5, 0x5000, notify(n)));
  assert.deepEqual(notifies(), [0, 1, 2, 3]);
  // four more IDs push 0x5000 out of the recent ones: a new message under it is then a replay
  for (let id = 0x5001; id <= 0x5004; id++) pair.inject('b', craftProtected(pair.a, saId, 5, id, notify(id - 0x5000 + 10)));
  assert.deepEqual(notifies(), [0, 1, 2, 3, 11, 12, 13, 14]);
  pair.inject('b', craftProtected(pair.a, saId, 5, 0x5000, notify(20)));
  pair.inject('b', craftProtected(pair.a, saId, 5, 0x5004, notify(21)));
  assert.deepEqual(notifies(), [0, 1, 2, 3, 11, 12, 13, 14, 21], 'the old ID refused, the recent one taken');
  assert.equal(pair.ev('b', 'dropped').at(-1)!.notify, 9);
});

test('an authenticated error notify ends our Quick Mode waiting for HASH(2) unless it names an ESP SPI we did not offer in it (Cisco\'s INVALID_SPI for stray ESP traffic)', () => {
  const pair = up('qm-notify-spi');
  const saId = pair.a.isakmpSas()[0]!.id;
  // our next QM1 never reaches the peer: the Quick Mode stays waiting for HASH(2)
  pair.tap = (from, d) => (from === 'a' && decodeHeader(d).exchangeType === 32 ? null : d);
  anotherQuickMode(pair, 'a');
  pair.run(10);
  assert.equal(inspect(pair.a).quickModesInProgress(), 1);
  const n = (notifyType: number, protocol: number, spi: Uint8Array) => [{ type: 'N' as const, doi: 1, protocol, notifyType, spi, data: new Uint8Array(0) }];
  // INVALID_SPI about ESP traffic to an SPI that is not in our offer: not about this Quick Mode
  pair.inject('a', craftProtected(pair.b, saId, 5, 0x0a0b0c01, n(11, 3, Uint8Array.of(0xde, 0xad, 0xbe, 0xef))));
  assert.equal(inspect(pair.a).quickModesInProgress(), 1, 'the Quick Mode goes on');
  assert.equal(pair.ev('a', 'failed').length, 0);
  assert.deepEqual(pair.ev('a', 'notify').map((e) => e.notify), [11]);
  // NO_PROPOSAL_CHOSEN naming no AH/ESP SPI: the answer to our QM1
  pair.inject('a', craftProtected(pair.b, saId, 5, 0x0a0b0c02, n(14, 1, new Uint8Array(0))));
  assert.equal(inspect(pair.a).quickModesInProgress(), 0);
  const f = pair.ev('a', 'failed');
  assert.equal(f.length, 1);
  assert.match(f[0]!.reason!, /^the peer refused the Quick Mode: NO_PROPOSAL_CHOSEN \(authenticated notify\)/);
  // strongSwan's refusal before it chose a proposal: ESP with SPI 0 (INVALID_ID_INFORMATION for
  // selectors it has no child for): the answer to our QM1 too
  anotherQuickMode(pair, 'a');
  pair.run(10);
  assert.equal(inspect(pair.a).quickModesInProgress(), 1);
  pair.inject('a', craftProtected(pair.b, saId, 5, 0x0a0b0c03, n(18, 3, new Uint8Array(4))));
  assert.equal(inspect(pair.a).quickModesInProgress(), 0);
  assert.match(pair.ev('a', 'failed')[1]!.reason!, /^the peer refused the Quick Mode: INVALID_ID_INFORMATION \(authenticated notify\): the peer refused our traffic selectors/);
});

test('an error notify that ends nothing of ours is a peer-error event: authenticated (a stray INVALID_SPI) or in clear with our SA\'s cookies (not acted upon); a status notify, one in clear with unknown cookies and one that ends our Quick Mode are not', () => {
  const pair = up('peer-error');
  const sa = pair.a.isakmpSas()[0]!;
  const n = (notifyType: number, protocol: number, spi: Uint8Array) => [{ type: 'N' as const, doi: 1, protocol, notifyType, spi, data: new Uint8Array(0) }];
  const clear = (ic: Uint8Array, rc: Uint8Array, notifyType: number) => encodeMessage({
    header: { initiatorCookie: ic, responderCookie: rc, nextPayload: 11, majorVersion: 1, minorVersion: 0, exchangeType: 5, flags: 0, messageId: 0 },
    payloads: n(notifyType, 1, new Uint8Array(0)),
  });
  // authenticated INVALID_SPI for ESP traffic to an SPI of no exchange of ours
  pair.inject('a', craftProtected(pair.b, sa.id, 5, 0x0a0b0c01, n(11, 3, Uint8Array.of(0xde, 0xad, 0xbe, 0xef))));
  let pe = pair.ev('a', 'peer-error');
  assert.deepEqual(pe.map((e) => [e.notify, e.authenticated, e.connection, e.isakmpSa, e.peer.address]), [[11, true, 'c', sa.id, pair.addrB.address]]);
  assert.match(pe[0]!.reason, /^the peer sent INVALID_SPI \(ESP SPI deadbeef; authenticated notify\) under ISAKMP SA \S+, answering no exchange of ours: the peer does not know that SPI/);
  assert.deepEqual(pair.ev('a', 'notify').map((e) => e.notify), [11], 'the notify event as before');
  // a status notify (RESPONDER-LIFETIME): no peer-error
  pair.inject('a', craftProtected(pair.b, sa.id, 5, 0x0a0b0c02, n(24576, 1, new Uint8Array(0))));
  assert.equal(pair.ev('a', 'peer-error').length, 1);
  // INVALID_COOKIE in clear with our SA's cookies, from the peer's address: named, not acted upon
  pair.inject('a', clear(sa.initiatorCookie, sa.responderCookie, 4));
  pe = pair.ev('a', 'peer-error');
  assert.deepEqual(pe.slice(1).map((e) => [e.notify, e.authenticated]), [[4, false]]);
  assert.match(pe[1]!.reason, /^the peer sent INVALID_COOKIE \(unauthenticated notify, not acted upon: anyone on the path can send one\)/);
  assert.deepEqual(pair.ev('a', 'dropped').map((d) => d.code), ['UNAUTHENTICATED_INFORMATIONAL']);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.a.ipsecSas().length, 1);
  // the same from another address, or with cookies of no SA of ours: a drop only
  pair.inject('a', clear(sa.initiatorCookie, sa.responderCookie, 4), { address: '203.0.113.50', port: 500 });
  pair.inject('a', clear(Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9), Uint8Array.of(8, 8, 8, 8, 8, 8, 8, 8), 4));
  assert.equal(pair.ev('a', 'peer-error').length, 2);
  assert.equal(pair.ev('a', 'dropped').length, 3);
  // an error that answers our Quick Mode: its failure names it, no peer-error
  pair.tap = (from, d) => (from === 'a' && decodeHeader(d).exchangeType === 32 ? null : d);
  anotherQuickMode(pair, 'a');
  pair.run(10);
  pair.inject('a', craftProtected(pair.b, sa.id, 5, 0x0a0b0c03, n(14, 1, new Uint8Array(0))));
  assert.equal(pair.ev('a', 'failed').length, 1);
  assert.equal(pair.ev('a', 'peer-error').length, 2);
});
