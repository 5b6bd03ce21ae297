// DPD on a gateway with two clients behind one NAT (one public address, two ports), the everyday
// shape of remote access: the clients are two peers. A silent one is probed and found dead even
// while the other keeps talking, and its death deletes its own SAs only: the other client's
// ISAKMP and IPsec SAs (same connection, same address, another port) stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint, type Address, type DpdPolicy } from '../../src/exchange/index.js';
import type { EngineEvent } from '../../src/exchange/types.js';
import { conn, seededRandom, type Pair } from '../helpers/pair.js';
import { inspect } from '../../src/exchange/inspect.js';

const DPD: DpdPolicy = { delaySeconds: 10, timeoutSeconds: 30 };
const GW: Address = { address: '192.0.2.2', port: 500 };
const NAT = '203.0.113.9';

test('two clients behind one NAT: the silent one is found dead while the other talks, and only its SAs go', () => {
  const ports = [500, 501];
  const clients = ports.map((port, i) => {
    const me: Address = { address: NAT, port };
    const ep = new Endpoint({ random: seededRandom(`client${i}`) });
    ep.setConnection(conn({ addrA: me, addrB: GW } as Pair, 'a', { dpd: DPD, localId: { type: 'fqdn', value: `client${i + 1}.example` } }));
    return { me, ep };
  });
  const gw = new Endpoint({ random: seededRandom('gw') });
  gw.setConnection(conn({ addrA: { address: NAT, port: 500 }, addrB: GW } as Pair, 'b', { remote: { address: '%any', port: 500 }, remoteId: { type: 'any' }, dpd: DPD }));
  const gwEvents: EngineEvent[] = [];
  let silent = false; // client 2 (port 501) gone: nothing to or from it
  const deliver = (now: number): void => {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [i, c] of clients.entries()) {
        for (let t = c.ep.pollTransmit(); t; t = c.ep.pollTransmit()) {
          moved = true;
          if (!(silent && i === 1)) gw.handleDatagram(now, t.remote, c.me, t.data);
        }
      }
      for (let t = gw.pollTransmit(); t; t = gw.pollTransmit()) {
        moved = true;
        const i = ports.indexOf(t.remote.port);
        if (i >= 0 && !(silent && i === 1)) clients[i]!.ep.handleDatagram(now, t.remote, GW, t.data);
      }
    }
    for (let e = gw.pollEvent(); e; e = gw.pollEvent()) gwEvents.push(e);
    for (const c of clients) for (let e = c.ep.pollEvent(); e; e = c.ep.pollEvent()) { /* drained */ }
  };
  const runUntil = (from: number, to: number): void => {
    for (let now = from; now <= to; now += 100) {
      for (const ep of [gw, ...clients.map((c) => c.ep)]) {
        const due = ep.pollTimeout();
        if (due !== undefined && due <= now) ep.handleTimeout(now);
      }
      deliver(now);
    }
  };
  for (const c of clients) c.ep.initiate(1, 'c');
  deliver(1);
  runUntil(100, 2000);
  assert.equal(gw.isakmpSas().filter((s) => s.state === 'established').length, 2, 'both clients up');
  assert.equal(gw.ipsecSas().length, 2);
  const ofClient = (port: number) => gw.ipsecSas().filter((s) => s.remote.port === port);
  assert.equal(ofClient(501).length, 1);
  // client 2 goes silent; client 1 stays (it answers the gateway's probes, and probes itself)
  silent = true;
  runUntil(2100, 60_000);
  const dead = gwEvents.filter((e) => e.type === 'peer-dead');
  assert.equal(dead.length, 1, `one peer found dead: ${JSON.stringify(dead)}`);
  assert.deepEqual(dead[0]!.type === 'peer-dead' ? dead[0]!.peer : undefined, { address: NAT, port: 501 });
  assert.equal(ofClient(501).length, 0, 'the dead client\'s IPsec SA is gone');
  assert.equal(ofClient(500).length, 1, 'the live client\'s IPsec SA stays');
  assert.deepEqual(gw.isakmpSas().filter((s) => s.state === 'established').map((s) => s.remote), [{ address: NAT, port: 500 }]);
});

test('many clients behind one NAT address: DPD reads only the SAs of the client\'s own address and port; the silent client is found dead, the others stay', () => {
  const N = 120;
  const ike = [{ encryption: 7, keyLength: 128, hash: 4, group: 19 }];
  const clients = Array.from({ length: N }, (_, i) => {
    const me: Address = { address: `10.0.${i >> 8}.${(i & 0xff) + 1}`, port: 500 };
    const ep = new Endpoint({ random: seededRandom(`nat-client${i}`) });
    ep.setConnection(conn({ addrA: me, addrB: GW } as Pair, 'a', { ike, dpd: DPD, localId: { type: 'fqdn', value: `client${i}.example` } }));
    return { me, ep };
  });
  // a remote-access gateway: the half-open cap per address is the NAT's (many clients start at once)
  const gw = new Endpoint({ random: seededRandom('nat-gw'), halfOpenPerPeer: N });
  gw.setConnection(conn({ addrA: { address: NAT, port: 500 }, addrB: GW } as Pair, 'b', { ike, remote: { address: '%any', port: 500 }, remoteId: { type: 'any' }, remoteTs: { family: 4, start: '10.0.0.0', end: '10.0.255.255', protocol: 0, port: 0 }, dpd: DPD }));
  // the NAT: (client, its source port) <-> a port of the public address, given out on first use
  const mapping = new Map<string, number>();
  const inside = new Map<number, { i: number; port: number }>();
  let nextPort = 10_000;
  const outside = (i: number, srcPort: number): number => {
    let p = mapping.get(`${i}:${srcPort}`);
    if (p === undefined) {
      p = nextPort++;
      mapping.set(`${i}:${srcPort}`, p);
      inside.set(p, { i, port: srcPort });
    }
    return p;
  };
  const dead: EngineEvent[] = [];
  const silent = 7; // this client is gone: nothing to or from it
  let gone = false;
  const deliver = (now: number): void => {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [i, c] of clients.entries()) {
        for (let t = c.ep.pollTransmit(); t; t = c.ep.pollTransmit()) {
          moved = true;
          if (!(gone && i === silent)) gw.handleDatagram(now, t.remote, { address: NAT, port: outside(i, t.local.port) }, t.data);
        }
      }
      for (let t = gw.pollTransmit(); t; t = gw.pollTransmit()) {
        moved = true;
        const to = inside.get(t.remote.port);
        if (to !== undefined && !(gone && to.i === silent)) clients[to.i]!.ep.handleDatagram(now, { address: clients[to.i]!.me.address, port: to.port }, t.local, t.data);
      }
    }
    for (let e = gw.pollEvent(); e; e = gw.pollEvent()) if (e.type === 'peer-dead') dead.push(e);
    for (const c of clients) for (let e = c.ep.pollEvent(); e; e = c.ep.pollEvent()) { /* drained */ }
  };
  const runUntil = (from: number, to: number): void => {
    for (let now = from; now <= to; now += 250) {
      for (const ep of [gw, ...clients.map((c) => c.ep)]) {
        const due = ep.pollTimeout();
        if (due !== undefined && due <= now) ep.handleTimeout(now);
      }
      deliver(now);
    }
  };
  for (const c of clients) c.ep.initiate(1, 'c');
  deliver(1);
  runUntil(250, 2000);
  const up = gw.isakmpSas().filter((s) => s.state === 'established');
  assert.equal(up.length, N, 'every client up');
  assert.equal(gw.ipsecSas().length, N);
  assert.equal(new Set(up.map((s) => s.remote.address)).size, 1, 'all behind one address');
  const saOf = (i: number) => up.find((s) => s.remote.port === mapping.get(`${i}:4500`))!;
  // the cost of one DPD look: the client's own SA, not the N that share the NAT address
  assert.deepEqual(inspect(gw).dpdReads(saOf(silent).id), { peerPort: 1, pair: N });
  // the NAT gives client 3 a new port: its SA moves there (NAT-T), and so does its index entry
  const moving = saOf(3);
  const oldPort = mapping.get('3:4500')!;
  mapping.delete('3:4500');
  inside.delete(oldPort);
  // (the client's R-U-THERE from there makes it a candidate; the ACK to the gateway's probe proves it)
  clients[3]!.ep.dpd(2100, clients[3]!.ep.isakmpSas()[0]!.id);
  deliver(2100);
  gw.dpd(2100, moving.id);
  deliver(2100);
  const newPort = mapping.get('3:4500')!;
  assert.deepEqual(gw.isakmpSas().find((s) => s.id === moving.id)!.remote, { address: NAT, port: newPort });
  assert.deepEqual(inspect(gw).dpdReads(moving.id), { peerPort: 1, pair: N });
  gone = true;
  runUntil(2250, 60_000);
  assert.deepEqual(dead.map((e) => (e.type === 'peer-dead' ? e.peer : undefined)), [{ address: NAT, port: mapping.get(`${silent}:4500`) }], 'the silent client only');
  assert.equal(gw.ipsecSas().length, N - 1);
  assert.equal(gw.isakmpSas().filter((s) => s.state === 'established').length, N - 1);
  assert.ok(gw.isakmpSas().some((s) => s.id === moving.id), 'the moved client stays');
});
