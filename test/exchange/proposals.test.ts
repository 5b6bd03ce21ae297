// Proposal selection (RFC 2408 §4.2; RFC 2409 App. A; RFC 2407 §4.5) and the safe defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodeMessage, encodeMessage } from '../../src/codec/index.js';
import type { Payload, SaPayload, Transform } from '../../src/codec/index.js';
import { LocalProtocolError, RemoteProtocolError } from '../../src/errors.js';
import { parseIkeProposal, parseIpsecProposal } from '../../src/exchange/index.js';
import {
  buildIkeSa,
  buildIpsecSa,
  checkIkeAnswer,
  checkIpsecAnswer,
  selectIke,
  selectIpsec,
} from '../../src/exchange/proposals.js';
import type { IkeProposal, IpsecProposal } from '../../src/exchange/index.js';
import { Pair, conn } from '../helpers/pair.js';

const AES128_SHA256_14: IkeProposal = { encryption: 7, keyLength: 128, hash: 4, group: 14 };
const AES256_SHA1_19: IkeProposal = { encryption: 7, keyLength: 256, hash: 2, group: 19 };
const DES3_SHA1_14: IkeProposal = { encryption: 5, hash: 2, group: 14 };

function notifyOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof RemoteProtocolError, String(e));
    return e.notify;
  }
  assert.fail('expected a RemoteProtocolError');
}

test('phase 1: the responder picks the first offered transform it accepts and echoes it unchanged', () => {
  const offer = buildIkeSa([DES3_SHA1_14, AES256_SHA1_19, AES128_SHA256_14], 1);
  const sel = selectIke(offer, [AES128_SHA256_14, AES256_SHA1_19], 1, false);
  assert.equal(sel.reply.proposals.length, 1);
  assert.equal(sel.reply.proposals[0]!.transforms.length, 1);
  assert.deepEqual(sel.reply.proposals[0]!.transforms[0], offer.proposals[0]!.transforms[1]);
  assert.equal(sel.chosen.keyLength, 256);
  // preferOwnOrder: our first choice wins
  const own = selectIke(offer, [AES128_SHA256_14, AES256_SHA1_19], 1, false, true);
  assert.deepEqual(own.reply.proposals[0]!.transforms[0], offer.proposals[0]!.transforms[2]);
  // the initiator accepts exactly that answer
  assert.equal(checkIkeAnswer(sel.reply, [DES3_SHA1_14, AES256_SHA1_19, AES128_SHA256_14], 1, false).encryption, 7);
});

test('phase 1: key length must match (AES-256 offered, AES-128 configured → NO_PROPOSAL_CHOSEN)', () => {
  const offer = buildIkeSa([{ ...AES128_SHA256_14, keyLength: 256 }], 1);
  assert.equal(notifyOf(() => selectIke(offer, [AES128_SHA256_14], 1, false)), 14);
});

test('phase 1: weak and RFC 5114 groups refused unless opted in; private groups (classes 6–10) never', () => {
  for (const g of [1, 2, 5, 22, 23, 24]) {
    const offer = buildIkeSa([{ ...AES128_SHA256_14, group: g }], 1);
    assert.equal(notifyOf(() => selectIke(offer, [{ ...AES128_SHA256_14, group: g }], 1, false)), 14, `group ${g}`);
    if (g !== 1) assert.equal(selectIke(offer, [{ ...AES128_SHA256_14, group: g }], 1, true).chosen.group, g);
  }
  for (const g of [0, 3, 4, 6, 13, 1025, 32768, 65535]) {
    const offer = buildIkeSa([{ ...AES128_SHA256_14, group: g }], 1);
    assert.equal(notifyOf(() => selectIke(offer, [AES128_SHA256_14], 1, true)), 14, `group ${g}`);
  }
  for (const cls of [6, 7, 8, 9, 10]) {
    for (const len of [0, 1, 96, 1024]) {
      const base = buildIkeSa([AES128_SHA256_14], 1);
      const t = base.proposals[0]!.transforms[0]!;
      const bad: Transform = { ...t, attributes: [...t.attributes, { format: 'TLV', type: cls, value: new Uint8Array(len) }] };
      const offer: SaPayload = { ...base, proposals: [{ ...base.proposals[0]!, transforms: [bad] }] };
      assert.equal(notifyOf(() => selectIke(offer, [AES128_SHA256_14], 1, true)), 14, `class ${cls} len ${len}`);
    }
  }
});

test('phase 1: RSA-encryption auth methods 4 and 5 are never accepted', () => {
  for (const m of [4, 5]) {
    const offer = buildIkeSa([AES128_SHA256_14], m);
    assert.equal(notifyOf(() => selectIke(offer, [AES128_SHA256_14], 1, true)), 14);
    assert.equal(notifyOf(() => selectIke(offer, [AES128_SHA256_14], 3, true)), 14);
  }
});

test('phase 1: situation other than SIT_IDENTITY_ONLY → SITUATION_NOT_SUPPORTED; DOI ≠ 1 → DOI_NOT_SUPPORTED', () => {
  const offer = buildIkeSa([AES128_SHA256_14], 1);
  assert.equal(notifyOf(() => selectIke({ ...offer, situation: 0xffffffff }, [AES128_SHA256_14], 1, false)), 3);
  assert.equal(notifyOf(() => selectIke({ ...offer, doi: 2 }, [AES128_SHA256_14], 1, false)), 2);
});

test('phase 1: the initiator refuses an answer it did not offer or with several transforms', () => {
  const offer = buildIkeSa([AES128_SHA256_14, DES3_SHA1_14], 1);
  assert.equal(notifyOf(() => checkIkeAnswer(offer, [AES128_SHA256_14, DES3_SHA1_14], 1, false)), 15);
  const other = buildIkeSa([AES256_SHA1_19], 1);
  assert.equal(notifyOf(() => checkIkeAnswer(other, [AES128_SHA256_14], 1, false)), 14);
});

const ESP_AES128_SHA256: IpsecProposal = { protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 };
const ESP_3DES_SHA1: IpsecProposal = { protocols: [{ protocol: 3, transformId: 3, authAlgorithm: 2 }], mode: 1 };
const AH_ESP: IpsecProposal = { protocols: [{ protocol: 2, transformId: 5, authAlgorithm: 5 }, { protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 };
const spis = (props: IpsecProposal[]) => props.map((p, i) => p.protocols.map((_, j) => Uint8Array.of(0, 0, i + 1, j + 16)));

test('phase 2: several proposals; AND-ed AH+ESP proposals (same number) chosen together', () => {
  const offer = buildIpsecSa([AH_ESP, ESP_3DES_SHA1], spis([AH_ESP, ESP_3DES_SHA1]));
  assert.deepEqual(offer.proposals.map((p) => p.number), [1, 1, 2]);
  const sel = selectIpsec(offer, [ESP_3DES_SHA1, AH_ESP], false);
  assert.equal(sel.proposalNumber, 1);
  assert.deepEqual(sel.entries.map((e) => e.protocol), [2, 3]);
  // only ESP configured: the AND-ed pair does not fit, proposal 2 does
  const sel2 = selectIpsec(offer, [ESP_3DES_SHA1], false);
  assert.equal(sel2.proposalNumber, 2);
  // AH alone does not satisfy an AH+ESP policy
  const ahOnly: IpsecProposal = { protocols: [AH_ESP.protocols[0]!], mode: 1 };
  assert.equal(notifyOf(() => selectIpsec(buildIpsecSa([ahOnly], spis([ahOnly])), [AH_ESP], false)), 14);
});

test('phase 2: key length, mode and PFS group must match; lifetimes shortened and flagged', () => {
  const offer = buildIpsecSa([{ ...ESP_AES128_SHA256, protocols: [{ ...ESP_AES128_SHA256.protocols[0]!, keyLength: 256 }] }], spis([ESP_AES128_SHA256]));
  assert.equal(notifyOf(() => selectIpsec(offer, [ESP_AES128_SHA256], false)), 14);
  const transport = buildIpsecSa([{ ...ESP_AES128_SHA256, mode: 2 }], spis([ESP_AES128_SHA256]));
  assert.equal(notifyOf(() => selectIpsec(transport, [ESP_AES128_SHA256], false)), 14);
  const pfs = buildIpsecSa([{ ...ESP_AES128_SHA256, group: 14 }], spis([ESP_AES128_SHA256]));
  assert.equal(notifyOf(() => selectIpsec(pfs, [ESP_AES128_SHA256], false)), 14);
  const long = buildIpsecSa([{ ...ESP_AES128_SHA256, lifetimeSeconds: 86400, lifetimeKilobytes: 100000 }], spis([ESP_AES128_SHA256]));
  const sel = selectIpsec(long, [{ ...ESP_AES128_SHA256, lifetimeSeconds: 1200 }], false);
  assert.equal(sel.lifetimeSeconds, 1200);
  assert.equal(sel.lifetimeKilobytes, 100000);
  assert.equal(sel.shortened, true);
  const ok = selectIpsec(buildIpsecSa([ESP_AES128_SHA256], spis([ESP_AES128_SHA256])), [ESP_AES128_SHA256], false);
  assert.equal(ok.shortened, false);
  assert.equal(ok.lifetimeSeconds, 3600);
});

test('phase 2: zero-length KEYMAT transforms (NULL without auth, AES-GMAC, key length 0, AES-GCM with key length 0) → NO_PROPOSAL_CHOSEN', () => {
  const cases: IpsecProposal[] = [
    { protocols: [{ protocol: 3, transformId: 11 }], mode: 1 },
    { protocols: [{ protocol: 3, transformId: 23, keyLength: 128 }], mode: 1 },
    { protocols: [{ protocol: 3, transformId: 12, keyLength: 0, authAlgorithm: 5 }], mode: 1 },
    { protocols: [{ protocol: 3, transformId: 20, keyLength: 0 }], mode: 1 },
  ];
  for (const c of cases) {
    const offer = buildIpsecSa([c], spis([c]));
    assert.equal(notifyOf(() => selectIpsec(offer, [ESP_AES128_SHA256, c], false)), 14, JSON.stringify(c));
  }
});

test('phase 2: the initiator accepts only an answer that is one of its proposals', () => {
  const offer = buildIpsecSa([ESP_AES128_SHA256, ESP_3DES_SHA1], spis([ESP_AES128_SHA256, ESP_3DES_SHA1]));
  const sel = selectIpsec(offer, [ESP_3DES_SHA1], false);
  const answer: SaPayload = { ...offer, proposals: [{ ...offer.proposals[1]!, spi: Uint8Array.of(9, 9, 9, 9) }] };
  const got = checkIpsecAnswer(answer, offer, [ESP_AES128_SHA256, ESP_3DES_SHA1], false);
  assert.equal(got.proposalNumber, sel.proposalNumber);
  assert.deepEqual(got.entries[0]!.peerSpi, Uint8Array.of(9, 9, 9, 9));
  assert.equal(notifyOf(() => checkIpsecAnswer(offer, offer, [ESP_AES128_SHA256, ESP_3DES_SHA1], false)), 15);
});

// ------------------------------------------------------------------------------------------
// through the endpoints

function responderState(pair: Pair, side: 'a' | 'b') {
  return { isakmp: pair.ep(side).isakmpSas().length, ipsec: pair.ep(side).ipsecSas().length };
}

test('no common proposal: HDR, SA --> ; <-- HDR, N(NO_PROPOSAL_CHOSEN) with zero R-cookie; no state; initiator gives up', () => {
  const pair = new Pair({ seed: 'nocommon' });
  pair.a.setConnection(conn(pair, 'a', { ike: [{ ...AES128_SHA256_14, keyLength: 256 }], keyingTries: 1 }));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(200);
  const replies = pair.sentBy('b');
  assert.equal(replies.length, 1);
  const m = decodeMessage(replies[0]!.data);
  assert.equal(m.header.exchangeType, 5);
  assert.deepEqual(m.header.responderCookie, new Uint8Array(8));
  assert.equal((m.payloads[0] as { notifyType: number }).notifyType, 14);
  assert.deepEqual(responderState(pair, 'b'), { isakmp: 0, ipsec: 0 });
  // the unauthenticated notify is not acted upon: a keeps retransmitting, then gives up
  pair.run(120_000);
  const failed = pair.ev('a', 'failed');
  assert.ok(failed.some((f) => f.kind === 'isakmp'));
  assert.ok(failed.some((f) => f.kind === 'ipsec'));
  assert.equal(pair.sentBy('a').length, 6, 'MM1 + 5 retransmissions');
  assert.deepEqual(responderState(pair, 'a'), { isakmp: 0, ipsec: 0 });
  assert.deepEqual(responderState(pair, 'b'), { isakmp: 0, ipsec: 0 });
  assert.equal(pair.a.pollTimeout(), undefined);
  assert.equal(pair.b.pollTimeout(), undefined);
});

test('wrong PSK: HDR*, IDii, HASH_I --> does not decrypt/verify; both sides fail cleanly, nothing established', () => {
  const pair = new Pair({ seed: 'wrongpsk' });
  pair.a.setConnection(conn(pair, 'a', { psk: new TextEncoder().encode('wrong') }));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(600_000);
  assert.equal(pair.ev('a', 'phase1-established').length, 0);
  assert.equal(pair.ev('b', 'phase1-established').length, 0);
  assert.ok(pair.ev('b', 'dropped').length >= 1);
  assert.ok(pair.ev('a', 'failed').some((f) => f.kind === 'isakmp'));
  assert.ok(pair.ev('b', 'failed').some((f) => f.kind === 'isakmp'));
  assert.deepEqual(responderState(pair, 'a'), { isakmp: 0, ipsec: 0 });
  assert.deepEqual(responderState(pair, 'b'), { isakmp: 0, ipsec: 0 });
  assert.equal(pair.a.pollTimeout(), undefined);
  assert.equal(pair.b.pollTimeout(), undefined);
});

test('weak group offered to a default responder: NO_PROPOSAL_CHOSEN (and the opt-in works)', () => {
  const weak = { ike: [{ ...AES128_SHA256_14, group: 2 }], allowWeakGroups: true };
  const pair = new Pair({ seed: 'weak' });
  pair.a.setConnection(conn(pair, 'a', weak));
  pair.b.setConnection(conn(pair, 'b', { ike: [AES128_SHA256_14, { ...AES128_SHA256_14, group: 19 }] }));
  pair.a.initiate(pair.now, 'c');
  pair.run(100);
  const n = decodeMessage(pair.sentBy('b')[0]!.data);
  assert.equal((n.payloads[0] as { notifyType: number }).notifyType, 14);
  assert.equal(pair.b.isakmpSas().length, 0);
  // a connection refuses weak groups in its own configuration unless it opts in
  assert.throws(() => pair.b.setConnection(conn(pair, 'b', { ike: [{ ...AES128_SHA256_14, group: 5 }] })));
});

test('Main Mode initiator offering only RSA-encryption (auth 4/5): NO_PROPOSAL_CHOSEN', () => {
  const pair = new Pair({ seed: 'rsaenc' });
  pair.b.setConnection(conn(pair, 'b'));
  for (const method of [4, 5]) {
    const sa = buildIkeSa([AES128_SHA256_14], method);
    const bytes = encodeMessage({
      header: { initiatorCookie: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, method), responderCookie: new Uint8Array(8), nextPayload: 1, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 },
      payloads: [sa] as Payload[],
    });
    pair.inject('b', bytes);
  }
  const replies = pair.sentBy('b').map((w) => decodeMessage(w.data));
  assert.equal(replies.length, 2);
  for (const r of replies) {
    assert.deepEqual(r.header.responderCookie, new Uint8Array(8));
    assert.equal((r.payloads[0] as { notifyType: number }).notifyType, 14);
  }
  assert.equal(pair.b.isakmpSas().length, 0);
  const drops = pair.ev('b', 'dropped');
  assert.equal(drops.length, 2);
  assert.ok(drops.every((d) => d.notify === 14));
  void decodeHeader;
});

test('strongSwan-style proposal strings', async () => {
  const { parseIkeProposal, parseIpsecProposal } = await import('../../src/exchange/index.js');
  assert.deepEqual(parseIkeProposal('aes128-sha256-modp2048'), { encryption: 7, keyLength: 128, hash: 4, group: 14 });
  assert.deepEqual(parseIkeProposal('3des-sha1-ecp256', 3600), { encryption: 5, hash: 2, group: 19, lifetimeSeconds: 3600 });
  assert.deepEqual(parseIpsecProposal('esp', 'aes256-sha1-modp3072'), { protocols: [{ protocol: 3, transformId: 12, keyLength: 256, authAlgorithm: 2 }], mode: 1, group: 15 });
  assert.deepEqual(parseIpsecProposal('ah', 'sha256', { mode: 2 }), { protocols: [{ protocol: 2, transformId: 5, authAlgorithm: 5 }], mode: 2 });
  assert.throws(() => parseIkeProposal('aes128-sha256'));
  assert.throws(() => parseIpsecProposal('esp', 'blowfish-sha1'));
});

test('compact proposal strings → the engine\'s records (the parser the config file uses)', () => {
  assert.deepEqual(parseIkeProposal('aes128-sha256-modp2048'), { encryption: 7, hash: 4, group: 14, keyLength: 128 });
  assert.deepEqual(parseIkeProposal('3DES-SHA1-ECP256', 28800), { encryption: 5, hash: 2, group: 19, lifetimeSeconds: 28800 });
  // weak groups parse; the engine refuses them at setConnection unless the connection opts in
  assert.equal(parseIkeProposal('aes128-sha1-modp1024').group, 2);
  assert.deepEqual(parseIpsecProposal('esp', 'aes256-sha1-ecp256'), {
    protocols: [{ protocol: 3, transformId: 12, keyLength: 256, authAlgorithm: 2 }], mode: 1, group: 19,
  });
  assert.deepEqual(parseIpsecProposal('esp', 'aes128gcm16', { mode: 2, lifetimeSeconds: 600, lifetimeKilobytes: 1000 }), {
    protocols: [{ protocol: 3, transformId: 20, keyLength: 128 }], mode: 2, lifetimeSeconds: 600, lifetimeKilobytes: 1000,
  });
  assert.deepEqual(parseIpsecProposal('ah', 'sha256-modp3072'), { protocols: [{ protocol: 2, transformId: 5, authAlgorithm: 5 }], mode: 1, group: 15 });
  assert.deepEqual(parseIpsecProposal('ah', 'sha1').protocols, [{ protocol: 2, transformId: 3, authAlgorithm: 2 }]);
  for (const [proto, text, why] of [['ike', 'aes128-sha256', /ENC-HASH-GROUP/], ['ike', 'aes128gcm16-sha256-modp2048', /phase-1 encryption/], ['esp', 'aes128', /integrity/], ['esp', 'aes128-sha256-modp2048-x', /too many parts/], ['ah', 'sha3', /AH integrity/], ['ah', 'sha256-ecp999', /PFS group/]] as const) {
    assert.throws(() => (proto === 'ike' ? parseIkeProposal(text) : parseIpsecProposal(proto, text)), (e: unknown) => e instanceof LocalProtocolError && why.test(e.message), text);
  }
});

test('transform attributes: each class once, lifetime pairs in order (type then duration), unknown classes refused', async () => {
  const { parseIkeTransform, parseIpsecTransform } = await import('../../src/exchange/proposals.js');
  const tv = (type: number, value: number) => ({ format: 'TV' as const, type, value });
  const tlv = (type: number, ...bytes: number[]) => ({ format: 'TLV' as const, type, value: Uint8Array.from(bytes) });
  const ike = (...attributes: ReturnType<typeof tv | typeof tlv>[]) => parseIkeTransform({ number: 1, id: 1, attributes });
  const base = [tv(1, 7), tv(14, 128), tv(2, 4), tv(3, 1), tv(4, 14)];
  assert.deepEqual(ike(...base, tv(11, 1), tlv(12, 0, 1, 0x51, 0x80), tv(11, 2), tv(12, 1000)), {
    encryption: 7, keyLength: 128, hash: 4, prf: 4, auth: 1, group: 14, lifetimeSeconds: 86400, lifetimeKilobytes: 1000,
  });
  assert.equal(ike(...base)?.lifetimeSeconds, 28800, 'RFC 2407 default lifetime when none is given');
  assert.equal(ike(...base, tv(2, 2)), undefined, 'a class twice');
  assert.equal(ike(...base, tv(12, 60)), undefined, 'a duration without its type');
  assert.equal(ike(...base, tv(11, 1), tv(11, 1), tv(12, 60)), undefined, 'two types in a row');
  assert.equal(ike(...base, tv(11, 1)), undefined, 'a type without its duration');
  assert.equal(ike(...base, tv(11, 3), tv(12, 60)), undefined, 'life type 3');
  assert.equal(ike(...base, tv(13, 1)), undefined, 'PRF class: refused');
  assert.equal(ike(...base, tv(40, 1)), undefined, 'class 40: refused');
  assert.equal(ike(...base.slice(1)), undefined, 'no encryption algorithm');
  assert.equal(ike(tv(1, 7), tv(14, 100), tv(2, 4), tv(3, 1), tv(4, 14)), undefined, 'AES key length 100');
  const esp = (...attributes: ReturnType<typeof tv | typeof tlv>[]) => parseIpsecTransform({ number: 1, id: 12, attributes });
  assert.deepEqual(esp(tv(1, 2), tlv(2, 0, 0, 0x10, 0), tv(4, 2), tv(5, 5), tv(6, 256), tv(3, 19), tv(10, 1), tv(11, 0)), {
    transformId: 12, authAlgorithm: 5, mode: 2, group: 19, lifetimeSeconds: 0, lifetimeKilobytes: 4096, keyLength: 256,
  });
  assert.deepEqual(esp(tv(4, 61443)), { transformId: 12, authAlgorithm: 0, mode: 3, group: 0, lifetimeSeconds: 28800, lifetimeKilobytes: 0 }, 'draft UDP-encapsulated tunnel read as RFC 3947 mode 3');
  assert.equal(esp(tv(11, 1)), undefined, 'extended sequence numbers on');
  assert.equal(esp(tv(10, 3)), undefined, 'ECN tunnel value 3');
  assert.equal(esp(tv(4, 9)), undefined, 'mode 9');
  assert.equal(esp(tv(5, 2), tv(5, 2)), undefined, 'a class twice');
  assert.equal(esp(tv(7, 1)), undefined, 'key rounds: refused');
});

test('setConnection refuses lifetimes no Life Duration attribute can carry (negative, fractional, zero, over 32 bits), naming the value', () => {
  const pair = new Pair({ seed: 'lifetimes-checked' });
  const esp = { protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 };
  for (const bad of [-2, 0, 1.5, 2 ** 32]) {
    assert.throws(() => pair.a.setConnection(conn(pair, 'a', { ike: [{ ...AES128_SHA256_14, lifetimeSeconds: bad }] })), new RegExp(`ike: lifetime ${bad} s`));
    assert.throws(() => pair.a.setConnection(conn(pair, 'a', { ipsec: [{ ...esp, lifetimeSeconds: bad }] })), new RegExp(`ipsec: lifetime ${bad} s`));
    assert.throws(() => pair.a.setConnection(conn(pair, 'a', { ipsec: [{ ...esp, lifetimeKilobytes: bad }] })), new RegExp(`ipsec: lifetime ${bad} KB`));
  }
  pair.a.setConnection(conn(pair, 'a', { ike: [{ ...AES128_SHA256_14, lifetimeSeconds: 2 ** 32 - 1 }], ipsec: [{ ...esp, lifetimeSeconds: 1, lifetimeKilobytes: 4096 }] }));
});
