/**
 * A remote-access gateway on two engine shards (src/daemon/shards/): our daemon with `shards: 2`
 * as the gateway (group PSK, XAUTH users file, Mode Config pull from a pool), three of our daemons
 * as clients over real UDP on loopback, from source addresses chosen so that both shards hold
 * clients. Each shard's `xauth-request` / `modecfg-request` is answered by the daemon and the
 * answer reaches the shard that asked: the clients are authenticated, get distinct virtual
 * addresses and their IPsec SAs, and `status` shows user and virtual address as with one shard;
 * a wrong password is refused after its retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfgAttr } from '../../src/constants/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { packageVersion } from '../../src/daemon/version.js';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { ShardedEndpoint, shardedEndpointFactory } from '../../src/daemon/shards/index.js';
import { spreadShard } from '../../src/daemon/shards/route.js';
import type { EngineEvent } from '../../src/exchange/types.js';
import { EventLog, freeUdpPorts, tempDir } from './helpers.js';
import { clientYaml, daemonMaker, gatewayYaml } from './remote-access/loopback.js';

const PW = 'sharded-gw-pw-4417';

const gateway = (port: number, users: string, sock: string): string =>
  gatewayYaml({ port, sock, xauth: `{ backend: "file:${users}", retries: 2 }`, extra: '    modecfg: pull\n    pool: 10.20.0.0/29\n    dns: 10.1.0.53\n' });

const client = (address: string, port: number, gw: number, sock: string, me: string, password: string): string =>
  clientYaml({ address, port, gateway: gw, sock, id: me, xauth: `{ user: alice, password: "${password}" }`, extra: '    modecfg: pull\n' });

function addressOf(e: EngineEvent): string | undefined {
  if (e.type !== 'modecfg-done') return undefined;
  const a = e.attributes.find((x) => x.type === CfgAttr.INTERNAL_IP4_ADDRESS);
  return a && a.format === 'TLV' ? [...a.value].join('.') : undefined;
}

// in threads, and in processes that get their datagrams from the main thread (the shards' own
// sockets would let the kernel place the clients: shards-process.test.ts covers those)
for (const mode of ['thread', 'process'] as const)
test(`a gateway with two engine shards (${mode === 'thread' ? 'threads' : 'processes'}) serves XAUTH + Mode Config clients held by both shards`, async () => {
  const dir = tempDir('isakmp-shards-ra-');
  const users = join(dir, 'users');
  writeFileSync(users, `alice:${await hashPassword(PW, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
  // the routing key is the test's: first messages go by a keyed hash of the source address, so
  // the clients' addresses are picked to put two on shard 0, one on shard 1
  const routingKey = new Uint8Array(randomBytes(32));
  const byShard: string[][] = [[], []];
  for (let n = 2; byShard[0]!.length < 2 || byShard[1]!.length < 1; n++) byShard[spreadShard(routingKey, { address: `127.0.0.${n}`, port: 0 }, 2)]!.push(`127.0.0.${n}`);
  const [a0, bad] = byShard[0]!;
  const [a1] = byShard[1]!;
  const [gp, c0p, c1p, c2p] = await freeUdpPorts(4);
  const lines: string[] = [];
  const make = daemonMaker(dir, lines);
  // a sharded daemon's own routing key for a client (its first messages are its own)
  const mk = (text: string, name: string, ev: EventLog, sharded: boolean): Daemon =>
    make(text, name, ev, sharded ? shardedEndpointFactory({ shards: 2, mode, routingKey: name === 'gw' ? routingKey : new Uint8Array(randomBytes(32)) }) : undefined);
  const gev = new EventLog();
  const e0 = new EventLog();
  const e1 = new EventLog();
  const e2 = new EventLog();
  const gw = mk(gateway(gp!, users, join(dir, 'gw.sock')), 'gw', gev, true);
  const c0 = mk(client(a0!, c0p!, gp!, join(dir, 'c0.sock'), 'zero', PW), 'c0', e0, false);
  // client 1 runs on two shards too: the client's side of XAUTH and Mode Config, and the rekey times
  const c1 = mk(client(a1!, c1p!, gp!, join(dir, 'c1.sock'), 'one', PW), 'c1', e1, true);
  const c2 = mk(client(bad!, c2p!, gp!, join(dir, 'c2.sock'), 'two', 'a-wrong-password'), 'c2', e2, false);
  await gw.start();
  await c0.start();
  await c1.start();
  await c2.start();
  try {
    const ep = (gw as unknown as { endpoint: ShardedEndpoint }).endpoint;
    assert.ok(ep instanceof ShardedEndpoint && ep.shards === 2);
    c0.initiate('office');
    c1.initiate('office');
    const got0 = addressOf(await e0.wait((e) => e.type === 'modecfg-done', 'client 0 Mode Config'));
    const got1 = addressOf(await e1.wait((e) => e.type === 'modecfg-done', 'client 1 Mode Config'));
    assert.ok(got0 !== undefined && got1 !== undefined && got0 !== got1, `two distinct virtual addresses: ${got0}, ${got1}`);
    for (const a of [got0, got1]) assert.match(a, /^10\.20\.0\.[1-6]$/);
    const child0 = await e0.wait((e) => e.type === 'ipsec-sa-established', 'client 0 IPsec SA');
    const child1 = await e1.wait((e) => e.type === 'ipsec-sa-established', 'client 1 IPsec SA');
    assert.ok(child0.type === 'ipsec-sa-established' && child0.sa.localTs.start === got0, 'client 0 selector is its virtual address');
    assert.ok(child1.type === 'ipsec-sa-established' && child1.sa.localTs.start === got1, 'client 1 selector is its virtual address');

    // both shards asked (one request each at least), and each got its answer
    const requests = gev.events.filter((e) => e.type === 'xauth-request' || e.type === 'modecfg-request');
    const ids = requests.map((e) => (e.type === 'xauth-request' || e.type === 'modecfg-request' ? e.requestId : -1));
    assert.deepEqual(new Set(ids.map((id) => id % 2)), new Set([0, 1]), `request ids of both shards: ${ids.join(', ')}`);

    // status: one daemon, each SA with its user and address, the SAs in the shards their clients' addresses route to
    const st = gw.status();
    const sent = ['INTERNAL_IP4_ADDRESS', 'INTERNAL_IP4_NETMASK', 'INTERNAL_IP4_DNS', 'APPLICATION_VERSION', 'UNITY_PFS'];
    const values = (address: string | undefined) => ({
      INTERNAL_IP4_ADDRESS: [address],
      INTERNAL_IP4_NETMASK: ['255.255.255.255'],
      INTERNAL_IP4_DNS: ['10.1.0.53'],
      APPLICATION_VERSION: [JSON.stringify(`isakmp ${packageVersion()}`)],
      UNITY_PFS: ['0'],
    });
    const ra = st.isakmp.map((s) => ({ remote: s.remote.split(':')[0], shard: ep.shardOf(Buffer.from(s.id, 'hex'), { address: s.remote.split(':')[0]!, port: 0 }), ...s.remoteAccess })).sort((x, y) => x.shard - y.shard);
    assert.deepEqual(ra, [
      { remote: a0, shard: 0, user: 'alice', virtualAddress: got0, attributes: sent, values: values(got0) },
      { remote: a1, shard: 1, user: 'alice', virtualAddress: got1, attributes: sent, values: values(got1) },
    ]);
    assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes(`Mode Config: virtual address ${got1} for user alice`)), lines.join('\n'));
    assert.ok(gev.events.some((e) => e.type === 'message'), 'message events on in the shards (the ike log at debug)');
    // the client on shards: what it received, and when its shard will rekey (status' rekeyIn)
    await until(() => c1.status().ipsec.length === 1, 'the sharded client reports its IPsec SA');
    const cst = c1.status();
    assert.deepEqual(cst.isakmp.map((s) => s.remoteAccess), [{ user: 'alice', virtualAddress: got1, attributes: sent, values: values(got1) }]);
    for (const s of [...cst.isakmp, ...cst.ipsec]) assert.ok(typeof s.rekeyIn === 'number' && s.rekeyIn > 0 && s.rekeyIn <= (s.lifetimeLeft ?? 0), `rekeyIn of ${s.id}: ${s.rekeyIn}`);
    assert.ok(!lines.some((l) => l.includes('cannot take XAUTH verdicts') || l.includes('cannot answer Mode Config')), 'the sharded engine takes the answers');

    // a wrong password, on shard 0 again: refused after 2 attempts, the gateway deletes the SA
    c2.initiate('office');
    await gev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.connection === 'rw', 'the gateway deletes the refused client');
    assert.equal(lines.filter((l) => l.startsWith('gw: ') && l.includes('XAUTH: user refused')).length, 2, 'two attempts');
    assert.equal(e2.events.some((e) => e.type === 'modecfg-done'), false);
    assert.ok(!lines.join('\n').includes(PW), 'a password leaked');
  } finally {
    await c2.stop();
    await c1.stop();
    await c0.stop();
    await gw.stop();
  }
});

async function until(f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
