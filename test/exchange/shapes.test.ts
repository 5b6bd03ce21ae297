// The attack shapes of ../shared/vectors/SHAPES.md that reach the engine: each is dropped or
// answered with the right notify, leaves no state behind, and crashes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { decodeHeader, decodeMessage, encodeMessage, encodePayloads } from '../../src/codec/index.js';
import type { Payload, SaPayload } from '../../src/codec/index.js';
import { selectorToId, hostSelector } from '../../src/exchange/index.js';
import { buildIkeSa, buildIpsecSa } from '../../src/exchange/proposals.js';
import { inspect } from '../../src/exchange/inspect.js';
import { Pair, conn } from '../helpers/pair.js';
import { craftProtected, p1Keys } from '../helpers/craft.js';

const IKE = { encryption: 7, keyLength: 128, hash: 4, group: 14 };
const IC = Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);

function responder(seed: string, over = {}): Pair {
  const pair = new Pair({ seed });
  pair.b.setConnection(conn(pair, 'b', over));
  return pair;
}

function mm1(payloads: Payload[], opts: { exch?: number; rc?: Uint8Array; ic?: Uint8Array; next?: number } = {}): Uint8Array {
  const bytes = encodeMessage({
    header: { initiatorCookie: opts.ic ?? IC, responderCookie: opts.rc ?? new Uint8Array(8), nextPayload: 0, majorVersion: 1, minorVersion: 0, exchangeType: opts.exch ?? 2, flags: 0, messageId: 0 },
    payloads,
  });
  if (opts.next !== undefined) bytes[16] = opts.next;
  return bytes;
}

/** b's replies as decoded notifies (type, R-cookie zero?). */
function replies(pair: Pair) {
  return pair.sentBy('b').map((w) => {
    const m = decodeMessage(w.data);
    const n = m.payloads[0] as { notifyType?: number };
    return { exch: m.header.exchangeType, notify: n?.notifyType, rcZero: m.header.responderCookie.every((x) => x === 0), len: w.data.length };
  });
}

function noState(pair: Pair) {
  assert.equal(pair.b.isakmpSas().length, 0, 'no ISAKMP state');
  assert.equal(pair.b.ipsecSas().length, 0, 'no IPsec state');
  assert.equal(pair.b.stats().halfOpen, 0);
  assert.equal(pair.b.pollTimeout(), undefined, 'no timer armed');
}

test('#6a situation 0xffffffff: SITUATION_NOT_SUPPORTED (or drop), no state', () => {
  const pair = responder('sit');
  const sa = buildIkeSa([IKE], 1);
  pair.inject('b', mm1([{ ...sa, situation: 0xffffffff }]));
  const r = replies(pair);
  assert.ok(r.length <= 1);
  if (r.length) assert.deepEqual([r[0]!.notify, r[0]!.rcZero], [3, true]);
  assert.equal(pair.ev('b', 'dropped').length, 1);
  noState(pair);
});

test('#6b first payload type 15 (SAK) holding an SA: INVALID_PAYLOAD_TYPE or drop, no state', () => {
  const pair = responder('sak');
  pair.inject('b', mm1([buildIkeSa([IKE], 1)], { next: 15 }));
  const r = replies(pair);
  assert.ok(r.length <= 1);
  if (r.length) assert.equal(r[0]!.notify, 1);
  noState(pair);
});

test('#1/#23 private-group attribute classes 6–10 and unknown group numbers: NO_PROPOSAL_CHOSEN, reply built only from our values', () => {
  const pair = responder('privgroup');
  const base = buildIkeSa([IKE], 1);
  const t = base.proposals[0]!.transforms[0]!;
  const shapes: SaPayload[] = [];
  for (const cls of [6, 7, 8, 9, 10]) {
    for (const len of [0, 1, 96, 1024]) {
      shapes.push({ ...base, proposals: [{ ...base.proposals[0]!, transforms: [{ ...t, attributes: [...t.attributes, { format: 'TLV', type: cls, value: new Uint8Array(len).fill(0xa5) }] }] }] });
    }
  }
  for (const g of [0, 3, 4, 6, 7, 13, 1025, 32768, 65535]) {
    shapes.push({ ...base, proposals: [{ ...base.proposals[0]!, transforms: [{ ...t, attributes: t.attributes.map((a) => (a.type === 4 ? { format: 'TV' as const, type: 4, value: g } : a)) }] }] });
  }
  shapes.forEach((sa, i) => pair.inject('b', mm1([sa], { ic: Uint8Array.of(1, 1, 1, 1, 1, 1, 1, i + 1) })));
  const r = replies(pair);
  assert.equal(r.length, shapes.length);
  for (const x of r) {
    assert.equal(x.notify, 14);
    assert.equal(x.rcZero, true);
    assert.equal(x.len, 28 + 12, 'header + notify with no SPI and no data');
  }
  noState(pair);
});

test('#13 R-cookie reused after an error: AM1 with group 2 → NO_PROPOSAL_CHOSEN (R-cookie 0); AM1 again with a made-up R-cookie → dropped', () => {
  const pair = responder('amreuse', { exchange: 'aggressive', allowAggressivePsk: true });
  const sa = buildIkeSa([{ ...IKE, group: 2 }], 1);
  const am1 = (rc?: Uint8Array) => mm1([sa, { type: 'KE', data: new Uint8Array(128).fill(7) }, { type: 'NONCE', data: new Uint8Array(16).fill(1) }, { type: 'ID', idType: 1, protocol: 0, port: 0, data: Uint8Array.of(192, 0, 2, 1) }], { exch: 4, ...(rc ? { rc } : {}) });
  pair.inject('b', am1());
  let r = replies(pair);
  assert.equal(r.length, 1);
  assert.deepEqual([r[0]!.notify, r[0]!.rcZero], [14, true]);
  pair.inject('b', am1(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)));
  r = replies(pair);
  assert.equal(r.length, 1, 'no second reply');
  assert.equal(pair.ev('b', 'dropped')[1]!.notify, 4);
  noState(pair);
});

test('#36 Aggressive Mode PSK as responder is refused by default (nothing crackable emitted)', () => {
  const pair = responder('ampsk', { exchange: 'aggressive' });
  const sa = buildIkeSa([IKE], 1);
  pair.inject('b', mm1([sa, { type: 'KE', data: new Uint8Array(256).fill(7) }, { type: 'NONCE', data: new Uint8Array(16).fill(1) }, { type: 'ID', idType: 1, protocol: 0, port: 0, data: Uint8Array.of(192, 0, 2, 1) }], { exch: 4 }));
  const r = replies(pair);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.exch, 5);
  assert.equal(r[0]!.notify, 14);
  noState(pair);
  // the operator's choice is named (a failure line at the default level), with the key that changes it
  const d = pair.ev('b', 'dropped').at(-1)!;
  assert.equal(d.cause, 'POLICY_REFUSED');
  assert.match(d.reason, /^Aggressive Mode with a pre-shared key refused as responder for connection c: .*set allow_aggressive_psk_responder: true on the connection/);
});

test('#22 IKEv2 payload numbers (33–48, 53, 128–255) in MM1: INVALID_PAYLOAD_TYPE, no state', () => {
  const pair = responder('v2');
  const nums = [33, 40, 48, 53, 128, 200, 255];
  nums.forEach((n, i) => {
    pair.inject('b', mm1([buildIkeSa([IKE], 1), { type: 'UNKNOWN', payloadType: n, body: new Uint8Array(8) }], { ic: Uint8Array.of(2, 2, 2, 2, 2, 2, 2, i + 1) }));
  });
  const r = replies(pair);
  assert.equal(r.length, nums.length);
  assert.ok(r.every((x) => x.notify === 1 && x.rcZero));
  noState(pair);
});

test('#8 datagrams of 0–27 bytes, length mismatches, major versions 0/2/3/15: dropped without reply', () => {
  const pair = responder('short');
  for (let n = 0; n < 28; n++) pair.inject('b', new Uint8Array(n));
  const good = mm1([buildIkeSa([IKE], 1)]);
  for (const v of [0x00, 0x20, 0x30, 0xf0]) {
    const b = good.slice();
    b[17] = v;
    pair.inject('b', b);
  }
  const longer = new Uint8Array(good.length + 4);
  longer.set(good);
  pair.inject('b', longer);
  assert.equal(pair.sentBy('b').length, 0);
  assert.equal(pair.ev('b', 'dropped').length, 28 + 4 + 1);
  noState(pair);
});

function mm3Tap(pair: Pair, ke: Uint8Array | null): void {
  pair.tap = (from, data) => {
    const h = decodeHeader(data);
    if (from !== 'a' || h.exchangeType !== 2 || h.nextPayload !== 4) return data;
    const m = decodeMessage(data);
    const payloads = m.payloads.flatMap((p) => (p.type === 'KE' ? (ke ? [{ ...p, data: ke }] : []) : [p]));
    return encodeMessage({ header: m.header, payloads });
  };
}

for (const [name, ke] of [
  ['all-zero KE of the right length', new Uint8Array(256)],
  ['KE = 1', Uint8Array.from({ length: 256 }, (_, i) => (i === 255 ? 1 : 0))],
  ['empty KE', new Uint8Array(0)],
  ['short KE (128 bytes)', new Uint8Array(128).fill(3)],
  ['long KE (257 bytes)', new Uint8Array(257).fill(3)],
  ['KE = p (all 0xff)', new Uint8Array(256).fill(0xff)],
] as Array<[string, Uint8Array]>) {
  test(`#7/#24/#38 HDR, KE, Ni --> with ${name}: INVALID_KEY_INFORMATION, half-open state deleted`, () => {
    const pair = new Pair({ seed: `ke-${name}` });
    pair.a.setConnection(conn(pair, 'a'));
    pair.b.setConnection(conn(pair, 'b'));
    mm3Tap(pair, ke);
    pair.a.initiate(pair.now, 'c');
    pair.run(100);
    const last = decodeMessage(pair.sentBy('b').at(-1)!.data);
    assert.equal(last.header.exchangeType, 5);
    assert.equal((last.payloads[0] as { notifyType: number }).notifyType, 17);
    noState(pair);
    pair.run(600_000);
    assert.equal(pair.a.isakmpSas().length, 0);
    assert.equal(pair.ev('a', 'phase1-established').length, 0);
  });
}

test('#7 omitted KE in HDR, KE, Ni -->: dropped (PAYLOAD_MALFORMED); half-open state expires', () => {
  const pair = new Pair({ seed: 'ke-omitted' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  mm3Tap(pair, null);
  pair.a.initiate(pair.now, 'c');
  pair.run(100);
  assert.equal(pair.ev('b', 'dropped')[0]!.notify, 16);
  pair.run(120_000);
  noState(pair);
});

// ---- protected shapes under an established ISAKMP SA (Quick Mode)

function established(seed: string): { pair: Pair; saId: string } {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  for (const c of pair.b.ipsecSas()) pair.b.delete(pair.now, c.id);
  pair.run(100);
  assert.equal(pair.a.ipsecSas().length, 0);
  pair.clearEvents();
  pair.wire.length = 0;
  return { pair, saId: pair.a.isakmpSas()[0]!.id };
}

function qmState(pair: Pair): number {
  return inspect(pair.b).quickModesInProgress();
}

/** b's protected answer: the notify type inside, decrypted with b's keys. */
function protectedNotify(pair: Pair, saId: string): number | undefined {
  const w = pair.sentBy('b').at(-1);
  if (!w) return undefined;
  const h = decodeHeader(w.data);
  assert.equal(h.exchangeType, 5);
  const k = p1Keys(pair.b, saId);
  const { plaintext } = decryptFor(k, h.messageId, w.data);
  // HASH(1) first, then the N payload
  const hl = (plaintext[2]! << 8) | plaintext[3]!;
  return (plaintext[hl + 10]! << 8) | plaintext[hl + 11]!;
}

import { decryptMessage, phase2Iv } from '../../src/crypto/index.js';
function decryptFor(k: ReturnType<typeof p1Keys>, mid: number, data: Uint8Array) {
  return decryptMessage({ cipher: k.cipher, key: k.encKey, iv: phase2Iv(k.prf, k.iv, mid, k.cipher.blockSize), ciphertext: data.subarray(28) });
}

function qm1(ids: Payload[], sa?: SaPayload, extra: Payload[] = []): Payload[] {
  const offer = sa ?? buildIpsecSa([{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 }], [[Uint8Array.of(0, 0, 1, 1)]]);
  return [offer, { type: 'NONCE', data: new Uint8Array(32).fill(9) }, ...extra, ...ids];
}

const host = (a: string) => ({ type: 'ID' as const, ...selectorToId(hostSelector(a)) });

test('#14 Quick Mode with IDci/IDcr of every non-address type (FQDN, USER_FQDN, DN, KEY_ID, ...): INVALID_ID_INFORMATION, no SA', () => {
  const { pair, saId } = established('qm-fqdn');
  const bad: Payload[] = [
    { type: 'ID', idType: 2, protocol: 0, port: 0, data: new TextEncoder().encode('east.example') },
    { type: 'ID', idType: 3, protocol: 0, port: 0, data: new TextEncoder().encode('a@east.example') },
    { type: 'ID', idType: 9, protocol: 0, port: 0, data: Uint8Array.of(0x30, 0) },
    { type: 'ID', idType: 11, protocol: 0, port: 0, data: Uint8Array.of(1, 2, 3) },
    { type: 'ID', idType: 10, protocol: 0, port: 0, data: Uint8Array.of(0x30, 0) },
  ];
  let mid = 100;
  for (const b of bad) {
    for (const ids of [[b, host('192.0.2.2')], [host('192.0.2.1'), b]]) {
      pair.inject('b', craftProtected(pair.a, saId, 32, mid++, qm1(ids)));
      assert.equal(protectedNotify(pair, saId), 18);
    }
  }
  assert.equal(pair.b.ipsecSas().length, 0);
  assert.equal(qmState(pair), 0);
  // selectors outside the connection (another host) are refused the same way
  pair.inject('b', craftProtected(pair.a, saId, 32, mid++, qm1([host('198.51.100.7'), host('192.0.2.2')])));
  assert.equal(protectedNotify(pair, saId), 18);
  // control: the proper IDs work
  pair.inject('b', craftProtected(pair.a, saId, 32, mid++, qm1([host('192.0.2.1'), host('192.0.2.2')])));
  assert.equal(qmState(pair), 1, 'a valid QM1 creates Quick Mode state');
});

test('#16 Quick Mode with zero-length KEYMAT transforms: NO_PROPOSAL_CHOSEN, KEYMAT never derived', () => {
  const { pair, saId } = established('qm-zero');
  const zero = [
    { protocols: [{ protocol: 3, transformId: 23, keyLength: 128 }], mode: 1 },
    { protocols: [{ protocol: 3, transformId: 11 }], mode: 1 },
    { protocols: [{ protocol: 3, transformId: 12, keyLength: 0, authAlgorithm: 5 }], mode: 1 },
  ];
  let mid = 200;
  for (const z of zero) {
    pair.inject('b', craftProtected(pair.a, saId, 32, mid++, qm1([host('192.0.2.1'), host('192.0.2.2')], buildIpsecSa([z], [[Uint8Array.of(0, 0, 2, 2)]]))));
    assert.equal(protectedNotify(pair, saId), 14);
  }
  assert.equal(qmState(pair), 0);
  assert.equal(pair.b.ipsecSas().length, 0);
});

test('#7/#24 Quick Mode PFS with zero / short / long KE: INVALID_KEY_INFORMATION; IKEv2 payload types: INVALID_PAYLOAD_TYPE', () => {
  const { pair, saId } = established('qm-ke');
  pair.b.setConnection(conn(pair, 'b', { ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, group: 14 }] }));
  const pfs = buildIpsecSa([{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, group: 14 }], [[Uint8Array.of(0, 0, 3, 3)]]);
  let mid = 300;
  for (const ke of [new Uint8Array(256), new Uint8Array(0), new Uint8Array(100).fill(5), new Uint8Array(300).fill(5)]) {
    pair.inject('b', craftProtected(pair.a, saId, 32, mid++, qm1([host('192.0.2.1'), host('192.0.2.2')], pfs, [{ type: 'KE', data: ke }])));
    assert.equal(protectedNotify(pair, saId), 17);
  }
  for (const n of [33, 41, 48]) {
    pair.inject('b', craftProtected(pair.a, saId, 32, mid++, [...qm1([host('192.0.2.1'), host('192.0.2.2')]), { type: 'UNKNOWN', payloadType: n, body: new Uint8Array(4) }]));
    assert.equal(protectedNotify(pair, saId), 1);
  }
  assert.equal(qmState(pair), 0);
  assert.equal(pair.b.ipsecSas().length, 0);
});

test('Quick Mode with a bad HASH(1) is dropped silently (no notify, no state)', () => {
  const { pair, saId } = established('qm-hash');
  for (const mode of ['wrong', 'missing', 'truncated'] as const) {
    pair.inject('b', craftProtected(pair.a, saId, 32, 400, qm1([host('192.0.2.1'), host('192.0.2.2')]), mode));
  }
  assert.equal(pair.sentBy('b').length, 0);
  assert.equal(qmState(pair), 0);
  void encodePayloads;
});

// ---- the saved crash packets (GPL corpus in ../shared; only read when present)
const TSV = '../shared/vectors/libreswan/ikev1-crash-packets.tsv';
test('libreswan IKEv1 crash packets (CVE-2009-0790, -2015-3204, -2020-1763, -2022-23094): no crash, no state', (t) => {
  if (!existsSync(TSV)) {
    t.skip('../shared/vectors absent: skipping libreswan crash packets');
    return;
  }
  const pair = responder('tsv', { remote: { address: '%any', port: 500 } });
  const rows = readFileSync(TSV, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  assert.ok(rows.length >= 5);
  for (const row of rows) {
    const hexs = row.split('\t')[3]!;
    pair.inject('b', Uint8Array.from(Buffer.from(hexs, 'hex')));
  }
  assert.equal(pair.events.b.filter((e) => e.type === 'dropped').length, rows.length);
  for (const r of replies(pair)) assert.equal(r.rcZero, true);
  assert.ok(pair.sentBy('b').length <= rows.length);
  noState(pair);
});

test('#7 AM1 with an all-zero / short KE to an opted-in Aggressive Mode responder: INVALID_KEY_INFORMATION, R-cookie 0, no state', () => {
  const pair = responder('am-ke', { exchange: 'aggressive', allowAggressivePsk: true });
  const sa = buildIkeSa([IKE], 1);
  for (const [i, ke] of [new Uint8Array(256), new Uint8Array(8).fill(1)].entries()) {
    pair.inject('b', mm1([sa, { type: 'KE', data: ke }, { type: 'NONCE', data: new Uint8Array(16).fill(1) }, { type: 'ID', idType: 1, protocol: 0, port: 0, data: Uint8Array.of(192, 0, 2, 1) }], { exch: 4, ic: Uint8Array.of(3, 3, 3, 3, 3, 3, 3, i + 1) }));
  }
  const r = replies(pair);
  assert.equal(r.length, 2);
  assert.ok(r.every((x) => x.notify === 17 && x.rcZero));
  noState(pair);
});

test('#5 MM1 offering only GSS-API / XAUTH / hybrid auth methods: NO_PROPOSAL_CHOSEN, no state', () => {
  const pair = responder('gss');
  [65001, 65002, 65005, 64221, 2, 9].forEach((m, i) => pair.inject('b', mm1([buildIkeSa([IKE], m)], { ic: Uint8Array.of(4, 4, 4, 4, 4, 4, 4, i + 1) })));
  const r = replies(pair);
  assert.equal(r.length, 6);
  assert.ok(r.every((x) => x.notify === 14));
  noState(pair);
});
