// A Cisco Unity client (vpnc, the Cisco and racoon-based clients) proposes IDcr = 0.0.0.0/0 in its
// Quick Mode, whatever split networks it was sent. A gateway with several local_ts answers with the
// IDs as proposed and gives the one IPsec SA every local_ts network of that IP version to carry
// (IpsecSaInfo.localSelectors; the daemon installs a kernel policy pair per selector), never more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataAttribute } from '../../src/codec/types.js';
import { CfgAttr } from '../../src/constants/index.js';
import { hostSelector, localSelectorsOf, subnetSelector } from '../../src/exchange/ids.js';
import { Endpoint, type Connection } from '../../src/exchange/index.js';
import { exportSa, importSa } from '../../src/exchange/snapshot.js';
import { Pair, conn, seededRandom, serveRemoteAccess } from '../helpers/pair.js';

const enc = new TextEncoder();
const NET1 = subnetSelector('10.1.0.0', 16);
const NET2 = subnetSelector('10.2.0.0', 16);
const NET6 = subnetSelector('2001:db8:1::', 48);
const ANY = subnetSelector('0.0.0.0', 0);
const split = (a: number, b: number): DataAttribute => ({ format: 'TLV', type: CfgAttr.UNITY_SPLIT_INCLUDE, value: Uint8Array.of(10, a, 0, 0, 255, b, 0, 0, 0, 0, 0, 0, 0, 0) });
const REPLY: DataAttribute[] = [{ format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: Uint8Array.of(10, 10, 0, 7) }, split(1, 255), split(2, 255)];
const esp = { protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, lifetimeSeconds: 600 };

/** a: a vpnc-like client (XAUTH + Mode Config, IDcr 0.0.0.0/0), b: the gateway with local_ts NET1, NET2, NET6. */
function unityPair(seed: string, client: Partial<Connection> = {}, gateway: Partial<Connection> = {}, reply = REPLY): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: enc.encode('pw') }, modeConfig: { role: 'client' }, remoteTs: ANY, ipsec: [esp], ...client }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server' }, modeConfig: { role: 'server' }, localTs: [NET1, NET2, NET6], ipsec: [esp], ...gateway }));
  pair.a.initiate(pair.now, 'c');
  serveRemoteAccess(pair, reply);
  return pair;
}

test('a Unity client asking for 0.0.0.0/0: the IDs are echoed, the gateway\'s SA carries every IPv4 local_ts and nothing else', () => {
  const pair = unityPair('unity-several');
  const [a] = pair.a.ipsecSas();
  const [b] = pair.b.ipsecSas();
  assert.ok(a && b, `an IPsec SA on both sides: ${JSON.stringify(pair.ev('b', 'dropped'))}`);
  // the client takes only a QM2 whose IDs are the ones it sent (as the Cisco and racoon clients do)
  assert.deepEqual(a.remoteTs, ANY, 'IDcr 0.0.0.0/0 answered as proposed');
  assert.deepEqual(a.localTs, hostSelector('10.10.0.7'));
  // the gateway's one SA: both IPv4 networks, in the configured order, not the IPv6 one, not 0/0
  assert.deepEqual(b.localTs, NET1);
  assert.deepEqual(b.localSelectors, [NET1, NET2]);
  assert.deepEqual(localSelectorsOf(b), [NET1, NET2]);
  assert.deepEqual(b.wireLocalTs, ANY, 'what the Quick Mode named the gateway side with');
  assert.deepEqual(b.remoteTs, hostSelector('10.10.0.7'));
  assert.equal(pair.b.ipsecSas().length, 1, 'one IPsec SA for the one Quick Mode');
  // the established event carries them too (what the daemon installs from)
  const est = pair.ev('b', 'ipsec-sa-established');
  assert.equal(est.length, 1);
  assert.deepEqual(est[0]!.sa.localSelectors, [NET1, NET2]);
  // an HA snapshot carries them: the node that takes the SA over installs both networks too
  const snap = exportSa(pair.b, b.isakmpSa);
  assert.ok(snap);
  const b2 = new Endpoint({ random: seededRandom('unity-several/b2') });
  b2.setConnection(conn(pair, 'b', { xauth: { role: 'server' }, modeConfig: { role: 'server' }, localTs: [NET1, NET2, NET6], ipsec: [esp] }));
  const taken = importSa(b2, pair.now, JSON.parse(JSON.stringify(snap)));
  assert.deepEqual(taken.ipsec[0]!.localSelectors, [NET1, NET2]);
  assert.deepEqual(taken.ipsec[0]!.wireLocalTs, ANY);
});

test('one local_ts, or a client that names one network: the SA has that selector only (no list)', () => {
  const one = unityPair('unity-one', {}, { localTs: [NET1] });
  const b1 = one.b.ipsecSas()[0];
  assert.ok(b1);
  assert.deepEqual(b1.localTs, NET1);
  assert.equal(b1.localSelectors, undefined);
  // a client proposing 10.2.0.0/16 itself gets exactly that, not the other networks
  const named = unityPair('unity-named', { remoteTs: NET2 });
  const b2 = named.b.ipsecSas()[0];
  assert.ok(b2);
  assert.deepEqual(b2.localTs, NET2);
  assert.equal(b2.localSelectors, undefined);
  assert.deepEqual(named.a.ipsecSas()[0]!.remoteTs, NET2);
});

test('the gateway\'s rekey of a vpnc-like client\'s SA keeps every selector; so does the client\'s own new SA, which cancels the gateway\'s timer', () => {
  const pair = unityPair('unity-gw-rekey', { rekey: false }, { rekeyMarginSeconds: 60 });
  const old = pair.b.ipsecSas()[0]!;
  assert.deepEqual(old.localSelectors, [NET1, NET2]);
  pair.clearEvents();
  pair.run(599_000);
  const fresh = pair.ev('b', 'ipsec-sa-established');
  assert.equal(fresh.length, 1, 'the gateway rekeyed');
  assert.equal(fresh[0]!.rekeyOf, old.id);
  assert.equal(fresh[0]!.sa.role, 'initiator');
  assert.deepEqual(fresh[0]!.sa.localTs, NET1);
  assert.deepEqual(fresh[0]!.sa.localSelectors, [NET1, NET2]);
  // its Quick Mode names the gateway's side as the client's did (IDci 0.0.0.0/0): a racoon-based
  // client answers only IDs that match its own policy, and the client's new SA keeps 0.0.0.0/0
  assert.deepEqual(fresh[0]!.sa.wireLocalTs, ANY);
  const clientSas = pair.a.ipsecSas();
  assert.equal(clientSas.length, 1);
  assert.deepEqual(clientSas[0]!.remoteTs, ANY, "the client's tunnel still covers what it asked for");
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.deepEqual(pair.b.ipsecSas()[0]!.localSelectors, [NET1, NET2]);

  // a client that rekeys itself (margin 120 s, before the gateway's 30..60 s): its new SA has the
  // list again, and the gateway's timer of the old SA is cancelled (same selectors, all of them)
  const self = unityPair('unity-client-rekey', { rekeyMarginSeconds: 120, rekeyFuzzPercent: 0 }, { rekeyMarginSeconds: 120 });
  const before = self.b.ipsecSas()[0]!;
  self.clearEvents();
  self.run(540_000);
  const got = self.ev('b', 'ipsec-sa-established');
  assert.equal(got.length, 1);
  assert.equal(got[0]!.sa.role, 'responder');
  assert.deepEqual(got[0]!.sa.localSelectors, [NET1, NET2]);
  assert.equal(self.ev('b', 'started').filter((e) => e.kind === 'ipsec' && e.role === 'initiator').length, 0, 'the gateway did not rekey the old SA too');
  assert.ok(self.ev('b', 'deleted').some((d) => d.id === before.id && d.by === 'peer'), 'the client deleted its old SA');
  assert.deepEqual(self.b.ipsecSas().map((s) => s.id), [got[0]!.sa.id]);
});
