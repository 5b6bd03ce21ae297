// RFC 3947 NAT traversal in Main Mode + Quick Mode, through the in-memory pair (with its NAT knob).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeHeader, decodeMessage, decodePayloads, encodeMessage } from '../../src/codec/index.js';
import { decryptMessage, encryptMessage, phase1Iv, phase2Iv } from '../../src/crypto/index.js';
import { p1Keys } from '../helpers/craft.js';
import type { Payload } from '../../src/codec/types.js';
import { parseIpsecTransform } from '../../src/exchange/proposals.js';
import { tvAttr } from '../../src/exchange/proposals.js';
import type { Address, Connection } from '../../src/exchange/index.js';
import { Pair, anotherQuickMode, assertMirrored, conn, type WireRecord } from '../helpers/pair.js';

const RFC3947_VID = '4a131c81070358455c5728f20e95452f';
const NAT_PUBLIC = '203.0.113.5';

/** Independent NAT-D: SHA2-256(CKY-I | CKY-R | IPv4 | port), the pair's negotiated hash. */
function natd(ic: Uint8Array, rc: Uint8Array, a: Address): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(a.port);
  const ip = Buffer.from(a.address.split('.').map(Number));
  return createHash('sha256').update(ic).update(rc).update(ip).update(port).digest();
}

function mainMode(w: readonly WireRecord[]): WireRecord[] {
  return w.filter((r) => r.data[18] === 2);
}
function quick(w: readonly WireRecord[]): WireRecord[] {
  return w.filter((r) => r.data[18] === 32);
}
function payloadsOf(r: WireRecord): readonly Payload[] {
  return decodeMessage(r.data).payloads;
}
function vids(r: WireRecord): string[] {
  return payloadsOf(r).flatMap((p) => (p.type === 'VID' ? [Buffer.from(p.data).toString('hex')] : []));
}
function natds(r: WireRecord): Buffer[] {
  return payloadsOf(r).flatMap((p) => (p.type === 'NAT-D' ? [Buffer.from(p.hash)] : []));
}
function noErrors(pair: Pair): void {
  assert.deepEqual(pair.events.a.filter((e) => e.type === 'dropped' || e.type === 'failed'), []);
  assert.deepEqual(pair.events.b.filter((e) => e.type === 'dropped' || e.type === 'failed'), []);
}

/** Responder b behind which the initiator a sits behind a NAT: b accepts any address, checks a's ID. */
function natResponder(pair: Pair, over: Partial<Connection> = {}): Connection {
  return conn(pair, 'b', {
    remote: { address: '%any', port: 500 },
    remoteId: { type: 'ipv4', value: pair.addrA.address },
    remoteTs: { family: 4, start: pair.addrA.address, end: pair.addrA.address, protocol: 0, port: 0 },
    ...over,
  });
}

test('no NAT: stays on port 500, NAT-D hashes match, plain tunnel mode', () => {
  const pair = new Pair({ seed: 'natt-none' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  assertMirrored(pair, assert);
  const mm = mainMode(pair.wire);
  assert.equal(mm.length, 6);
  assert.ok(vids(mm[0]!).includes(RFC3947_VID), 'MM1 carries the RFC 3947 VID');
  assert.ok(vids(mm[1]!).includes(RFC3947_VID), 'MM2 carries the RFC 3947 VID');
  const ic = mm[0]!.data.subarray(0, 8);
  const rc = mm[1]!.data.subarray(8, 16);
  // MM3 (a): b's address first, then a's own; MM4 (b): a's address, then b's own
  assert.deepEqual(natds(mm[2]!), [natd(ic, rc, pair.addrB), natd(ic, rc, pair.addrA)]);
  assert.deepEqual(natds(mm[3]!), [natd(ic, rc, pair.addrA), natd(ic, rc, pair.addrB)]);
  for (const w of pair.wire) {
    assert.equal(w.local!.port, 500);
    assert.equal(w.remote!.port, 500);
  }
  const a1 = pair.ev('a', 'phase1-established')[0]!;
  const b1 = pair.ev('b', 'phase1-established')[0]!;
  assert.deepEqual(a1.sa.nat, { local: false, remote: false, encapsulation: false });
  assert.deepEqual(b1.sa.nat, { local: false, remote: false, encapsulation: false });
  const a2 = pair.ev('a', 'ipsec-sa-established')[0]!;
  assert.equal(a2.sa.mode, 1);
  assert.equal(a2.sa.udpEncapsulation, undefined);
  assert.equal(pair.b.ipsecSas()[0]!.mode, 1);
});

/** a behind a NAT (public ports from 40000) brings connection c up with responder b (natResponder). */
function upBehindNat(seed: string): Pair {
  const pair = new Pair({ seed });
  pair.nat = { address: NAT_PUBLIC, basePort: 40000 };
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(natResponder(pair));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  return pair;
}

test('NAT in front of the initiator: both float to 4500 from MM5, UDP-encapsulated tunnel, same keys', () => {
  const pair = upBehindNat('natt-nat');
  noErrors(pair);
  assertMirrored(pair, assert);
  const mm = mainMode(pair.wire);
  assert.equal(mm.length, 6);
  const ic = mm[0]!.data.subarray(0, 8);
  const rc = mm[1]!.data.subarray(8, 16);
  assert.deepEqual(natds(mm[2]!), [natd(ic, rc, pair.addrB), natd(ic, rc, pair.addrA)]);
  // b saw a at the NAT's public address / port (the mapping of private port 500)
  assert.deepEqual(natds(mm[3]!), [natd(ic, rc, { address: NAT_PUBLIC, port: 40000 }), natd(ic, rc, pair.addrB)]);
  // MM1-MM4 on 500; from MM5 on, both ends on 4500 (b answers the NAT's 4500 mapping)
  assert.deepEqual(mm.map((w) => [w.from, w.local!.port, w.remote!.port]), [
    ['a', 500, 500],
    ['b', 500, 40000],
    ['a', 500, 500],
    ['b', 500, 40000],
    ['a', 4500, 4500],
    ['b', 4500, 40001],
  ]);
  const qm = quick(pair.wire);
  assert.equal(qm.length, 3);
  assert.deepEqual(qm.map((w) => [w.from, w.local!.port, w.remote!.port]), [
    ['a', 4500, 4500],
    ['b', 4500, 40001],
    ['a', 4500, 4500],
  ]);
  const a1 = pair.ev('a', 'phase1-established')[0]!;
  const b1 = pair.ev('b', 'phase1-established')[0]!;
  assert.deepEqual(a1.sa.nat, { local: true, remote: false, encapsulation: true });
  assert.deepEqual(b1.sa.nat, { local: false, remote: true, encapsulation: true });
  assert.deepEqual(a1.sa.remote, { address: pair.addrB.address, port: 4500 });
  assert.deepEqual(b1.sa.remote, { address: NAT_PUBLIC, port: 40001 });
  for (const side of ['a', 'b'] as const) {
    const s = pair.ev(side, 'ipsec-sa-established')[0]!.sa;
    assert.equal(s.mode, 3, `${side}: UDP_ENCAPSULATED_TUNNEL`);
    assert.equal(s.udpEncapsulation, true);
    assert.equal(s.peerOriginalAddress, undefined, 'tunnel mode: no NAT-OA (RFC 3947 §5.2)');
    assert.equal(s.local.port, 4500);
  }
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 40001 });

  // the NAT forgets its mapping: the next authenticated message moves b's SA to the new port
  const before = pair.b.ipsecSas()[0]!;
  pair.natRebind(50000);
  pair.clearEvents();
  anotherQuickMode(pair, 'a');
  pair.run(2000);
  noErrors(pair);
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 1);
  assert.equal(pair.ev('b', 'ipsec-sa-established').length, 1);
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 50000 });
  // ... and the UDP-encapsulated IPsec SA made under the old mapping follows it: same SPIs and keys
  const moved = pair.ev('b', 'ipsec-sa-updated');
  assert.equal(moved.length, 1);
  assert.equal(moved[0]!.sa.id, before.id);
  assert.deepEqual(moved[0]!.sa.remote, { address: NAT_PUBLIC, port: 50000 });
  assert.deepEqual(moved[0]!.sa.protocols[0]!.inbound.keymat, before.protocols[0]!.inbound.keymat);
  const now = pair.b.ipsecSas().find((s) => s.id === before.id)!;
  assert.deepEqual(now.remote, { address: NAT_PUBLIC, port: 50000 });
  assert.deepEqual(before.remote, { address: NAT_PUBLIC, port: 40001 }, 'the record handed out before is not changed in place');
  assert.equal(pair.ev('a', 'ipsec-sa-updated').length, 0, 'the side behind the NAT has nothing to move');
  const last = quick(pair.wire).slice(-3);
  assert.deepEqual(last.map((w) => [w.from, w.remote!.port]), [['a', 4500], ['b', 50000], ['a', 4500]]);
});

test('a replayed Quick Mode message from another port does not move the SA', () => {
  const pair = new Pair({ seed: 'natt-replay' });
  pair.nat = { address: NAT_PUBLIC, basePort: 40000 };
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(natResponder(pair));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const qm1 = quick(pair.wire).find((w) => w.from === 'a')!;
  pair.inject('b', qm1.data, { address: NAT_PUBLIC, port: 6666 });
  pair.run(1000);
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 40001 });
  assert.equal(pair.b.ipsecSas().length, 1);
});

test('forceEncapsulation (initiator) without a NAT: the peer sees a faked NAT-D and both float', () => {
  const pair = new Pair({ seed: 'natt-force' });
  pair.a.setConnection(conn(pair, 'a', { forceEncapsulation: true }));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  assertMirrored(pair, assert);
  const mm = mainMode(pair.wire);
  const ic = mm[0]!.data.subarray(0, 8);
  const rc = mm[1]!.data.subarray(8, 16);
  const d3 = natds(mm[2]!);
  assert.deepEqual(d3[0], natd(ic, rc, pair.addrB));
  assert.notDeepEqual(d3[1], natd(ic, rc, pair.addrA), 'our own hash is faked');
  assert.equal(d3[1]!.length, 32);
  assert.deepEqual(mm.slice(4).map((w) => [w.local!.port, w.remote!.port]), [[4500, 4500], [4500, 4500]]);
  assert.deepEqual(pair.ev('a', 'phase1-established')[0]!.sa.nat, { local: false, remote: false, encapsulation: true });
  assert.deepEqual(pair.ev('b', 'phase1-established')[0]!.sa.nat, { local: false, remote: true, encapsulation: true });
  assert.equal(pair.ev('a', 'ipsec-sa-established')[0]!.sa.mode, 3);
  assert.equal(pair.ev('b', 'ipsec-sa-established')[0]!.sa.mode, 3);
});

test('forceEncapsulation (responder): the initiator floats, transport mode becomes UDP-encapsulated transport', () => {
  const pair = new Pair({ seed: 'natt-force-r' });
  const ipsec = [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 2 }];
  pair.a.setConnection(conn(pair, 'a', { ipsec }));
  pair.b.setConnection(conn(pair, 'b', { ipsec, forceEncapsulation: true }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  assertMirrored(pair, assert);
  assert.deepEqual(pair.ev('a', 'phase1-established')[0]!.sa.nat, { local: false, remote: true, encapsulation: true });
  assert.deepEqual(quick(pair.wire).map((w) => w.local!.port), [4500, 4500, 4500]);
  assert.equal(pair.ev('a', 'ipsec-sa-established')[0]!.sa.mode, 4);
  // RFC 3947 §5.2: HDR*, HASH(1), SA, Ni, IDci, IDcr, NAT-OAi, NAT-OAr --> and back: each side
  // learns the other's own address (for the checksum fix-up of UDP-encapsulated transport)
  assert.equal(pair.ev('a', 'ipsec-sa-established')[0]!.sa.peerOriginalAddress, pair.addrB.address);
  assert.equal(pair.ev('b', 'ipsec-sa-established')[0]!.sa.peerOriginalAddress, pair.addrA.address);
  const k = p1Keys(pair.a, pair.a.isakmpSas()[0]!.id);
  const [qm1, qm2] = quick(pair.wire);
  const oas = (w: { data: Uint8Array }, iv: Uint8Array) => {
    const plain = decryptMessage({ cipher: k.cipher, key: k.encKey, iv, ciphertext: w.data.subarray(28) });
    return decodePayloads(8, plain.plaintext, { allowTrailing: true }).filter((p) => p.type === 'NAT-OA').map((p) => (p.type === 'NAT-OA' ? [p.idType, [...p.address].join('.')] : []));
  };
  const mid = decodeHeader(qm1!.data).messageId;
  const iv1 = phase2Iv(k.prf, k.iv, mid, k.cipher.blockSize);
  assert.deepEqual(oas(qm1!, iv1), [[1, pair.addrA.address], [1, pair.addrB.address]], 'QM1: the initiator, then the responder as the initiator sees it');
  const iv2 = qm1!.data.subarray(qm1!.data.length - 16);
  assert.deepEqual(oas(qm2!, iv2), [[1, pair.addrA.address], [1, pair.addrB.address]], 'QM2: the initiator as the responder sees it, then the responder');
});

test('NAT-OA payloads: IPv4 and IPv6 built by address; three payloads, or a wrong ID type, are PAYLOAD_MALFORMED', async () => {
  const { readNatOa, natOaPayloads } = await import('../../src/exchange/natt.js');
  assert.equal(readNatOa([]), undefined);
  const two = natOaPayloads('192.0.2.1', '2001:db8::2');
  assert.deepEqual(two.map((p) => p.idType), [1, 5]);
  assert.deepEqual(readNatOa(two), { initiator: '192.0.2.1', responder: '2001:db8::2' });
  assert.throws(() => readNatOa([...two, two[0]!]), /3 NAT-OA payloads/);
  assert.throws(() => readNatOa([{ ...two[0]!, idType: 5 }, two[1]!]), /ID type 5 and 4 address bytes/);
});

test('a peer without the NAT-T VID gets no NAT-D payloads; natTraversal:false sends no VID', () => {
  const pair = new Pair({ seed: 'natt-off' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { natTraversal: false }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  assertMirrored(pair, assert);
  const mm = mainMode(pair.wire);
  assert.ok(vids(mm[0]!).includes(RFC3947_VID));
  assert.ok(!vids(mm[1]!).includes(RFC3947_VID));
  assert.deepEqual(natds(mm[2]!), []);
  assert.deepEqual(natds(mm[3]!), []);
  assert.equal(pair.ev('a', 'phase1-established')[0]!.sa.nat, undefined);
  assert.equal(pair.ev('a', 'ipsec-sa-established')[0]!.sa.mode, 1);

  const off = new Pair({ seed: 'natt-off2' });
  off.a.setConnection(conn(off, 'a', { natTraversal: false }));
  off.b.setConnection(conn(off, 'b'));
  off.a.initiate(off.now, 'c');
  off.run(2000);
  noErrors(off);
  const mm2 = mainMode(off.wire);
  assert.ok(!vids(mm2[0]!).includes(RFC3947_VID));
  assert.ok(!vids(mm2[1]!).includes(RFC3947_VID), 'the responder only answers the VID it was sent');
  assert.deepEqual(natds(mm2[2]!), []);
});

function truncateNatd(data: Uint8Array): Uint8Array {
  const m = decodeMessage(data);
  const payloads = m.payloads.map((p) => (p.type === 'NAT-D' ? { ...p, hash: p.hash.subarray(0, 19) } : p));
  return encodeMessage({ header: m.header, payloads });
}

test('malformed NAT-D (wrong length) in MM3 is dropped with PAYLOAD_MALFORMED', () => {
  const pair = new Pair({ seed: 'natt-bad3' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  let n = 0;
  pair.tap = (from, data) => (from === 'a' && data[18] === 2 && ++n === 2 ? truncateNatd(data) : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(500);
  const dropped = pair.ev('b', 'dropped');
  assert.equal(dropped.length, 1);
  assert.equal(dropped[0]!.notify, 16);
  assert.match(dropped[0]!.reason, /NAT-D of 19 bytes/);
  assert.equal(mainMode(pair.wire).filter((w) => w.from === 'b').length, 1, 'no MM4');
});

test('malformed NAT-D (wrong length) in MM4 is dropped with PAYLOAD_MALFORMED by the initiator', () => {
  const pair = new Pair({ seed: 'natt-bad4' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  let n = 0;
  pair.tap = (from, data) => (from === 'b' && data[18] === 2 && ++n === 2 ? truncateNatd(data) : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(500);
  const dropped = pair.ev('a', 'dropped');
  assert.equal(dropped.length, 1);
  assert.equal(dropped[0]!.notify, 16);
  assert.equal(pair.ev('a', 'phase1-established').length, 0);
});

test('Quick Mode modes: draft UDP-encapsulation numbers read as RFC 3947 ones', () => {
  const t = (mode: number) => parseIpsecTransform({ number: 1, id: 12, attributes: [tvAttr(4, mode), tvAttr(5, 5), tvAttr(6, 128)] });
  assert.equal(t(61443)?.mode, 3);
  assert.equal(t(61444)?.mode, 4);
  assert.equal(t(3)?.mode, 3);
  assert.equal(t(4)?.mode, 4);
  assert.equal(t(5), undefined);
});

test('Aggressive Mode behind a NAT: VIDs in AM1/AM2, NAT-D in AM2/AM3, float with AM3, UDP-encapsulated tunnel', () => {
  const pair = new Pair({ seed: 'natt-am' });
  pair.nat = { address: NAT_PUBLIC, basePort: 41000 };
  // fragmentation off: AM2 (KE, 3 VIDs, 2 NAT-D) would exceed 548 bytes; this test reads whole messages
  pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', fragmentation: 'no' }));
  pair.b.setConnection(natResponder(pair, { exchange: 'aggressive', allowAggressivePsk: true, fragmentation: 'no' }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  assertMirrored(pair, assert);
  const am = pair.wire.filter((r) => r.data[18] === 4);
  assert.equal(am.length, 3);
  assert.ok(vids(am[0]!).includes(RFC3947_VID));
  assert.ok(vids(am[1]!).includes(RFC3947_VID));
  const ic = am[0]!.data.subarray(0, 8);
  const rc = am[1]!.data.subarray(8, 16);
  assert.deepEqual(natds(am[1]!), [natd(ic, rc, { address: NAT_PUBLIC, port: 41000 }), natd(ic, rc, pair.addrB)]);
  // AM3 goes out on 4500, but its NAT-D payloads hash the addresses of the exchange as it began
  // (port 500), as racoon computes them (charon hashes the NAT-T port: next test)
  const ke = (r: WireRecord): Uint8Array => payloadsOf(r).flatMap((p) => (p.type === 'KE' ? [p.data] : []))[0]!;
  const k = p1Keys(pair.a, pair.a.isakmpSas()[0]!.id);
  assert.equal(am[2]!.data[19]! & 1, 1, 'AM3 is encrypted');
  const am3 = decryptMessage({ cipher: k.cipher, key: k.encKey, iv: phase1Iv(k.prf, ke(am[0]!), ke(am[1]!), k.cipher.blockSize), ciphertext: am[2]!.data.subarray(28) });
  const am3NatD = decodePayloads(decodeHeader(am[2]!.data).nextPayload, am3.plaintext, { allowTrailing: true }).flatMap((p) => (p.type === 'NAT-D' ? [Buffer.from(p.hash)] : []));
  assert.deepEqual(am3NatD, [natd(ic, rc, pair.addrB), natd(ic, rc, pair.addrA)]);
  assert.deepEqual(am.map((w) => [w.from, w.local!.port, w.remote!.port]), [
    ['a', 500, 500],
    ['b', 500, 41000],
    ['a', 4500, 4500],
  ]);
  assert.deepEqual(quick(pair.wire).map((w) => [w.from, w.local!.port, w.remote!.port]), [
    ['a', 4500, 4500],
    ['b', 4500, 41001],
    ['a', 4500, 4500],
  ]);
  assert.deepEqual(pair.ev('a', 'phase1-established')[0]!.sa.nat, { local: true, remote: false, encapsulation: true });
  assert.deepEqual(pair.ev('b', 'phase1-established')[0]!.sa.nat, { local: false, remote: true, encapsulation: true });
  assert.equal(pair.ev('b', 'ipsec-sa-established')[0]!.sa.mode, 3);
  assert.deepEqual(pair.ev('b', 'phase1-established')[0]!.sa.remote, { address: NAT_PUBLIC, port: 41001 });
});

test('Aggressive Mode: AM3 NAT-D hashed over the NAT-T port it is sent to (as charon does) still finds no NAT in front of the responder', () => {
  const pair = new Pair({ seed: 'natt-am-4500' });
  pair.nat = { address: NAT_PUBLIC, basePort: 42000 };
  pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', fragmentation: 'no' }));
  pair.b.setConnection(natResponder(pair, { exchange: 'aggressive', allowAggressivePsk: true, fragmentation: 'no' }));
  // rewrite a's AM3 as charon sends it: its NAT-D payloads hash the destination and source of the
  // datagram as sent, port 4500 (HASH_I does not cover NAT-D: the message stays authentic)
  const kes: Uint8Array[] = [];
  pair.tap = (from, data) => {
    if (data[18] !== 4) return data;
    if (kes.length < 2) {
      kes.push(decodeMessage(data).payloads.flatMap((p) => (p.type === 'KE' ? [new Uint8Array(p.data)] : []))[0]!);
      return data;
    }
    assert.equal(from, 'a');
    const k = p1Keys(pair.a, pair.a.isakmpSas()[0]!.id);
    const iv = phase1Iv(k.prf, kes[0]!, kes[1]!, k.cipher.blockSize);
    const plain = new Uint8Array(decryptMessage({ cipher: k.cipher, key: k.encKey, iv, ciphertext: data.subarray(28) }).plaintext);
    const ic = data.subarray(0, 8);
    const rc = data.subarray(8, 16);
    const swaps: [Address, Address][] = [
      [pair.addrB, { address: pair.addrB.address, port: 4500 }],
      [pair.addrA, { address: pair.addrA.address, port: 4500 }],
    ];
    for (const [was, now] of swaps) {
      const old = natd(ic, rc, was);
      const at = Buffer.from(plain).indexOf(old);
      assert.ok(at > 0, 'AM3 carries the NAT-D of the port-500 address');
      plain.set(natd(ic, rc, now), at);
    }
    const { ciphertext } = encryptMessage({ cipher: k.cipher, key: k.encKey, iv: phase1Iv(k.prf, kes[0]!, kes[1]!, k.cipher.blockSize), plaintext: plain });
    const out = new Uint8Array(28 + ciphertext.length);
    out.set(data.subarray(0, 28));
    out.set(ciphertext.subarray(0, data.length - 28), 28);
    return out.subarray(0, data.length);
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(kes.length, 2);
  // b took AM3 (the rewritten ciphertext ends in another block, so the CBC chain of a and b part
  // after it: what follows phase 1 is not this test's business)
  assert.deepEqual(pair.ev('b', 'phase1-established')[0]!.sa.nat, { local: false, remote: true, encapsulation: true });
});

test('modeName: RFC 2407 and RFC 3947 encapsulation modes as tunnel or transport', async () => {
  const { modeName } = await import('../../src/exchange/natt.js');
  assert.deepEqual([1, 2, 3, 4].map(modeName), ['tunnel', 'transport', 'tunnel', 'transport']);
});

test('the NAT rebinds and the peer behind it only probes (R-U-THERE): the responder probes it at its new port at once, the ACK moves the ISAKMP and IPsec SAs', () => {
  const pair = new Pair({ seed: 'natt-rebind-dpd' });
  pair.nat = { address: NAT_PUBLIC, basePort: 40000 };
  const dpd = { delaySeconds: 10, timeoutSeconds: 30 };
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(natResponder(pair, { dpd }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  const aSa = pair.a.isakmpSas()[0]!.id;
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 40001 });
  const child = pair.b.ipsecSas()[0]!;
  pair.natRebind(50000);
  pair.clearEvents();
  // a (no DPD policy of its own: commands only) probes b every 8 s: each R-U-THERE is
  // authenticated but could be a replay, so it alone does not move b's SA; b answers it where it
  // came from, and asks there itself: the ACK of b's own probe is the proof
  pair.a.dpd(pair.now, aSa);
  pair.run(1000);
  assert.equal(pair.ev('a', 'notify').filter((e) => e.type === 'notify' && e.notify === 36137).length, 1, 'a got its ACK at the new port');
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 50000 }, 'b follows a to the new port');
  const moved = pair.ev('b', 'ipsec-sa-updated');
  assert.equal(moved.length, 1);
  assert.equal(moved[0]!.sa.id, child.id);
  assert.deepEqual(moved[0]!.sa.remote, { address: NAT_PUBLIC, port: 50000 });
  for (let i = 0; i < 4; i++) {
    pair.run(8_000);
    pair.a.dpd(pair.now, aSa);
  }
  pair.run(1000);
  assert.deepEqual(pair.ev('b', 'peer-dead'), []);
  assert.equal(pair.b.isakmpSas().length, 1);
});

test('the NAT rebinds while the responder\'s own probe is going to the old port: the peer\'s next R-U-THERE still gets a probe at the new port at once', () => {
  const pair = new Pair({ seed: 'natt-rebind-race' });
  pair.nat = { address: NAT_PUBLIC, basePort: 40000 };
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(natResponder(pair, { dpd: { delaySeconds: 10, timeoutSeconds: 30 } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  noErrors(pair);
  const aSa = pair.a.isakmpSas()[0]!.id;
  pair.natRebind(50000);
  // b hears nothing for its delay: its probe goes to the old mapping, which the NAT dropped
  pair.run(10_500);
  const lost = pair.wire.filter((w) => w.from === 'b' && !w.delivered && !w.keepalive);
  assert.equal(lost.length, 1, 'b probed the old port');
  pair.a.dpd(pair.now, aSa);
  pair.run(1000);
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 50000 }, 'b probed the new port too, at once, and moved on its ACK');
  assert.equal(pair.ev('b', 'ipsec-sa-updated').length, 1);
});

test('the responder on a connection to %any rekeys an IPsec SA under the initiator\'s ISAKMP SA (was: tried a new phase 1 to %any, threw, and left the SA rekeying); its rekey of the ISAKMP SA is refused in words, nothing changed', () => {
  const pair = upBehindNat('natt-any-rekey');
  const [old] = pair.b.ipsecSas();
  const [p1] = pair.b.isakmpSas();
  assert.ok(old && p1);
  pair.clearEvents();
  pair.b.rekey(pair.now, old.id);
  pair.run(2000);
  const fresh = pair.ev('b', 'ipsec-sa-established');
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0]!.rekeyOf, old.id);
  assert.equal(fresh[0]!.sa.isakmpSa, p1.id, 'under the ISAKMP SA a negotiated');
  assert.equal(fresh[0]!.sa.role, 'initiator');
  assert.deepEqual(pair.b.ipsecSas().map((s) => s.id), [fresh[0]!.sa.id]);
  assert.deepEqual(pair.a.ipsecSas()[0]!.protocols[0]!.inbound.spi, fresh[0]!.sa.protocols[0]!.outbound.spi);
  assert.throws(() => pair.b.rekey(pair.now, p1.id), /cannot initiate a new phase 1 to %any/);
  assert.deepEqual(pair.b.isakmpSas().map((s) => [s.id, s.state]), [[p1.id, 'established']]);
});
