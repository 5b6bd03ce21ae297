/**
 * The shards' steering program (src/daemon/shards/socket-group.ts) run by the kernel: two sockets
 * in one SO_REUSEPORT group on 127.0.0.1, datagrams with chosen cookies sent to it, and the socket
 * each one reached. Needs the native binding (npm ci builds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { loadNativeSockets } from '../../src/daemon/dataplane/native.js';
import { closeSocketGroups, openSocketGroups, steeringProgram } from '../../src/daemon/shards/socket-group.js';

const sys = loadNativeSockets();
const skip = sys instanceof Error ? `the native binding is not available: ${sys.message}` : false;

function header(ic: number[], rc: number[]): Uint8Array {
  const h = new Uint8Array(28);
  h.set(ic, 0);
  h.set(rc, 8);
  h[16] = 1; // next payload SA, version 1.0, Main Mode: shape only, the kernel reads the cookies
  h[17] = 0x10;
  h[18] = 2;
  return h;
}

/** Wraps the group's descriptors as sockets (into `sockets`), each calling `f` with its index; binds the sender. */
async function wrap(fds: readonly number[], sockets: Socket[], sender: Socket, f: (k: number, m: Buffer) => void): Promise<void> {
  for (const [k, fd] of fds.entries()) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind({ fd }, () => r()));
    s.on('message', (m) => f(k, m));
    sockets.push(s);
  }
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
}

test('steering program: 8 bytes per instruction, the NAT-T one three longer', () => {
  assert.equal(steeringProgram(false).length, 7 * 8);
  assert.equal(steeringProgram(true).length, 10 * 8);
});

test('the kernel steers by the shard byte of the responder cookie, first messages by its hash', { skip }, async () => {
  if (sys instanceof Error) return;
  const groups = openSocketGroups(sys, [{ address: '127.0.0.1', family: 4 }], 0, 0, 2);
  assert.equal(groups.length, 1);
  const g = groups[0]!;
  assert.ok(g.port > 0);
  const got: string[][] = [[], []];
  const sockets: Socket[] = [];
  const sender = createSocket('udp4');
  try {
    await wrap(g.fds, sockets, sender, (k, m) => got[k]!.push(Buffer.from(m.subarray(0, 16)).toString('hex')));
    const cases: [ic: number[], rc: number[], expect: number | 'any'][] = [
      [[9, 1, 2, 3, 4, 5, 6, 7], [0, 1, 1, 1, 1, 1, 1, 1], 0],
      [[9, 1, 2, 3, 4, 5, 6, 8], [1, 2, 2, 2, 2, 2, 2, 2], 1],
      [[9, 1, 2, 3, 4, 5, 6, 9], [1, 0, 0, 0, 0, 0, 0, 0], 1],
      [[9, 1, 2, 3, 4, 5, 6, 10], [0, 0, 0, 0, 0, 0, 0, 5], 0],
      [[9, 1, 2, 3, 4, 5, 6, 11], [7, 3, 3, 3, 3, 3, 3, 3], 'any'], // no such shard: the kernel's hash
      [[9, 1, 2, 3, 4, 5, 6, 12], [0, 0, 0, 0, 0, 0, 0, 0], 'any'], // a first message
    ];
    for (const [ic, rc] of cases) sender.send(header(ic, rc), g.port, '127.0.0.1');
    const end = Date.now() + 5000;
    while (got[0]!.length + got[1]!.length < cases.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got[0]!.length + got[1]!.length, cases.length, 'every datagram arrived');
    for (const [ic, rc, expect] of cases) {
      const id = Buffer.from([...ic, ...rc]).toString('hex');
      const where = got[0]!.includes(id) ? 0 : got[1]!.includes(id) ? 1 : -1;
      assert.notEqual(where, -1, `${id} arrived`);
      if (expect !== 'any') assert.equal(where, expect, `${id}: responder cookie byte 8 = ${rc[0]} → socket ${expect}`);
    }
  } finally {
    sender.close();
    for (const s of sockets) s.close(); // each closes its descriptor
    closeSocketGroups(sys, [{ ...groups[0]!, fds: groups[0]!.fds.slice(sockets.length) }]);
  }
});

test('NAT-T port: after the non-ESP marker; ESP and keepalives reach a socket of the group', { skip }, async () => {
  if (sys instanceof Error) return;
  const groups = openSocketGroups(sys, [{ address: '127.0.0.1', family: 4 }], 0, 0, 2);
  // the IKE group serves as the port: attach the NAT-T program to it instead
  const g = groups[0]!;
  assert.equal(sys.attachReuseportCbpf(g.fds[0]!, steeringProgram(true)), 0);
  const got: string[][] = [[], []];
  const sockets: Socket[] = [];
  const sender = createSocket('udp4');
  try {
    await wrap(g.fds, sockets, sender, (k, m) => got[k]!.push(Buffer.from(m).toString('hex')));
    const marked = (rc0: number): Buffer => Buffer.concat([Buffer.alloc(4), header([1, 2, 3, 4, 5, 6, 7, rc0], [rc0, 1, 1, 1, 1, 1, 1, 1])]);
    sender.send(marked(1), g.port, '127.0.0.1');
    sender.send(marked(0), g.port, '127.0.0.1');
    sender.send(Buffer.from('0000100100000001aabbccdd', 'hex'), g.port, '127.0.0.1'); // ESP: SPI 0x1001
    sender.send(Buffer.of(0xff), g.port, '127.0.0.1'); // keepalive
    const end = Date.now() + 5000;
    while (got[0]!.length + got[1]!.length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got[0]!.length + got[1]!.length, 4, 'every datagram arrived');
    assert.ok(got[1]!.includes(marked(1).toString('hex')), 'shard byte 1 after the marker: socket 1');
    assert.ok(got[0]!.includes(marked(0).toString('hex')), 'shard byte 0 after the marker: socket 0');
    assert.ok(got[0]!.includes('ff'), 'a keepalive (shorter than the program reads): socket 0');
  } finally {
    sender.close();
    for (const s of sockets) s.close(); // each closes its descriptor
    closeSocketGroups(sys, [{ ...groups[0]!, fds: groups[0]!.fds.slice(sockets.length) }]);
  }
});
