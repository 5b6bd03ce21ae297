// Issue 9.4: with RSA signatures, who may pose as the gateway. With no configured remote identity
// the peer must prove its address (an ID_IPV4_ADDR / ID_IPV6_ADDR that its certificate carries as
// an iPAddress subjectAltName), not merely hold any certificate of the same CA; and a DN identity
// is compared by RFC 5280 rules, so a DN written as text (PrintableString) matches the
// certificate's subject (UTF8String). Certificates made by the test (test/helpers/pki.ts).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDn } from '../../src/daemon/der.js';
import { certificateSubjectDer, type CertificateRevocationList } from '../../src/crypto/index.js';
import type { Connection, Identity } from '../../src/exchange/index.js';
import { CA_EXT, EE_EXT, pki, type Issued } from '../helpers/pki.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';

const P = pki();
after(() => P?.remove());
const skip = P === undefined ? 'openssl command line not installed' : false;

describe('issue 9.4: the RSA peer must prove the identity the connection expects', { skip }, () => {
  const p = P!;
  const ca = skip ? undefined! : p.issue('id-ca', { subj: '/C=CH/O=Example/CN=Example CA', ext: CA_EXT });
  // a (192.0.2.1) is the initiator; b (192.0.2.2) the gateway. pair.ts's addresses.
  const client = skip ? undefined! : p.issue('id-client', { subj: '/C=CH/O=Example/CN=client', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.1'], issuer: ca });
  const gw = skip ? undefined! : p.issue('id-gw', { subj: '/C=CH/O=Example/CN=gw', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.2,DNS:gw.example'], issuer: ca });
  const mallory = skip ? undefined! : p.issue('id-mallory', { subj: '/C=CH/O=Example/CN=mallory', ext: [...EE_EXT, 'subjectAltName=DNS:mallory.example'], issuer: ca });
  const when = () => p.t0 + 86400_000;

  const dn = (c: Issued): Identity => ({ type: 'der-asn1-dn', value: certificateSubjectDer(c.cert)! });

  function run(seed: string, gwCert: Issued, gwId: Identity, over: { a?: Partial<Connection>; b?: Partial<Connection> } = {}): Pair {
    const pair = new Pair({ seed, a: { certificateTime: when }, b: { certificateTime: when } });
    pair.a.setConnection(conn(pair, 'a', { auth: 'rsa-sig', rsa: { privateKey: client.key, certificate: client.der, trusted: [ca.der] }, localId: { type: 'ipv4', value: '192.0.2.1' }, keyingTries: 1, ...over.a }));
    pair.b.setConnection(conn(pair, 'b', { auth: 'rsa-sig', rsa: { privateKey: gwCert.key, certificate: gwCert.der, trusted: [ca.der] }, localId: gwId, ...over.b }));
    pair.a.initiate(pair.now, 'c');
    pair.run(60_000);
    return pair;
  }

  test('issue 9.4: with no remote id, an RSA initiator refuses a gateway certificate of the same CA that does not carry the gateway address', () => {
    // mallory holds a valid certificate of the same CA and answers for 192.0.2.2
    for (const id of [{ type: 'fqdn', value: 'mallory.example' }, dn(mallory)] as Identity[]) {
      const pair = run(`id-mallory-${id.type}`, mallory, id);
      assert.equal(pair.ev('a', 'phase1-established').length, 0, `${id.type}: the initiator must not accept mallory`);
      assert.ok(pair.ev('a', 'dropped').some((d) => d.notify === 18 && /identity does not match/.test(d.reason)), JSON.stringify(pair.ev('a', 'dropped')));
    }
  });

  test('issue 9.4: with no remote id, the gateway proving its address (ID_IPV4_ADDR in its certificate) is accepted; the same certificate sent with its DN is not', () => {
    assertMirrored(run('id-gw-ip', gw, { type: 'ipv4', value: '192.0.2.2' }), assert);
    const dnPair = run('id-gw-dn', gw, dn(gw));
    assert.equal(dnPair.ev('a', 'phase1-established').length, 0);
  });

  test('issue 9.4: a DN remote id written as text (PrintableString, any case and spacing) matches the UTF8String subject of the certificate', () => {
    for (const text of ['C=CH, O=Example, CN=gw', 'c=ch,o=example ,  CN=GW']) {
      const r = encodeDn(text);
      assert.ok(r.ok);
      assert.notDeepEqual(r.value, certificateSubjectDer(gw.cert), 'the encodings differ byte for byte');
      const pair = run(`id-dn-${text}`, gw, dn(gw), { a: { remoteId: { type: 'der-asn1-dn', value: r.value } } });
      assertMirrored(pair, assert);
    }
    // and a different name does not match
    const other = encodeDn('C=CH, O=Example, CN=gw2');
    assert.ok(other.ok);
    const pair = run('id-dn-other', gw, dn(gw), { a: { remoteId: { type: 'der-asn1-dn', value: other.value } } });
    assert.equal(pair.ev('a', 'phase1-established').length, 0);
  });
});

test('issue 9.4 / 9.8 in the authorization rule: DNs equal by RFC 5280 rules are the same peer; different CRLs are different credentials', async () => {
  const { samePeerIdentity, sameCredentials } = await import('../../src/exchange/authorization.js');
  const a = encodeDn('C=CH, O=Example, CN=gw');
  const b = encodeDn('c=ch, o=EXAMPLE, cn=gw ');
  const c = encodeDn('C=CH, O=Example, CN=other');
  assert.ok(a.ok && b.ok && c.ok);
  assert.equal(samePeerIdentity({ type: 'der-asn1-dn', value: a.value }, { type: 'der-asn1-dn', value: b.value }), true);
  assert.equal(samePeerIdentity({ type: 'der-asn1-dn', value: a.value }, { type: 'der-asn1-dn', value: c.value }), false);
  const { generateKeyPairSync } = await import('node:crypto');
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const anchor = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01]);
  const crl = (n: number) => ({ raw: Uint8Array.from([n]) }) as unknown as CertificateRevocationList;
  const base = { name: 'x', local: { address: '192.0.2.1', port: 500 }, remote: { address: '192.0.2.2', port: 500 }, auth: 'rsa-sig', ike: [], ipsec: [] } as const;
  const conn = (crls?: CertificateRevocationList[]): Connection => ({ ...base, rsa: { privateKey: key, trusted: [anchor], ...(crls ? { crls } : {}) } });
  assert.equal(sameCredentials(conn([crl(1)]), conn([crl(1)])), true);
  assert.equal(sameCredentials(conn([crl(1)]), conn([crl(2)])), false);
  assert.equal(sameCredentials(conn(), conn([crl(1)])), false, 'a connection without revocation checks does not vouch for one with');
});
