// Issue 9.8: RFC 5280 path validation beyond signatures and dates — pathLenConstraint, name
// constraints, extended key usage for IKE, unknown critical extensions — and revocation by CRLs
// (RFC 5280 §5, §6.3). Every certificate and CRL is made by this test with the openssl command
// line (test/helpers/pki.ts); `now` is passed explicitly.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CrlError, NotifyType, RemoteProtocolError, crlPemBlocks, parseCrl, verifyCertificateChain, type CertificateRevocationList } from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { CA_EXT, EE_EXT, pki, type Issued } from '../helpers/pki.js';

const P = pki();
after(() => P?.remove());
const DAY = 86400_000;
/** A day after the PKI was made: certificates and default CRLs are current. */
const now = (P?.t0 ?? 0) + DAY;

const skip = P === undefined ? 'openssl command line not installed' : false;

function refused(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RemoteProtocolError, String(e));
    assert.equal(e.notify, NotifyType.INVALID_CERTIFICATE);
    assert.match(e.reason, reason);
    return true;
  });
}

/** verifyCertificateChain with the leaf first, then intermediates, trusted `anchor`. */
function check(chain: readonly Issued[], anchor: Issued, o: { crls?: CertificateRevocationList[]; at?: number } = {}) {
  return verifyCertificateChain({ certificates: chain.map((c) => c.der), trustAnchors: [anchor.der], now: o.at ?? now, ...(o.crls ? { crls: o.crls } : {}) });
}

const ca = (pathlen?: number): string[] => [`basicConstraints=critical,CA:TRUE${pathlen !== undefined ? `,pathlen:${pathlen}` : ''}`, 'keyUsage=critical,keyCertSign,cRLSign'];
const ee = (...more: string[]): string[] => [...EE_EXT, ...more];

describe('issue 9.8: certificate path validation', { skip }, () => {
  const p = P!;
  test('issue 9.8: pathlen:0 root → intermediate → leaf is refused', () => {
    const root = p.issue('pl0-root', { subj: '/C=CH/O=pathlen/CN=Root pathlen 0', ext: ca(0) });
    const int = p.issue('pl0-int', { subj: '/C=CH/O=pathlen/CN=Intermediate', ext: ca(), issuer: root });
    const leaf = p.issue('pl0-leaf', { subj: '/C=CH/O=pathlen/CN=gw', ext: ee(), issuer: int, keyType: 'ec' });
    refused(() => check([leaf, int], root), /trust anchor 'C=CH, O=pathlen, CN=Root pathlen 0' allows 0 intermediate CAs below it \(pathLenConstraint\), the chain has 1/);
    // the same root may sign a leaf directly
    const direct = p.issue('pl0-direct', { subj: '/C=CH/O=pathlen/CN=direct', ext: ee(), issuer: root, keyType: 'ec' });
    assert.equal(check([direct], root).chain.length, 2);
  });

  test('issue 9.8: pathLenConstraint of an intermediate counts the intermediates below it; pathlen:1 allows one', () => {
    const root = p.issue('pl1-root', { subj: '/CN=Root pathlen 1', ext: ca(1) });
    const i1 = p.issue('pl1-i1', { subj: '/CN=I1', ext: ca(0), issuer: root });
    const i2 = p.issue('pl1-i2', { subj: '/CN=I2', ext: ca(), issuer: i1 });
    const leaf1 = p.issue('pl1-leaf1', { subj: '/CN=under I1', ext: ee(), issuer: i1, keyType: 'ec' });
    const leaf2 = p.issue('pl1-leaf2', { subj: '/CN=under I2', ext: ee(), issuer: i2, keyType: 'ec' });
    assert.equal(check([leaf1, i1], root).chain.length, 3);
    refused(() => check([leaf2, i2, i1], root), /intermediate CA 'CN=I1' allows 0 intermediate CAs below it/);
  });

  test('issue 9.8: name constraints, permitted DNS subtree: a leaf outside it is refused, inside accepted', () => {
    const root = p.issue('ncd-root', { subj: '/CN=Root DNS', ext: [...ca(), 'nameConstraints=critical,permitted;DNS:corp.example'] });
    const inside = p.issue('ncd-in', { subj: '/CN=gw', ext: ee('subjectAltName=DNS:gw.corp.example'), issuer: root, keyType: 'ec' });
    const apex = p.issue('ncd-apex', { subj: '/CN=apex', ext: ee('subjectAltName=DNS:corp.example'), issuer: root, keyType: 'ec' });
    const outside = p.issue('ncd-out', { subj: '/CN=evil', ext: ee('subjectAltName=DNS:gw.corp.example,DNS:bank.example'), issuer: root, keyType: 'ec' });
    const lookalike = p.issue('ncd-look', { subj: '/CN=look', ext: ee('subjectAltName=DNS:evilcorp.example'), issuer: root, keyType: 'ec' });
    check([inside], root);
    check([apex], root);
    refused(() => check([outside], root), /certificate 'CN=evil': DNS:bank\.example is outside the subtrees the CA's name constraints permit \(set by trust anchor 'CN=Root DNS'\)/);
    refused(() => check([lookalike], root), /DNS:evilcorp\.example is outside/);
  });

  test('issue 9.8: name constraints, excluded DNS subtree, also through an intermediate that carries them', () => {
    const root = p.issue('nce-root', { subj: '/CN=Root', ext: ca() });
    const int = p.issue('nce-int', { subj: '/CN=Sub excluded', ext: [...ca(), 'nameConstraints=critical,excluded;DNS:.secret.example'], issuer: root });
    const ok = p.issue('nce-ok', { subj: '/CN=ok', ext: ee('subjectAltName=DNS:gw.example,DNS:secret.example'), issuer: int, keyType: 'ec' });
    const bad = p.issue('nce-bad', { subj: '/CN=bad', ext: ee('subjectAltName=DNS:vpn.secret.example'), issuer: int, keyType: 'ec' });
    check([ok, int], root);
    refused(() => check([bad, int], root), /DNS:vpn\.secret\.example is in a subtree the CA's name constraints exclude \(set by intermediate CA 'CN=Sub excluded'\)/);
  });

  test('issue 9.8: name constraints, permitted and excluded DN subtrees (directoryName), compared by RFC 5280 rules', () => {
    const root = p.issue('ncn-root', {
      subj: '/CN=Root DN',
      ext: [...ca(), 'nameConstraints=critical,permitted;dirName:dn_ok,excluded;dirName:dn_no', '[dn_ok]', 'C=CH', 'O=Example', '[dn_no]', 'C=CH', 'O=Example', 'OU=Lab'],
    });
    const inside = p.issue('ncn-in', { subj: '/C=CH/O=example/OU=Sales/CN=gw', ext: ee(), issuer: root, keyType: 'ec' });
    const outside = p.issue('ncn-out', { subj: '/C=DE/O=Example/CN=gw', ext: ee(), issuer: root, keyType: 'ec' });
    const lab = p.issue('ncn-lab', { subj: '/C=CH/O=Example/OU=Lab/CN=gw', ext: ee(), issuer: root, keyType: 'ec' });
    const altDn = p.issue('ncn-alt', { subj: '/C=CH/O=Example/CN=gw2', ext: ee('subjectAltName=dirName:alt_dn', '[alt_dn]', 'C=FR', 'CN=x'), issuer: root, keyType: 'ec' });
    check([inside], root); // 'example' (UTF8String, lower case) within 'Example' (constraint's encoding)
    refused(() => check([outside], root), /the subject DN is outside the subtrees/);
    refused(() => check([lab], root), /the subject DN is in a subtree the CA's name constraints exclude/);
    refused(() => check([altDn], root), /outside the subtrees/);
  });

  test('issue 9.8: name constraints on addresses (iPAddress) and e-mail; a constrained form the code cannot check refuses', () => {
    const root = p.issue('nci-root', { subj: '/CN=Root IP', ext: [...ca(), 'nameConstraints=critical,permitted;IP:192.0.2.0/255.255.255.0,permitted;email:.corp.example'] });
    check([p.issue('nci-in', { subj: '/CN=a', ext: ee('subjectAltName=IP:192.0.2.7,email:ops@vpn.corp.example'), issuer: root, keyType: 'ec' })], root);
    refused(() => check([p.issue('nci-out', { subj: '/CN=b', ext: ee('subjectAltName=IP:198.51.100.7'), issuer: root, keyType: 'ec' })], root), /IP:198\.51\.100\.7 is outside/);
    refused(() => check([p.issue('nci-v6', { subj: '/CN=c', ext: ee('subjectAltName=IP:2001:db8::1'), issuer: root, keyType: 'ec' })], root), /is outside/);
    refused(() => check([p.issue('nci-mail', { subj: '/CN=d/emailAddress=x@elsewhere.example', ext: ee(), issuer: root, keyType: 'ec' })], root), /email:x@elsewhere\.example is outside/);
    const other = p.issue('nco-root', { subj: '/CN=Root other', ext: [...ca(), 'nameConstraints=critical,permitted;otherName:1.2.3.4;UTF8:x'] });
    refused(() => check([p.issue('nco-leaf', { subj: '/CN=e', ext: ee('subjectAltName=otherName:1.2.3.4;UTF8:y'), issuer: other, keyType: 'ec' })], other), /cannot be checked/);
  });

  test('issue 9.8: extended key usage — none, anyExtendedKeyUsage, serverAuth, clientAuth, ipsecIKE accepted; other purposes refused, also when a CA restricts them', () => {
    const root = p.issue('eku-root', { subj: '/CN=Root EKU', ext: ca() });
    for (const [name, eku] of [['none', undefined], ['any', 'anyExtendedKeyUsage'], ['server', 'serverAuth'], ['client', 'clientAuth'], ['ike', '1.3.6.1.5.5.7.3.17'], ['mixed', 'emailProtection,1.3.6.1.5.5.7.3.17']] as const) {
      const leaf = p.issue(`eku-${name}`, { subj: `/CN=${name}`, ext: eku === undefined ? ee() : ee(`extendedKeyUsage=${eku}`), issuer: root, keyType: 'ec' });
      check([leaf], root);
    }
    const code = p.issue('eku-code', { subj: '/CN=code', ext: ee('extendedKeyUsage=codeSigning,emailProtection'), issuer: root, keyType: 'ec' });
    refused(() => check([code], root), /certificate 'CN=code': extendedKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.3, 1\.3\.6\.1\.5\.5\.7\.3\.4\) allows no IKE use/);
    const mailCa = p.issue('eku-mailca', { subj: '/CN=Mail CA', ext: [...ca(), 'extendedKeyUsage=emailProtection'], issuer: root });
    const under = p.issue('eku-under', { subj: '/CN=under mail CA', ext: ee(), issuer: mailCa, keyType: 'ec' });
    refused(() => check([under, mailCa], root), /intermediate CA 'CN=Mail CA': extendedKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.4\) allows no IKE use/);
  });

  test('a critical extension the code does not process (policyConstraints) refuses the certificate (RFC 5280 §4.2)', () => {
    const root = p.issue('crit-root', { subj: '/CN=Root crit', ext: ca() });
    const leaf = p.issue('crit-leaf', { subj: '/CN=crit', ext: ee('1.2.3.4.5=critical,ASN1:NULL'), issuer: root, keyType: 'ec' });
    refused(() => check([leaf], root), /critical extension 1\.2\.3\.4\.5 is not supported/);
  });
});

describe('issue 9.8: revocation by CRLs', { skip }, () => {
  const p = P!;
  const root = skip ? undefined! : p.issue('rv-root', { subj: '/C=CH/O=revocation/CN=Root RSA', ext: CA_EXT, keyType: 'rsa' });
  const int = skip ? undefined! : p.issue('rv-int', { subj: '/C=CH/O=revocation/CN=Intermediate EC', ext: CA_EXT, issuer: root });
  const leaf = skip ? undefined! : p.issue('rv-leaf', { subj: '/C=CH/O=revocation/CN=gw', ext: ee(), issuer: int, keyType: 'ec' });
  const other = skip ? undefined! : p.issue('rv-other', { subj: '/C=CH/O=revocation/CN=other', ext: ee(), issuer: int, keyType: 'ec' });

  test('issue 9.8: a revoked leaf is refused; its sibling passes; without the CRL both pass', () => {
    const crl = parseCrl(p.crl(int, [leaf]).der);
    assert.deepEqual([...crl.revoked], [leaf.serial.toString(16)]);
    check([leaf, int], root);
    refused(() => check([leaf, int], root, { crls: [crl] }), new RegExp(`certificate 'C=CH, O=revocation, CN=gw' is revoked \\(serial ${leaf.serial.toString(16)} on the CRL of 'C=CH, O=revocation, CN=Intermediate EC'\\)`));
    check([other, int], root, { crls: [crl] });
  });

  test('issue 9.8: a revoked intermediate is refused (CRL of the root, RSA signature)', () => {
    const rootCrl = parseCrl(p.crl(root, [int]).der);
    refused(() => check([leaf, int], root, { crls: [rootCrl] }), /intermediate CA 'C=CH, O=revocation, CN=Intermediate EC' is revoked/);
    // an empty root CRL and an intermediate CRL that lists someone else: accepted
    check([leaf, int], root, { crls: [parseCrl(p.crl(root, []).der), parseCrl(p.crl(int, [other]).der)] });
  });

  test('issue 9.8: a CRL with a bad signature refuses the certificates of its issuer (fail closed), as does a CRL from a same-name CA', () => {
    const der = p.crl(int, []).der.slice();
    der[der.length - 5]! ^= 0x01; // inside the ECDSA signature
    const bad = parseCrl(der);
    refused(() => check([other, int], root, { crls: [bad] }), /the CRL of 'C=CH, O=revocation, CN=Intermediate EC' cannot be used: the CRL signature does not verify with the issuer key/);
    // a second CA with the same name but its own key signs a CRL: it does not vouch for the real one
    const twin = p.issue('rv-twin', { subj: '/C=CH/O=revocation/CN=Intermediate EC', ext: CA_EXT, issuer: root });
    refused(() => check([other, int], root, { crls: [parseCrl(p.crl(twin, []).der)] }), /cannot be used: the CRL signature does not verify/);
    // with the genuine CRL beside it, the genuine one is used
    check([other, int], root, { crls: [parseCrl(p.crl(twin, []).der), parseCrl(p.crl(int, []).der)] });
  });

  test('issue 9.8: an expired CRL refuses the certificates of its issuer it does not list, and still revokes those it lists', () => {
    const crl = parseCrl(p.crl(int, [leaf], { nextUpdate: p.t0 + 2 * DAY }).der);
    check([other, int], root, { crls: [crl] });
    const later = p.t0 + 30 * DAY;
    refused(() => check([other, int], root, { crls: [crl], at: later }), /certificate 'C=CH, O=revocation, CN=other': the CRL of 'C=CH, O=revocation, CN=Intermediate EC' expired at .*Z \(install a current CRL and run isakmp reload\)/);
    refused(() => check([leaf, int], root, { crls: [crl], at: later }), /is revoked/);
    // a fresh CRL beside the expired one is enough
    check([other, int], root, { crls: [crl, parseCrl(p.crl(int, [leaf], { lastUpdate: later - DAY, nextUpdate: later + DAY }).der)], at: later });
    // not yet valid (clock behind the CA's)
    const future = parseCrl(p.crl(int, [], { lastUpdate: p.t0 + 10 * DAY, nextUpdate: p.t0 + 20 * DAY }).der);
    refused(() => check([other, int], root, { crls: [future] }), /is not valid before/);
  });

  test('a CA whose keyUsage lacks cRLSign cannot vouch for a CRL', () => {
    const noCrlSign = p.issue('rv-nocrlsign', { subj: '/CN=No CRL sign', ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'], issuer: root });
    const under = p.issue('rv-under', { subj: '/CN=under', ext: ee(), issuer: noCrlSign, keyType: 'ec' });
    refused(() => check([under, noCrlSign], root, { crls: [parseCrl(p.crl(noCrlSign, []).der)] }), /may not sign CRLs \(keyUsage lacks cRLSign\)/);
  });

  test('parseCrl: delta, partitioned and unknown-critical CRLs are refused; PEM blocks are found; hostile bytes only ever give CrlError', () => {
    assert.throws(() => parseCrl(p.crl(int, [], { ext: ['2.5.29.27=critical,ASN1:INTEGER:1'] }).der), (e: unknown) => e instanceof CrlError && /delta CRLs are not supported/.test(e.message));
    assert.throws(() => parseCrl(p.crl(int, [], { ext: ['2.5.29.28=critical,ASN1:SEQUENCE:empty', '[empty]'] }).der), (e: unknown) => e instanceof CrlError && /partitioned/.test(e.message));
    assert.throws(() => parseCrl(p.crl(int, [], { ext: ['1.2.3.4=critical,ASN1:NULL'] }).der), (e: unknown) => e instanceof CrlError && /critical CRL extension 1\.2\.3\.4/.test(e.message));
    const { der, path } = p.crl(int, [leaf, other]);
    assert.deepEqual(crlPemBlocks(readFileSync(path, 'latin1')), [der]);
    const crl = parseCrl(der);
    assert.equal(crl.revoked.size, 2);
    assert.equal(crl.crlNumber, '01');
    // every truncation and many single-byte mutations: a CrlError or a CRL, never another exception
    for (let n = 0; n < der.length; n += 7) assert.throws(() => parseCrl(der.subarray(0, n)), CrlError);
    let seed = 7;
    for (let i = 0; i < 3000; i++) {
      const m = der.slice();
      seed = (seed * 1103515245 + 12345) >>> 0;
      m[seed % m.length] = (seed >>> 8) & 0xff;
      try {
        parseCrl(m);
      } catch (e) {
        assert.ok(e instanceof CrlError, String(e));
      }
    }
  });
});
