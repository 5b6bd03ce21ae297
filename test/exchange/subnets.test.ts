// Issue 10: several subnets per connection (one IPsec SA per local × remote pair, all under one
// ISAKMP SA), several connections to one peer sharing its ISAKMP SA (both roles; the responder
// picks the connection whose pair contains the proposed selectors), `initiate()` idempotent, and
// the `started` events: every negotiation started ends as established or failed, rekeys included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subnetSelector, type Connection, type EngineEvent, type Selector } from '../../src/exchange/index.js';
import { Pair, conn } from '../helpers/pair.js';
import { decodeHeader } from '../../src/codec/index.js';

const net = (s: string): Selector => {
  const [a, p] = s.split('/');
  return subnetSelector(a!, Number(p));
};
const text = (s: Selector): string => `${s.start}/${s.prefix}`;
const pairsOf = (sas: ReturnType<Pair['a']['ipsecSas']>): string[] => sas.map((s) => `${text(s.localTs)}=${text(s.remoteTs)}`).sort();

test('lists of local and remote subnets: one IPsec SA per pair under one ISAKMP SA; initiate() again starts nothing', () => {
  const pair = new Pair({ seed: 'subnets' });
  const left = [net('10.1.0.0/24'), net('10.1.1.0/24')];
  const right = [net('10.2.0.0/24'), net('10.2.1.0/24'), net('10.2.2.0/24')];
  pair.a.setConnection(conn(pair, 'a', { localTs: left, remoteTs: right }));
  pair.b.setConnection(conn(pair, 'b', { localTs: right, remoteTs: left }));
  assert.deepEqual(pair.a.initiate(pair.now, 'c'), { started: 6, negotiating: 0, established: 0 });
  // asked again while the phase 1 runs: the pairs are already being negotiated
  assert.deepEqual(pair.a.initiate(pair.now, 'c'), { started: 0, negotiating: 6, established: 0 });
  pair.run(3000);
  assert.equal(pair.a.isakmpSas().length, 1);
  assert.equal(pair.b.isakmpSas().length, 1);
  const expected = left.flatMap((l) => right.map((r) => `${text(l)}=${text(r)}`)).sort();
  assert.deepEqual(pairsOf(pair.a.ipsecSas()), expected);
  assert.deepEqual(pairsOf(pair.b.ipsecSas()).map((p) => p.split('=').reverse().join('=')).sort(), expected);
  assert.ok(pair.a.ipsecSas().every((s) => s.isakmpSa === pair.a.isakmpSas()[0]!.id));
  // never more than one of our Quick Modes in flight (a peer keeps the IVs of a few exchanges only)
  let open = 0;
  let most = 0;
  for (const w of pair.wire) {
    const h = decodeHeader(w.data);
    if (h.exchangeType !== 32) continue;
    if (w.from === 'a' && h.flags & 1 && w.data.length > 100) open++; // QM1 (HASH SA NONCE ID ID)
    if (w.from === 'b') open--; // QM2
    most = Math.max(most, open);
  }
  assert.equal(most, 1);
  // up: nothing new, not a datagram
  const sent = pair.wire.length;
  assert.deepEqual(pair.a.initiate(pair.now, 'c'), { started: 0, negotiating: 0, established: 6 });
  pair.run(1000);
  assert.equal(pair.wire.length, sent);
  assert.equal(pair.a.ipsecSas().length, 6);
  // one SA gone: initiate() brings back that pair only
  pair.a.delete(pair.now, pair.a.ipsecSas()[2]!.id);
  pair.run(100);
  assert.deepEqual(pair.a.initiate(pair.now, 'c'), { started: 1, negotiating: 0, established: 5 });
  pair.run(1000);
  assert.deepEqual(pairsOf(pair.a.ipsecSas()), expected);
  // a different IP version never pairs with another
  const mixed = new Pair({ seed: 'subnets-mixed' });
  mixed.a.setConnection(conn(mixed, 'a', { localTs: [net('10.1.0.0/24'), subnetSelector('2001:db8:1::', 48)], remoteTs: [net('10.2.0.0/24'), subnetSelector('2001:db8:2::', 48)] }));
  assert.equal(mixed.a.initiate(mixed.now, 'c').started, 2);
});

test('the responder picks the pair that contains the proposed selectors; outside every pair: SELECTORS_REFUSED naming what it allows', () => {
  const pair = new Pair({ seed: 'subnets-pick' });
  pair.b.setConnection(conn(pair, 'b', { localTs: [net('10.2.0.0/16'), net('10.4.0.0/16')], remoteTs: [net('10.1.0.0/16'), net('10.3.0.0/16')] }));
  // a's connection asks for one narrow pair inside b's second local and first remote subnet
  pair.a.setConnection(conn(pair, 'a', { localTs: net('10.1.7.0/24'), remoteTs: net('10.4.9.0/24') }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.deepEqual(pairsOf(pair.b.ipsecSas()), ['10.4.9.0/24=10.1.7.0/24']);
  // a pair b does not have
  pair.a.setConnection(conn(pair, 'a', { name: 'wrong', localTs: net('10.9.0.0/24'), remoteTs: net('10.2.0.0/24') }));
  pair.clearEvents();
  pair.a.initiate(pair.now, 'wrong');
  pair.run(2000);
  const refused = pair.ev('b', 'dropped').find((d) => d.cause === 'SELECTORS_REFUSED');
  assert.ok(refused, JSON.stringify(pair.events.b));
  assert.equal(refused.notify, 18);
  assert.equal(refused.reason, 'traffic selectors refused: peer proposed 10.9.0.0/24 === 10.2.0.0/24, connection c allows 10.2.0.0/16 === 10.1.0.0/16, 10.2.0.0/16 === 10.3.0.0/16, 10.4.0.0/16 === 10.1.0.0/16, 10.4.0.0/16 === 10.3.0.0/16 (check local_ts / remote_ts on both sides)');
  // the initiator learns it from b's authenticated notify
  const failed = pair.ev('a', 'failed').find((f) => f.kind === 'ipsec' && f.connection === 'wrong');
  assert.ok(failed);
  assert.equal(failed.notify, 18);
});

test('several connections to one peer share its ISAKMP SA, in both roles; each IPsec SA under the connection whose selectors it has', () => {
  const pair = new Pair({ seed: 'shared-p1' });
  const web = { localTs: net('10.1.0.0/24'), remoteTs: net('10.2.0.0/24') };
  const db = { localTs: net('10.1.5.0/24'), remoteTs: net('10.2.5.0/24') };
  const mirror = (s: { localTs: Selector; remoteTs: Selector }) => ({ localTs: s.remoteTs, remoteTs: s.localTs });
  for (const [name, ts] of [['web', web], ['db', db]] as const) {
    pair.a.setConnection(conn(pair, 'a', { name, ...ts }));
    pair.b.setConnection(conn(pair, 'b', { name, ...mirror(ts) }));
  }
  pair.a.initiate(pair.now, 'web');
  pair.run(2000);
  // b starts db itself, under the ISAKMP SA a negotiated for web
  pair.b.initiate(pair.now, 'db');
  pair.run(2000);
  for (const side of ['a', 'b'] as const) {
    assert.equal(pair.ep(side).isakmpSas().length, 1, `${side}: one ISAKMP SA`);
    const byConn = Object.fromEntries(pair.ep(side).ipsecSas().map((s) => [s.connection, `${text(s.localTs)}=${text(s.remoteTs)}`]));
    const want = side === 'a' ? { web: '10.1.0.0/24=10.2.0.0/24', db: '10.1.5.0/24=10.2.5.0/24' } : { web: '10.2.0.0/24=10.1.0.0/24', db: '10.2.5.0/24=10.1.5.0/24' };
    assert.deepEqual(byConn, want, side);
  }
  assert.equal(pair.ev('b', 'ipsec-sa-established').find((e) => e.sa.connection === 'db')!.sa.role, 'initiator');
  // both up: nothing more from either side
  assert.equal(pair.a.initiate(pair.now, 'db').established, 1);
  assert.equal(pair.b.initiate(pair.now, 'web').established, 1);
});

/** Started negotiations by kind, and how they ended. */
function balance(events: readonly EngineEvent[]): Record<'isakmp' | 'ipsec', { started: number; done: number; failed: number; rekeys: number }> {
  const out = { isakmp: { started: 0, done: 0, failed: 0, rekeys: 0 }, ipsec: { started: 0, done: 0, failed: 0, rekeys: 0 } };
  for (const e of events) {
    if (e.type === 'started') {
      out[e.kind].started++;
      if (e.rekey) out[e.kind].rekeys++;
    } else if (e.type === 'phase1-established') out.isakmp.done++;
    else if (e.type === 'ipsec-sa-established') out.ipsec.done++;
    else if (e.type === 'failed') out[e.kind].failed++;
  }
  return out;
}

test('started events: every negotiation, ours or the peer\'s, rekeys too, ends established or failed; the counts add up on both sides', () => {
  const pair = new Pair({ seed: 'started' });
  const life = { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: 1200 }], ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, lifetimeSeconds: 900 }], rekeyMarginSeconds: 60 } satisfies Partial<Connection>;
  pair.a.setConnection(conn(pair, 'a', life));
  pair.b.setConnection(conn(pair, 'b', life));
  pair.a.initiate(pair.now, 'c');
  pair.run(1_300_000); // both rekeyed at least once
  // a refused Quick Mode (b has no such selectors), and a phase 1 b has no connection for
  pair.a.setConnection(conn(pair, 'a', { ...life, name: 'refused', localTs: net('10.9.0.0/24'), remoteTs: net('10.8.0.0/24') }));
  pair.a.initiate(pair.now, 'refused');
  pair.a.setConnection(conn(pair, 'a', { ...life, name: 'unknown', remote: { address: '192.0.2.99', port: 500 }, keyingTries: 1 }));
  pair.a.initiate(pair.now, 'unknown');
  pair.run(120_000);
  // and a peer that never answers at all
  const silent = new Pair({ seed: 'started-silent', b: { sendErrorNotifies: false } });
  silent.a.setConnection(conn(silent, 'a', { keyingTries: 2 }));
  silent.a.initiate(silent.now, 'c');
  silent.run(300_000);
  const a = balance(pair.events.a);
  const b = balance(pair.events.b);
  assert.ok(a.isakmp.rekeys >= 1 && a.ipsec.rekeys >= 1, JSON.stringify(a));
  for (const [side, c] of [['a', a], ['b', b], ['silent', balance(silent.events.a)]] as const) {
    for (const kind of ['isakmp', 'ipsec'] as const) {
      assert.equal(c[kind].started, c[kind].done + c[kind].failed, `${side} ${kind}: ${JSON.stringify(c[kind])}`);
    }
  }
  assert.ok(a.isakmp.failed >= 1 && a.ipsec.failed >= 2, JSON.stringify(a));
  // b had no connection for 192.0.2.99: its NO_PROPOSAL_CHOSEN in clear was not acted upon, but names the failure
  const unknown = pair.ev('a', 'failed').find((e) => e.connection === 'unknown' && e.kind === 'isakmp');
  assert.equal(unknown?.cause, 'PEER_REFUSED');
  assert.match(unknown?.reason ?? '', /retransmit limit reached, peer does not answer; the peer refused the phase 1: NO_PROPOSAL_CHOSEN \(unauthenticated notify\)/);
  const noAnswer = silent.ev('a', 'failed').filter((e) => e.cause === 'NO_ANSWER');
  assert.deepEqual(noAnswer.map((e) => e.kind), ['isakmp', 'ipsec']);
  assert.equal(silent.ev('a', 'started').length, 2, 'the keying retry is the same negotiation');
});
