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

type Transmit = NonNullable<ReturnType<Endpoint['pollTransmit']>>;

/** Where the datagrams of a gateway and its clients go: each delivers or drops one; the gateway's events. */
interface Routes {
  up(now: number, client: number, t: Transmit): void;
  down(now: number, t: Transmit): void;
  gwEvent(e: EngineEvent): void;
}

/**
 * The link between the clients and the gateway: at `now`, moves datagrams until none is left,
 * then drains the events.
 */
function link(clients: readonly Endpoint[], gw: Endpoint, routes: Routes): (now: number) => void {
  return (now) => {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [i, ep] of clients.entries()) {
        for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
          moved = true;
          routes.up(now, i, t);
        }
      }
      for (let t = gw.pollTransmit(); t; t = gw.pollTransmit()) {
        moved = true;
        routes.down(now, t);
      }
    }
    for (let e = gw.pollEvent(); e; e = gw.pollEvent()) routes.gwEvent(e);
    for (const ep of clients) for (let e = ep.pollEvent(); e; e = ep.pollEvent()) { /* drained */ }
  };
}

/** Every `step` ms of the virtual clock from `from` to `to`: the due timers of every endpoint fire, then `deliver`. */
function runUntil(eps: readonly Endpoint[], deliver: (now: number) => void, from: number, to: number, step: number): void {
  for (let now = from; now <= to; now += step) {
    for (const ep of eps) {
      const due = ep.pollTimeout();
      if (due !== undefined && due <= now) ep.handleTimeout(now);
    }
    deliver(now);
  }
}

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
  const eps = clients.map((c) => c.ep);
  const deliver = link(eps, gw, {
    up(now, i, t) {
      if (!(silent && i === 1)) gw.handleDatagram(now, t.remote, clients[i]!.me, t.data);
    },
    down(now, t) {
      const i = ports.indexOf(t.remote.port);
      if (i >= 0 && !(silent && i === 1)) clients[i]!.ep.handleDatagram(now, t.remote, GW, t.data);
    },
    gwEvent: (e) => gwEvents.push(e),
  });
  for (const c of clients) c.ep.initiate(1, 'c');
  deliver(1);
  runUntil([gw, ...eps], deliver, 100, 2000, 100);
  assert.equal(gw.isakmpSas().filter((s) => s.state === 'established').length, 2, 'both clients up');
  assert.equal(gw.ipsecSas().length, 2);
  const ofClient = (port: number) => gw.ipsecSas().filter((s) => s.remote.port === port);
  assert.equal(ofClient(501).length, 1);
  // client 2 goes silent; client 1 stays (it answers the gateway's probes, and probes itself)
  silent = true;
  runUntil([gw, ...eps], deliver, 2100, 60_000, 100);
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
  const eps = clients.map((c) => c.ep);
  const deliver = link(eps, gw, {
    gwEvent(e) {
      if (e.type === 'peer-dead') dead.push(e);
    },
    // through the NAT: each way rewritten by its mapping
    down: (now, t) => {
      const to = inside.get(t.remote.port);
      if (to !== undefined && !(gone && to.i === silent)) clients[to.i]!.ep.handleDatagram(now, { address: clients[to.i]!.me.address, port: to.port }, t.local, t.data);
    },
    up: (now, i, t) => !(gone && i === silent) && gw.handleDatagram(now, t.remote, { address: NAT, port: outside(i, t.local.port) }, t.data),
  });
  for (const c of clients) c.ep.initiate(1, 'c');
  deliver(1);
  runUntil([gw, ...eps], deliver, 250, 2000, 250);
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
  runUntil([gw, ...eps], deliver, 2250, 60_000, 250);
  assert.deepEqual(dead.map((e) => (e.type === 'peer-dead' ? e.peer : undefined)), [{ address: NAT, port: mapping.get(`${silent}:4500`) }], 'the silent client only');
  assert.equal(gw.ipsecSas().length, N - 1);
  assert.equal(gw.isakmpSas().filter((s) => s.state === 'established').length, N - 1);
  assert.ok(gw.isakmpSas().some((s) => s.id === moving.id), 'the moved client stays');
});
