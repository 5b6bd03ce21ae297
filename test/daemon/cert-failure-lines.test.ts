/**
 * Issue 10, "every failure explained", certificate refusals: two daemons with RSA signatures on
 * loopback, logging at the default level (info). The side that refuses the peer's certificate (a
 * CA it does not trust, an identity the certificate does not carry) logs one warn line with the
 * cause and what to check, as initiator and as responder; the other side names what the peer
 * told it; `isakmp up` exits 4 (refused by the peer) or 5 (refused by us). Certificates made by
 * the test (test/helpers/pki.ts). The expired case is in test/exchange/cert-refusals.test.ts
 * (it needs the engine's clock).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CA_EXT, EE_EXT, pki, type Issued } from '../helpers/pki.js';
import { loopbackGlobal, upScenario, type Line, type UpResult } from './up-scenario.js';

const P = pki();
after(() => P?.remove());
const skip = P === undefined ? 'openssl command line not installed' : false;


/** Identities default to the address, which the certificates carry (subjectAltName IP). */
interface Side { cert: Issued; ca: Issued; localId?: string; remoteId?: string }

function conf(o: { port: number; peer: number; sock: string } & Side): string {
  return `${loopbackGlobal(o)}secrets:
  mine: { cert: "${o.cert.certPath}", key: "${o.cert.keyPath}", ca: ["${o.ca.certPath}"] }
connections:
  peer:
    auth: rsa
    secret: mine
    local:  { address: 127.0.0.1, id: "${o.localId ?? '127.0.0.1'}" }
    remote: { address: 127.0.0.1, port: ${o.peer}, id: "${o.remoteId ?? '127.0.0.1'}" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
`;
}

function scenario(left: Side, right: Side): Promise<UpResult> {
  return upScenario({ prefix: 'isakmp-certfail-', connection: 'peer', left: (p) => conf({ ...p, ...left }), right: (p) => conf({ ...p, ...right }) });
}

/** The README's troubleshooting section quotes these lines as printed. */
const README = readFileSync('README.md', 'utf8').replace(/\s*\n\s*/g, ' ');
const quotedInReadme = (line: unknown): void => assert.ok(README.includes(String(line)), `README.md's troubleshooting section does not quote: ${String(line)}`);

const warns = (lines: Line[]): Line[] => lines.filter((x) => x.level === 'warn' && x.area === 'ike');

describe('issue 10: certificate refusals in the log of each side', { skip }, () => {
  const p = P!;
  const root = skip ? undefined! : p.issue('cfl-root', { subj: '/C=CH/O=Lines/CN=Lines Root', ext: [...CA_EXT] });
  const stranger = skip ? undefined! : p.issue('cfl-stranger', { subj: '/C=CH/O=Elsewhere/CN=Stranger Root', ext: [...CA_EXT] });
  const leftCert = skip ? undefined! : p.issue('cfl-left', { subj: '/C=CH/O=Lines/CN=left', ext: [...EE_EXT, 'subjectAltName=IP:127.0.0.1'], issuer: root });
  const rightCert = skip ? undefined! : p.issue('cfl-right', { subj: '/C=CH/O=Lines/CN=right', ext: [...EE_EXT, 'subjectAltName=IP:127.0.0.1'], issuer: root });
  const caLine = 'certificate refused: certificate does not chain to a configured CA (check ca: and crls: here, and the certificate chain the peer sends)';
  const told = /^the peer refused the phase 1: INVALID_CERTIFICATE \(authenticated notify\): the peer refused our certificate: check our certificate and its chain \(chain:\), and the CA the peer trusts/;

  test('a CA the responder does not trust: the responder logs CERTIFICATE_REFUSED; the initiator names INVALID_CERTIFICATE; up exits 4', async () => {
    const s = await scenario({ cert: leftCert, ca: root }, { cert: rightCert, ca: stranger });
    const r = warns(s.right);
    assert.deepEqual([r[0]!.msg, r[0]!.cause, r[0]!.connection, r[0]!.reason], ['phase 1 failed', 'CERTIFICATE_REFUSED', 'peer', caLine], JSON.stringify(r));
    const l = warns(s.left);
    assert.equal(l[0]!.cause, 'PEER_REFUSED', JSON.stringify(l));
    assert.match(String(l[0]!.reason), told);
    assert.equal(s.code, 4, s.err.join('\n'));
    assert.match(s.err.join('\n'), /^isakmp up: connection 'peer' refused by the peer: the peer refused the phase 1: INVALID_CERTIFICATE/);
    quotedInReadme(r[0]!.reason);
    quotedInReadme(l[0]!.reason);
  });

  test('a CA the initiator does not trust: the initiator logs CERTIFICATE_REFUSED, up exits 5 (refused by us); the responder names INVALID_CERTIFICATE', async () => {
    const s = await scenario({ cert: leftCert, ca: stranger }, { cert: rightCert, ca: root });
    const l = warns(s.left);
    assert.deepEqual([l[0]!.msg, l[0]!.cause, l[0]!.reason], ['phase 1 failed', 'CERTIFICATE_REFUSED', caLine], JSON.stringify(l));
    assert.equal(s.code, 5, s.err.join('\n'));
    assert.match(s.err.join('\n'), /^isakmp up: connection 'peer' failed: certificate refused: certificate does not chain to a configured CA/);
    const r = warns(s.right);
    assert.equal(r[0]!.cause, 'PEER_REFUSED', JSON.stringify(r));
    assert.match(String(r[0]!.reason), told);
  });

  test('an identity the certificate does not carry, the responder refuses: IDENTITY_MISMATCH naming the ID and the subject; up exits 4', async () => {
    const s = await scenario({ cert: leftCert, ca: root, localId: '@left.example' }, { cert: rightCert, ca: root, remoteId: '@left.example' });
    const r = warns(s.right);
    assert.deepEqual([r[0]!.cause, r[0]!.reason], ['IDENTITY_MISMATCH', 'identity mismatch: peer ID left.example is not in its certificate (subject C=CH, O=Lines, CN=left): set remote.id to a name the certificate carries'], JSON.stringify(r));
    quotedInReadme(r[0]!.reason);
    const l = warns(s.left);
    assert.equal(l[0]!.reason, "the peer refused the phase 1: INVALID_ID_INFORMATION (authenticated notify): the peer does not accept our identity left.example: compare our local.id with the peer's remote id for us");
    assert.equal(s.code, 4, s.err.join('\n'));
  });

  test('an identity the certificate does not carry, the initiator refuses: IDENTITY_MISMATCH, up exits 5; the responder names INVALID_ID_INFORMATION', async () => {
    const s = await scenario({ cert: leftCert, ca: root, remoteId: '@right.example' }, { cert: rightCert, ca: root, localId: '@right.example' });
    const l = warns(s.left);
    assert.deepEqual([l[0]!.cause, l[0]!.reason], ['IDENTITY_MISMATCH', 'identity mismatch: peer ID right.example is not in its certificate (subject C=CH, O=Lines, CN=right): set remote.id to a name the certificate carries'], JSON.stringify(l));
    assert.equal(s.code, 5, s.err.join('\n'));
    const r = warns(s.right);
    assert.deepEqual([r[0]!.cause], ['PEER_REFUSED'], JSON.stringify(r));
    assert.match(String(r[0]!.reason), /^the peer refused the phase 1: INVALID_ID_INFORMATION \(authenticated notify\): the peer does not accept our identity right\.example/);
  });
});
