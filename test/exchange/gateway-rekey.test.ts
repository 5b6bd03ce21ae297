// The remote-access gateway (XAUTH / Mode Config server) rekeys its clients' IPsec SAs itself,
// as Cisco concentrators do: a client such as vpnc renegotiates only at expiry and waits for the
// gateway's Quick Mode. A client that rekeys itself goes first and the gateway leaves it be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataAttribute } from '../../src/codec/types.js';
import { CfgAttr } from '../../src/constants/index.js';
import { subnetSelector, type Connection } from '../../src/exchange/index.js';
import { Pair, conn, serveRemoteAccess } from '../helpers/pair.js';

const enc = new TextEncoder();
const REPLY: DataAttribute[] = [
  { format: 'TLV', type: CfgAttr.INTERNAL_IP4_ADDRESS, value: Uint8Array.of(10, 10, 0, 7) },
  { format: 'TLV', type: CfgAttr.INTERNAL_IP4_NETMASK, value: Uint8Array.of(255, 255, 255, 0) },
];
const esp = (o: object = {}) => ({ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, ...o });

/** a: the client (XAUTH + Mode Config pull), b: the gateway; up with one IPsec SA each. */
function remoteAccess(seed: string, client: Partial<Connection>, gateway: Partial<Connection>): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: enc.encode('pw') }, modeConfig: { role: 'client' }, remoteTs: [subnetSelector('10.1.0.0', 16)], ...client }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server' }, modeConfig: { role: 'server' }, localTs: [subnetSelector('10.1.0.0', 16)], ...gateway }));
  pair.a.initiate(pair.now, 'c');
  serveRemoteAccess(pair, REPLY);
  assert.equal(pair.a.ipsecSas().length, 1, JSON.stringify(pair.ev('a', 'failed')));
  assert.equal(pair.b.ipsecSas().length, 1, JSON.stringify(pair.ev('b', 'failed')));
  pair.clearEvents();
  return pair;
}

for (const pfs of [0, 14]) {
  test(`a client that never rekeys (vpnc): the gateway starts the Quick Mode before expiry with the SA's selectors and transform${pfs ? ' and PFS group' : ''}, the old SA is deleted on both sides`, () => {
    const g = pfs ? { group: pfs } : {};
    const aes256 = { protocols: [{ protocol: 3, transformId: 12, keyLength: 256, authAlgorithm: 5 }], mode: 1, lifetimeSeconds: 600, ...g };
    // the gateway prefers AES-256; the client offers AES-128 only: the rekey offers that first
    const ipsec = [aes256, esp({ lifetimeSeconds: 600, ...g })];
    const pair = remoteAccess(`gw-rekey-${pfs}`, { rekey: false, ipsec: [ipsec[1]!] }, { ipsec, rekeyMarginSeconds: 60 });
    const oldA = pair.a.ipsecSas()[0]!;
    const oldB = pair.b.ipsecSas()[0]!;
    assert.equal(oldB.role, 'responder');
    assert.equal(oldB.group, pfs);
    pair.run(599_000);
    const started = pair.ev('b', 'started').filter((e) => e.kind === 'ipsec');
    assert.deepEqual(started.map((e) => [e.role, e.rekey]), [['initiator', true]]);
    assert.equal(pair.ev('a', 'started').filter((e) => e.kind === 'ipsec' && e.role === 'initiator').length, 0, 'the client never renegotiated');
    const fresh = pair.ev('b', 'ipsec-sa-established');
    assert.equal(fresh.length, 1);
    const sa = fresh[0]!.sa;
    assert.equal(fresh[0]!.rekeyOf, oldB.id);
    assert.equal(sa.role, 'initiator');
    const at = sa.establishedAt - oldB.establishedAt;
    assert.ok(at >= 540_000 && at <= 570_000, `rekeyed ${at} ms after establishment (600 s − 30..60 s: half the margin)`);
    // the leased virtual address and our narrowed side, the negotiated transform and group
    assert.deepEqual(sa.localTs, oldB.localTs);
    assert.deepEqual(sa.remoteTs, oldB.remoteTs);
    assert.equal(sa.remoteTs.start, '10.10.0.7');
    assert.equal(sa.remoteTs.end, '10.10.0.7');
    assert.equal(sa.group, pfs);
    assert.deepEqual(sa.protocols.map((p) => [p.transformId, p.keyLength, p.authAlgorithm]), oldB.protocols.map((p) => [p.transformId, p.keyLength, p.authAlgorithm]));
    assert.deepEqual(pair.ev('b', 'rekeyed').map((r) => [r.kind, r.old]), [['ipsec', oldB.id]]);
    assert.ok(pair.ev('a', 'deleted').some((d) => d.id === oldA.id && d.by === 'peer'), 'the client removed its old SA on our Delete');
    assert.equal(pair.a.ipsecSas().length, 1);
    assert.equal(pair.b.ipsecSas().length, 1);
    assert.deepEqual(pair.a.ipsecSas()[0]!.protocols[0]!.inbound.keymat, pair.b.ipsecSas()[0]!.protocols[0]!.outbound.keymat);
    assert.equal(pair.ev('a', 'expired').length + pair.ev('b', 'expired').filter((e) => e.hard).length, 0, 'nothing reached its hard lifetime');
    // and the new SA is rekeyed by the gateway again (it is ours now, as initiator)
    pair.run(600_000);
    assert.equal(pair.ev('b', 'rekeyed').length, 2);
    assert.equal(pair.b.ipsecSas().length, 1);
  });
}

test('a client that rekeys itself (charon, pluto: margin minutes) goes first; its new SA cancels the gateway\'s timer of the old one', () => {
  const ipsec = [esp({ lifetimeSeconds: 600 })];
  const pair = remoteAccess('gw-rekey-client-first', { ipsec, rekeyMarginSeconds: 120, rekeyFuzzPercent: 0 }, { ipsec, rekeyMarginSeconds: 120 });
  const oldB = pair.b.ipsecSas()[0]!;
  pair.run(590_000);
  assert.equal(pair.ev('b', 'started').filter((e) => e.kind === 'ipsec' && e.role === 'initiator').length, 0, 'the gateway did not rekey');
  const fresh = pair.ev('b', 'ipsec-sa-established');
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0]!.sa.role, 'responder');
  assert.ok(pair.ev('b', 'deleted').some((d) => d.id === oldB.id && d.by === 'peer'));
  assert.equal(pair.b.ipsecSas().length, 1);
});

test('a client that rekeys itself but keeps its old SA: the gateway does not rekey the old one', () => {
  const ipsec = [esp({ lifetimeSeconds: 600 })];
  const pair = remoteAccess('gw-rekey-client-keeps', { ipsec, rekey: false }, { ipsec, rekeyMarginSeconds: 60 });
  const oldB = pair.b.ipsecSas()[0]!;
  // the client renegotiates the same selectors at 400 s; its Delete of the old SA is lost
  pair.run(400_000);
  pair.tap = (from, data) => (from === 'a' && data[18] === 5 ? null : data);
  pair.a.rekey(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.run(2000);
  pair.tap = undefined;
  assert.equal(pair.b.ipsecSas().length, 2);
  pair.run(200_000);
  assert.equal(pair.ev('b', 'started').filter((e) => e.kind === 'ipsec' && e.role === 'initiator').length, 0, 'no gateway rekey of the replaced SA');
  assert.ok(pair.ev('b', 'expired').some((e) => e.id === oldB.id && e.hard));
});

for (const off of [{ rekey: false }, { gatewayRekey: false }]) {
  test(`${JSON.stringify(off)} on the gateway: its clients' IPsec SAs expire`, () => {
    const ipsec = [esp({ lifetimeSeconds: 600 })];
    const pair = remoteAccess(`gw-rekey-off-${Object.keys(off)[0]}`, { ipsec, rekey: false }, { ipsec, ...off });
    assert.equal(pair.b.rekeyAt(pair.b.ipsecSas()[0]!.id), undefined);
    pair.run(601_000);
    assert.equal(pair.ev('b', 'started').filter((e) => e.kind === 'ipsec').length, 0);
    assert.equal(pair.b.ipsecSas().length, 0);
  });
}

test('a gateway for any address (remote %any) rekeys again the SA its own rekey made: under the client\'s ISAKMP SA, not a phase 1 to %any (was: a timer drop \'cannot initiate to %any\', the SA expired; the operator\'s rekey threw)', () => {
  const ipsec = [esp({ lifetimeSeconds: 600 })];
  const pair = remoteAccess('gw-rekey-any', { ipsec, rekey: false }, { ipsec, rekeyMarginSeconds: 60, remote: { address: '%any', port: 500 }, remoteId: { type: 'any' } });
  pair.run(600_000);
  assert.deepEqual(pair.ev('b', 'rekeyed').map((r) => r.kind), ['ipsec']);
  const mine = pair.b.ipsecSas()[0]!;
  assert.equal(mine.role, 'initiator');
  pair.run(600_000);
  assert.equal(pair.ev('b', 'rekeyed').length, 2, `rekeyed a second time: ${JSON.stringify(pair.ev('b', 'dropped').map((e) => e.reason))}`);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas()[0]!.isakmpSa, mine.isakmpSa, 'under the client\'s ISAKMP SA');
  assert.deepEqual(pair.b.ipsecSas()[0]!.protocols[0]!.outbound.spi, pair.a.ipsecSas()[0]!.protocols[0]!.inbound.spi);
  // an operator's rekey of it takes the same way
  assert.doesNotThrow(() => pair.b.rekey(pair.now, pair.b.ipsecSas()[0]!.id));
  pair.run(5000);
  assert.equal(pair.ev('b', 'rekeyed').length, 3);
});
