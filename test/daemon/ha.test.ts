/**
 * Failover's pieces that need no store (src/daemon/ha/, src/daemon/config/scale.ts): the `ha`
 * section and its errors, records sealed with the cluster key, and what a shard hands to
 * replication after a batch (the tap): one record per touched SA whose state changed, nothing for
 * DPD, a removal when the SA goes. The whole failover runs in test/interop/ha.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Sealer, routingKeyOf } from '../../src/daemon/ha/seal.js';
import { SnapshotTap } from '../../src/daemon/ha/tap.js';
import { establishedPair } from '../helpers/pair.js';
import { tempDir } from './helpers.js';

const dir = tempDir('isakmp-ha-');
const keyFile = join(dir, 'cluster.key');
writeFileSync(keyFile, 'ab'.repeat(32) + '\n', { mode: 0o600 });

function conf(ha: string, listen = '198.51.100.10'): string {
  return `global:\n  listen: [${listen}]\nconnections: {}\nha:\n${ha}`;
}
const FULL = `  store: [http://127.0.0.1:2379, http://10.0.0.2:2379]\n  cluster: gw1\n  node: gw1-a\n  cluster_key: ${keyFile}\n  virtual_ip: 198.51.100.10/24\n  interface: eth0\n`;

test('the ha section: every key read, defaults, the virtual address in listen', () => {
  const c = parseConfig(conf(FULL), join(dir, 'a.yaml'));
  assert.ok(c.ha);
  assert.deepEqual(c.ha.store, ['http://127.0.0.1:2379', 'http://10.0.0.2:2379']);
  assert.equal(c.ha.cluster, 'gw1');
  assert.equal(c.ha.node, 'gw1-a');
  assert.equal(c.ha.lease, 2);
  assert.equal(c.ha.garp, true);
  assert.deepEqual(c.ha.virtualIp, { address: '198.51.100.10', prefix: 24, family: 4 });
  assert.deepEqual([...c.ha.clusterKey], new Array(32).fill(0xab));
  assert.equal(parseConfig('connections: {}\n', join(dir, 'b.yaml')).ha, undefined);
});

test('the ha section: each problem named with what to do', () => {
  const bad = (ha: string, re: RegExp, listen?: string): void => {
    assert.throws(() => parseConfig(conf(ha, listen), join(dir, 'x.yaml')), re);
  };
  bad(FULL.replace(/ {2}store:.*\n/, ''), /ha: missing 'store'/);
  bad(FULL.replace('http://127.0.0.1:2379,', 'https://x:1,'), /must be an etcd client URL/);
  bad(FULL.replace('gw1-a', 'a b'), /ha\.node: 'a b' must be letters/);
  bad(FULL.replace(keyFile, join(dir, 'none.key')), /cannot read .*openssl rand -hex 32/);
  bad(FULL.replace('198.51.100.10/24', '198.51.100.10'), /ADDRESS\/PREFIX/);
  bad(FULL + '  lease: 1s\n', /1s is out of range \(2s to 60s/);
  bad(FULL, /global\.listen: must list the virtual address 198\.51\.100\.10/, '0.0.0.0');
  writeFileSync(join(dir, 'short.key'), 'abcd\n');
  bad(FULL.replace(keyFile, join(dir, 'short.key')), /must hold 32 bytes as 64 hex digits/);
});

test('sealed records open under their key only, with the cluster key only', () => {
  const s = new Sealer(new Uint8Array(32).fill(1));
  const plain = Buffer.from('{"kind":"isakmp"}');
  const sealed = s.seal('/isakmp/c/sa/1', plain);
  assert.equal(sealed.length, 12 + plain.length + 16);
  assert.ok(!sealed.includes(plain), 'no plaintext in the store');
  assert.deepEqual(s.open('/isakmp/c/sa/1', sealed), plain);
  assert.equal(s.open('/isakmp/c/sa/2', sealed), undefined, 'moved to another key');
  assert.equal(new Sealer(new Uint8Array(32).fill(2)).open('/isakmp/c/sa/1', sealed), undefined, 'another cluster key');
  const t = Buffer.from(sealed);
  t[20]! ^= 1;
  assert.equal(s.open('/isakmp/c/sa/1', t), undefined, 'tampered');
  assert.notDeepEqual(s.seal('/isakmp/c/sa/1', plain), sealed, 'a fresh nonce per write');
  assert.deepEqual(routingKeyOf(new Uint8Array(32).fill(1)), routingKeyOf(new Uint8Array(32).fill(1)), 'every node routes alike');
});

test('the tap: one record per changed SA, nothing for DPD, a removal when the SA goes', () => {
  const pair = establishedPair('tap', {}, true);
  const tap = new SnapshotTap();
  const id = pair.b.isakmpSas()[0]!.id;
  const child = pair.b.ipsecSas()[0]!.id;
  for (const w of pair.wire) tap.noteMessage(w.data);
  tap.noteEvent({ type: 'ipsec-sa-established', sa: pair.b.ipsecSas()[0]! });
  const first = tap.flush(pair.b);
  assert.deepEqual(first.put.map((r) => `${r.kind}:${r.id}`).sort(), [`ipsec:${child}`, `isakmp:${id}`]);
  assert.deepEqual(tap.flush(pair.b), { put: [], removed: [] }, 'nothing changed, nothing written');
  // a DPD exchange touches the SA but changes only the sequence numbers: no write
  pair.wire.length = 0;
  pair.a.dpd(pair.now, id);
  pair.run(500);
  for (const w of pair.wire) tap.noteMessage(w.data);
  assert.deepEqual(tap.flush(pair.b).put, [], 'DPD writes nothing');
  // a Quick Mode rekey: the ISAKMP SA (a message ID seen), the new IPsec SA, the old one removed
  pair.wire.length = 0;
  pair.clearEvents();
  pair.a.rekey(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.run(2000);
  for (const w of pair.wire) tap.noteMessage(w.data);
  for (const e of pair.events.b) tap.noteEvent(e);
  const after = tap.flush(pair.b);
  const fresh = pair.b.ipsecSas()[0]!.id;
  assert.deepEqual(after.put.map((r) => `${r.kind}:${r.id}`).sort(), [`ipsec:${fresh}`, `isakmp:${id}`]);
  assert.deepEqual(after.removed, [{ kind: 'ipsec', id: child }]);
});
