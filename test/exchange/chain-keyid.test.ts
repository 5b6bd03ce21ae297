// Issue 10: a three-level PKI (root -> intermediate -> gateway) both ways: each side sends its
// certificate and the intermediate that issued it (leaf first, never the root) and trusts only the
// root; one CERTREQ per configured CA naming its DN; ID_KEY_ID identities in Main and Aggressive
// Mode, both roles, with PSK and (subjectKeyIdentifier) with certificates. Certificates made by the
// test (test/helpers/pki.ts); the wire is read back with the codec.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodeMessage } from '../../src/codec/index.js';
import { CertEncoding, IdType } from '../../src/constants/index.js';
import { certificateSubjectDer, dnEqual } from '../../src/crypto/index.js';
import { subjectKeyIdentifier } from '../../src/crypto/cert.js';
import { toHex } from '../../src/crypto/bytes.js';
import { Ikev1Decryptor } from '../../src/cli/keylog-decrypt.js';
import type { Connection, Identity } from '../../src/exchange/index.js';
import { CA_EXT, EE_EXT, pki, type Issued } from '../helpers/pki.js';
import { Pair, assertMirrored, conn } from '../helpers/pair.js';

const P = pki();
after(() => P?.remove());
const skip = P === undefined ? 'openssl command line not installed' : false;

/** The payloads of the `index`-th message (0-based) of `exchangeType` sent by `side`: a clear one (MM1-MM4, AM1, AM2). */
function clearPayloads(pair: Pair, side: 'a' | 'b', exchangeType: number, index: number) {
  const msgs = pair.sentBy(side).filter((w) => decodeHeader(w.data).exchangeType === exchangeType);
  return decodeMessage(msgs[index]!.data).payloads;
}

describe('issue 10: certificate chains, CERTREQ, key IDs', { skip }, () => {
  const p = P!;
  const root = skip ? undefined! : p.issue('ch-root', { subj: '/C=CH/O=Chain/CN=Chain Root', ext: [...CA_EXT] });
  const other = skip ? undefined! : p.issue('ch-other', { subj: '/C=CH/O=Other/CN=Other Root', ext: [...CA_EXT] });
  const inter = skip ? undefined! : p.issue('ch-inter', { subj: '/C=CH/O=Chain/CN=Chain Intermediate', ext: [...CA_EXT], issuer: root });
  const west = skip ? undefined! : p.issue('ch-west', { subj: '/C=CH/O=Chain/CN=west', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.1', 'subjectKeyIdentifier=hash'], issuer: inter });
  const east = skip ? undefined! : p.issue('ch-east', { subj: '/C=CH/O=Chain/CN=east', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.2'], issuer: inter });
  const when = () => p.t0 + 86400_000;

  function rsa(c: Issued, chain: Issued[], trusted: Issued[]) {
    return { privateKey: c.key, certificate: c.der, chain: chain.map((x) => x.der), trusted: trusted.map((x) => x.der) };
  }

  function run(seed: string, a: Partial<Connection> & Record<string, unknown>, b: Partial<Connection> & Record<string, unknown>, exchange: 'main' | 'aggressive' = 'main'): Pair {
    const pair = new Pair({ seed, a: { certificateTime: when }, b: { certificateTime: when } });
    // whole MM5/MM6 on the wire (no IKE fragments), so that the CERT payloads can be read back
    pair.a.setConnection(conn(pair, 'a', { keyingTries: 1, exchange, fragmentation: 'no', ...a } as never));
    pair.b.setConnection(conn(pair, 'b', { exchange, fragmentation: 'no', ...b } as never));
    pair.a.initiate(pair.now, 'c');
    pair.run(30_000);
    return pair;
  }

  /** The CERT payloads of MM5 and MM6, decrypted with the phase-1 key as a key log gives it. */
  function certsOfMm56(pair: Pair): Uint8Array[][] {
    const ev = pair.ev('a', 'phase1-established')[0]!;
    const dec = new Ikev1Decryptor(new Map([[toHex(ev.keyLog.initiatorCookie), ev.keyLog.encryptionKey]]));
    const out: Uint8Array[][] = [];
    for (const w of pair.wire) {
      const m = decodeMessage(w.data);
      if (m.header.exchangeType !== 2) continue;
      const r = dec.observe(m);
      if (r?.ok) out.push(r.payloads.filter((x) => x.type === 'CERT').map((x) => (x as { data: Uint8Array }).data));
    }
    return out;
  }

  test('a 3-level chain both ways: leaf then intermediate in the CERT payloads, never the root; each side trusts only the root', () => {
    const pair = run('chain-3', { auth: 'rsa-sig', rsa: rsa(west, [inter], [root]) }, { auth: 'rsa-sig', rsa: rsa(east, [inter], [root]) });
    assertMirrored(pair, assert);
    const [mm5, mm6] = certsOfMm56(pair);
    assert.deepEqual(mm5, [west.der, inter.der], 'MM5: our certificate, then the intermediate');
    assert.deepEqual(mm6, [east.der, inter.der], 'MM6: the same order from the responder');
    assert.equal(pair.ev('a', 'phase1-established')[0]!.peerId?.type, 'ipv4');
    assert.equal(pair.ev('b', 'phase1-established')[0]!.peerId?.type, 'ipv4');
  });

  test('without the intermediate in its chain, the peer cannot verify us (the failure names the chain)', () => {
    const pair = run('chain-missing', { auth: 'rsa-sig', rsa: rsa(west, [], [root]) }, { auth: 'rsa-sig', rsa: rsa(east, [inter], [root]) });
    assert.equal(pair.ev('b', 'phase1-established').length, 0);
    const drops = pair.ev('b', 'dropped').map((d) => d.reason).join('\n');
    assert.match(drops, /does not chain to a configured CA/);
  });

  test('what goes on the wire: MM3/MM4 carry one CERTREQ per configured CA with its DN', () => {
    const pair = new Pair({ seed: 'chain-wire', a: { certificateTime: when }, b: { certificateTime: when } });
    pair.a.setConnection(conn(pair, 'a', { auth: 'rsa-sig', rsa: { ...rsa(west, [inter], [root, other]), trusted: [root.der, other.der, east.der] } }));
    pair.b.setConnection(conn(pair, 'b', { auth: 'rsa-sig', rsa: rsa(east, [inter], [root]) }));
    pair.a.initiate(pair.now, 'c');
    pair.run(30_000);
    assertMirrored(pair, assert);
    const mm3 = clearPayloads(pair, 'a', 2, 1);
    const crs = mm3.filter((x) => x.type === 'CR');
    // two CAs configured (the pinned peer certificate is not a CA): two CERTREQs, each naming one
    assert.equal(crs.length, 2, JSON.stringify(mm3.map((x) => x.type)));
    for (const [i, ca] of [root, other].entries()) {
      const cr = crs[i] as { certType: number; authority: Uint8Array };
      assert.equal(cr.certType, CertEncoding.X509_SIGNATURE);
      assert.ok(dnEqual(cr.authority, certificateSubjectDer(ca.cert)!), `CERTREQ ${i} names ${ca.subject}`);
    }
    const mm4 = clearPayloads(pair, 'b', 2, 1);
    const crs4 = mm4.filter((x) => x.type === 'CR') as { authority: Uint8Array }[];
    assert.equal(crs4.length, 1);
    assert.ok(dnEqual(crs4[0]!.authority, certificateSubjectDer(root.cert)!));
    // a peer that pins our certificate itself (a trust anchor that is no CA) accepts it with the chain
    const pinned = run('chain-pinned', { auth: 'rsa-sig', rsa: rsa(west, [inter], [root]) }, { auth: 'rsa-sig', rsa: rsa(east, [inter], [west]) });
    assertMirrored(pinned, assert);
  });

  test('PSK CERTREQ: none is sent', () => {
    const pair = run('chain-psk', {}, {});
    assertMirrored(pair, assert);
    assert.equal(clearPayloads(pair, 'a', 2, 1).filter((x) => x.type === 'CR').length, 0);
  });

  for (const exchange of ['main', 'aggressive'] as const) {
    for (const initiatorUsesKeyId of [true, false]) {
      test(`ID_KEY_ID with PSK, ${exchange} mode: ${initiatorUsesKeyId ? 'the initiator' : 'the responder'} shows a key ID, the other side expects it`, () => {
        const group: Identity = { type: 'key-id', value: new TextEncoder().encode('branch-group-7') };
        const fqdn: Identity = { type: 'fqdn', value: 'hub.example' };
        const ids = initiatorUsesKeyId ? { a: group, b: fqdn } : { a: fqdn, b: group };
        const over = exchange === 'aggressive' ? { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }] } : {};
        const pair = run(`keyid-${exchange}-${initiatorUsesKeyId}`, { ...over, localId: ids.a, remoteId: ids.b }, { ...over, localId: ids.b, remoteId: ids.a, allowAggressivePsk: true }, exchange);
        assertMirrored(pair, assert);
        const peerOfB = pair.ev('b', 'phase1-established')[0]!.peerId as Identity;
        const peerOfA = pair.ev('a', 'phase1-established')[0]!.peerId as Identity;
        assert.deepEqual(peerOfB, ids.a);
        assert.deepEqual(peerOfA, ids.b);
        // on the wire: ID type 11 in AM1 (Aggressive Mode identities travel in clear)
        if (exchange === 'aggressive' && initiatorUsesKeyId) {
          const am1 = clearPayloads(pair, 'a', 4, 0);
          const id = am1.find((x) => x.type === 'ID') as { idType: number; data: Uint8Array };
          assert.equal(id.idType, IdType.ID_KEY_ID);
          assert.equal(new TextDecoder().decode(id.data), 'branch-group-7');
        }
      });
    }
  }

  test('ID_KEY_ID: a different key ID is refused (INVALID_ID_INFORMATION) in Main Mode; in Aggressive Mode no connection matches', () => {
    const k = (t: string): Identity => ({ type: 'key-id', value: new TextEncoder().encode(t) });
    const mm = run('keyid-wrong-mm', { localId: k('group-a'), remoteId: { type: 'any' } }, { remoteId: k('group-b') });
    assert.equal(mm.ev('b', 'phase1-established').length, 0);
    assert.ok(mm.ev('b', 'dropped').some((d) => d.notify === 18), JSON.stringify(mm.ev('b', 'dropped')));
    const over = { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }] };
    const am = run('keyid-wrong-am', { ...over, localId: k('group-a'), remoteId: { type: 'any' } }, { ...over, remoteId: k('group-b'), allowAggressivePsk: true }, 'aggressive');
    assert.equal(am.ev('b', 'phase1-established').length, 0);
    assert.ok(am.ev('b', 'dropped').some((d) => d.notify === 14 && /no Aggressive Mode connection for this identity/.test(d.reason)));
  });

  test('ID_KEY_ID with certificates names the subjectKeyIdentifier of the peer certificate', () => {
    const ski = subjectKeyIdentifier(west.cert);
    assert.ok(ski && ski.length === 20);
    const keyId: Identity = { type: 'key-id', value: ski };
    const ok = run('keyid-rsa', { auth: 'rsa-sig', rsa: rsa(west, [inter], [root]), localId: keyId, remoteId: { type: 'ipv4', value: '192.0.2.2' } }, { auth: 'rsa-sig', rsa: rsa(east, [inter], [root]), remoteId: keyId });
    assertMirrored(ok, assert);
    const wrong: Identity = { type: 'key-id', value: new Uint8Array(20).fill(7) };
    const bad = run('keyid-rsa-wrong', { auth: 'rsa-sig', rsa: rsa(west, [inter], [root]), localId: wrong, remoteId: { type: 'ipv4', value: '192.0.2.2' } }, { auth: 'rsa-sig', rsa: rsa(east, [inter], [root]), remoteId: wrong });
    assert.equal(bad.ev('b', 'phase1-established').length, 0);
    assert.ok(bad.ev('b', 'dropped').some((d) => /not in its certificate/.test(d.reason)), JSON.stringify(bad.ev('b', 'dropped')));
  });
});
