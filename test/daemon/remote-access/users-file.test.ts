import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../../src/daemon/remote-access/password-hash.js';
import { createUsersFileBackend } from '../../../src/daemon/remote-access/users-file-backend.js';
import { parseUsersFile, setUserLine } from '../../../src/daemon/remote-access/users-file.js';
import type { BackendLogLevel } from '../../../src/daemon/remote-access/backend-log.js';
import type { XauthRequest } from '../../../src/daemon/remote-access/types.js';
import { tempDir } from '../helpers.js';

const FAST = { N: 1024, r: 8, p: 1 };
const req = (user: string, password: string): XauthRequest => ({ user, password, connection: 'rw', peer: { address: '192.0.2.7', port: 4500 }, peerId: 'group' });

test('scrypt records: the parameters, salt and hash are the ones node:crypto derives (RFC 7914 vector)', async () => {
  // RFC 7914 §12, second vector: P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64
  const salt = Buffer.from('NaCl').toString('base64');
  const dk = 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640';
  const rec = parsePasswordHash(`scrypt$1024$8$16$${salt}$${Buffer.from(dk, 'hex').toString('base64')}`);
  assert.ok(rec.ok);
  assert.equal(await verifyPassword('password', rec.value), true);
  assert.equal(await verifyPassword('Password', rec.value), false);

  const made = await hashPassword('hunter22', FAST);
  const f = made.split('$');
  assert.deepEqual(f.slice(0, 4), ['scrypt', '1024', '8', '1']);
  const fresh = scryptSync('hunter22', Buffer.from(f[4]!, 'base64'), 32, { N: 1024, r: 8, p: 1 });
  assert.equal(f[5], fresh.toString('base64'));
  assert.equal(Buffer.from(f[4]!, 'base64').length, 16);
});

test('users file: accept, wrong password, unknown user, fixed address; nothing secret in results', async () => {
  const dir = tempDir('isakmp-users-');
  const file = join(dir, 'users');
  const text = ['# remote-access users', '', `alice:${await hashPassword('alice-pw', FAST)}`, `bob:${await hashPassword('bob pw é', FAST)}:address=10.10.0.50 netmask=255.255.255.0`, `dom\\carol@example.org:${await hashPassword('c', FAST)}\r`, ''].join('\n');
  writeFileSync(file, text, { mode: 0o600 });
  const logs: string[] = [];
  const b = createUsersFileBackend(file, { log: (l, m) => logs.push(`${l} ${m}`) });
  assert.equal(b.name, `file:${file}`);
  assert.equal(b.users, 3);
  assert.deepEqual(await b.authenticate(req('alice', 'alice-pw')), { ok: true, backend: `file:${file}` });
  assert.deepEqual(await b.authenticate(req('bob', 'bob pw é')), { ok: true, backend: `file:${file}`, framedIp: '10.10.0.50', framedNetmask: '255.255.255.0' });
  assert.deepEqual(await b.authenticate(req('dom\\carol@example.org', 'c')), { ok: true, backend: `file:${file}` });
  const wrong = await b.authenticate(req('alice', 'alice-pw '));
  assert.deepEqual(wrong, { ok: false, reason: "wrong password for user 'alice'", backend: `file:${file}` });
  const unknown = await b.authenticate(req('mallory', 'alice-pw'));
  assert.deepEqual(unknown, { ok: false, reason: `no user 'mallory' in ${file}`, backend: `file:${file}` });
  assert.deepEqual(await b.authenticate(req('Alice', 'alice-pw')), { ok: false, reason: `no user 'Alice' in ${file}`, backend: `file:${file}` }, 'names are exact');
  assert.deepEqual(logs, [], 'a 0600 file read once: nothing to say');
  for (const r of [wrong, unknown]) assert.ok(!JSON.stringify(r).includes('alice-pw'), 'no password in a result');
  await b.close();
  assert.equal((await b.authenticate(req('alice', 'alice-pw'))).ok, false);
});

test('users file: re-read when it changes; a broken edit is logged with its line and the old users stay', async () => {
  const dir = tempDir('isakmp-users-');
  const file = join(dir, 'users');
  writeFileSync(file, `alice:${await hashPassword('one', FAST)}\n`, { mode: 0o644 });
  const logs: { level: BackendLogLevel; msg: string }[] = [];
  const b = createUsersFileBackend(file, { log: (level, msg) => logs.push({ level, msg }) });
  assert.deepEqual(logs, [{ level: 'warn', msg: `users file ${file} can be read by other users (mode 0644): its password hashes can be attacked offline; chmod 600 it` }]);
  chmodSync(file, 0o600);
  assert.equal((await b.authenticate(req('alice', 'one'))).ok, true);

  // replaced atomically, as isakmp passwd does: the new password works at once
  writeFileSync(join(dir, 'new'), `alice:${await hashPassword('two', FAST)}\nbob:${await hashPassword('b', FAST)}\n`);
  renameSync(join(dir, 'new'), file);
  assert.equal((await b.authenticate(req('alice', 'one'))).ok, false);
  assert.equal((await b.authenticate(req('alice', 'two'))).ok, true);
  assert.equal((await b.authenticate(req('bob', 'b'))).ok, true);
  assert.equal(logs.at(-1)?.msg, `users file ${file} read again: 2 users`);

  // a broken edit: logged once with the line number, the two users stay
  logs.length = 0;
  writeFileSync(file, `alice:${await hashPassword('three', FAST)}\nbob:scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==\n`);
  assert.equal((await b.authenticate(req('alice', 'two'))).ok, true);
  assert.equal((await b.authenticate(req('alice', 'three'))).ok, false);
  assert.deepEqual(logs, [{ level: 'error', msg: `users file ${file}:2: user 'bob': scrypt N must be a power of two from 2 to 1048576; still using the 2 users read before` }]);
  assert.throws(() => b.reload(), (e: unknown) => e instanceof UsageError && e.message === `${file}:2: user 'bob': scrypt N must be a power of two from 2 to 1048576`);
  assert.equal(b.users, 2);
  await b.close();
});

test('users file: every malformed line is named by number, never quoted', () => {
  const dir = tempDir('isakmp-users-');
  const file = join(dir, 'users');
  const good = 'scrypt$1024$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';
  writeFileSync(file, [
    `alice:${good}`,
    'no colon here',
    `:${good}`,
    `bob:md5$x`,
    `carol:scrypt$1024$8$1$c2E=$aGFzaGhhc2hoYXNoaGFzaA==`,
    `dave:${good}:adress=10.0.0.1`,
    `erin:${good}:address=10.0.0.300`,
    `alice:${good}`,
    ` frank:${good}`,
    `gina:scrypt$1024$8$1$c2FsdHNhbHRzYWx0$not*base64`,
    `hal:scrypt$1048576$64$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=`,
  ].join('\n'), { mode: 0o600 });
  assert.throws(() => createUsersFileBackend(file), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.deepEqual(e.message.split('\n'), [
      `${file}:2: expected USER:HASH[:ATTRIBUTES] (write it with: isakmp passwd)`,
      `${file}:3: the user name is empty`,
      `${file}:4: user 'bob': the password hash does not start with 'scrypt$' (write it with: isakmp passwd)`,
      `${file}:5: user 'carol': the salt must be 4 to 64 bytes`,
      `${file}:6: user 'dave': unknown attribute 'adress' (known: address, netmask)`,
      `${file}:7: user 'erin': address: '10.0.0.300' is not an IPv4 or IPv6 address`,
      `${file}:8: user 'alice' is already on line 1`,
      `${file}:9: the user name starts or ends with a space`,
      `${file}:10: user 'gina': the salt and the hash must be base64`,
      `${file}:11: user 'hal': scrypt r must be 1 to 32`,
    ]);
    return true;
  });
  assert.throws(() => createUsersFileBackend(join(dir, 'missing')), (e: unknown) => e instanceof UsageError && e.message === `${join(dir, 'missing')}: cannot read the users file (ENOENT); create it with: isakmp passwd --file ${join(dir, 'missing')} USER`);
  assert.throws(() => createUsersFileBackend(dir), /the users file is not a regular file/);
});

test('setUserLine keeps every other line and the attributes; parseUsersFile reads what it writes', () => {
  const before = '# users\nalice:scrypt$old:address=10.0.0.5\n\nbob:scrypt$b\n';
  assert.equal(setUserLine(before, 'alice', 'scrypt$new'), '# users\nalice:scrypt$new:address=10.0.0.5\n\nbob:scrypt$b\n');
  assert.equal(setUserLine(before, 'alice', 'scrypt$new', 'netmask=255.0.0.0'), '# users\nalice:scrypt$new:netmask=255.0.0.0\n\nbob:scrypt$b\n');
  assert.equal(setUserLine(before, 'carol', 'scrypt$c'), `${before}carol:scrypt$c\n`);
  assert.equal(setUserLine('', 'carol', 'scrypt$c'), 'carol:scrypt$c\n');
  assert.equal(setUserLine('x:1', 'carol', 'scrypt$c'), 'x:1\ncarol:scrypt$c\n');
  const { users, problems } = parseUsersFile('alice:scrypt$1024$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==:address=fd00:0:0::5');
  assert.deepEqual(problems, []);
  assert.equal(users.get('alice')?.address, 'fd00::5');
});

test('too many checks at once are refused, not queued without bound', async () => {
  const dir = tempDir('isakmp-users-');
  const file = join(dir, 'users');
  writeFileSync(file, `alice:${await hashPassword('pw', FAST)}\n`, { mode: 0o600 });
  const b = createUsersFileBackend(file, { maxConcurrent: 2 });
  const all = await Promise.all([1, 2, 3].map(() => b.authenticate(req('alice', 'pw'))));
  assert.deepEqual(all.map((r) => r.ok), [true, true, false]);
  assert.equal(all[2]!.ok === false && all[2]!.reason, 'too many password checks in progress (2); the client may retry');
  assert.equal((await b.authenticate(req('alice', 'pw'))).ok, true, 'free again');
  await b.close();
});
