// Issue 10: certificate refusals named on the side that detects them, in the operator's words
// with the cause code, whichever side it is (initiator refusing MM6, responder refusing MM5), and
// the other side told: a CA it does not trust, an expired certificate, an identity the certificate
// does not carry. Certificates made by the test (test/helpers/pki.ts), real RSA signatures.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection, EngineEvent } from '../../src/exchange/index.js';
import { CA_EXT, EE_EXT, pki, type Issued } from '../helpers/pki.js';
import { Pair, conn } from '../helpers/pair.js';

const P = pki();
after(() => P?.remove());
const skip = P === undefined ? 'openssl command line not installed' : false;

type Ev = EngineEvent & { cause?: string; reason?: string };

function caused(pair: Pair, side: 'a' | 'b'): Ev[] {
  return (pair.events[side] as Ev[]).filter((e) => (e.type === 'failed' || e.type === 'dropped') && e.cause !== undefined);
}

describe('issue 10: certificate refusals on each side', { skip }, () => {
  const p = P!;
  const root = skip ? undefined! : p.issue('cr-root', { subj: '/C=CH/O=Refusals/CN=Refusals Root', ext: [...CA_EXT] });
  const stranger = skip ? undefined! : p.issue('cr-stranger', { subj: '/C=CH/O=Elsewhere/CN=Stranger Root', ext: [...CA_EXT] });
  const west = skip ? undefined! : p.issue('cr-west', { subj: '/C=CH/O=Refusals/CN=west', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.1'], issuer: root });
  const east = skip ? undefined! : p.issue('cr-east', { subj: '/C=CH/O=Refusals/CN=east', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.2'], issuer: root });
  const westOld = skip ? undefined! : p.issue('cr-west-old', { subj: '/C=CH/O=Refusals/CN=west', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.1'], issuer: root, days: 1 });
  const eastOld = skip ? undefined! : p.issue('cr-east-old', { subj: '/C=CH/O=Refusals/CN=east', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.2'], issuer: root, days: 1 });
  // three days after the PKI was made: the one-day certificates have expired
  const when = () => p.t0 + 3 * 86400_000;

  function rsa(c: Issued, trusted: Issued[]) {
    return { privateKey: c.key, certificate: c.der, chain: [], trusted: trusted.map((x) => x.der) };
  }

  function run(seed: string, a: Partial<Connection> & Record<string, unknown>, b: Partial<Connection> & Record<string, unknown>): Pair {
    const pair = new Pair({ seed, a: { certificateTime: when }, b: { certificateTime: when } });
    pair.a.setConnection(conn(pair, 'a', { keyingTries: 1, fragmentation: 'no', auth: 'rsa-sig', ...a } as never));
    pair.b.setConnection(conn(pair, 'b', { fragmentation: 'no', auth: 'rsa-sig', ...b } as never));
    pair.a.initiate(pair.now, 'c');
    pair.run(200_000);
    return pair;
  }

  /** The detecting side's first failure and the other side's first, as [type, cause, reason]. */
  function both(pair: Pair, detector: 'a' | 'b'): { det: Ev; other: Ev } {
    const d = caused(pair, detector);
    const o = caused(pair, detector === 'a' ? 'b' : 'a');
    assert.ok(d.length > 0 && o.length > 0, JSON.stringify({ d, o }));
    assert.equal(pair.ev('a', 'phase1-established').length + pair.ev('b', 'phase1-established').length, detector === 'a' ? 1 : 0, 'the detecting side never establishes');
    return { det: d[0]!, other: o[0]! };
  }

  const told = /^the peer refused the phase 1: INVALID_CERTIFICATE \(authenticated notify\): the peer refused our certificate: check our certificate and its chain \(chain:\), and the CA the peer trusts/;

  for (const [detector, role] of [['b', 'the responder refuses MM5'], ['a', 'the initiator refuses MM6']] as const) {
    const refusing = (trusted: Issued[]) => (detector === 'b' ? [{ rsa: rsa(west, [root]) }, { rsa: rsa(east, trusted) }] : [{ rsa: rsa(west, trusted) }, { rsa: rsa(east, [root]) }]);

    test(`certificate of a CA we do not trust, ${role}: CERTIFICATE_REFUSED naming the chain; the other side told INVALID_CERTIFICATE`, () => {
      const [a, b] = refusing([stranger]);
      const { det, other } = both(run(`cr-ca-${detector}`, a!, b!), detector);
      assert.deepEqual([det.type, det.cause], ['failed', 'CERTIFICATE_REFUSED']);
      assert.equal(det.reason, 'certificate refused: certificate does not chain to a configured CA (check ca: and crls: here, and the certificate chain the peer sends)');
      assert.deepEqual([other.type, other.cause], [detector === 'b' ? 'failed' : 'dropped', 'PEER_REFUSED']);
      assert.match(other.reason!, told);
    });

    test(`an expired certificate, ${role}: CERTIFICATE_REFUSED saying expired and when; the other side told INVALID_CERTIFICATE`, () => {
      const { det, other } = both(run(`cr-exp-${detector}`, detector === 'b' ? { rsa: rsa(westOld, [root]) } : { rsa: rsa(west, [root]) }, detector === 'b' ? { rsa: rsa(east, [root]) } : { rsa: rsa(eastOld, [root]) }), detector);
      assert.deepEqual([det.type, det.cause], ['failed', 'CERTIFICATE_REFUSED']);
      assert.match(det.reason!, /^certificate refused: certificate: expired \(\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT\) \(check ca: and crls: here, and the certificate chain the peer sends\)$/);
      assert.deepEqual([other.type, other.cause], [detector === 'b' ? 'failed' : 'dropped', 'PEER_REFUSED']);
      assert.match(other.reason!, told);
    });

    test(`an identity the certificate does not carry, ${role}: IDENTITY_MISMATCH naming the ID and the certificate's subject; the other side told INVALID_ID_INFORMATION`, () => {
      // the claimant shows an FQDN its certificate (SAN IP only) does not carry; the verifier expects that FQDN
      const claimed = { type: 'fqdn' as const, value: detector === 'b' ? 'west.example' : 'east.example' };
      const a = detector === 'b' ? { rsa: rsa(west, [root]), localId: claimed } : { rsa: rsa(west, [root]), remoteId: claimed };
      const b = detector === 'b' ? { rsa: rsa(east, [root]), remoteId: claimed } : { rsa: rsa(east, [root]), localId: claimed };
      const { det, other } = both(run(`cr-id-${detector}`, a, b), detector);
      assert.deepEqual([det.type, det.cause], ['failed', 'IDENTITY_MISMATCH']);
      assert.equal(det.reason, `identity mismatch: peer ID ${claimed.value} is not in its certificate (subject C=CH, O=Refusals, CN=${detector === 'b' ? 'west' : 'east'}): set remote.id to a name the certificate carries`);
      assert.deepEqual([other.type, other.cause], [detector === 'b' ? 'failed' : 'dropped', 'PEER_REFUSED']);
      assert.match(other.reason!, new RegExp(`^the peer refused the phase 1: INVALID_ID_INFORMATION \\(authenticated notify\\): the peer does not accept our identity ${claimed.value.replace('.', '\\.')}: compare our local\\.id with the peer's remote id for us`));
    });
  }
});
