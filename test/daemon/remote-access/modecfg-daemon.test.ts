/**
 * Mode Config pull between our daemons over loopback: the gateway's daemon leases the client a
 * virtual address from `pool:` (by identity and XAUTH user) and sends it with the DNS server; the
 * client receives it; a second client with another identity finds the one-address pool exhausted
 * (a log line, its ISAKMP SA deleted); after the first client's SA is deleted the address is
 * released and the second client gets it. The same with `modecfg: push` on both sides (the SET
 * after XAUTH, the client's ACK).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfgAttr } from '../../../src/constants/index.js';
import { packageVersion } from '../../../src/daemon/version.js';
import { formatStatus } from '../../../src/cli/control.js';
import { hashPassword } from '../../../src/daemon/remote-access/index.js';
import type { EngineEvent } from '../../../src/exchange/types.js';
import { EventLog, freeTcpPort, freeUdpPorts, tempDir } from '../helpers.js';
import { clientYaml, daemonMaker, gatewayYaml } from './loopback.js';

const PW = 'modecfg-pw-2290';

const gateway = (port: number, users: string, sock: string): string =>
  gatewayYaml({ port, sock, xauth: `{ backend: "file:${users}" }`, extra: '    modecfg: pull\n    pool: 10.10.0.7/32\n    dns: 10.1.0.53\n' });

const client = (port: number, gw: number, sock: string, me: string): string =>
  clientYaml({ port, gateway: gw, sock, id: me, xauth: `{ user: alice, password: "${PW}" }`, extra: '    modecfg: pull\n' });

/** The samples of one family in a scrape of the daemon's metrics port, as `labels=value` lines sorted. */
async function scrapeFamily(port: number, family: string): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${family}{`))
    .map((l) => l.slice(family.length))
    .sort();
}

function addressOf(e: EngineEvent): string | undefined {
  if (e.type !== 'modecfg-done') return undefined;
  const a = e.attributes.find((x) => x.type === CfgAttr.INTERNAL_IP4_ADDRESS);
  return a && a.format === 'TLV' ? [...a.value].join('.') : undefined;
}

/** A test folder with alice in its users file, `n` free UDP ports, and a daemon maker logging to `lines`. */
async function setUp(prefix: string, n: number): Promise<{ dir: string; users: string; ports: number[]; lines: string[]; mk: ReturnType<typeof daemonMaker> }> {
  const dir = tempDir(prefix);
  const users = join(dir, 'users');
  writeFileSync(users, `alice:${await hashPassword(PW, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
  const lines: string[] = [];
  return { dir, users, ports: await freeUdpPorts(n), lines, mk: daemonMaker(dir, lines) };
}

test('daemon gateway Mode Config pull: a virtual address from the pool, exhaustion refused with a log line, release and reuse', async () => {
  const { dir, users, ports, lines, mk } = await setUp('isakmp-modecfg-', 3);
  const [gp, c1p, c2p] = ports;
  const gev = new EventLog();
  const e1 = new EventLog();
  const e2 = new EventLog();
  const metrics = await freeTcpPort();
  const gw = mk(gateway(gp!, users, join(dir, 'gw.sock')).replace('  natt_port: 0\n', `  natt_port: 0\n  metrics: 127.0.0.1:${metrics}\n`), 'gw', gev);
  const c1 = mk(client(c1p!, gp!, join(dir, 'c1.sock'), 'one'), 'c1', e1);
  const c2 = mk(client(c2p!, gp!, join(dir, 'c2.sock'), 'two'), 'c2', e2);
  await gw.start();
  await c1.start();
  await c2.start();
  try {
    // the pool is in the metrics before any client came
    assert.deepEqual(await scrapeFamily(metrics, 'isakmp_pool_addresses'), ['{connection="rw",state="free"} 1', '{connection="rw",state="leased"} 0']);
    c1.initiate('office');
    const got = await e1.wait((e) => e.type === 'modecfg-done', 'client 1 Mode Config');
    assert.equal(addressOf(got), '10.10.0.7');
    assert.ok(got.type === 'modecfg-done' && got.attributes.some((a) => a.type === CfgAttr.INTERNAL_IP4_DNS && a.format === 'TLV' && [...a.value].join('.') === '10.1.0.53'));
    await e1.wait((e) => e.type === 'ipsec-sa-established', 'client 1 IPsec SA');
    assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes('Mode Config: virtual address 10.10.0.7 for user alice')), lines.join('\n'));
    // status per remote-access SA: user, virtual address, attributes (gateway: sent; client: received);
    // both sides sent the Cisco Unity vendor ID, so the client asked for UNITY_PFS too (0: no PFS)
    const sent = ['INTERNAL_IP4_ADDRESS', 'INTERNAL_IP4_NETMASK', 'INTERNAL_IP4_DNS', 'APPLICATION_VERSION', 'UNITY_PFS'];
    const values = {
      INTERNAL_IP4_ADDRESS: ['10.10.0.7'],
      INTERNAL_IP4_NETMASK: ['255.255.255.255'],
      INTERNAL_IP4_DNS: ['10.1.0.53'],
      APPLICATION_VERSION: [JSON.stringify(`isakmp ${packageVersion()}`)],
      UNITY_PFS: ['0'],
    };
    assert.deepEqual(gw.status().isakmp.map((s) => s.remoteAccess), [{ user: 'alice', virtualAddress: '10.10.0.7', attributes: sent, values }]);
    assert.deepEqual(c1.status().isakmp.map((s) => s.remoteAccess), [{ user: 'alice', virtualAddress: '10.10.0.7', attributes: sent, values }]);
    // and `isakmp status` in words
    const text = formatStatus(c1.status()).join('\n');
    assert.match(text, /remote access: user alice {2}virtual address 10\.10\.0\.7\n/);
    assert.match(text, /\n {6}INTERNAL_IP4_DNS 10\.1\.0\.53\n/);
    // the gateway lists its pool's lease with its holder; the client has no pool
    assert.deepEqual(gw.status().leases?.map((l) => [l.connection, l.address, l.user]), [['rw', '10.10.0.7', 'alice']]);
    assert.match(formatStatus(gw.status()).join('\n'), /\naddress pool leases \(1\):\n {2}rw {15}10\.10\.0\.7 {7}user alice {2}identity \S+\n/);
    assert.equal(c1.status().leases, undefined);

    // the only address is leased: the second client (another identity) is refused
    c2.initiate('office');
    await gev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.connection === 'rw', 'gateway deletes the second client');
    assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes('the address pool of connection rw is exhausted (1 addresses, all leased)')), lines.join('\n'));
    assert.equal(e2.events.some((e) => e.type === 'modecfg-done'), false);
    // the metrics: the address leased, none free, one client refused for it; both users accepted by XAUTH
    assert.deepEqual(await scrapeFamily(metrics, 'isakmp_pool_addresses'), ['{connection="rw",state="free"} 0', '{connection="rw",state="leased"} 1']);
    assert.deepEqual(await scrapeFamily(metrics, 'isakmp_pool_exhausted_total'), ['{connection="rw"} 1']);
    assert.deepEqual(await scrapeFamily(metrics, 'isakmp_xauth_verdicts_total'), ['{connection="rw",verdict="accepted"} 2', '{connection="rw",verdict="backend_error"} 0', '{connection="rw",verdict="refused"} 0']);

    // the first client leaves: its address is released, and the second gets it
    await c1.stop();
    await until(() => lines.some((l) => l.startsWith('gw: ') && l.includes('virtual address 10.10.0.7 released')));
    assert.equal(gw.status().leases, undefined, 'the released address is no longer leased');
    e2.events.length = 0;
    c2.initiate('office');
    const second = await e2.wait((e) => e.type === 'modecfg-done', 'client 2 Mode Config');
    assert.equal(addressOf(second), '10.10.0.7');
    assert.ok(!lines.join('\n').includes(PW), 'a password leaked');
  } finally {
    await c2.stop();
    await c1.stop();
    await gw.stop();
  }
});

test('daemon gateway: a client that reconnects gets its previous address back, a newcomer a never-used one; Quick Mode from the virtual address', async () => {
  const { dir, users, ports, lines, mk } = await setUp('isakmp-modecfg-again-', 4);
  const [gp, c1p, c2p, c3p] = ports;
  const gev = new EventLog();
  const e1 = new EventLog();
  const e2 = new EventLog();
  const e3 = new EventLog();
  const gw = mk(gateway(gp!, users, join(dir, 'gw.sock')).replace('pool: 10.10.0.7/32', 'pool: 10.10.0.0/29'), 'gw', gev);
  const c1 = mk(client(c1p!, gp!, join(dir, 'c1.sock'), 'one'), 'c1', e1);
  const c2 = mk(client(c2p!, gp!, join(dir, 'c2.sock'), 'two'), 'c2', e2);
  // the first client again (the same identity and user), as a new daemon on another port
  const again = mk(client(c3p!, gp!, join(dir, 'c3.sock'), 'one'), 'again', e3);
  await gw.start();
  await c1.start();
  await c2.start();
  await again.start();
  try {
    c1.initiate('office');
    assert.equal(addressOf(await e1.wait((e) => e.type === 'modecfg-done', 'client 1 Mode Config')), '10.10.0.1');
    const child = await e1.wait((e) => e.type === 'ipsec-sa-established', 'client 1 IPsec SA');
    assert.ok(child.type === 'ipsec-sa-established' && child.sa.localTs.start === '10.10.0.1' && child.sa.localTs.end === '10.10.0.1', 'the client selector is its virtual address');
    c2.initiate('office');
    assert.equal(addressOf(await e2.wait((e) => e.type === 'modecfg-done', 'client 2 Mode Config')), '10.10.0.2');
    await c1.stop();
    await until(() => lines.some((l) => l.startsWith('gw: ') && l.includes('virtual address 10.10.0.1 released')));
    again.initiate('office');
    assert.equal(addressOf(await e3.wait((e) => e.type === 'modecfg-done', 'client 1 again')), '10.10.0.1', 'its previous address, not a never-used one');
    await e3.wait((e) => e.type === 'ipsec-sa-established', 'client 1 again: IPsec SA');
    assert.deepEqual(gw.status().isakmp.map((s) => s.remoteAccess?.virtualAddress).sort(), ['10.10.0.1', '10.10.0.2']);
  } finally {
    await again.stop();
    await c2.stop();
    await c1.stop();
    await gw.stop();
  }
});

test('daemon gateway Mode Config push: the pool address goes out in the SET after XAUTH, Quick Mode from it, the lease released when the client leaves and the next client gets it', async () => {
  const { dir, users, ports, lines, mk } = await setUp('isakmp-modecfg-push-', 3);
  const [gp, c1p, c2p] = ports;
  const gev = new EventLog();
  const e1 = new EventLog();
  const e2 = new EventLog();
  const push = (yaml: string): string => yaml.replace('modecfg: pull', 'modecfg: push');
  const gw = mk(push(gateway(gp!, users, join(dir, 'gw.sock'))), 'gw', gev);
  const c1 = mk(push(client(c1p!, gp!, join(dir, 'c1.sock'), 'one')), 'c1', e1);
  const c2 = mk(push(client(c2p!, gp!, join(dir, 'c2.sock'), 'two')), 'c2', e2);
  await gw.start();
  await c1.start();
  await c2.start();
  try {
    c1.initiate('office');
    assert.equal(addressOf(await e1.wait((e) => e.type === 'modecfg-done', 'client 1 Mode Config')), '10.10.0.7');
    const child = await e1.wait((e) => e.type === 'ipsec-sa-established', 'client 1 IPsec SA');
    assert.ok(child.type === 'ipsec-sa-established' && child.sa.localTs.start === '10.10.0.7', 'the client selector is the pushed address');
    const asked = gev.events.filter((e) => e.type === 'modecfg-request');
    assert.deepEqual(asked.map((e) => e.type === 'modecfg-request' && e.push), [true], 'pushed, not asked for');
    assert.deepEqual(gw.status().leases?.map((l) => [l.connection, l.address, l.user]), [['rw', '10.10.0.7', 'alice']]);
    // the one address is leased: the second client is refused before any SET
    c2.initiate('office');
    await gev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.connection === 'rw', 'gateway deletes the second client');
    assert.equal(e2.events.some((e) => e.type === 'modecfg-done'), false);
    await c1.stop();
    await until(() => lines.some((l) => l.startsWith('gw: ') && l.includes('virtual address 10.10.0.7 released')));
    assert.equal(gw.status().leases, undefined);
    e2.events.length = 0;
    c2.initiate('office');
    assert.equal(addressOf(await e2.wait((e) => e.type === 'modecfg-done', 'client 2 Mode Config')), '10.10.0.7');
    await e2.wait((e) => e.type === 'ipsec-sa-established', 'client 2 IPsec SA');
  } finally {
    await c2.stop();
    await c1.stop();
    await gw.stop();
  }
});

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
