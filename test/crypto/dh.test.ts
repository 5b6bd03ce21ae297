// Diffie-Hellman: RFC 3526 / RFC 2409 / RFC 5114 group constants, RFC 5903 and RFC 5114 App. A
// vectors, fixed-length outputs with leading zeros, and every invalid peer public value
// (SHAPES.md #7, #24, #38) refused with INVALID_KEY_INFORMATION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getDiffieHellman, createECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DH_GROUPS,
  dhGroupInfo,
  isDhGroupAllowed,
  dhPrivateKeyLength,
  dhPublicKey,
  dhSharedSecret,
  validateDhPublicKey,
  dhKeyPair,
  dhNormalizePrivateKey,
} from '../../src/crypto/index.js';
import { RemoteProtocolError, NotifyType } from '../../src/index.js';
import { hex, loadVectors, sharedPath, toHex } from './_util.js';

const groups = loadVectors('modp-groups-rfc2409-3526-5114.json').groups as Record<string, { p: string; g: string; q?: string }>;
const MODP_IDS = [1, 2, 5, 14, 15, 16, 17, 18, 22, 23, 24];
const ECP_IDS = [19, 20, 21, 25, 26, 27, 28, 29, 30];

const big = (b: Uint8Array) => BigInt('0x' + (toHex(b) || '0'));
const toBytes = (v: bigint, len: number) => hex(v.toString(16).padStart(len * 2, '0'));
function modpow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
function isInvalidKey(e: unknown): boolean {
  return e instanceof RemoteProtocolError && e.notify === NotifyType.INVALID_KEY_INFORMATION;
}

test('the group table: ids, sizes, weak flags and opt-in', () => {
  assert.deepEqual(DH_GROUPS.map((g) => g.id), [1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  for (const id of [1, 2, 5, 22, 23, 24, 25]) {
    assert.equal(dhGroupInfo(id)!.weak, true, `group ${id} weak`);
    assert.ok(dhGroupInfo(id)!.weakReason);
    assert.equal(isDhGroupAllowed(id), false);
    assert.equal(isDhGroupAllowed(id, { allowWeak: true }), true);
  }
  for (const id of [14, 15, 16, 17, 18, 19, 20, 21, 26, 27, 28, 29, 30]) assert.equal(isDhGroupAllowed(id), true);
  for (const id of [0, 3, 4, 6, 13, 31, 1025, 65535]) {
    assert.equal(dhGroupInfo(id), undefined);
    assert.equal(isDhGroupAllowed(id, { allowWeak: true }), false);
  }
  assert.equal(dhGroupInfo(19)!.publicKeyLength, 64);
  assert.equal(dhGroupInfo(19)!.sharedSecretLength, 32);
  assert.equal(dhGroupInfo(21)!.publicKeyLength, 132);
  assert.equal(dhPrivateKeyLength(14), 32);
  assert.equal(dhPrivateKeyLength(16), 38);
  assert.equal(dhPrivateKeyLength(19), 40);
  for (const id of [22, 23, 24]) assert.ok(dhPrivateKeyLength(id) * 8 < groups[String(id)]!.q!.length * 4, `group ${id}: x < q always`);
});

test('MODP primes equal the RFC constants, and the 1 < y < p-1 boundary sits exactly at p', () => {
  for (const id of MODP_IDS) {
    const c = groups[String(id)]!;
    const p = hex(c.p);
    if (id < 22) assert.equal(toHex(getDiffieHellman(`modp${id}`).getPrime()), c.p, `node's modp${id} is the RFC prime`);
    const P = big(p);
    const len = p.length;
    // g^1 = g: our generator is the RFC's
    assert.equal(big(dhPublicKey(id, Uint8Array.of(1))), BigInt('0x' + c.g), `group ${id} generator`);
    if (id < 22) validateDhPublicKey(id, toBytes(P - 2n, len)); // largest valid value of a safe-prime group
    if (id < 22) validateDhPublicKey(id, toBytes(2n, len)); // smallest valid value
    if (id < 22) validateDhPublicKey(id, toBytes(256n, len));
    assert.throws(() => validateDhPublicKey(id, toBytes(P - 1n, len)), isInvalidKey);
  }
});

test('MODP public values agree with an independent BigInt exponentiation (groups 14, 22)', () => {
  for (const id of [14, 22]) {
    const c = groups[String(id)]!;
    const P = BigInt('0x' + c.p), G = BigInt('0x' + c.g);
    const len = c.p.length / 2;
    const x = hex('7f'.repeat(dhPrivateKeyLength(id)));
    const y = dhPublicKey(id, x);
    assert.equal(y.length, len);
    assert.equal(toHex(y), toHex(toBytes(modpow(G, big(x), P), len)));
  }
});

test('RFC 5903 §8 vectors (groups 19, 20, 21): KE data x||y and g^ir = x only', () => {
  const { vectors } = loadVectors('ecp-rfc5903.json');
  for (const [name, v] of Object.entries<any>(vectors)) {
    const g = v.ike_group as number;
    assert.equal(toHex(dhPublicKey(g, hex(v.i))), v.ke_i, `${name} ke_i`);
    assert.equal(toHex(dhPublicKey(g, hex(v.r))), v.ke_r, `${name} ke_r`);
    assert.equal(toHex(dhSharedSecret(g, hex(v.i), hex(v.ke_r))), v.g_ir, `${name} initiator side`);
    assert.equal(toHex(dhSharedSecret(g, hex(v.r), hex(v.ke_i))), v.g_ir, `${name} responder side`);
    const kp = dhKeyPair(g, hex(v.i));
    assert.equal(toHex(kp.publicKey), v.ke_i);
    assert.equal(toHex(kp.computeSharedSecret(hex(v.ke_r))), v.g_ir);
    kp.wipe();
    assert.throws(() => kp.computeSharedSecret(hex(v.ke_r)));
  }
});

test('RFC 5114 App. A vectors (groups 22, 23, 24 and ECP 19, 20, 21)', () => {
  const { vectors } = loadVectors('dh-rfc5114-appendix-a.json');
  let n = 0;
  for (const [name, v] of Object.entries<any>(vectors)) {
    const g = v.ike_group as number;
    assert.equal(toHex(dhPublicKey(g, hex(v.x_i))), v.pub_i, `${name} pub_i`);
    assert.equal(toHex(dhPublicKey(g, hex(v.x_r))), v.pub_r, `${name} pub_r`);
    assert.equal(toHex(dhSharedSecret(g, hex(v.x_i), hex(v.pub_r))), v.shared, `${name} shared i`);
    assert.equal(toHex(dhSharedSecret(g, hex(v.x_r), hex(v.pub_i))), v.shared, `${name} shared r`);
    validateDhPublicKey(g, hex(v.pub_i)); // genuine subgroup elements pass the y^q check
    n++;
  }
  assert.equal(n, 6);
});

test('RFC 5114 App. A.4/A.5 (groups 25, 26) and RFC 6932/7027 Brainpool (groups 27-30) vectors', () => {
  const { vectors } = loadVectors('dh-ecp-rfc5114-rfc6932.json');
  let n = 0;
  for (const [name, v] of Object.entries<any>(vectors)) {
    const g = v.ike_group as number;
    assert.equal(toHex(dhPublicKey(g, hex(v.x_i))), v.pub_i, `${name} pub_i`);
    assert.equal(toHex(dhPublicKey(g, hex(v.x_r))), v.pub_r, `${name} pub_r`);
    assert.equal(toHex(dhSharedSecret(g, hex(v.x_i), hex(v.pub_r))), v.shared, `${name} shared i`);
    assert.equal(toHex(dhKeyPair(g, hex(v.x_r)).computeSharedSecret(hex(v.pub_i))), v.shared, `${name} shared r`);
    n++;
  }
  assert.equal(n, 6);
});

test('strongSwan MODP vectors for groups 1-18 (from ../shared, not copied: no RFC source)', (t) => {
  const p = sharedPath('crypto/dh-ke-vectors.json');
  if (!p) return t.skip('../shared/vectors absent: skipping strongSwan MODP DH vectors');
  const { vectors } = JSON.parse(readFileSync(p, 'utf8'));
  let n = 0;
  for (const [name, v] of Object.entries<any>(vectors)) {
    const g = v.ike_group as number;
    if (g > 18) continue;
    assert.equal(toHex(dhPublicKey(g, hex(v.x_i))), v.pub_i, `${name} pub_i`);
    assert.equal(toHex(dhSharedSecret(g, hex(v.x_r), hex(v.pub_i))), v.shared, `${name}`);
    n++;
  }
  assert.equal(n, 8);
});

test('public values and g^xy keep their leading zero bytes (fixed length, big-endian)', () => {
  // MODP group 14: find small exponents whose g^x starts with a zero byte.
  let found = 0;
  for (let i = 1; i < 4000 && found < 2; i++) {
    const x = toBytes(BigInt(i) * 0x1000193n, 8);
    const y = dhPublicKey(14, x);
    assert.equal(y.length, 256);
    if (y[0] === 0) {
      found++;
      // the peer side computes g^(x*z) with leading zeros kept too
      const z = hex('05');
      const s = dhSharedSecret(14, z, y);
      assert.equal(s.length, 256);
      assert.deepEqual(s, dhSharedSecret(14, x, dhPublicKey(14, z)));
    }
  }
  assert.equal(found, 2, 'found public values with a leading zero');
  // ECP group 19: a shared x coordinate with a leading zero byte.
  const peer = dhPublicKey(19, hex('03'));
  let zeroX = 0;
  for (let i = 1; i < 5000 && zeroX === 0; i++) {
    const s = dhSharedSecret(19, toBytes(BigInt(i), 32), peer);
    assert.equal(s.length, 32);
    if (s[0] === 0) zeroX = i;
  }
  assert.ok(zeroX > 0);
});

test('dhSharedSecret works as the first call of a process for its group (shared object still empty)', async () => {
  const { spawnSync } = await import('node:child_process');
  const code = `import('./build/src/crypto/index.js').then((m) => {
    for (const g of [19, 20, 21, 28]) {
      const peer = m.dhKeyPair(g, new Uint8Array(m.dhPrivateKeyLength(g)).fill(3)).publicKey;
      const x = new Uint8Array(m.dhPrivateKeyLength(g)).fill(5);
      const a = Buffer.from(m.dhSharedSecret(g, x, peer)).toString('hex');
      const b = Buffer.from(m.dhKeyPair(g, x).computeSharedSecret(peer)).toString('hex');
      if (a !== b) throw new Error('mismatch ' + g);
    }
    console.log('ok');
  });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'ok', r.stderr);
});

test('stateless calls interleaved across SAs give the same results as per-SA key pairs', () => {
  for (const g of [14, 19, 20]) {
    const xs = [1, 2, 3].map((k) => new Uint8Array(dhPrivateKeyLength(g)).fill(0x11 * k));
    const pubs = xs.map((x) => dhPublicKey(g, x));
    const pairs = xs.map((x) => dhKeyPair(g, x));
    pairs.forEach((kp, i) => assert.deepEqual(kp.publicKey, pubs[i]));
    const s01 = dhSharedSecret(g, xs[0]!, pubs[1]!);
    const s21 = dhSharedSecret(g, xs[2]!, pubs[1]!);
    const s10 = dhSharedSecret(g, xs[1]!, pubs[0]!);
    assert.deepEqual(s01, s10);
    assert.notDeepEqual(s01, s21);
    assert.deepEqual(pairs[0]!.computeSharedSecret(pubs[1]!), s01);
    assert.deepEqual(pairs[1]!.computeSharedSecret(pubs[0]!), s01);
  }
});

test('ECP private bytes are reduced into [1, n-1]; MODP refuses a zero or oversized exponent', () => {
  const n256 = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const r = dhNormalizePrivateKey(19, new Uint8Array(40).fill(0xff));
  const expect = 1n + (BigInt('0x' + 'ff'.repeat(40)) % (n256 - 1n));
  assert.equal(big(r), expect);
  assert.equal(big(dhNormalizePrivateKey(19, toBytes(n256 - 1n, 32))), n256 - 1n, 'in-range scalar unchanged');
  assert.equal(big(dhNormalizePrivateKey(19, toBytes(n256, 32))), 1n + (n256 % (n256 - 1n)));
  // the node:crypto ECDH result for the reduced scalar
  const e = createECDH('prime256v1');
  e.setPrivateKey(r);
  assert.equal(toHex(dhPublicKey(19, new Uint8Array(40).fill(0xff))), toHex(e.getPublicKey().subarray(1)));
  assert.throws(() => dhPublicKey(14, new Uint8Array(32)), RangeError);
  assert.throws(() => dhPublicKey(14, new Uint8Array(0)), RangeError);
  assert.throws(() => dhPublicKey(14, new Uint8Array(257).fill(1)), RangeError);
  assert.throws(() => dhPublicKey(99, Uint8Array.of(1)), RangeError);
  // x = q for an RFC 5114 group: g^q = 1, refused as a caller error
  assert.throws(() => dhPublicKey(22, hex(groups['22']!.q!)), RangeError);
});

test('rejects every invalid MODP public value with INVALID_KEY_INFORMATION', () => {
  for (const id of MODP_IDS) {
    const p = hex(groups[String(id)]!.p);
    const P = big(p);
    const len = p.length;
    const bad: Array<[string, Uint8Array]> = [
      ['0', new Uint8Array(len)],
      ['1', toBytes(1n, len)],
      ['p-1', toBytes(P - 1n, len)],
      ['p', p],
      ['p+1', toBytes(P + 1n, len)],
      ['all ones', new Uint8Array(len).fill(0xff)],
      ['short', toBytes(5n, len).subarray(1)],
      ['long', toBytes(5n, len + 1)],
      ['empty', new Uint8Array(0)],
    ];
    const x = new Uint8Array(dhPrivateKeyLength(id)).fill(0x42);
    for (const [what, y] of bad) {
      assert.throws(() => validateDhPublicKey(id, y), isInvalidKey, `group ${id}: ${what} (validate)`);
      assert.throws(() => dhSharedSecret(id, x, y), isInvalidKey, `group ${id}: ${what} (shared secret)`);
    }
  }
});

test('groups 22-24: small-subgroup elements and elements outside the q-subgroup are refused (y^q != 1)', () => {
  const SMALL = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n, 43n, 47n, 53n, 59n, 61n, 67n, 71n, 73n, 79n, 83n, 89n, 97n];
  for (const id of [22, 23, 24]) {
    const c = groups[String(id)]!;
    const P = BigInt('0x' + c.p), Q = BigInt('0x' + c.q!);
    const len = c.p.length / 2;
    const cofactor = (P - 1n) / Q;
    const orders = SMALL.filter((r) => cofactor % r === 0n && r > 2n);
    assert.ok(orders.length > 0, `group ${id} has a small odd factor in (p-1)/q`);
    const x = new Uint8Array(dhPrivateKeyLength(id)).fill(0x42);
    for (const r of orders.slice(0, 3)) {
      // an element of order r: h^((p-1)/r) for some h, != 1
      let el = 1n;
      for (let h = 2n; el === 1n; h++) el = modpow(h, (P - 1n) / r, P);
      assert.equal(modpow(el, r, P), 1n);
      const y = toBytes(el, len);
      assert.throws(() => validateDhPublicKey(id, y), isInvalidKey, `group ${id}: element of order ${r}`);
      assert.throws(() => dhSharedSecret(id, x, y), isInvalidKey);
    }
    // 2 generates far more than the q-subgroup here
    assert.throws(() => validateDhPublicKey(id, toBytes(2n, len)), isInvalidKey, `group ${id}: y = 2`);
    // g^k for a k is accepted
    validateDhPublicKey(id, dhPublicKey(id, hex('1234')));
  }
});

test('rejects every invalid ECP public value with INVALID_KEY_INFORMATION', () => {
  const P: Record<number, string> = {
    19: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
    20: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff',
    21: '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    25: 'fffffffffffffffffffffffffffffffeffffffffffffffff',
    26: 'ffffffffffffffffffffffffffffffff000000000000000000000001',
    27: 'd7c134aa264366862a18302575d1d787b09f075797da89f57ec8c0ff',
    28: 'a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377',
    29: '8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53',
    30: 'aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3',
  };
  for (const id of ECP_IDS) {
    const f = dhGroupInfo(id)!.publicKeyLength / 2;
    const p = hex(P[id]!);
    const good = dhPublicKey(id, hex('2a'));
    validateDhPublicKey(id, good);
    const gx = good.subarray(0, f), gy = good.subarray(f);
    // (x, p - y) is the negated point: valid, which also proves the p constant is right
    const negY = toBytes(big(p) - big(gy), f);
    validateDhPublicKey(id, Uint8Array.from([...gx, ...negY]));
    const offCurve = Uint8Array.from(good);
    offCurve[offCurve.length - 1]! ^= 1;
    const bad: Array<[string, Uint8Array]> = [
      ['all zero (point at infinity shape)', new Uint8Array(2 * f)],
      ['all ones', new Uint8Array(2 * f).fill(0xff)],
      ['off curve', offCurve],
      ['x = p', Uint8Array.from([...p, ...gy])],
      ['x = p + x (x >= p, same residue)', Uint8Array.from([...toBytes(big(p) + big(gx) < 1n << BigInt(8 * f) ? big(p) + big(gx) : big(p), f), ...gy])],
      ['y = p + y (y >= p)', Uint8Array.from([...gx, ...toBytes(big(p) + big(gy) < 1n << BigInt(8 * f) ? big(p) + big(gy) : big(p), f)])],
      ['short', good.subarray(1)],
      ['long', Uint8Array.from([...good, 0])],
      ['with 0x04 prefix', Uint8Array.from([4, ...good])],
      ['empty', new Uint8Array(0)],
    ];
    const x = new Uint8Array(dhPrivateKeyLength(id)).fill(0x42);
    const kp = dhKeyPair(id, x);
    for (const [what, y] of bad) {
      assert.throws(() => validateDhPublicKey(id, y), isInvalidKey, `group ${id}: ${what} (validate)`);
      assert.throws(() => dhSharedSecret(id, x, y), isInvalidKey, `group ${id}: ${what} (shared secret)`);
      assert.throws(() => kp.computeSharedSecret(y), isInvalidKey, `group ${id}: ${what} (key pair)`);
    }
  }
});
