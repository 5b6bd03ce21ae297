/**
 * RADIUS Framed-IP-Address reaches the address assignment, between our daemons over loopback and a
 * real FreeRADIUS (freeradius.ts): the gateway checks the XAUTH user with RADIUS; bob's entry has a
 * Framed-IP-Address, which the client gets in place of a pool address (and its Quick Mode uses it
 * as its selector); alice has none and gets the first pool address. Registered by
 * radius-framed.test.ts (`npm test`, skipped without FreeRADIUS) and test/interop/radius.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CfgAttr } from '../../../src/constants/index.js';
import type { EngineEvent } from '../../../src/exchange/types.js';
import { EventLog, freeUdpPorts, tempDir } from '../helpers.js';
import { clientYaml, daemonMaker, gatewayYaml } from './loopback.js';
import { startFreeRadius, type FreeRadius } from './freeradius.js';

const SECRET = 'framed-Secret-77';
const USERS = `bob Cleartext-Password := "bob-framed-pw"
	Framed-IP-Address := 10.77.0.9,
	Framed-IP-Netmask := 255.255.255.0

alice Cleartext-Password := "alice-framed-pw"
`;

const gateway = (port: number, radius: number, sock: string): string =>
  gatewayYaml({
    port,
    sock,
    xauth: `\n      radius: { servers: [ { address: 127.0.0.1, port: ${radius}, secret: "${SECRET}" } ], timeout: 2s, retries: 1 }`,
    extra: '    local_ts: 10.1.0.0/16\n    modecfg: pull\n    pool: 10.10.0.0/24\n',
  });

const client = (port: number, gw: number, sock: string, user: string, password: string): string =>
  clientYaml({ port, gateway: gw, sock, id: user, xauth: `{ user: ${user}, password: "${password}" }`, extra: '    remote_ts: 10.1.0.0/16\n    modecfg: pull\n' });

function attr(e: EngineEvent, type: number): string | undefined {
  if (e.type !== 'modecfg-done') return undefined;
  const a = e.attributes.find((x) => x.type === type);
  return a && a.format === 'TLV' ? [...a.value].join('.') : undefined;
}

export function registerFramedIpCases(skip: string | false): void {
  describe('RADIUS Framed-IP-Address as the virtual address (FreeRADIUS, two daemons)', { skip, concurrency: false }, () => {
    let fr: FreeRadius | undefined;
    before(async () => {
      fr = await startFreeRadius({ secret: SECRET, users: USERS });
    });
    after(async () => {
      await fr?.stop();
    });

    test('bob gets his Framed-IP-Address (not a pool address) and uses it in Quick Mode; alice gets the pool\'s first', async () => {
      const dir = tempDir('isakmp-framed-');
      const [gp, bp, ap] = await freeUdpPorts(3);
      const lines: string[] = [];
      const mk = daemonMaker(dir, lines);
      const gev = new EventLog();
      const bev = new EventLog();
      const aev = new EventLog();
      const gw = mk(gateway(gp!, fr!.authPort, join(dir, 'gw.sock')), 'gw', gev);
      const bob = mk(client(bp!, gp!, join(dir, 'bob.sock'), 'bob', 'bob-framed-pw'), 'bob', bev);
      const alice = mk(client(ap!, gp!, join(dir, 'alice.sock'), 'alice', 'alice-framed-pw'), 'alice', aev);
      await gw.start();
      await bob.start();
      await alice.start();
      try {
        bob.initiate('office');
        const got = await bev.wait((e) => e.type === 'modecfg-done', 'bob Mode Config');
        assert.equal(attr(got, CfgAttr.INTERNAL_IP4_ADDRESS), '10.77.0.9');
        assert.equal(attr(got, CfgAttr.INTERNAL_IP4_NETMASK), '255.255.255.0', 'the Framed-IP-Netmask');
        const child = await bev.wait((e) => e.type === 'ipsec-sa-established', 'bob IPsec SA');
        assert.ok(child.type === 'ipsec-sa-established');
        assert.equal(child.sa.localTs.start, '10.77.0.9');
        assert.equal(child.sa.localTs.end, '10.77.0.9');
        assert.ok(lines.some((l) => l.startsWith('gw: ') && l.includes('with Framed-IP-Address 10.77.0.9')), lines.join('\n'));
        assert.deepEqual(gw.status().isakmp.map((s) => s.remoteAccess?.virtualAddress), ['10.77.0.9']);

        alice.initiate('office');
        const a = await aev.wait((e) => e.type === 'modecfg-done', 'alice Mode Config');
        assert.equal(attr(a, CfgAttr.INTERNAL_IP4_ADDRESS), '10.10.0.1');
        // bob leaves: nothing goes back to the pool (his address was not leased from it)
        await bob.stop();
        await gev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp', 'the gateway drops bob');
        assert.ok(!lines.some((l) => l.includes('virtual address 10.77.0.9 released')), 'a RADIUS address is not returned to the pool');
        for (const p of ['bob-framed-pw', 'alice-framed-pw']) assert.ok(!lines.join('\n').includes(p), 'a password leaked');
      } finally {
        await alice.stop();
        await bob.stop();
        await gw.stop();
      }
    });
  });
}
