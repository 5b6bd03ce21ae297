/**
 * Configuration hygiene (issue 14.5): a weak pre-shared key is refused unless `allow_weak_psk:
 * true` lets it through, and then warned about by `--check` and at start; a tab in the
 * indentation is one line at its position; an indentation error points at the offending line;
 * `--check` checks that the files the configuration names (updown script, certificates, keys,
 * CAs, CRLs, the key log's folder, the ha cluster key) exist and can be read, and warns about
 * their permissions.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { ConfigError, parseConfig } from '../../src/daemon/config/index.js';
import { indentationProblem, tabProblems } from '../../src/daemon/config/indentation.js';
import { MIN_PSK_BITS, pskStrength, pskWeakness } from '../../src/daemon/config/psk-strength.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { preflightNotes } from '../../src/daemon/preflight.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { pki } from '../helpers/pki.js';
import { freeUdpPorts, tempDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

function problemsOf(yaml: string, file = 'h.yaml'): string[] {
  try {
    parseConfig(yaml, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

/** A one-connection file around a secret block (its lines at 3 and on). */
function withSecret(secret: string, global = ''): string {
  return `${global}secrets:
  s:
${secret}connections:
  c:
    secret: s
    local: { address: 192.0.2.2 }
    remote: { address: 192.0.2.1 }
    ike: aes128-sha256-modp2048
`;
}

/** Writes `yaml` to a 0600 file in a new folder and runs `isakmp daemon --check` on it. */
async function check(yaml: string, dir = tempDir('isakmp-hyg-'), extra: string[] = []): Promise<{ code: number; out: string[]; err: string[]; file: string; dir: string }> {
  const file = join(dir, 'isakmp.yaml');
  writeFileSync(file, yaml);
  chmodSync(file, 0o600);
  const c = io();
  const code = await runCli(['daemon', '--check', '--config', file, ...extra], c.io);
  return { code, out: c.out, err: c.err, file, dir };
}

const STRONG = 'Kx7pQ2vN9sLm4Tz8Rb3Wy6Hd';

describe('weak pre-shared keys', () => {
  test('the estimate: dictionary-like and short keys are weak, random ones are not', () => {
    for (const weak of ['cisco1', 'cisco123', 'letmein', 'vpn-secret-2024', 'P@ssw0rd!', 'peers-mm-psk-secret', 'qwertyuiop1234567890', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'abcdefghijklmnopqrstuvwxyz', 'SuperSecretPassword2024!']) {
      assert.equal(pskStrength(text(weak)).weak, true, weak);
    }
    const c = pskStrength(text('cisco1'));
    assert.deepEqual([c.length, c.words], [6, ['cisco']]);
    assert.equal(pskWeakness(c), `6 characters (fewer than 20), about ${c.bits} bits by a simple estimate (under 80), common words: cisco`);
    // 20 characters or more but made of words: weak by the estimate alone
    const words = pskStrength(text('secretpasswordadminlogin'));
    assert.ok(words.length >= 20 && words.weak && words.bits < MIN_PSK_BITS, JSON.stringify(words));
    assert.doesNotMatch(pskWeakness(words), /characters/);
    // what the docs tell operators to use always passes
    for (let i = 0; i < 200; i++) {
      const k = randomBytes(24).toString('base64');
      assert.equal(pskStrength(text(k)).weak, false, k);
      assert.equal(pskStrength(randomBytes(16)).weak, false);
    }
    // raw bytes: 8 bits each, 1 for a byte equal to or next to the previous one
    assert.equal(pskStrength(new Uint8Array(9).fill(0x80)).weak, true);
    assert.equal(pskStrength(Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10])).weak, true);
    assert.equal(pskStrength(Uint8Array.from([0x00, 0x80, 0x10, 0x90, 0x20, 0xa0, 0x30, 0xb0, 0x40, 0xc0])).bits, 80);
  });

  test('refused at load with its line and column, the reason and the way out; allow_weak_psk: true lets it through', () => {
    assert.deepEqual(problemsOf(withSecret('    psk: cisco1\n')), [
      `h.yaml:3:10: secrets.s.psk: weak pre-shared key: ${pskWeakness(pskStrength(text('cisco1')))}; use 20 or more random characters (e.g. openssl rand -base64 24), or set allow_weak_psk: true on this secret to accept it`,
    ]);
    // the hex form is judged on its bytes (here the text "cisco1")
    assert.match(problemsOf(withSecret('    psk: 0x636973636f31\n'))[0]!, /^h\.yaml:3:10: secrets\.s\.psk: weak pre-shared key: 6 characters/);
    const ok = parseConfig(withSecret('    psk: cisco1\n    allow_weak_psk: true\n'), 'h.yaml');
    const s = ok.secrets.get('s');
    assert.ok(s?.kind === 'psk');
    assert.deepEqual(Buffer.from(s.psk).toString(), 'cisco1');
    assert.equal(s.weakness, pskWeakness(pskStrength(text('cisco1'))));
    // a strong key carries no weakness; false is the default; the flag is for psk secrets only and a boolean
    const strong = parseConfig(withSecret(`    psk: "${STRONG}"\n    allow_weak_psk: false\n`), 'h.yaml').secrets.get('s');
    assert.ok(strong?.kind === 'psk' && strong.weakness === undefined);
    assert.equal(problemsOf(withSecret('    psk: cisco1\n    allow_weak_psk: false\n')).length, 1);
    assert.match(problemsOf(withSecret('    psk: cisco1\n    allow_weak_psk: maybe\n'))[0]!, /^h\.yaml:4:21: secrets\.s\.allow_weak_psk: /);
    assert.deepEqual(problemsOf('secrets:\n  s:\n    cert: x.crt\n    key: x.key\n    allow_weak_psk: true\n').filter((l) => l.includes('allow_weak_psk')), [
      'h.yaml:5:5: secrets.s.allow_weak_psk: applies to a psk secret only',
    ]);
  });

  test('--check and the daemon command refuse it with the same one line; allowed, --check passes with a warning and the daemon warns at start', async () => {
    const weak = await check(withSecret('    psk: cisco1\n'));
    assert.equal(weak.code, 1);
    assert.deepEqual(weak.out, []);
    assert.equal(weak.err.length, 1);
    assert.match(weak.err[0]!, /^isakmp daemon: .*isakmp\.yaml:3:10: secrets\.s\.psk: weak pre-shared key: 6 characters \(fewer than 20\), .*common words: cisco; .*allow_weak_psk: true/);
    const start = io();
    assert.equal(await runCli(['daemon', '--config', weak.file], start.io), 1);
    assert.deepEqual(start.err, weak.err);

    const allowed = await check(withSecret('    psk: cisco1\n    allow_weak_psk: true\n'));
    assert.equal(allowed.code, 0, allowed.err.join('\n'));
    assert.deepEqual(allowed.out, [`${allowed.file}: ok, 1 connection`]);
    assert.deepEqual(allowed.err, [
      `isakmp daemon: warning: secrets.s.psk: weak pre-shared key, accepted because of allow_weak_psk: ${pskWeakness(pskStrength(text('cisco1')))}; anyone who records one exchange can try guesses offline: replace it with 20 or more random characters`,
    ]);
    const strong = await check(withSecret(`    psk: "${STRONG}"\n`));
    assert.deepEqual([strong.code, strong.err], [0, []]);

    // at start: one WARN line of the config area, before "started"
    const [port] = await freeUdpPorts(1);
    const lines: string[] = [];
    const d = new Daemon({
      config: parseConfig(withSecret('    psk: cisco1\n    allow_weak_psk: true\n', `global:\n  listen: [127.0.0.1]\n  port: ${port}\n  natt_port: 0\n`), allowed.file),
      endpointFactory: realEndpointFactory,
      control: false,
      logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }),
    });
    await d.start();
    await d.stop();
    const warn = lines.findIndex((l) => /WARN .*\[config\] secrets\.s\.psk: weak pre-shared key, accepted because of allow_weak_psk: 6 characters/.test(l));
    assert.ok(warn >= 0, lines.join(''));
    assert.ok(warn < lines.findIndex((l) => / started/.test(l)), lines.join(''));
  });

  test('every example in examples/ passes the check; a weak key there says allow_weak_psk beside it', () => {
    const files = [...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => join('examples', f)), ...readdirSync('examples/loopback').map((f) => join('examples/loopback', f))];
    for (const f of files) {
      const config = parseConfig(readFileSync(f, 'utf8'), f);
      for (const s of config.secrets.values()) if (s.kind === 'psk' && s.weakness !== undefined) assert.match(readFileSync(f, 'utf8'), /allow_weak_psk: true/, f);
    }
  });

  test('isakmp import carries a weak key over with allow_weak_psk: true and a comment; a strong one without', async () => {
    const dir = tempDir('isakmp-hyg-');
    const ios = join(dir, 'router.cfg');
    writeFileSync(ios, `crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 14
crypto isakmp key cisco123 address 203.0.113.7
crypto isakmp key ${STRONG} address 203.0.113.8
crypto ipsec transform-set TS esp-aes 256 esp-sha256-hmac
crypto map CMAP 10 ipsec-isakmp
 set peer 203.0.113.7
 set transform-set TS
 match address 101
crypto map CMAP 20 ipsec-isakmp
 set peer 203.0.113.8
 set transform-set TS
 match address 102
access-list 101 permit ip 10.1.0.0 0.0.255.255 10.2.0.0 0.0.255.255
access-list 102 permit ip 10.1.0.0 0.0.255.255 10.3.0.0 0.0.255.255
interface GigabitEthernet0/0
 ip address 192.0.2.1 255.255.255.0
 crypto map CMAP
`);
    const c = io();
    assert.equal(await runCli(['import', 'cisco', ios], c.io), 0, c.err.join('\n'));
    const yaml = c.out.join('\n') + '\n';
    const secrets = yaml.slice(yaml.indexOf('\nsecrets:\n'), yaml.indexOf('\nconnections:\n'));
    const blocks = secrets.split(/\n(?=  \S)/).slice(1);
    const weak = blocks.find((b) => b.includes('"cisco123"'));
    const strong = blocks.find((b) => b.includes(`"${STRONG}"`));
    assert.ok(weak !== undefined && strong !== undefined, secrets);
    assert.ok(weak.replace(/\n    #  */g, ' ').includes(` weak pre-shared key (${pskWeakness(pskStrength(text('cisco123')))}): accepted only because of the next line; replace it on both sides`), weak);
    assert.match(weak, /\n    allow_weak_psk: true$/);
    assert.doesNotMatch(strong, /allow_weak_psk|weak/);
    // and the output passes --check, with the warning
    const r = await check(yaml);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.ok(r.err.some((l) => /warning: secrets\.[^ ]+\.psk: weak pre-shared key, accepted because of allow_weak_psk/.test(l)), r.err.join('\n'));
  });
});

describe('tabs and indentation', () => {
  test('a tab in the indentation is one line at its line and column, whatever follows', () => {
    const good = withSecret(`    psk: "${STRONG}"\n`);
    const tabbed = good.replace('    secret: s\n', '  \tsecret: s\n');
    assert.deepEqual(problemsOf(tabbed), ['h.yaml:6:3: tabs are not allowed in YAML indentation (indent with spaces)']);
    // one line per line that has one; tabs in comment lines and after the indentation are fine
    const two = good.replace('  s:\n', '\ts:\n').replace('    ike:', '\t\tike:');
    assert.deepEqual(problemsOf(two), [
      'h.yaml:2:1: tabs are not allowed in YAML indentation (indent with spaces)',
      'h.yaml:9:1: tabs are not allowed in YAML indentation (indent with spaces)',
    ]);
    assert.equal(parseConfig(good.replace('connections:\n', '\t# a comment\nconnections:\n').replace('secret: s', 'secret:\ts'), 'h.yaml').connections.length, 1);
    assert.deepEqual(tabProblems('a:\n \t b: 1\n'), [{ line: 2, col: 2, message: 'tabs are not allowed in YAML indentation (indent with spaces)' }]);
  });

  test('an over-indented or under-indented line is reported on that line, not the one before', () => {
    const good = withSecret(`    psk: "${STRONG}"\n`);
    assert.deepEqual(problemsOf(good.replace('    remote:', '       remote:')), [
      "h.yaml:8:8: indented 7 spaces, deeper than 'local' on line 7, which already has a value: indent it 4 spaces to be its sibling (or leave 'local' empty to nest under it)",
    ]);
    assert.deepEqual(problemsOf(good.replace('    ike:', '   ike:')), ['h.yaml:9:4: indented 3 spaces, which matches no level above it: use 4 spaces (as the lines before it) or 2']);
    assert.deepEqual(problemsOf(good.replace('    secret: s\n', '    secret: s\n      local_ts: 10.0.0.0/8\n')), [
      "h.yaml:7:7: indented 6 spaces, deeper than 'secret' on line 6, which already has a value: indent it 4 spaces to be its sibling (or leave 'secret' empty to nest under it)",
    ]);
    // what is not an indentation mistake is left alone: block scalars, multi-line flow collections, continued plain scalars, lists
    for (const ok of [
      'a: |\n  one\n     two\nb: 1\n',
      'a: [1,\n      2,\n  3]\nb: { x: 1,\n        y: 2 }\n',
      'a: one\n  two\nb: 1\n',
      'a:\n  - x: 1\n    y: 2\n  - z\nb:\n- 1\n- 2\n',
      '---\na: 1\n...\n',
    ]) assert.equal(indentationProblem(ok), undefined, ok);
    // and no example trips it
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.yaml'))) assert.equal(indentationProblem(readFileSync(join('examples', f), 'utf8')), undefined, f);
  });
});

describe('--check: the files the configuration names', () => {
  const certs = resolve('examples/certs');
  /** Copies of the example certificate and key in `dir` (0600 key, 0644 certificates). */
  function rsaFiles(dir: string): { cert: string; key: string; ca: string } {
    const f = { cert: join(dir, 'left.crt'), key: join(dir, 'left.key'), ca: join(dir, 'ca.crt') };
    copyFileSync(join(certs, 'left.crt'), f.cert);
    copyFileSync(join(certs, 'left.key'), f.key);
    copyFileSync(join(certs, 'ca.crt'), f.ca);
    chmodSync(f.key, 0o600);
    chmodSync(f.cert, 0o644);
    chmodSync(f.ca, 0o644);
    return f;
  }
  const rsa = (f: { cert: string; key: string; ca: string }, global = '') => `${global}secrets:
  s:
    cert: ${f.cert}
    key: ${f.key}
    ca: [${f.ca}]
connections:
  c:
    auth: rsa
    secret: s
    local: { address: 192.0.2.2 }
    remote: { address: 192.0.2.1, id: "C=CH, O=isakmp-example, CN=right" }
    ike: aes128-sha256-modp2048
`;

  test('the updown script: missing or a folder is an error, not executable is an error, writable by others is a warning', async () => {
    const dir = tempDir('isakmp-hyg-');
    const script = join(dir, 'updown.sh');
    const conf = withSecret(`    psk: "${STRONG}"\n`, `global:\n  updown: ${script}\n`);
    const missing = await check(conf, dir);
    assert.deepEqual([missing.code, missing.out], [1, []]);
    assert.deepEqual(missing.err, [`isakmp daemon: error: global.updown: cannot use the updown script '${script}': ENOENT (it does not exist: check the path)`]);
    // the daemon refuses to start with it, in the same words
    const start = io();
    assert.equal(await runCli(['daemon', '--config', missing.file], start.io), 1);
    assert.deepEqual(start.err, missing.err);
    mkdirSync(script);
    assert.deepEqual((await check(conf, dir)).err, [`isakmp daemon: error: global.updown: the updown script '${script}' is not a regular file`]);
    const file = join(dir, 'up.sh');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const conf2 = conf.replace(script, file);
    const plain = await check(conf2, dir);
    assert.deepEqual([plain.code, plain.err], [1, [`isakmp daemon: error: global.updown: the updown script '${file}' is not executable: run chmod 755 '${file}' (or 700)`]]);
    chmodSync(file, 0o757);
    const open = await check(conf2, dir);
    assert.equal(open.code, 0);
    assert.deepEqual(open.err, [`isakmp daemon: warning: global.updown: the updown script '${file}' is writable by others (mode 0757): whoever can write it runs code as the daemon: run chmod go-w '${file}'`]);
    chmodSync(file, 0o755);
    assert.deepEqual(await check(conf2, dir).then((r) => [r.code, r.err]), [0, []]);
  });

  test('certificates, keys and CAs: a missing one or a folder is an error naming the file; a private key readable by others and a certificate writable by others are warnings', async () => {
    const dir = tempDir('isakmp-hyg-');
    const f = rsaFiles(dir);
    assert.deepEqual(await check(rsa(f), dir).then((r) => [r.code, r.err]), [0, []]);
    const gone = await check(rsa({ ...f, ca: join(dir, 'nope.crt') }), dir);
    assert.equal(gone.code, 1);
    assert.deepEqual(gone.err, [`isakmp daemon: ${gone.file}:5:10: secrets.s.ca: cannot read CA certificate '${join(dir, 'nope.crt')}': ENOENT (it does not exist: check the path)`]);
    mkdirSync(join(dir, 'k'));
    const folder = await check(rsa({ ...f, key: join(dir, 'k') }), dir);
    assert.deepEqual(folder.err, [`isakmp daemon: ${folder.file}:4:10: secrets.s.key: cannot read private key '${join(dir, 'k')}': EISDIR (it is a folder, not a file)`]);
    chmodSync(f.key, 0o644);
    chmodSync(f.cert, 0o666);
    const modes = await check(rsa(f), dir);
    assert.equal(modes.code, 0);
    assert.deepEqual(modes.err, [
      `isakmp daemon: warning: ${f.key}: the private key of secret 's' is readable by group and others (mode 0644): run chmod 600 '${f.key}'`,
      `isakmp daemon: warning: ${f.cert}: the certificate of secret 's' is writable by group and others (mode 0666): run chmod go-w '${f.cert}'`,
    ]);
  });

  test('a key the daemon\'s user cannot read: EACCES, named as such (as root: checked with CAP_DAC_OVERRIDE dropped)', { skip: !existsSync('dist/cli/main.js') ? 'dist/ not built' : false }, () => {
    const dir = tempDir('isakmp-hyg-');
    const f = rsaFiles(dir);
    const file = join(dir, 'isakmp.yaml');
    writeFileSync(file, rsa(f));
    chmodSync(file, 0o600);
    chmodSync(f.key, 0o000);
    const root = process.getuid?.() === 0;
    const wrap = root ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-dac_override,-dac_read_search'] : [];
    const cmd = [...wrap, process.execPath, 'dist/cli/main.js', 'daemon', '--check', '--config', file];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `isakmp daemon: ${file}:4:10: secrets.s.key: cannot read private key '${f.key}': EACCES (permission denied: the daemon's user cannot read it; check its owner and mode, and those of its folders)\n`);
  });

  const P = pki();
  after(() => P?.remove());
  test('a CRL: missing is an error, writable by others a warning', { skip: P === undefined ? 'openssl command line not installed' : false }, async () => {
    const dir = tempDir('isakmp-hyg-');
    const ca = P!.issue('h-ca', { subj: '/C=CH/O=h/CN=h CA', ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'] });
    const f = { ...rsaFiles(dir), ca: ca.certPath };
    const crl = join(dir, 'ca.crl');
    copyFileSync(P!.crl(ca, []).path, crl);
    chmodSync(crl, 0o646);
    const withCrl = (path: string) => rsa(f).replace('connections:\n', `    crls: [${path}]\nconnections:\n`);
    const r = await check(withCrl(crl), dir);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.err, [`isakmp daemon: warning: ${crl}: a CRL of secret 's' is writable by others (mode 0646): run chmod go-w '${crl}'`]);
    const gone = await check(withCrl(join(dir, 'gone.crl')), dir);
    assert.deepEqual(gone.err, [`isakmp daemon: ${gone.file}:6:12: secrets.s.crls: cannot read CRL '${join(dir, 'gone.crl')}': ENOENT (it does not exist: check the path)`]);
  });

  test('the ha cluster key: readable by others is a warning', async () => {
    const dir = tempDir('isakmp-hyg-');
    const key = join(dir, 'cluster.key');
    writeFileSync(key, randomBytes(32).toString('hex') + '\n');
    chmodSync(key, 0o644);
    const conf = withSecret(`    psk: "${STRONG}"\n`, `global:\n  listen: [198.51.100.10]\nha:\n  store: http://127.0.0.1:2379\n  cluster: c\n  node: a\n  cluster_key: ${key}\n  virtual_ip: 198.51.100.10/24\n  interface: eth0\n`).replace('192.0.2.2', '198.51.100.10');
    const r = await check(conf, dir);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.err, [`isakmp daemon: warning: ${key}: the cluster key (ha.cluster_key) is readable by group and others (mode 0644): run chmod 600 '${key}'`]);
    chmodSync(key, 0o600);
    assert.deepEqual(await check(conf, dir).then((x) => [x.code, x.err]), [0, []]);
  });

  test('the key log: a missing folder is an error, a file the daemon would refuse too (global.keylog or --keylog)', async () => {
    const dir = tempDir('isakmp-hyg-');
    const conf = (keylog: string) => withSecret(`    psk: "${STRONG}"\n`, `global:\n  keylog: ${keylog}\n`);
    const nowhere = join(dir, 'no', 'keys.log');
    const a = await check(conf(nowhere), dir);
    assert.deepEqual([a.code, a.err], [1, [`isakmp daemon: error: keylog: the key log '${nowhere}' cannot be created: its folder ${join(dir, 'no')} does not exist`]]);
    const open = join(dir, 'keys.log');
    writeFileSync(open, '');
    chmodSync(open, 0o644);
    const b = await check(conf(open), dir);
    assert.deepEqual([b.code, b.err], [1, [`isakmp daemon: error: keylog: key log '${open}' is readable by group and others (mode 0644) (run chmod 600 '${open}'): the daemon refuses it, it would expose session keys`]]);
    // --keylog overrides the file's
    chmodSync(open, 0o600);
    assert.deepEqual(await check(conf(nowhere), dir, ['--keylog', open]).then((r) => [r.code, r.err]), [0, []]);
  });
});
