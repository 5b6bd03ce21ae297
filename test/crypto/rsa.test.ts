// IKEv1 RSA signatures (RFC 2409 §5.1): PKCS#1 v1.5 type-1 block over the raw HASH_I/HASH_R, no
// DigestInfo (strongSwan's SIGN_RSA_EMSA_PKCS1_NULL). Verification by re-encoding; the SHAPES.md
// #17 (truncated/extended hash, bad padding, trailing garbage, wrong length), #25 (s = 0, s >= n),
// #26 (e = 3 forgery with garbage after the hash) and #27 (small modulus) inputs are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateEncrypt, publicDecrypt, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rsaSignHash, rsaVerifyHash, rsaModulusBits, pkcs1Type1Block, RSA_MIN_BITS } from '../../src/crypto/index.js';
import { RemoteProtocolError, NotifyType } from '../../src/index.js';
import { hex, toHex } from './_util.js';

const priv = createPrivateKey(readFileSync('test/vectors/crypto/certs/leaf.key'));
const pub = createPublicKey(priv);
const K = 256;
const N = BigInt('0x' + Buffer.from(pub.export({ format: 'jwk' }).n!, 'base64url').toString('hex'));
const big = (b: Uint8Array) => BigInt('0x' + (toHex(b) || '0'));
const toBytes = (v: bigint, len: number) => hex(v.toString(16).padStart(len * 2, '0'));
const HASH20 = hex('00112233445566778899aabbccddeeff01234567');

function rejected(e: unknown): boolean {
  return e instanceof RemoteProtocolError && e.notify === NotifyType.AUTHENTICATION_FAILED;
}
/** Raw RSA private operation on an arbitrary k-byte block (to forge malformed but genuine signatures). */
function rawSign(key: KeyObject, em: Uint8Array): Uint8Array {
  return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, em));
}

test('signs the raw hash in a type-1 block without DigestInfo, and verifies it', () => {
  assert.equal(rsaModulusBits(pub), 2048);
  for (const len of [16, 20, 32, 48, 64]) {
    const h = new Uint8Array(len).map((_, i) => i * 7 + len);
    const s = rsaSignHash(priv, h);
    assert.equal(s.length, K);
    const em = publicDecrypt({ key: pub, padding: constants.RSA_NO_PADDING }, s);
    assert.equal(toHex(em), '0001' + 'ff'.repeat(K - len - 3) + '00' + toHex(h), 'EM = 00 01 FF..FF 00 || HASH');
    // OpenSSL's own type-1 unpadding recovers exactly the hash (what strongSwan checks too)
    assert.equal(toHex(publicDecrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, s)), toHex(h));
    rsaVerifyHash(pub, h, s);
  }
  assert.equal(toHex(pkcs1Type1Block(hex('abcd'), 16)!), '0001' + 'ff'.repeat(11) + '00abcd');
  assert.equal(pkcs1Type1Block(new Uint8Array(6), 16), undefined);
});

test('rejects signatures over a truncated (16) or extended (40) hash: SHAPES #17', () => {
  const sig16 = rsaSignHash(priv, HASH20.subarray(0, 16));
  const sig40 = rsaSignHash(priv, Uint8Array.from([...HASH20, ...HASH20]));
  assert.throws(() => rsaVerifyHash(pub, HASH20, sig16), rejected);
  assert.throws(() => rsaVerifyHash(pub, HASH20, sig40), rejected);
});

test('rejects wrong padding bytes, trailing garbage, wrong block type, DigestInfo and a wrong hash', () => {
  const good = pkcs1Type1Block(HASH20, K)!;
  const variants: Array<[string, Uint8Array]> = [];
  const fe = Uint8Array.from(good); fe[5] = 0xfe; variants.push(['padding byte 0xFE', fe]);
  const bt2 = Uint8Array.from(good); bt2[1] = 0x02; variants.push(['block type 2', bt2]);
  // hash followed by garbage: shorter FF run, 00, HASH, 4 garbage bytes
  const garbage = new Uint8Array(K); garbage.set([0, 1]); garbage.fill(0xff, 2, K - 25); garbage[K - 25] = 0; garbage.set(HASH20, K - 24); garbage.set([1, 2, 3, 4], K - 4);
  variants.push(['garbage after hash', garbage]);
  const noSep = Uint8Array.from(good); noSep[K - 21] = 0xff; variants.push(['no 00 separator', noSep]);
  for (const [what, em] of variants) {
    assert.throws(() => rsaVerifyHash(pub, HASH20, rawSign(priv, em)), rejected, what);
  }
  // standard PKCS#1 v1.5 with a SHA-1 DigestInfo over the same data: not the IKEv1 form
  const withDigestInfo = new Uint8Array(sign('sha1', HASH20, priv));
  assert.throws(() => rsaVerifyHash(pub, HASH20, withDigestInfo), rejected);
  const other = Uint8Array.from(HASH20); other[0]! ^= 0x80;
  assert.throws(() => rsaVerifyHash(pub, other, rsaSignHash(priv, HASH20)), rejected);
});

test('rejects wrong lengths, s = 0, s = n, s = n + 1 and all-ones: SHAPES #17, #25', () => {
  const s = rsaSignHash(priv, HASH20);
  const cases: Array<[string, Uint8Array]> = [
    ['truncated (k-1)', s.subarray(1)],
    ['extended with a leading zero (k+1)', Uint8Array.from([0, ...s])],
    ['extended with a trailing byte', Uint8Array.from([...s, 0])],
    ['empty', new Uint8Array(0)],
    ['zero', new Uint8Array(K)],
    ['n', toBytes(N, K)],
    ['n + 1', toBytes(N + 1n, K)],
    ['all ones', new Uint8Array(K).fill(0xff)],
  ];
  for (const [what, sig] of cases) assert.throws(() => rsaVerifyHash(pub, HASH20, sig), rejected, what);
  // s = n - 1 is a valid integer input but not a valid signature
  assert.throws(() => rsaVerifyHash(pub, HASH20, toBytes(N - 1n, K)), rejected);
  // s + n has the same residue as s but is out of range; refused before exponentiation when it fits k bytes
  if (big(s) + N < 1n << 2048n) assert.throws(() => rsaVerifyHash(pub, HASH20, toBytes(big(s) + N, K)), rejected);
  rsaVerifyHash(pub, HASH20, s);
});

test('e = 3: a cube-root forgery with garbage after the hash is refused (verification re-encodes): SHAPES #26', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
  // Bleichenbacher 2006: pick s = ceil(cbrt(00 01 FF 00 HASH || 0...)) so that s^3 < n starts with
  // the right prefix and ends in garbage. A parser that stops after the hash would accept it.
  const prefix = Uint8Array.from([0, 1, 0xff, 0, ...HASH20]);
  const target = big(Uint8Array.from([...prefix, ...new Uint8Array(K - prefix.length)]));
  let r = 1n << 700n;
  for (let i = 0; i < 4000; i++) {
    const nr = (2n * r + target / (r * r)) / 3n;
    if (nr === r) break;
    r = nr;
  }
  while (r * r * r < target) r++;
  const forged = toBytes(r, K);
  const em = toBytes(r * r * r, K);
  assert.equal(toHex(em.subarray(0, prefix.length)), toHex(prefix), 'forgery has the right prefix');
  assert.throws(() => rsaVerifyHash(publicKey, HASH20, forged, { minBits: 2048 }), rejected);
});

test('keys below 2048 bits are refused by default: SHAPES #27', () => {
  assert.equal(RSA_MIN_BITS, 2048);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => rsaSignHash(small.privateKey, HASH20), RangeError);
  const s = rsaSignHash(small.privateKey, HASH20, { minBits: 1024 });
  assert.throws(() => rsaVerifyHash(small.publicKey, HASH20, s), rejected);
  rsaVerifyHash(small.publicKey, HASH20, s, { minBits: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  assert.throws(() => rsaVerifyHash(ec.publicKey, HASH20, s), rejected);
});
