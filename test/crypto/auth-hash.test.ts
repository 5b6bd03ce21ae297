// RFC 2409 §5 HASH_I / HASH_R and §5.5/§5.7 Quick Mode and Informational hashes. HASH_R is
// checked against real Aggressive Mode responses: the ike-scan psk-crack lines (GPL, read from
// ../shared only), recomputing SKEYID from the known PSK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deriveSkeyid,
  hashI,
  hashR,
  quickModeHash1,
  quickModeHash2,
  quickModeHash3,
  informationalHash,
  verifyHash,
  natDetectionHash,
  type PrfAlg,
} from '../../src/crypto/index.js';
import { hex, sharedPath, toHex } from './_util.js';

const H = (alg: PrfAlg, key: Uint8Array, ...parts: Uint8Array[]) => createHmac(alg, key).update(Buffer.concat(parts)).digest('hex');

const PSK_OF: Record<string, string> = {
  'psk-crack-md5-abc123.txt': 'abc123',
  'psk-crack-sha1-abc123.txt': 'abc123',
  'psk-crack-md5-sha1-garibaldi.txt': 'garibaldi',
  'psk-crack-md5-65char.txt': '12345678901234567890123456789012345678901234567890123456789012345',
  'psk-crack-sha1-65char.txt': '12345678901234567890123456789012345678901234567890123456789012345',
};

test('recomputes SKEYID and HASH_R of every RFC-conformant ike-scan psk-crack line from its known PSK', (t) => {
  const dir = sharedPath('ike-scan');
  if (!dir) return t.skip('../shared/vectors absent: skipping ike-scan psk-crack HASH_R check');
  const files = readdirSync(dir).filter((f) => f.startsWith('psk-crack-') && !f.includes('nortel'));
  assert.deepEqual(files.sort(), Object.keys(PSK_OF).sort());
  let lines = 0;
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.trim())) {
      // g_xr:g_xi:cky_r:cky_i:sai_b:idir_b:ni_b:nr_b:hash_r
      const [gxr, gxi, ckyR, ckyI, saI, idR, ni, nr, hr] = line.trim().split(':').map(hex) as Uint8Array[];
      const prf: PrfAlg = hr!.length === 16 ? 'md5' : 'sha1';
      const psk = new TextEncoder().encode(PSK_OF[f]!);
      const skeyid = deriveSkeyid({ prf, method: 'psk', psk, nonceI: ni!, nonceR: nr! });
      assert.equal(toHex(skeyid), H(prf, psk, ni!, nr!));
      const got = hashR({ prf, skeyid, gxi: gxi!, gxr: gxr!, ckyI: ckyI!, ckyR: ckyR!, saIBody: saI!, idRBody: idR! });
      assert.equal(toHex(got), toHex(hr!), `${f}: HASH_R`);
      assert.ok(verifyHash(got, hr!));
      // a wrong PSK does not verify
      const wrong = deriveSkeyid({ prf, method: 'psk', psk: new TextEncoder().encode('abc124'), nonceI: ni!, nonceR: nr! });
      assert.equal(verifyHash(hashR({ prf, skeyid: wrong, gxi: gxi!, gxr: gxr!, ckyI: ckyI!, ckyR: ckyR!, saIBody: saI!, idRBody: idR! }), hr!), false);
      lines++;
    }
  }
  assert.equal(lines, 6);
});

test('HASH_I and HASH_R follow RFC 2409 §5 (order of g^x and cookies)', () => {
  const b = (n: number, s: number) => new Uint8Array(n).map((_, i) => (i + s) & 0xff);
  const inp = { prf: 'sha256' as const, skeyid: b(32, 1), gxi: b(64, 2), gxr: b(64, 3), ckyI: b(8, 4), ckyR: b(8, 5), saIBody: b(52, 6) };
  const idI = b(12, 7), idR = b(12, 8);
  assert.equal(toHex(hashI({ ...inp, idIBody: idI })), H('sha256', inp.skeyid, inp.gxi, inp.gxr, inp.ckyI, inp.ckyR, inp.saIBody, idI));
  assert.equal(toHex(hashR({ ...inp, idRBody: idR })), H('sha256', inp.skeyid, inp.gxr, inp.gxi, inp.ckyR, inp.ckyI, inp.saIBody, idR));
});

test('Quick Mode HASH(1), HASH(2), HASH(3) and Informational HASH(1) follow RFC 2409 §5.5 / §5.7', () => {
  const skeyidA = hex('a1'.repeat(20));
  const mid = hex('01020304');
  const after = hex('0a000014' + 'ee'.repeat(16) + '00000008deadbeef');
  const ni = hex('11'.repeat(16)), nr = hex('22'.repeat(16));
  const base = { prf: 'sha1' as const, skeyidA, messageId: 0x01020304 };
  assert.equal(toHex(quickModeHash1({ ...base, afterHash: after })), H('sha1', skeyidA, mid, after));
  assert.equal(toHex(quickModeHash2({ ...base, nonceI: ni, afterHash: after })), H('sha1', skeyidA, mid, ni, after));
  assert.equal(toHex(quickModeHash3({ ...base, nonceI: ni, nonceR: nr })), H('sha1', skeyidA, Uint8Array.of(0), mid, ni, nr));
  assert.equal(toHex(informationalHash({ ...base, messageId: mid, afterHash: after })), H('sha1', skeyidA, mid, after));
  assert.throws(() => quickModeHash1({ ...base, messageId: hex('010203'), afterHash: after }), RangeError);
});

test('verifyHash rejects truncated, extended and altered hashes', () => {
  const h = hex('00112233445566778899aabbccddeeff00112233');
  assert.equal(verifyHash(h, Uint8Array.from(h)), true);
  assert.equal(verifyHash(h, h.subarray(0, 19)), false);
  assert.equal(verifyHash(h, Uint8Array.from([...h, 0])), false);
  const x = Uint8Array.from(h);
  x[19]! ^= 1;
  assert.equal(verifyHash(h, x), false);
  assert.equal(verifyHash(h, new Uint8Array(0)), false);
});

test('NAT-D hash = hash(CKY-I | CKY-R | IP | Port) per RFC 3947 §3.2', () => {
  const ckyI = hex('29695b10dec6442c'), ckyR = hex('0123456789abcdef');
  const ip4 = hex('c6120001'), ip6 = hex('20010db8000000000000000000000001');
  assert.equal(toHex(natDetectionHash('sha1', ckyI, ckyR, ip4, 500)),
    createHash('sha1').update(Buffer.concat([ckyI, ckyR, ip4, hex('01f4')])).digest('hex'));
  assert.equal(toHex(natDetectionHash('sha256', ckyI, ckyR, ip6, 4500)),
    createHash('sha256').update(Buffer.concat([ckyI, ckyR, ip6, hex('1194')])).digest('hex'));
  assert.throws(() => natDetectionHash('sha1', ckyI, ckyR, hex('c61200'), 500), RangeError);
  assert.throws(() => natDetectionHash('sha1', ckyI, ckyR, ip4, 65536), RangeError);
});
