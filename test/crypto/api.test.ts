// The package root exports the crypto API under the exact names the issue makes a contract (the
// NIST SP 800-135 check runs against them), with Uint8Array in and plain Uint8Array out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as root from '../../src/index.js';

test('the package root exports the contract names and the rest of the crypto API', () => {
  for (const name of [
    'deriveSkeyid', 'derivePhase1Keys', 'expandKey', 'deriveKeymat', 'deriveEncryptionKey', 'derivePhase1Schedule',
    'prf', 'hash', 'prfAlgFromHashId', 'isSupportedHashId', 'prfLength',
    'cipherFor', 'cipherRefusal', 'encryptMessage', 'decryptMessage', 'paddingLength',
    'phase1Iv', 'phase2Iv', 'lastCipherBlock',
    'hashI', 'hashR', 'quickModeHash1', 'quickModeHash2', 'quickModeHash3', 'informationalHash', 'verifyHash', 'natDetectionHash',
    'dhGroupInfo', 'isDhGroupAllowed', 'dhPrivateKeyLength', 'dhPublicKey', 'dhSharedSecret', 'validateDhPublicKey', 'dhKeyPair', 'dhNormalizePrivateKey',
    'rsaSignHash', 'rsaVerifyHash', 'rsaModulusBits', 'pkcs1Type1Block',
    'parseCertificate', 'verifyCertificateChain', 'certificateMatchesId', 'certificateSubjectDer', 'certificateKeyUsage', 'dnEqual',
    'constantTimeEqual', 'wipe',
  ]) {
    assert.equal(typeof (root as Record<string, unknown>)[name], 'function', name);
  }
  assert.ok(Array.isArray(root.DH_GROUPS));
  assert.equal(root.RSA_MIN_BITS, 2048);
});

test('contract functions take Uint8Array and return plain Uint8Array', () => {
  const u = (n: number, v: number) => new Uint8Array(n).fill(v);
  const skeyid = root.deriveSkeyid({ prf: 'sha1', method: 'psk', psk: u(8, 1), nonceI: u(16, 2), nonceR: u(16, 3), gxy: u(128, 4) });
  const k = root.derivePhase1Keys({ prf: 'sha1', skeyid, gxy: u(128, 4), ckyI: u(8, 5), ckyR: u(8, 6) });
  assert.deepEqual(Object.keys(k).sort(), ['skeyidA', 'skeyidD', 'skeyidE']);
  const outs = [skeyid, k.skeyidD, k.skeyidA, k.skeyidE, root.expandKey('md5', u(16, 7), 40),
    root.deriveKeymat({ prf: 'sha512', skeyidD: k.skeyidD, protocol: 3, spi: u(4, 8), nonceI: u(16, 2), nonceR: u(16, 3), length: 100 })];
  for (const o of outs) assert.equal(Object.getPrototypeOf(o), Uint8Array.prototype);
  assert.equal(outs[4]!.length, 40);
  assert.equal(outs[5]!.length, 100);
});
