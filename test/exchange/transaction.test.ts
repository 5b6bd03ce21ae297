// The Transaction exchange (type 6; draft-ietf-ipsec-isakmp-mode-cfg-05 §3) under an ISAKMP SA:
// REQUEST/REPLY and SET/ACK both ways, HASH like Informational, its own message ID and IV chain,
// retransmission, repeats answered from memory, replays and forged hashes refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import { CfgAttr, CfgType } from '../../src/constants/index.js';
import type { DataAttribute } from '../../src/codec/types.js';
import { establishedPair, type Pair, type Side } from '../helpers/pair.js';

const enc = new TextEncoder();
const USER: DataAttribute = { format: 'TLV', type: CfgAttr.XAUTH_USER_NAME, value: new Uint8Array(0) };
const PASS: DataAttribute = { format: 'TLV', type: CfgAttr.XAUTH_USER_PASSWORD, value: new Uint8Array(0) };

/** Each side answers the peer's requests: REQUEST with `reply`, SET with an empty ACK. */
function autoAnswer(pair: Pair, side: Side, reply: DataAttribute[]): void {
  const ep = pair.ep(side);
  for (const e of pair.ev(side, 'transaction')) {
    if (e.answered) continue;
    ep.answerTransaction(pair.now, e.isakmpSa, e.messageId, e.cfgType === CfgType.ISAKMP_CFG_REQUEST ? reply : []);
  }
}

for (const [from, to] of [['a', 'b'], ['b', 'a']] as const) {
  test(`REQUEST --> REPLY <--, sent by ${from}: the answer carries the requester's message ID and identifier`, () => {
    const pair = establishedPair(`txn-req-${from}`);
    const sa = pair.ep(from).isakmpSas()[0]!.id;
    const msgId = pair.ep(from).sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_REQUEST, 0x1234, [USER, PASS]);
    pair.run(50);
    const got = pair.ev(to, 'transaction');
    assert.equal(got.length, 1);
    assert.equal(got[0]!.answered, false);
    assert.equal(got[0]!.cfgType, CfgType.ISAKMP_CFG_REQUEST);
    assert.equal(got[0]!.identifier, 0x1234);
    assert.equal(got[0]!.messageId, msgId);
    assert.deepEqual(got[0]!.attributes.map((a) => a.type), [CfgAttr.XAUTH_USER_NAME, CfgAttr.XAUTH_USER_PASSWORD]);
    const reply: DataAttribute[] = [
      { format: 'TLV', type: CfgAttr.XAUTH_USER_NAME, value: enc.encode('alice') },
      { format: 'TLV', type: CfgAttr.XAUTH_USER_PASSWORD, value: enc.encode('s3cret') },
    ];
    autoAnswer(pair, to, reply);
    pair.run(50);
    const ans = pair.ev(from, 'transaction');
    assert.equal(ans.length, 1);
    assert.equal(ans[0]!.answered, true);
    assert.equal(ans[0]!.cfgType, CfgType.ISAKMP_CFG_REPLY);
    assert.equal(ans[0]!.identifier, 0x1234);
    assert.deepEqual(ans[0]!.attributes, reply);
    // on the wire: two encrypted type-6 messages with the same non-zero message ID, HASH first
    const hs = pair.wire.map((w) => decodeHeader(w.data));
    assert.equal(hs.length, 2);
    for (const h of hs) {
      assert.equal(h.exchangeType, 6);
      assert.equal(h.nextPayload, 8);
      assert.equal(h.flags & 1, 1);
      assert.equal(h.messageId, msgId);
    }
    // no retransmission after the answer
    pair.run(60_000);
    assert.equal(pair.wire.length, 2);
    assert.equal(pair.ev(from, 'failed').length, 0);
  });
}

test('SET --> ACK <--: XAUTH status style, both ways under one SA, interleaved', () => {
  const pair = establishedPair('txn-set');
  const saA = pair.a.isakmpSas()[0]!.id;
  const saB = pair.b.isakmpSas()[0]!.id;
  pair.b.sendTransaction(pair.now, saB, CfgType.ISAKMP_CFG_SET, 7, [{ format: 'TV', type: CfgAttr.XAUTH_STATUS, value: 1 }]);
  pair.a.sendTransaction(pair.now, saA, CfgType.ISAKMP_CFG_REQUEST, 8, [{ format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: new Uint8Array(0) }]);
  pair.run(50);
  autoAnswer(pair, 'a', []);
  autoAnswer(pair, 'b', [{ format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: Uint8Array.of(10, 9, 0, 1) }]);
  pair.run(50);
  const ack = pair.ev('b', 'transaction').find((e) => e.answered)!;
  assert.equal(ack.cfgType, CfgType.ISAKMP_CFG_ACK);
  assert.equal(ack.identifier, 7);
  const reply = pair.ev('a', 'transaction').find((e) => e.answered)!;
  assert.equal(reply.cfgType, CfgType.ISAKMP_CFG_REPLY);
  assert.deepEqual(reply.attributes[0]!.value, Uint8Array.of(10, 9, 0, 1));
});

test('a lost answer: the request is retransmitted and the answer sent again from memory; a replayed request is not handed up twice', () => {
  const pair = establishedPair('txn-loss');
  const sa = pair.a.isakmpSas()[0]!.id;
  pair.a.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_REQUEST, 1, [USER]);
  pair.run(50);
  pair.knobs.loss = 1; // b's answer is lost
  autoAnswer(pair, 'b', [{ format: 'TLV', type: CfgAttr.XAUTH_USER_NAME, value: enc.encode('bob') }]);
  pair.run(10);
  pair.knobs.loss = 0;
  pair.run(5000); // a retransmits after 1 s; b answers the repeat with the same bytes
  assert.equal(pair.ev('b', 'transaction').length, 1, 'the repeat is not a new request');
  const ans = pair.ev('a', 'transaction');
  assert.equal(ans.length, 1);
  assert.equal(ans[0]!.answered, true);
  const fromB = pair.sentBy('b');
  assert.equal(fromB.length, 2);
  assert.deepEqual(fromB[1]!.data, fromB[0]!.data);
  // a replay of a's request, long after: answered from memory at most, never a new event
  pair.inject('b', pair.sentBy('a')[0]!.data);
  pair.run(100);
  assert.equal(pair.ev('b', 'transaction').length, 1);
});

test('no answer at all: retransmitted up to the limit, then a failed event; the ISAKMP SA stays', () => {
  const pair = establishedPair('txn-silent');
  pair.knobs.loss = 1;
  pair.a.sendTransaction(pair.now, pair.a.isakmpSas()[0]!.id, CfgType.ISAKMP_CFG_SET, 2, []);
  pair.run(120_000);
  assert.equal(pair.sentBy('a').length, 6); // first send + 5 retransmissions (retransmitLimit 5)
  const f = pair.ev('a', 'failed');
  assert.equal(f.length, 1);
  assert.match(f[0]!.reason, /transaction ISAKMP_CFG_SET: retransmit limit/);
  assert.equal(pair.a.isakmpSas().length, 1);
});

test('a transaction message with a wrong HASH or starting with REPLY is dropped, nothing handed up', () => {
  const pair = establishedPair('txn-forged');
  pair.knobs.loss = 1; // the request only reaches the wire record
  pair.a.sendTransaction(pair.now, pair.a.isakmpSas()[0]!.id, CfgType.ISAKMP_CFG_REQUEST, 3, [USER]);
  pair.run(1);
  pair.knobs.loss = 0;
  const bytes = Uint8Array.from(pair.sentBy('a')[0]!.data);
  const forged = Uint8Array.from(bytes);
  forged[forged.length - 20]! ^= 1; // the block before last: the hashed ATTR changes
  pair.inject('b', forged);
  pair.run(10);
  assert.equal(pair.ev('b', 'transaction').length, 0);
  assert.equal(pair.ev('b', 'dropped').length, 1);
  // sanity: the unmodified message is taken
  pair.inject('b', bytes);
  pair.run(10);
  assert.equal(pair.ev('b', 'transaction').length, 1);
  // a REQUEST without a transaction (answerTransaction for an unknown ID) is refused locally
  assert.throws(() => pair.b.answerTransaction(pair.now, pair.b.isakmpSas()[0]!.id, 42, []), /no transaction 42/);
});

test('30 % loss both ways: a REQUEST/REPLY and a SET/ACK still complete through retransmissions', () => {
  const pair = establishedPair('txn-lossy');
  pair.knobs.loss = 0.3;
  const sa = pair.b.isakmpSas()[0]!.id;
  pair.b.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_REQUEST, 1, [USER, PASS]);
  for (let i = 0; i < 40; i++) {
    pair.run(500);
    autoAnswer(pair, 'a', [{ format: 'TLV', type: CfgAttr.XAUTH_USER_NAME, value: enc.encode('carol') }]);
    pair.events.a.length = 0;
  }
  const reply = pair.ev('b', 'transaction').filter((e) => e.answered);
  assert.equal(reply.length, 1);
  pair.b.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_SET, 2, [{ format: 'TV', type: CfgAttr.XAUTH_STATUS, value: 1 }]);
  for (let i = 0; i < 40; i++) {
    pair.run(500);
    autoAnswer(pair, 'a', []);
    pair.events.a.length = 0;
  }
  assert.equal(pair.ev('b', 'transaction').filter((e) => e.answered).length, 2);
});
