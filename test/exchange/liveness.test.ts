// Liveness inside the engine, on the pair's virtual clock: RFC 3706 Dead Peer Detection driven by
// the last authenticated message from the peer (or inbound traffic reported), with its sequence
// numbers; RFC 3948 §2.3 NAT keepalives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodeMessage, decodePayloads, encodeMessage } from '../../src/codec/index.js';
import { decryptMessage, phase2Iv } from '../../src/crypto/index.js';
import type { DpdPolicy } from '../../src/exchange/index.js';
import { p1Keys } from '../helpers/craft.js';
import { Pair, conn, establishedPair, type WireRecord } from '../helpers/pair.js';

const DPD: DpdPolicy = { delaySeconds: 10, timeoutSeconds: 30 };

/** a (initiator, with a DPD policy) and b up; events and wire cleared. */
function up(seed: string): Pair {
  const pair = establishedPair(seed, { dpd: DPD }, true); // the wire record stays: lastHeardFromB reads it
  assert.equal(pair.a.isakmpSas()[0]!.dpd, true, 'b announced DPD');
  return pair;
}

/** When a last received a datagram from b (the pair's one-way delay is 5 ms). */
function lastHeardFromB(pair: Pair): number {
  const last = pair.wire.filter((w) => w.from === 'b' && w.delivered).at(-1);
  assert.ok(last, 'b sent something');
  return last.at + 5;
}

/** The R-U-THEREs a sent (protected informationals with one notify 36136): when, and the sequence number inside. */
function probes(pair: Pair, saId: string): { at: number; seq: number; msgId: number }[] {
  const k = p1Keys(pair.a, saId);
  const out: { at: number; seq: number; msgId: number }[] = [];
  for (const w of pair.sentBy('a') as WireRecord[]) {
    if (w.keepalive) continue;
    const h = decodeHeader(w.data);
    if (h.exchangeType !== 5) continue;
    const { plaintext } = decryptMessage({ cipher: k.cipher, key: k.encKey, iv: phase2Iv(k.prf, k.iv, h.messageId, k.cipher.blockSize), ciphertext: w.data.subarray(28) });
    const n = decodePayloads(h.nextPayload, plaintext, { allowTrailing: true }).find((p) => p.type === 'N');
    if (n?.type === 'N' && n.notifyType === 36136) out.push({ at: w.at, seq: new DataView(n.data.buffer, n.data.byteOffset, 4).getUint32(0), msgId: h.messageId });
  }
  return out;
}

test('DPD: a peer that goes silent is declared dead exactly delay + timeout after its last message; the probe is retransmitted with its number', () => {
  const pair = up('dpd-silent');
  const saId = pair.a.isakmpSas()[0]!.id;
  const last = lastHeardFromB(pair);
  // b goes silent: everything it sends is lost from now on
  pair.tap = (from, d) => (from === 'b' ? null : d);
  pair.run(DPD.delaySeconds * 1000 + DPD.timeoutSeconds * 1000 - 1 - (pair.now - last));
  assert.equal(pair.now, last + 39_999);
  assert.deepEqual(pair.ev('a', 'peer-dead'), [], 'not dead 1 ms before delay + timeout');
  assert.equal(pair.a.isakmpSas().length, 1);
  const ps = probes(pair, saId);
  // the first R-U-THERE after the delay, then again every delay while unanswered (same number, new message ID)
  assert.deepEqual(ps.map((p) => p.at), [last + 10_000, last + 20_000, last + 30_000]);
  assert.equal(new Set(ps.map((p) => p.seq)).size, 1, 'a retransmission keeps its sequence number');
  assert.equal(new Set(ps.map((p) => p.msgId)).size, 3, 'each one its own message ID');
  pair.run(1);
  const dead = pair.ev('a', 'peer-dead');
  assert.equal(dead.length, 1);
  assert.equal(pair.now, last + 40_000);
  assert.equal(dead[0]!.isakmpSa, saId);
  assert.equal(dead[0]!.connection, 'c');
  assert.equal(dead[0]!.peer.address, pair.addrB.address);
  // its SAs are gone, Deletes sent anyway
  assert.deepEqual(pair.a.isakmpSas(), []);
  assert.deepEqual(pair.a.ipsecSas(), []);
  assert.deepEqual(pair.ev('a', 'deleted').map((d) => [d.kind, d.by]), [['ipsec', 'local'], ['isakmp', 'local']]);
  assert.equal(pair.a.stats().timers, 0, 'no timer left behind');
});

test('DPD: an ACK resets the count (each new probe +1), and the peer stays up', () => {
  const pair = up('dpd-ack');
  const saId = pair.a.isakmpSas()[0]!.id;
  const last = lastHeardFromB(pair);
  pair.run(65_000);
  assert.deepEqual(pair.ev('a', 'peer-dead'), []);
  const ps = probes(pair, saId);
  // a probe 10 s after the last word from b; the ACK comes back 10 ms later and starts the count again
  assert.equal(ps[0]!.at, last + 10_000);
  for (let i = 1; i < ps.length; i++) {
    assert.equal(ps[i]!.at, ps[i - 1]!.at + 10 + 10_000, 'the next probe 10 s after the previous ACK');
    assert.equal(ps[i]!.seq, (ps[i - 1]!.seq + 1) >>> 0, 'a new probe has the next sequence number');
  }
  assert.equal(ps.length, 6);
  // every ACK carries the number of the probe it answers
  const acks = pair.ev('a', 'notify').filter((n) => n.notify === 36137);
  assert.deepEqual(acks.map((n) => new DataView(n.data.buffer, n.data.byteOffset, 4).getUint32(0)), ps.map((p) => p.seq));
  assert.equal(pair.a.isakmpSas().length, 1);
});

test('DPD: nothing is sent on an SA that just received traffic (inbound bytes reported, or an authenticated message)', () => {
  const pair = up('dpd-traffic');
  const saId = pair.a.isakmpSas()[0]!.id;
  const child = pair.a.ipsecSas()[0]!.id;
  pair.tap = (from, d) => (from === 'b' ? null : d); // b's datagrams are lost: only traffic says it lives
  let inbound = 0;
  for (let t = 0; t < 60; t++) {
    inbound += 1000;
    pair.a.reportTraffic(pair.now, child, 2 * inbound, inbound);
    pair.run(5_000);
  }
  assert.deepEqual(probes(pair, saId), [], 'no R-U-THERE while inbound traffic flows');
  assert.deepEqual(pair.sentBy('a').filter((w) => w.at > 2000), [], 'nothing at all');
  // totals that grow by our own traffic alone say nothing about the peer
  const quietSince = pair.now - 5_000;
  for (let t = 0; t < 3; t++) {
    pair.a.reportTraffic(pair.now, child, 2 * inbound + (t + 1) * 1000, inbound);
    pair.run(5_000);
  }
  assert.deepEqual(probes(pair, saId).map((p) => p.at), [quietSince + 10_000, quietSince + 20_000]);
  pair.run(20_000);
  assert.equal(pair.ev('a', 'peer-dead').length, 1);
  assert.equal(pair.now, quietSince + 40_000);
  assert.equal(pair.ev('a', 'peer-dead')[0]!.isakmpSa, saId);
});

test('DPD: an authenticated message from the peer (here its own R-U-THERE) also counts as a sign of life', () => {
  const pair = up('dpd-msg');
  const saId = pair.a.isakmpSas()[0]!.id;
  const bSa = pair.b.isakmpSas()[0]!.id;
  // b probes a every 8 s (b has no DPD policy of its own: commands only); a never needs to probe
  for (let t = 0; t < 8; t++) {
    pair.run(8_000);
    pair.b.dpd(pair.now, bSa);
  }
  pair.run(100);
  assert.deepEqual(probes(pair, saId), []);
  assert.deepEqual(pair.ev('a', 'peer-dead'), []);
});

test('DPD: no probes without a policy, nor when the peer did not announce DPD', () => {
  const none = new Pair({ seed: 'dpd-none' });
  none.a.setConnection(conn(none, 'a'));
  none.b.setConnection(conn(none, 'b'));
  none.a.initiate(none.now, 'c');
  none.run(2000);
  none.tap = (from, d) => (from === 'b' ? null : d);
  const before = none.sentBy('a').length;
  none.run(120_000);
  assert.equal(none.sentBy('a').length, before);
  // a peer without the DPD vendor ID is never probed: b has the policy, a's MM1 loses its VID
  const quiet = new Pair({ seed: 'dpd-novid' });
  quiet.a.setConnection(conn(quiet, 'a'));
  quiet.b.setConnection(conn(quiet, 'b', { dpd: DPD }));
  quiet.tap = (from, d) => {
    const h = decodeHeader(d);
    if (from !== 'a' || h.exchangeType !== 2 || d[8] !== 0 || d[16] !== 1) return d;
    const m = decodeMessage(d);
    return encodeMessage({ header: m.header, payloads: m.payloads.filter((p) => !(p.type === 'VID' && Buffer.from(p.data).toString('hex') === 'afcad71368a1f1c96b8696fc77570100')) });
  };
  quiet.a.initiate(quiet.now, 'c');
  quiet.run(2000);
  assert.equal(quiet.b.ipsecSas().length, 1);
  assert.equal(quiet.b.isakmpSas()[0]!.dpd, undefined);
  quiet.tap = (from, d) => (from === 'a' ? null : d);
  const n = quiet.sentBy('b').length;
  quiet.run(120_000);
  assert.equal(quiet.sentBy('b').length, n);
  assert.deepEqual(quiet.ev('b', 'peer-dead'), []);
});

test('RFC 3706 sequence numbers: a random start per ISAKMP SA, +1 per probe; the ACK carries the number received', () => {
  const starts: number[] = [];
  for (const seed of ['seq-1', 'seq-2']) {
    const pair = up(seed);
    const id = pair.a.isakmpSas()[0]!.id;
    const s1 = pair.a.dpd(pair.now, id);
    pair.run(100);
    const s2 = pair.a.dpd(pair.now, id);
    pair.run(100);
    assert.equal(s2, (s1 + 1) >>> 0);
    assert.ok(s1 < 0x80000000, 'the start leaves room before the number wraps');
    const acks = pair.ev('a', 'notify').filter((n) => n.notify === 36137).map((n) => new DataView(n.data.buffer, n.data.byteOffset, 4).getUint32(0));
    assert.deepEqual(acks, [s1, s2]);
    starts.push(s1);
  }
  assert.notEqual(starts[0], starts[1], 'each SA starts somewhere else');
});

test('NAT keepalives (RFC 3948 §2.3): every natKeepaliveSeconds from the side behind the NAT, to the peer\'s NAT-T port', () => {
  const pair = new Pair({ seed: 'keepalive', a: { natKeepaliveSeconds: 20 }, b: { natKeepaliveSeconds: 20 } });
  pair.nat = { address: '203.0.113.5', basePort: 40000 };
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { remote: { address: '%any', port: 500 }, remoteId: { type: 'ipv4', value: pair.addrA.address }, remoteTs: { family: 4, start: pair.addrA.address, end: pair.addrA.address, protocol: 0, port: 0 } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.a.isakmpSas()[0]!.nat?.local, true);
  pair.run(61_000);
  const kas = pair.wire.filter((w) => w.keepalive);
  assert.equal(kas.length, 3);
  for (const k of kas) {
    assert.equal(k.from, 'a', 'only the side with a NAT in front of it');
    assert.deepEqual([...k.data], [0xff]);
    assert.equal(k.remote!.port, 4500);
    assert.equal(k.local!.port, 4500);
  }
  assert.equal(kas[1]!.at - kas[0]!.at, 20_000);
  assert.equal(kas[2]!.at - kas[1]!.at, 20_000);
  // the SAs are untouched by them
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  // without the option: none
  const off = new Pair({ seed: 'keepalive-off' });
  off.nat = { address: '203.0.113.5', basePort: 40000 };
  off.a.setConnection(conn(off, 'a'));
  off.b.setConnection(conn(off, 'b', { remote: { address: '%any', port: 500 }, remoteId: { type: 'ipv4', value: off.addrA.address }, remoteTs: { family: 4, start: off.addrA.address, end: off.addrA.address, protocol: 0, port: 0 } }));
  off.a.initiate(off.now, 'c');
  off.run(62_000);
  assert.equal(off.wire.filter((w) => w.keepalive).length, 0);
});
