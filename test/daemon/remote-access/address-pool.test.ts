import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../../src/errors.js';
import { createAddressPool } from '../../../src/daemon/remote-access/address-pool.js';

test('a /29 subnet leaves out the network and broadcast addresses; a range is inclusive', () => {
  const p = createAddressPool('rw', ['10.10.0.0/29']);
  assert.equal(p.name, 'rw');
  assert.equal(p.size, 6);
  const got = Array.from({ length: 6 }, (_, i) => p.lease(`id${i}`, 'u', 1000));
  assert.deepEqual(got, ['10.10.0.1', '10.10.0.2', '10.10.0.3', '10.10.0.4', '10.10.0.5', '10.10.0.6']);
  assert.equal(p.lease('id6', 'u', 1000), undefined, 'exhausted');

  const r = createAddressPool('r', ['10.20.0.254-10.20.1.1', '10.30.0.0/31', '10.40.0.7/32']);
  assert.equal(r.size, 4 + 2 + 1);
  const all = Array.from({ length: 7 }, (_, i) => r.lease(`id${i}`, undefined, 0));
  assert.deepEqual(all, ['10.20.0.254', '10.20.0.255', '10.20.1.0', '10.20.1.1', '10.30.0.0', '10.30.0.1', '10.40.0.7']);
  assert.equal(r.lease('one-more', undefined, 0), undefined);
});

test('the same identity+user gets the same address while leased; holders are counted', () => {
  const p = createAddressPool('rw', ['192.0.2.10-192.0.2.12']);
  const a = p.lease('group', 'alice', 1);
  const b = p.lease('group', 'bob', 2);
  assert.equal(a, '192.0.2.10');
  assert.equal(b, '192.0.2.11');
  // a phase-1 rekey: alice again before her old SA is deleted
  assert.equal(p.lease('group', 'alice', 3), a);
  assert.deepEqual(p.leases(), [
    { address: '192.0.2.10', identity: 'group', user: 'alice', since: 1 },
    { address: '192.0.2.11', identity: 'group', user: 'bob', since: 2 },
  ]);
  p.release(a!, 4); // the old SA goes: alice still holds it
  assert.equal(p.leases().length, 2);
  assert.equal(p.lease('group', 'carol', 5), '192.0.2.12');
  assert.equal(p.lease('group', 'dave', 5), undefined, 'exhausted while alice still holds her address');
  p.release(a!, 6);
  assert.deepEqual(p.leases().map((l) => l.user), ['bob', 'carol']);
  // the same user on another identity is another lease
  assert.equal(p.lease('other-group', 'bob', 7), '192.0.2.10');
});

test('release and reuse: never-used addresses first, then the longest-released; the last holder gets its address back', () => {
  const p = createAddressPool('rw', ['10.0.0.1-10.0.0.3']);
  const a = p.lease('i', 'a', 0)!;
  const b = p.lease('i', 'b', 0)!;
  p.release(a, 10);
  // a never-used address before a's
  assert.equal(p.lease('i', 'c', 11), '10.0.0.3');
  p.release(b, 12);
  // a is back: its own address, though b's was released later
  assert.equal(p.lease('i', 'a', 13), a);
  // the pool is now a, c and one released (b's): d gets b's
  assert.equal(p.lease('i', 'd', 14), b);
  assert.equal(p.lease('i', 'e', 15), undefined);
  // releasing an address the pool never leased, or twice, changes nothing
  p.release('10.0.0.9', 16);
  p.release('not an address', 16);
  assert.equal(p.leases().length, 3);
  // when the previous holder's address was taken by someone else, the next free one
  p.release(a, 17);
  p.release(b, 18);
  assert.equal(p.lease('i', 'f', 19), a, 'longest released');
  assert.equal(p.lease('i', 'a', 20), b);
});

test('the address the client asks for is granted when free and in the pool, else ignored', () => {
  const p = createAddressPool('rw', ['10.0.0.0/24']);
  assert.equal(p.lease('i', 'a', 0, '10.0.0.77'), '10.0.0.77');
  assert.equal(p.lease('i', 'b', 0, '10.0.0.77'), '10.0.0.1', 'taken: the next free one');
  assert.equal(p.lease('i', 'c', 0, '10.0.1.5'), '10.0.0.2', 'outside the pool');
  assert.equal(p.lease('i', 'd', 0, '10.0.0.255'), '10.0.0.3', 'the broadcast address is not in the pool');
});

test('snapshot and adopt carry the leases across a reload', () => {
  const old = createAddressPool('rw', ['10.0.0.0/29']);
  const a = old.lease('g', 'alice', 100)!;
  const b = old.lease('g', 'bob', 200)!;
  old.lease('g', 'alice', 300); // two holders
  const c = old.lease('g', 'carol', 400)!;
  old.release(c, 500);
  const snap = JSON.parse(JSON.stringify(old.snapshot())) as unknown; // it is JSON-ready

  // the same ranges
  const same = createAddressPool('rw', ['10.0.0.0/29']);
  same.adopt(snap);
  assert.deepEqual(same.leases(), old.leases());
  assert.equal(same.lease('g', 'alice', 600), a, 'alice keeps her address');
  assert.equal(same.lease('g', 'dave', 600), '10.0.0.4', 'never-used first, after where the old pool stopped');
  assert.equal(same.lease('g', 'carol', 600), c, 'carol gets her released address back');
  same.release(a, 700);
  same.release(a, 700);
  assert.equal(same.leases().find((l) => l.user === 'alice')?.address, a, 'alice had three holders: two releases leave one');

  // a smaller pool: bob's address is outside it, still listed (his SA uses it), never handed out
  const smaller = createAddressPool('rw', ['10.0.0.1/32', '10.0.0.5-10.0.0.6']);
  smaller.adopt(snap);
  assert.deepEqual(smaller.leases().map((l) => [l.address, l.user]), [[a, 'alice'], [b, 'bob']]);
  assert.equal(smaller.lease('g', 'bob', 800), b, 'while leased, bob keeps it');
  assert.equal(smaller.lease('g', 'x', 800), '10.0.0.5');
  assert.equal(smaller.lease('g', 'y', 800), '10.0.0.6');
  assert.equal(smaller.lease('g', 'z', 800), undefined);
  smaller.release(b, 900);
  smaller.release(b, 900);
  assert.equal(smaller.lease('g', 'z', 901), undefined, "bob's old address is not the new pool's");

  // garbage is ignored
  const p = createAddressPool('rw', ['10.0.0.0/29']);
  p.adopt(undefined);
  p.adopt({ version: 2, leases: [{ address: '10.0.0.1', identity: 'g', since: 0 }] });
  p.adopt({ version: 1, leases: [{ address: 'nope', identity: 'g', since: 0 }, { address: '10.0.0.2' }, null], released: 'x' });
  assert.deepEqual(p.leases(), []);
});

test('IPv6 pools: a /120 leaves out the subnet-router anycast; a /64 is cheap', () => {
  const p = createAddressPool('v6', ['fd00:10::/120']);
  assert.equal(p.size, 255);
  assert.equal(p.lease('i', 'a', 0), 'fd00:10::1');
  assert.equal(p.lease('i', 'b', 0, 'FD00:10:0::0:80'), 'fd00:10::80');
  p.release('fd00:0010::80', 1);
  assert.deepEqual(p.leases().map((l) => l.address), ['fd00:10::1']);
  const big = createAddressPool('v6', ['fd00:20::/64']);
  assert.equal(big.size, 2 ** 64 - 1);
  assert.equal(big.lease('i', 'a', 0), 'fd00:20::1');
});

test('bad specs are refused with the pool and the spec named', () => {
  const bad = (specs: string[], want: RegExp) => assert.throws(() => createAddressPool('rw', specs), (e: unknown) => e instanceof UsageError && want.test(e.message));
  bad([], /pool 'rw': give at least one subnet or range/);
  bad(['10.0.0.1/24'], /'10\.0\.0\.1\/24': host bits are set \(the subnet is 10\.0\.0\.0\/24\)/);
  bad(['10.0.0.0/33'], /prefix length must be 0\.\.32/);
  bad(['10.0.0.9-10.0.0.1'], /the first address is after the last/);
  bad(['10.0.0.1-fd00::1'], /both ends of a range must be IPv4 or both IPv6/);
  bad(['10.0.0.0/24', 'fd00::/120'], /one family per pool/);
  bad(['10.0.0.0/24', '10.0.0.100-10.0.1.5'], /'10\.0\.0\.100-10\.0\.1\.5' overlaps '10\.0\.0\.0\/24'/);
  bad(['010.0.0.1-10.0.0.5'], /a range is two addresses/);
  bad(['pool'], /'pool' is not a subnet \(10\.10\.0\.0\/24\) or a range/);
});

test('property: any sequence of leases, releases and reloads keeps the pool consistent', () => {
  type Op = { kind: 'lease'; who: number; wanted?: number } | { kind: 'release'; who: number } | { kind: 'reload' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('lease' as const), who: fc.integer({ min: 0, max: 11 }), wanted: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }) }),
    fc.record({ kind: fc.constant('release' as const), who: fc.integer({ min: 0, max: 11 }) }),
    fc.constant({ kind: 'reload' as const }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
    const specs = ['10.0.0.0/29', '10.0.1.1-10.0.1.2']; // 6 + 2 addresses
    const inPool = new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.1.1', '10.0.1.2']);
    let pool = createAddressPool('p', specs);
    const held = new Map<number, { address: string; holders: number }>(); // the model
    let now = 0;
    for (const o of ops) {
      now++;
      if (o.kind === 'reload') {
        const next = createAddressPool('p', specs);
        next.adopt(JSON.parse(JSON.stringify(pool.snapshot())));
        pool = next;
      } else if (o.kind === 'lease') {
        const a = pool.lease(`id${o.who % 3}`, `u${o.who}`, now, o.wanted !== undefined ? `10.0.0.${o.wanted}` : undefined);
        const h = held.get(o.who);
        if (h !== undefined) {
          assert.equal(a, h.address, 'the same identity+user keeps its address');
          h.holders++;
        } else if (held.size >= inPool.size) {
          assert.equal(a, undefined, 'a full pool says so');
        } else {
          assert.ok(a !== undefined, 'a pool with room leases');
          held.set(o.who, { address: a, holders: 1 });
        }
      } else {
        const h = held.get(o.who);
        if (h !== undefined) {
          pool.release(h.address, now);
          if (--h.holders === 0) held.delete(o.who);
        }
      }
      const leases = pool.leases();
      assert.equal(leases.length, held.size);
      assert.equal(new Set(leases.map((l) => l.address)).size, leases.length, 'no address leased twice');
      for (const l of leases) assert.ok(inPool.has(l.address), `${l.address} is in the pool`);
      for (const [who, h] of held) assert.equal(leases.find((l) => l.user === `u${who}`)?.address, h.address);
    }
  }), { numRuns: 300 });
});
