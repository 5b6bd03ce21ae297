/**
 * `isakmp passwd` as a process: --stdin, the terminal (a pty from util-linux `script`), the file's
 * mode and atomic replacement, errors; the backend accepts what it wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUsersFileBackend } from '../../../src/daemon/remote-access/users-file-backend.js';
import type { XauthRequest } from '../../../src/daemon/remote-access/types.js';
import { tempDir } from '../helpers.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const req = (user: string, password: string): XauthRequest => ({ user, password, connection: 'rw', peer: { address: '192.0.2.7', port: 500 }, peerId: 'g' });

function passwd(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'passwd', ...args], { input: input ?? '', encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('isakmp passwd --stdin: adds, updates, keeps other lines, mode 0600, atomic; the backend accepts it', async () => {
  const dir = tempDir('isakmp-passwd-');
  const file = join(dir, 'users');
  let r = passwd(['--file', file, '--stdin', '--scrypt-n', '1024', 'alice'], 's3cret-Pa55\n');
  assert.deepEqual(r, { status: 0, stdout: `alice added to ${file}\n`, stderr: '' });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const line1 = readFileSync(file, 'utf8');
  assert.match(line1, /^alice:scrypt\$1024\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=\n$/);
  assert.ok(!line1.includes('s3cret'));

  // a comment and another user, then bob with a fixed address, then alice again
  writeFileSync(file, `# our users\n${line1}`, { mode: 0o644 });
  r = passwd(['--file', file, '--stdin', '--scrypt-n', '1024', '--address', '10.10.0.50', '--netmask', '255.255.255.0', 'bob'], 'bob-pw\r\nignored second line\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `bob added to ${file}\n`);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the replaced file is 0600 whatever it was');
  r = passwd(['--file', file, '--stdin', 'alice'], 'n3w-Pa55'); // default cost, no newline at the end
  assert.deepEqual(r, { status: 0, stdout: `alice updated in ${file}\n`, stderr: '' });
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0], '# our users');
  assert.match(lines[1]!, /^alice:scrypt\$32768\$8\$1\$/);
  assert.match(lines[2]!, /^bob:scrypt\$1024\$8\$1\$[^:]+:address=10\.10\.0\.50 netmask=255\.255\.255\.0$/);
  assert.equal(lines[3], '');
  assert.deepEqual(readdirSync(dir), ['users'], 'no temporary file left');

  const b = createUsersFileBackend(file);
  assert.deepEqual(await b.authenticate(req('alice', 'n3w-Pa55')), { ok: true, backend: `file:${file}` });
  assert.equal((await b.authenticate(req('alice', 's3cret-Pa55'))).ok, false);
  assert.deepEqual(await b.authenticate(req('bob', 'bob-pw')), { ok: true, backend: `file:${file}`, framedIp: '10.10.0.50', framedNetmask: '255.255.255.0' });
  await b.close();

  // --delete
  r = passwd(['--file', file, '--delete', 'bob']);
  assert.deepEqual(r, { status: 0, stdout: `bob removed from ${file}\n`, stderr: '' });
  assert.doesNotMatch(readFileSync(file, 'utf8'), /^bob:/m);
  r = passwd(['--file', file, '--delete', 'bob']);
  assert.deepEqual(r, { status: 1, stdout: '', stderr: `isakmp passwd: no user 'bob' in ${file}\n` });
});

test('isakmp passwd through a symlink replaces the target, not the link', () => {
  const dir = tempDir('isakmp-passwd-');
  writeFileSync(join(dir, 'real'), '# users\n', { mode: 0o600 });
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  const r = passwd(['--file', join(dir, 'link'), '--stdin', '--scrypt-n', '1024', 'alice'], 'pw\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(join(dir, 'real'), 'utf8'), /^# users\nalice:scrypt/);
  assert.ok(statSync(join(dir, 'link')).isFile());
});

test('isakmp passwd refuses what it cannot do, changes nothing, says why', () => {
  const dir = tempDir('isakmp-passwd-');
  const file = join(dir, 'users');
  const cases: [string[], string | undefined, number, string][] = [
    [['--file', file, 'alice'], 'pw\n', 2, 'isakmp passwd: the standard input is not a terminal: give --stdin to read the password from it'],
    [['--file', file, '--stdin', 'alice'], '\n', 1, 'isakmp passwd: the password is empty; nothing changed'],
    [['--file', file, '--stdin'], 'pw\n', 2, 'isakmp passwd: give exactly one user name (isakmp passwd [--file FILE] [--stdin] USER)'],
    [['--file', file, '--stdin', 'a:b'], 'pw\n', 2, "isakmp passwd: the user name contains ':'"],
    [['--file', file, '--stdin', '--address', '10.1.1', 'alice'], 'pw\n', 2, "isakmp passwd: --address: '10.1.1' is not an IPv4 or IPv6 address"],
    [['--file', file, '--stdin', '--scrypt-n', '1000', 'alice'], 'pw\n', 2, 'isakmp passwd: --scrypt-n: scrypt N must be a power of two from 2 to 1048576'],
    [['--file', join(dir, 'no', 'such', 'users'), '--stdin', 'alice'], 'pw\n', 1, `isakmp passwd: ${join(dir, 'no', 'such', 'users')}: its folder does not exist`],
    [['--file', dir, '--stdin', 'alice'], 'pw\n', 1, `isakmp passwd: ${dir} is not a regular file`],
  ];
  for (const [args, input, status, err] of cases) {
    const r = passwd(args, input);
    assert.deepEqual(r, { status, stdout: '', stderr: `${err}\n` }, args.join(' '));
  }
  const r = passwd(['--file', file, '--stdin', '--bogus', 'alice'], 'pw\n');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^isakmp passwd: Unknown option '--bogus'/); // the rest is node's own text
  assert.ok(!existsSync(file));
});

test('isakmp passwd on a terminal: asked twice without echo', { skip: existsSync('/usr/bin/script') ? false : 'util-linux script(1) missing: the terminal case needs a pty' }, async () => {
  const dir = tempDir('isakmp-passwd-');
  const file = join(dir, 'users');
  // script(1) gives the command a pty; what we write to its stdin is typed on that terminal
  const run = (typed: [string, string]): Promise<{ code: number | null; screen: string }> => new Promise((resolve) => {
    const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} passwd --scrypt-n 1024 --file ${JSON.stringify(file)} carol`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    let step = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      if (step === 0 && screen.includes('Password for carol: ')) child.stdin.write(`${typed[(step++, 0)]}\r`);
      if (step === 1 && screen.includes('Retype it: ')) child.stdin.write(`${typed[(step++, 1)]}\r`);
    });
    child.on('close', (code) => resolve({ code, screen }));
  });
  let r = await run(['c4rol-pw', 'c4rol-pw']);
  assert.equal(r.code, 0, r.screen);
  assert.ok(!r.screen.includes('c4rol'), `the password was echoed: ${JSON.stringify(r.screen)}`);
  assert.match(r.screen, /carol added to /);
  const b = createUsersFileBackend(file);
  assert.equal((await b.authenticate(req('carol', 'c4rol-pw'))).ok, true);
  await b.close();
  const before = readFileSync(file, 'utf8');
  r = await run(['one', 'two']);
  assert.equal(r.code, 1);
  assert.match(r.screen, /isakmp passwd: the two passwords differ; nothing changed/);
  assert.equal(readFileSync(file, 'utf8'), before);
});
