// Mode Config pull (draft-ietf-ipsec-isakmp-mode-cfg-05) in memory: the client asks after XAUTH
// (or right after phase 1 without it), the gateway's caller fills the REPLY, Quick Mode waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import type { DataAttribute } from '../../src/codec/types.js';
import { CfgAttr } from '../../src/constants/index.js';
import { Pair, conn } from '../helpers/pair.js';

const enc = new TextEncoder();
const REPLY: DataAttribute[] = [
  { format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: Uint8Array.of(10, 10, 0, 7) },
  { format: 'TLV', type: CfgAttr.INTERNAL_IP4_NETMASK, value: Uint8Array.of(255, 255, 255, 0) },
  { format: 'TLV', type: CfgAttr.INTERNAL_IP4_DNS, value: Uint8Array.of(10, 10, 0, 1) },
];

for (const withXauth of [true, false]) {
  test(`Mode Config pull ${withXauth ? 'after XAUTH' : 'without XAUTH'}: REQUEST --> REPLY <--, then Quick Mode`, () => {
    const pair = new Pair({ seed: `modecfg-${withXauth}` });
    const xa = withXauth ? { xauth: { role: 'client' as const, user: 'alice', password: enc.encode('pw') } } : {};
    const xb = withXauth ? { xauth: { role: 'server' as const } } : {};
    pair.a.setConnection(conn(pair, 'a', { ...xa, modeConfig: { role: 'client' } }));
    pair.b.setConnection(conn(pair, 'b', { ...xb, modeConfig: { role: 'server' } }));
    pair.a.initiate(pair.now, 'c');
    pair.run(2000);
    for (const e of pair.ev('b', 'xauth-request')) pair.b.answerXauth(pair.now, e.requestId, true);
    pair.run(2000);
    assert.equal(pair.a.ipsecSas().length, 0, 'Quick Mode waits for Mode Config');
    const req = pair.ev('b', 'modecfg-request');
    assert.equal(req.length, 1);
    // the standard attributes, and the Cisco Unity ones since the gateway sent the Unity vendor ID
    assert.deepEqual(req[0]!.requested, [1, 2, 3, 4, 13, 7, 28672, 28673, 28674, 28675, 28676, 28678, 28679, 28680]);
    pair.b.answerModeConfig(pair.now, req[0]!.requestId, REPLY);
    pair.run(2000);
    const got = pair.ev('a', 'modecfg-done');
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.attributes, REPLY);
    assert.equal(pair.ev('b', 'modecfg-done').length, 1);
    assert.equal(pair.a.ipsecSas().length, 1);
    assert.equal(pair.b.ipsecSas().length, 1);
    const types = pair.wire.map((w) => decodeHeader(w.data).exchangeType);
    // after Main Mode only Transaction messages (the REQUEST repeated while the gateway's caller
    // filled it), then Quick Mode
    const firstQm = types.indexOf(32);
    assert.ok(firstQm > 6);
    assert.ok(types.slice(6, firstQm).every((t) => t === 6));
    assert.ok(types.slice(6, firstQm).length >= (withXauth ? 6 : 2));
  });
}

test('a pushing gateway asked by the client while its caller fills the push answers with a REPLY of those attributes (Libreswan\'s client asks even with modecfgpull=no; a REQUEST after the SET is answered alike, see libreswan-ra.test.ts)', () => {
  const pair = new Pair({ seed: 'modecfg-push-crossed' });
  // a pulling client against a pushing gateway: the REQUEST and the SET cross on the wire
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client' } }));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server', push: true } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const req = pair.ev('b', 'modecfg-request');
  assert.equal(req.length, 1);
  assert.equal(req[0]!.push, true);
  pair.b.answerModeConfig(pair.now, req[0]!.requestId, REPLY);
  pair.run(120_000);
  // the REQUEST was answered by the engine (no transaction left for the caller), and the
  // client's REQUEST did not retransmit to a failure
  assert.deepEqual(pair.ev('b', 'transaction').map((e) => e.cfgType), []);
  assert.equal(pair.ev('b', 'modecfg-done').length, 1);
  assert.deepEqual(pair.ev('a', 'modecfg-done')[0]?.attributes, REPLY);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  // the SET given up is not retransmitted to a failure
  assert.equal(pair.ev('b', 'failed').length, 0, JSON.stringify(pair.ev('b', 'failed')));
  assert.equal(pair.ev('a', 'failed').length, 0, JSON.stringify(pair.ev('a', 'failed')));
});
