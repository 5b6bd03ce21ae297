// ISAKMP SA ciphers (RFC 3602 / SP 800-38A AES-CBC, NIST 3DES-CBC vectors), RFC 2408/2409
// message encryption with padding to the block, decryption that never reads padding, and the
// RFC 2409 App. B IVs (phase 1, per message ID, CBC chaining).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createCipheriv } from 'node:crypto';
import {
  cipherFor,
  cipherRefusal,
  encryptMessage,
  decryptMessage,
  paddingLength,
  phase1Iv,
  phase2Iv,
  lastCipherBlock,
} from '../../src/crypto/index.js';
import { RemoteProtocolError, NotifyType } from '../../src/index.js';
import { hex, loadVectors, toHex } from './_util.js';

test('AES-CBC and 3DES-CBC match the RFC 3602 / SP 800-38A / NIST MMT vectors both ways', () => {
  const { vectors } = loadVectors('cbc-rfc3602-sp800-38a-3des.json');
  let n = 0;
  for (const [name, v] of Object.entries<any>(vectors)) {
    const key = hex(v.key);
    const cipher = v.alg === 'ENCR_AES_CBC' ? cipherFor(7, key.length * 8) : cipherFor(5);
    // the vectors are block-aligned: encryptMessage adds one whole zero block, the rest is the vector
    const enc = encryptMessage({ cipher, key, iv: hex(v.iv), plaintext: hex(v.plain) });
    assert.equal(enc.ciphertext.length, v.cipher.length / 2 + cipher.blockSize);
    assert.equal(toHex(enc.ciphertext.subarray(0, v.cipher.length / 2)), v.cipher, `${name} encrypt`);
    const dec = decryptMessage({ cipher, key, iv: hex(v.iv), ciphertext: hex(v.cipher) });
    assert.equal(toHex(dec.plaintext), v.plain, `${name} decrypt`);
    n++;
  }
  assert.equal(n, 8);
});

test('cipher descriptors by IKE encryption ID and Key Length', () => {
  assert.deepEqual({ ...cipherFor(7, 128) }, { id: 7, name: 'AES-CBC-128', nodeName: 'aes-128-cbc', keyLength: 16, blockSize: 16 });
  assert.equal(cipherFor(7, 192).keyLength, 24);
  assert.equal(cipherFor(7, 256).keyLength, 32);
  assert.deepEqual({ ...cipherFor(5) }, { id: 5, name: '3DES-CBC', nodeName: 'des-ede3-cbc', keyLength: 24, blockSize: 8 });
  assert.equal(cipherFor(5, 192).keyLength, 24);
  assert.equal(cipherRefusal(7, 256), undefined);
  for (const [id, len, why] of [
    [7, undefined, /Key Length/],
    [7, 512, /128, 192 or 256/],
    [7, 0, /128, 192 or 256/],
    [5, 128, /fixed key length/],
    [2, undefined, /IDEA/],
    [4, undefined, /RC5/],
    [8, undefined, /CAMELLIA/],
    [99, undefined, /unknown/],
  ] as Array<[number, number | undefined, RegExp]>) {
    assert.match(cipherRefusal(id, len) ?? '', why, `${id}/${len}`);
    assert.throws(() => cipherFor(id, len), (e: unknown) => e instanceof RemoteProtocolError && e.notify === NotifyType.ATTRIBUTES_NOT_SUPPORTED);
  }
});

test('DES, Blowfish and CAST are offered exactly when OpenSSL has them without extra setup', () => {
  for (const [id, nodeName] of [[1, 'des-cbc'], [3, 'bf-cbc'], [6, 'cast5-cbc']] as Array<[number, string]>) {
    let available = true;
    try {
      createCipheriv(nodeName, new Uint8Array(id === 1 ? 8 : 16), new Uint8Array(8));
    } catch {
      available = false;
    }
    if (available) assert.equal(cipherRefusal(id), undefined, nodeName);
    else assert.match(cipherRefusal(id) ?? '', /legacy provider/, nodeName);
  }
});

test('encryption appends 1..block zero bytes; decryption returns every byte and ignores the padding', () => {
  const cipher = cipherFor(7, 128);
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const iv = hex('f0'.repeat(16));
  for (const len of [1, 15, 16, 17, 31, 32, 100]) {
    const plaintext = new Uint8Array(len).map((_, i) => i + 1);
    const { ciphertext } = encryptMessage({ cipher, key, iv, plaintext });
    assert.equal(ciphertext.length, len + paddingLength(len, 16));
    assert.equal(ciphertext.length % 16, 0);
    const { plaintext: back } = decryptMessage({ cipher, key, iv, ciphertext });
    assert.deepEqual(back.subarray(0, len), plaintext);
    assert.ok(back.subarray(len).every((b) => b === 0), 'zero padding');
  }
  assert.equal(paddingLength(16, 16), 16, 'aligned: one whole block, as strongSwan sends');
  assert.equal(paddingLength(15, 16), 1);
  assert.equal(paddingLength(0, 8), 8);
  assert.equal(paddingLength(17, 8), 7);
});

test('no padding oracle: any last block decrypts without error, whatever its "padding" bytes', () => {
  const cipher = cipherFor(5);
  const key = hex('0123456789abcdef23456789abcdef01456789abcdef0123');
  const iv = hex('1122334455667788');
  const { ciphertext } = encryptMessage({ cipher, key, iv, plaintext: new Uint8Array(23).fill(7) });
  for (let b = 0; b < 256; b++) {
    const mutated = Uint8Array.from(ciphertext);
    mutated[mutated.length - 9]! ^= b; // flips the last plaintext byte (the would-be pad length)
    const { plaintext } = decryptMessage({ cipher, key, iv, ciphertext: mutated });
    assert.equal(plaintext.length, 24);
    assert.equal(plaintext[23], b);
    assert.ok([...plaintext.subarray(0, 8), ...plaintext.subarray(16, 23)].every((x) => x === 7)); // block 1 is garbled by the flip
  }
});

test('refuses encrypted bodies that are empty or not a whole number of blocks (PAYLOAD_MALFORMED), before decrypting', () => {
  const cipher = cipherFor(7, 256);
  const key = new Uint8Array(32), iv = new Uint8Array(16);
  for (const len of [0, 1, 15, 17, 33]) {
    assert.throws(() => decryptMessage({ cipher, key, iv, ciphertext: new Uint8Array(len) }),
      (e: unknown) => e instanceof RemoteProtocolError && e.notify === NotifyType.PAYLOAD_MALFORMED, `len ${len}`);
  }
  assert.throws(() => decryptMessage({ cipher, key: new Uint8Array(16), iv, ciphertext: new Uint8Array(16) }), RangeError);
  assert.throws(() => encryptMessage({ cipher, key, iv: new Uint8Array(8), plaintext: new Uint8Array(16) }), RangeError);
});

test('phase-1 IV = hash(g^xi | g^xr) truncated to the block; phase-2 IV = hash(last block | M-ID)', () => {
  const gxi = new Uint8Array(256).fill(1), gxr = new Uint8Array(256).fill(2);
  const h = createHash('sha256').update(gxi).update(gxr).digest();
  assert.equal(toHex(phase1Iv('sha256', gxi, gxr, 16)), h.subarray(0, 16).toString('hex'));
  assert.equal(toHex(phase1Iv('md5', gxi, gxr, 8)), createHash('md5').update(gxi).update(gxr).digest().subarray(0, 8).toString('hex'));
  const last = hex('00112233445566778899aabbccddeeff');
  const expect = createHash('sha1').update(last).update(hex('deadbeef')).digest().subarray(0, 16).toString('hex');
  assert.equal(toHex(phase2Iv('sha1', last, 0xdeadbeef, 16)), expect);
  assert.equal(toHex(phase2Iv('sha1', last, hex('deadbeef'), 16)), expect);
  assert.throws(() => phase2Iv('sha1', last, 2 ** 32, 16), RangeError);
  assert.throws(() => phase1Iv('md5', gxi, gxr, 32), RangeError);
});

test('CBC chaining: encrypting two messages with nextIv equals one CBC stream', () => {
  const cipher = cipherFor(7, 128);
  const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const iv = hex('000102030405060708090a0b0c0d0e0f');
  const m1 = new Uint8Array(31).fill(0xa1), m2 = new Uint8Array(47).fill(0xb2);
  const e1 = encryptMessage({ cipher, key, iv, plaintext: m1 });
  const e2 = encryptMessage({ cipher, key, iv: e1.nextIv, plaintext: m2 });
  // each message padded with one zero byte: the two bodies form one CBC stream
  const whole = encryptMessage({ cipher, key, iv, plaintext: Uint8Array.from([...m1, 0, ...m2]) });
  assert.equal(toHex(e1.ciphertext) + toHex(e2.ciphertext), toHex(whole.ciphertext.subarray(0, 80)));
  assert.deepEqual(lastCipherBlock(e2.ciphertext, 16), e2.nextIv);
  const d2 = decryptMessage({ cipher, key, iv: e1.nextIv, ciphertext: e2.ciphertext });
  assert.deepEqual(d2.plaintext, Uint8Array.from([...m2, 0]));
  assert.deepEqual(d2.nextIv, e2.nextIv);
});
