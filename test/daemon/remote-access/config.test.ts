import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, parseConfig, type RemoteAccessConfig } from '../../../src/daemon/config/index.js';
import { backendFromConfig, poolFromConfig } from '../../../src/daemon/remote-access/index.js';
import { tempDir } from '../helpers.js';

const EXAMPLE_PASSWORD = 'example-only-password';

function problemsOf(text: string, file = 'ra.yaml'): string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

const HEAD = `secrets:
  group: { psk: a-group-secret, allow_weak_psk: true }
connections:
  rw:
    secret: group
    local: { address: 192.0.2.1 }
    ike: aes128-sha256-modp2048
`;
const GW = `${HEAD}    remote: { address: "%any", id: "%any" }
`;
const CLIENT = `${HEAD}    remote: { address: 192.0.2.2 }
`;

test('remote-access examples: the gateway (users file, RADIUS) and the client load with every key', () => {
  const gw = loadConfig('examples/remote-access-gateway.yaml');
  const [psk, radius] = gw.connections;
  assert.ok(psk && radius);
  assert.deepEqual(psk.remoteAccess, {
    role: 'gateway',
    xauth: { backend: { kind: 'file', path: resolve('examples/remote-access/users') }, retries: 3 },
    pool: ['10.10.0.0/24'],
    dns: ['10.1.0.53'],
    splitInclude: [{ family: 4, address: '10.1.0.0', prefix: 16, protocol: 0, port: 0, text: '10.1.0.0/16' }],
    banner: 'Authorised users only.',
    modecfg: 'pull',
    nbns: [],
    localLan: [{ family: 4, address: '192.168.0.0', prefix: 16, protocol: 0, port: 0, text: '192.168.0.0/16' }],
    defaultDomain: 'corp.example',
    splitDns: ['corp.example'],
    savePassword: false,
  });
  const ra = radius.remoteAccess;
  assert.ok(ra?.role === 'gateway' && ra.xauth?.backend.kind === 'radius');
  assert.equal(radius.auth, 'rsa');
  assert.deepEqual(
    ra.xauth.backend.servers.map((s) => [s.address, s.port, Buffer.from(s.secret).toString()]),
    [
      ['192.0.2.10', 1812, 'radius-shared-secret'],
      ['192.0.2.11', 1812, 'radius-shared-secret'],
    ],
  );
  assert.deepEqual([ra.xauth.backend.timeoutMs, ra.xauth.backend.retries, ra.xauth.backend.accounting, ra.modecfg], [3000, 2, true, 'pull']);
  assert.deepEqual([ra.pool, ra.dns], [['10.10.1.10-10.10.1.200'], ['10.1.0.53', '10.1.0.54']]);

  const client = loadConfig('examples/remote-access-client.yaml').connections[0];
  const rc = client?.remoteAccess;
  assert.ok(rc?.role === 'client' && rc.xauth);
  assert.equal(rc.xauth.user, 'alice');
  assert.equal(Buffer.from(rc.xauth.password).toString(), EXAMPLE_PASSWORD);
  assert.equal(rc.xauth.passwordFile, resolve('examples/remote-access/alice.password'));
  assert.equal(rc.modecfg, 'pull');
});

test('the example gateway\'s backend checks alice against the users file, its pool leases from 10.10.0.1', async () => {
  const c = loadConfig('examples/remote-access-gateway.yaml').connections[0];
  const ra = c?.remoteAccess;
  assert.ok(ra?.role === 'gateway' && ra.xauth);
  const backend = backendFromConfig(ra.xauth.backend);
  const req = { user: 'alice', connection: 'roadwarriors', peer: { address: '198.51.100.7', port: 500 }, peerId: '@laptop' };
  try {
    assert.deepEqual(await backend.authenticate({ ...req, password: EXAMPLE_PASSWORD }), { ok: true, backend: `file:${resolve('examples/remote-access/users')}` });
    const bad = await backend.authenticate({ ...req, password: 'wrong' });
    assert.equal(bad.ok, false);
  } finally {
    await backend.close();
  }
  const pool = poolFromConfig('roadwarriors', ra);
  assert.ok(pool);
  assert.equal(pool.size, 254);
  assert.equal(pool.lease('@laptop', 'alice', 0), '10.10.0.1');
  assert.equal(poolFromConfig('x', { ...ra, pool: [] }), undefined);
});

test('a gateway without xauth: Mode Config only; a client with only modecfg', () => {
  const gw = parseConfig(`${GW}    pool: 10.10.0.0/30\n    modecfg: push\n`, 'a.yaml').connections[0]?.remoteAccess;
  assert.deepEqual(gw, { role: 'gateway', xauth: undefined, pool: ['10.10.0.0/30'], dns: [], splitInclude: [], banner: undefined, modecfg: 'push', nbns: [], localLan: [], defaultDomain: undefined, splitDns: [], savePassword: undefined });
  const cl = parseConfig(`${CLIENT}    modecfg: pull\n`, 'a.yaml').connections[0]?.remoteAccess;
  assert.deepEqual(cl, { role: 'client', xauth: undefined, modecfg: 'pull' });
  assert.equal(parseConfig(CLIENT, 'a.yaml').connections[0]?.remoteAccess, undefined);
});

test('remote-access mistakes are named at their line and column', () => {
  assert.deepEqual(problemsOf(`${GW}    xauth: { backend: "ldap:x" }\n    pool: 10.10.0.1/24\n`), [
    `ra.yaml:9:23: connections.rw.xauth.backend: 'ldap:x' is not a backend: write "file:PATH" (a users file written by isakmp passwd) or use radius:`,
    `ra.yaml:10:11: connections.rw.pool: '10.10.0.1/24': host bits are set (the subnet is 10.10.0.0/24)`,
  ]);
  assert.deepEqual(problemsOf(`${GW}    xauth: { retries: 0, backend: "file:/nonexistent/users" }\n    dns: 10.1.0.300\n    split_include: 10.1.0.0/16[tcp]\n    modecfg: both\n`), [
    `ra.yaml:12:14: connections.rw.modecfg: 'both' is not allowed (use one of: pull, push)`,
    `ra.yaml:9:35: connections.rw.xauth.backend: cannot read the users file '/nonexistent/users': ENOENT (create it with isakmp passwd --file /nonexistent/users USER)`,
    `ra.yaml:9:23: connections.rw.xauth.retries: '0' must be a whole number from 1 to 10`,
    `ra.yaml:10:10: connections.rw.dns: '10.1.0.300' is not an IP address (a DNS server's)`,
    `ra.yaml:11:20: connections.rw.split_include: '10.1.0.0/16[tcp]': a split-include network is ADDRESS/PREFIX, without protocol or port`,
  ]);
  assert.deepEqual(problemsOf(`${GW}    xauth: { user: alice, password: x, backend: "file:u" }\n`), [
    `ra.yaml:9:12: connections.rw.xauth: a connection is either a gateway (backend: or radius:, retries:) or a client (user:, password:), not both`,
  ]);
  assert.deepEqual(problemsOf(`${GW}    xauth: { user: alice, password: secret-pw-1 }\n`), [
    `ra.yaml:9:12: connections.rw.xauth: a client connects to its gateway: give remote.address (not %any)`,
  ]);
  assert.deepEqual(problemsOf(`${CLIENT}    xauth: { user: alice }\n    banner: hi\n`), [
    `ra.yaml:10:13: connections.rw.banner: banner: is what a gateway hands out; this connection is a client (xauth.user)`,
    `ra.yaml:9:12: connections.rw.xauth: missing 'password' or 'password_file' (the XAUTH password)`,
  ]);
  assert.deepEqual(problemsOf(`${CLIENT}    xauth: { user: alice, password: secret-pw-2, password_file: /x }\n`), [
    `ra.yaml:9:50: connections.rw.xauth.password_file: give either password: or password_file:, not both`,
  ]);
  assert.deepEqual(problemsOf(`${CLIENT}    xauth: { user: alice, password_file: /nonexistent/pw }\n`), [
    `ra.yaml:9:42: connections.rw.xauth.password_file: cannot read the XAUTH password file '/nonexistent/pw': ENOENT`,
  ]);
  assert.deepEqual(problemsOf(`${GW}    xauth: { radius: { servers: [ { address: radius.example, secret_file: /nonexistent/s } ], timeout: 2m } }\n`), [
    `ra.yaml:9:46: connections.rw.xauth.radius.servers[0].address: 'radius.example' is not an IP address (the RADIUS server's)`,
    `ra.yaml:9:75: connections.rw.xauth.radius.servers[0].secret_file: cannot read the RADIUS shared secret file '/nonexistent/s': ENOENT`,
    `ra.yaml:9:104: connections.rw.xauth.radius.timeout: the RADIUS timeout must be 1 s to 60 s`,
  ]);
  assert.deepEqual(problemsOf(`${GW}    modecfg: pull\n`), [
    `ra.yaml:9:14: connections.rw.modecfg: a %any connection with Mode Config is a gateway: give pool: (the addresses it hands out)`,
  ]);
  assert.deepEqual(problemsOf(`${GW}    xauth: {}\n`), [
    `ra.yaml:9:12: connections.rw.xauth: give backend: "file:PATH" or radius: (a gateway), or user: and password: (a client)`,
  ]);
});

test('passwords and RADIUS secrets are never in a problem, and count in the fingerprint only by hash', () => {
  const dir = tempDir('ra-config');
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'pw-from-file-7781\n', { mode: 0o600 });
  const text = (p: string): string => `${CLIENT}    xauth: { user: alice, ${p} }\n    esp: nonsense\n`;
  for (const p of ['password: inline-pw-3391', `password_file: ${pw}`]) {
    const problems = problemsOf(text(p)).join('\n');
    assert.match(problems, /esp/);
    assert.doesNotMatch(problems, /inline-pw-3391|pw-from-file-7781/);
  }
  const conn = (p: string): { fingerprint: string; remoteAccess: RemoteAccessConfig | undefined } => parseConfig(`${CLIENT}    xauth: { user: alice, ${p} }\n`, 'a.yaml').connections[0]!;
  const a = conn('password: inline-pw-3391');
  const b = conn(`password_file: ${pw}`);
  assert.ok(b.remoteAccess?.role === 'client' && Buffer.from(b.remoteAccess.xauth!.password).toString() === 'pw-from-file-7781');
  assert.notEqual(a.fingerprint, b.fingerprint);
  assert.equal(a.fingerprint, conn('password: inline-pw-3391').fingerprint);
  for (const [fp, secret] of [[a.fingerprint, 'inline-pw-3391'], [b.fingerprint, 'pw-from-file-7781']] as const) {
    assert.ok(!fp.includes(secret));
    assert.ok(!fp.includes(Buffer.from(secret).toString('hex')));
  }
  const r = parseConfig(`${GW}    xauth: { radius: { servers: [ { address: 127.0.0.1, secret: radius-secret-5521 } ] } }\n`, 'a.yaml').connections[0]!;
  assert.ok(!r.fingerprint.includes('radius-secret-5521') && !r.fingerprint.includes(Buffer.from('radius-secret-5521').toString('hex')));
});

test('the Mode Config keys a gateway hands out: nbns, default_domain, split_dns, local_lan, save_password; errors at their lines', () => {
  const ok = parseConfig(`${GW}    pool: 10.10.0.0/24
    nbns: [10.1.0.54]
    default_domain: corp.example
    split_dns: [corp.example, lab.example]
    local_lan: [192.168.0.0/16]
    save_password: true
    modecfg: push
`, 'ra.yaml').connections[0]!.remoteAccess;
  assert.ok(ok?.role === 'gateway');
  assert.deepEqual([ok.nbns, ok.defaultDomain, ok.splitDns, ok.localLan.map((t) => t.text), ok.savePassword, ok.modecfg], [['10.1.0.54'], 'corp.example', ['corp.example', 'lab.example'], ['192.168.0.0/16'], true, 'push']);
  const problems = problemsOf(`${GW}    pool: 10.10.0.0/24
    nbns: [fe80::1]
    default_domain: "not a domain"
    split_dns: [ok.example, "bad domain"]
    local_lan: [192.168.0.0/16/tcp]
    save_password: maybe
`);
  assert.ok(problems.some((p) => /ra\.yaml:10.*nbns.*'fe80::1' is not an IPv4 address/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /ra\.yaml:11.*default_domain.*is not a DNS domain name/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /ra\.yaml:12.*split_dns.*'bad domain' is not a DNS domain name/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /ra\.yaml:13.*local_lan/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /ra\.yaml:14.*save_password/.test(p)), problems.join('\n'));
  // on a client they are errors
  const client = problemsOf(`${CLIENT}    xauth: { user: alice, password: "${EXAMPLE_PASSWORD}" }
    split_dns: [corp.example]
`);
  assert.ok(client.some((p) => /split_dns: is what a gateway hands out/.test(p)), client.join('\n'));
});

test('isakmp daemon --check validates the Mode Config keys: accepted, and a bad one named at its line', async () => {
  const { runCli } = await import('../../../src/cli/run.js');
  const dir = tempDir('isakmp-ra-check-');
  const run = async (text: string): Promise<{ code: number; out: string[]; err: string[] }> => {
    const file = join(dir, 'ra.yaml');
    writeFileSync(file, text, { mode: 0o600 });
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['daemon', '--check', '--config', file], { out: (s: string) => out.push(s), err: (s: string) => err.push(s) });
    return { code, out, err };
  };
  const good = await run(`${GW}    pool: 10.10.0.0/24\n    nbns: 10.1.0.54\n    default_domain: corp.example\n    split_dns: corp.example\n    local_lan: 192.168.0.0/16\n    save_password: false\n    modecfg: push\n`);
  assert.equal(good.code, 0, good.err.join('\n'));
  assert.match(good.out[0] ?? '', /ra\.yaml: ok, 1 connection/);
  const client = await run(`${CLIENT}    xauth: { user: alice, password: pw }\n    modecfg: push\n`);
  assert.equal(client.code, 0, client.err.join('\n'));
  const bad = await run(`${GW}    pool: 10.10.0.0/24\n    split_dns: "not a domain"\n`);
  assert.equal(bad.code, 1);
  assert.ok(bad.err.some((l) => /ra\.yaml:10:\d+: connections\.rw\.split_dns: 'not a domain' is not a DNS domain name/.test(l)), bad.err.join('\n'));
});

test('gateway_rekey: true by default on a gateway, false reaches the engine; refused on a client or not a boolean', async () => {
  const { toEngineConnection } = await import('../../../src/daemon/engine.js');
  const gw = `${GW}    xauth: { backend: "file:examples/remote-access/users" }\n    pool: 10.10.0.0/24\n`;
  const on = parseConfig(gw, 'ra.yaml').connections[0]!;
  assert.equal(on.gatewayRekey, true);
  assert.equal(toEngineConnection(on, 500, '192.0.2.1').gatewayRekey, true);
  const off = parseConfig(`${gw}    gateway_rekey: false\n`, 'ra.yaml').connections[0]!;
  assert.equal(toEngineConnection(off, 500, '192.0.2.1').gatewayRekey, false);
  assert.notEqual(off.fingerprint, on.fingerprint, 'a reload sees the change');
  assert.match(problemsOf(`${gw}    gateway_rekey: maybe\n`).join('\n'), /gateway_rekey/);
  assert.match(problemsOf(`${CLIENT}    gateway_rekey: false\n`).join('\n'), /rw\.gateway_rekey.*only a remote-access gateway/);
});
