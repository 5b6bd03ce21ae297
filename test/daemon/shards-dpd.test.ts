/**
 * Commands that need a shard's answer at once, on two engine shards (src/daemon/shards/) with
 * real peers in memory (shards-link.ts):
 *
 * - `dpd()` (RFC 3706 R-U-THERE on demand) goes to the shard holding the ISAKMP SA and returns
 *   that shard's sequence number: the peer receives an R-U-THERE with it, and its ACK is taken by
 *   the shard (the engine refuses an ACK for any other number) and reported as a `notify` event;
 * - SAs taken over by HA (`importRecords`) keep their rekey time: `rekeyAt()` tells it (status'
 *   `rekeyIn`), and the shard that took them over rekeys them under the imported ISAKMP SA, with
 *   the peer that negotiated them with another node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NotifyType } from '../../src/constants/index.js';
import { Endpoint, exportSa, subnetSelector } from '../../src/exchange/index.js';
import type { Connection, EngineEvent } from '../../src/exchange/index.js';
import { ShardedEndpoint } from '../../src/daemon/shards/index.js';
import type { SaRecord } from '../../src/exchange/snapshot.js';
import { spreadShard } from '../../src/daemon/shards/route.js';
import { Pair, conn } from '../helpers/pair.js';
import { ShardLink, at } from './shards-link.js';

const GATEWAY = at('198.51.100.1');
const PSK = new TextEncoder().encode('shards dpd test key');
const ike = [{ encryption: 7, keyLength: 128, hash: 4, group: 19 }];
const ipsec = [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 as const }];
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

for (const mode of ['thread', 'process'] as const)
test(`dpd() on two shards (${mode === 'thread' ? 'threads' : 'processes'}): the R-U-THERE leaves the shard holding the SA, with the number dpd() returned`, async () => {
  const key = new Uint8Array(randomBytes(32));
  // one peer per shard: first messages are spread by a keyed hash of the source address
  const addresses: string[] = [];
  for (let i = 1; addresses.length < 2; i++) {
    const a = `10.0.0.${i}`;
    if (spreadShard(key, at(a), 2) === addresses.length) addresses.push(a);
  }
  const responder: Connection = { name: 'gw', auth: 'psk', psk: PSK, local: GATEWAY, remote: at('%any'), remoteId: { type: 'any' }, ike, ipsec };
  const shards = new ShardedEndpoint({ random, connections: [responder], nattPort: 0 }, { shards: 2, routingKey: key, mode });
  // threads answer at once (the main thread waits on shared memory); processes by a message
  const dpd = async (sa: string): Promise<number> => (mode === 'thread' ? shards.dpd(Date.now(), sa) : await shards.dpdAsync(Date.now(), sa));
  const peers = new Map(addresses.map((a, i) => [a, new Endpoint({ random, nattPort: 0, connections: [{ name: 'c', auth: 'psk', psk: PSK, local: at(a), remote: GATEWAY, localId: { type: 'fqdn', value: `peer-${i}.test` }, ike, ipsec }] })]));
  const link = new ShardLink(shards, peers);
  try {
    for (const p of peers.values()) p.initiate(Date.now(), 'c');
    await link.until(() => shards.isakmpSas().length === 2 && shards.ipsecSas().length === 2, 'both peers established');
    const sas = shards.isakmpSas();
    assert.deepEqual(sas.map((s) => shards.shardOf(Buffer.from(s.id, 'hex'), s.remote)).sort(), [0, 1], 'one SA in each shard');
    for (const sa of sas) {
      if (mode === 'process') assert.throws(() => shards.dpd(Date.now(), sa.id), /answer asynchronously/);
      // both requests in one turn: the shard handles both before the peer's first ACK can arrive
      const [first, second] = await Promise.all([dpd(sa.id), dpd(sa.id)]);
      assert.equal(second, (first + 1) >>> 0, 'the next probe of the same SA: the next number (RFC 3706)');
      const peerSaw = link.peerEvents.get(sa.remote.address)!;
      const probes = (ev: EngineEvent[], type: number): number[] => ev.flatMap((e) => (e.type === 'notify' && e.notify === type ? [Buffer.from(e.data).readUInt32BE(0)] : []));
      await link.until(() => probes(peerSaw, NotifyType.R_U_THERE).length === 2, `the R-U-THEREs at ${sa.remote.address}`);
      assert.deepEqual(probes(peerSaw, NotifyType.R_U_THERE), [first, second], 'the peer got the numbers dpd() returned');
      // the shard takes an ACK only for its outstanding number: the second
      await link.until(() => link.events.some((e) => e.type === 'notify' && e.isakmpSa === sa.id && e.notify === NotifyType.R_U_THERE_ACK), `the ACK from ${sa.remote.address}`);
      const acks = link.events.filter((e) => e.type === 'notify' && e.isakmpSa === sa.id && e.notify === NotifyType.R_U_THERE_ACK);
      assert.deepEqual(acks.map((e) => e.type === 'notify' && [...e.data]), [[...u32(second)]]);
    }
    await assert.rejects(dpd('ab'.repeat(16)), /no established ISAKMP SA/);
  } finally {
    await link.close();
  }
  await assert.rejects(dpd('ab'.repeat(16)), /no established ISAKMP SA/, 'a closed endpoint refuses');
});

for (const mode of ['thread', 'process'] as const)
test(`SAs taken over (HA import) keep their rekey time (${mode === 'thread' ? 'threads' : 'processes'}): rekeyAt() says it, and the shard rekeys them with the peer`, async () => {
  // node A (the pair's side a, our initiator) negotiated with peer b; its records are taken over
  const pair = new Pair({ seed: 'takeover-rekey' });
  pair.now = Date.now() - 3000; // the records' times are the shards' clock: the wall clock
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const p1 = pair.a.isakmpSas()[0]!;
  const records = exportSa(pair.a, p1.id)!;
  assert.ok(records.isakmp.rekeyAt !== undefined && records.ipsec.length === 1, 'the initiator rekeys its SAs');
  const shards = new ShardedEndpoint({ random, connections: [conn(pair, 'a')], nattPort: 0 }, { shards: 2, replicate: true, mode });
  const link = new ShardLink(shards, new Map([[pair.addrB.address, pair.b]]));
  try {
    assert.deepEqual(await shards.exportAll(), [], 'the shards run (and hold nothing yet)');
    const rekeyChildAt = Date.now() + 1000; // the IPsec SA's soft lifetime comes soon after the takeover
    const child: SaRecord = { ...records.ipsec[0]!, rekeyAt: rekeyChildAt };
    const got = await shards.importRecords([records.isakmp, child]);
    assert.deepEqual(got.errors, []);
    assert.equal(shards.rekeyAt(p1.id), records.isakmp.rekeyAt, 'the ISAKMP SA: its rekey time as recorded');
    assert.equal(shards.rekeyAt(child.id), rekeyChildAt, 'the IPsec SA: its rekey time as recorded');
    // the soft lifetime comes: a Quick Mode under the imported ISAKMP SA, answered by the peer
    await link.until(() => link.events.some((e) => e.type === 'ipsec-sa-established'), 'the IPsec SA rekeyed');
    const fresh = link.events.find((e) => e.type === 'ipsec-sa-established');
    assert.ok(fresh?.type === 'ipsec-sa-established');
    assert.notEqual(fresh.sa.id, child.id);
    assert.equal(fresh.sa.isakmpSa, p1.id, 'under the ISAKMP SA taken over: no new phase 1');
    assert.ok(!link.events.some((e) => e.type === 'phase1-established'));
    assert.ok((shards.rekeyAt(fresh.sa.id) ?? 0) > Date.now(), 'the new IPsec SA has its own rekey time');
    assert.ok(link.events.some((e) => e.type === 'expired' && e.id === child.id && !e.hard), 'the old one reached its soft lifetime');
    assert.equal(shards.rekeyAt(child.id), undefined, 'and is no longer to be rekeyed');
    assert.ok(link.peerEvents.get(pair.addrB.address)!.some((e) => e.type === 'ipsec-sa-established' && e.sa.isakmpSa === fresh.sa.isakmpSa), 'the peer installed it too');
  } finally {
    await link.close();
  }
});

for (const mode of ['thread', 'process'] as const)
test(`a held Delete taken over (HA import, ${mode === 'thread' ? 'threads' : 'processes'}): the shard sends it, and the replaced IPsec SA is not reported as taken over (nothing installs it)`, async () => {
  // node A rekeyed two IPsec SAs; the second Quick Mode never finished, so the first old SA's
  // Delete was held (ipsec-sa.ts deleteReplaced) when A went down
  const sub = (n: number) => subnetSelector(`10.1.${n}.0`, 24);
  const remote = subnetSelector('10.2.0.0', 24);
  const aOver = { localTs: [sub(1), sub(2)], remoteTs: remote };
  const pair = new Pair({ seed: 'takeover-held-delete' });
  pair.now = Date.now() - 3000;
  pair.a.setConnection(conn(pair, 'a', aOver));
  pair.b.setConnection(conn(pair, 'b', { localTs: remote, remoteTs: [sub(1), sub(2)] }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const p1 = pair.a.isakmpSas()[0]!;
  let qm = 0;
  pair.tap = (from, data) => (from === 'a' && data[18] === 32 && ++qm > 2 ? null : data);
  for (const s of pair.a.ipsecSas().map((x) => x.id)) pair.a.rekey(pair.now, s);
  pair.run(500);
  pair.tap = undefined;
  const records = exportSa(pair.a, p1.id)!;
  const replaced = records.isakmp.replaced ?? [];
  assert.equal(replaced.length, 1, 'one Delete held');
  const peerBefore = pair.b.ipsecSas().length;
  pair.clearEvents();
  const shards = new ShardedEndpoint({ random, connections: [conn(pair, 'a', aOver)], nattPort: 0 }, { shards: 2, replicate: true, mode });
  const link = new ShardLink(shards, new Map([[pair.addrB.address, pair.b]]));
  try {
    const got = await shards.importRecords([records.isakmp, ...records.ipsec]);
    assert.deepEqual(got.errors, []);
    assert.deepEqual(got.ipsec.map((s) => s.id).sort(), records.ipsec.map((r) => r.id).filter((id) => !replaced.includes(id)).sort(), 'the replaced SA is not among those taken over');
    const peerSaw = link.peerEvents.get(pair.addrB.address)!;
    await link.until(() => peerSaw.some((e) => e.type === 'deleted' && e.by === 'peer'), 'the peer got the Delete');
    assert.equal(pair.b.ipsecSas().length, peerBefore - 1);
    await link.until(() => link.events.some((e) => e.type === 'deleted' && e.id === replaced[0]), 'deleted on the shard');
    assert.ok(!shards.ipsecSas().some((s) => s.id === replaced[0]));
  } finally {
    await link.close();
  }
});
