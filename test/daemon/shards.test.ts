/**
 * Engine shards in worker threads (src/daemon/shards/): the routing rules of route.ts, and a
 * daemon with two shards answering real handshakes over UDP on loopback (first messages spread
 * over both shards, every later message to the shard of its cookies, status and commands seeing
 * one daemon).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { loadNativeSockets } from '../../src/daemon/dataplane/native.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { ShardedEndpoint, engineFactoryFor, shardedEndpointFactory } from '../../src/daemon/shards/index.js';
import { shardOfMessage, spreadShard, tagCookie, taggedShard } from '../../src/daemon/shards/route.js';
import { runLoadGen } from '../../bench/load-gen.js';
import { EventLog, freeUdpPorts, LOAD_RESPONDER_YAML } from './helpers.js';

async function until(f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const key = new Uint8Array(randomBytes(32));
const peer = { address: '192.0.2.7', port: 500 };

function cookie(shard: number): Uint8Array {
  const c = new Uint8Array(randomBytes(8));
  tagCookie(key, shard, c);
  return c;
}

function header(ic: Uint8Array, rc: Uint8Array): Uint8Array {
  const h = new Uint8Array(28);
  h.set(ic, 0);
  h.set(rc, 8);
  return h;
}

test('a tagged cookie names its shard under its key only', () => {
  for (const s of [0, 1, 7, 255]) assert.equal(taggedShard(key, cookie(s)), s);
  const other = new Uint8Array(randomBytes(32));
  let passes = 0;
  for (let i = 0; i < 2000; i++) if (taggedShard(other, cookie(3)) >= 0) passes++;
  assert.ok(passes < 10, `another key accepts ${passes} of 2000 cookies (expected about 2000/65536)`);
  assert.equal(taggedShard(key, new Uint8Array(8)), -1, 'a zero cookie is nobody\'s');
});

test('routing: our responder cookie, our initiator cookie, else a keyed hash of the source address', () => {
  const theirs = new Uint8Array(randomBytes(8));
  const zero = new Uint8Array(8);
  for (let n = 2; n <= 5; n++) {
    for (let s = 0; s < n; s++) {
      assert.equal(shardOfMessage(key, header(theirs, cookie(s)), peer, n), taggedShard(key, theirs) >= 0 ? taggedShard(key, theirs) % n : s, 'their initiator cookie, our responder cookie');
      assert.equal(shardOfMessage(key, header(cookie(s), new Uint8Array(randomBytes(8))), peer, n), s, 'our initiator cookie');
      assert.equal(shardOfMessage(key, header(cookie(s), zero), peer, n), s, 'an error notify to our first message');
    }
    const first = shardOfMessage(key, header(theirs, zero), peer, n);
    assert.equal(first, shardOfMessage(key, header(theirs, zero), peer, n), 'a retransmitted first message goes to the same shard');
    if (taggedShard(key, theirs) < 0) assert.equal(first, spreadShard(key, peer, n));
    // a peer's every first message (a restart: new cookies, another port) reaches the same shard
    for (let i = 0; i < 50; i++) {
      const ic = new Uint8Array(randomBytes(8));
      if (taggedShard(key, ic) < 0) assert.equal(shardOfMessage(key, header(ic, zero), { address: peer.address, port: 1024 + i }, n), spreadShard(key, peer, n));
    }
  }
  // first messages from 4000 addresses spread over 4 shards, each within 20 % of a quarter
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOfMessage(key, header(new Uint8Array(randomBytes(8)), zero), { address: `10.0.${i >> 8}.${i & 255}`, port: 500 }, 4)]!++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `spread ${counts.join(', ')}`);
  assert.equal(shardOfMessage(key, new Uint8Array(10), peer, 4), 0, 'a runt datagram: shard 0 (its engine drops it)');
});

test('the engine shards are chosen by global.shards or an ha section; one shard alone stays in the main thread', () => {
  const conf = (shards: number): string => `global:\n  shards: ${shards}\nconnections: {}\n`;
  assert.equal(engineFactoryFor(parseConfig(conf(1), 'x.yaml'), realEndpointFactory), realEndpointFactory);
  assert.notEqual(engineFactoryFor(parseConfig(conf(2), 'x.yaml'), realEndpointFactory), realEndpointFactory);
  assert.throws(() => parseConfig(conf(0), 'x.yaml'), /global\.shards/);
  assert.ok(parseConfig('global:\n  shards: auto\nconnections: {}\n', 'x.yaml').global.shards >= 1);
});

// First messages are spread by a keyed hash of the source address (a new key per daemon), so the
// spread is over addresses: 20 of them make a shard with 5 SAs or fewer a 1-in-2,500 event.
// threads: the main thread's sockets; processes: each shard's own socket, the kernel steering
const nativeSockets = loadNativeSockets();
const noProcesses = nativeSockets instanceof Error ? `shards as processes need the native binding (npm ci builds it): ${nativeSockets.message}` : false;
if (noProcesses) console.log(`# ${noProcesses}`);
for (const mode of ['thread', 'process'] as const)
test(`a daemon with two shards (${mode === 'thread' ? 'threads' : 'processes'}) answers 40 handshakes from loopback: spread over both shards, one daemon in status`, { skip: mode === 'process' ? noProcesses : false }, async () => {
  const [port] = await freeUdpPorts(1);
  const conf = `
global:
  listen: [127.0.0.1]
  port: ${port}
  natt_port: 0
  shards: 2
${LOAD_RESPONDER_YAML}`;
  const ev = new EventLog();
  const config = parseConfig(conf, 'shards.yaml');
  const d = new Daemon({ config, endpointFactory: shardedEndpointFactory({ shards: 2, mode, ...(mode === 'process' ? { ownSockets: true } : {}) }), logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }), control: false, onEvent: ev.push });
  await d.start();
  try {
    const r = await runLoadGen({ target: { address: '127.0.0.1', port: port! }, sources: Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 1}`), socketsPerSource: 1, count: 40, durationS: 30, concurrency: 8, psk: 'load-secret', ike: 'aes128-sha256-ecp256', localId: '@load-{n}.test' });
    assert.equal(r.established, 40, JSON.stringify(r.failures));
    await until(() => d.status().ipsec.length === 40, '40 IPsec SAs in status');
    const st = d.status();
    assert.equal(st.isakmp.length, 40);
    const ep = (d as unknown as { endpoint: ShardedEndpoint }).endpoint;
    assert.ok(ep instanceof ShardedEndpoint);
    const perShard = [0, 0];
    for (const s of st.isakmp) perShard[ep.shardOf(Buffer.from(s.id, 'hex'), { address: s.remote.split(':')[0]!, port: 0 })]!++;
    assert.ok(perShard[0]! > 5 && perShard[1]! > 5, `both shards hold SAs: ${perShard.join(', ')}`);
    // a command reaches the shard of its SA: delete one IPsec SA, the peer is told
    const victim = st.ipsec[0]!.id;
    d.down('load');
    await until(() => d.status().ipsec.length === 0 && d.status().isakmp.length === 0, 'every SA deleted through its shard');
    assert.ok(ev.events.some((e) => e.type === 'deleted' && e.id === victim));
  } finally {
    await d.stop();
  }
});
