// RFC 2409 §5 / §5.5 / App. B key schedule. Each derivation is checked against an independent
// computation written here from the RFC formula with node:crypto createHmac directly, and SKEYID
// for signatures against NIST CAVP SP 800-135 (IKEv2 SKEYSEED has the same HMAC shape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  deriveSkeyid,
  derivePhase1Keys,
  expandKey,
  deriveEncryptionKey,
  deriveKeymat,
  derivePhase1Schedule,
  cipherFor,
  type PrfAlg,
} from '../../src/crypto/index.js';
import { hex, loadVectors, toHex } from './_util.js';

const ALGS: PrfAlg[] = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
const CAVP_PRF: Record<string, PrfAlg> = { PRF_HMAC_SHA2_256: 'sha256', PRF_HMAC_SHA2_384: 'sha384', PRF_HMAC_SHA2_512: 'sha512' };

function H(alg: PrfAlg, key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  return createHmac(alg, key).update(Buffer.concat(parts)).digest();
}
const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed * 7 + 1) & 0xff);

test('SKEYID for signatures matches NIST CAVP SP 800-135 SKEYSEED vectors (prf(Ni|Nr, g^xy))', () => {
  const { vectors } = loadVectors('cavp-sp800-135-ikev2-skeyseed.json');
  let n = 0;
  for (const [name, v] of Object.entries<any>(vectors)) {
    const prf = CAVP_PRF[v.prf]!;
    const ninr = hex(v.ni_nr);
    // any split of Ni|Nr gives the same key
    const cut = Math.floor(ninr.length / 3);
    const out = deriveSkeyid({ prf, method: 'sig', nonceI: ninr.subarray(0, cut), nonceR: ninr.subarray(cut), gxy: hex(v.g_ir) });
    assert.equal(toHex(out), v.skeyseed, name);
    n++;
  }
  assert.equal(n, 6);
});

test('SKEYID for pre-shared keys = prf(PSK, Ni_b | Nr_b)', () => {
  for (const prf of ALGS) {
    const psk = new TextEncoder().encode('a pre-shared key that is longer than one block of any hash, '.repeat(3));
    const nonceI = bytes(16, 1), nonceR = bytes(32, 2);
    assert.deepEqual(Buffer.from(deriveSkeyid({ prf, method: 'psk', psk, nonceI, nonceR })), H(prf, psk, nonceI, nonceR));
  }
  assert.throws(() => deriveSkeyid({ prf: 'sha1', method: 'psk', nonceI: bytes(8, 1), nonceR: bytes(8, 2) }), TypeError);
  assert.throws(() => deriveSkeyid({ prf: 'sha1', method: 'sig', nonceI: bytes(8, 1), nonceR: bytes(8, 2) }), TypeError);
});

test('SKEYID_d, SKEYID_a, SKEYID_e follow RFC 2409 §5 for every prf', () => {
  for (const prf of ALGS) {
    const skeyid = bytes(20, 3), gxy = bytes(256, 4), ckyI = bytes(8, 5), ckyR = bytes(8, 6);
    const k = derivePhase1Keys({ prf, skeyid, gxy, ckyI, ckyR });
    const d = H(prf, skeyid, gxy, ckyI, ckyR, Uint8Array.of(0));
    const a = H(prf, skeyid, d, gxy, ckyI, ckyR, Uint8Array.of(1));
    const e = H(prf, skeyid, a, gxy, ckyI, ckyR, Uint8Array.of(2));
    assert.deepEqual([toHex(k.skeyidD), toHex(k.skeyidA), toHex(k.skeyidE)], [d.toString('hex'), a.toString('hex'), e.toString('hex')], prf);
  }
});

test('expandKey is the RFC 2409 App. B expansion: K1 = prf(key, 0x00), Kn+1 = prf(key, Kn)', () => {
  for (const prf of ALGS) {
    const key = bytes(20, 9);
    const k1 = H(prf, key, Uint8Array.of(0));
    const k2 = H(prf, key, k1);
    const k3 = H(prf, key, k2);
    const all = Buffer.concat([k1, k2, k3]);
    for (const len of [1, 16, k1.length, k1.length + 1, 2 * k1.length + 5, 3 * k1.length]) {
      assert.equal(toHex(expandKey(prf, key, len)), all.subarray(0, len).toString('hex'), `${prf} ${len}`);
    }
  }
});

test('deriveEncryptionKey truncates a long SKEYID_e and expands a short one (AES-256 with SHA1)', () => {
  const skeyidE = bytes(20, 11);
  assert.equal(toHex(deriveEncryptionKey('sha1', skeyidE, 16)), toHex(skeyidE.subarray(0, 16)));
  assert.equal(toHex(deriveEncryptionKey('sha1', skeyidE, 20)), toHex(skeyidE));
  const k1 = H('sha1', skeyidE, Uint8Array.of(0));
  const k2 = H('sha1', skeyidE, k1);
  assert.equal(toHex(deriveEncryptionKey('sha1', skeyidE, 32)), Buffer.concat([k1, k2]).subarray(0, 32).toString('hex'));
  assert.equal(toHex(deriveEncryptionKey('sha1', skeyidE, 24)), Buffer.concat([k1, k2]).subarray(0, 24).toString('hex'), '3DES with SHA1');
});

test('KEYMAT without PFS follows RFC 2409 §5.5 (K1 | K2 | ...)', () => {
  for (const prf of ALGS) {
    const skeyidD = bytes(32, 12), spi = hex('c0ffee01'), nonceI = bytes(16, 13), nonceR = bytes(24, 14);
    const seed = Buffer.concat([Uint8Array.of(3), spi, nonceI, nonceR]);
    const k1 = H(prf, skeyidD, seed);
    const k2 = H(prf, skeyidD, k1, seed);
    const k3 = H(prf, skeyidD, k2, seed);
    const k4 = H(prf, skeyidD, k3, seed);
    const all = Buffer.concat([k1, k2, k3, k4]);
    for (const length of [16, 36, 52, 64]) {
      const out = deriveKeymat({ prf, skeyidD, protocol: 3, spi, nonceI, nonceR, length });
      assert.equal(toHex(out), all.subarray(0, length).toString('hex'), `${prf} ${length}`);
    }
  }
});

test('KEYMAT with PFS puts g(qm)^xy before protocol in every block', () => {
  const prf: PrfAlg = 'sha256';
  const skeyidD = bytes(32, 15), spi = hex('00001234'), nonceI = bytes(16, 16), nonceR = bytes(16, 17), gxy = bytes(256, 18);
  const seed = Buffer.concat([gxy, Uint8Array.of(2), spi, nonceI, nonceR]);
  const k1 = H(prf, skeyidD, seed);
  const k2 = H(prf, skeyidD, k1, seed);
  const out = deriveKeymat({ prf, skeyidD, protocol: 2, spi, nonceI, nonceR, gxy, length: 64 });
  assert.equal(toHex(out), Buffer.concat([k1, k2]).toString('hex'));
  // different SPI, direction or PFS value → different keys
  assert.notEqual(toHex(deriveKeymat({ prf, skeyidD, protocol: 2, spi: hex('00001235'), nonceI, nonceR, gxy, length: 64 })), toHex(out));
  assert.notEqual(toHex(deriveKeymat({ prf, skeyidD, protocol: 2, spi, nonceI, nonceR, length: 64 })), toHex(out));
});

test('refuses zero, negative, fractional and huge lengths (never derives 0 bytes)', () => {
  const base = { prf: 'sha1' as const, skeyidD: bytes(20, 1), protocol: 3, spi: hex('01020304'), nonceI: bytes(8, 2), nonceR: bytes(8, 3) };
  for (const length of [0, -1, 1.5, 1e9, NaN]) {
    assert.throws(() => deriveKeymat({ ...base, length }), RangeError);
    assert.throws(() => expandKey('sha1', bytes(20, 1), length), RangeError);
  }
  assert.throws(() => deriveKeymat({ ...base, protocol: 256, length: 16 }), RangeError);
});

test('derivePhase1Schedule chains SKEYID, SKEYID_d/_a/_e, Ka and the phase-1 IV', () => {
  const cipher = cipherFor(7, 256);
  const input = {
    prf: 'sha1' as const, method: 'psk' as const, psk: new TextEncoder().encode('secret'),
    nonceI: bytes(20, 1), nonceR: bytes(20, 2), gxy: bytes(256, 3), gxi: bytes(256, 4), gxr: bytes(256, 5),
    ckyI: bytes(8, 6), ckyR: bytes(8, 7), cipher,
  };
  const s = derivePhase1Schedule(input);
  const skeyid = H('sha1', input.psk, input.nonceI, input.nonceR);
  assert.equal(toHex(s.skeyid), skeyid.toString('hex'));
  const d = H('sha1', skeyid, input.gxy, input.ckyI, input.ckyR, Uint8Array.of(0));
  const a = H('sha1', skeyid, d, input.gxy, input.ckyI, input.ckyR, Uint8Array.of(1));
  const e = H('sha1', skeyid, a, input.gxy, input.ckyI, input.ckyR, Uint8Array.of(2));
  assert.equal(toHex(s.skeyidE), e.toString('hex'));
  const k1 = H('sha1', e, Uint8Array.of(0));
  assert.equal(toHex(s.encryptionKey), Buffer.concat([k1, H('sha1', e, k1)]).subarray(0, 32).toString('hex'));
  assert.equal(s.iv.length, 16);
});
