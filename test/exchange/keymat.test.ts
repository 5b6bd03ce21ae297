// One scenario per PRF: KEYMAT checked against an independent computation written here from the
// RFC 2409 formulas (§5 SKEYID family, App. B IVs, §5.5 KEYMAT) with node:crypto createHmac,
// createHash, createDecipheriv and BigInt modular exponentiation, reading only the wire and the
// initiator's recorded randomness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, getDiffieHellman } from 'node:crypto';
import { decodeHeader, decodePayloads } from '../../src/codec/index.js';
import { dhPrivateKeyLength } from '../../src/crypto/index.js';
import { Pair, conn, seededRandom } from '../helpers/pair.js';

const HASHES: Array<[number, string, number]> = [
  [1, 'md5', 16],
  [2, 'sha1', 20],
  [4, 'sha256', 32],
  [5, 'sha384', 48],
  [6, 'sha512', 64],
];

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
const big = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex'));
const bytes = (v: bigint, n: number) => Buffer.from(v.toString(16).padStart(n * 2, '0'), 'hex');

const CASES: Array<[number, string, number, boolean]> = [...HASHES.map(([a, b, c]) => [a, b, c, false] as [number, string, number, boolean]), [4, 'sha256', 32, true], [2, 'sha1', 20, true]];
for (const [hashId, alg, hlen, pfs] of CASES) {
  test(pfs
    ? `KEYMAT with PFS = prf(SKEYID_d, g(qm)^xy | protocol | SPI | Ni_b | Nr_b), prf HMAC-${alg}`
    : `KEYMAT = prf(SKEYID_d, protocol | SPI | Ni_b | Nr_b) with prf HMAC-${alg}`, () => {
    const draws: Uint8Array[] = [];
    const base = seededRandom(`keymat-${alg}`);
    // copies: the engine wipes the DH part of a draw once its key pair holds it
    const rec = (n: number) => {
      const b = base(n);
      draws.push(Uint8Array.from(b));
      return b;
    };
    const pair = new Pair({ a: { random: rec }, seed: `${alg}${pfs}` });
    const ike = [{ encryption: 7, keyLength: 128, hash: hashId, group: 14 }];
    const ipsec = [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, ...(pfs ? { group: 14 } : {}) }];
    pair.a.setConnection(conn(pair, 'a', { ike, ipsec }));
    pair.b.setConnection(conn(pair, 'b', { ike, ipsec }));
    pair.a.initiate(pair.now, 'c');
    pair.run(2000);
    const aSa = pair.ev('a', 'ipsec-sa-established')[0]!.sa;
    const bSa = pair.ev('b', 'ipsec-sa-established')[0]!.sa;

    const mm = pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 2);
    const qm = pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 32);
    const h3 = decodeHeader(mm[2]!.data);
    const p3 = decodePayloads(h3.nextPayload, mm[2]!.data.subarray(28));
    const p4 = decodePayloads(decodeHeader(mm[3]!.data).nextPayload, mm[3]!.data.subarray(28));
    const gxi = (p3.find((p) => p.type === 'KE') as { data: Uint8Array }).data;
    const niB = (p3.find((p) => p.type === 'NONCE') as { data: Uint8Array }).data;
    const gxr = (p4.find((p) => p.type === 'KE') as { data: Uint8Array }).data;
    const nrB = (p4.find((p) => p.type === 'NONCE') as { data: Uint8Array }).data;
    const ckyI = h3.initiatorCookie;
    const ckyR = h3.responderCookie;

    // the initiator's private exponent starts one of its random draws (a draw may carry a nonce
    // after it): the one with 2^x = g^xi
    const p = big(getDiffieHellman('modp14').getPrime());
    const xLen = dhPrivateKeyLength(14);
    const candidates = draws.filter((d) => d.length >= xLen).map((d) => big(d.subarray(0, xLen)));
    const x = candidates.find((v) => v > 1n && modpow(2n, v, p) === big(gxi));
    assert.ok(x !== undefined, 'initiator DH private value found among its random draws');
    const gxy = bytes(modpow(big(gxr), x, p), 256);

    const hmac = (key: Uint8Array, ...d: Uint8Array[]) => {
      const h = createHmac(alg, key);
      for (const x of d) h.update(x);
      return h.digest();
    };
    const hash = (...d: Uint8Array[]) => {
      const h = createHash(alg);
      for (const x of d) h.update(x);
      return h.digest();
    };
    const psk = Buffer.from('correct horse battery staple');
    const skeyid = hmac(psk, niB, nrB);
    const skeyidD = hmac(skeyid, gxy, ckyI, ckyR, Buffer.of(0));
    const skeyidA = hmac(skeyid, skeyidD, gxy, ckyI, ckyR, Buffer.of(1));
    const skeyidE = hmac(skeyid, skeyidA, gxy, ckyI, ckyR, Buffer.of(2));
    assert.ok(skeyidE.length >= 16 && hlen === skeyidE.length);
    const ka = skeyidE.subarray(0, 16);
    assert.deepEqual(Buffer.from(pair.ev('a', 'phase1-established')[0]!.keyLog.encryptionKey), ka);

    // App. B: phase-1 IV chain through MM5 and MM6, then QM IV = hash(last block | M-ID)
    const last = (m: Uint8Array) => m.subarray(m.length - 16);
    const decrypt = (m: Uint8Array, v: Uint8Array) => {
      const d = createDecipheriv('aes-128-cbc', ka, v);
      d.setAutoPadding(false);
      return Buffer.concat([d.update(m.subarray(28)), d.final()]);
    };
    const mm5 = decodePayloads(5, decrypt(mm[4]!.data, hash(gxi, gxr).subarray(0, 16)), { allowTrailing: true });
    assert.deepEqual(mm5.map((p) => p.type), ['ID', 'HASH', 'N']);
    const mm6 = decodePayloads(5, decrypt(mm[5]!.data, last(mm[4]!.data)), { allowTrailing: true });
    assert.deepEqual(mm6.map((p) => p.type), ['ID', 'HASH']);
    const iv = last(mm[5]!.data);
    const mid = qm[0]!.data.subarray(20, 24);
    const q1 = decodePayloads(8, decrypt(qm[0]!.data, hash(iv, mid).subarray(0, 16)), { allowTrailing: true });
    const q2 = decodePayloads(8, decrypt(qm[1]!.data, last(qm[0]!.data)), { allowTrailing: true });
    const sa1 = q1.find((p) => p.type === 'SA') as unknown as { proposals: Array<{ spi: Uint8Array }> };
    const sa2 = q2.find((p) => p.type === 'SA') as unknown as { proposals: Array<{ spi: Uint8Array }> };
    const qni = (q1.find((p) => p.type === 'NONCE') as { data: Uint8Array }).data;
    const qnr = (q2.find((p) => p.type === 'NONCE') as { data: Uint8Array }).data;
    // PFS: g(qm)^xy from the initiator's Quick Mode DH value (again found among its draws)
    let gqm: Uint8Array = new Uint8Array(0);
    if (pfs) {
      const kei = (q1.find((p) => p.type === 'KE') as { data: Uint8Array }).data;
      const ker = (q2.find((p) => p.type === 'KE') as { data: Uint8Array }).data;
      const y = candidates.find((v) => v > 1n && v !== x && modpow(2n, v, p) === big(kei));
      assert.ok(y !== undefined, 'Quick Mode DH private value found');
      gqm = bytes(modpow(big(ker), y, p), 256);
    } else {
      assert.equal(q1.some((p) => p.type === 'KE'), false);
    }
    const keymat = (spi: Uint8Array, len: number) => {
      let out = Buffer.alloc(0);
      let k: Buffer = Buffer.alloc(0);
      while (out.length < len) {
        k = hmac(skeyidD, k, gqm, Buffer.of(3), spi, qni, qnr);
        out = Buffer.concat([out, k]);
      }
      return out.subarray(0, len);
    };
    const iSpi = sa1.proposals[0]!.spi;
    const rSpi = sa2.proposals[0]!.spi;
    const a = aSa.protocols[0]!;
    const b = bSa.protocols[0]!;
    assert.deepEqual(Buffer.from(a.inbound.spi), Buffer.from(iSpi));
    assert.deepEqual(Buffer.from(b.inbound.spi), Buffer.from(rSpi));
    assert.deepEqual(Buffer.from(a.inbound.keymat), keymat(iSpi, 48));
    assert.deepEqual(Buffer.from(a.outbound.keymat), keymat(rSpi, 48));
    assert.deepEqual(Buffer.from(b.inbound.keymat), keymat(rSpi, 48));
    assert.deepEqual(Buffer.from(b.outbound.keymat), keymat(iSpi, 48));
  });
}
