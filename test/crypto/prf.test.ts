// HMAC prf and plain hash: RFC 2202 (MD5, SHA1) and RFC 4868 §2.7 (SHA2) vectors, and the IKE
// hash-ID mapping (RFC 2409 App. A, RFC 4868).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { prf, hash, prfAlgFromHashId, isSupportedHashId, prfLength, type PrfAlg } from '../../src/crypto/index.js';
import { RemoteProtocolError, NotifyType } from '../../src/index.js';
import { hex, loadVectors, toHex } from './_util.js';

const HASH_NAME: Record<string, PrfAlg> = { MD5: 'md5', SHA1: 'sha1', SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

test('HMAC prf matches every RFC 2202 / RFC 4868 vector (full and truncated outputs)', () => {
  const { vectors } = loadVectors('hmac-rfc2202-rfc4868.json');
  let n = 0;
  for (const [name, v] of Object.entries<any>(vectors)) {
    const alg = HASH_NAME[v.hash];
    assert.ok(alg, `${name}: hash ${v.hash}`);
    const out = prf(alg, hex(v.key), hex(v.data));
    assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype, 'plain Uint8Array output');
    assert.equal(out.length, prfLength(alg));
    assert.equal(toHex(out.subarray(0, v.out_bits / 8)), v.out, name);
    n++;
  }
  assert.ok(n >= 40, `ran ${n} vectors`);
});

test('prf over several data parts equals prf over their concatenation', () => {
  const key = hex('0102030405');
  assert.deepEqual(prf('sha256', key, hex('aa'), hex('bbcc'), new Uint8Array(0)), prf('sha256', key, hex('aabbcc')));
});

test('hash is the plain digest', () => {
  assert.equal(toHex(hash('sha1', new TextEncoder().encode('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d'); // FIPS 180-2 B.1
  assert.equal(toHex(hash('md5', hex('61'), hex('6263'))), createHash('md5').update('abc').digest('hex'));
});

test('maps IKE hash IDs 1, 2, 4, 5, 6 and refuses the rest with ATTRIBUTES_NOT_SUPPORTED', () => {
  assert.equal(prfAlgFromHashId(1), 'md5');
  assert.equal(prfAlgFromHashId(2), 'sha1');
  assert.equal(prfAlgFromHashId(4), 'sha256');
  assert.equal(prfAlgFromHashId(5), 'sha384');
  assert.equal(prfAlgFromHashId(6), 'sha512');
  for (const bad of [0, 3, 7, 65535]) {
    assert.equal(isSupportedHashId(bad), false);
    assert.throws(() => prfAlgFromHashId(bad), (e: unknown) => e instanceof RemoteProtocolError && e.notify === NotifyType.ATTRIBUTES_NOT_SUPPORTED);
  }
});
