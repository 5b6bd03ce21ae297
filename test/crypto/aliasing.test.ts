// Outputs never share memory with inputs or with Node's Buffer pool: callers hand in Buffers
// (from sockets, from randomBytes) and wipe them, and must be able to wipe outputs on their own.
// (Buffer#slice returns a view, so a "copy" made with it would alias the caller's bytes.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  cipherFor,
  decryptMessage,
  deriveEncryptionKey,
  dhKeyPair,
  dhPrivateKeyLength,
  dhPublicKey,
  dhSharedSecret,
  encryptMessage,
  lastCipherBlock,
  phase1Iv,
  wipe,
} from '../../src/crypto/index.js';

function own(b: Uint8Array, what: string): void {
  assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype, `${what}: plain Uint8Array`);
  assert.equal(b.byteOffset, 0, `${what}: offset 0`);
  assert.equal(b.buffer.byteLength, b.byteLength, `${what}: own ArrayBuffer`);
}

test('DH: wiping a key pair or an output never touches the caller\'s private bytes, and vice versa', () => {
  for (const g of [14, 19, 20]) {
    const x = randomBytes(dhPrivateKeyLength(g));
    const keep = Buffer.from(x);
    const kp = dhKeyPair(g, x);
    own(kp.publicKey, `group ${g} publicKey`);
    kp.wipe();
    assert.deepEqual(x, keep, `group ${g}: caller bytes intact after wipe()`);
    // exact-length in-range ECP scalar as a Buffer (the fast path)
    const x2 = g === 14 ? Buffer.from(x) : Buffer.alloc(dhPrivateKeyLength(g) - 8, 0x11);
    const keep2 = Buffer.from(x2);
    const pub = dhPublicKey(g, x2);
    own(pub, `group ${g} dhPublicKey`);
    const s = dhSharedSecret(g, x2, dhPublicKey(g, Buffer.from([7])));
    own(s, `group ${g} shared`);
    assert.deepEqual(x2, keep2, `group ${g}: caller bytes intact after stateless calls`);
    const kp2 = dhKeyPair(g, x2);
    wipe(x2);
    assert.deepEqual(kp2.computeSharedSecret(dhPublicKey(g, Buffer.from([7]))), s, 'key pair holds its own copy');
  }
});

test('Ka, IVs and CBC outputs are independent copies', () => {
  const skeyidE = randomBytes(32);
  const ka = deriveEncryptionKey('sha256', skeyidE, 16);
  own(ka, 'Ka');
  const kaCopy = Uint8Array.from(ka);
  wipe(skeyidE);
  assert.deepEqual(ka, kaCopy, 'wiping SKEYID_e leaves Ka intact');
  own(phase1Iv('sha1', randomBytes(8), randomBytes(8), 16), 'phase-1 IV');

  const cipher = cipherFor(7, 128);
  const key = randomBytes(16), iv = randomBytes(16);
  const wire = Buffer.concat([Buffer.alloc(28), Buffer.from(encryptMessage({ cipher, key, iv, plaintext: randomBytes(70) }).ciphertext)]);
  const body = wire.subarray(28); // as the codec would hand it over: a view into the datagram
  const d = decryptMessage({ cipher, key, iv, ciphertext: body });
  own(d.plaintext, 'plaintext');
  own(d.nextIv, 'nextIv');
  const next = Uint8Array.from(d.nextIv);
  const last = lastCipherBlock(body, 16);
  wire.fill(0); // the datagram buffer is reused
  assert.deepEqual(d.nextIv, next, 'nextIv survives reuse of the datagram buffer');
  assert.deepEqual(last, next);
  const e = encryptMessage({ cipher, key, iv, plaintext: Buffer.from('tiny') });
  own(e.ciphertext, 'ciphertext (small: would come from the Buffer pool)');
  own(e.nextIv, 'encrypt nextIv');
});
