// XAUTH (draft-ietf-ipsec-isakmp-xauth-06) in memory, both roles: the XAUTH phase-1 methods,
// REQUEST/REPLY/SET/ACK, the gateway's check through xauth-request / answerXauth, Quick Mode
// held until XAUTH is done, bounded retries then a clean delete, 30 % loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodeMessage } from '../../src/codec/index.js';
import { AuthMethod } from '../../src/constants/index.js';
import { XAUTH_SETTLE_MS } from '../../src/exchange/extensions/xauth.js';
import { Pair, conn, type ConnOverrides } from '../helpers/pair.js';
import { generateKeyPairSync } from 'node:crypto';

const enc = new TextEncoder();
const PASSWORD = 'Tr0ub4dor&3-xauth';

/** The authentication methods of the SA payload in a phase-1 message (MM1 offer, MM2 answer). */
function authMethods(data: Uint8Array): number[] {
  const sa = decodeMessage(data).payloads.find((p) => p.type === 'SA');
  if (sa?.type !== 'SA') return [];
  return sa.proposals.flatMap((p) => p.transforms.flatMap((t) => t.attributes.filter((a) => a.type === 3).map((a) => (a.format === 'TV' ? a.value : -1))));
}

function raPair(seed: string, overA: ConnOverrides = {}, overB: ConnOverrides = overA): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { ...overA, xauth: { role: 'client', user: 'alice', password: enc.encode(PASSWORD) } }));
  pair.b.setConnection(conn(pair, 'b', { ...overB, xauth: { role: 'server', retries: 2 } }));
  return pair;
}

/** The gateway's backend: alice / PASSWORD. */
function backend(pair: Pair, seen: { user: string; password: string }[] = []): void {
  const done = new Set<number>();
  const hook = (): void => {
    for (const e of pair.ev('b', 'xauth-request')) {
      if (done.has(e.requestId)) continue;
      done.add(e.requestId);
      seen.push({ user: e.user, password: e.password });
      pair.b.answerXauth(pair.now, e.requestId, e.user === 'alice' && e.password === PASSWORD);
    }
  };
  for (let i = 0; i < 60; i++) {
    pair.run(500);
    hook();
  }
}

test('XAUTHInitPreShared: the gateway asks, checks, sets STATUS=1; Quick Mode follows only then', () => {
  const pair = raPair('xauth-psk');
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  // phase 1 up with method 65001 on both sides, but no IPsec SA while XAUTH waits for the backend
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.XAUTH_INIT_PRESHARED]);
  assert.deepEqual(authMethods(pair.wire[1]!.data), [AuthMethod.XAUTH_INIT_PRESHARED]);
  assert.equal(pair.ev('b', 'phase1-established').length, 1);
  assert.equal(pair.a.ipsecSas().length, 0);
  const req = pair.ev('b', 'xauth-request');
  assert.equal(req.length, 1);
  assert.equal(req[0]!.user, 'alice');
  assert.equal(req[0]!.password, PASSWORD);
  pair.b.answerXauth(pair.now, req[0]!.requestId, true);
  pair.run(2000);
  assert.equal(pair.ev('b', 'xauth-done')[0]!.ok, true);
  assert.equal(pair.ev('a', 'xauth-done')[0]!.ok, true);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  // on the wire: 6 Main Mode, 4 Transaction (REQUEST, REPLY, SET, ACK), then Quick Mode
  const types = pair.wire.map((w) => decodeHeader(w.data).exchangeType);
  assert.deepEqual(types.slice(6, 10), [6, 6, 6, 6]);
  assert.equal(types[10], 32);
  // the client's Quick Mode leaves XAUTH_SETTLE_MS after its ACK, not right behind it: a
  // multi-threaded gateway (charon) would otherwise take it before the ACK and drop the SA
  const ack = pair.wire[9]!;
  const qm1 = pair.wire[10]!;
  assert.equal(ack.from, 'a');
  assert.equal(qm1.from, 'a');
  assert.equal(qm1.at - ack.at, XAUTH_SETTLE_MS);
  // the password never appears in clear on the wire
  const pw = Buffer.from(PASSWORD);
  for (const w of pair.wire) assert.equal(Buffer.from(w.data).indexOf(pw), -1);
});

test('XAUTHInitRSA: the same over RSA signatures', () => {
  const ka = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kb = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pair = raPair(
    'xauth-rsa',
    { auth: 'rsa-sig', rsa: { privateKey: ka.privateKey, peerPublicKey: kb.publicKey } },
    { auth: 'rsa-sig', rsa: { privateKey: kb.privateKey, peerPublicKey: ka.publicKey } },
  );
  pair.a.initiate(pair.now, 'c');
  backend(pair);
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.XAUTH_INIT_RSA]);
  assert.deepEqual(authMethods(pair.wire[1]!.data), [AuthMethod.XAUTH_INIT_RSA]);
  assert.equal(pair.ev('a', 'xauth-done')[0]!.ok, true);
  assert.equal(pair.a.ipsecSas().length, 1);
});

test('a wrong password: asked again up to retries, then STATUS=0 and the ISAKMP SA deleted; no Quick Mode', () => {
  const pair = new Pair({ seed: 'xauth-wrong' });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: enc.encode('wrong') } }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server', retries: 2 } }));
  pair.a.initiate(pair.now, 'c');
  const seen: { user: string; password: string }[] = [];
  backend(pair, seen);
  assert.equal(seen.length, 2, 'two attempts (retries: 2)');
  const done = pair.ev('b', 'xauth-done');
  assert.equal(done.length, 1);
  assert.equal(done[0]!.ok, false);
  assert.match(done[0]!.reason, /user "alice" failed XAUTH 2 time\(s\)/);
  assert.doesNotMatch(done[0]!.reason, /wrong/);
  assert.equal(pair.ev('a', 'xauth-done')[0]!.ok, false);
  assert.equal(pair.b.isakmpSas().length, 0);
  assert.equal(pair.a.isakmpSas().length, 0, 'the client removed the SA on the Delete');
  assert.equal(pair.a.ipsecSas().length + pair.b.ipsecSas().length, 0);
});

test('the gateway refuses the client\'s Quick Mode while XAUTH runs', () => {
  const pair = raPair('xauth-hold');
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.ev('b', 'xauth-request').length, 1);
  // a second initiate on the client waits too (held on the SA), nothing reaches the wire
  const before = pair.wire.length;
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 32).length, 0);
  assert.ok(pair.wire.length >= before);
  assert.equal(pair.b.ipsecSas().length, 0);
});

test('30 % loss during XAUTH: phase 1, the four Transaction messages and Quick Mode complete', () => {
  const pair = raPair('xauth-loss');
  pair.a.initiate(pair.now, 'c');
  pair.run(3000); // phase 1 on a clean link
  pair.knobs.loss = 0.3;
  backend(pair);
  assert.equal(pair.ev('b', 'xauth-done').filter((d) => d.ok).length, 1);
  assert.equal(pair.ev('b', 'xauth-request').length, 1, 'one check: repeats are not new requests');
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.ok(pair.wire.some((w) => !w.delivered), 'the link did lose datagrams');
});

test("a wrong password, and the client deletes the ISAKMP SA instead of acknowledging STATUS=0 (Libreswan's pluto): the gateway still ends XAUTH as refused, naming the attempts", () => {
  const pair = new Pair({ seed: 'xauth-wrong-delete' });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: enc.encode('wrong') } }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server', retries: 2 } }));
  // the client's third Transaction (REPLY, REPLY, then the ACK of STATUS=0) never leaves it
  let transactions = 0;
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 6 && ++transactions === 3 ? null : data);
  pair.a.initiate(pair.now, 'c');
  const done = new Set<number>();
  for (let i = 0; i < 40; i++) {
    pair.run(250);
    for (const e of pair.ev('b', 'xauth-request')) {
      if (done.has(e.requestId)) continue;
      done.add(e.requestId);
      pair.b.answerXauth(pair.now, e.requestId, false);
    }
  }
  // our client, like Libreswan's, deletes the ISAKMP SA once told STATUS=0
  assert.equal(pair.ev('a', 'xauth-done')[0]?.ok, false, 'the client saw STATUS=0');
  assert.equal(transactions, 3, 'the ACK was dropped');
  const end = pair.ev('b', 'xauth-done');
  assert.equal(end.length, 1, JSON.stringify(pair.events.b.map((e) => e.type)));
  assert.equal(end[0]!.ok, false);
  assert.equal(end[0]!.reason, 'user "alice" failed XAUTH 2 time(s): check the user name and password (users file or RADIUS); the ISAKMP SA is deleted');
  assert.equal(pair.b.isakmpSas().length, 0, "the client's Delete removed the SA");
});

test('our client told STATUS=0 acknowledges and deletes the ISAKMP SA itself, even when the gateway never deletes it (Libreswan asks again after our ACK)', () => {
  const pair = new Pair({ seed: 'xauth-client-deletes' });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: enc.encode('wrong') } }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server', retries: 1 } }));
  // the gateway's Delete never reaches the client
  pair.tap = (from, data) => (from === 'b' && decodeHeader(data).exchangeType === 5 ? null : data);
  pair.a.initiate(pair.now, 'c');
  const done = new Set<number>();
  for (let i = 0; i < 20; i++) {
    pair.run(250);
    for (const e of pair.ev('b', 'xauth-request')) {
      if (done.has(e.requestId)) continue;
      done.add(e.requestId);
      pair.b.answerXauth(pair.now, e.requestId, false);
    }
  }
  const end = pair.ev('a', 'xauth-done');
  assert.equal(end.length, 1);
  assert.equal(end[0]!.ok, false);
  assert.equal(pair.a.isakmpSas().length, 0, 'the client deleted its ISAKMP SA');
  const deleted = pair.ev('a', 'deleted').filter((e) => e.kind === 'isakmp');
  assert.equal(deleted.length, 1);
  assert.equal(deleted[0]!.by, 'local');
  assert.ok(pair.sentBy('a').some((w) => decodeHeader(w.data).exchangeType === 5), 'a Delete went to the gateway');
});
