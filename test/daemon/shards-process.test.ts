/**
 * Engine shards in child processes that own their sockets (global.shard_mode: process,
 * src/daemon/shards/): a daemon with two shard processes answers handshakes from 20 loopback
 * addresses (the kernel spreads the first messages over the shards' sockets by its hash and steers
 * every later message by the shard byte of our responder cookie), status shows one daemon, and the
 * daemon initiates to a peer daemon: the peer's answers carry its own responder cookie, whose
 * first byte the kernel steers by, so the shard that gets them forwards them to the shard that
 * initiated (counted in `forwards`). Needs the native binding (npm ci builds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { loadNativeSockets } from '../../src/daemon/dataplane/native.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { ShardedEndpoint, engineFactoryFor, shardModeFor } from '../../src/daemon/shards/index.js';
import type { Config, HaConfig } from '../../src/daemon/config/index.js';
import { runLoadGen } from '../../bench/load-gen.js';
import { freeUdpPorts, LOAD_RESPONDER_YAML } from './helpers.js';

const sys = loadNativeSockets();
const skip = sys instanceof Error ? `the native binding is not available: ${sys.message}` : false;

async function until(f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('shard_mode is checked: process or thread', () => {
  assert.equal(parseConfig('global:\n  shards: 2\n  shard_mode: thread\nconnections: {}\n', 'x.yaml').global.shardMode, 'thread');
  assert.throws(() => parseConfig('global:\n  shards: 2\n  shard_mode: fork\nconnections: {}\n', 'x.yaml'), /global\.shard_mode.*'fork' must be process/s);
});

test('shard mode: threads by default, processes when asked with the native binding, and threads with ha (said in the log)', () => {
  const conf = (extra: string): Config => parseConfig(`global:\n  shards: 2\n${extra}connections: {}\n`, 'x.yaml');
  assert.deepEqual(shardModeFor(conf('')), { mode: 'thread' });
  assert.deepEqual(shardModeFor(conf('  shard_mode: process\n')), sys instanceof Error ? { mode: 'thread', note: `engine shards in threads, not processes: shard processes need the native binding for their socket groups: ${sys.message}` } : { mode: 'process' });
  assert.deepEqual(shardModeFor(conf('  shard_mode: thread\n')), { mode: 'thread' });
  const ha: Config = { ...conf('  shard_mode: process\n'), ha: {} as HaConfig };
  assert.deepEqual(shardModeFor(ha), { mode: 'thread', note: 'engine shards in threads, not processes: ha replication runs with shards in threads (global.shard_mode: process is not applied)' });
});

test('two shard processes with their own sockets: handshakes on both shards, one daemon in status, and SAs the daemon initiates (forwarded answers)', { skip }, async () => {
  const [port, peerPort] = await freeUdpPorts(2);
  const lines: string[] = [];
  const conf = `
global:
  listen: [127.0.0.1]
  port: ${port}
  natt_port: 0
  shards: 2
  shard_mode: process
${LOAD_RESPONDER_YAML}  out:
    secret: k
    local: { address: 127.0.0.1, id: "@gw.test" }
    remote: { address: 127.0.0.2, port: ${peerPort}, id: "@peer.test" }
    ike: aes128-sha256-ecp256
    esp: aes128-sha256
    local_ts: 10.1.1.0/24
    remote_ts: 10.2.0.0/24
`;
  const peerConf = `
global:
  listen: [127.0.0.2]
  port: ${peerPort}
  natt_port: 0
secrets:
  k: { psk: "load-secret", allow_weak_psk: true }
connections:
  gw:
    secret: k
    local: { address: 127.0.0.2, id: "@peer.test" }
    remote: { address: 127.0.0.1, port: ${port}, id: "@gw.test" }
    ike: aes128-sha256-ecp256
    esp: aes128-sha256
    local_ts: 10.2.0.0/24
    remote_ts: 10.1.0.0/16
`;
  const config = parseConfig(conf, 'shards.yaml');
  const quiet = new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });
  // the peer's random bytes (its cookies among them) start with `lead`: 0xee names no shard of
  // ours (the kernel steers by its hash), 0 or 1 names that shard
  let lead = 0xee;
  const peerRandom = (n: number): Uint8Array => {
    const b = new Uint8Array(randomBytes(n));
    b[0] = lead;
    return b;
  };
  const peer = new Daemon({ config: parseConfig(peerConf, 'peer.yaml'), endpointFactory: realEndpointFactory, logger: quiet, control: false, random: peerRandom });
  const d = new Daemon({ config, endpointFactory: engineFactoryFor(config, realEndpointFactory), logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }), control: false });
  await peer.start();
  await d.start();
  try {
    const ep = (d as unknown as { endpoint: ShardedEndpoint }).endpoint;
    assert.ok(ep instanceof ShardedEndpoint && ep.mode === 'process' && ep.ownSockets, 'shards in processes with their own sockets');
    const r = await runLoadGen({ target: { address: '127.0.0.1', port: port! }, sources: Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 10}`), socketsPerSource: 1, count: 40, durationS: 30, concurrency: 8, psk: 'load-secret', ike: 'aes128-sha256-ecp256', localId: '@load-{n}.test' });
    assert.equal(r.established, 40, JSON.stringify(r.failures));
    await until(() => d.status().ipsec.length === 40, '40 IPsec SAs in status');
    const perShard = [0, 0];
    for (const s of d.status().isakmp) perShard[Buffer.from(s.id, 'hex')[8]!]!++; // our responder cookie names its shard
    assert.ok(perShard[0]! > 3 && perShard[1]! > 3, `both shards hold SAs: ${perShard.join(', ')}`);
    // the daemon initiates: from the shard of the peer's address
    const outSa = async (): Promise<{ id: string; remote: string }> => {
      await until(() => d.status().ipsec.some((x) => x.connection === 'out'), 'the initiated connection up');
      return d.status().isakmp.find((x) => x.connection === 'out')!;
    };
    d.initiate('out');
    const first = await outSa();
    const ours = ep.shardOf(Buffer.from(first.id, 'hex'), { address: '127.0.0.2', port: peerPort! });
    // again, with the peer's responder cookie naming the other shard: the kernel steers every
    // answer there, and that shard forwards them to ours
    d.down('out');
    await until(() => !d.status().isakmp.some((x) => x.connection === 'out'), 'the first SA deleted');
    lead = 1 - ours;
    const forwards0 = ep.forwards();
    d.initiate('out');
    const second = await outSa();
    assert.equal(Buffer.from(second.id, 'hex')[8], 1 - ours, "the peer's responder cookie names the other shard");
    assert.equal(ep.shardOf(Buffer.from(second.id, 'hex'), { address: '127.0.0.2', port: peerPort! }), ours, 'the SA lives in the shard that initiated it');
    await until(() => ep.forwards() >= forwards0 + 3, `the answers forwarded (MM2, MM4, MM6, QM2: ${ep.forwards() - forwards0} reported)`, 5000);
    await until(() => d.snapshot().transport.packetsIn! >= 40 * 5, `the shards' sockets' counters (${JSON.stringify(d.snapshot().transport)})`, 5000);
    // a command reaches the shard of its SA
    d.down('load');
    await until(() => d.status().ipsec.every((s) => s.connection !== 'load'), 'every load SA deleted through its shard');
  } finally {
    await d.stop();
    await peer.stop();
  }
});
