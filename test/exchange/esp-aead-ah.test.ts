// Issue 10: ESP AES-GCM (RFC 4106) with 8, 12 and 16-byte ICVs and 128/256-bit keys, and AH
// (RFC 2402 transforms of RFC 2407 §4.4.3 with the RFC 4868 SHA-2 ones), negotiated in memory: the
// wire carries the transform ID and Key Length with no Authentication Algorithm (GCM) or the AH
// transform with its Authentication Algorithm; each direction's KEYMAT is the AES key followed by
// the 4-byte salt (RFC 4106 §8.1), and a packet sealed with one side's outbound key and salt opens
// with the other side's inbound ones (node:crypto AES-GCM, nonce = salt | 8-byte IV).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { decodeMessage } from '../../src/codec/index.js';
import { Ikev1Decryptor } from '../../src/cli/keylog-decrypt.js';
import { toHex } from '../../src/crypto/bytes.js';
import { AhTransformId, AuthAlgorithm, EspTransformId, IpsecAttr, ProtocolId } from '../../src/constants/index.js';
import { parseIpsecProposal } from '../../src/exchange/index.js';
import { ipsecTransformName } from '../../src/exchange/names.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';

const GCM = [
  ['aes128gcm8', EspTransformId.ESP_AES_GCM_8, 128, 8],
  ['aes256gcm8', EspTransformId.ESP_AES_GCM_8, 256, 8],
  ['aes128gcm12', EspTransformId.ESP_AES_GCM_12, 128, 12],
  ['aes256gcm12', EspTransformId.ESP_AES_GCM_12, 256, 12],
  ['aes128gcm16', EspTransformId.ESP_AES_GCM_16, 128, 16],
  ['aes192gcm16', EspTransformId.ESP_AES_GCM_16, 192, 16],
  ['aes256gcm16-modp2048', EspTransformId.ESP_AES_GCM_16, 256, 16],
] as const;

/** The first transform of QM1, decrypted the way a key log allows (src/cli/keylog-decrypt.ts). */
function quickMode1Transform(pair: Pair): { id: number; attrs: Map<number, number> } {
  const ev = pair.ev('a', 'phase1-established')[0]!;
  const dec = new Ikev1Decryptor(new Map([[toHex(ev.keyLog.initiatorCookie), ev.keyLog.encryptionKey]]));
  for (const w of pair.wire) {
    const m = decodeMessage(w.data);
    const r = dec.observe(m);
    if (m.header.exchangeType !== 32 || !r?.ok) continue;
    const sa = r.payloads.find((x) => x.type === 'SA');
    const t = sa?.type === 'SA' ? sa.proposals[0]?.transforms[0] : undefined;
    if (t) return { id: t.id, attrs: new Map(t.attributes.map((a) => [a.type, a.format === 'TV' ? a.value : -1])) };
  }
  throw new Error('no QM1 with an SA payload');
}

function negotiate(seed: string, esp: ReturnType<typeof parseIpsecProposal>[]): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { ipsec: esp }));
  pair.b.setConnection(conn(pair, 'b', { ipsec: esp }));
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  return pair;
}

for (const [name, transformId, bits, icv] of GCM) {
  test(`ESP ${name}: negotiated, KEYMAT = ${bits}-bit key | 4-byte salt per direction, usable as RFC 4106 AES-GCM with a ${icv}-byte ICV`, () => {
    const proposal = parseIpsecProposal('esp', name);
    assert.deepEqual(proposal.protocols, [{ protocol: ProtocolId.PROTO_IPSEC_ESP, transformId, keyLength: bits }]);
    const pair = negotiate(`gcm-${name}`, [proposal]);
    assertMirrored(pair, assert);
    const a = pair.ev('a', 'ipsec-sa-established')[0]!.sa;
    const b = pair.ev('b', 'ipsec-sa-established')[0]!.sa;
    const pa = a.protocols[0]!;
    const pb = b.protocols[0]!;
    assert.equal(pa.transformId, transformId);
    assert.equal(pa.keyLength, bits, 'the AES key length, without the salt');
    assert.equal(pa.authAlgorithm, 0);
    assert.equal(pa.outbound.keymat.length, bits / 8 + 4);
    assert.deepEqual(pa.outbound.encryptionKey, pa.outbound.keymat, 'the encryption key is key | salt');
    assert.equal(pa.outbound.integrityKey.length, 0);
    assert.equal(ipsecTransformName(pa, a.group), `esp ${name.replace(/-modp2048$/, '')}${a.group ? '-modp2048' : ''}`);
    // a's outbound SA is b's inbound: seal on one side, open on the other
    const seal = pa.outbound.encryptionKey;
    const open = pb.inbound.encryptionKey;
    const iv = Buffer.from('0011223344556677', 'hex');
    const aad = Buffer.concat([Buffer.from(pa.outbound.spi), Buffer.from('00000001', 'hex')]);
    const nonce = (k: Uint8Array) => Buffer.concat([Buffer.from(k.subarray(bits / 8)), iv]);
    const alg = `aes-${bits}-gcm` as const;
    const c = createCipheriv(alg, seal.subarray(0, bits / 8), nonce(seal), { authTagLength: icv });
    c.setAAD(aad);
    const ct = Buffer.concat([c.update('payload of an ESP packet'), c.final()]);
    const tag = c.getAuthTag();
    const d = createDecipheriv(alg, open.subarray(0, bits / 8), nonce(open), { authTagLength: icv });
    d.setAAD(aad);
    d.setAuthTag(tag);
    assert.equal(Buffer.concat([d.update(ct), d.final()]).toString(), 'payload of an ESP packet');
    // on the wire: QM1 decrypted with the phase-1 key offers transform ID + Key Length, no Authentication Algorithm
    const qm1 = quickMode1Transform(pair);
    assert.equal(qm1.id, transformId);
    assert.equal(qm1.attrs.get(IpsecAttr.KEY_LENGTH), bits);
    assert.equal(qm1.attrs.has(IpsecAttr.AUTHENTICATION_ALGORITHM), false);
  });
}

test('ESP AES-GCM with an Authentication Algorithm, or a key length other than 128/192/256, is not a proposal the engine takes', () => {
  const pair = new Pair({ seed: 'gcm-bad' });
  const withAuth = { protocols: [{ protocol: 3, transformId: EspTransformId.ESP_AES_GCM_16, keyLength: 128, authAlgorithm: AuthAlgorithm.HMAC_SHA2_256 }], mode: 1 };
  assert.throws(() => pair.a.setConnection(conn(pair, 'a', { ipsec: [withAuth] })), /transform 20 not supported/);
  const badKey = { protocols: [{ protocol: 3, transformId: EspTransformId.ESP_AES_GCM_12, keyLength: 160 }], mode: 1 };
  assert.throws(() => pair.a.setConnection(conn(pair, 'a', { ipsec: [badKey] })), /transform 19 not supported/);
});

test('a GCM-8 offer against a GCM-16 responder: NO_PROPOSAL_CHOSEN (the ICV length is part of the transform)', () => {
  const pair = new Pair({ seed: 'gcm-mismatch' });
  pair.a.setConnection(conn(pair, 'a', { ipsec: [parseIpsecProposal('esp', 'aes128gcm8')] }));
  pair.b.setConnection(conn(pair, 'b', { ipsec: [parseIpsecProposal('esp', 'aes128gcm16')] }));
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 0);
  assert.ok(pair.ev('a', 'failed').some((f) => f.kind === 'ipsec' && f.notify === 14), JSON.stringify(pair.ev('a', 'failed')));
});

for (const [name, alg, transform, keyBytes] of [
  ['sha1', AuthAlgorithm.HMAC_SHA, AhTransformId.AH_SHA, 20],
  ['sha256', AuthAlgorithm.HMAC_SHA2_256, AhTransformId.AH_SHA2_256, 32],
  ['sha512-ecp256', AuthAlgorithm.HMAC_SHA2_512, AhTransformId.AH_SHA2_512, 64],
] as const) {
  test(`AH ${name}: AH transform ${transform} with Authentication Algorithm ${alg}, an integrity key of ${keyBytes} bytes and no encryption key`, () => {
    const proposal = parseIpsecProposal('ah', name);
    assert.deepEqual(proposal.protocols, [{ protocol: ProtocolId.PROTO_IPSEC_AH, transformId: transform, authAlgorithm: alg }]);
    const pair = negotiate(`ah-${name}`, [proposal]);
    assertMirrored(pair, assert);
    const sa = pair.ev('a', 'ipsec-sa-established')[0]!.sa;
    const p = sa.protocols[0]!;
    assert.equal(p.protocol, ProtocolId.PROTO_IPSEC_AH);
    assert.equal(p.transformId, transform);
    assert.equal(p.outbound.encryptionKey.length, 0);
    assert.equal(p.outbound.integrityKey.length, keyBytes);
    assert.equal(ipsecTransformName(p, sa.group), `ah ${name}`);
  });
}
