/**
 * Scale on paper (issue 15, docs/scale.md): how far one node and one store go, from measured
 * figures. Every input is a flag whose default is a figure measured in this project (the source
 * is named beside it); the sizes of the replicated records are measured here, on a real SA
 * negotiated in memory and sealed as the daemon seals it. Prints one line per result.
 *
 *   node build/bench/scale-calc.js [--peers 100000] [--cores 16] [--memory-gib 16] ...
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Endpoint } from '../src/exchange/index.js';
import type { Connection } from '../src/exchange/index.js';
import { exportIpsecSa, exportIsakmpSa } from '../src/exchange/snapshot.js';
import { Sealer } from '../src/daemon/ha/seal.js';

const { values: v } = parseArgs({
  options: {
    peers: { type: 'string', default: '100000' },
    cores: { type: 'string', default: '16' },
    'memory-gib': { type: 'string', default: '16' },
    // docs/performance.md: responder CPU per SA with dataplane xfrm (highest of the runs)
    'cpu-ms-per-sa': { type: 'string', default: '1.63' },
    // bench/shards.bench.ts: CPU per SA of one shard minus the main-thread engine (loaded machine)
    'handoff-ms-per-sa': { type: 'string', default: '0.39' },
    // bench/shards.bench.ts: main-thread time per SA with shards (routing, hand-off), quiet estimate
    'main-ms-per-sa': { type: 'string', default: '0.10' },
    // docs/performance.md: RSS per ISAKMP + IPsec SA pair at 10,000 SAs, xfrm (highest)
    'rss-kib-per-sa': { type: 'string', default: '11.9' },
    'ike-lifetime-h': { type: 'string', default: '1' },
    'ipsec-lifetime-h': { type: 'string', default: '1' },
    // messages under an ISAKMP SA per hour that change a record besides rekeys (Informational Deletes ...)
    'other-writes-per-h': { type: 'string', default: '0' },
    // a single etcd member's sustained write rate (operations/s) assumed on SSD; measure yours
    'store-ops-per-s': { type: 'string', default: '10000' },
    // test/interop/ha.test.ts: takeover of 1,001 + 1,001 records (read, decrypt, import)
    'takeover-ms-per-1000': { type: 'string', default: '330' },
    'lease-s': { type: 'string', default: '2' },
  },
});
const n = (k: keyof typeof v): number => Number(v[k]);

/** The size of the sealed records of one real SA pair (ISAKMP + IPsec), as the daemon writes them. */
function recordSizes(): { isakmp: number; ipsec: number } {
  const psk = new TextEncoder().encode('scale-calc');
  const rnd = (k: number): Uint8Array => new Uint8Array(randomBytes(k));
  const a = { address: '192.0.2.1', port: 500 };
  const b = { address: '192.0.2.2', port: 500 };
  const base = { auth: 'psk' as const, psk, ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 19 }], ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 }] };
  const ca: Connection = { ...base, name: 'c', local: a, remote: b };
  const cb: Connection = { ...base, name: 'c', local: b, remote: a };
  const ea = new Endpoint({ random: rnd, connections: [ca] });
  const eb = new Endpoint({ random: rnd, connections: [cb] });
  ea.initiate(0, 'c');
  for (let i = 0; i < 20; i++) {
    for (let t = ea.pollTransmit(); t; t = ea.pollTransmit()) eb.handleDatagram(0, b, a, t.data);
    for (let t = eb.pollTransmit(); t; t = eb.pollTransmit()) ea.handleDatagram(0, a, b, t.data);
  }
  const p1 = eb.isakmpSas()[0];
  const c = eb.ipsecSas()[0];
  if (!p1 || !c) throw new Error('scale-calc: the in-memory SA did not come up');
  const sealer = new Sealer(new Uint8Array(32));
  const i = JSON.stringify(exportIsakmpSa(eb, p1.id));
  const s = JSON.stringify(exportIpsecSa(eb, c.id));
  const key = '/isakmp/cluster/sa/' + p1.id;
  return { isakmp: sealer.seal(key, Buffer.from(i)).length + key.length, ipsec: sealer.seal(key, Buffer.from(s)).length + key.length };
}

const peers = n('peers');
const cores = n('cores');
const sizes = recordSizes();
const perSaCpu = n('cpu-ms-per-sa') + n('handoff-ms-per-sa');
const shardCores = Math.max(1, cores - Math.ceil((n('main-ms-per-sa') / perSaCpu) * (cores - 1)));
const handshakesPerS = (shardCores * 1000) / perSaCpu;
const mainCap = 1000 / n('main-ms-per-sa');
const saByMemory = Math.floor((n('memory-gib') * 1024 * 1024) / n('rss-kib-per-sa'));
// store operations per peer and hour: a phase-1 rekey writes the new ISAKMP SA and deletes the old
// one; a Quick Mode rekey writes the new IPsec SA, deletes the old one and updates the ISAKMP
// record (the message ID it used); DPD writes nothing (docs/ha.md)
const opsPerPeerHour = 2 / n('ike-lifetime-h') + 3 / n('ipsec-lifetime-h') + n('other-writes-per-h');
const opsPerS = (peers * opsPerPeerHour) / 3600;
const bytesPerS = (peers / 3600) * ((sizes.isakmp * 1) / n('ike-lifetime-h') + (sizes.ipsec + sizes.isakmp) / n('ipsec-lifetime-h'));
const storeBytes = peers * (sizes.isakmp + sizes.ipsec);
const nodesPerStore = Math.floor(n('store-ops-per-s') / Math.max(1e-9, opsPerS / Math.max(1, Math.ceil(peers / saByMemory))));
const takeoverS = (peers / 1000) * (n('takeover-ms-per-1000') / 1000);

const r = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`inputs: ${peers} peers, ${cores} cores, ${n('memory-gib')} GiB, ${n('cpu-ms-per-sa')} ms CPU per handshake + ${n('handoff-ms-per-sa')} ms hand-off, ${n('rss-kib-per-sa')} KiB per SA pair, rekeys every ${n('ike-lifetime-h')} h (ISAKMP) / ${n('ipsec-lifetime-h')} h (IPsec)`);
console.log(`sealed record sizes (measured): ISAKMP SA ${sizes.isakmp} bytes, IPsec SA ${sizes.ipsec} bytes (with their keys)`);
console.log(`SAs per node by memory: ${r(saByMemory)} SA pairs`);
console.log(`shards per node: ${shardCores} (one core's worth left to the main thread's routing at full load); main thread saturates at ${r(mainCap)} handshakes/s`);
console.log(`handshakes per node: ${r(handshakesPerS)}/s; all ${r(peers)} peers reconnecting after a failover without state: ${r(peers / handshakesPerS, 1)} s of full load`);
console.log(`rekey load: ${r((peers * (1 / n('ike-lifetime-h') + 1 / n('ipsec-lifetime-h'))) / 3600, 1)} handshakes/s (${r((100 * ((peers * (1 / n('ike-lifetime-h') + 1 / n('ipsec-lifetime-h'))) / 3600)) / handshakesPerS, 1)} % of one node)`);
console.log(`store writes: ${r(opsPerS, 1)} operations/s, ${r(bytesPerS / 1024, 1)} KiB/s; store size ${r(storeBytes / 1024 / 1024, 1)} MiB for ${r(peers)} peers`);
console.log(`nodes per store (at ${r(n('store-ops-per-s'))} operations/s): ${r(nodesPerStore)} nodes each holding ${r(Math.min(peers, saByMemory))} peers`);
console.log(`takeover of ${r(peers)} SA pairs: about ${r(takeoverS, 1)} s of reading and importing after the ${n('lease-s')} s lease (measured rate, one node's shards)`);
