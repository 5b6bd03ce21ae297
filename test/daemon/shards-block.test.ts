/**
 * Datagram blocks (src/daemon/shards/datagram-block.ts), the form datagrams cross the thread
 * boundary in: exact bytes, order, addresses and flags after a real structured clone with the
 * buffer transferred; a builder that grows past its first buffer and starts empty again; a block
 * whose lengths run past its bytes is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BlockBuilder, forEachDatagram, KEEPALIVE } from '../../src/daemon/shards/datagram-block.js';
import type { DatagramBlock } from '../../src/daemon/shards/datagram-block.js';

const A = { address: '192.0.2.1', port: 500 };
const B = { address: '2001:db8::7', port: 4500 };
const C = { address: '192.0.2.1', port: 4500 };

test('a block carries every datagram with its bytes, addresses and flags, in order, through a transferring clone', () => {
  const b = new BlockBuilder();
  const sent: { local: typeof A; remote: typeof A; data: Uint8Array; flags: number }[] = [];
  // 300 datagrams of up to 1,500 bytes: the builder grows well past its first 4 KiB
  for (let i = 0; i < 300; i++) {
    const data = new Uint8Array(randomBytes(1 + ((i * 37) % 1500)));
    const [local, remote] = i % 3 === 0 ? [A, B] : i % 3 === 1 ? [C, B] : [A, C];
    const flags = i % 7 === 0 ? KEEPALIVE : 0;
    b.add(local, remote, data, flags);
    sent.push({ local, remote, data: data.slice(), flags });
    data.fill(0); // the caller may reuse its buffer: the builder copied it
  }
  assert.equal(b.count, 300);
  const { block, transfer } = b.take();
  assert.equal(b.count, 0, 'the builder starts empty again');
  assert.deepEqual([...block.addrs].sort(), ['192.0.2.1', '2001:db8::7'], 'each address string once');
  const copy = structuredClone(block, { transfer: [transfer] });
  assert.equal(block.bytes.byteLength, 0, 'the buffer was transferred, not copied');
  const got: typeof sent = [];
  forEachDatagram(copy, (local, remote, data, flags) => got.push({ local: { ...local }, remote: { ...remote }, data: data.slice(), flags }));
  assert.deepEqual(got, sent);

  // the next block holds only what was added after the take
  b.add(B, A, Uint8Array.of(1, 2, 3));
  const next: Uint8Array[] = [];
  forEachDatagram(b.take().block, (local, remote, data, flags) => {
    assert.deepEqual([local, remote, flags], [B, A, 0]);
    next.push(data.slice());
  });
  assert.deepEqual(next, [Uint8Array.of(1, 2, 3)]);
});

test('a block whose lengths run past its bytes is refused', () => {
  const b = new BlockBuilder();
  b.add(A, B, new Uint8Array(10));
  const { block } = b.take();
  const bad: DatagramBlock = { addrs: block.addrs, meta: Uint32Array.from(block.meta, (v, i) => (i === 4 ? 11 : v)), bytes: block.bytes };
  assert.throws(() => forEachDatagram(bad, () => {}), /lengths past its bytes/);
});
