// DPD on a gateway with two clients behind one NAT (one public address, two ports), the everyday
// shape of remote access: the clients are two peers. A silent one is probed and found dead even
// while the other keeps talking, and its death deletes its own SAs only: the other client's
// ISAKMP and IPsec SAs (same connection, same address, another port) stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint, type Address, type DpdPolicy } from '../../src/exchange/index.js';
import type { EngineEvent } from '../../src/exchange/types.js';
import { conn, seededRandom, type Pair } from '../helpers/pair.js';

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
