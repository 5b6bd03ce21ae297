// Aggressive Mode PSK (both roles) and RSA signatures in Main and Aggressive Mode (RFC 2409 §5.1,
// §5.4), with CERT/CR and the ID types IPV4_ADDR, IPV6_ADDR, FQDN, USER_FQDN, DER_ASN1_DN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeHeader, decodeMessage } from '../../src/codec/index.js';
import type { Connection, Identity } from '../../src/exchange/index.js';
import { inspect } from '../../src/exchange/inspect.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';

const CERTS = 'test/vectors/crypto/certs';
const when = () => Date.parse('2027-06-01T00:00:00Z');
const der = (pem: string) => new Uint8Array(new X509Certificate(readFileSync(pem)).raw);

test('Aggressive Mode PSK: HDR, SA, KE, Ni, IDii --> ; <-- HDR, SA, KE, Nr, IDir, HASH_R ; HDR*, HASH_I --> (responder opted in)', async (t) => {
  for (const initiator of ['a', 'b'] as const) {
    await t.test(`${initiator} initiates`, () => {
      const pair = new Pair({ seed: `am-${initiator}` });
      const ids = { a: { type: 'fqdn', value: 'west.example' } as Identity, b: { type: 'user-fqdn', value: 'east@example.org' } as Identity };
      // fragmentation off: the exact payload lists below are of whole messages (fragmentation.test.ts covers it)
      pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', allowAggressivePsk: true, localId: ids.a, remoteId: ids.b, fragmentation: 'no' }));
      pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', allowAggressivePsk: true, localId: ids.b, remoteId: ids.a, fragmentation: 'no' }));
      pair.ep(initiator).initiate(pair.now, 'c');
      pair.run(2000);
      const am = pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 4);
      assert.equal(am.length, 3);
      // VIDs: DPD, then RFC 3947 NAT-T (with NAT-D in AM2/AM3, see natt.test.ts)
      assert.deepEqual(decodeMessage(am[0]!.data).payloads.map((p) => p.type), ['SA', 'KE', 'NONCE', 'ID', 'VID', 'VID']);
      assert.deepEqual(decodeMessage(am[1]!.data).payloads.map((p) => p.type), ['SA', 'KE', 'NONCE', 'ID', 'HASH', 'VID', 'VID', 'NAT-D', 'NAT-D']);
      // AM3 encrypted (strongSwan requires HASH_I encrypted), HASH first
      assert.equal(decodeHeader(am[2]!.data).flags & 1, 1);
      assert.equal(decodeHeader(am[2]!.data).nextPayload, 8);
      assertMirrored(pair, assert);
      const other = initiator === 'a' ? 'b' : 'a';
      assert.deepEqual(pair.ev(other, 'phase1-established')[0]!.peerId, ids[initiator]);
      assert.equal(pair.ev(initiator, 'phase1-established')[0]!.sa.exchange, 'aggressive');
    });
  }
});

test('Aggressive Mode PSK: an identity the responder does not know → NO_PROPOSAL_CHOSEN (as for a refused known one: issue 9.10), no state', () => {
  const pair = new Pair({ seed: 'am-badid' });
  pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', localId: { type: 'fqdn', value: 'mallory.example' }, keyingTries: 1 }));
  pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', allowAggressivePsk: true, remoteId: { type: 'fqdn', value: 'west.example' } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(100);
  const r = decodeMessage(pair.sentBy('b')[0]!.data);
  assert.equal((r.payloads[0] as { notifyType: number }).notifyType, 14);
  assert.equal(pair.b.isakmpSas().length, 0);
  assert.match(pair.ev('b', 'dropped')[0]!.reason, /no Aggressive Mode connection for this identity/);
});

test('Aggressive Mode PSK with a wrong PSK: HASH_R does not verify at the initiator; nothing established', () => {
  const pair = new Pair({ seed: 'am-wrong' });
  pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', psk: new TextEncoder().encode('other'), keyingTries: 1 }));
  pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', allowAggressivePsk: true }));
  pair.a.initiate(pair.now, 'c');
  pair.run(60_000);
  assert.equal(pair.ev('a', 'failed')[0]!.notify, 24);
  assert.equal(pair.ev('a', 'phase1-established').length, 0);
  assert.equal(pair.ev('b', 'phase1-established').length, 0);
  assert.equal(pair.a.isakmpSas().length, 0);
  assert.equal(pair.b.isakmpSas().length, 0);
});

// ---- RSA signatures

interface Cred { key: ReturnType<typeof createPrivateKey>; cert: Uint8Array; chain?: Uint8Array[] }
let selfSigned: Cred | undefined;
let tmp: string | undefined;

function makeSelfSigned(): Cred | undefined {
  if (selfSigned) return selfSigned;
  try {
    tmp = mkdtempSync(join(tmpdir(), 'isakmp-auth-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tmp, 'k.pem'), '-out', join(tmp, 'c.pem'), '-days', '3650',
      '-subj', '/C=CH/O=peers-test/CN=peer-b', '-addext', 'subjectAltName=DNS:peer-b.example,IP:192.0.2.2,IP:2001:db8::2,email:bob@peer-b.example'], { stdio: 'ignore' });
    selfSigned = { key: createPrivateKey(readFileSync(join(tmp, 'k.pem'))), cert: der(join(tmp, 'c.pem')) };
    rmSync(tmp, { recursive: true, force: true });
    return selfSigned;
  } catch {
    return undefined;
  }
}

function leafA(): Cred | undefined {
  if (!existsSync(join(CERTS, 'leaf.key'))) return undefined;
  return { key: createPrivateKey(readFileSync(join(CERTS, 'leaf.key'))), cert: der(join(CERTS, 'leaf.pem')), chain: [der(join(CERTS, 'int.pem'))] };
}

function rsaPair(seed: string, exchange: 'main' | 'aggressive', idA: Identity, idB: Identity, over: { a?: Partial<Connection>; b?: Partial<Connection> } = {}): Pair | undefined {
  const a = leafA();
  const b = makeSelfSigned();
  if (!a || !b) return undefined;
  const pair = new Pair({ seed, a: { certificateTime: when }, b: { certificateTime: when } });
  const ca = der(join(CERTS, 'ca.pem'));
  pair.a.setConnection(conn(pair, 'a', { exchange, auth: 'rsa-sig', rsa: { privateKey: a.key, certificate: a.cert, chain: a.chain!, trusted: [b.cert] }, localId: idA, remoteId: idB, ...over.a }));
  pair.b.setConnection(conn(pair, 'b', { exchange, auth: 'rsa-sig', rsa: { privateKey: b.key, certificate: b.cert, trusted: [ca] }, localId: idB, remoteId: idA, ...over.b }));
  return pair;
}

const ID_CASES: Array<[string, () => Identity, Identity]> = [
  ['FQDN', () => ({ type: 'fqdn', value: 'peer-a.peers.test' }), { type: 'fqdn', value: 'peer-b.example' }],
  ['USER_FQDN', () => ({ type: 'user-fqdn', value: 'alice@peers.test' }), { type: 'user-fqdn', value: 'bob@peer-b.example' }],
  ['IPV4_ADDR', () => ({ type: 'ipv4', value: '198.18.0.1' }), { type: 'ipv4', value: '192.0.2.2' }],
  ['IPV6_ADDR', () => ({ type: 'ipv6', value: '2001:db8::1' }), { type: 'ipv6', value: '2001:db8::2' }],
  ['DER_ASN1_DN', () => ({ type: 'der-asn1-dn', value: subjectDer(join(CERTS, 'leaf.pem')) }), { type: 'fqdn', value: 'peer-b.example' }],
];

/** The certificate's subject Name as DER (what ID_DER_ASN1_DN carries). */
function subjectDer(pem: string): Uint8Array {
  // parse the certificate's TBS to find the subject: version, serial, sigAlg, issuer, validity, subject
  const d = new Uint8Array(new X509Certificate(readFileSync(pem)).raw);
  const tlv = (off: number) => {
    let len = d[off + 1]!;
    let p = off + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + d[p + i]!;
      p += n;
    }
    return { body: p, end: p + len };
  };
  const cert = tlv(0);
  const tbs = tlv(cert.body);
  let off = tbs.body;
  if (d[off] === 0xa0) off = tlv(off).end; // version
  off = tlv(off).end; // serial
  off = tlv(off).end; // signature algorithm
  off = tlv(off).end; // issuer
  off = tlv(off).end; // validity
  return d.slice(off, tlv(off).end);
}

for (const exchange of ['main', 'aggressive'] as const) {
  for (const [name, idA, idB] of ID_CASES) {
    test(`${exchange === 'main' ? 'Main' : 'Aggressive'} Mode RSA signatures, ID ${name}: [CERT,] SIG_I / SIG_R verify, chain to the CA, keys mirrored`, (t) => {
      const pair = rsaPair(`rsa-${exchange}-${name}`, exchange, idA(), idB);
      if (!pair) {
        t.skip('openssl or test/vectors/crypto/certs absent: skipping RSA scenario');
        return;
      }
      pair.a.initiate(pair.now, 'c');
      pair.run(2000);
      assertMirrored(pair, assert);
      assert.equal(pair.ev('a', 'phase1-established')[0]!.transform.auth, 3);
      const idOfA = pair.ev('b', 'phase1-established')[0]!.peerId as Identity;
      assert.equal(idOfA.type, idA().type);
    });
  }
}

test('RSA signatures: b initiates Main Mode (roles swapped)', (t) => {
  const pair = rsaPair('rsa-swap', 'main', ID_CASES[0]![1](), ID_CASES[0]![2]);
  if (!pair) return t.skip('openssl or certs absent');
  pair.b.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
});

test('RSA signatures: an ID the certificate does not name, or an untrusted issuer → AUTHENTICATION fails, nothing established', (t) => {
  const wrongId = rsaPair('rsa-wrongid', 'main', { type: 'fqdn', value: 'not-in-cert.example' }, ID_CASES[0]![2], { a: { keyingTries: 1 } });
  if (!wrongId) return t.skip('openssl or certs absent');
  wrongId.a.initiate(wrongId.now, 'c');
  wrongId.run(120_000);
  assert.equal(wrongId.ev('b', 'phase1-established').length, 0);
  assert.ok(wrongId.ev('b', 'dropped').some((d) => d.notify === 18));
  const rogue = rsaPair('rsa-rogue', 'main', ID_CASES[0]![1](), ID_CASES[0]![2], { b: { rsa: { privateKey: selfSigned!.key, certificate: selfSigned!.cert, trusted: [der(join(CERTS, 'rogue-ca.pem'))] } }, a: { keyingTries: 1 } });
  rogue!.a.initiate(rogue!.now, 'c');
  rogue!.run(120_000);
  assert.equal(rogue!.ev('b', 'phase1-established').length, 0);
  assert.ok(rogue!.ev('b', 'dropped').some((d) => d.notify === 20));
  assert.equal(rogue!.b.isakmpSas().length, 0);
});

test('RSA signatures with a configured peer key and no certificates', () => {
  const pair = new Pair({ seed: 'rsa-raw' });
  const ka = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kb = generateKeyPairSync('rsa', { modulusLength: 2048 });
  pair.a.setConnection(conn(pair, 'a', { auth: 'rsa-sig', rsa: { privateKey: ka.privateKey, peerPublicKey: kb.publicKey } }));
  pair.b.setConnection(conn(pair, 'b', { auth: 'rsa-sig', rsa: { privateKey: kb.privateKey, peerPublicKey: ka.publicKey } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  const mm5 = pair.sentBy('a')[2]!;
  assert.equal(decodeHeader(mm5.data).flags & 1, 1);
});

test('Aggressive Mode responder also accepts the RFC 2409 clear form HDR, HASH_I -->', async () => {
  const { decryptMessage } = await import('../../src/crypto/index.js');
  const { decodePayloads, encodeMessage: enc } = await import('../../src/codec/index.js');
  const pair = new Pair({ seed: 'am-clear' });
  pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', allowAggressivePsk: true }));
  pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', allowAggressivePsk: true }));
  pair.tap = (from, data) => {
    const h = decodeHeader(data);
    if (from !== 'a' || h.exchangeType !== 4 || (h.flags & 1) === 0) return data;
    // re-send AM3 in clear: decrypt with b's phase-1 key and IV (white box), keep the payloads
    const p1 = inspect(pair.b).phase1s()[0]!.keys!;
    const { plaintext } = decryptMessage({ cipher: p1.cipher, key: p1.encKey, iv: p1.iv, ciphertext: data.subarray(28) });
    const payloads = decodePayloads(h.nextPayload, plaintext, { allowTrailing: true });
    assert.deepEqual(payloads.map((p) => p.type), ['HASH', 'NAT-D', 'NAT-D', 'N']);
    return enc({ header: { ...h, flags: 0 }, payloads });
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.ev('b', 'phase1-established').length, 1);
  const am3 = pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 4)[1]!;
  assert.equal(decodeHeader(am3.data).flags & 1, 0, 'what b received was the clear form');
  // the clear AM3 left the phase-1 IV at hash(g^xi | g^xr) on b, while a chained it through its
  // encrypted AM3: the two disagree, so a Quick Mode cannot succeed — exactly why AM3 is sent encrypted
  assert.equal(pair.ev('b', 'ipsec-sa-established').length, 0);
});
