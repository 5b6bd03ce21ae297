/**
 * Issue 10, the configuration: `ah:` proposals (instead of `esp:`, PFS from `pfs:`), lists of
 * selectors, the certificate chain we send (the `cert:` file's extra certificates and `chain:`
 * files: ordered from our issuer up, a root left out with a note, a stray certificate refused),
 * and the engine's connection built from them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/daemon/config/index.js';
import { engineConnections } from '../../src/daemon/engine.js';
import { preflightNotes } from '../../src/daemon/preflight.js';
import { CA_EXT, EE_EXT, pki } from '../helpers/pki.js';
import { tempDir } from './helpers.js';

const base = (extra: string, secrets = '  k: { psk: "a long enough secret", allow_weak_psk: true }\n', auth = '') => `secrets:
${secrets}connections:
  c:
    secret: k
${auth}    local: { address: 192.0.2.1 }
    remote: { address: 192.0.2.2 }
    ike: aes128-sha256-modp2048
${extra}`;

test('ah: AH proposals with the pfs: group, as the engine\'s AH protocol specs; esp: and ah: together are refused', () => {
  const c = parseConfig(base('    ah: sha256, sha1\n    pfs: ecp256\n'), 't.yaml').connections[0]!;
  assert.deepEqual(c.esp, []);
  assert.deepEqual(c.ah.map((p) => p.text), ['sha256-ecp256', 'sha1-ecp256']);
  const [e] = engineConnections('t.yaml', [c], { port: 500, listen: [] });
  assert.deepEqual(e!.ipsec.map((p) => [p.protocols, p.group]), [
    [[{ protocol: 2, transformId: 5, authAlgorithm: 5 }], 19],
    [[{ protocol: 2, transformId: 3, authAlgorithm: 2 }], 19],
  ]);
  assert.throws(() => parseConfig(base('    ah: sha256\n    esp: aes128-sha256\n'), 't.yaml'), /connections\.c\.ah: give esp: or ah:, not both/);
  assert.throws(() => parseConfig(base('    ah: aes128\n'), 't.yaml'), /unknown AH integrity 'aes128'/);
});

test('lists of selectors: one engine selector list per side; no pair of the same IP version is an error', () => {
  const c = parseConfig(base('    local_ts: [10.1.0.0/24, 10.1.1.0/24]\n    remote_ts: 10.2.0.0/16\n'), 't.yaml').connections[0]!;
  const [e] = engineConnections('t.yaml', [c], { port: 500, listen: [] });
  assert.ok(Array.isArray(e!.localTs));
  assert.deepEqual((e!.localTs as { start: string }[]).map((s) => s.start), ['10.1.0.0', '10.1.1.0']);
  assert.equal((e!.remoteTs as { start: string }).start, '10.2.0.0');
  assert.throws(() => parseConfig(base('    local_ts: [10.1.0.0/24]\n    remote_ts: [2001:db8::/32]\n'), 't.yaml'), /local_ts and remote_ts must be the same IP version/);
});

const P = pki();
after(() => P?.remove());

describe('our certificate chain', { skip: P === undefined ? 'openssl command line not installed' : false }, () => {
  const p = P!;
  const root = p.issue('cfg-root', { subj: '/C=CH/O=Cfg/CN=Cfg Root', ext: CA_EXT });
  const inter1 = p.issue('cfg-i1', { subj: '/C=CH/O=Cfg/CN=Cfg Intermediate 1', ext: CA_EXT, issuer: root });
  const inter2 = p.issue('cfg-i2', { subj: '/C=CH/O=Cfg/CN=Cfg Intermediate 2', ext: CA_EXT, issuer: inter1 });
  const gw = p.issue('cfg-gw', { subj: '/C=CH/O=Cfg/CN=gw', ext: [...EE_EXT, 'subjectAltName=IP:192.0.2.1'], issuer: inter2 });
  const otherRoot = p.issue('cfg-other-root', { subj: '/C=CH/O=Other/CN=Other Root', ext: CA_EXT });
  const other = p.issue('cfg-other', { subj: '/C=CH/O=Other/CN=Other CA', ext: CA_EXT, issuer: otherRoot });
  const dir = tempDir('isakmp-chain-');
  const pem = (...cs: { certPath: string }[]) => cs.map((c) => readFileSync(c.certPath, 'utf8')).join('');
  const secret = (cert: string, chain?: string[]) => `  k:
    cert: ${cert}
${chain ? `    chain: [${chain.join(', ')}]\n` : ''}    key: ${gw.keyPath}
    ca: [${root.certPath}]
`;
  const rsaConf = (cert: string, chain?: string[]) => base('    remote: { address: 192.0.2.2, id: "C=CH, O=Cfg, CN=peer" }\n', secret(cert, chain), '    auth: rsa\n').replace('    remote: { address: 192.0.2.2 }\n', '');

  test('a fullchain cert: file (leaf, then the intermediates in any order, then the root): leaf first, intermediates from our issuer up, the root left out with a note', () => {
    const full = join(dir, 'full.pem');
    writeFileSync(full, pem(gw, inter1, inter2, root));
    const cfg = parseConfig(rsaConf(full), join(dir, 'a.yaml'));
    const s = cfg.secrets.get('k')!;
    assert.equal(s.kind, 'rsa');
    if (s.kind !== 'rsa') return;
    assert.equal(s.cert.subject, gw.cert.subject);
    assert.deepEqual(s.chain.map((c) => c.subject), [inter2.cert.subject, inter1.cert.subject]);
    assert.deepEqual(s.rootsInChain.map((c) => c.subject), [root.cert.subject]);
    const [e] = engineConnections(cfg.file, cfg.connections, { port: 500, listen: [] });
    assert.equal(e!.auth, 'rsa-sig');
    if (e!.auth !== 'rsa-sig') return;
    assert.deepEqual(e!.rsa.chain, [inter2.der, inter1.der]);
    const notes = preflightNotes(cfg, Date.now(), () => ({ mode: 0o100600 }) as never);
    assert.ok(notes.some((n) => n.where === 'secrets.k' && /the root CA 'C=CH, O=Cfg, CN=Cfg Root' among the chain certificates is not sent .* 2 intermediate CAs are sent after our certificate/.test(n.message)), JSON.stringify(notes));
  });

  test('chain: files add intermediates (PEM or DER); a certificate that issued none of the chain is refused at chain:', () => {
    const i1 = join(dir, 'i1.der');
    writeFileSync(i1, inter1.der);
    const cfg = parseConfig(rsaConf(gw.certPath, [inter2.certPath, i1]), join(dir, 'b.yaml'));
    const s = cfg.secrets.get('k')!;
    assert.ok(s.kind === 'rsa' && s.chain.length === 2 && s.chain[0]!.subject === inter2.cert.subject);
    assert.throws(() => parseConfig(rsaConf(gw.certPath, [inter2.certPath, other.certPath]), join(dir, 'c.yaml')), /secrets\.k\.chain: 'C=CH, O=Other, CN=Other CA' did not issue 'C=CH, O=Cfg, CN=Cfg Intermediate 2' nor any certificate of the chain above it: give the intermediate CAs between 'C=CH, O=Cfg, CN=gw' and its root, in any order/);
    assert.throws(() => parseConfig(rsaConf(gw.certPath, [gw.certPath]), join(dir, 'd.yaml')), /'C=CH, O=Cfg, CN=gw' is not a CA certificate/);
  });
});
