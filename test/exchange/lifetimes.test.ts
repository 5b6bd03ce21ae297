// Lifetimes (seconds, kilobytes), soft/hard expiry, rekey with jitter, Delete of replaced SAs,
// RESPONDER-LIFETIME, several Quick Modes at once, AH, transport mode, the commit bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import { subnetSelector } from '../../src/exchange/index.js';
import type { Connection } from '../../src/exchange/index.js';
import { Pair, anotherQuickMode, assertMirrored, conn, seededRandom } from '../helpers/pair.js';
import { Endpoint } from '../../src/exchange/index.js';

function up(seed: string, over: Partial<Connection> = {}, overB: Partial<Connection> = over): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', over));
  pair.b.setConnection(conn(pair, 'b', overB));
  pair.a.initiate(pair.now, 'c');
  pair.run(1000);
  return pair;
}

const esp = (o: object = {}) => ({ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, ...o });

test('IPsec SA rekeyed before soft expiry (margin 60 s + jitter): new Quick Mode, new keys, old SA deleted on both sides', () => {
  const pair = up('rekey-child', { ipsec: [esp({ lifetimeSeconds: 600 })], rekeyMarginSeconds: 60 });
  const old = pair.a.ipsecSas()[0]!;
  const oldB = pair.b.ipsecSas()[0]!;
  pair.clearEvents();
  pair.run(600_000);
  const soft = pair.ev('a', 'expired').filter((e) => !e.hard);
  assert.equal(soft.length, 1);
  const fresh = pair.ev('a', 'ipsec-sa-established');
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0]!.rekeyOf, old.id);
  const at = fresh[0]!.sa.establishedAt - old.establishedAt;
  assert.ok(at >= 480_000 && at <= 540_000, `rekeyed ${at} ms after establishment (600 s − 60..120 s)`);
  assert.deepEqual(pair.ev('a', 'rekeyed').map((r) => [r.kind, r.old]), [['ipsec', old.id]]);
  assert.notDeepEqual(fresh[0]!.sa.protocols[0]!.inbound.spi, old.protocols[0]!.inbound.spi);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.ok(pair.ev('b', 'deleted').some((d) => d.id === oldB.id && d.by === 'peer'));
  const nb = pair.b.ipsecSas()[0]!.protocols[0]!;
  const na = pair.a.ipsecSas()[0]!.protocols[0]!;
  assert.deepEqual(na.inbound.keymat, nb.outbound.keymat);
  assert.notDeepEqual(na.inbound.keymat, old.protocols[0]!.inbound.keymat);
});

test('ISAKMP SA rekeyed with a new Main Mode; IPsec SAs live on; the old ISAKMP SA is deleted', () => {
  const pair = up('rekey-p1', { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: 1200 }], rekeyMarginSeconds: 100 });
  const old = pair.a.isakmpSas()[0]!;
  const child = pair.a.ipsecSas()[0]!;
  pair.clearEvents();
  pair.run(1150_000);
  const r = pair.ev('a', 'rekeyed');
  assert.deepEqual(r.map((x) => [x.kind, x.old]), [['isakmp', old.id]]);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.b.isakmpSas().length, 1);
  assert.notEqual(pair.a.isakmpSas()[0]!.id, old.id);
  assert.equal(pair.b.isakmpSas()[0]!.id, pair.a.isakmpSas()[0]!.id);
  assert.ok(pair.ev('b', 'deleted').some((d) => d.kind === 'isakmp' && d.id === old.id));
  assert.deepEqual(pair.a.ipsecSas().map((c) => c.id), [child.id]);
  assert.equal(pair.b.ipsecSas().length, 1);
  // no INITIAL-CONTACT on a rekey: b kept its IPsec SA
  assert.equal(pair.ev('b', 'deleted').filter((d) => d.kind === 'ipsec').length, 0);
  // the next Quick Mode runs under the new ISAKMP SA
  anotherQuickMode(pair, 'a');
  pair.run(1000);
  assert.equal(pair.a.ipsecSas().length, 2);
  assert.equal(pair.a.ipsecSas()[1]!.isakmpSa, pair.a.isakmpSas()[0]!.id);
});

test('rekey disabled: hard expiry removes the SAs on both sides (Delete sent)', () => {
  const pair = up('hard', { ipsec: [esp({ lifetimeSeconds: 300 })], rekey: false });
  pair.clearEvents();
  pair.run(301_000);
  assert.equal(pair.a.ipsecSas().length, 0);
  assert.equal(pair.b.ipsecSas().length, 0);
  assert.ok(pair.ev('a', 'expired').some((e) => e.hard && e.kind === 'ipsec'));
  // b expires it itself or learns it from a's Delete, whichever comes first
  assert.equal(pair.ev('b', 'expired').filter((e) => e.kind === 'ipsec').length + pair.ev('b', 'deleted').filter((e) => e.kind === 'ipsec').length, 1);
});

test('<-- HDR*, HASH(2), SA, Nr, N(RESPONDER-LIFETIME), IDci, IDcr: the responder shortens 3600 s to 600 s; both use 600 s', () => {
  const pair = up('resplife', { ipsec: [esp({ lifetimeSeconds: 3600 })] }, { ipsec: [esp({ lifetimeSeconds: 600 })] });
  assert.equal(pair.b.ipsecSas()[0]!.lifetimeSeconds, 600);
  assert.equal(pair.a.ipsecSas()[0]!.lifetimeSeconds, 600);
  const qm2 = pair.sentBy('b').find((w) => decodeHeader(w.data).exchangeType === 32)!;
  const qm2NoNotify = up('resplife-same', { ipsec: [esp({ lifetimeSeconds: 600 })] }).sentBy('b').find((w) => decodeHeader(w.data).exchangeType === 32)!;
  assert.ok(qm2.data.length > qm2NoNotify.data.length, 'QM2 carries the extra notify');
  pair.clearEvents();
  pair.run(700_000);
  assert.ok(pair.ev('a', 'rekeyed').length >= 1, 'a rekeyed before 600 s');
});

test('kilobyte lifetimes: soft at 90 % rekeys (initiator), hard at 100 % expires', () => {
  const pair = up('kb', { ipsec: [esp({ lifetimeKilobytes: 1000 })] });
  const a = pair.a.ipsecSas()[0]!;
  assert.equal(a.lifetimeKilobytes, 1000);
  pair.clearEvents();
  pair.a.reportTraffic(pair.now, a.id, 500 * 1024);
  assert.equal(pair.events.a.length, 0);
  pair.a.reportTraffic(pair.now, a.id, 920 * 1024);
  pair.run(1000);
  assert.ok(pair.ev('a', 'expired').some((e) => !e.hard));
  assert.equal(pair.ev('a', 'rekeyed').length, 1);
  const b = pair.b.ipsecSas()[0]!;
  pair.b.reportTraffic(pair.now, b.id, 1000 * 1024);
  pair.run(100);
  assert.ok(pair.ev('b', 'expired').some((e) => e.hard));
  assert.equal(pair.b.ipsecSas().length, 0);
  assert.equal(pair.a.ipsecSas().length, 0);
});

test('several Quick Modes on one ISAKMP SA (one of ours in flight at a time), each with its own message ID and IV', () => {
  const pair = new Pair({ seed: 'multi' });
  const nets = [['10.1.0.0', '10.2.0.0'], ['10.3.0.0', '10.4.0.0'], ['10.5.0.0', '10.6.0.0']] as const;
  nets.forEach(([l, r], i) => {
    pair.a.setConnection(conn(pair, 'a', { name: `c${i}`, localTs: subnetSelector(l, 16), remoteTs: subnetSelector(r, 16) }));
    pair.b.setConnection(conn(pair, 'b', { name: `c${i}`, localTs: subnetSelector(r, 16), remoteTs: subnetSelector(l, 16) }));
  });
  for (let i = 0; i < 3; i++) pair.a.initiate(pair.now, `c${i}`);
  pair.run(2000);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.b.isakmpSas().length, 1);
  const qm = pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 32);
  assert.equal(new Set(qm.map((w) => decodeHeader(w.data).messageId)).size, 3);
  // each QM1 leaves after the previous Quick Mode's QM3 (QUICK_MODES_IN_FLIGHT: strongSwan keeps
  // the IVs of three exchanges, finished ones included, and may take a QM1 before an earlier QM3)
  assert.deepEqual(qm.map((w) => w.from), ['a', 'b', 'a', 'a', 'b', 'a', 'a', 'b', 'a']);
  assert.equal(qm.filter((w) => w.from === 'a').length, 6, 'three QM1 and three QM3');
  const sas = pair.b.ipsecSas();
  assert.deepEqual(sas.map((s) => s.connection).sort(), ['c0', 'c1', 'c2']);
  for (const s of sas) assert.equal(s.remoteTs.prefix, 16);
  for (const s of pair.a.ipsecSas()) {
    const peer = sas.find((x) => x.connection === s.connection)!;
    assert.deepEqual(s.protocols[0]!.inbound.keymat, peer.protocols[0]!.outbound.keymat);
  }
});

test('AH, AH+ESP bundles (AND-ed proposals) and transport mode', () => {
  const cases = [
    [{ protocols: [{ protocol: 2, transformId: 5, authAlgorithm: 5 }], mode: 2 }],
    [{ protocols: [{ protocol: 2, transformId: 3, authAlgorithm: 2 }, { protocol: 3, transformId: 12, keyLength: 256, authAlgorithm: 5 }], mode: 1 }],
    [esp({ mode: 2 })],
  ];
  cases.forEach((ipsec, i) => {
    const pair = up(`ah${i}`, { ipsec });
    assertMirrored(pair, assert);
    const s = pair.a.ipsecSas()[0]!;
    assert.equal(s.mode, ipsec[0]!.mode);
    assert.deepEqual(s.protocols.map((p) => p.protocol), ipsec[0]!.protocols.map((p) => p.protocol));
    if (s.protocols[0]!.protocol === 2) assert.equal(s.protocols[0]!.inbound.encryptionKey.length, 0);
  });
});

test('commit bit: HDR*, HASH(1) (C) --> ... HDR*, HASH(3) --> ; <-- HDR*, HASH(4), N(CONNECTED): SA used only after CONNECTED', () => {
  const pair = new Pair({ seed: 'commit' });
  pair.a.setConnection(conn(pair, 'a', { commit: true }));
  pair.b.setConnection(conn(pair, 'b'));
  pair.tap = (from, data) => (from === 'b' && decodeHeader(data).exchangeType === 32 && (decodeHeader(data).flags & 2) !== 0 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(500);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.equal(pair.a.ipsecSas().length, 0, 'initiator waits for CONNECTED');
  pair.tap = undefined;
  pair.run(5000);
  assert.equal(pair.a.ipsecSas().length, 1);
  const qm = pair.wire.filter((w) => decodeHeader(w.data).exchangeType === 32);
  assert.ok(decodeHeader(qm[0]!.data).flags & 2);
  assert.ok(qm.some((w) => w.from === 'b' && (decodeHeader(w.data).flags & 2) !== 0 && w.delivered));
  assertMirrored(pair, assert);
});

test('delete(): an ISAKMP SA deleted locally, then initiate() starts a fresh phase 1', () => {
  const pair = up('redo');
  pair.a.delete(pair.now, pair.a.isakmpSas()[0]!.id);
  pair.run(100);
  // the connection is still up (its IPsec SA lives on): initiate() starts nothing ...
  assert.deepEqual(pair.a.initiate(pair.now, 'c'), { started: 0, negotiating: 0, established: 1 });
  pair.run(1000);
  assert.equal(pair.a.isakmpSas().length, 0);
  // ... and a Quick Mode that needs an ISAKMP SA gets a fresh phase 1
  anotherQuickMode(pair, 'a');
  pair.run(1000);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.a.ipsecSas().length, 2);
  assert.equal(pair.b.ipsecSas().length, 2);
});

test('Quick Mode selectors: range and subnet with protocol/port are carried and narrowed within the policy', () => {
  const pair = new Pair({ seed: 'ts' });
  const range = { family: 4 as const, start: '10.9.0.10', end: '10.9.0.20', protocol: 6, port: 80 };
  pair.a.setConnection(conn(pair, 'a', { localTs: subnetSelector('10.8.0.0', 24, 6, 0), remoteTs: range }));
  // b's policy is wider: any protocol on 10.8.0.0/16, the whole 10.9.0.0/24
  pair.b.setConnection(conn(pair, 'b', { localTs: subnetSelector('10.9.0.0', 24), remoteTs: subnetSelector('10.8.0.0', 16) }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assertMirrored(pair, assert);
  const sb = pair.b.ipsecSas()[0]!;
  assert.deepEqual(sb.localTs, range);
  assert.equal(sb.remoteTs.prefix, 24);
  assert.equal(sb.remoteTs.protocol, 6);
  // the other way round a policy narrower than the offer is refused
  const pair2 = new Pair({ seed: 'ts2' });
  pair2.a.setConnection(conn(pair2, 'a', { localTs: subnetSelector('10.8.0.0', 16), remoteTs: subnetSelector('10.9.0.0', 24) }));
  pair2.b.setConnection(conn(pair2, 'b', { localTs: subnetSelector('10.9.0.0', 24), remoteTs: subnetSelector('10.8.0.0', 24) }));
  pair2.a.initiate(pair2.now, 'c');
  pair2.run(2000);
  assert.equal(pair2.b.ipsecSas().length, 0);
  assert.ok(pair2.ev('b', 'dropped').some((d) => d.notify === 18));
  assert.ok(pair2.ev('a', 'notify').some((n) => n.notify === 18), 'the refusal reaches the initiator under HASH(1)');
  const f = pair2.ev('a', 'failed');
  assert.equal(f.length, 1);
  assert.deepEqual([f[0]!.kind, f[0]!.notify], ['ipsec', 18]);
  assert.equal(pair2.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 32).length, 1, 'no retransmission after the refusal');
});

test('reload: a replaced connection is used for the next rekey; a removed one is not rekeyed, its SAs expire', () => {
  const pair = up('reload', { ipsec: [esp({ lifetimeSeconds: 600 })], rekeyMarginSeconds: 60 });
  // replace: AES-256 from now on (both sides)
  const aes256 = { ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 256, authAlgorithm: 5 }], mode: 1, lifetimeSeconds: 600 }], rekeyMarginSeconds: 60 };
  pair.a.setConnection(conn(pair, 'a', aes256));
  pair.b.setConnection(conn(pair, 'b', aes256));
  pair.clearEvents();
  pair.run(600_000);
  const fresh = pair.ev('a', 'ipsec-sa-established');
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0]!.sa.protocols[0]!.keyLength, 256);
  // remove: no further rekey, hard expiry
  assert.equal(pair.a.removeConnection('c'), true);
  assert.deepEqual(pair.a.connections(), []);
  pair.clearEvents();
  pair.run(600_000);
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 0);
  assert.ok(pair.ev('a', 'expired').some((e) => e.kind === 'ipsec' && e.hard));
  assert.equal(pair.a.ipsecSas().length, 0);
  assert.equal(pair.a.stats().ipsec, 0);
});

test('a Quick Mode in progress when the ISAKMP SA is replaced is started again under the new one', () => {
  const pair = up('qm-during-rekey');
  pair.clearEvents();
  // hold back b's Quick Mode answers, start a Quick Mode, then rekey phase 1
  pair.tap = (from, data) => (from === 'b' && decodeHeader(data).exchangeType === 32 ? null : data);
  anotherQuickMode(pair, 'a');
  pair.run(100);
  const old = pair.a.isakmpSas()[0]!.id;
  pair.a.rekey(pair.now, old);
  pair.run(500);
  assert.equal(pair.ev('a', 'rekeyed').length, 1);
  pair.tap = undefined;
  pair.run(5000);
  const sas = pair.a.ipsecSas();
  assert.equal(sas.length, 2);
  assert.equal(sas[1]!.isakmpSa, pair.a.isakmpSas()[0]!.id);
  assert.notEqual(sas[1]!.isakmpSa, old);
  assert.equal(pair.ev('a', 'failed').length, 0);
  assert.equal(pair.b.ipsecSas().length, 2);
});

test('Quick Mode under an ISAKMP SA of another connection: the responder finds the connection whose selectors fit', () => {
  const pair = new Pair({ seed: 'two-conns' });
  const web = { localTs: subnetSelector('10.1.0.0', 24), remoteTs: subnetSelector('10.2.0.0', 24) };
  const db = { localTs: subnetSelector('10.1.5.0', 24), remoteTs: subnetSelector('10.2.5.0', 24) };
  pair.a.setConnection(conn(pair, 'a', { name: 'web', ...web }));
  pair.a.setConnection(conn(pair, 'a', { name: 'db', ...db }));
  const mirror = (s: typeof web) => ({ localTs: s.remoteTs, remoteTs: s.localTs });
  pair.b.setConnection(conn(pair, 'b', { name: 'web', ...mirror(web) }));
  pair.b.setConnection(conn(pair, 'b', { name: 'db', ...mirror(db) }));
  pair.a.initiate(pair.now, 'web');
  pair.run(2000);
  pair.a.initiate(pair.now, 'db');
  pair.run(2000);
  assert.equal(pair.a.isakmpSas().length, 1, 'one ISAKMP SA carries both Quick Modes');
  assert.equal(pair.b.isakmpSas()[0]!.connection, 'web');
  assert.deepEqual(pair.b.ipsecSas().map((s) => s.connection).sort(), ['db', 'web']);
  const sdb = pair.b.ipsecSas().find((s) => s.connection === 'db')!;
  assert.deepEqual(sdb.localTs, db.remoteTs);
});

test('at most 16 Quick Modes in progress on one ISAKMP SA by default (responder, issue 9.6): the 17th is dropped with QUICK_MODE_LIMIT', () => {
  const pair = new Pair({ seed: 'qm-limit' });
  const wide = { localTs: subnetSelector('10.0.0.0', 8), remoteTs: subnetSelector('10.0.0.0', 8) };
  pair.b.setConnection(conn(pair, 'b', { name: 'wide', ...wide }));
  for (let i = 0; i <= 17; i++) {
    pair.a.setConnection(conn(pair, 'a', { name: `n${i}`, localTs: subnetSelector(`10.1.${i}.0`, 24), remoteTs: subnetSelector(`10.2.${i}.0`, 24) }));
  }
  pair.a.initiate(pair.now, 'n0');
  pair.run(2000);
  assert.equal(pair.b.ipsecSas().length, 1);
  // HASH(3) never arrives: every further Quick Mode stays in progress on the responder
  pair.tap = (from, d) => (from === 'a' && decodeHeader(d).exchangeType === 32 && d.length < 100 ? null : d);
  for (let i = 1; i <= 17; i++) pair.a.initiate(pair.now, `n${i}`);
  pair.run(200);
  const limit = pair.ev('b', 'dropped').filter((d) => d.code === 'QUICK_MODE_LIMIT');
  assert.equal(limit.length, 1, 'the 17th Quick Mode in progress on the SA');
  assert.equal(limit[0]!.notify, 0);
  assert.equal(pair.b.isakmpSas().length, 1, 'the ISAKMP SA is untouched');
});

/** a's cookies of its ISAKMP SA, as they start each of its datagrams. */
const cookiesOf = (pair: Pair): string => Buffer.from(pair.a.isakmpSas()[0]!.initiatorCookie).toString('hex');

test('the ISAKMP SA and its IPsec SAs rekeyed at once (isakmp rekey NAME): every new Quick Mode waits for the new ISAKMP SA, none runs under the old one', () => {
  // strongSwan moves its IPsec SAs to a new ISAKMP SA once that is established on its side (our
  // MM5) and deletes with the old one whatever was negotiated under it after that: a Quick Mode
  // of ours ending under the old SA then gave an IPsec SA the peer no longer had
  const sub = (n: number) => subnetSelector(`10.1.${n}.0`, 24);
  const pair = up('rekey-all', { localTs: [sub(1), sub(2), sub(3)], remoteTs: subnetSelector('10.2.0.0', 24) }, { localTs: subnetSelector('10.2.0.0', 24), remoteTs: [sub(1), sub(2), sub(3)] });
  assert.equal(pair.a.ipsecSas().length, 3);
  const old = pair.a.isakmpSas()[0]!.id;
  const oldCookies = cookiesOf(pair);
  const oldKids = pair.a.ipsecSas().map((s) => s.id);
  pair.clearEvents();
  const from = pair.wire.length;
  // what the daemon's `rekey NAME` does: the ISAKMP SA first, then each IPsec SA
  pair.a.rekey(pair.now, old);
  for (const id of oldKids) pair.a.rekey(pair.now, id);
  pair.run(5000);
  const fresh = pair.a.isakmpSas();
  assert.equal(fresh.length, 1);
  assert.notEqual(fresh[0]!.id, old);
  // no Quick Mode of a under the old cookies once the rekey began
  const qmUnderOld = pair.wire.slice(from).filter((w) => w.from === 'a' && decodeHeader(w.data).exchangeType === 32 && Buffer.from(w.data.subarray(0, 8)).toString('hex') === oldCookies);
  assert.equal(qmUnderOld.length, 0, 'a Quick Mode of ours ran under the ISAKMP SA being replaced');
  assert.deepEqual(pair.ev('a', 'rekeyed').filter((r) => r.kind === 'ipsec').map((r) => r.old).sort(), [...oldKids].sort());
  for (const side of ['a', 'b'] as const) {
    const sas = pair.ep(side).ipsecSas();
    assert.equal(sas.length, 3, side);
    assert.ok(sas.every((s) => s.isakmpSa === fresh[0]!.id), `${side}: every IPsec SA under the new ISAKMP SA: ${JSON.stringify(sas.map((s) => s.isakmpSa))}`);
  }
  assert.equal(pair.ev('a', 'failed').length, 0);
});

test('IPsec rekeys waiting for a new ISAKMP SA that fails go back to the old one, which still lives', () => {
  const pair = up('rekey-all-fails', { keyingTries: 1 });
  const old = pair.a.isakmpSas()[0]!.id;
  const kid = pair.a.ipsecSas()[0]!.id;
  pair.clearEvents();
  // b stops answering Main Mode (the new phase 1 never completes), Quick Mode still gets through
  pair.tap = (from, data) => (from === 'b' && decodeHeader(data).exchangeType === 2 ? null : data);
  pair.a.rekey(pair.now, old);
  pair.a.rekey(pair.now, kid);
  pair.run(200_000);
  assert.ok(pair.ev('a', 'failed').some((f) => f.kind === 'isakmp'), JSON.stringify(pair.events.a));
  assert.equal(pair.ev('a', 'failed').filter((f) => f.kind === 'ipsec').length, 0, JSON.stringify(pair.ev('a', 'failed')));
  assert.deepEqual(pair.ev('a', 'rekeyed').map((r) => [r.kind, r.old]), [['ipsec', kid]]);
  assert.deepEqual(pair.a.isakmpSas().map((s) => s.id), [old]);
  assert.equal(pair.a.ipsecSas()[0]!.isakmpSa, old);
  assert.equal(pair.b.ipsecSas().length, 1);
});

test('four IPsec SAs rekeyed at once: the old ones go with one Delete after the last Quick Mode, none between them', () => {
  // a peer keeps the IVs of a few exchanges per ISAKMP SA and may take datagrams out of order
  // (strongSwan: three, and its threads): a Delete after each rekey, sent with the next QM1 right
  // behind the QM3, made it forget the IV of the Quick Mode in progress before its QM3 came
  const sub = (n: number) => subnetSelector(`10.1.${n}.0`, 24);
  const pair = up('rekey-four', { localTs: [sub(1), sub(2), sub(3), sub(4)], remoteTs: subnetSelector('10.2.0.0', 24) }, { localTs: subnetSelector('10.2.0.0', 24), remoteTs: [sub(1), sub(2), sub(3), sub(4)] });
  const oldA = pair.a.ipsecSas().map((s) => s.id);
  const oldB = pair.b.ipsecSas().map((s) => s.id);
  assert.equal(oldA.length, 4);
  pair.clearEvents();
  const from = pair.wire.length;
  for (const id of oldA) pair.a.rekey(pair.now, id);
  pair.run(5000);
  const sent = pair.wire.slice(from).filter((w) => w.from === 'a').map((w) => decodeHeader(w.data).exchangeType);
  assert.deepEqual(sent, [32, 32, 32, 32, 32, 32, 32, 32, 5], 'four Quick Modes (QM1 and QM3 each), then one Informational');
  assert.deepEqual(pair.ev('a', 'rekeyed').map((r) => r.old).sort(), [...oldA].sort());
  assert.deepEqual(pair.ev('a', 'deleted').map((d) => d.id).sort(), [...oldA].sort());
  assert.deepEqual(pair.ev('b', 'deleted').filter((d) => d.by === 'peer').map((d) => d.id).sort(), [...oldB].sort());
  assert.equal(pair.a.ipsecSas().length, 4);
  assert.equal(pair.b.ipsecSas().length, 4);
  assert.ok(pair.a.ipsecSas().every((s) => !oldA.includes(s.id)));
});

test('a Quick Mode of ours in flight when our MM5 of the ISAKMP SA rekey goes: it ends under the new ISAKMP SA, none of ours under the old one after MM5', () => {
  // strongSwan moves its IPsec SAs to the new ISAKMP SA at our MM5 and deletes with the old one
  // an IPsec SA whose Quick Mode ended under it after that: here b's QM2 reaches a between its
  // MM5 and MM6 (b's QM answers held until a's MM5 is out, b's MM6 until its QM2 went)
  const pair = up('qm-across-mm5');
  const old = pair.a.isakmpSas()[0]!.id;
  const oldCookies = cookiesOf(pair);
  const kid = pair.a.ipsecSas()[0]!.id;
  pair.clearEvents();
  const from = pair.wire.length;
  let mmFromA = 0;
  let qm2Out = false;
  let mm5At = -1;
  pair.tap = (side, data) => {
    const type = decodeHeader(data).exchangeType;
    if (side === 'a' && type === 2 && ++mmFromA === 3) mm5At = pair.wire.length;
    if (side === 'b' && type === 32) {
      if (mmFromA < 3) return null;
      qm2Out = true;
    }
    if (side === 'b' && type === 2 && (data[19]! & 1) !== 0 && !qm2Out) return null; // MM6
    return data;
  };
  pair.a.rekey(pair.now, kid); // QM1 under the old ISAKMP SA, its answer held
  pair.a.rekey(pair.now, old);
  pair.run(10_000);
  pair.tap = undefined;
  pair.run(5000);
  assert.ok(mm5At >= 0 && qm2Out);
  const qmUnderOldAfterMm5 = pair.wire.slice(Math.max(from, mm5At)).filter((w) => w.from === 'a' && decodeHeader(w.data).exchangeType === 32 && Buffer.from(w.data.subarray(0, 8)).toString('hex') === oldCookies);
  assert.equal(qmUnderOldAfterMm5.length, 0, 'a Quick Mode of ours went on under the old ISAKMP SA after our MM5');
  const fresh = pair.a.isakmpSas();
  assert.equal(fresh.length, 1);
  assert.notEqual(fresh[0]!.id, old);
  for (const side of ['a', 'b'] as const) {
    const sas = pair.ep(side).ipsecSas();
    assert.equal(sas.length, 1, `${side}: ${JSON.stringify(sas)}`);
    assert.equal(sas[0]!.isakmpSa, fresh[0]!.id, side);
  }
  assert.deepEqual(pair.ev('a', 'rekeyed').filter((r) => r.kind === 'ipsec').map((r) => r.old), [kid]);
  assert.equal(pair.ev('a', 'failed').length, 0, JSON.stringify(pair.ev('a', 'failed')));
  // b's late QM2 under the old SA: a typed drop, nothing answered
  assert.deepEqual(pair.ev('a', 'dropped').map((d) => [d.notify, d.reason]), [[9, 'message ID already used (replay)']]);
});

test('the peer restarts without telling us: our rekey Quick Mode gets no answer, so the ISAKMP SA is deleted and the rekey negotiated again under a new phase 1, before the IPsec SA expires', () => {
  const over = { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: 3600 }], ipsec: [esp({ lifetimeSeconds: 600 })], rekeyMarginSeconds: 120 };
  const pair = up('peer-restart', over, { ...over, rekey: false });
  const oldP1 = pair.a.isakmpSas()[0]!;
  const old = pair.a.ipsecSas()[0]!;
  // b comes back with nothing (no INITIAL-CONTACT from it: it does not initiate)
  pair.b = new Endpoint({ random: seededRandom('b after restart') });
  pair.b.setConnection(conn(pair, 'b', { ...over, rekey: false }));
  pair.clearEvents();
  pair.run(599_000);
  const f = pair.ev('a', 'failed');
  assert.equal(f.length, 1, 'one failure, and it says the engine tries again');
  assert.equal(f[0]!.retrying, true);
  assert.equal(f[0]!.cause, 'NO_ANSWER');
  assert.match(f[0]!.reason, new RegExp(`no answer under ISAKMP SA ${oldP1.id}.*new phase 1`));
  assert.ok(pair.ev('a', 'deleted').some((d) => d.kind === 'isakmp' && d.id === oldP1.id), 'the lost ISAKMP SA is deleted');
  assert.equal(pair.ev('a', 'phase1-established').length, 1, 'a new phase 1');
  const fresh = pair.ev('a', 'ipsec-sa-established');
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0]!.rekeyOf, old.id, 'the rekey, not a new SA beside it');
  assert.ok(fresh[0]!.sa.establishedAt < old.establishedAt + 600_000, 'before the old IPsec SA expired');
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.deepEqual(pair.a.ipsecSas()[0]!.protocols[0]!.inbound.keymat, pair.b.ipsecSas()[0]!.protocols[0]!.outbound.keymat);
});

test('a peer that never answers our Quick Mode (but is there): tried again once under a new phase 1, then failed; nothing more', () => {
  const pair = new Pair({ seed: 'qm-ignored' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  // every Quick Mode message from a is lost; Main Mode and Informational get through
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 32 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(600_000);
  const f = pair.ev('a', 'failed');
  assert.deepEqual(f.map((e) => [e.kind, e.retrying === true]), [['ipsec', true], ['ipsec', false]]);
  assert.equal(pair.ev('a', 'phase1-established').length, 2, 'one phase 1 more, not a loop');
  assert.equal(pair.ev('b', 'phase1-established').length, 2);
  assert.equal(pair.a.ipsecSas().length, 0);
  assert.equal(pair.a.isakmpSas().length, 1, 'the second ISAKMP SA stays (the peer answered its Main Mode)');
});

test('a peer that ignores our Quick Mode but sends DPD probes under the ISAKMP SA still holds it: the Quick Mode fails, no new phase 1', () => {
  const pair = new Pair({ seed: 'qm-ignored-dpd' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', { dpd: { delaySeconds: 5, timeoutSeconds: 60 } }));
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 32 ? null : data);
  pair.a.initiate(pair.now, 'c');
  pair.run(120_000);
  const f = pair.ev('a', 'failed');
  assert.deepEqual(f.map((e) => [e.kind, e.retrying === true, e.reason]), [['ipsec', false, 'retransmit limit reached, peer does not answer']]);
  assert.ok(pair.sentBy('b').filter((w) => decodeHeader(w.data).exchangeType === 5).length > 0, 'b probed a meanwhile');
  assert.equal(pair.ev('a', 'phase1-established').length, 1, 'no second phase 1');
  assert.equal(pair.a.isakmpSas().length, 1);
});
