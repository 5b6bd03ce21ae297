// IKE fragmentation (Cisco / strongSwan payload 132, FRAGMENTATION vendor ID): Main Mode 5/6 with an
// RSA certificate chain sent in fragments both ways and reassembled, loss and retransmission of all
// fragments together, the SHAPES.md rows on fragments (#2, #3, #4, #20) against the shared reassembly
// and the engine, and `isakmp decode`'s reassembly of an engine-made fragmented exchange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeHeader, decodeMessage, encodeMessage, type FragmentPayload, type Header } from '../../src/codec/index.js';
import { DecodeError } from '../../src/codec/index.js';
import { FragmentReassembly, fragmentMessage, DEFAULT_REASSEMBLY_LIMITS } from '../../src/codec/fragments.js';
import { Reassembler } from '../../src/cli/reassembly.js';
import { FRAGMENTATION_VID } from '../../src/exchange/extensions/fragmentation.js';
import type { Connection } from '../../src/exchange/index.js';
import { Pair, assertMirrored, conn, type Side } from '../helpers/pair.js';

const CERTS = 'test/vectors/crypto/certs';
const when = () => Date.parse('2027-06-01T00:00:00Z');
const der = (pem: string) => new Uint8Array(new X509Certificate(readFileSync(pem)).raw);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the FRAGMENTATION vendor ID is MD5("FRAGMENTATION") as Cisco and strongSwan send it', () => {
  assert.equal(hex(FRAGMENTATION_VID), '4048b7d56ebce88525e7de7f00d6c2d3');
});

/** A Main Mode RSA pair: a signs with leaf + intermediate (chain to ca.pem), b with the same leaf (trusting the CA). */
function rsaPair(seed: string, over: { a?: Partial<Connection>; b?: Partial<Connection> } = {}): Pair | undefined {
  if (!existsSync(join(CERTS, 'leaf.key'))) return undefined;
  const key = createPrivateKey(readFileSync(join(CERTS, 'leaf.key')));
  const cert = der(join(CERTS, 'leaf.pem'));
  const chain = [der(join(CERTS, 'int.pem'))];
  const ca = der(join(CERTS, 'ca.pem'));
  const pair = new Pair({ seed, a: { certificateTime: when }, b: { certificateTime: when } });
  const id = { type: 'fqdn', value: 'peer-a.peers.test' } as const;
  const rsa = { privateKey: key, certificate: cert, chain, trusted: [ca] };
  pair.a.setConnection(conn(pair, 'a', { exchange: 'main', auth: 'rsa-sig', rsa, localId: id, remoteId: id, ...over.a }));
  pair.b.setConnection(conn(pair, 'b', { exchange: 'main', auth: 'rsa-sig', rsa, localId: id, remoteId: id, ...over.b }));
  return pair;
}

const isFrag = (d: Uint8Array) => d[16] === 132;
const fragsOf = (pair: Pair, side: Side) => pair.sentBy(side).filter((w) => isFrag(w.data) && w.data[18] === 2).map((w) => decodeMessage(w.data));

for (const initiator of ['a', 'b'] as const) {
  test(`Main Mode RSA with a certificate chain: MM5 and MM6 travel in fragments both ways (${initiator} initiates), keys mirrored`, (t) => {
    const pair = rsaPair(`frag-mm-${initiator}`);
    if (!pair) return t.skip('test/vectors/crypto/certs absent');
    pair.ep(initiator).initiate(pair.now, 'c');
    pair.run(3000);
    assertMirrored(pair, assert);
    for (const side of ['a', 'b'] as const) {
      const frags = fragsOf(pair, side);
      assert.ok(frags.length >= 2, `${side} sent its authentication message in fragments`);
      for (const m of frags) {
        assert.equal(m.header.flags, 0, 'a fragment travels without flags');
        assert.ok(m.header.messageId === 0);
        const f = m.payloads[0] as FragmentPayload;
        assert.equal(m.payloads.length, 1);
        assert.ok(f.data.length <= 548 - 36);
      }
      const whole = new Reassembler();
      let done: Uint8Array | undefined;
      for (const m of frags) { const r = whole.add(m); if (r?.complete) done = r.data; }
      assert.ok(done, `${side}: isakmp decode reassembles the engine's fragments`);
      assert.equal(decodeHeader(done).flags & 1, 1, 'the reassembled message is the encrypted MM5/MM6');
      assert.equal(decodeHeader(done).exchangeType, 2);
    }
    // the first messages announce the vendor ID
    const mm1 = decodeMessage(pair.sentBy(initiator)[0]!.data);
    assert.ok(mm1.payloads.some((p) => p.type === 'VID' && hex(p.data) === hex(FRAGMENTATION_VID)));
  });
}

test('fragmentation: no on the responder: no vendor ID in MM2, the initiator sends MM5 whole; force sends fragments anyway', (t) => {
  const pair = rsaPair('frag-no', { b: { fragmentation: 'no' } });
  if (!pair) return t.skip('certs absent');
  pair.a.initiate(pair.now, 'c');
  pair.run(3000);
  assertMirrored(pair, assert);
  const mm2 = decodeMessage(pair.sentBy('b')[0]!.data);
  assert.ok(!mm2.payloads.some((p) => p.type === 'VID' && hex(p.data) === hex(FRAGMENTATION_VID)));
  assert.equal(fragsOf(pair, 'a').length, 0);
  assert.equal(fragsOf(pair, 'b').length, 0);
  assert.ok(pair.sentBy('a').some((w) => w.data.length > 548), 'MM5 went whole');

  const forced = rsaPair('frag-force', { a: { fragmentation: 'force', fragmentSize: 300 }, b: { fragmentation: 'no' } });
  forced!.a.initiate(forced!.now, 'c');
  forced!.run(3000);
  assert.ok(fragsOf(forced!, 'a').length >= 4, 'force: fragments without the peer\'s vendor ID');
  assert.ok(fragsOf(forced!, 'a').every((m) => encodeMessage(m).length <= 300));
  assert.equal(forced!.ev('a', 'phase1-established').length, 0, 'a peer saying no refuses the fragments');
  assert.ok(forced!.ev('b', 'dropped').some((e) => /fragmentation: no/.test(e.reason)));
});

test('a lost fragment: the retransmission resends all fragments of the message together, with the same Fragment ID', (t) => {
  const pair = rsaPair('frag-loss');
  if (!pair) return t.skip('certs absent');
  let dropped = false;
  pair.tap = (from, data) => {
    if (!dropped && from === 'a' && isFrag(data) && (decodeMessage(data).payloads[0] as FragmentPayload).fragmentNumber === 2) { dropped = true; return null; }
    return data;
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(10_000);
  assert.ok(dropped);
  assertMirrored(pair, assert);
  const frags = fragsOf(pair, 'a');
  const n = Math.max(...frags.map((m) => (m.payloads[0] as FragmentPayload).fragmentNumber));
  assert.equal(frags.length, 2 * n, 'all fragments were sent twice');
  assert.deepEqual(frags.slice(0, n).map((m) => hex(encodeMessage(m))), frags.slice(n).map((m) => hex(encodeMessage(m))));
});

// ---- SHAPES.md rows on fragments, against the shared reassembly (codec/fragments.ts)

const ic = new Uint8Array(8).fill(7);
const F = (id: number, n: number, last: boolean, len = 4): FragmentPayload => ({ type: 'FRAG', fragmentId: id, fragmentNumber: n, flags: last ? 1 : 0, data: new Uint8Array(len).fill(n) });

test('SHAPES #2: duplicates ignored; a second LAST, fragments beyond LAST, totals above the cap drop the message', () => {
  const r = new FragmentReassembly();
  assert.equal(r.add(0, 'p', ic, F(1, 2, true)).kind, 'pending');
  assert.deepEqual(r.add(0, 'p', ic, F(1, 2, true)), { kind: 'pending', duplicate: true });
  const done = r.add(0, 'p', ic, F(1, 1, false));
  assert.equal(done.kind, 'complete');
  assert.deepEqual(done.kind === 'complete' && [...done.data], [1, 1, 1, 1, 2, 2, 2, 2]);
  assert.equal(r.size, 0);
  // two LAST flags
  r.add(0, 'p', ic, F(2, 3, true));
  assert.match((r.add(0, 'p', ic, F(2, 4, true)) as { reason: string }).reason, /second LAST/);
  assert.equal(r.size, 0);
  // LAST on #1 with #3 present
  r.add(0, 'p', ic, F(3, 3, false));
  assert.match((r.add(0, 'p', ic, F(3, 1, true)) as { reason: string }).reason, /beyond LAST/);
  r.add(0, 'p', ic, F(4, 1, true));
  assert.equal(r.add(0, 'p', ic, F(5, 3, false)).kind, 'pending', 'a new fragment ID replaces the queue');
  assert.match((r.add(0, 'p', ic, F(5, 1, true)) as { reason: string }).reason, /beyond LAST/);
  // total size above the cap (10000 bytes), built only from bytes received
  r.add(0, 'p', ic, F(6, 1, false, 6000));
  const over = r.add(0, 'p', ic, F(6, 2, true, 4001));
  assert.equal(over.kind, 'refused');
  assert.match((over as { reason: string }).reason, /exceed 10000 bytes/);
  assert.equal(r.size, 0);
  // numbers above 16 per message, and 0
  assert.equal(r.add(0, 'p', ic, F(7, 17, false)).kind, 'refused');
  assert.equal(r.add(0, 'p', ic, F(7, 255, true)).kind, 'refused');
  assert.equal(r.add(0, 'p', ic, F(7, 0, true)).kind, 'refused');
});

test('SHAPES #2: payload 132 with length 0, 4, 7 and fragment number 0 are refused by the decoder', () => {
  const h: Header = { initiatorCookie: ic, responderCookie: new Uint8Array(8), nextPayload: 132, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 };
  const good = encodeMessage({ header: h, payloads: [F(1, 1, true)] });
  for (const len of [0, 4, 7]) {
    const bad = Uint8Array.from(good);
    bad[30] = len >> 8; bad[31] = len & 0xff;
    assert.throws(() => decodeMessage(bad), DecodeError, `payload length ${len}`);
  }
  const zero = Uint8Array.from(good);
  zero[34] = 0;
  assert.throws(() => decodeMessage(zero), DecodeError);
});

test('SHAPES #3: an inner header claiming 0x80000000 or 0xFFFFFFFF bytes allocates nothing from it; the whole is judged when complete', () => {
  const r = new FragmentReassembly();
  const inner = new Uint8Array(40);
  new DataView(inner.buffer).setUint32(24, 0x80000000);
  const out = r.add(0, 'p', ic, { type: 'FRAG', fragmentId: 1, fragmentNumber: 1, flags: 1, data: inner });
  assert.equal(out.kind, 'complete');
  assert.equal(out.kind === 'complete' && out.data.length, 40, 'sized from bytes received');
  assert.throws(() => decodeMessage(out.kind === 'complete' ? out.data : new Uint8Array()), DecodeError);
});

test('SHAPES #4: 255 fragments in descending order, many IDs per peer, never a LAST: bounded queues, O(1) work, a timeout', () => {
  const r = new FragmentReassembly();
  let refused = 0;
  for (let n = 255; n >= 1; n--) if (r.add(0, 'p', ic, F(1, n, n === 255)).kind === 'refused') refused++;
  assert.equal(refused, 255 - DEFAULT_REASSEMBLY_LIMITS.maxFragments);
  // many SAs from one peer: at most perPeer queues
  const cookies = Array.from({ length: 10 }, (_, i) => new Uint8Array(8).fill(i + 20));
  const out = cookies.map((c) => r.add(0, 'q', c, F(1, 1, false)).kind);
  assert.deepEqual(out.filter((k) => k === 'pending').length, DEFAULT_REASSEMBLY_LIMITS.perPeer);
  // many peers: at most `total`
  const t = new FragmentReassembly({ ...DEFAULT_REASSEMBLY_LIMITS, total: 5 });
  const kinds = Array.from({ length: 9 }, (_, i) => t.add(0, `peer${i}`, ic, F(1, 1, false)).kind);
  assert.deepEqual(kinds, ['pending', 'pending', 'pending', 'pending', 'pending', 'refused', 'refused', 'refused', 'refused']);
  // never-completing queues expire after the timeout, and room comes back
  assert.equal(t.nextExpiry(), 30_000);
  assert.equal(t.expire(29_999), 0);
  assert.equal(t.expire(30_000), 5);
  assert.equal(t.size, 0);
  assert.equal(t.add(30_000, 'peer8', ic, F(1, 1, false)).kind, 'pending');
});

test('fragmentMessage cuts at the size asked, numbers from 1, LAST on the final piece, and reassembles to the same bytes', () => {
  const h: Header = { initiatorCookie: ic, responderCookie: new Uint8Array(8).fill(9), nextPayload: 5, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 1, messageId: 0 };
  const msg = new Uint8Array(1000).map((_, i) => i & 0xff);
  const pieces = fragmentMessage(h, msg, 0x1234, 300);
  assert.equal(pieces.length, 4);
  const r = new FragmentReassembly();
  let last;
  for (const p of pieces) {
    const m = decodeMessage(p);
    assert.equal(m.header.flags, 0);
    assert.equal(p.length, 28 + 8 + (m.payloads[0] as FragmentPayload).data.length);
    last = r.add(0, 'p', m.header.initiatorCookie, m.payloads[0] as FragmentPayload);
  }
  assert.equal(last!.kind, 'complete');
  assert.deepEqual(last!.kind === 'complete' && last!.data, msg);
});

test('SHAPES #20: the engine drops payload 132 with no prior state, and a fragment carrying header flags', () => {
  const pair = new Pair({ seed: 'frag-nostate' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  const h: Header = { initiatorCookie: ic, responderCookie: new Uint8Array(8), nextPayload: 132, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 };
  pair.inject('b', encodeMessage({ header: h, payloads: [F(1, 1, true)] }));
  pair.run(10);
  assert.match(pair.ev('b', 'dropped')[0]!.reason, /no known phase 1/);
  assert.equal(pair.sentBy('b').length, 0, 'no answer');
  assert.equal(pair.b.isakmpSas().length, 0);
  // under a phase 1 being negotiated: flags on a fragment are refused
  pair.clearEvents();
  pair.tap = (from, d) => (from === 'a' ? d : null); // MM1 reaches b; b's answers are lost
  pair.a.initiate(pair.now, 'c');
  pair.run(50);
  const cookie = pair.wire[0]!.data.subarray(0, 8);
  pair.inject('b', encodeMessage({ header: { ...h, initiatorCookie: cookie, flags: 1 }, payloads: [F(1, 1, true)] }));
  pair.run(1);
  assert.ok(pair.ev('b', 'dropped').some((e) => /header flags/.test(e.reason)));
});

test('SHAPES #20: payload 132 as the sole payload under an established ISAKMP SA is dropped, the SA is untouched', () => {
  const pair = new Pair({ seed: 'frag-established' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  const mm1 = pair.wire[0]!.data;
  const h: Header = { initiatorCookie: mm1.subarray(0, 8), responderCookie: pair.wire[1]!.data.subarray(8, 16), nextPayload: 132, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 };
  pair.clearEvents();
  const sent = pair.sentBy('b').length;
  pair.inject('b', encodeMessage({ header: h, payloads: [F(1, 1, true)] }));
  assert.match(pair.ev('b', 'dropped')[0]!.reason, /outside a Main or Aggressive Mode being negotiated/);
  assert.equal(pair.sentBy('b').length, sent, 'no answer');
  assert.equal(pair.b.isakmpSas().length, 1);
});

test('force with a fragment size below the first message: MM1 and AM1 go whole (a responder has no state for their fragments), every later phase-1 message in fragments, and both ends come up', () => {
  for (const exchange of ['main', 'aggressive'] as const) {
    const ids = (me: string, them: string) => (exchange === 'aggressive' ? { localId: { type: 'fqdn' as const, value: me }, remoteId: { type: 'fqdn' as const, value: them }, allowAggressivePsk: true } : {});
    const over = { exchange, ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], fragmentation: 'force' as const, fragmentSize: 100 };
    const pair = new Pair({ seed: `frag-first-${exchange}` });
    pair.a.setConnection(conn(pair, 'a', { ...over, ...ids('a.test', 'b.test') }));
    pair.b.setConnection(conn(pair, 'b', { ...over, ...ids('b.test', 'a.test') }));
    pair.a.initiate(pair.now, 'c');
    pair.run(5000);
    const first = pair.sentBy('a')[0]!;
    assert.ok(first.data.length > 100, `${exchange}: the first message is longer than the fragment size`);
    assert.notEqual(decodeHeader(first.data).nextPayload, 132, `${exchange}: and goes whole`);
    assert.ok(pair.sentBy('b').some((w) => decodeHeader(w.data).nextPayload === 132), `${exchange}: the responder's answer in fragments`);
    assert.equal(pair.a.ipsecSas().length, 1, `${exchange}: up`);
    assert.equal(pair.b.ipsecSas().length, 1);
  }
});
