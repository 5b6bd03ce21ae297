// Main Mode PSK (RFC 2409 §5.4) + Quick Mode (§5.5), both roles, through the in-memory pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodeMessage, encodeMessage } from '../../src/codec/index.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';
import { inspect } from '../../src/exchange/inspect.js';

function established(pair: Pair) {
  return {
    a1: pair.ev('a', 'phase1-established'),
    b1: pair.ev('b', 'phase1-established'),
    a2: pair.ev('a', 'ipsec-sa-established'),
    b2: pair.ev('b', 'ipsec-sa-established'),
  };
}

test('Main Mode PSK + Quick Mode, AES-128/SHA2-256/MODP-2048, ESP tunnel', async (t) => {
  const pair = new Pair();
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const wire = pair.wire.map((w) => ({ from: w.from, h: decodeHeader(w.data) }));
  await t.test('HDR, SA --> / <-- HDR, SA / HDR, KE, Ni --> / <-- HDR, KE, Nr / HDR*, IDii, HASH_I --> / <-- HDR*, IDir, HASH_R', () => {
    const mm = wire.filter((w) => w.h.exchangeType === 2);
    assert.deepEqual(mm.map((w) => w.from), ['a', 'b', 'a', 'b', 'a', 'b']);
    assert.deepEqual(mm.map((w) => w.h.nextPayload), [1, 1, 4, 4, 5, 5]);
    assert.deepEqual(mm.map((w) => w.h.flags & 1), [0, 0, 0, 0, 1, 1]);
  });
  await t.test('HDR*, HASH(1), SA, Ni, IDci, IDcr --> / <-- HDR*, HASH(2), SA, Nr, IDci, IDcr / HDR*, HASH(3) -->', () => {
    const qm = wire.filter((w) => w.h.exchangeType === 32);
    assert.deepEqual(qm.map((w) => w.from), ['a', 'b', 'a']);
    assert.ok(qm.every((w) => w.h.nextPayload === 8 && (w.h.flags & 1) === 1));
    assert.equal(new Set(qm.map((w) => w.h.messageId)).size, 1);
  });
  const { a1, b1, a2, b2 } = established(pair);
  assert.equal(a1.length, 1);
  assert.equal(b1.length, 1);
  assert.equal(a2.length, 1);
  assert.equal(b2.length, 1);
  assert.deepEqual(a1[0]!.keyLog.encryptionKey, b1[0]!.keyLog.encryptionKey);
  const pa = a2[0]!.sa.protocols[0]!;
  const pb = b2[0]!.sa.protocols[0]!;
  assert.deepEqual(pa.inbound.spi, pb.outbound.spi);
  assert.deepEqual(pa.outbound.spi, pb.inbound.spi);
  assert.deepEqual(pa.inbound.keymat, pb.outbound.keymat);
  assert.deepEqual(pa.outbound.keymat, pb.inbound.keymat);
  assert.notDeepEqual(pa.inbound.keymat, pa.outbound.keymat);
  assert.equal(pa.inbound.keymat.length, 16 + 32);
  assert.equal(pa.inbound.encryptionKey.length, 16);
  assert.equal(a2[0]!.sa.mode, 1);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.deepEqual(pair.events.a.filter((e) => e.type === 'dropped' || e.type === 'failed'), []);
  assert.deepEqual(pair.events.b.filter((e) => e.type === 'dropped' || e.type === 'failed'), []);
});

// every exchange × role: b initiates towards a
test('Main Mode PSK with the roles swapped (b initiates)', () => {
  const pair = new Pair({ seed: 'swap' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.b.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  assert.equal(pair.ev('b', 'phase1-established')[0]!.sa.role, 'initiator');
  assert.equal(pair.ev('a', 'phase1-established')[0]!.sa.role, 'responder');
  assert.deepEqual(pair.ev('a', 'phase1-established')[0]!.peerId, { type: 'ipv4', value: '192.0.2.2' });
});

const CIPHERS: Array<[string, { encryption: number; keyLength?: number }, { transformId: number; keyLength?: number }]> = [
  ['AES-128', { encryption: 7, keyLength: 128 }, { transformId: 12, keyLength: 128 }],
  ['AES-256', { encryption: 7, keyLength: 256 }, { transformId: 12, keyLength: 256 }],
  ['3DES', { encryption: 5 }, { transformId: 3 }],
];
const HASHES: Array<[string, number, number]> = [
  ['SHA1', 2, 2],
  ['SHA2-256', 4, 5],
];
for (const [cn, ike, esp] of CIPHERS) {
  for (const [hn, hash, auth] of HASHES) {
    test(`Main Mode PSK + Quick Mode: ${cn} × ${hn}, both derive identical keys`, () => {
      const pair = new Pair({ seed: `${cn}${hn}` });
      const over = {
        ike: [{ ...ike, hash, group: 14 }],
        ipsec: [{ protocols: [{ protocol: 3, ...esp, authAlgorithm: auth }], mode: 1 }],
      };
      pair.a.setConnection(conn(pair, 'a', over));
      pair.b.setConnection(conn(pair, 'b', over));
      pair.a.initiate(pair.now, 'c');
      pair.run(2000);
      assertMirrored(pair, assert);
      const p = pair.ev('a', 'ipsec-sa-established')[0]!.sa.protocols[0]!;
      const encLen = cn === '3DES' ? 24 : (esp.keyLength ?? 0) / 8;
      const authLen = hn === 'SHA1' ? 20 : 32;
      assert.equal(p.inbound.encryptionKey.length, encLen);
      assert.equal(p.inbound.integrityKey.length, authLen);
      assert.equal(pair.ev('a', 'phase1-established')[0]!.keyLog.encryptionKey.length, cn === '3DES' ? 24 : (ike.keyLength ?? 0) / 8);
    });
  }
}

const GROUPS: Array<[number, boolean]> = [
  [14, false], [15, false], [16, false], [19, false], [20, false], [21, false],
  [2, true], [5, true], [24, true],
];
for (const [group, weak] of GROUPS) {
  for (const pfs of [false, true]) {
    test(`DH group ${group}${weak ? ' (opt-in)' : ''}, PFS ${pfs ? 'on' : 'off'}: HDR, KE, Ni --> ... HASH(3) -->`, () => {
      const pair = new Pair({ seed: `g${group}${pfs}` });
      const over = {
        ike: [{ encryption: 7, keyLength: 128, hash: 4, group }],
        ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, ...(pfs ? { group } : {}) }],
        allowWeakGroups: weak,
      };
      pair.a.setConnection(conn(pair, 'a', over));
      pair.b.setConnection(conn(pair, 'b', over));
      pair.a.initiate(pair.now, 'c');
      pair.run(2000);
      assertMirrored(pair, assert);
      assert.equal(pair.ev('a', 'phase1-established')[0]!.transform.group, group);
      assert.equal(pair.ev('b', 'ipsec-sa-established')[0]!.sa.group, pfs ? group : 0);
    });
  }
}

test('unknown vendor IDs (strongSwan: DPD, NAT-T RFC 3947, XAUTH, FRAGMENTATION) in HDR, SA --> are ignored', () => {
  const pair = new Pair({ seed: 'vids' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  const vids = [
    'afcad71368a1f1c96b8696fc77570100', // DPD
    '4a131c81070358455c5728f20e95452f', // RFC 3947 NAT-T
    '09002689dfd6b712', // XAUTH
    '4048b7d56ebce88525e7de7f00d6c2d3', // FRAGMENTATION
  ].map((h) => ({ type: 'VID' as const, data: Uint8Array.from(Buffer.from(h, 'hex')) }));
  pair.tap = (from, data) => {
    const m = decodeMessage(data);
    if (from !== 'a' || m.header.exchangeType !== 2 || m.header.nextPayload !== 1) return data;
    return encodeMessage({ header: m.header, payloads: [...m.payloads, ...vids] });
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
});

test('phase-1 ID payload: protocol/port 0/0 and 17/500 (strongSwan) accepted; others INVALID_ID_INFORMATION', () => {
  const pair = new Pair();
  const check = (protocol: number, port: number) => {
    try {
      inspect(pair.b).checkPhase1IdPayload({ type: 'ID', idType: 1, protocol, port, data: Uint8Array.of(192, 0, 2, 1) });
      return 0;
    } catch (e) {
      return (e as { notify: number }).notify;
    }
  };
  assert.equal(check(0, 0), 0);
  assert.equal(check(17, 500), 0);
  assert.equal(check(17, 4500), 0);
  assert.equal(check(6, 80), 18);
  assert.equal(check(17, 53), 18);
});

test('IPv6 peers: Main Mode + Quick Mode with ID_IPV6_ADDR identities and selectors', () => {
  const pair = new Pair({ seed: 'v6', addrA: { address: '2001:db8::1', port: 500 }, addrB: { address: '2001:db8::2', port: 500 } });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  assert.deepEqual(pair.ev('b', 'phase1-established')[0]!.peerId, { type: 'ipv6', value: '2001:db8::1' });
  assert.equal(pair.ev('b', 'ipsec-sa-established')[0]!.sa.remoteTs.start, '2001:db8::1');
});

test('a responder connection with local %any and remote %any answers with the address the exchange uses as ID', () => {
  const pair = new Pair({ seed: 'any' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { local: { address: '%any', port: 500 }, remote: { address: '%any', port: 500 }, remoteId: { type: 'any' } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  assert.deepEqual(pair.ev('a', 'phase1-established')[0]!.peerId, { type: 'ipv4', value: '192.0.2.2' });
});

test('MM1 is encoded once per distinct offer: a replaced connection sends its new proposal, with its own cookie', () => {
  const pair = new Pair();
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { ike: [{ encryption: 7, keyLength: 256, hash: 2, group: 15 }] }));
  pair.a.initiate(pair.now, 'c');
  pair.run(200_000); // no common proposal: the initiator retransmits, then gives up
  assert.equal(pair.a.isakmpSas().length, 0);
  // now the initiator's connection is replaced by one that matches
  pair.a.setConnection(conn(pair, 'a', { ike: [{ encryption: 7, keyLength: 256, hash: 2, group: 15 }] }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const mm1 = pair.wire.filter((w) => w.from === 'a' && decodeHeader(w.data).exchangeType === 2 && decodeHeader(w.data).nextPayload === 1 && w.data[8] === 0 && w.data[15] === 0);
  const offers = mm1.map((w) => {
    const sa = decodeMessage(w.data).payloads[0]!;
    assert.equal(sa.type, 'SA');
    return sa.type === 'SA' ? sa.proposals[0]!.transforms[0]!.attributes.map((a) => [a.type, a.value]) : [];
  });
  const distinct = [...new Set(offers.map((o) => JSON.stringify(o)))];
  assert.equal(distinct.length, 2, 'the first and the replaced connection offer different transforms');
  assert.ok(distinct[1]!.includes('[14,256]'), 'AES-256 offered after the replacement');
  const cookies = new Set(mm1.map((w) => Buffer.from(w.data.subarray(0, 8)).toString('hex')));
  assert.ok(cookies.size >= 2, 'each exchange has its own initiator cookie');
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 1, 'the replaced connection comes up');
});

test('RFC 3706: DPD is marked on the SA only when the peer sent the DPD vendor ID', () => {
  const pair = new Pair({ seed: 'dpd-vid' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  const DPD = 'afcad71368a1f1c96b8696fc77570100';
  // a's MM1 loses its DPD vendor ID on the way (the VIDs are not covered by HASH_I)
  pair.tap = (from, d) => {
    const h = decodeHeader(d);
    if (from !== 'a' || h.exchangeType !== 2 || d[8] !== 0 || d[16] !== 1) return d;
    const m = decodeMessage(d);
    const payloads = m.payloads.filter((p) => !(p.type === 'VID' && Buffer.from(p.data).toString('hex') === DPD));
    assert.equal(payloads.length, m.payloads.length - 1);
    return encodeMessage({ header: m.header, payloads });
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  assert.equal(pair.a.isakmpSas()[0]!.dpd, true, 'b announced DPD');
  assert.equal(pair.b.isakmpSas()[0]!.dpd, undefined, 'a did not (as far as b knows)');
});
