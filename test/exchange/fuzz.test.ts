// Mutated and random datagrams against endpoints in every state: handleDatagram never throws and
// never hits an internal error (a bug the catch-all would hide),
// every failure is one `dropped` event, nothing is established from garbage, state stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pair, conn } from '../helpers/pair.js';

function recorded(): { pair: Pair; msgs: Uint8Array[] } {
  const pair = new Pair({ seed: 'fuzz-src' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  pair.a.delete(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.a.dpd(pair.now, pair.a.isakmpSas()[0]!.id);
  pair.run(100);
  return { pair, msgs: pair.sentBy('a').map((w) => w.data) };
}

test('mutated handshake messages (bit flips, truncation, extension, splices) never escape handleDatagram', () => {
  const { msgs } = recorded();
  // targets: a fresh responder, and an endpoint with an established ISAKMP SA
  const fresh = new Pair({ seed: 'fuzz-fresh' });
  fresh.b.setConnection(conn(fresh, 'b'));
  const live = recorded().pair;
  live.clearEvents();
  const mutation = fc.record({
    which: fc.nat(msgs.length - 1),
    flips: fc.array(fc.tuple(fc.nat(4096), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(600)),
    extra: fc.option(fc.uint8Array({ maxLength: 64 })),
    fixLength: fc.boolean(),
  });
  fc.assert(
    fc.property(mutation, (m) => {
      let d = Uint8Array.from(msgs[m.which]!);
      for (const [at, x] of m.flips) if (d.length) d[at % d.length]! ^= x;
      if (m.cut !== null) d = d.subarray(0, Math.min(d.length, m.cut));
      if (m.extra !== null) d = Uint8Array.from([...d, ...m.extra]);
      if (m.fixLength && d.length >= 28) {
        d[24] = d.length >>> 24; d[25] = (d.length >>> 16) & 0xff; d[26] = (d.length >>> 8) & 0xff; d[27] = d.length & 0xff;
      }
      for (const target of [fresh, live]) {
        const before = target.events.b.length;
        assert.doesNotThrow(() => target.inject('b', d));
        const evs = target.events.b.slice(before);
        for (const e of evs) {
          assert.ok(['dropped', 'notify', 'deleted', 'failed', 'started'].includes(e.type), e.type);
          // every refusal is a protocol decision, never a bug caught by the catch-all
          if (e.type === 'dropped') assert.notEqual(e.code, 'INTERNAL_ERROR', e.reason);
        }
        assert.ok(target.sentBy('b').length <= 100_000);
      }
    }),
    { numRuns: 1500, seed: 4242 },
  );
  assert.ok(fresh.ev('b', 'dropped').length > 1000, 'the mutations were processed and refused');
  assert.equal(fresh.b.ipsecSas().length, 0);
  assert.ok(fresh.b.stats().halfOpen <= 32);
  assert.equal(fresh.ev('b', 'phase1-established').length, 0);
  assert.equal(live.ev('b', 'ipsec-sa-established').length, 0);
});

test('random datagrams (any length, any header) never escape handleDatagram', () => {
  const pair = new Pair({ seed: 'fuzz-rand' });
  pair.b.setConnection(conn(pair, 'b'));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), fc.integer({ min: 0, max: 255 }), (d, exch) => {
      if (d.length >= 28) {
        d[17] = 0x10;
        d[18] = exch;
        d[19] = d[19]! & 7;
        d[24] = 0; d[25] = 0; d[26] = d.length >> 8; d[27] = d.length & 0xff;
      }
      const before = pair.events.b.length;
      assert.doesNotThrow(() => pair.inject('b', d));
      for (const e of pair.events.b.slice(before)) if (e.type === 'dropped') assert.notEqual(e.code, 'INTERNAL_ERROR', e.reason);
    }),
    { numRuns: 3000, seed: 77 },
  );
  assert.equal(pair.b.isakmpSas().filter((s) => s.state === 'established').length, 0);
});
