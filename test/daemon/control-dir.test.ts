// The control socket's folder: made by the daemon when missing (mode 0700, like /run/isakmp under
// systemd's RuntimeDirectory), left alone when it exists, and one clear error when it cannot be made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlServer, controlRequest } from '../../src/daemon/control.js';
import { UsageError } from '../../src/errors.js';
import { tempDir } from './helpers.js';

test('a missing control socket folder is created with mode 0700 and the socket works', async () => {
  const dir = tempDir('isakmp-ctl-');
  const sock = join(dir, 'run', 'isakmp', 'isakmp.sock');
  const server = new ControlServer(sock, async () => ({ ok: true, message: 'pong' }));
  await server.start();
  try {
    assert.equal(statSync(join(dir, 'run', 'isakmp')).mode & 0o777, 0o700);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.deepEqual(await controlRequest(sock, { cmd: 'status' }, 2000), { ok: true, message: 'pong' });
  } finally {
    await server.close();
  }
});

test('an existing folder keeps its mode', async () => {
  const dir = tempDir('isakmp-ctl-');
  const folder = join(dir, 'shared');
  mkdirSync(folder, { mode: 0o755 });
  chmodSync(folder, 0o755);
  const server = new ControlServer(join(folder, 'c.sock'), async () => ({ ok: true, message: '' }));
  await server.start();
  await server.close();
  assert.equal(statSync(folder).mode & 0o777, 0o755);
});

test('a folder that cannot be made: one line naming it and what to do', async () => {
  const dir = tempDir('isakmp-ctl-');
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, '');
  const server = new ControlServer(join(file, 'sub', 'c.sock'), async () => ({ ok: true, message: '' }));
  await assert.rejects(server.start(), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.code, 'ISAKMP_ERR_CONTROL');
    assert.equal(e.message, `cannot create the control socket's folder ${join(file, 'sub')}: ENOTDIR (run as root, or set global.control_socket to a writable path)`);
    return true;
  });
});
