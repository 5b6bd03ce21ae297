// The Quick Mode after Mode Config uses the virtual address as the client's selector, both roles;
// a client that claims another address (another user's) is refused with INVALID_ID_INFORMATION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import type { DataAttribute } from '../../src/codec/types.js';
import { CfgAttr, CfgType, NotifyType } from '../../src/constants/index.js';
import { hostSelector, subnetSelector } from '../../src/exchange/ids.js';
import { Pair, conn } from '../helpers/pair.js';

const enc = new TextEncoder();
const address = (a: string): DataAttribute => ({ format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: Uint8Array.from(a.split('.').map(Number)) });

function raPair(seed: string, push = false): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: enc.encode('pw') }, modeConfig: { role: 'client', push }, remoteTs: subnetSelector('10.1.0.0', 16) }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server' }, modeConfig: { role: 'server', push }, localTs: subnetSelector('10.1.0.0', 16) }));
  return pair;
}

function serve(pair: Pair, attrs: DataAttribute[]): void {
  pair.run(2000);
  for (const e of pair.ev('b', 'xauth-request')) pair.b.answerXauth(pair.now, e.requestId, true);
  pair.run(2000);
  for (const e of pair.ev('b', 'modecfg-request')) pair.b.answerModeConfig(pair.now, e.requestId, attrs);
  pair.run(3000);
}

for (const push of [false, true]) {
  test(`Mode Config ${push ? 'push' : 'pull'}: the Quick Mode proposes IDci = the virtual address /32, the gateway takes it as the remote selector`, () => {
    const pair = raPair(`va-${push}`, push);
    pair.a.initiate(pair.now, 'c');
    serve(pair, [address('10.10.0.7')]);
    const [a] = pair.a.ipsecSas();
    const [b] = pair.b.ipsecSas();
    assert.ok(a && b, 'an IPsec SA on both sides');
    assert.deepEqual(a.localTs, hostSelector('10.10.0.7'));
    assert.deepEqual(a.remoteTs, subnetSelector('10.1.0.0', 16));
    assert.deepEqual(b.remoteTs, hostSelector('10.10.0.7'));
    assert.deepEqual(b.localTs, subnetSelector('10.1.0.0', 16));
  });
}

test('a client that claims another address than the one assigned to it is refused (INVALID_ID_INFORMATION, both addresses named)', () => {
  const pair = new Pair({ seed: 'va-other-user' });
  // the client pulls by hand (no Mode Config policy) and then claims 10.10.0.8 (another user's)
  pair.a.setConnection(conn(pair, 'a', { localTs: hostSelector('10.10.0.8'), remoteTs: subnetSelector('10.1.0.0', 16), keyingTries: 1 }));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server' }, localTs: subnetSelector('10.1.0.0', 16) }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const sa = pair.a.isakmpSas()[0];
  assert.ok(sa, 'phase 1 up');
  pair.a.sendTransaction(pair.now, sa.id, CfgType.ISAKMP_CFG_REQUEST, 0, [{ format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: new Uint8Array(0) }]);
  pair.run(1000);
  const req = pair.ev('b', 'modecfg-request');
  assert.equal(req.length, 1);
  pair.b.answerModeConfig(pair.now, req[0]!.requestId, [address('10.10.0.7')]);
  pair.run(5000);
  assert.equal(pair.ev('b', 'modecfg-done').length, 1);
  assert.equal(pair.b.ipsecSas().length, 0, 'no IPsec SA for a borrowed address');
  const refusal = pair.ev('b', 'dropped').find((d) => d.notify === NotifyType.INVALID_ID_INFORMATION);
  assert.ok(refusal, JSON.stringify(pair.ev('b', 'dropped')));
  assert.match(refusal.reason, /selector 10\.10\.0\.8 is not the virtual address 10\.10\.0\.7 assigned to it/);
  // the client, told the truth, gets it
  pair.a.setConnection(conn(pair, 'a', { localTs: hostSelector('10.10.0.7'), remoteTs: subnetSelector('10.1.0.0', 16) }));
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.deepEqual(pair.b.ipsecSas()[0]!.remoteTs, hostSelector('10.10.0.7'));
});

test('Mode Config push: SET --> <-- ACK with the attribute types, no REQUEST on the wire, then Quick Mode', () => {
  const pair = raPair('va-push-wire', true);
  pair.a.initiate(pair.now, 'c');
  serve(pair, [address('10.10.0.9'), { format: 'TLV', type: CfgAttr.INTERNAL_IP4_DNS, value: Uint8Array.of(10, 1, 0, 53) }]);
  const req = pair.ev('b', 'modecfg-request');
  assert.equal(req.length, 1);
  assert.equal(req[0]!.push, true);
  const got = pair.ev('a', 'modecfg-done');
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.attributes.map((t) => t.type), [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_DNS]);
  assert.equal(pair.ev('b', 'modecfg-done').length, 1);
  // after Main Mode: XAUTH (REQUEST/REPLY, SET/ACK) and the push (SET/ACK): Transaction messages only, then QM
  const types = pair.wire.filter((w) => w.delivered).map((w) => decodeHeader(w.data).exchangeType);
  const firstQm = types.indexOf(32);
  assert.equal(types.slice(6, firstQm).filter((t) => t === 6).length, 6);
  assert.equal(pair.a.ipsecSas().length, 1);
});

test('Cisco Unity: a client sent split includes proposes IDcr 0.0.0.0/0; the gateway echoes it but installs its own local selector', () => {
  const pair = new Pair({ seed: 'va-unity-any' });
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client' }, remoteTs: subnetSelector('0.0.0.0', 0) }));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server' }, localTs: subnetSelector('10.1.0.0', 16) }));
  pair.a.initiate(pair.now, 'c');
  serve(pair, [address('10.10.0.7'), { format: 'TLV', type: CfgAttr.UNITY_SPLIT_INCLUDE, value: Uint8Array.of(10, 1, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0) }]);
  const [a] = pair.a.ipsecSas();
  const [b] = pair.b.ipsecSas();
  assert.ok(a && b, 'an IPsec SA on both sides');
  assert.deepEqual(a.remoteTs, subnetSelector('0.0.0.0', 0), 'the IDs echoed');
  assert.deepEqual(b.localTs, subnetSelector('10.1.0.0', 16), 'the gateway installs its own networks');
  assert.deepEqual(b.remoteTs, hostSelector('10.10.0.7'));
});

test('without split includes sent, IDcr 0.0.0.0/0 stays outside the gateway\'s networks (INVALID_ID_INFORMATION)', () => {
  const pair = new Pair({ seed: 'va-any-refused' });
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client' }, remoteTs: subnetSelector('0.0.0.0', 0), keyingTries: 1 }));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server' }, localTs: subnetSelector('10.1.0.0', 16) }));
  pair.a.initiate(pair.now, 'c');
  serve(pair, [address('10.10.0.7')]);
  assert.equal(pair.b.ipsecSas().length, 0);
  assert.ok(pair.ev('b', 'dropped').some((d) => d.notify === NotifyType.INVALID_ID_INFORMATION));
});

test('an IPv6 virtual address (INTERNAL_IP6_ADDRESS, prefix 128): IDci /128 over an IPv4 ISAKMP SA', () => {
  const pair = new Pair({ seed: 'va-v6' });
  pair.a.setConnection(conn(pair, 'a', { modeConfig: { role: 'client' }, remoteTs: subnetSelector('2001:db8:1::', 48) }));
  pair.b.setConnection(conn(pair, 'b', { modeConfig: { role: 'server' }, localTs: subnetSelector('2001:db8:1::', 48) }));
  pair.a.initiate(pair.now, 'c');
  const v6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 128);
  serve(pair, [{ format: 'TLV', type: CfgAttr.INTERNAL_IP6_ADDRESS, value: v6 }]);
  const [a] = pair.a.ipsecSas();
  const [b] = pair.b.ipsecSas();
  assert.ok(a && b, 'an IPsec SA on both sides');
  assert.deepEqual(a.localTs, hostSelector('2001:db8:ff::7'));
  assert.deepEqual(b.remoteTs, hostSelector('2001:db8:ff::7'));
});
