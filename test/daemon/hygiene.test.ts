/**
 * Issue 9.9, local hygiene: the key log is never written through a symbolic link and never into
 * a file that is not ours or is open to other users; a peer's identity cannot forge lines or
 * colours in `isakmp status`, `isakmp decode` or the text log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, linkSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { encodeMessage } from '../../src/codec/index.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { KeyLog } from '../../src/daemon/keylog.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { UsageError } from '../../src/errors.js';
import { escapeJsonText, escapeText } from '../../src/text-escape.js';
import { EventLog, freeUdpPorts, tempDir } from './helpers.js';

function refusedKeyLog(fn: () => unknown, why: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.code, 'ISAKMP_ERR_KEYLOG');
    assert.match(e.message, why);
    return true;
  });
}

test('issue 9.9: the key log is never written through a symbolic link (FILE or a companion file); the link target is untouched', () => {
  const dir = tempDir('isakmp-hyg-');
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'precious\n', { mode: 0o600 });
  const link = join(dir, 'keys.log');
  symlinkSync(victim, link);
  refusedKeyLog(() => new KeyLog(link), /key log '.*keys\.log' is a symbolic link: refused/);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  // the companion FILE.esp_sa as a link
  const other = join(dir, 'other.log');
  symlinkSync(victim, `${other}.esp_sa`);
  refusedKeyLog(() => new KeyLog(other), /other\.log\.esp_sa' is a symbolic link/);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  // and the daemon does not start with it
  const cfg = parseConfig('connections: {}\n', join(dir, 'c.yaml'));
  refusedKeyLog(() => new Daemon({ config: cfg, endpointFactory: realEndpointFactory, keylog: link, control: false }), /symbolic link/);
});

test('issue 9.9: an existing key log readable by others, or with another hard link, is refused; a new one is created 0600', () => {
  const dir = tempDir('isakmp-hyg-');
  const open = join(dir, 'open.log');
  writeFileSync(open, '');
  chmodSync(open, 0o644);
  refusedKeyLog(() => new KeyLog(open), /open\.log' is readable by group and others \(mode 0644\) \(run chmod 600 '.*open\.log'\): refused, it would expose session keys/);
  chmodSync(open, 0o600);
  linkSync(open, join(dir, 'second-name'));
  refusedKeyLog(() => new KeyLog(open), /has 1 other hard link/);
  const fresh = new KeyLog(join(dir, 'fresh.log'));
  fresh.ike('0011223344556677,00112233445566778899aabbccddeeff');
  assert.equal(readFileSync(join(dir, 'fresh.log'), 'utf8'), '0011223344556677,00112233445566778899aabbccddeeff\n');
});

test('issue 9.9: a key log replaced by a link after start is not written; the daemon hears why', () => {
  const dir = tempDir('isakmp-hyg-');
  const file = join(dir, 'keys.log');
  const errors: string[] = [];
  const log = new KeyLog(file, (m) => errors.push(m));
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'precious\n', { mode: 0o600 });
  renameSync(file, join(dir, 'old.log'));
  symlinkSync(victim, file);
  log.ike('0011223344556677,00');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(errors.length, 1, errors.join('\n')); // FILE refused; FILE.ikev1_decryption_table still fine
  assert.match(errors[0]!, /is a symbolic link/);
  unlinkSync(file);
});

test('issue 9.9: isakmp status, the text log and decode escape control characters in a peer identity (no forged line, no colour)', async () => {
  const evil = 'gw.example\n  peer id admin.example\u001b[31m\u009b2J\u202e';
  // status: two daemons on loopback, the left one calls itself `evil`
  const dir = tempDir('isakmp-hyg-');
  const [lp, rp] = await freeUdpPorts(2);
  const conf = (port: number, peer: number, sock: string, me: string, other: string) => `global:
  listen: ["127.0.0.1"]
  port: ${port}
  natt_port: 0
  control_socket: ${sock}
secrets:
  k:
    psk: "hygiene test secret"
    allow_weak_psk: true
connections:
  c:
    secret: k
    local:  { address: 127.0.0.1, id: ${JSON.stringify(me)} }
    remote: { address: 127.0.0.1, port: ${peer}, id: ${JSON.stringify(other)} }
    ike: aes128-sha256-ecp256
    esp: aes128-sha256
`;
  const logLines: string[] = [];
  const rev = new EventLog();
  const mk = (text: string, file: string, log?: (l: string) => void, ev?: EventLog) =>
    new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, logger: new Logger({ level: 'info', areas: {}, format: 'text', write: log ?? (() => {}) }), ...(ev ? { onEvent: ev.push } : {}) });
  const rsock = join(dir, 'r.sock');
  const right = mk(conf(rp!, lp!, join(dir, 'r.sock'), '@right.example', `@${evil}`), join(dir, 'r.yaml'), (l) => logLines.push(l), rev);
  const left = mk(conf(lp!, rp!, join(dir, 'l.sock'), `@${evil}`, '@right.example'), join(dir, 'l.yaml'));
  await right.start();
  await left.start();
  try {
    const out: string[] = [];
    assert.equal(await runCli(['up', 'c', '--socket', join(dir, 'l.sock'), '--timeout', '10'], { out: (s) => out.push(s), err: (s) => out.push(s) }), 0, out.join('\n'));
    await rev.wait((e) => e.type === 'phase1-established', 'right: phase 1');
    const st: string[] = [];
    assert.equal(await runCli(['status', '--socket', rsock], { out: (s) => st.push(s), err: (s) => st.push(s) }), 0);
    const text = st.join('\n');
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(text), JSON.stringify(text));
    assert.ok(text.includes('peer id gw.example\\n  peer id admin.example\\x1b[31m\\x9b2J\\u{202e}'), text);
    assert.equal(st.filter((l) => l.includes('peer id')).length, 1, 'one identity line, not two');
    // status --json: valid JSON with the same value, no raw terminal control
    const js: string[] = [];
    assert.equal(await runCli(['status', '--json', '--socket', rsock], { out: (s) => js.push(s), err: (s) => js.push(s) }), 0);
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(js.join('\n')));
    assert.equal(JSON.parse(js.join('\n')).isakmp[0].peerId, evil);
    // the right's text log: the identity field is quoted and escaped
    const peerLines = logLines.filter((l) => l.includes('admin.example'));
    assert.ok(peerLines.length > 0);
    for (const l of peerLines) assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(l.replace(/\n$/, '')), JSON.stringify(l));
  } finally {
    await left.stop();
    await right.stop();
  }
  // decode: an ID payload with the same FQDN
  const msg = encodeMessage({
    header: { initiatorCookie: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), responderCookie: new Uint8Array(8), nextPayload: 5, majorVersion: 1, minorVersion: 0, exchangeType: 4, flags: 0, messageId: 0 },
    payloads: [{ type: 'ID', idType: 2, protocol: 0, port: 0, data: new TextEncoder().encode(evil) }],
  });
  const tree: string[] = [];
  assert.equal(await runCli(['decode', Buffer.from(msg).toString('hex')], { out: (s) => tree.push(s), err: (s) => tree.push(s) }), 0);
  assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202e]/.test(tree.join('')), JSON.stringify(tree));
  assert.ok(tree.some((l) => l.includes('gw.example\\n  peer id admin.example\\x1b[31m')), tree.join('\n'));
  const json: string[] = [];
  assert.equal(await runCli(['decode', '--json', Buffer.from(msg).toString('hex')], { out: (s) => json.push(s), err: (s) => json.push(s) }), 0);
  assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202e]/.test(json.join('')));
  assert.equal(JSON.parse(json[0]!).payloads[0].identification.name, evil);
});

test('escapeText and escapeJsonText: printable text unchanged, every terminal-active character escaped, JSON values preserved', () => {
  assert.equal(escapeText('gw.example, Zürich, 東京'), 'gw.example, Zürich, 東京');
  assert.equal(escapeText('a\nb\r\tc\\d\u0000\u001b[0m\u007f\u0085\u2028\u202e\u2066'), 'a\\nb\\r\\tc\\\\d\\x00\\x1b[0m\\x7f\\x85\\u{2028}\\u{202e}\\u{2066}');
  const v = { s: 'x\u009b\u2029\u202ey\n' };
  const j = escapeJsonText(JSON.stringify(v));
  assert.ok(!/[\u007f-\u009f\u2028\u2029\u202e\n]/.test(j));
  assert.deepEqual(JSON.parse(j), v);
});
