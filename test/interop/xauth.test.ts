/**
 * Remote access with the real strongSwan charon: charon as the XAUTH client (Main Mode, group PSK,
 * XAUTHInitPreShared, user "alice") against our daemon as the gateway (users file backend). Both
 * sides agree on the ISAKMP SA (cookies, charon's Ka = our key log) and the IPsec SA (SPIs
 * crossed); our log names the accepted user and never the password. And the other way round: our
 * client (xauth user + password) against charon as the XAUTH gateway.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, charon, interopSkipReason, Ours, RUN, script, until } from './peers.js';
import { ALICE_PASSWORD, ANY_CLIENT, LAB_GROUP_SECRET, raYaml, usersFile } from './ra-configs.js';

const skip = interopSkipReason();
if (skip) console.log(`# XAUTH interop skipped: ${skip}`);

const PASSWORD = ALICE_PASSWORD;

function gatewayConfig(sock: string, users: string, extra: readonly string[] = []): string {
  const rw = { name: 'roadwarriors', auth: 'psk', secret: 'group', local: B.ip, remote: ANY_CLIENT, xauth: usersFile(users, 3), extra } as const;
  return raYaml({ listen: B.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [rw] });
}

function clientConfig(sock: string, password: string): string {
  const office = { name: 'office', auth: 'psk', secret: 'group', local: A.ip, remote: `{ address: ${B.ip} }`, xauth: `{ user: alice, password: "${password}" }` } as const;
  return raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [office] });
}

describe('XAUTH interop with charon as the gateway', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    charon.start('b', B.ns);
    charon.load('b', 'xauth-gateway-psk.conf');
    ours = await Ours.start('xauth-client', A.ns, (sock) => clientConfig(sock, PASSWORD));
  });
  after(async () => {
    await ours?.stop();
    charon.stop('b');
    script('netns.sh', ['down']);
  });

  test('our XAUTH client (PSK + XAUTH) against charon\'s gateway: charon accepts alice, same SA and keys', async () => {
    const cl = ours!;
    const up = await cl.ctl({ cmd: 'up', name: 'office', timeoutMs: 15_000 });
    const sa = await until(() => charon.sas('b').find((s) => s.conn === 'xauth-gw' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
    assert.ok(sa, `charon has no established xauth-gw SA: ${JSON.stringify(up)}\n${charon.tail('b')}\n--- ours:\n${cl.log().slice(-3000)}`);
    assert.match(charon.log('b'), /XAuth authentication of 'alice' successful/);
    const status = await until(async () => {
      const s = await cl.status();
      return s.ipsec.some((q: any) => sa.children.some((c) => c.spiIn === q.spiOut)) ? s : undefined;
    }, 5000);
    assert.ok(status, `our client does not list the IPsec SA: ${JSON.stringify(await cl.status())}`);
    const ka = charon.keys('b').filter((k) => k.uid === sa.uid && k.label === 'encryption key Ka').map((k) => k.hex);
    const line = cl.keylogLines().find((l) => l.startsWith(`${sa.ispi},`));
    assert.ok(ka.length >= 1 && line !== undefined);
    assert.equal(line.split(',')[1], ka[ka.length - 1]);
    const log = cl.log();
    assert.ok(!log.includes(PASSWORD) && !readFileSync(cl.keylog, 'utf8').includes(PASSWORD) && !JSON.stringify(status).includes(PASSWORD), 'the password leaked');
  });

  test('our client with a wrong password: charon refuses alice (STATUS=0), we name it, acknowledge and delete the ISAKMP SA', async () => {
    const cl = ours!;
    assert.equal((await cl.reload(clientConfig(cl.sock, `not-${PASSWORD}`))).ok, true);
    const up = await cl.ctl({ cmd: 'up', name: 'office', timeoutMs: 8000 });
    assert.equal(up.ok, false);
    const refused = await until(() => /XAUTH failed: gateway refused user \\?"alice\\?": check the XAUTH user and password/.test(cl.log()), 5000);
    assert.ok(refused, `no refusal on our side:\n${cl.log().slice(-2000)}`);
    assert.match(charon.log('b'), /XAuth authentication of 'alice' failed/);
    assert.ok(await until(async () => (await cl.status()).isakmp.length === 0, 3000), 'our ISAKMP SA deleted');
    assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'xauth-gw'), 5000), `charon kept the SA:\n${charon.tail('b')}`);
    assert.ok(!cl.log().includes(`not-${PASSWORD}`), 'the password leaked');
  });
});

describe('XAUTH interop with charon', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    const users = join(RUN, 'xauth-users');
    writeFileSync(users, `alice:${await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    charon.start('a', A.ns);
    charon.load('a', 'xauth-client-psk.conf');
    ours = await Ours.start('xauth-gw', B.ns, (sock) => gatewayConfig(sock, users));
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('charon XAUTH client (PSK + XAUTH) against our gateway: same SA, same keys, password in no log', async () => {
    const gw = ours!;
    const up = charon.up('a', 'xauth-psk', 'ra', 15);
    const sa = await until(() => charon.sas('a').find((s) => s.conn === 'xauth-psk' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
    assert.ok(sa, `charon has no established xauth-psk SA:\n${up.out}\n${up.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-3000)}`);
    assert.match(charon.log('a'), /XAuth authentication of 'alice' \(myself\) successful/);
    const status = await until(async () => {
      const s = await gw.status();
      return s.ipsec.some((q: any) => sa.children.some((c) => c.spiIn === q.spiOut)) ? s : undefined;
    }, 5000);
    assert.ok(status, `our gateway does not list the IPsec SA: ${JSON.stringify(await gw.status())}`);
    const p1 = status.isakmp.find((s: any) => s.initiatorCookie === sa.ispi && s.responderCookie === sa.rspi);
    assert.ok(p1 && p1.connection === 'roadwarriors' && p1.state === 'established', JSON.stringify(status.isakmp));
    const child = sa.children.find((c) => status.ipsec.some((q: any) => q.spiOut === c.spiIn))!;
    assert.equal(status.ipsec.find((q: any) => q.spiOut === child.spiIn).spiIn, child.spiOut);
    // charon's Ka = the key our key log gives for these cookies
    const ka = charon.keys('a').filter((k) => k.uid === sa.uid && k.label === 'encryption key Ka').map((k) => k.hex);
    const line = gw.keylogLines().find((l) => l.startsWith(`${sa.ispi},`));
    assert.ok(ka.length >= 1 && line !== undefined);
    assert.equal(line.split(',')[1], ka[ka.length - 1]);
    const log = gw.log();
    assert.match(log, /XAUTH: user accepted by file:/);
    assert.ok(!log.includes(PASSWORD) && !readFileSync(gw.keylog, 'utf8').includes(PASSWORD) && !JSON.stringify(status).includes(PASSWORD), 'the password leaked');
    assert.ok(!log.includes(Buffer.from(PASSWORD).toString('hex')), 'the password leaked in hex');
  });
});

describe('XAUTH + Mode Config interop with charon as the client', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    const users = join(RUN, 'xauth-users');
    writeFileSync(users, `alice:${await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    charon.start('a', A.ns);
    charon.load('a', 'xauth-client-modecfg.conf');
    ours = await Ours.start(
      'xauth-modecfg-gw',
      B.ns,
      (sock) => gatewayConfig(sock, users, ['local_ts: 10.1.0.0/16', 'modecfg: pull', 'pool: 10.10.0.0/24', 'dns: 10.1.0.53', 'split_include: 10.1.0.0/16']),
    );
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('charon (PSK + XAUTH + Mode Config pull) gets 10.10.0.1 from our pool', async () => {
    const gw = ours!;
    const up = charon.up('a', 'xauth-modecfg', 'ra', 15);
    const ok = await until(() => /installing new virtual IP 10\.10\.0\.1/.test(charon.log('a')) || undefined, 10_000);
    assert.ok(ok, `charon got no virtual IP:\n${up.out}\n${up.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-3000)}`);
    assert.match(charon.log('a'), /XAuth authentication of 'alice' \(myself\) successful/);
    const log = gw.log();
    assert.match(log, /Mode Config: virtual address 10\.10\.0\.1 for user alice/);
    assert.ok(!log.includes(PASSWORD), 'the password leaked');
  });

  test('its Quick Mode then uses the virtual address as its selector', async () => {
    const gw = ours!;
    const sa = await until(() => charon.sas('a').find((s) => s.conn === 'xauth-modecfg' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 5_000);
    assert.ok(sa, `no INSTALLED child:\n${charon.log('a').split('\n').slice(-30).join('\n')}\n--- ours:\n${gw.log().slice(-4000)}`);
    const child = sa.children.find((c) => c.state === 'INSTALLED')!;
    assert.match(child.localTs, /10\.10\.0\.1\/32/);
    const status = await gw.status();
    assert.ok(status.ipsec.some((q: any) => q.spiOut === child.spiIn && q.spiIn === child.spiOut), JSON.stringify(status.ipsec));
  });
});
