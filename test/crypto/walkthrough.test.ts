// Both ends of a Main Mode (PSK and RSA signatures) + Quick Mode (with PFS) exchange, done with
// the crypto API only, the way the engine composes it: each side derives its keys independently,
// encrypts what it sends with the chained IV and decrypts and verifies what it receives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  cipherFor,
  decryptMessage,
  deriveKeymat,
  derivePhase1Schedule,
  dhKeyPair,
  dhPrivateKeyLength,
  encryptMessage,
  hashI,
  hashR,
  lastCipherBlock,
  phase2Iv,
  quickModeHash1,
  quickModeHash2,
  quickModeHash3,
  rsaSignHash,
  rsaVerifyHash,
  verifyHash,
  wipe,
  type CipherInfo,
  type PrfAlg,
} from '../../src/crypto/index.js';

// deterministic "randomness" for the test
const rnd = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 131 + seed * 17 + 7) & 0xff);

interface Side {
  skeyid: Uint8Array;
  skeyidD: Uint8Array;
  skeyidA: Uint8Array;
  key: Uint8Array;
  iv: Uint8Array;
}

function phase1(prf: PrfAlg, cipher: CipherInfo, group: number, method: 'psk' | 'sig') {
  const ckyI = rnd(8, 1), ckyR = rnd(8, 2), ni = rnd(20, 3), nr = rnd(24, 4);
  const psk = new TextEncoder().encode('walkthrough secret');
  const dhI = dhKeyPair(group, rnd(dhPrivateKeyLength(group), 5));
  const dhR = dhKeyPair(group, rnd(dhPrivateKeyLength(group), 6));
  const gxi = dhI.publicKey, gxr = dhR.publicKey;
  // each side computes g^xy from the other's KE payload
  const gxyI = dhI.computeSharedSecret(gxr);
  const gxyR = dhR.computeSharedSecret(gxi);
  assert.deepEqual(gxyI, gxyR);
  const mk = (gxy: Uint8Array): Side => {
    const s = derivePhase1Schedule({ prf, method, psk, nonceI: ni, nonceR: nr, gxy, gxi, gxr, ckyI, ckyR, cipher });
    return { skeyid: s.skeyid, skeyidD: s.skeyidD, skeyidA: s.skeyidA, key: s.encryptionKey, iv: s.iv };
  };
  dhI.wipe();
  dhR.wipe();
  return { I: mk(gxyI), R: mk(gxyR), ckyI, ckyR, ni, nr, gxi, gxr };
}

for (const [prf, encId, bits, group] of [['sha1', 7, 256, 14], ['sha256', 7, 128, 19], ['md5', 5, undefined, 2], ['sha512', 7, 192, 20]] as Array<[PrfAlg, number, number | undefined, number]>) {
  test(`Main Mode PSK + Quick Mode with PFS: ${prf}, ${encId === 7 ? 'AES-' + bits : '3DES'}, group ${group}`, () => {
    const cipher = cipherFor(encId, bits);
    const p = phase1(prf, cipher, group, 'psk');
    const { I, R } = p;
    assert.deepEqual(I.key, R.key);
    assert.deepEqual(I.iv, R.iv);
    const saIBody = rnd(48, 9), idIBody = Uint8Array.of(1, 17, 1, 244, 198, 18, 0, 1), idRBody = Uint8Array.of(1, 17, 1, 244, 198, 18, 0, 2);
    const base = { prf, gxi: p.gxi, gxr: p.gxr, ckyI: p.ckyI, ckyR: p.ckyR, saIBody };

    // HDR*, IDii, HASH_I -->   (the body stands in for the encoded payload chain)
    const mm5 = Uint8Array.from([...idIBody, ...hashI({ ...base, skeyid: I.skeyid, idIBody })]);
    const e5 = encryptMessage({ cipher, key: I.key, iv: I.iv, plaintext: mm5 });
    const d5 = decryptMessage({ cipher, key: R.key, iv: R.iv, ciphertext: e5.ciphertext });
    assert.ok(verifyHash(hashI({ ...base, skeyid: R.skeyid, idIBody }), d5.plaintext.subarray(idIBody.length, mm5.length)));
    I.iv = e5.nextIv;
    R.iv = d5.nextIv;
    // <-- HDR*, IDir, HASH_R
    const mm6 = Uint8Array.from([...idRBody, ...hashR({ ...base, skeyid: R.skeyid, idRBody })]);
    const e6 = encryptMessage({ cipher, key: R.key, iv: R.iv, plaintext: mm6 });
    const d6 = decryptMessage({ cipher, key: I.key, iv: I.iv, ciphertext: e6.ciphertext });
    assert.ok(verifyHash(hashR({ ...base, skeyid: I.skeyid, idRBody }), d6.plaintext.subarray(idRBody.length, mm6.length)));
    // the last phase-1 CBC block seeds every phase-2 IV
    const lastI = lastCipherBlock(e6.ciphertext, cipher.blockSize);
    const lastR = d6.nextIv;
    assert.deepEqual(lastI, lastR);

    // Quick Mode, M-ID 0x1234abcd, PFS with the same group
    const mid = 0x1234abcd;
    let ivI = phase2Iv(prf, lastI, mid, cipher.blockSize);
    let ivR = phase2Iv(prf, lastR, mid, cipher.blockSize);
    const niQ = rnd(16, 20), nrQ = rnd(16, 21);
    const qI = dhKeyPair(group, rnd(dhPrivateKeyLength(group), 22)), qR = dhKeyPair(group, rnd(dhPrivateKeyLength(group), 23));
    const afterHash1 = Uint8Array.from([...rnd(40, 24), ...niQ, ...qI.publicKey]);
    const afterHash2 = Uint8Array.from([...rnd(40, 25), ...nrQ, ...qR.publicKey]);
    // HDR*, HASH(1), SA, Ni, KE -->
    const h1 = quickModeHash1({ prf, skeyidA: I.skeyidA, messageId: mid, afterHash: afterHash1 });
    const q1 = encryptMessage({ cipher, key: I.key, iv: ivI, plaintext: Uint8Array.from([...h1, ...afterHash1]) });
    const q1d = decryptMessage({ cipher, key: R.key, iv: ivR, ciphertext: q1.ciphertext });
    assert.ok(verifyHash(quickModeHash1({ prf, skeyidA: R.skeyidA, messageId: mid, afterHash: afterHash1 }), q1d.plaintext.subarray(0, h1.length)));
    ivI = q1.nextIv;
    ivR = q1d.nextIv;
    // <-- HDR*, HASH(2), SA, Nr, KE
    const h2 = quickModeHash2({ prf, skeyidA: R.skeyidA, messageId: mid, nonceI: niQ, afterHash: afterHash2 });
    const q2 = encryptMessage({ cipher, key: R.key, iv: ivR, plaintext: Uint8Array.from([...h2, ...afterHash2]) });
    const q2d = decryptMessage({ cipher, key: I.key, iv: ivI, ciphertext: q2.ciphertext });
    assert.ok(verifyHash(quickModeHash2({ prf, skeyidA: I.skeyidA, messageId: mid, nonceI: niQ, afterHash: afterHash2 }), q2d.plaintext.subarray(0, h2.length)));
    ivI = q2d.nextIv;
    ivR = q2.nextIv;
    // HDR*, HASH(3) -->
    const h3 = quickModeHash3({ prf, skeyidA: I.skeyidA, messageId: mid, nonceI: niQ, nonceR: nrQ });
    const q3 = encryptMessage({ cipher, key: I.key, iv: ivI, plaintext: h3 });
    const q3d = decryptMessage({ cipher, key: R.key, iv: ivR, ciphertext: q3.ciphertext });
    assert.ok(verifyHash(quickModeHash3({ prf, skeyidA: R.skeyidA, messageId: mid, nonceI: niQ, nonceR: nrQ }), q3d.plaintext.subarray(0, h3.length)));

    // KEYMAT: the SA whose SPI the responder chose carries initiator -> responder traffic
    const spiI = Uint8Array.of(0xc0, 0, 0, 1), spiR = Uint8Array.of(0xc0, 0, 0, 2);
    const gI = qI.computeSharedSecret(qR.publicKey), gR = qR.computeSharedSecret(qI.publicKey);
    const km = (skeyidD: Uint8Array, gxy: Uint8Array, spi: Uint8Array) =>
      deriveKeymat({ prf, skeyidD, protocol: 3, spi, nonceI: niQ, nonceR: nrQ, gxy, length: 32 + 20 });
    const iOut = km(I.skeyidD, gI, spiR), iIn = km(I.skeyidD, gI, spiI);
    const rIn = km(R.skeyidD, gR, spiR), rOut = km(R.skeyidD, gR, spiI);
    assert.deepEqual(iOut, rIn);
    assert.deepEqual(iIn, rOut);
    assert.notDeepEqual(iOut, iIn);
    wipe(I.skeyid, I.skeyidD, I.skeyidA, I.key, R.skeyid, R.skeyidD, R.skeyidA, R.key, iOut, iIn, rIn, rOut);
    assert.ok(I.key.every((b) => b === 0));
  });
}

test('Main Mode RSA signatures: SKEYID from g^xy, SIG over HASH_I verified by the peer', () => {
  const cipher = cipherFor(7, 256);
  const p = phase1('sha256', cipher, 14, 'sig');
  assert.deepEqual(p.I.skeyid, p.R.skeyid);
  const key = createPrivateKey(readFileSync('test/vectors/crypto/certs/leaf.key'));
  const base = { prf: 'sha256' as const, gxi: p.gxi, gxr: p.gxr, ckyI: p.ckyI, ckyR: p.ckyR, saIBody: rnd(52, 30) };
  const idIBody = rnd(30, 31);
  const sig = rsaSignHash(key, hashI({ ...base, skeyid: p.I.skeyid, idIBody }));
  rsaVerifyHash(createPublicKey(key), hashI({ ...base, skeyid: p.R.skeyid, idIBody }), sig);
  assert.throws(() => rsaVerifyHash(createPublicKey(key), hashI({ ...base, skeyid: p.R.skeyid, idIBody: rnd(30, 32) }), sig));
});
