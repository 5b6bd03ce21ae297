/**
 * Two of our daemons over real UDP on loopback, configured as a remote-access gateway (group PSK,
 * XAUTH users file) and a client (xauth user + password): the gateway's daemon checks the user
 * with the users-file backend and answers the engine; the client gets its IPsec SA. A wrong
 * password: bounded retries, then the gateway deletes the ISAKMP SA with a log line. The password
 * is in no log line, key log or status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../../src/daemon/remote-access/index.js';
import { EventLog, freeUdpPorts, tempDir } from '../helpers.js';
import { clientYaml, daemonMaker, gatewayYaml } from './loopback.js';

const FAST = { N: 1024, r: 8, p: 1 };
const GOOD = 'correct-horse-7731';

for (const variant of [
  { name: 'right password: XAUTH accepted, Quick Mode follows', password: GOOD, ok: true },
  { name: 'wrong password: 2 attempts, then the gateway deletes the ISAKMP SA', password: 'wrong-password-5519', ok: false },
]) {
  test(`daemon gateway + daemon client, PSK + XAUTH over loopback: ${variant.name}`, async () => {
    const dir = tempDir('isakmp-xauth-');
    const users = join(dir, 'users');
    writeFileSync(users, `alice:${await hashPassword(GOOD, FAST)}\n`, { mode: 0o600 });
    const [gp, cp] = await freeUdpPorts(2);
    const lines: string[] = [];
    const mk = daemonMaker(dir, lines, { keylog: true });
    const gev = new EventLog();
    const cev = new EventLog();
    const gw = mk(gatewayYaml({ port: gp!, sock: join(dir, 'gw.sock'), xauth: `{ backend: "file:${users}", retries: 2 }` }), 'gw', gev);
    const client = mk(clientYaml({ port: cp!, gateway: gp!, sock: join(dir, 'client.sock'), id: 'laptop', xauth: `{ user: alice, password: "${variant.password}" }` }), 'client', cev);
    await gw.start();
    await client.start();
    try {
      client.initiate('office');
      const done = await gev.wait((e) => e.type === 'xauth-done', 'gateway xauth-done');
      assert.ok(done.type === 'xauth-done');
      assert.equal(done.user, 'alice');
      assert.equal(done.ok, variant.ok);
      const requests = gev.events.filter((e) => e.type === 'xauth-request');
      if (variant.ok) {
        assert.equal(requests.length, 1);
        await cev.wait((e) => e.type === 'ipsec-sa-established', 'client IPsec SA');
        await gev.wait((e) => e.type === 'ipsec-sa-established', 'gateway IPsec SA');
        assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes('XAUTH: user accepted by file:') && l.includes('alice')), lines.join('\n'));
      } else {
        assert.equal(requests.length, 2);
        await gev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp', 'gateway deletes the ISAKMP SA');
        assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes('XAUTH: user refused: wrong password')), lines.join('\n'));
        assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes('XAUTH failed: user "alice" failed XAUTH 2 time(s)')), lines.join('\n'));
        assert.equal(gev.events.some((e) => e.type === 'ipsec-sa-established'), false);
      }
      // the password never leaves the backend: logs, key logs, status
      const status = JSON.stringify([gw.status(), client.status()]);
      const keylogs = ['gw', 'client'].map((n) => { try { return readFileSync(join(dir, `${n}.keys`), 'utf8'); } catch { return ''; } }).join('\n');
      for (const text of [lines.join('\n'), status, keylogs]) {
        assert.ok(!text.includes(variant.password), 'a password leaked');
        assert.ok(!text.includes(Buffer.from(variant.password).toString('hex')), 'a password leaked in hex');
      }
    } finally {
      await client.stop();
      await gw.stop();
    }
  });
}
