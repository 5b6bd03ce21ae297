import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ConfigError, loadConfig, parseConfig, parseDuration, parseIdentity, parseTrafficSelector } from '../../src/daemon/config/index.js';
import { parseEspProposalSpec, parseIkeProposalSpec } from '../../src/exchange/names.js';
import { certSubjectDer, encodeDn } from '../../src/daemon/der.js';
import { UsageError } from '../../src/errors.js';
import { realEndpointFactory as realFactory } from '../../src/daemon/real-endpoint.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.ok(err instanceof UsageError);
    assert.equal(err.code, 'ISAKMP_ERR_CONFIG');
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

test('phase-1 proposals map to RFC 2409 App. A numbers', () => {
  assert.deepEqual(parseIkeProposalSpec('aes128-sha256-modp2048'), {
    ok: true,
    value: { text: 'aes128-sha256-modp2048', encryption: 7, keyLength: 128, hash: 4, group: 14 },
  });
  assert.deepEqual(parseIkeProposalSpec('AES256-SHA1-ECP256'), {
    ok: true,
    value: { text: 'aes256-sha1-ecp256', encryption: 7, keyLength: 256, hash: 2, group: 19 },
  });
  assert.deepEqual(parseIkeProposalSpec('3des-sha512-modp4096'), {
    ok: true,
    value: { text: '3des-sha512-modp4096', encryption: 5, keyLength: undefined, hash: 6, group: 16 },
  });
  const weak = parseIkeProposalSpec('aes128-sha1-modp1024');
  assert.equal(weak.ok, false);
  assert.match((weak as { error: string }).error, /weak and refused by default.*allow_weak_groups/);
  assert.deepEqual(parseIkeProposalSpec('aes128-sha1-modp1024', { allowWeakGroups: true }), {
    ok: true,
    value: { text: 'aes128-sha1-modp1024', encryption: 7, keyLength: 128, hash: 2, group: 2 },
  });
  assert.match((parseIkeProposalSpec('aes129-sha1-modp2048') as { error: string }).error, /unknown phase-1 encryption 'aes129'.*aes128/);
  assert.match((parseIkeProposalSpec('aes128gcm16-sha1-modp2048') as { error: string }).error, /unknown phase-1 encryption/);
  assert.match((parseIkeProposalSpec('aes128-sha256') as { error: string }).error, /not ENC-HASH-GROUP/);
  assert.match((parseIkeProposalSpec('aes128-sha3-modp2048') as { error: string }).error, /unknown hash 'sha3'/);
  assert.match((parseIkeProposalSpec('aes128-sha1-modp2047') as { error: string }).error, /unknown DH group 'modp2047'/);
});

test('phase-2 proposals map to RFC 2407 numbers, the group is PFS', () => {
  assert.deepEqual(parseEspProposalSpec('aes128-sha256-modp2048'), {
    ok: true,
    value: { text: 'aes128-sha256-modp2048', transform: 12, keyLength: 128, auth: 5, group: 14 },
  });
  assert.deepEqual(parseEspProposalSpec('aes256-sha1'), {
    ok: true,
    value: { text: 'aes256-sha1', transform: 12, keyLength: 256, auth: 2, group: undefined },
  });
  assert.deepEqual(parseEspProposalSpec('aes256gcm16-ecp256'), {
    ok: true,
    value: { text: 'aes256gcm16-ecp256', transform: 20, keyLength: 256, auth: undefined, group: 19 },
  });
  assert.match((parseEspProposalSpec('aes128') as { error: string }).error, /lacks an integrity algorithm/);
  assert.match((parseEspProposalSpec('aes128-sha1-modp2048-x') as { error: string }).error, /too many parts/);
  assert.match((parseEspProposalSpec('aes128-sha1-modp1536') as { error: string }).error, /weak/);
});

test('durations, identities and traffic selectors', () => {
  assert.equal(parseDuration('3600'), 3600);
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('30m'), 1800);
  assert.equal(parseDuration('8h'), 28800);
  assert.equal(parseDuration('1d'), 86400);
  assert.equal(parseDuration('1w'), undefined);
  assert.equal(parseDuration('-5'), undefined);

  const v4 = parseIdentity('198.18.0.1');
  assert.ok(v4.ok);
  assert.equal(v4.value.type, 1);
  assert.equal(hex(v4.value.data), 'c6120001');
  const v6 = parseIdentity('2001:db8::1');
  assert.ok(v6.ok);
  assert.equal(v6.value.type, 5);
  assert.equal(hex(v6.value.data), '20010db8000000000000000000000001');
  const fqdn = parseIdentity('@peer-a.peers.test');
  assert.ok(fqdn.ok);
  assert.equal(fqdn.value.type, 2);
  assert.equal(Buffer.from(fqdn.value.data).toString(), 'peer-a.peers.test');
  const ufqdn = parseIdentity('alice@example.net');
  assert.ok(ufqdn.ok);
  assert.equal(ufqdn.value.type, 3);
  const keyid = parseIdentity('keyid:0x0102ff');
  assert.ok(keyid.ok);
  assert.equal(keyid.value.type, 11);
  assert.equal(hex(keyid.value.data), '0102ff');
  const dn = parseIdentity('C=CH, O=peers-test, CN=peer-a');
  assert.ok(dn.ok);
  assert.equal(dn.value.type, 9);
  // SEQUENCE { SET { SEQ { 2.5.4.6, PrintableString "CH" } } SET { SEQ { 2.5.4.10, "peers-test" } } SET { SEQ { 2.5.4.3, "peer-a" } } }
  assert.equal(
    hex(dn.value.data),
    '3033' + '310b300906035504061302' + Buffer.from('CH').toString('hex') +
      '31133011060355040a130a' + Buffer.from('peers-test').toString('hex') +
      '310f300d060355040313067065' + Buffer.from('er-a').toString('hex'),
  );
  assert.equal(parseIdentity('not an id!').ok, false);

  const ts = parseTrafficSelector('10.1.0.0/16');
  assert.deepEqual(ts, { ok: true, value: { family: 4, address: '10.1.0.0', prefix: 16, protocol: 0, port: 0, text: '10.1.0.0/16' } });
  const tsp = parseTrafficSelector('198.18.0.1/32[udp/500]');
  assert.ok(tsp.ok);
  assert.equal(tsp.value.protocol, 17);
  assert.equal(tsp.value.port, 500);
  assert.ok(parseTrafficSelector('2001:db8::/32').ok);
  assert.match((parseTrafficSelector('10.1.2.3/16') as { error: string }).error, /host bits set/);
  assert.match((parseTrafficSelector('10.0.0.0/33') as { error: string }).error, /longer than 32/);
  assert.match((parseTrafficSelector('10.0.0.0/8[/80]') as { error: string }).error, /not a traffic selector/);
  assert.match((parseTrafficSelector('10.0.0.0/8[bogus]') as { error: string }).error, /unknown protocol/);
});

test('the subject DN of a certificate is taken byte for byte from its DER', () => {
  const cert = new X509Certificate(readFileSync('examples/certs/left.crt'));
  const subject = certSubjectDer(cert.raw);
  assert.equal(subject[0], 0x30);
  // The subject contains the CN, and is not the issuer (whose CN is "Example CA").
  assert.ok(Buffer.from(subject).includes(Buffer.from('left')));
  assert.ok(!Buffer.from(subject).includes(Buffer.from('Example CA')));
  // openssl writes C as PrintableString and the rest as UTF8String; encodeDn picks PrintableString:
  // the two differ only in the string tags.
  const mine = encodeDn('C=CH, O=isakmp-example, CN=left');
  assert.ok(mine.ok);
  assert.equal(mine.value.length, subject.length);
  assert.throws(() => certSubjectDer(Uint8Array.from([0x30, 0x05, 0x30])), /DER/);
});

const MINIMAL = `secrets:
  s1: { allow_weak_psk: true,
        psk: secret-one }
connections:
  c1:
    secret: s1
    remote: { address: 192.0.2.2 }
    local: { address: 192.0.2.1 }
    ike: aes128-sha256-modp2048
`;

test('a minimal file gets the documented defaults', () => {
  const cfg = parseConfig(MINIMAL, 'min.yaml');
  assert.deepEqual(cfg.global.listen, [
    { address: '0.0.0.0', family: 4 },
    { address: '::', family: 6 },
  ]);
  assert.equal(cfg.global.port, 500);
  assert.equal(cfg.global.nattPort, 4500);
  assert.equal(cfg.global.dataplane, 'none');
  assert.equal(cfg.global.log.format, 'text');
  assert.equal(cfg.global.log.level, 'info');
  assert.equal(cfg.global.controlSocket, '/run/isakmp/isakmp.sock');
  const [c] = cfg.connections;
  assert.ok(c);
  assert.equal(c.name, 'c1');
  assert.equal(c.line, 5);
  assert.equal(c.exchange, 'main');
  assert.equal(c.auth, 'psk');
  assert.equal(c.secret.kind, 'psk');
  assert.equal(Buffer.from((c.secret as { psk: Uint8Array }).psk).toString(), 'secret-one');
  assert.equal(c.local.id?.type, 1);
  assert.equal(hex(c.remote.id?.data ?? new Uint8Array()), 'c0000202');
  assert.equal(c.remote.port, 500);
  assert.deepEqual(c.esp.map((p) => p.text), ['aes128-sha256', 'aes256-sha256']);
  assert.deepEqual(c.localTs.map((t) => t.text), ['192.0.2.1']);
  assert.deepEqual(c.remoteTs.map((t) => `${t.address}/${t.prefix}`), ['192.0.2.2/32']);
  assert.equal(c.ipsecMode, 'tunnel');
  assert.equal(c.ikeLifetime, 14400);
  assert.equal(c.lifetime, 3600);
  assert.equal(c.rekeyMargin, 540);
  assert.equal(c.start, 'add');
});

test('pfs: fills in the group of ESP proposals; a conflicting group is an error', () => {
  const cfg = parseConfig(MINIMAL + '    esp: aes128-sha1, aes256-sha256\n    pfs: ecp256\n', 'x.yaml');
  assert.deepEqual(cfg.connections[0]?.esp.map((p) => [p.text, p.group]), [
    ['aes128-sha1-ecp256', 19],
    ['aes256-sha256-ecp256', 19],
  ]);
  const lines = problemsOf(MINIMAL + '    esp: aes128-sha1-modp2048\n    pfs: ecp256\n');
  assert.deepEqual(lines, ["test.yaml:10:10: connections.c1.esp: 'aes128-sha1-modp2048' names a PFS group that differs from pfs: (drop the group here, or make them agree)"]);
  const none = parseConfig(MINIMAL + '    esp: aes128-sha1\n    pfs: none\n', 'x.yaml');
  assert.equal(none.connections[0]?.esp[0]?.group, undefined);
});

test('validation errors name the file, the line, the column and what to fix', () => {
  const text = `global:
  port: 70000
  dataplane: ebpf
  log: { level: loud }
secrets:
  s1: { allow_weak_psk: true,
        psk: one }
connections:
  bad:
    secret: s2
    remote: { address: 192.0.2.300 }
    ike: aes128-sha256-modp1024, aes128-md4-modp2048
    lifetime: 2 hours
    start: later
    colour: blue
`;
  const lines = problemsOf(text);
  assert.deepEqual(lines, [
    "test.yaml:2:9: global.port: '70000' must be a whole number from 1 to 65535",
    "test.yaml:4:17: global.log.level: 'loud' is not allowed (use one of: error, warn, info, debug, trace)",
    "test.yaml:3:14: global.dataplane: 'ebpf' is not allowed (use one of: none, xfrm)",
    'test.yaml:15:5: connections.bad: unknown key \'colour\' (known keys: mode, auth, secret, local, remote, ike, esp, ah, pfs, ipsec_mode, local_ts, remote_ts, ike_lifetime, ike_rekey_margin, lifetime, lifetime_kb, rekey_margin, rekey_fuzz, gateway_rekey, start, allow_weak_groups, allow_aggressive_psk_responder, nat_traversal, encap, dpd_delay, dpd_timeout, dpd_action, fragmentation, fragment_size, xauth, pool, dns, split_include, banner, modecfg, nbns, default_domain, split_dns, local_lan, save_password)',
    "test.yaml:10:13: connections.bad.secret: no secret named 's2' in the secrets section (defined: s1)",
    "test.yaml:11:24: connections.bad.remote.address: '192.0.2.300' is not an IP address (or %any for a responder-only connection)",
    'test.yaml:10:5: connections.bad.local: set local.address (our address, also our default identity) or local.id: with a wildcard listen address we cannot tell which identity to show',
    "test.yaml:12:10: connections.bad.ike: DH group 'modp1024' in 'aes128-sha256-modp1024' is weak and refused by default (use modp2048 or stronger, or set allow_weak_groups: true)",
    "test.yaml:12:10: connections.bad.ike: unknown hash 'md4' in 'aes128-md4-modp2048' (use one of: md5, sha1, sha, sha256, sha2_256, sha384, sha2_384, sha512, sha2_512)",
    "test.yaml:13:15: connections.bad.lifetime: '2 hours' is not a duration (write seconds, or a number with s, m, h or d: 90s, 30m, 8h)",
    "test.yaml:14:12: connections.bad.start: 'later' is not allowed (use one of: add, start, on-demand)",
  ]);
});

test('YAML syntax errors, missing keys, wrong kinds and cross-field checks', () => {
  assert.match(problemsOf('connections:\n  a: [\n')[0] ?? '', /^test\.yaml:\d+:\d+: YAML syntax: /);
  assert.deepEqual(problemsOf(''), ['test.yaml:1:1: the file is empty (it needs at least a connections: section)']);
  assert.deepEqual(problemsOf('connections:\n  c:\n    ike: aes128-sha1-modp2048\n'), [
    "test.yaml:3:5: connections.c: missing 'secret'",
    "test.yaml:3:5: connections.c: missing 'remote'",
    'test.yaml:3:5: connections.c.local: set local.address (our address, also our default identity) or local.id: with a wildcard listen address we cannot tell which identity to show',
  ]);
  assert.deepEqual(problemsOf('secrets:\n  k:\n    cert: /nonexistent/x.crt\n'), [
    "test.yaml:3:5: secrets.k: give either psk: SECRET, or cert: FILE and key: FILE (plus ca: FILE or a list), or ca: alone (a Hybrid client's trust anchors)",
  ]);
  assert.deepEqual(
    problemsOf(MINIMAL.replace('ike: aes128-sha256-modp2048', 'ike: aes128-sha256-modp2048\n    rekey_margin: 2h\n    lifetime: 1h')),
    ['test.yaml:10:19: connections.c1.rekey_margin: must be shorter than lifetime (3600s)'],
  );
  assert.deepEqual(problemsOf(MINIMAL + '    mode: aggressive\n    ike: aes128-sha256-modp2048\n').length, 1);
  assert.deepEqual(
    problemsOf(MINIMAL.replace('ike: aes128-sha256-modp2048', 'mode: aggressive\n    ike: aes128-sha256-modp2048, aes128-sha256-ecp256')),
    ['test.yaml:10:10: connections.c1.ike: aggressive mode sends its KE in the first message, so all proposals must use the same DH group'],
  );
  assert.deepEqual(problemsOf(MINIMAL + '    start: on-demand\n'), [
    'test.yaml:10:12: connections.c1.start: on-demand needs the kernel to report traffic: set global.dataplane: xfrm (or use start: add / start)',
  ]);
  assert.deepEqual(problemsOf(MINIMAL + '    local_ts: 10.0.0.0/8\n    remote_ts: 2001:db8::/32\n'), [
    'test.yaml:10:15: connections.c1.local_ts: local_ts and remote_ts must be the same IP version',
  ]);
  assert.deepEqual(problemsOf(MINIMAL.replace('auth', 'x') + '    auth: rsa\n'), [
    "test.yaml:6:13: connections.c1.secret: auth: rsa needs a secret with cert: and key:, 's1' is a psk",
  ]);
  const dup = MINIMAL + '  c2:\n    secret: s1\n    remote: { address: 192.0.2.2 }\n    local: { address: 192.0.2.1 }\n    ike: aes128-sha256-modp2048\n';
  assert.deepEqual(problemsOf(dup), [
    "test.yaml:10:3: connections.c2: same peer, mode, auth and remote id as connection 'c1', and the same selectors (192.0.2.1 === 192.0.2.2): a Quick Mode of the peer could not tell them apart (give each its own local_ts / remote_ts, merge them, or give one a different remote.id)",
  ]);
  assert.deepEqual(problemsOf('global:\n  metrics: 0.0.0.0:9100\n' + MINIMAL), [
    'test.yaml:2:12: global.metrics: metrics are served on localhost only (use 127.0.0.1:9100 or [::1]:9100)',
  ]);
});

test('loadConfig on a missing file says so with ISAKMP_ERR_CONFIG', () => {
  assert.throws(() => loadConfig('/nonexistent/isakmp.yaml'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ISAKMP_ERR_CONFIG');
    assert.equal(err.message, '/nonexistent/isakmp.yaml: cannot read the configuration file: ENOENT (write one, see docs/config.md and examples/, or pass --config FILE)');
    return true;
  });
});

test('reload fingerprints: equal for an unchanged connection, different when anything changes', () => {
  const a = parseConfig(MINIMAL, 'a.yaml').connections[0];
  const b = parseConfig('# moved one line down\n' + MINIMAL, 'b.yaml').connections[0];
  const c = parseConfig(MINIMAL.replace('secret-one', 'secret-two'), 'c.yaml').connections[0];
  assert.ok(a && b && c);
  assert.notEqual(a.line, b.line);
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.fingerprint, c.fingerprint);
});

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (name.endsWith('.yaml')) out.push(p);
  }
  return out;
}

test('every file in examples/ loads', () => {
  const files = yamlFiles('examples');
  assert.ok(files.length >= 6, `expected the examples, found ${files.join(', ')}`);
  for (const f of files) {
    const cfg = loadConfig(f);
    assert.ok(cfg.connections.length >= 1, f);
  }
  const rsa = loadConfig('examples/rsa-certs.yaml').connections[0];
  assert.ok(rsa && rsa.secret.kind === 'rsa');
  assert.equal(rsa.local.id?.type, 9);
  assert.equal(hex(rsa.local.id?.data ?? new Uint8Array()), hex(certSubjectDer(rsa.secret.cert.raw)));
  assert.equal(rsa.remote.id?.text, 'C=CH, O=isakmp-example, CN=right');
  const s2s = loadConfig('examples/site-to-site-psk.yaml').connections[0];
  assert.ok(s2s);
  assert.deepEqual(s2s.ike.map((p) => [p.encryption, p.keyLength, p.hash, p.group]), [
    [7, 256, 4, 14],
    [7, 128, 4, 19],
  ]);
  assert.deepEqual(s2s.esp.map((p) => [p.transform, p.keyLength, p.auth, p.group]), [
    [12, 256, 5, 14],
    [12, 128, 5, 14],
  ]);
  const tr = loadConfig('examples/host-to-host-transport.yaml').connections[0];
  assert.ok(tr && tr.secret.kind === 'psk');
  assert.equal(Buffer.from(tr.secret.psk).toString(), 'key material in hex: 7pQ2vN9sLm4Tz8Rb');
  assert.equal(tr.localTs[0]?.protocol, 17);
});

test('an RSA secret whose key does not match its certificate is refused', () => {
  const text = `secrets:
  mixed:
    cert: certs/left.crt
    key: certs/right.key
`;
  try {
    parseConfig(text, join('examples', 'inline.yaml'));
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^examples\/inline\.yaml:4:10: secrets\.mixed\.key: the private key does not belong to the certificate '.*examples\/certs\/left\.crt'$/);
  }
});

test('remote %any: responder-only connections', () => {
  const text = `secrets:\n  s: { psk: x, allow_weak_psk: true }\nconnections:\n  any:\n    secret: s\n    remote: { address: "%any", id: "%any" }\n    ike: aes128-sha256-modp2048\n    local: { address: 192.0.2.1 }\n`;
  const c = parseConfig(text, 'a.yaml').connections[0];
  assert.ok(c);
  assert.equal(c.remote.address, '%any');
  assert.equal(c.remote.id?.text, '%any');
  assert.deepEqual(c.remoteTs, []);
  assert.deepEqual(problemsOf(text.replace(', id: "%any"', '')), [
    'test.yaml:6:13: connections.any.remote.id: with address %any give the identity the peers must prove (id: "%any" accepts any)',
  ]);
  assert.deepEqual(problemsOf(text + '    start: start\n'), ['test.yaml:9:12: connections.any.start: a connection to %any can only answer: use start: add']);
});

test('subnet selectors reach the engine with their last address, IPv6 as IPv4 (found against Libreswan: an IPv6 /64 went out as a /64 but was kept as one address, so the echoed IDs were refused)', async () => {
  const { toEngineConnection } = await import('../../src/daemon/engine.js');
  const v6 = parseConfig(MINIMAL.replace('192.0.2.2', '2001:db8::2').replace('192.0.2.1', '2001:db8::1') + '    local_ts: [fd00:a::/64, "2001:db8:1::/48[tcp/443]"]\n    remote_ts: fd00:b::/56\n', 'x.yaml').connections[0]!;
  const e6 = toEngineConnection(v6, 500, '2001:db8::1');
  assert.deepEqual(e6.localTs, [
    { family: 6, start: 'fd00:a::', end: 'fd00:a::ffff:ffff:ffff:ffff', prefix: 64, protocol: 0, port: 0 },
    { family: 6, start: '2001:db8:1::', end: '2001:db8:1:ffff:ffff:ffff:ffff:ffff', prefix: 48, protocol: 6, port: 443 },
  ]);
  // one selector is handed over as itself, several as a list
  assert.deepEqual(e6.remoteTs, { family: 6, start: 'fd00:b::', end: 'fd00:b:0:ff:ffff:ffff:ffff:ffff', prefix: 56, protocol: 0, port: 0 });
  const v4 = parseConfig(MINIMAL + '    local_ts: 10.1.0.0/16\n    remote_ts: [10.2.3.0/24, 10.9.9.9/32]\n', 'x.yaml').connections[0]!;
  const e4 = toEngineConnection(v4, 500, '192.0.2.1');
  assert.deepEqual(e4.localTs, { family: 4, start: '10.1.0.0', end: '10.1.255.255', prefix: 16, protocol: 0, port: 0 });
  assert.deepEqual(e4.remoteTs, [
    { family: 4, start: '10.2.3.0', end: '10.2.3.255', prefix: 24, protocol: 0, port: 0 },
    { family: 4, start: '10.9.9.9', end: '10.9.9.9', protocol: 0, port: 0 },
  ]);
});

test('NAT traversal per connection: on by default, `nat_traversal: false` turns it off, `encap: true` forces UDP encapsulation; natt_port reaches the engine', async () => {
  const { toEngineConnection } = await import('../../src/daemon/engine.js');
  const on = parseConfig(MINIMAL, 'x.yaml').connections[0]!;
  assert.equal(on.natTraversal, true);
  assert.equal(on.encap, false);
  const e1 = toEngineConnection(on, 500, '192.0.2.1');
  assert.equal(e1.natTraversal, true);
  assert.equal(e1.forceEncapsulation, false);
  const off = parseConfig(MINIMAL + '    nat_traversal: false\n', 'x.yaml').connections[0]!;
  assert.equal(toEngineConnection(off, 500, '192.0.2.1').natTraversal, false);
  const forced = parseConfig(MINIMAL + '    encap: true\n', 'x.yaml').connections[0]!;
  assert.equal(toEngineConnection(forced, 500, '192.0.2.1').forceEncapsulation, true);
  assert.notEqual(forced.fingerprint, on.fingerprint, 'a reload sees the change');
  assert.deepEqual(problemsOf(MINIMAL + '    encap: maybe\n').length, 1);
  // the daemon hands its NAT-T port to the engine
  const { Daemon } = await import('../../src/daemon/daemon.js');
  const seen: number[] = [];
  const text = 'global:\n  natt_port: 14500\n  port: 14499\n' + MINIMAL;
  void new Daemon({
    config: parseConfig(text, 'x.yaml'),
    endpointFactory: (o) => { seen.push(o.nattPort ?? -1); return realFactory(o); },
  });
  assert.deepEqual(seen, [14500]);
});

test('nat_keepalive: 20 s by default, 0 turns it off, otherwise 1 s to 1 h', () => {
  assert.equal(parseConfig(MINIMAL, 'x.yaml').global.natKeepalive, 20);
  assert.equal(parseConfig('global:\n  nat_keepalive: 0\n' + MINIMAL, 'x.yaml').global.natKeepalive, 0);
  assert.equal(parseConfig('global:\n  nat_keepalive: 30s\n' + MINIMAL, 'x.yaml').global.natKeepalive, 30);
  const bad = problemsOf('global:\n  nat_keepalive: 2h\n' + MINIMAL);
  assert.equal(bad.length, 1);
  assert.match(bad[0]!, /nat_keepalive.*out of range \(0 to turn off, or 1s to 1h\)/);
});

test('dpd_delay / dpd_timeout / dpd_action: 30 s, 150 s, clear by default; 0 turns DPD off; the timeout must be longer', () => {
  const c = parseConfig(MINIMAL, 'x.yaml').connections[0]!;
  assert.deepEqual([c.dpdDelay, c.dpdTimeout, c.dpdAction], [30, 150, 'clear']);
  const off = parseConfig(MINIMAL + '    dpd_delay: 0\n', 'x.yaml').connections[0]!;
  assert.equal(off.dpdDelay, 0);
  const r = parseConfig(MINIMAL + '    dpd_delay: 10s\n    dpd_timeout: 1m\n    dpd_action: restart\n', 'x.yaml').connections[0]!;
  assert.deepEqual([r.dpdDelay, r.dpdTimeout, r.dpdAction], [10, 60, 'restart']);
  assert.match(problemsOf(MINIMAL + '    dpd_delay: 60s\n    dpd_timeout: 60s\n')[0] ?? '', /dpd_timeout: must be longer than dpd_delay \(60s\)/);
  assert.match(problemsOf(MINIMAL + '    dpd_action: hold\n')[0] ?? '', /dpd_action: 'hold' is not allowed/);
});

test('fragmentation / fragment_size: yes and 548 bytes by default; global fragment_size is the default of connections; bad values named with their line', () => {
  const c = parseConfig(MINIMAL, 'x.yaml').connections[0]!;
  assert.deepEqual([c.fragmentation, c.fragmentSize], ['yes', 548]);
  const f = parseConfig(MINIMAL + '    fragmentation: force\n    fragment_size: 1200\n', 'x.yaml').connections[0]!;
  assert.deepEqual([f.fragmentation, f.fragmentSize], ['force', 1200]);
  const g = parseConfig('global:\n  fragment_size: 1000\n' + MINIMAL, 'x.yaml');
  assert.equal(g.global.fragmentSize, 1000);
  assert.equal(g.connections[0]!.fragmentSize, 1000);
  assert.match(problemsOf(MINIMAL + '    fragmentation: maybe\n')[0] ?? '', /fragmentation: 'maybe' is not allowed \(use one of: yes, no, force\)/);
  assert.match(problemsOf(MINIMAL + '    fragment_size: 20\n')[0] ?? '', /fragment_size: '20' must be a whole number from 68 to 65535/);
});
