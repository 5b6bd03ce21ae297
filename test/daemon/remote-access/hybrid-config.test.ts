// `auth: hybrid` in the configuration (docs/remote-access.md, "Hybrid"): the examples load, the
// gateway maps to an rsa-sig connection with its key and `xauth.hybrid`, the client to one with the
// CA only (no private key); mistakes are named at their line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../../src/daemon/config/index.js';
import { toEngineConnection } from '../../../src/daemon/engine.js';
import { AuthMethod } from '../../../src/constants/index.js';
import { authMethodOf } from '../../../src/exchange/proposals.js';

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, resolve('examples/h.yaml'));
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

test('the Hybrid examples load: gateway with its certificate and key, client with the CA alone', () => {
  const gw = loadConfig('examples/remote-access-hybrid-gateway.yaml');
  const h = gw.connections.find((c) => c.name === 'hybrid')!;
  assert.equal(h.auth, 'hybrid');
  assert.equal(h.secret.kind, 'rsa');
  assert.equal(h.remoteAccess?.role, 'gateway');
  const eh = toEngineConnection(h, 500, '192.0.2.1');
  assert.equal(eh.auth, 'rsa-sig');
  assert.ok(eh.auth === 'rsa-sig' && eh.rsa.privateKey !== undefined && eh.rsa.certificate !== undefined);
  assert.deepEqual(eh.xauth, { role: 'server', retries: 3, hybrid: true });
  assert.equal(authMethodOf(eh, false), AuthMethod.HYBRID_INIT_RSA);
  const x = toEngineConnection(gw.connections.find((c) => c.name === 'xauth-rsa')!, 500, '192.0.2.1');
  assert.equal(authMethodOf(x, false), AuthMethod.XAUTH_INIT_RSA);

  const cl = loadConfig('examples/remote-access-hybrid-client.yaml').connections[0]!;
  assert.equal(cl.auth, 'hybrid');
  assert.equal(cl.secret.kind, 'ca');
  const ec = toEngineConnection(cl, 500, '192.0.2.9');
  assert.ok(ec.auth === 'rsa-sig');
  assert.equal(ec.rsa.privateKey, undefined);
  assert.equal(ec.rsa.trusted?.length, 1);
  assert.equal(ec.xauth?.role, 'client');
  assert.equal(ec.xauth?.hybrid, true);
  assert.equal(authMethodOf(ec, true), AuthMethod.HYBRID_INIT_RSA);
});

const SECRETS = `secrets:
  gw: { cert: certs/left.crt, key: certs/left.key, ca: certs/ca.crt }
  cas: { ca: certs/ca.crt }
connections:
  rw:
`;

test('auth: hybrid mistakes are named at their line', () => {
  // no xauth at all
  assert.match(problemsOf(`${SECRETS}    auth: hybrid\n    secret: gw\n    remote: { address: "%any", id: "%any" }\n`).join('\n'), /h\.yaml:6:\d+: connections\.rw\.auth: auth: hybrid is XAUTH: add xauth:/);
  // a client with a certificate of its own
  assert.match(
    problemsOf(`${SECRETS}    auth: hybrid\n    secret: gw\n    remote: { address: 192.0.2.1 }\n    xauth: { user: alice, password: pw }\n`).join('\n'),
    /h\.yaml:7:\d+: connections\.rw\.secret: a Hybrid client has no certificate of its own/,
  );
  // a gateway with the CA only
  assert.match(
    problemsOf(`${SECRETS}    auth: hybrid\n    secret: cas\n    local: { address: 192.0.2.1 }\n    remote: { address: "%any", id: "%any" }\n    xauth: { backend: "file:remote-access/users" }\n`).join('\n'),
    /h\.yaml:7:\d+: connections\.rw\.secret: a Hybrid gateway signs with its certificate/,
  );
  // auth: rsa with the CA only
  assert.match(problemsOf(`${SECRETS}    auth: rsa\n    secret: cas\n    remote: { address: 192.0.2.1 }\n`).join('\n'), /connections\.rw\.secret: auth: rsa needs a secret with cert: and key:, 'cas' has ca: only/);
  // a secret with a key but no certificate is still an error
  assert.match(problemsOf(`secrets:\n  half: { key: certs/left.key }\nconnections: {}\n`).join('\n'), /secrets\.half: give either psk: SECRET, or cert: FILE and key: FILE/);
});
