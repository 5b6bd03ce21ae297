/**
 * Two of our daemons, with the real engine, over real UDP on loopback: Main Mode + Quick Mode,
 * `isakmp up/down/status` over the control sockets, key logs that agree, Deletes on shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { parseConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { EventLog, freeUdpPorts, tempDir } from './helpers.js';

function conf(o: { port: number; peer: number; sock: string; me: string; other: string; start: string; ike: string; esp: string; mode?: string; addr?: string; listen?: string }): string {
  const a = o.addr ?? '127.0.0.1';
  return `global:
  listen: ["${o.listen ?? a}"]
  port: ${o.port}
  natt_port: 0
  control_socket: ${o.sock}
secrets:
  k:
    psk: "loopback test secret"
connections:
  to-${o.other}:
    mode: ${o.mode ?? 'main'}
    secret: k
    local:  { address: "${a}", id: "@${o.me}.test" }
    remote: { address: "${a}", port: ${o.peer}, id: "@${o.other}.test" }
    ike: ${o.ike}
    esp: ${o.esp}
    start: ${o.start}
    allow_aggressive_psk_responder: true
`;
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

for (const variant of [
  { name: 'Main Mode PSK aes128-sha256-modp2048, Quick Mode PFS modp2048', ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256-modp2048', mode: 'main' },
  { name: 'Aggressive Mode PSK aes256-sha1-ecp256, Quick Mode without PFS', ike: 'aes256-sha1-ecp256', esp: 'aes256-sha1', mode: 'aggressive' },
  { name: 'IPv6 (::1) Main Mode PSK aes128-sha1-ecp256, Quick Mode PFS ecp256', ike: 'aes128-sha1-ecp256', esp: 'aes128-sha1-ecp256', mode: 'main', addr: '::1' },
  { name: 'wildcard listen (0.0.0.0): the connection tells the local address', ike: 'aes128-sha256-ecp256', esp: 'aes128-sha256', mode: 'main', listen: '0.0.0.0' },
]) {
  test(`two daemons on loopback: ${variant.name}`, async () => {
    const dir = tempDir('isakmp-lo-');
    const [lp, rp] = await freeUdpPorts(2);
    const lsock = join(dir, 'l.sock');
    const rsock = join(dir, 'r.sock');
    const lkeys = join(dir, 'l.keys');
    const rkeys = join(dir, 'r.keys');
    const mk = (text: string, file: string, keylog: string, ev: EventLog): Daemon => {
      writeFileSync(file, text);
      return new Daemon({
        config: parseConfig(text, file),
        endpointFactory: realEndpointFactory,
        keylog,
        logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }),
        onEvent: ev.push,
      });
    };
    const lev = new EventLog();
    const rev = new EventLog();
    const right = mk(conf({ port: rp!, peer: lp!, sock: rsock, me: 'right', other: 'left', start: 'add', ...variant }), join(dir, 'r.yaml'), rkeys, rev);
    const left = mk(conf({ port: lp!, peer: rp!, sock: lsock, me: 'left', other: 'right', start: 'add', ...variant }), join(dir, 'l.yaml'), lkeys, lev);
    await right.start();
    await left.start();
    try {
      let c = io();
      assert.equal(await runCli(['up', 'to-right', '--socket', lsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
      assert.deepEqual(c.out, ["connection 'to-right' established"]);
      await rev.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');

      // status on both sides: same cookies, crossed SPIs
      c = io();
      assert.equal(await runCli(['status', '--json', '--socket', lsock], c.io), 0);
      const ls = JSON.parse(c.out.join('\n'));
      c = io();
      assert.equal(await runCli(['status', '--json', '--socket', rsock], c.io), 0);
      const rs = JSON.parse(c.out.join('\n'));
      assert.equal(ls.isakmp.length, 1);
      assert.equal(rs.isakmp.length, 1);
      assert.equal(ls.isakmp[0].state, 'established');
      assert.equal(ls.isakmp[0].exchange, variant.mode);
      assert.equal(ls.isakmp[0].initiatorCookie, rs.isakmp[0].initiatorCookie);
      assert.equal(ls.isakmp[0].responderCookie, rs.isakmp[0].responderCookie);
      assert.equal(ls.isakmp[0].peerId, 'right.test');
      assert.equal(rs.isakmp[0].peerId, 'left.test');
      assert.equal(ls.isakmp[0].algorithms, `${variant.ike} psk`);
      assert.equal(ls.ipsec[0].spiIn, rs.ipsec[0].spiOut);
      assert.equal(ls.ipsec[0].spiOut, rs.ipsec[0].spiIn);
      assert.equal(ls.ipsec[0].algorithms, `esp ${variant.esp}`);
      assert.ok(ls.ipsec[0].lifetimeLeft > 3500 && ls.ipsec[0].lifetimeLeft <= 3600);

      // Key logs: the same phase-1 key on both sides; ESP lines mirror each other.
      const L = readFileSync(lkeys, 'utf8').trim().split('\n');
      const R = readFileSync(rkeys, 'utf8').trim().split('\n');
      assert.equal(L.length, 3);
      assert.equal(L[0], R[0]);
      assert.match(L[0]!, new RegExp(`^${ls.isakmp[0].initiatorCookie},[0-9a-f]{${variant.ike.startsWith('aes256') ? 64 : 32}}$`));
      assert.deepEqual([...L.slice(1)].sort(), [...R.slice(1)].sort());
      assert.ok(L[1]!.includes(`"0x${ls.ipsec[0].spiOut}"`));

      // down from the left: the right learns through Delete payloads.
      c = io();
      assert.equal(await runCli(['down', 'to-right', '--socket', lsock], c.io), 0, c.err.join('\n'));
      await rev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.by === 'peer', 'right: ISAKMP SA deleted by peer');
      await rev.wait((e) => e.type === 'deleted' && e.kind === 'ipsec' && e.by === 'peer', 'right: IPsec SA deleted by peer');

      // up again from the right this time, then a clean stop of the right sends Deletes to the left
      c = io();
      assert.equal(await runCli(['up', 'to-left', '--socket', rsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
      await lev.wait((e) => e.type === 'ipsec-sa-established' && e.sa.role === 'responder', 'left as responder');
      await right.stop();
      await lev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.by === 'peer', 'left: ISAKMP SA deleted by stopping peer');
      assert.equal(left.status().isakmp.length, 0);
    } finally {
      await left.stop();
      await right.stop();
    }
  });
}

test('isakmp demo (npm start): two daemons establish and every SA line says established', async () => {
  const c = io();
  assert.equal(await runCli(['demo'], c.io), 0, c.err.join('\n'));
  const est = c.out.filter((l) => l.includes('established'));
  assert.equal(est.length, 4, c.out.join('\n'));
  assert.equal(est.filter((l) => l.includes('ISAKMP SA established')).length, 2);
  assert.equal(est.filter((l) => l.includes('IPsec SA established')).length, 2);
  assert.match(c.out[c.out.length - 1]!, /^both sides agree on the SPIs/);
});
