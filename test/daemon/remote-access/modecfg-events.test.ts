// The daemon's Mode Config events: a client refused for claiming an address not its own is logged
// at warn with the engine's reason (both addresses); other INVALID_ID_INFORMATION drops stay at debug.
// A pool lease lives as long as the ISAKMP SA or any IPsec SA negotiated under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CfgAttr, NotifyType } from '../../../src/constants/index.js';
import { parseConfig } from '../../../src/daemon/config/index.js';
import type { EngineEvent } from '../../../src/daemon/engine.js';
import { Logger } from '../../../src/daemon/log.js';
import { ModeConfigEvents } from '../../../src/daemon/modecfg-events.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { gatewayYaml } from './loopback.js';
import { Pair, conn } from '../../helpers/pair.js';

test('a borrowed virtual address is logged at warn with both addresses', () => {
  const lines: string[] = [];
  const m = new ModeConfigEvents({
    logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }),
    now: () => 0,
    connections: () => [],
    answerModeConfig: undefined,
    deleteSa: () => undefined,
    pump: () => undefined,
  });
  const peer = { address: '198.51.100.7', port: 500 };
  m.onEvent({ type: 'dropped', peer, notify: NotifyType.INVALID_ID_INFORMATION, reason: 'traffic selectors outside the connection' });
  assert.equal(lines.length, 0);
  m.onEvent({ type: 'dropped', peer, notify: NotifyType.INVALID_ID_INFORMATION, reason: "the client's Quick Mode selector 10.10.0.8 is not the virtual address 10.10.0.7 assigned to it on this ISAKMP SA" });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN .*Quick Mode refused: the client's Quick Mode selector 10\.10\.0\.8 is not the virtual address 10\.10\.0\.7/);
  assert.match(lines[0]!, /198\.51\.100\.7:500/);
});

/**
 * The daemon's Mode Config events of gateway connection `rw` with `pool`, fed by hand: the lines
 * it logs, the addresses it answers, and `ask` (XAUTH accepted, then a Mode Config REQUEST).
 */
function gatewayEvents(pool: string): { m: ModeConfigEvents; lines: string[]; answered: string[]; ask: (sa: string, peerId: string, user: string) => void } {
  const lines: string[] = [];
  const users = join(tempDir('isakmp-modecfg-events-'), 'users');
  writeFileSync(users, '', { mode: 0o600 });
  const config = parseConfig(gatewayYaml({ port: 500, sock: '/tmp/unused.sock', xauth: `{ backend: "file:${users}" }`, extra: `    modecfg: pull\n    pool: ${pool}\n` }), 'gw.yaml');
  const answered: string[] = [];
  const m = new ModeConfigEvents({
    logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }),
    now: () => 0,
    connections: () => config.connections,
    answerModeConfig: (_now, _id, attrs) => {
      const a = attrs.find((x) => x.type === CfgAttr.INTERNAL_IP4_ADDRESS);
      answered.push(a?.format === 'TLV' ? [...a.value].join('.') : '-');
    },
    deleteSa: () => undefined,
    pump: () => undefined,
  });
  const peer = { address: '198.51.100.7', port: 500 };
  const ask = (sa: string, peerId: string, user: string): void => {
    m.onEvent({ type: 'xauth-request', requestId: 1, isakmpSa: sa, connection: 'rw', peer, peerId, user, password: 'x' });
    m.onEvent({ type: 'modecfg-request', requestId: 2, isakmpSa: sa, connection: 'rw', peer, requested: [CfgAttr.INTERNAL_IP4_ADDRESS], push: false });
  };
  return { m, lines, answered, ask };
}

test('a pool address stays leased while an IPsec SA of its ISAKMP SA lives on, and is released with the last one', async () => {
  const { m, lines, answered, ask } = gatewayEvents('10.10.0.7/32');
  const child = (id: string, isakmpSa: string) => ({ type: 'ipsec-sa-established', sa: { id, isakmpSa } }) as unknown as EngineEvent;
  ask('sa1', '@one.test', 'alice');
  assert.deepEqual(answered, ['10.10.0.7']);
  m.onEvent(child('q1', 'sa1'));
  m.onEvent(child('q2', 'sa1'));
  // the ISAKMP SA ends (its lifetime), the IPsec SAs live on: the address is still alice's
  m.onEvent({ type: 'deleted', kind: 'isakmp', id: 'sa1', connection: 'rw', by: 'local' });
  assert.deepEqual(m.leases().map((l) => [l.address, l.user]), [['10.10.0.7', 'alice']]);
  // another client finds the one-address pool full meanwhile
  ask('sa2', '@two.test', 'bob');
  assert.deepEqual(answered, ['10.10.0.7']);
  assert.ok(lines.some((l) => l.includes('the address pool of connection rw is exhausted')), lines.join('\n'));
  m.onEvent({ type: 'deleted', kind: 'isakmp', id: 'sa2', connection: 'rw', by: 'local' });
  // one IPsec SA deleted, the other expires: then the address is free
  m.onEvent({ type: 'deleted', kind: 'ipsec', id: 'q1', connection: 'rw', by: 'peer' });
  assert.equal(m.leases().length, 1);
  m.onEvent({ type: 'expired', kind: 'ipsec', id: 'q2', connection: 'rw', hard: true });
  assert.deepEqual(m.leases(), []);
  assert.ok(lines.some((l) => l.includes('virtual address 10.10.0.7 released')));
  ask('sa3', '@two.test', 'bob');
  assert.deepEqual(answered, ['10.10.0.7', '10.10.0.7']);
});

test('an ISAKMP SA that expires (the engine says `expired`, not `deleted`) releases its lease with its last IPsec SA: real engines, nobody rekeys', () => {
  const users = join(tempDir('isakmp-modecfg-expiry-'), 'users');
  writeFileSync(users, '', { mode: 0o600 });
  const config = parseConfig(gatewayYaml({ port: 500, sock: '/tmp/unused.sock', xauth: `{ backend: "file:${users}" }`, extra: '    modecfg: pull\n    pool: 10.10.0.7/32\n' }), 'gw.yaml');
  const pair = new Pair({ seed: 'modecfg-events-expiry' });
  const lines: string[] = [];
  const m = new ModeConfigEvents({
    logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }),
    now: () => pair.now,
    connections: () => config.connections,
    answerModeConfig: (at, id, attrs) => pair.b.answerModeConfig(at, id, attrs),
    deleteSa: () => undefined,
    pump: () => undefined,
  });
  const life = { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: 300 }], ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, lifetimeSeconds: 600 }], rekey: false };
  pair.a.setConnection(conn(pair, 'a', { ...life, name: 'rw', xauth: { role: 'client', user: 'alice', password: new TextEncoder().encode('pw') }, modeConfig: { role: 'client' } }));
  pair.b.setConnection(conn(pair, 'b', { ...life, name: 'rw', xauth: { role: 'server' }, modeConfig: { role: 'server' } }));
  pair.a.initiate(pair.now, 'rw');
  let seen = 0;
  const serve = (ms: number): void => {
    for (let t = 0; t < ms; t += 1000) {
      pair.run(1000);
      for (; seen < pair.events.b.length; seen++) {
        const e = pair.events.b[seen]!;
        m.onEvent(e);
        if (e.type === 'xauth-request') pair.b.answerXauth(pair.now, e.requestId, true);
      }
    }
  };
  serve(10_000);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.deepEqual(m.leases().map((l) => l.address), ['10.10.0.7']);
  serve(300_000);
  assert.deepEqual(pair.b.isakmpSas(), [], 'the ISAKMP SA expired');
  assert.ok(pair.ev('b', 'expired').some((e) => e.kind === 'isakmp' && e.hard));
  assert.deepEqual(m.leases().map((l) => l.address), ['10.10.0.7'], 'kept while its IPsec SA lives');
  serve(300_000);
  assert.deepEqual(pair.b.ipsecSas(), [], 'the IPsec SA expired');
  assert.deepEqual(m.leases(), [], 'the address is free again');
  assert.deepEqual([...m.sessions.keys()], [], 'nothing kept of the session');
  assert.ok(lines.some((l) => l.includes('virtual address 10.10.0.7 released')), lines.join('\n'));
});

test('a client that reauthenticates holds its lease under both ISAKMP SAs: the old one\'s end (expired) frees nothing and says "released" nowhere; the last one\'s end does', () => {
  const { m, lines, answered, ask: askAs } = gatewayEvents('10.10.0.0/30');
  const ask = (sa: string): void => askAs(sa, '@one.test', 'alice');
  ask('old');
  ask('new');
  assert.equal(answered.length, 2);
  assert.equal(answered[0], answered[1], 'the same address under the new ISAKMP SA');
  m.onEvent({ type: 'expired', kind: 'isakmp', id: 'old', connection: 'rw', hard: true });
  assert.deepEqual(m.leases().map((l) => [l.address, l.user]), [[answered[0], 'alice']]);
  assert.ok(!lines.some((l) => l.includes('released')), lines.join('\n'));
  m.onEvent({ type: 'deleted', kind: 'isakmp', id: 'new', connection: 'rw', by: 'peer' });
  assert.deepEqual(m.leases(), []);
  assert.equal(lines.filter((l) => l.includes(`virtual address ${answered[0]} released`)).length, 1);
});
