/**
 * Certificates in the daemon: `secrets.NAME.crls` (loaded, checked against the configured CA,
 * re-read by `isakmp reload`), the defaulted remote identity of an RSA connection, and what
 * `isakmp daemon --check` says about both. Two of our daemons with RSA signatures over loopback;
 * every certificate and CRL made by the test with openssl (test/helpers/pki.ts).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { ConfigError, parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { preflightNotes } from '../../src/daemon/preflight.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { CA_EXT, EE_EXT, pki } from '../helpers/pki.js';
import { EventLog, freeUdpPorts, tempDir } from './helpers.js';

const P = pki();
after(() => P?.remove());
const skip = P === undefined ? 'openssl command line not installed' : false;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

describe('certificates in the daemon', { skip }, () => {
  const p = P!;
  const ca = skip ? undefined! : p.issue('d-ca', { subj: '/C=CH/O=Loopback/CN=Loopback CA', ext: CA_EXT });
  const left = skip ? undefined! : p.issue('d-left', { subj: '/C=CH/O=Loopback/CN=left', ext: EE_EXT, issuer: ca });
  const right = skip ? undefined! : p.issue('d-right', { subj: '/C=CH/O=Loopback/CN=right', ext: [...EE_EXT, 'subjectAltName=IP:127.0.0.1'], issuer: ca });

  function conf(o: { port: number; peer: number; sock: string; me: 'left' | 'right'; crls?: string; remoteId?: string; localId?: string }): string {
    const mine = o.me === 'left' ? left : right;
    return `global:
  listen: ["127.0.0.1"]
  port: ${o.port}
  natt_port: 0
  control_socket: ${o.sock}
secrets:
  cert:
    cert: ${mine.certPath}
    key: ${mine.keyPath}
    ca: ${ca.certPath}
${o.crls !== undefined ? `    crls: [${o.crls}]\n` : ''}connections:
  peer:
    auth: rsa
    secret: cert
    local: { address: 127.0.0.1${o.localId !== undefined ? `, id: "${o.localId}"` : ''} }
    remote: { address: 127.0.0.1, port: ${o.peer}${o.remoteId !== undefined ? `, id: "${o.remoteId}"` : ''} }
    ike: aes128-sha256-ecp256
    esp: aes128-sha256
`;
  }

  test('issue 9.8: secrets.NAME.crls is loaded and checked against the configured CA; a bad file or a CRL the CA did not sign is a config error naming its line', () => {
    const dir = tempDir('isakmp-crl-');
    const good = p.crl(ca, []);
    const text = (crls: string) => conf({ port: 15500, peer: 15501, sock: join(dir, 's'), me: 'left', crls });
    const cfg = parseConfig(text(good.path), join(dir, 'c.yaml'));
    const secret = cfg.secrets.get('cert')!;
    assert.equal(secret.kind, 'rsa');
    assert.equal(secret.kind === 'rsa' ? secret.crls.length : 0, 1);
    // garbage, a missing file, and a CRL signed by another CA of the same name
    writeFileSync(join(dir, 'junk.crl'), 'not a crl');
    const twin = p.issue('d-twin', { subj: '/C=CH/O=Loopback/CN=Loopback CA', ext: CA_EXT });
    const forged = p.crl(twin, []);
    assert.throws(() => parseConfig(text(`${join(dir, 'junk.crl')}, ${join(dir, 'missing.crl')}, ${forged.path}`), join(dir, 'c.yaml')), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const lines = e.message.split('\n');
      assert.equal(lines.length, 3, e.message);
      assert.match(lines[0]!, /c\.yaml:11:\d+: secrets\.cert\.crls: '.*junk\.crl' is not a usable CRL: not a DER CRL/);
      assert.match(lines[1]!, /secrets\.cert\.crls: cannot read CRL '.*missing\.crl': ENOENT/);
      assert.match(lines[2]!, /secrets\.cert\.crls: the CRL '.*' names the CA 'C=CH, O=Loopback, CN=Loopback CA' \(.*d-ca\.pem\) as its issuer, but the CRL signature does not verify with the issuer key/);
      return true;
    });
  });

  test('issue 9.4 / 9.8: --check names the defaulted RSA remote identity and an expired CRL; the daemon logs the same at start', async () => {
    const dir = tempDir('isakmp-crl-');
    const expired = p.crl(ca, [], { lastUpdate: p.t0 - 10 * 86400_000, nextUpdate: p.t0 - 86400_000 });
    const file = join(dir, 'c.yaml');
    writeFileSync(file, conf({ port: 15500, peer: 15501, sock: join(dir, 's'), me: 'left', crls: expired.path }));
    chmodSync(file, 0o600);
    const c = io();
    assert.equal(await runCli(['daemon', '--check', '--config', file], c.io), 0, c.err.join('\n'));
    assert.deepEqual(c.out, [`${file}: ok, 1 connection`]);
    assert.equal(c.err.length, 2, c.err.join('\n'));
    assert.match(c.err[0]!, /^isakmp daemon: warning: secrets\.cert\.crls: the CRL '.*' of 'C=CH, O=Loopback, CN=Loopback CA' expired at .*Z: certificates of that CA are refused until a current CRL is installed \(then isakmp reload\)$/);
    assert.match(c.err[1]!, /^isakmp daemon: note: connections\.peer\.remote\.id: not set: the peer must prove its address 127\.0\.0\.1 as its identity, and its certificate must carry it as an iPAddress subjectAltName/);
    const lines: string[] = [];
    const [port] = await freeUdpPorts(1);
    const d = new Daemon({
      config: parseConfig(conf({ port: port!, peer: 15501, sock: join(dir, 's2'), me: 'left', crls: expired.path }), file),
      endpointFactory: realEndpointFactory,
      control: false,
      logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }),
    });
    await d.start();
    await d.stop();
    assert.ok(lines.some((l) => /WARN .*\[config\] secrets\.cert\.crls: the CRL .* expired at/.test(l)), lines.join(''));
    assert.ok(lines.some((l) => /INFO .*\[config\] connections\.peer\.remote\.id: not set/.test(l)), lines.join(''));
  });

  test('issue 9.8: isakmp reload picks up a new CRL: the peer whose certificate it revokes can no longer connect, the running SA stays until then', async () => {
    const dir = tempDir('isakmp-crl-');
    const [lp, rp] = await freeUdpPorts(2);
    const crlPath = join(dir, 'ca.crl');
    copyFileSync(p.crl(ca, []).path, crlPath);
    const lsock = join(dir, 'l.sock');
    const rsock = join(dir, 'r.sock');
    const lev = new EventLog();
    const rev = new EventLog();
    const mk = (text: string, file: string, ev: EventLog): Daemon => {
      writeFileSync(file, text, { mode: 0o600 });
      return new Daemon({ config: parseConfig(text, file), configPath: file, endpointFactory: realEndpointFactory, logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }), onEvent: ev.push });
    };
    // left: no remote.id, so the right must prove 127.0.0.1 (its certificate carries it); the
    // right expects left's DN written as text (PrintableString) against a UTF8String subject
    const l = mk(conf({ port: lp!, peer: rp!, sock: lsock, me: 'left', crls: crlPath }), join(dir, 'l.yaml'), lev);
    const r = mk(conf({ port: rp!, peer: lp!, sock: rsock, me: 'right', localId: '127.0.0.1', remoteId: 'C=CH, O=Loopback, CN=left' }), join(dir, 'r.yaml'), rev);
    await r.start();
    await l.start();
    try {
      let c = io();
      assert.equal(await runCli(['up', 'peer', '--socket', lsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
      assert.equal(l.status().isakmp[0]?.peerId, '127.0.0.1');
      // the CA revokes the right's certificate; the new CRL replaces the file
      copyFileSync(p.crl(ca, [right]).path, crlPath);
      c = io();
      assert.equal(await runCli(['reload', '--socket', lsock], c.io), 0, c.err.join('\n'));
      assert.deepEqual(c.out, [`reloaded ${join(dir, 'l.yaml')}: 1 unchanged, 0 changed, 0 added, 0 removed`]);
      assert.equal(l.status().isakmp.length, 1, 'the running SA is not torn down by a CRL update');
      c = io();
      assert.equal(await runCli(['down', 'peer', '--socket', lsock], c.io), 0, c.err.join('\n'));
      await rev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp', 'right: deleted');
      c = io();
      assert.notEqual(await runCli(['up', 'peer', '--socket', lsock, '--timeout', '5'], c.io), 0);
      const refusal = await lev.wait((e) => e.type === 'dropped' && /is revoked/.test(e.reason), 'left: the revoked certificate refused');
      assert.equal(refusal.type === 'dropped' ? refusal.notify : 0, 20); // INVALID_CERTIFICATE
      assert.equal(l.status().isakmp.filter((s) => s.state === 'established').length, 0);
    } finally {
      await l.stop();
      await r.stop();
    }
  });

  test('issue 9.9: preflightNotes warns when the configuration (with PSKs) or a private key is readable by group or others', () => {
    const dir = tempDir('isakmp-crl-');
    const key = join(dir, 'k.pem');
    copyFileSync(left.keyPath, key);
    const file = join(dir, 'c.yaml');
    const text = conf({ port: 15500, peer: 15501, sock: join(dir, 's'), me: 'left', remoteId: 'C=CH, O=Loopback, CN=right' }).replace(left.keyPath, key);
    const withPsk = text.replace('secrets:\n', 'secrets:\n  a-psk:\n    psk: "a long secret, 20 characters or more: 5jR8qW"\n');
    writeFileSync(file, withPsk);
    chmodSync(file, 0o644);
    chmodSync(key, 0o640);
    const notes = preflightNotes(parseConfig(withPsk, file), Date.now());
    assert.deepEqual(notes.map((n) => `${n.level} ${n.message}`), [
      `warn the configuration file (it holds pre-shared keys) is readable by group and others (mode 0644): run chmod 600 '${file}'`,
      `warn the private key of secret 'cert' is readable by group (mode 0640): run chmod 600 '${key}'`,
    ]);
    chmodSync(file, 0o600);
    chmodSync(key, 0o600);
    assert.deepEqual(preflightNotes(parseConfig(withPsk, file), Date.now()), []);
    // without PSKs a readable configuration is fine, a writable one is not
    writeFileSync(file, text);
    chmodSync(file, 0o664);
    assert.deepEqual(preflightNotes(parseConfig(text, file), Date.now()).map((n) => n.message), [`the configuration file is writable by group (mode 0664): run chmod 600 '${file}'`]);
  });
});

test('issue 9.4: two connections whose remote DNs are equal by RFC 5280 rules are the same policy (config error), different DNs are not', () => {
  const text = (a: string, b: string) => `secrets:
  s:
    psk: "a long secret"
    allow_weak_psk: true
connections:
  one:
    secret: s
    local: { address: 192.0.2.1 }
    remote: { address: 192.0.2.2, id: "${a}" }
    ike: aes128-sha256-modp2048
  two:
    secret: s
    local: { address: 192.0.2.1 }
    remote: { address: 192.0.2.2, id: "${b}" }
    ike: aes128-sha256-modp2048
`;
  assert.throws(() => parseConfig(text('C=CH, O=Example, CN=gw', 'c=ch,o=EXAMPLE,  cn=gw'), 'dup.yaml'), /connections\.two: same peer, mode, auth and remote id as connection 'one'/);
  assert.equal(parseConfig(text('C=CH, O=Example, CN=gw', 'C=CH, O=Example, CN=gw2'), 'dup.yaml').connections.length, 2);
});
