// X.509 for IKEv1 signature authentication: chain to configured CAs at a caller-given time,
// key-size floor, parse errors as INVALID_CERT_ENCODING values (strongSwan certs-crash corpus),
// and ID payload vs subject / subjectAltName. Fixtures: test/vectors/crypto/certs (make-certs.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseCertificate,
  verifyCertificateChain,
  certificateMatchesId,
  certificateSubjectDer,
  certificateKeyUsage,
  dnEqual,
  rsaSignHash,
  rsaVerifyHash,
} from '../../src/crypto/index.js';
import { IdType, NotifyType, RemoteProtocolError, identityMatches } from '../../src/index.js';
import { hex, sharedPath } from './_util.js';

const DIR = 'test/vectors/crypto/certs';
const der = (name: string) => new Uint8Array(new X509Certificate(readFileSync(join(DIR, name))).raw);
const ca = der('ca.pem'), int = der('int.pem'), leaf = der('leaf.pem'), direct = der('direct.pem');
const NOW = Date.parse('2030-06-01T00:00:00Z');

function code(n: number) {
  return (e: unknown) => e instanceof RemoteProtocolError && e.notify === n;
}

test('chains leaf -> intermediate -> CA at the given time and returns the leaf key', () => {
  const r = verifyCertificateChain({ certificates: [leaf, int], trustAnchors: [ca], now: NOW });
  assert.equal(r.chain.length, 3);
  assert.match(r.leaf.subject, /CN=peer-a/);
  // end to end: sign a HASH with the leaf's private key, verify with the chain's key
  const h = hex('0f'.repeat(32));
  rsaVerifyHash(r.publicKey, h, rsaSignHash(createPrivateKey(readFileSync(join(DIR, 'leaf.key'))), h));
  // extra unrelated certificates in the CERT payloads are harmless; order does not matter
  verifyCertificateChain({ certificates: [leaf, direct, int], trustAnchors: [der('rogue-ca.pem'), ca], now: new Date(NOW) });
  verifyCertificateChain({ certificates: [direct], trustAnchors: [ca], now: NOW });
});

test('refuses chains that do not reach a configured CA (INVALID_CERTIFICATE)', () => {
  const bad = code(NotifyType.INVALID_CERTIFICATE);
  assert.throws(() => verifyCertificateChain({ certificates: [leaf], trustAnchors: [ca], now: NOW }), bad, 'missing intermediate');
  assert.throws(() => verifyCertificateChain({ certificates: [der('rogue-leaf.pem')], trustAnchors: [ca], now: NOW }), bad, 'same issuer name, other key');
  assert.throws(() => verifyCertificateChain({ certificates: [der('notca-leaf.pem'), leaf, int], trustAnchors: [ca], now: NOW }), bad, 'issuer is not a CA');
  assert.throws(() => verifyCertificateChain({ certificates: [leaf, int], trustAnchors: [], now: NOW }), bad, 'no anchors');
  assert.throws(() => verifyCertificateChain({ certificates: [], trustAnchors: [ca], now: NOW }), bad, 'no certificate');
  assert.throws(() => verifyCertificateChain({ certificates: [leaf, int], trustAnchors: [ca], now: NOW, maxDepth: 2 }), bad, 'too deep');
});

test('checks validity at the time passed in', () => {
  const bad = code(NotifyType.INVALID_CERTIFICATE);
  assert.throws(() => verifyCertificateChain({ certificates: [leaf, int], trustAnchors: [ca], now: Date.parse('2020-01-01T00:00:00Z') }), bad);
  assert.throws(() => verifyCertificateChain({ certificates: [leaf, int], trustAnchors: [ca], now: Date.parse('2050-01-01T00:00:00Z') }), bad);
  assert.throws(() => verifyCertificateChain({ certificates: [leaf, int], trustAnchors: [ca], now: NaN }), TypeError);
});

test('refuses RSA keys below 2048 bits in the chain unless lowered explicitly', () => {
  const small = der('small.pem');
  assert.throws(() => verifyCertificateChain({ certificates: [small], trustAnchors: [ca], now: NOW }), code(NotifyType.INVALID_CERTIFICATE));
  verifyCertificateChain({ certificates: [small], trustAnchors: [ca], now: NOW, minRsaBits: 1024 });
});

test('RFC 4945 / RFC 5280 profile: keyUsage must allow signatures (leaf) and certificate signing (CA); no MD5 signatures', () => {
  const bad = code(NotifyType.INVALID_CERTIFICATE);
  assert.throws(() => verifyCertificateChain({ certificates: [der('nosig-leaf.pem')], trustAnchors: [ca], now: NOW }), bad, 'keyEncipherment only');
  assert.throws(() => verifyCertificateChain({ certificates: [der('below-nocertsign.pem'), der('nocertsign-int.pem')], trustAnchors: [ca], now: NOW }), bad, 'CA without keyCertSign');
  assert.throws(() => verifyCertificateChain({ certificates: [der('md5-leaf.pem')], trustAnchors: [ca], now: NOW }), bad, 'md5WithRSA');
  assert.equal(certificateKeyUsage(parseCertificate(der('nosig-leaf.pem'))), 0x2000, 'keyEncipherment bit');
  assert.equal(certificateKeyUsage(parseCertificate(leaf)), 0x8000, 'digitalSignature bit');
  assert.equal(certificateKeyUsage(parseCertificate(der('small.pem'))), 0x8000);
});

test('a pinned leaf configured as trust anchor is accepted as is', () => {
  verifyCertificateChain({ certificates: [direct], trustAnchors: [direct], now: NOW });
});

test('unparsable input is INVALID_CERT_ENCODING, never another exception', () => {
  const bad = code(NotifyType.INVALID_CERT_ENCODING);
  assert.throws(() => parseCertificate(new Uint8Array(0)), bad);
  assert.throws(() => parseCertificate(leaf.subarray(0, leaf.length - 10)), bad);
  assert.throws(() => parseCertificate(readFileSync(join(DIR, 'leaf.pem'))), bad, 'PEM text is not a CERT payload');
  assert.throws(() => parseCertificate(new Uint8Array(20000).fill(0x30)), bad);
  assert.throws(() => parseCertificate(hex('3003020100')), bad);
  const flipped = Uint8Array.from(leaf); flipped[1]! ^= 0x01;
  assert.throws(() => parseCertificate(flipped), bad);
  assert.throws(() => verifyCertificateChain({ certificates: [hex('30')], trustAnchors: [ca], now: NOW }), bad);
});

test('strongSwan certs-crash corpus: every input parses or is refused with a typed error (SHAPES #18)', (t) => {
  const dir = sharedPath('strongswan-fuzzing-corpora/certs-crash');
  if (!dir) return t.skip('../shared/vectors absent: skipping strongSwan certs-crash corpus');
  const files = readdirSync(dir);
  assert.ok(files.length >= 20);
  for (const f of files) {
    const b = new Uint8Array(readFileSync(join(dir, f)));
    try {
      const c = parseCertificate(b);
      for (const id of [IdType.ID_DER_ASN1_DN, IdType.ID_FQDN, IdType.ID_IPV4_ADDR]) certificateMatchesId(c, id, hex('3000'));
      assert.throws(() => verifyCertificateChain({ certificates: [c], trustAnchors: [ca], now: NOW }), (e: unknown) => e instanceof RemoteProtocolError, f);
    } catch (e) {
      assert.ok(e instanceof RemoteProtocolError, `${f}: ${String(e)}`);
    }
  }
});

// DER helpers to build Distinguished Names for the ID payload
function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...body]);
}
function dn(parts: Array<[string, number, string]>): Uint8Array {
  const OID: Record<string, number[]> = { C: [0x55, 4, 6], O: [0x55, 4, 10], CN: [0x55, 4, 3] };
  const rdns = parts.map(([k, tag, v]) => tlv(0x31, tlv(0x30, Uint8Array.from([...tlv(6, Uint8Array.from(OID[k]!)), ...tlv(tag, new TextEncoder().encode(v))]))));
  return tlv(0x30, Uint8Array.from(rdns.flatMap((r) => [...r])));
}

test('ID_DER_ASN1_DN matches the subject, also when re-encoded with another string type', () => {
  const cert = parseCertificate(leaf);
  const subj = certificateSubjectDer(cert)!;
  assert.ok(certificateMatchesId(cert, IdType.ID_DER_ASN1_DN, subj));
  const printable = dn([['C', 0x13, 'CH'], ['O', 0x13, 'peers-test'], ['CN', 0x13, 'peer-a']]);
  const utf8 = dn([['C', 0x13, 'CH'], ['O', 0x0c, 'peers-test'], ['CN', 0x0c, 'peer-a']]);
  assert.ok(certificateMatchesId(cert, IdType.ID_DER_ASN1_DN, printable));
  assert.ok(certificateMatchesId(cert, IdType.ID_DER_ASN1_DN, utf8));
  assert.ok(dnEqual(printable, utf8));
  for (const other of [
    dn([['C', 0x13, 'CH'], ['O', 0x13, 'peers-test'], ['CN', 0x13, 'peer-b']]),
    dn([['C', 0x13, 'CH'], ['O', 0x13, 'peers-test']]),
    dn([['C', 0x13, 'CH'], ['CN', 0x13, 'peer-a'], ['O', 0x13, 'peers-test']]),
    dn([['C', 0x13, 'CH'], ['O', 0x13, 'peers-test'], ['CN', 0x13, 'peer-a'], ['CN', 0x13, 'x']]),
    subj.subarray(0, subj.length - 1),
    Uint8Array.from([...subj, 0]),
    new Uint8Array(0),
    hex('3084ffffffff'),
  ]) {
    assert.equal(certificateMatchesId(cert, IdType.ID_DER_ASN1_DN, other), false);
  }
});

test('issue 9.4: DNs are compared by RFC 5280 §7.1 everywhere: string type, case, insignificant spaces, BMPString, multi-valued RDNs (dnEqual, certificate IDs and identityMatches)', () => {
  const base = dn([['C', 0x13, 'CH'], ['O', 0x13, 'peers-test'], ['CN', 0x13, 'peer-a']]);
  const same = [
    dn([['C', 0x0c, 'ch'], ['O', 0x0c, 'PEERS-TEST'], ['CN', 0x0c, '  peer-a ']]),
    dn([['C', 0x13, 'CH'], ['O', 0x16, 'peers-test'], ['CN', 0x14, 'Peer-A']]),
  ];
  for (const d of same) assert.ok(dnEqual(base, d), Buffer.from(d).toString('hex'));
  // a BMPString (UTF-16BE) value equals the same text in UTF8String
  const cnBmp = tlv(0x31, tlv(0x30, Uint8Array.from([...tlv(6, Uint8Array.from([0x55, 4, 3])), ...tlv(0x1e, Uint8Array.from(Buffer.from('peer-a', 'utf16le').swap16()))])));
  const withBmp = tlv(0x30, Uint8Array.from([...dn([['C', 0x13, 'CH'], ['O', 0x13, 'peers-test']]).subarray(2), ...cnBmp]));
  assert.ok(dnEqual(base, withBmp));
  // inner runs of spaces are one space; but a space is not nothing
  assert.ok(dnEqual(dn([['CN', 0x0c, 'a  b']]), dn([['CN', 0x13, 'A B']])));
  assert.equal(dnEqual(dn([['CN', 0x0c, 'ab']]), dn([['CN', 0x13, 'a b']])), false);
  // RDN order matters; the order inside a multi-valued RDN does not
  assert.equal(dnEqual(base, dn([['CN', 0x13, 'peer-a'], ['O', 0x13, 'peers-test'], ['C', 0x13, 'CH']])), false);
  const mv = (a: [string, string], b: [string, string]) => {
    const OID: Record<string, number[]> = { O: [0x55, 4, 10], CN: [0x55, 4, 3] };
    const atv = ([k, v]: [string, string]) => tlv(0x30, Uint8Array.from([...tlv(6, Uint8Array.from(OID[k]!)), ...tlv(0x0c, new TextEncoder().encode(v))]));
    return tlv(0x30, tlv(0x31, Uint8Array.from([...atv(a), ...atv(b)])));
  };
  assert.ok(dnEqual(mv(['O', 'x'], ['CN', 'y']), mv(['CN', 'Y'], ['O', 'x'])));
  // the certificate ID check and the engine's identity check use the same comparison
  const cert = parseCertificate(leaf);
  assert.ok(certificateMatchesId(cert, IdType.ID_DER_ASN1_DN, same[0]!));
  assert.ok(identityMatches({ type: 'der-asn1-dn', value: base }, IdType.ID_DER_ASN1_DN, same[1]!));
  assert.equal(identityMatches({ type: 'der-asn1-dn', value: base }, IdType.ID_DER_ASN1_DN, dn([['C', 0x13, 'CH']])), false);
  assert.equal(identityMatches({ type: 'der-asn1-dn', value: base }, IdType.ID_FQDN, base), false);
});

test('ID_FQDN, ID_USER_FQDN, ID_IPV4_ADDR, ID_IPV6_ADDR match subjectAltName exactly', () => {
  const cert = parseCertificate(leaf);
  const te = (s: string) => new TextEncoder().encode(s);
  assert.ok(certificateMatchesId(cert, IdType.ID_FQDN, te('peer-a.peers.test')));
  assert.ok(certificateMatchesId(cert, IdType.ID_FQDN, te('PEER-A.peers.test')), 'DNS names are case-insensitive');
  assert.equal(certificateMatchesId(cert, IdType.ID_FQDN, te('peer-b.peers.test')), false);
  assert.equal(certificateMatchesId(cert, IdType.ID_FQDN, te('*.peers.test')), false);
  assert.equal(certificateMatchesId(cert, IdType.ID_FQDN, te('peer-a')), false, 'CN is not used');
  assert.equal(certificateMatchesId(cert, IdType.ID_FQDN, te('peer-a.peers.test\0.evil')), false);
  assert.ok(certificateMatchesId(cert, IdType.ID_USER_FQDN, te('alice@peers.test')));
  assert.equal(certificateMatchesId(cert, IdType.ID_USER_FQDN, te('bob@peers.test')), false);
  assert.ok(certificateMatchesId(cert, IdType.ID_IPV4_ADDR, hex('c6120001')));
  assert.equal(certificateMatchesId(cert, IdType.ID_IPV4_ADDR, hex('c6120002')), false);
  assert.equal(certificateMatchesId(cert, IdType.ID_IPV4_ADDR, hex('c61200')), false);
  assert.ok(certificateMatchesId(cert, IdType.ID_IPV6_ADDR, hex('20010db8000000000000000000000001')));
  assert.equal(certificateMatchesId(cert, IdType.ID_IPV6_ADDR, hex('20010db8000000000000000000000002')), false);
  assert.equal(certificateMatchesId(cert, IdType.ID_KEY_ID, te('peer-a')), false);
  assert.equal(certificateMatchesId(parseCertificate(direct), IdType.ID_FQDN, te('peer-a.peers.test')), false);
});
