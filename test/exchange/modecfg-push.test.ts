// Mode Config push (draft-ietf-ipsec-isakmp-mode-cfg-05 §3: the gateway SETs, the client ACKs) in
// memory, both roles: what the SET and the ACK carry on the wire (decrypted with the SA's keys),
// the identifier echoed, the Quick Mode from the pushed address, the SET retransmitted until its
// ACK; and what goes wrong: a client that never acknowledges, an ACK under another identifier, a
// gateway that never pushes, a SET before XAUTH is done, without an address or with two, a
// client's REQUEST before XAUTH is done (no lease for an unauthenticated user), a SET from a
// stranger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import type { DataAttribute } from '../../src/codec/types.js';
import { CfgAttr, CfgType, NotifyType } from '../../src/constants/index.js';
import { hostSelector, subnetSelector } from '../../src/exchange/ids.js';
import { inspect } from '../../src/exchange/inspect.js';
import { Pair, conn, type Side } from '../helpers/pair.js';
import { resealAnswer, txnMessages } from '../helpers/transaction-wire.js';

const enc = new TextEncoder();
const tlv = (type: number, ...bytes: number[]): DataAttribute => ({ format: 'TLV', type, value: Uint8Array.from(bytes) });
const ADDRESS = tlv(CfgAttr.INTERNAL_IP4_ADDRESS, 10, 10, 0, 9);
const PUSHED: DataAttribute[] = [
  ADDRESS,
  tlv(CfgAttr.INTERNAL_IP4_NETMASK, 255, 255, 255, 255),
  tlv(CfgAttr.INTERNAL_IP4_DNS, 10, 1, 0, 53),
  tlv(CfgAttr.INTERNAL_IP4_DNS, 10, 1, 0, 54),
  tlv(CfgAttr.UNITY_SPLIT_INCLUDE, 10, 1, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0),
];
const XAUTH_CLIENT = { role: 'client' as const, user: 'alice', password: enc.encode('pw') };

/** A push client (a) and a push gateway (b), with XAUTH or without. */
function pushPair(seed: string, xauth: boolean): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { ...(xauth ? { xauth: XAUTH_CLIENT } : {}), modeConfig: { role: 'client', push: true }, remoteTs: subnetSelector('10.1.0.0', 16) }));
  pair.b.setConnection(conn(pair, 'b', { ...(xauth ? { xauth: { role: 'server' as const } } : {}), modeConfig: { role: 'server', push: true }, localTs: subnetSelector('10.1.0.0', 16) }));
  return pair;
}

/** A push gateway (b) whose SET `attributes` goes to a client without Mode Config (a), driven by hand. */
function setByHand(seed: string, attributes: DataAttribute[]): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server', push: true } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const [req] = pair.ev('b', 'modecfg-request');
  pair.b.answerModeConfig(pair.now, req!.requestId, attributes);
  return pair;
}

const keysOf = (pair: Pair, side: Side) => inspect(pair.ep(side)).phase1s()[0]!.keys!;
const empty = (type: number): DataAttribute => ({ format: 'TLV', type, value: new Uint8Array(0) });

for (const xauth of [false, true]) {
  test(`push ${xauth ? 'after XAUTH' : 'right after phase 1'}: SET(the caller's attributes, identifier 0) -->, <-- ACK(each type once, no value, identifier 0), Quick Mode from the pushed address`, () => {
    const pair = pushPair(`push-wire-${xauth}`, xauth);
    pair.a.initiate(pair.now, 'c');
    pair.run(2000);
    for (const e of pair.ev('b', 'xauth-request')) pair.b.answerXauth(pair.now, e.requestId, true);
    pair.run(2000);
    assert.equal(pair.a.ipsecSas().length, 0, 'Quick Mode waits for the push');
    const [req, ...more] = pair.ev('b', 'modecfg-request');
    assert.ok(req && more.length === 0);
    assert.equal(req.push, true);
    // the standard types and the Cisco Unity ones (the client sent the Unity vendor ID)
    assert.deepEqual(req.requested, [1, 2, 3, 4, 13, 7, 28672, 28673, 28674, 28675, 28676, 28678, 28679, 28680]);
    pair.b.answerModeConfig(pair.now, req.requestId, PUSHED);
    pair.run(3000);
    const mc = txnMessages(keysOf(pair, 'a'), pair.wire).slice(xauth ? 4 : 0);
    assert.deepEqual(mc.map((m) => [m.from, m.attr.cfgType, m.attr.identifier]), [['b', CfgType.ISAKMP_CFG_SET, 0], ['a', CfgType.ISAKMP_CFG_ACK, 0]], 'no REQUEST on the wire');
    assert.equal(mc[0]!.msgId, mc[1]!.msgId);
    assert.deepEqual(mc[0]!.attr.attributes, PUSHED);
    assert.deepEqual(mc[1]!.attr.attributes, [1, 2, 3, 28676].map(empty));
    assert.deepEqual(pair.ev('a', 'modecfg-done').map((e) => e.attributes), [PUSHED]);
    assert.deepEqual(pair.ev('b', 'modecfg-done').map((e) => e.attributes), [PUSHED]);
    const [a] = pair.a.ipsecSas();
    const [b] = pair.b.ipsecSas();
    assert.ok(a && b, 'an IPsec SA on both sides');
    assert.deepEqual(a.localTs, hostSelector('10.10.0.9'));
    assert.deepEqual(b.remoteTs, hostSelector('10.10.0.9'));
    assert.deepEqual([pair.ev('a', 'failed'), pair.ev('b', 'failed')], [[], []]);
  });
}

test('the client echoes the identifier of the gateway\'s SET in its ACK and proposes the pushed address', () => {
  const pair = new Pair({ seed: 'push-identifier' });
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client', push: true } }));
  // the gateway pushes by hand (no Mode Config policy): its SET carries identifier 0x5a17
  pair.b.setConnection(conn(pair, 'b', { remoteTs: subnetSelector('10.10.0.0', 24) }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.a.ipsecSas().length, 0);
  pair.b.sendTransaction(pair.now, pair.b.isakmpSas()[0]!.id, CfgType.ISAKMP_CFG_SET, 0x5a17, [ADDRESS]);
  pair.run(3000);
  const ack = pair.ev('b', 'transaction').filter((e) => e.answered);
  assert.deepEqual(ack.map((e) => [e.cfgType, e.identifier, e.attributes]), [[CfgType.ISAKMP_CFG_ACK, 0x5a17, [empty(CfgAttr.INTERNAL_IP4_ADDRESS)]]]);
  assert.deepEqual(pair.a.ipsecSas()[0]?.localTs, hostSelector('10.10.0.9'));
  assert.deepEqual(pair.b.ipsecSas()[0]?.remoteTs, hostSelector('10.10.0.9'));
});

test('the SET is sent again until its ACK comes (the first ACK lost): the same bytes, the ACK repeated, one modecfg-done', () => {
  const pair = pushPair('push-lost-ack', false);
  let dropped = 0;
  pair.tap = (from, data) => {
    if (from === 'a' && decodeHeader(data).exchangeType === 6 && dropped++ === 0) return null;
    return data;
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const [req] = pair.ev('b', 'modecfg-request');
  pair.b.answerModeConfig(pair.now, req!.requestId, PUSHED);
  pair.run(10_000);
  const sets = pair.sentBy('b').filter((w) => decodeHeader(w.data).exchangeType === 6);
  const acks = pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 6);
  assert.equal(sets.length, 2, 'the SET once more after the lost ACK');
  assert.deepEqual(sets[1]!.data, sets[0]!.data);
  assert.deepEqual(acks.map((w) => w.delivered), [false, true]);
  assert.deepEqual(acks[1]!.data, acks[0]!.data, 'the stored ACK sent again');
  assert.equal(pair.ev('a', 'modecfg-done').length, 1);
  assert.equal(pair.ev('b', 'modecfg-done').length, 1);
  assert.equal(pair.a.ipsecSas().length, 1);
});

test('a client that never acknowledges: the SET is sent 6 times, then the push fails in words and the ISAKMP SA is deleted', () => {
  // a client without Mode Config: the SET reaches its caller, who never answers
  const pair = setByHand('push-no-ack', [ADDRESS]);
  pair.run(120_000);
  assert.equal(pair.sentBy('b').filter((w) => decodeHeader(w.data).exchangeType === 6).length, 6);
  const failed = pair.ev('b', 'failed');
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0]!.cause, 'NO_ANSWER');
  assert.match(failed[0]!.reason, /^Mode Config push: the client did not acknowledge our SET \(sent 6 times\): check that it takes pushed settings .*; the ISAKMP SA is deleted$/);
  assert.deepEqual(pair.b.isakmpSas(), []);
  assert.equal(pair.ev('b', 'deleted').filter((e) => e.kind === 'isakmp').length, 1);
  assert.deepEqual(pair.ev('b', 'modecfg-done'), []);
});

test('an ACK under another identifier is refused (one dropped event per ACK), the SET goes on, and the give-up names the identifier', () => {
  const pair = new Pair({ seed: 'push-wrong-id' });
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client', push: true } }));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server', push: true } }));
  let set: Uint8Array | undefined;
  pair.tap = (from, data) => {
    if (decodeHeader(data).exchangeType !== 6) return data;
    if (from === 'b') {
      set ??= data;
      return data;
    }
    // the client's ACK, rewritten to identifier 7
    const keys = keysOf(pair, 'a');
    return resealAnswer(keys, data, set!, { type: 'ATTR', cfgType: CfgType.ISAKMP_CFG_ACK, identifier: 7, attributes: [empty(CfgAttr.INTERNAL_IP4_ADDRESS)] });
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const [req] = pair.ev('b', 'modecfg-request');
  pair.b.answerModeConfig(pair.now, req!.requestId, [ADDRESS]);
  pair.run(120_000);
  const refused = pair.ev('b', 'dropped').filter((d) => /identifier 7, not 0/.test(d.reason));
  assert.equal(refused.length, 6, JSON.stringify(pair.ev('b', 'dropped')));
  assert.deepEqual(pair.ev('b', 'modecfg-done'), []);
  const failed = pair.ev('b', 'failed');
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.reason, /did not acknowledge our SET \(sent 6 times; its answer was refused: its ISAKMP_CFG_ACK carries identifier 7, not 0 of our ISAKMP_CFG_SET\)/);
  assert.deepEqual(pair.b.isakmpSas(), []);
});

for (const xauth of [false, true]) {
  test(`a push client whose gateway never pushes (${xauth ? 'after XAUTH' : 'no XAUTH'}): failed after 30 s in words, the ISAKMP SA deleted, its Quick Mode failed`, () => {
    const pair = new Pair({ seed: `push-never-${xauth}` });
    pair.a.setConnection(conn(pair, 'a', { ...(xauth ? { xauth: XAUTH_CLIENT } : {}), modeConfig: { role: 'client', push: true } }));
    // a pulling gateway: it waits for a REQUEST that never comes
    pair.b.setConnection(conn(pair, 'b', { ...(xauth ? { xauth: { role: 'server' as const } } : {}), modeConfig: { role: 'server' } }));
    pair.a.initiate(pair.now, 'c');
    pair.run(2000);
    for (const e of pair.ev('b', 'xauth-request')) pair.b.answerXauth(pair.now, e.requestId, true);
    pair.run(25_000);
    assert.equal(pair.a.isakmpSas().length, 1, 'still waiting before 30 s');
    pair.run(10_000);
    const failed = pair.ev('a', 'failed');
    assert.deepEqual(failed.map((f) => f.kind), ['isakmp', 'ipsec']);
    assert.equal(failed[0]!.cause, 'NO_ANSWER');
    assert.equal(failed[0]!.reason, `Mode Config push: the gateway sent no Mode Config SET within 30 s of ${xauth ? 'XAUTH' : 'phase 1'}: check that it pushes (strongSwan pull = no, Libreswan modecfgpull=no), or set modecfg: pull; the ISAKMP SA is deleted`);
    assert.deepEqual(pair.a.isakmpSas(), []);
    assert.deepEqual(pair.b.isakmpSas(), [], 'the gateway told by our Delete');
  });
}

test('an XAUTH client refuses a SET that comes before the gateway\'s XAUTH STATUS (unanswered, one dropped event), and takes the one after', () => {
  const pair = new Pair({ seed: 'push-before-xauth' });
  pair.a.setConnection(conn(pair, 'a', { xauth: XAUTH_CLIENT, modeConfig: { role: 'client', push: true } }));
  // the gateway does XAUTH and pushes by hand
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server' }, remoteTs: subnetSelector('10.10.0.0', 24) }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const sa = pair.b.isakmpSas()[0]!.id;
  assert.equal(pair.ev('b', 'xauth-request').length, 1, 'the user waits for its check');
  pair.b.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_SET, 0, [ADDRESS]);
  pair.run(40_000);
  const early = pair.ev('a', 'dropped').filter((d) => d.code === 'TRANSACTION');
  assert.equal(early.length, 1, 'its retransmissions are ignored quietly');
  assert.match(early[0]!.reason, /^Mode Config SET before XAUTH is done: refused unanswered/);
  assert.deepEqual(pair.ev('b', 'transaction').filter((e) => e.answered), [], 'no ACK');
  assert.deepEqual(pair.ev('a', 'modecfg-done'), []);
  pair.b.answerXauth(pair.now, pair.ev('b', 'xauth-request')[0]!.requestId, true);
  pair.run(1000);
  pair.b.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_SET, 0, [ADDRESS]);
  pair.run(3000);
  assert.equal(pair.ev('b', 'transaction').filter((e) => e.answered && e.cfgType === CfgType.ISAKMP_CFG_ACK).length, 1);
  assert.deepEqual(pair.a.ipsecSas()[0]?.localTs, hostSelector('10.10.0.9'));
});

for (const [what, attrs, reason] of [
  ['no address', [tlv(CfgAttr.INTERNAL_IP4_DNS, 10, 1, 0, 53)], 'carries no address (INTERNAL_IP4_ADDRESS of 4 bytes or INTERNAL_IP6_ADDRESS of 17)'],
  ['a 3-byte address', [tlv(CfgAttr.INTERNAL_IP4_ADDRESS, 10, 10, 0)], 'carries no address (INTERNAL_IP4_ADDRESS of 4 bytes or INTERNAL_IP6_ADDRESS of 17)'],
  ['two addresses', [ADDRESS, tlv(CfgAttr.INTERNAL_IP4_ADDRESS, 10, 10, 0, 10)], 'carries INTERNAL_IP4_ADDRESS 2 times'],
  ['two netmasks', [ADDRESS, tlv(CfgAttr.INTERNAL_IP4_NETMASK, 255, 0, 0, 0), tlv(CfgAttr.INTERNAL_IP4_NETMASK, 255, 255, 255, 255)], 'carries INTERNAL_IP4_NETMASK 2 times'],
] as const) {
  test(`a SET with ${what}: not acknowledged, Mode Config failed in words, the ISAKMP SA deleted`, () => {
    const pair = new Pair({ seed: `push-bad-${what}` });
    pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client', push: true } }));
    pair.b.setConnection(conn(pair, 'b'));
    pair.a.initiate(pair.now, 'c');
    pair.run(2000);
    pair.b.sendTransaction(pair.now, pair.b.isakmpSas()[0]!.id, CfgType.ISAKMP_CFG_SET, 0, attrs);
    pair.run(3000);
    assert.equal(pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 6).length, 0, 'no ACK');
    const failed = pair.ev('a', 'failed');
    assert.equal(failed[0]?.reason, `Mode Config: the gateway's SET ${reason}: check its address pool and Mode Config settings; the ISAKMP SA is deleted`);
    assert.equal(failed[0]?.cause, 'POLICY_REFUSED');
    assert.deepEqual(pair.ev('a', 'modecfg-done'), []);
    assert.deepEqual(pair.a.isakmpSas(), []);
    assert.deepEqual(pair.b.isakmpSas(), [], 'the gateway told by our Delete');
  });
}

for (const push of [false, true]) {
  test(`a ${push ? 'pushing' : 'pulling'} gateway keeps a client's REQUEST sent before XAUTH is done: nothing is filled (no lease) until the user is accepted, then the REPLY`, () => {
    const pair = new Pair({ seed: `push-early-request-${push}` });
    // the client does XAUTH and asks by hand, at once
    pair.a.setConnection(conn(pair, 'a', { xauth: XAUTH_CLIENT }));
    pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server' }, modeConfig: { role: 'server', push } }));
    pair.a.initiate(pair.now, 'c');
    pair.run(2000);
    const [check] = pair.ev('b', 'xauth-request');
    assert.ok(check);
    pair.a.sendTransaction(pair.now, pair.a.isakmpSas()[0]!.id, CfgType.ISAKMP_CFG_REQUEST, 3, [empty(CfgAttr.INTERNAL_IP4_ADDRESS)]);
    pair.run(5000);
    assert.deepEqual(pair.ev('b', 'modecfg-request'), [], 'not before the user is accepted');
    pair.b.answerXauth(pair.now, check.requestId, true);
    pair.run(1000);
    const req = pair.ev('b', 'modecfg-request');
    assert.deepEqual(req.map((e) => [e.push, e.requested]), [[false, [CfgAttr.INTERNAL_IP4_ADDRESS]]], 'answered as pull');
    pair.b.answerModeConfig(pair.now, req[0]!.requestId, [ADDRESS]);
    pair.run(1000);
    const reply = pair.ev('a', 'transaction').filter((e) => e.answered);
    assert.deepEqual(reply.map((e) => [e.cfgType, e.identifier, e.attributes]), [[CfgType.ISAKMP_CFG_REPLY, 3, [ADDRESS]]]);
    assert.equal(pair.ev('b', 'modecfg-done').length, 1);
    assert.equal(pair.sentBy('b').filter((w) => decodeHeader(w.data).exchangeType === 6).length, 3, 'XAUTH REQUEST, STATUS, the REPLY: no SET');
  });
}

test('a user refused by XAUTH never has its early REQUEST filled', () => {
  const pair = new Pair({ seed: 'push-early-refused' });
  pair.a.setConnection(conn(pair, 'a', { xauth: XAUTH_CLIENT }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server', retries: 1 }, modeConfig: { role: 'server', push: true } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  pair.a.sendTransaction(pair.now, pair.a.isakmpSas()[0]!.id, CfgType.ISAKMP_CFG_REQUEST, 0, [empty(CfgAttr.INTERNAL_IP4_ADDRESS)]);
  pair.run(1000);
  pair.b.answerXauth(pair.now, pair.ev('b', 'xauth-request')[0]!.requestId, false);
  pair.run(5000);
  assert.deepEqual(pair.ev('b', 'xauth-done').map((e) => e.ok), [false]);
  assert.deepEqual(pair.ev('b', 'modecfg-request'), []);
  assert.deepEqual(pair.b.isakmpSas(), []);
});

test('a client that acknowledges the SET and then asks anyway (its REQUEST crossed the SET) gets the same attributes in a REPLY, with no second fill', () => {
  // the client by hand: it acknowledges the SET, then sends its REQUEST
  const pair = setByHand('push-ask-after-ack', PUSHED);
  pair.run(1000);
  const [set] = pair.ev('a', 'transaction');
  assert.equal(set?.cfgType, CfgType.ISAKMP_CFG_SET);
  pair.a.answerTransaction(pair.now, set.isakmpSa, set.messageId, [empty(CfgAttr.INTERNAL_IP4_ADDRESS)]);
  pair.run(1000);
  assert.equal(pair.ev('b', 'modecfg-done').length, 1);
  pair.a.sendTransaction(pair.now, set.isakmpSa, CfgType.ISAKMP_CFG_REQUEST, 9, [empty(CfgAttr.INTERNAL_IP4_ADDRESS)]);
  pair.run(1000);
  const reply = pair.ev('a', 'transaction').filter((e) => e.answered);
  assert.deepEqual(reply.map((e) => [e.cfgType, e.identifier, e.attributes]), [[CfgType.ISAKMP_CFG_REPLY, 9, PUSHED]]);
  assert.equal(pair.ev('b', 'modecfg-request').length, 1, 'filled once');
  assert.equal(pair.ev('b', 'modecfg-done').length, 1);
  assert.deepEqual(pair.ev('b', 'transaction'), [], 'nothing left for the caller');
});

test('a pulling client whose REQUEST is never answered: sent 6 times, then failed in words and the ISAKMP SA deleted', () => {
  const pair = new Pair({ seed: 'pull-no-reply' });
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client' } }));
  // a gateway without Mode Config: the REQUEST reaches its caller, who never answers
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(120_000);
  assert.equal(pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 6).length, 6);
  const failed = pair.ev('a', 'failed');
  assert.deepEqual(failed.map((f) => f.kind), ['isakmp', 'ipsec']);
  assert.equal(failed[0]!.reason, 'Mode Config pull: the gateway did not answer our REQUEST (sent 6 times): check that it hands out Mode Config and lets the client pull, or set modecfg: push; the ISAKMP SA is deleted');
  assert.deepEqual(pair.a.isakmpSas(), []);
});

test('a SET from another address than the ISAKMP SA\'s peer, or under cookies of no SA, is dropped (INVALID_COOKIE): no ACK, nothing taken; the real one is', () => {
  const pair = pushPair('push-spoofed', false);
  let held: Uint8Array | undefined;
  pair.tap = (from, data) => {
    if (from !== 'b' || decodeHeader(data).exchangeType !== 6 || held !== undefined) return data;
    held = data;
    return null;
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  pair.b.answerModeConfig(pair.now, pair.ev('b', 'modecfg-request')[0]!.requestId, [ADDRESS]);
  pair.run(100);
  assert.ok(held, 'the SET held back');
  pair.inject('a', held, { address: '192.0.2.99', port: 500 });
  const stranger = Uint8Array.from(held);
  stranger.fill(0x42, 0, 16);
  pair.inject('a', stranger);
  assert.deepEqual(pair.ev('a', 'dropped').map((d) => d.notify), [NotifyType.INVALID_COOKIE, NotifyType.INVALID_COOKIE]);
  assert.deepEqual(pair.ev('a', 'modecfg-done'), []);
  assert.equal(pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 6).length, 0, 'no ACK');
  // the gateway's retransmission of the same SET reaches the client from its peer: taken
  pair.run(5000);
  assert.equal(pair.ev('a', 'modecfg-done').length, 1);
  assert.deepEqual(pair.a.ipsecSas()[0]?.localTs, hostSelector('10.10.0.9'));
});

test('pull: a second REQUEST after the REPLY gets the same attributes, with no second fill', () => {
  const pair = new Pair({ seed: 'pull-asks-twice' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server' } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const sa = pair.a.isakmpSas()[0]!.id;
  for (const identifier of [1, 2]) {
    pair.a.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_REQUEST, identifier, [empty(CfgAttr.INTERNAL_IP4_ADDRESS)]);
    pair.run(500);
    for (const e of pair.ev('b', 'modecfg-request').slice(identifier - 1)) pair.b.answerModeConfig(pair.now, e.requestId, [ADDRESS]);
    pair.run(500);
  }
  const replies = pair.ev('a', 'transaction').filter((e) => e.answered);
  assert.deepEqual(replies.map((e) => [e.cfgType, e.identifier, e.attributes]), [[CfgType.ISAKMP_CFG_REPLY, 1, [ADDRESS]], [CfgType.ISAKMP_CFG_REPLY, 2, [ADDRESS]]]);
  assert.equal(pair.ev('b', 'modecfg-request').length, 1);
});
