// SA snapshots (src/exchange/snapshot.ts): an established ISAKMP SA and its IPsec SA exported from
// the responder, carried as JSON, imported into a fresh endpoint that then answers the initiator
// on the same ISAKMP SA (DPD, a Quick Mode rekey), refuses a replayed Quick Mode message ID, and
// exports the same record again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint, subnetSelector, type Selector } from '../../src/exchange/index.js';
import { NotifyType } from '../../src/constants/index.js';
import { decodeHeader } from '../../src/codec/index.js';
import { SNAPSHOT_VERSION, exportSa, importIpsecSa, importIsakmpSa, importSa, type IsakmpSaRecord, type IpsecSaRecord } from '../../src/exchange/snapshot.js';
import { Pair, conn, establishedPair, seededRandom } from '../helpers/pair.js';

function viaJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

test('an exported SA imported elsewhere answers DPD and a Quick Mode rekey on the same ISAKMP SA', () => {
  const pair = establishedPair('snapshot', {}, true);
  const qm1 = pair.wire.find((w) => w.from === 'a' && decodeHeader(w.data).exchangeType === 32)!;
  assert.ok(qm1, 'the first Quick Mode message was on the wire');
  const id = pair.b.isakmpSas()[0]!.id;
  const before = pair.b.ipsecSas()[0]!;
  const snap = exportSa(pair.b, id);
  assert.ok(snap);
  assert.equal(snap.isakmp.v, SNAPSHOT_VERSION);
  assert.equal(snap.ipsec.length, 1);
  assert.equal(snap.isakmp.seen.length, 1, 'the Quick Mode message ID is kept');
  const carried = viaJson(snap);

  // the node that held the SA is gone; another one takes it over
  const b2 = new Endpoint({ random: seededRandom('snapshot/b2') });
  b2.setConnection(conn(pair, 'b'));
  const got = importSa(b2, pair.now, carried);
  assert.equal(got.isakmp.id, id);
  assert.equal(got.isakmp.state, 'established');
  assert.deepEqual(b2.ipsecSas()[0]!.protocols.map((p) => [p.inbound.spi, p.inbound.keymat, p.outbound.spi, p.outbound.keymat]), before.protocols.map((p) => [p.inbound.spi, p.inbound.keymat, p.outbound.spi, p.outbound.keymat]), 'same SPIs and KEYMAT');
  assert.deepEqual(viaJson(exportSa(b2, id)), carried, 'export(import(record)) is the record');
  pair.b = b2;
  pair.clearEvents();

  // DPD from the initiator, answered by the new node under the same ISAKMP SA
  const seq = pair.a.dpd(pair.now, id);
  pair.run(1000);
  const acks = pair.ev('a', 'notify').filter((e) => e.notify === NotifyType.R_U_THERE_ACK);
  assert.equal(acks.length, 1, 'R-U-THERE-ACK received');
  assert.equal(acks[0]!.isakmpSa, id);
  assert.equal(new DataView(acks[0]!.data.buffer, acks[0]!.data.byteOffset).getUint32(0), seq);

  // a replay of the old Quick Mode message is refused: the message IDs seen travelled
  pair.inject('b', qm1.data);
  pair.run(100);
  const drops = pair.ev('b', 'dropped');
  assert.ok(drops.some((d) => d.notify === NotifyType.INVALID_MESSAGE_ID && /replay/.test(d.reason)), `replay refused: ${JSON.stringify(drops.map((d) => d.reason))}`);
  pair.clearEvents();

  // a Quick Mode rekey under the same ISAKMP SA: no new phase 1 on either side
  pair.a.rekey(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.run(2000);
  assert.equal(pair.ev('a', 'phase1-established').length, 0, 'no new phase 1 (a)');
  assert.equal(pair.ev('b', 'phase1-established').length, 0, 'no new phase 1 (b)');
  const fresh = pair.ev('b', 'ipsec-sa-established');
  assert.equal(fresh.length, 1, 'the rekeyed IPsec SA is up on the new node');
  assert.equal(fresh[0]!.sa.isakmpSa, id, 'under the same ISAKMP SA');
  assert.deepEqual(pair.b.ipsecSas().map((s) => s.id), [fresh[0]!.sa.id], 'the old IPsec SA deleted by the initiator\'s Delete, under the same ISAKMP SA');
  assert.notEqual(fresh[0]!.sa.id, before.id);
  assert.deepEqual(pair.a.isakmpSas().map((s) => s.id), [id]);
});

test('import refuses another record version and an unknown connection; replaces an SA already there', () => {
  const pair = establishedPair('snapshot-refuse');
  const id = pair.b.isakmpSas()[0]!.id;
  const snap = viaJson(exportSa(pair.b, id)!);
  const b2 = new Endpoint({ random: seededRandom('snapshot/refuse') });
  assert.throws(() => importIsakmpSa(b2, 0, snap.isakmp), /no connection c/);
  b2.setConnection(conn(pair, 'b'));
  assert.throws(() => importIsakmpSa(b2, 0, { ...snap.isakmp, v: 2 } as unknown as IsakmpSaRecord), /record version 2/);
  assert.throws(() => importSa(b2, 0, { isakmp: snap.isakmp, ipsec: [{ ...snap.ipsec[0]!, id: 'q00000000' } as IpsecSaRecord] }), /does not match its first inbound SPI/);
  importSa(b2, pair.now, snap);
  importSa(b2, pair.now, snap);
  assert.equal(b2.isakmpSas().length, 1, 'one ISAKMP SA after two imports');
  assert.equal(b2.ipsecSas().length, 1, 'one IPsec SA after two imports');
  assert.equal(b2.pollEvent(), undefined, 'import emits no event');
});

test('an imported SA keeps its lifetime: it expires at the same time as the original', () => {
  const pair = establishedPair('snapshot-life', { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: 60 }] });
  const id = pair.b.isakmpSas()[0]!.id;
  const snap = viaJson(exportSa(pair.b, id)!);
  const b2 = new Endpoint({ random: seededRandom('snapshot/life') });
  b2.setConnection(conn(pair, 'b'));
  importSa(b2, pair.now + 10_000, snap);
  assert.equal(b2.isakmpSas()[0]!.expiresAt, snap.isakmp.expiresAt);
  b2.handleTimeout(snap.isakmp.expiresAt - 1);
  assert.equal(b2.isakmpSas().length, 1, 'alive before its expiry');
  b2.handleTimeout(snap.isakmp.expiresAt);
  assert.equal(b2.isakmpSas().length, 0, 'gone at its expiry');
});

test('SAs imported after their rekey time rekey spread over a window, not all in the first turn', () => {
  const over = { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: 3600 }] };
  const pair = establishedPair('snapshot-overdue', over);
  const id = pair.a.isakmpSas()[0]!.id;
  const snap = viaJson(exportSa(pair.a, id)!);
  const p1Rekey = snap.isakmp.rekeyAt;
  const child = snap.ipsec[0]!;
  assert.ok(p1Rekey !== undefined && child.rekeyAt !== undefined, 'the initiator exports its rekey deadlines');
  // taken over late: both SAs (1 h lifetimes) have 350 s left and are past their rekey times
  // (at most 90 % of the lifetime, 3240 s)
  const childHard = child.establishedAt + child.lifetimeSeconds * 1000;
  const late = childHard - 350_000;
  assert.ok(late > p1Rekey && late > child.rekeyAt! && childHard > late, `takeover at ${late}: past both rekey times, before the IPsec SA's expiry ${childHard}`);
  const p1At: number[] = [];
  const childAt: number[] = [];
  for (let i = 0; i < 40; i++) {
    const ep = new Endpoint({ random: seededRandom(`snapshot/overdue/${i}`) });
    ep.setConnection(conn(pair, 'a', over));
    importSa(ep, late, snap);
    p1At.push(ep.rekeyAt(id)! - late);
    childAt.push(ep.rekeyAt(child.id)! - late);
  }
  // each within min(300 s, what is left of its lifetime / 2)
  const p1Window = Math.min(300_000, Math.floor((snap.isakmp.expiresAt - late) / 2));
  const childWindow = Math.min(300_000, Math.floor((childHard - late) / 2));
  assert.ok(p1Window >= 170_000 && childWindow >= 170_000);
  for (const d of p1At) assert.ok(d >= 0 && d < p1Window, `ISAKMP SA rekey ${d} ms after the takeover`);
  for (const d of childAt) assert.ok(d >= 0 && d < childWindow, `IPsec SA rekey ${d} ms after the takeover`);
  assert.ok(new Set(p1At).size >= 35 && new Set(childAt).size >= 35, 'each SA draws its own point');
  assert.ok(Math.max(...p1At) - Math.min(...p1At) > 100_000 && Math.max(...childAt) - Math.min(...childAt) > 100_000, 'spread across the window');
  // a deadline still ahead is kept exactly
  const early = p1Rekey - 5000;
  const ep = new Endpoint({ random: seededRandom('snapshot/overdue/early') });
  ep.setConnection(conn(pair, 'a', over));
  importSa(ep, early, snap);
  assert.equal(ep.rekeyAt(id), p1Rekey);
});

/**
 * Side a with two selector pairs rekeys both at once; the first Quick Mode ends while the second
 * waits (its QM1 never gets through), so a holds the Delete of the first old SA (one Delete after
 * the last Quick Mode, ipsec-sa.ts). Events cleared before the rekeys; `oldB`: b's IPsec SAs then.
 */
function heldDelete(seed: string): { pair: Pair; aOver: { localTs: Selector[]; remoteTs: Selector }; id: string; oldB: string[] } {
  const sub = (n: number) => subnetSelector(`10.1.${n}.0`, 24);
  const remote = subnetSelector('10.2.0.0', 24);
  const aOver = { localTs: [sub(1), sub(2)], remoteTs: remote };
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', aOver));
  pair.b.setConnection(conn(pair, 'b', { localTs: remote, remoteTs: [sub(1), sub(2)] }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const id = pair.a.isakmpSas()[0]!.id;
  const old = pair.a.ipsecSas().map((s) => s.id);
  assert.equal(old.length, 2);
  const oldB = pair.b.ipsecSas().map((s) => s.id);
  pair.clearEvents();
  let qm = 0;
  pair.tap = (from, data) => (from === 'a' && decodeHeader(data).exchangeType === 32 && ++qm > 2 ? null : data);
  for (const s of old) pair.a.rekey(pair.now, s);
  pair.run(500);
  return { pair, aOver, id, oldB };
}

test('the Delete our rekey holds for a replaced IPsec SA travels in the ISAKMP SA record: the importing node sends it, and the peer drops the old SA', () => {
  const { pair, aOver, id, oldB } = heldDelete('snapshot-held-delete');
  const replaced = pair.ev('a', 'rekeyed').map((r) => r.old);
  assert.equal(replaced.length, 1, 'one rekey done');
  assert.equal(pair.ev('a', 'deleted').length, 0, 'its Delete is held');
  assert.ok(pair.b.ipsecSas().length >= 3, 'the peer still holds the old SA');
  const snap = exportSa(pair.a, id)!;
  assert.deepEqual(snap.isakmp.replaced, replaced, 'the held Delete is in the record');
  assert.equal(snap.isakmp.v, SNAPSHOT_VERSION, 'still version 1 (an optional field)');

  // a is gone; a2 takes its SAs over (ISAKMP SA first, then its IPsec SAs, as the daemon does)
  const a2 = new Endpoint({ random: seededRandom('snapshot-held-delete/a2') });
  a2.setConnection(conn(pair, 'a', aOver));
  const carried = viaJson(snap);
  importIsakmpSa(a2, pair.now, carried.isakmp);
  assert.equal(a2.pollTransmit(), undefined, 'nothing before the IPsec SAs are in');
  pair.a = a2;
  pair.tap = undefined;
  const from = pair.wire.length;
  for (const r of carried.ipsec) importIpsecSa(a2, pair.now, r);
  pair.run(100);
  const sent = pair.wire.slice(from).filter((w) => w.from === 'a');
  assert.deepEqual(sent.map((w) => decodeHeader(w.data).exchangeType), [5], 'one Informational: the Delete');
  assert.deepEqual(pair.ev('a', 'deleted').map((d) => [d.id, d.by]), replaced.map((r) => [r, 'local']));
  assert.ok(!a2.ipsecSas().some((s) => replaced.includes(s.id)), 'gone on the new node');
  // the peer removes its side of the replaced SA (its inbound SPI is our outbound)
  const peerGone = pair.ev('b', 'deleted').filter((d) => d.by === 'peer').map((d) => d.id);
  assert.equal(peerGone.length, 1);
  assert.ok(oldB.includes(peerGone[0]!), 'one of the peer\'s old SAs');
  assert.ok(!pair.b.ipsecSas().some((s) => s.id === peerGone[0]));
});

test('a held Delete whose IPsec SA was imported before its ISAKMP SA goes at the ISAKMP SA\'s import; a record without the field holds nothing', () => {
  const { pair, aOver, id } = heldDelete('snapshot-held-order');
  const snap = viaJson(exportSa(pair.a, id)!);
  assert.equal(snap.isakmp.replaced?.length, 1);
  // IPsec SAs first, then the ISAKMP SA: the Delete goes at once
  const a2 = new Endpoint({ random: seededRandom('snapshot-held-order/a2') });
  a2.setConnection(conn(pair, 'a', aOver));
  for (const r of snap.ipsec) importIpsecSa(a2, pair.now, r);
  assert.equal(a2.pollTransmit(), undefined);
  importIsakmpSa(a2, pair.now, snap.isakmp);
  const t = a2.pollTransmit();
  assert.ok(t !== undefined && decodeHeader(t.data).exchangeType === 5, 'the Delete');
  assert.equal(a2.ipsecSas().length, snap.ipsec.length - 1);
  // an older engine's record (no field): nothing held, nothing sent
  const a3 = new Endpoint({ random: seededRandom('snapshot-held-order/a3') });
  a3.setConnection(conn(pair, 'a', aOver));
  const { replaced: _, ...older } = snap.isakmp;
  importSa(a3, pair.now, { isakmp: older as IsakmpSaRecord, ipsec: snap.ipsec });
  assert.equal(a3.pollTransmit(), undefined);
  assert.equal(a3.ipsecSas().length, snap.ipsec.length);
});

test('a held Delete taken over while a Quick Mode of the importer\'s runs on that ISAKMP SA waits for its end, as on the node that held it', () => {
  const { pair, aOver, id } = heldDelete('snapshot-held-busy');
  const snap = viaJson(exportSa(pair.a, id)!);
  const a2 = new Endpoint({ random: seededRandom('snapshot-held-busy/a2') });
  a2.setConnection(conn(pair, 'a', aOver));
  importIsakmpSa(a2, pair.now, snap.isakmp);
  pair.a = a2;
  pair.tap = undefined;
  const from = pair.wire.length;
  // before the IPsec SAs are in, the new node brings the connection's selector pairs up (Quick
  // Modes of its own under the imported ISAKMP SA)
  a2.initiate(pair.now, 'c');
  for (const r of snap.ipsec) importIpsecSa(a2, pair.now, r);
  pair.run(2000);
  const sent = pair.wire.slice(from).filter((w) => w.from === 'a').map((w) => decodeHeader(w.data).exchangeType);
  assert.ok(sent.filter((t) => t === 32).length >= 2, `Quick Modes ran: ${sent.join(',')}`);
  assert.equal(sent.filter((t) => t === 5).length, 1, 'one Delete');
  assert.equal(sent.at(-1), 5, `the Delete after the last Quick Mode: ${sent.join(',')}`);
  assert.deepEqual(pair.ev('a', 'deleted').map((d) => d.id), snap.isakmp.replaced);
});
