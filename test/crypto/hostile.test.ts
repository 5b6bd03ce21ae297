// Every function that takes bytes from the network either returns or throws one of the typed
// errors (RemoteProtocolError with its notify), never anything else, for arbitrary input
// (fast-check, bounded runs so the suite stays fast).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  validateDhPublicKey,
  dhSharedSecret,
  dhKeyPair,
  dhPrivateKeyLength,
  dhPublicKey,
  decryptMessage,
  cipherFor,
  rsaVerifyHash,
  parseCertificate,
  certificateMatchesId,
  dnEqual,
} from '../../src/crypto/index.js';
import { RemoteProtocolError, NotifyType } from '../../src/index.js';

function typed(notify: number) {
  return (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof RemoteProtocolError, `unexpected ${String(e)}`);
      assert.equal(e.notify, notify);
    }
  };
}

test('DH: arbitrary peer KE data is accepted or refused with INVALID_KEY_INFORMATION only', () => {
  const check = typed(NotifyType.INVALID_KEY_INFORMATION);
  const pairs = new Map([19, 20, 14].map((g) => [g, dhKeyPair(g, new Uint8Array(dhPrivateKeyLength(g)).fill(3))]));
  fc.assert(
    fc.property(fc.constantFrom(14, 19, 20, 22), fc.uint8Array({ maxLength: 300 }), (g, bytes) => {
      check(() => validateDhPublicKey(g, bytes));
      check(() => dhSharedSecret(g, new Uint8Array(dhPrivateKeyLength(g)).fill(5), bytes));
      const kp = pairs.get(g);
      if (kp) check(() => kp.computeSharedSecret(bytes));
    }),
    { numRuns: 150 },
  );
  // right-length random values: mostly off-curve for ECP, mostly valid for MODP 14
  fc.assert(
    fc.property(fc.constantFrom(14, 19, 20, 21, 23), fc.integer({ min: 0, max: 2 ** 31 }), (g, seed) => {
      const len = g === 14 || g === 23 ? 256 : g === 19 ? 64 : g === 20 ? 96 : 132;
      const y = new Uint8Array(len).map((_, i) => (seed * (i + 7) * 2654435761) >>> 24);
      check(() => validateDhPublicKey(g, y));
    }),
    { numRuns: 60 },
  );
});

test('decryptMessage: any body is decrypted or refused with PAYLOAD_MALFORMED only', () => {
  const check = typed(NotifyType.PAYLOAD_MALFORMED);
  const aes = cipherFor(7, 128), des3 = cipherFor(5);
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 200 }), (useAes, body) => {
      const cipher = useAes ? aes : des3;
      check(() => {
        const r = decryptMessage({ cipher, key: new Uint8Array(cipher.keyLength), iv: new Uint8Array(cipher.blockSize), ciphertext: body });
        assert.equal(r.plaintext.length, body.length);
      });
    }),
    { numRuns: 300 },
  );
});

test('rsaVerifyHash: arbitrary signatures are refused with AUTHENTICATION_FAILED only', () => {
  const check = typed(NotifyType.AUTHENTICATION_FAILED);
  const pub = createPublicKey(createPrivateKey(readFileSync('test/vectors/crypto/certs/leaf.key')));
  const hash = new Uint8Array(20).fill(1);
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 256, maxLength: 256 })), (sig) => {
      assert.throws(() => rsaVerifyHash(pub, hash, sig), (e: unknown) => e instanceof RemoteProtocolError && e.notify === NotifyType.AUTHENTICATION_FAILED);
      check(() => rsaVerifyHash(pub, hash, sig));
    }),
    { numRuns: 100 },
  );
});

test('certificates: arbitrary and mutated DER parse or fail with INVALID_CERT_ENCODING only; ID matching never throws', () => {
  const check = typed(NotifyType.INVALID_CERT_ENCODING);
  const leaf = new Uint8Array(new X509Certificate(readFileSync('test/vectors/crypto/certs/leaf.pem')).raw);
  const cert = parseCertificate(leaf);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: leaf.length - 1 }), fc.integer({ min: 1, max: 255 }), (junk, pos, x) => {
      check(() => parseCertificate(junk));
      const m = Uint8Array.from(leaf);
      m[pos]! ^= x;
      check(() => parseCertificate(m));
      check(() => parseCertificate(leaf.subarray(0, pos)));
      for (const t of [1, 2, 3, 5, 9, 11, 255]) assert.equal(typeof certificateMatchesId(cert, t, junk), 'boolean');
      assert.equal(typeof dnEqual(junk, m.subarray(0, 40)), 'boolean');
    }),
    { numRuns: 150 },
  );
});

test('stateless DH and per-SA key pairs agree under any interleaving of SAs (fast-check)', () => {
  const groups = [14, 19, 26];
  const peers = new Map(groups.map((g) => [g, dhKeyPair(g, new Uint8Array(dhPrivateKeyLength(g)).fill(0x5a)).publicKey]));
  fc.assert(
    fc.property(
      fc.constantFrom(...groups),
      fc.array(fc.uint8Array({ minLength: 8, maxLength: 48 }), { minLength: 2, maxLength: 4 }),
      fc.array(fc.nat(), { minLength: 4, maxLength: 12 }),
      (g, keys, order) => {
        const xs = keys.map((k) => (k.every((b) => b === 0) ? Uint8Array.of(1, ...k) : k));
        const expected = xs.map((x) => dhKeyPair(g, x).computeSharedSecret(peers.get(g)!));
        for (const i of order) {
          const j = i % xs.length;
          const x = xs[j]!;
          if (i % 3 === 0) dhPublicKey(g, x); // moves the shared object to another SA's key
          assert.deepEqual(dhSharedSecret(g, x, peers.get(g)!), expected[j]);
        }
      },
    ),
    { numRuns: 40 },
  );
});
