/**
 * Two of our daemons, with the real engine, over real UDP on loopback: Main Mode + Quick Mode,
 * `isakmp up/down/status` over the control sockets, key logs that agree, Deletes on shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { DEMO_PORTS } from '../../src/cli/demo-daemons.js';
import type { EngineEvent } from '../../src/exchange/types.js';
import { parseConfig } from '../../src/daemon/config/index.js';
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
    allow_weak_psk: true
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
      // the exchange as it goes (issue 10), then the answer
      const addr = variant.addr ?? '127.0.0.1';
      const phase1 = variant.mode === 'main'
        ? ['MM1 sent', `MM2 received: ${variant.ike}`, 'MM3 sent', 'MM4 received', 'MM5 sent', 'MM6 received: peer id right.test', `ISAKMP SA established with ${addr} (Main Mode)`]
        : ['AM1 sent', `AM2 received: ${variant.ike}`, 'AM3 sent', `ISAKMP SA established with ${addr} (Aggressive Mode)`];
      assert.deepEqual(c.out.slice(0, -2), [...phase1, 'QM1 sent', `QM2 received: esp ${variant.esp}`, 'QM3 sent']);
      assert.match(c.out.at(-2)!, /^Quick Mode done: IPsec SA q[0-9a-f]{8} established$/);
      assert.equal(c.out.at(-1), "connection 'to-right' established");
      await rev.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');
      // up again: it is up, nothing is negotiated (rekey is for new keys)
      c = io();
      assert.equal(await runCli(['up', 'to-right', '--socket', lsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
      assert.deepEqual(c.out, ["connection 'to-right' is already up (1 IPsec SA; 'isakmp rekey to-right' negotiates new keys)"]);
      assert.equal(left.status().ipsec.length, 1);

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
      // ... and the homogeneous companion files Wireshark loads as UAT tables
      assert.equal(readFileSync(`${lkeys}.ikev1_decryption_table`, 'utf8'), L[0] + '\n');
      assert.equal(readFileSync(`${lkeys}.esp_sa`, 'utf8'), L.slice(1).join('\n') + '\n');
      assert.equal(ls.ipsec[0].state, 'established');
      assert.equal(ls.isakmp[0].localId, 'left.test');

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

test('isakmp demo with its port 15500 taken, and two demos at once: free ports instead, never EADDRINUSE', async () => {
  // Hold 15500 (unless something else already does: then it is busy anyway).
  const blocker = createSocket('udp4');
  await new Promise<void>((resolve) => {
    blocker.once('error', () => resolve());
    blocker.bind({ port: DEMO_PORTS.left, address: '127.0.0.1', exclusive: true }, () => resolve());
  });
  try {
    const c = io();
    assert.equal(await runCli(['demo'], c.io), 0, c.err.join('\n'));
    const m = /^isakmp demo: two daemons on 127\.0\.0\.1 \(UDP (\d+) and (\d+)(.*?)\)/.exec(c.out[0]!);
    assert.ok(m, c.out[0]);
    assert.notEqual(Number(m[1]), DEMO_PORTS.left, 'left did not get the busy port');
    assert.match(m[3]!, /15500.*busy: free ports instead/);
    assert.equal(c.out.filter((l) => l.includes('established')).length, 4, c.out.join('\n'));
    // two demos racing for the same ports (what two `npm start` at once do)
    const a = io();
    const b = io();
    const codes = await Promise.all([runCli(['demo'], a.io), runCli(['demo'], b.io)]);
    assert.deepEqual(codes, [0, 0], [...a.err, ...b.err].join('\n'));
    for (const x of [a, b]) {
      assert.equal(x.out.filter((l) => l.includes('established')).length, 4, x.out.join('\n'));
      assert.match(x.out[x.out.length - 1]!, /^both sides agree on the SPIs/);
    }
  } finally {
    blocker.close();
  }
});

/** An example file with its ports and control socket moved out of the way (and the given extra edits). */
function relocated(file: string, edits: [string | RegExp, string][]): string {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of edits) {
    const before = text;
    text = text.replace(from, to);
    assert.notEqual(text, before, `${file}: '${String(from)}' not found: the example changed, update this test`);
  }
  return text;
}

test('examples/loopback/left.yaml and right.yaml negotiate Main Mode + Quick Mode over loopback', async () => {
  const dir = tempDir('isakmp-ex-');
  const [lp, ln, rp, rn] = await freeUdpPorts(4);
  const lsock = join(dir, 'left.sock');
  const rsock = join(dir, 'right.sock');
  // the files as shipped, with only the ports and socket paths moved
  const right = relocated('examples/loopback/right.yaml', [
    ['port: 15600', `port: ${rp}`],
    ['natt_port: 15601', `natt_port: ${rn}`],
    ['/tmp/isakmp-loopback-right.sock', rsock],
    ['port: 15500', `port: ${lp}`],
  ]);
  const left = relocated('examples/loopback/left.yaml', [
    ['port: 15500', `port: ${lp}`],
    ['natt_port: 15501', `natt_port: ${ln}`],
    ['/tmp/isakmp-loopback-left.sock', lsock],
    ['port: 15600', `port: ${rp}`],
  ]);
  const lev = new EventLog();
  const rev = new EventLog();
  const mk = (text: string, name: string, ev: EventLog): Daemon => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }), onEvent: ev.push });
  };
  const r = mk(right, 'right.yaml', rev);
  const l = mk(left, 'left.yaml', lev);
  await r.start();
  await l.start(); // start: start — left initiates by itself
  try {
    await lev.wait((e) => e.type === 'ipsec-sa-established', 'left IPsec SA');
    await rev.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');
    const c = io();
    assert.equal(await runCli(['status', '--json', '--socket', lsock], c.io), 0, c.err.join('\n'));
    const ls = JSON.parse(c.out.join('\n'));
    const rs = r.status();
    assert.equal(ls.isakmp[0].connection, 'to-right');
    assert.equal(ls.isakmp[0].state, 'established');
    assert.equal(ls.isakmp[0].exchange, 'main');
    assert.equal(ls.isakmp[0].localId, 'left.test');
    assert.equal(ls.isakmp[0].peerId, 'right.test');
    assert.equal(rs.isakmp[0]!.localId, 'right.test');
    assert.equal(rs.isakmp[0]!.peerId, 'left.test');
    assert.equal(ls.isakmp[0].algorithms, 'aes128-sha256-modp2048 psk');
    assert.equal(ls.ipsec[0].algorithms, 'esp aes128-sha256-modp2048');
    assert.equal(ls.ipsec[0].spiIn, rs.ipsec[0]!.spiOut);
    assert.equal(ls.ipsec[0].spiOut, rs.ipsec[0]!.spiIn);
  } finally {
    await l.stop();
    await r.stop();
  }
});

test('examples/aggressive-psk.yaml: Aggressive Mode PSK with FQDN IDs, against a mirrored responder on loopback', async () => {
  const dir = tempDir('isakmp-ex-');
  const [ip, rp] = await freeUdpPorts(2);
  const sockI = join(dir, 'i.sock');
  const sockR = join(dir, 'r.sock');
  // The example as shipped (proposals, identities, PSK, mode, start action), placed on loopback.
  const global = (port: number, sock: string): string => `global:\n  listen: [127.0.0.1]\n  port: ${port}\n  natt_port: 0\n  control_socket: ${sock}\n`;
  const initiator = global(ip!, sockI) + relocated('examples/aggressive-psk.yaml', [
    ['local:  { id: "@branch.example.net" }', 'local:  { address: 127.0.0.1, id: "@branch.example.net" }'],
    ['remote: { address: 203.0.113.7, id: "@hq.example.net" }', `remote: { address: 127.0.0.1, port: ${rp}, id: "@hq.example.net" }`],
  ]);
  // The hub's side: the same file mirrored, started by hand, and allowed to answer AM with a PSK.
  const responder = global(rp!, sockR) + relocated('examples/aggressive-psk.yaml', [
    ['local:  { id: "@branch.example.net" }', 'local:  { address: 127.0.0.1, id: "@hq.example.net" }'],
    ['remote: { address: 203.0.113.7, id: "@hq.example.net" }', `remote: { address: 127.0.0.1, port: ${ip}, id: "@branch.example.net" }\n    allow_aggressive_psk_responder: true`],
    ['start: start', 'start: add'],
  ]);
  const iev = new EventLog();
  const rev = new EventLog();
  const quiet = new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });
  const r = new Daemon({ config: parseConfig(responder, join(dir, 'hq.yaml')), endpointFactory: realEndpointFactory, logger: quiet, onEvent: rev.push });
  const i = new Daemon({ config: parseConfig(initiator, join(dir, 'branch.yaml')), endpointFactory: realEndpointFactory, logger: quiet, onEvent: iev.push });
  await r.start();
  await i.start();
  try {
    const p1 = (await iev.wait((e) => e.type === 'phase1-established', 'branch phase 1')) as Extract<EngineEvent, { type: 'phase1-established' }>;
    assert.equal(p1.sa.exchange, 'aggressive');
    await iev.wait((e) => e.type === 'ipsec-sa-established', 'branch IPsec SA');
    await rev.wait((e) => e.type === 'ipsec-sa-established', 'hub IPsec SA');
    const s = i.status();
    assert.equal(s.isakmp[0]!.connection, 'hq');
    assert.equal(s.isakmp[0]!.exchange, 'aggressive');
    assert.equal(s.isakmp[0]!.localId, 'branch.example.net');
    assert.equal(s.isakmp[0]!.peerId, 'hq.example.net');
    assert.equal(s.isakmp[0]!.algorithms, 'aes256-sha1-ecp256 psk');
    assert.equal(s.ipsec[0]!.algorithms, 'esp aes128-sha1');
    assert.equal(s.ipsec[0]!.spiOut, r.status().ipsec[0]!.spiIn);
  } finally {
    await i.stop();
    await r.stop();
  }
});

test('Dead Peer Detection (RFC 3706): R-U-THERE when the peer is quiet, ACKs keep the SAs, silence clears them', async () => {
  const dir = tempDir('isakmp-dpd-');
  const [lp, rp] = await freeUdpPorts(2);
  let t = 1_000_000;
  const quiet = () => new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });
  const logged: string[] = [];
  const lev = new EventLog();
  const rev = new EventLog();
  const base = { ike: 'aes128-sha256-ecp256', esp: 'aes128-sha256', start: 'add' };
  const rtext = conf({ port: rp!, peer: lp!, sock: join(dir, 'r.sock'), me: 'right', other: 'left', ...base });
  const ltext = conf({ port: lp!, peer: rp!, sock: join(dir, 'l.sock'), me: 'left', other: 'right', ...base }) + '    dpd_delay: 1s\n    dpd_timeout: 3s\n';
  const right = new Daemon({ config: parseConfig(rtext, join(dir, 'r.yaml')), endpointFactory: realEndpointFactory, logger: quiet(), onEvent: rev.push });
  const left = new Daemon({
    config: parseConfig(ltext, join(dir, 'l.yaml')),
    endpointFactory: realEndpointFactory,
    clock: () => t,
    logger: new Logger({ level: 'warn', areas: {}, format: 'text', write: (l: string) => logged.push(l) }),
    onEvent: lev.push,
  });
  await right.start();
  await left.start();
  try {
    left.initiate('to-right');
    await lev.wait((e) => e.type === 'ipsec-sa-established', 'left IPsec SA');
    await rev.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');
    const sa = left.status().isakmp[0]!;
    // DPD runs on the engine's timers: the test moves the daemon's clock and fires what is due,
    // counting the datagrams that leave (nothing else is in flight: each one is an R-U-THERE)
    const probes = (): number => {
      const before = left.snapshot().transport?.packetsOut ?? 0;
      left.runTimers();
      return (left.snapshot().transport?.packetsOut ?? 0) - before;
    };
    assert.equal(probes(), 0, 'just established: nothing to ask yet');
    t += 500;
    assert.equal(probes(), 0, 'the peer is not quiet for dpd_delay yet');
    t += 600;
    assert.equal(probes(), 1, 'quiet for 1.1 s: R-U-THERE');
    await lev.wait((e) => e.type === 'notify' && e.notify === 36137, 'R-U-THERE-ACK');
    t += 2500;
    assert.equal(probes(), 1, 'quiet again: another R-U-THERE, and the earlier one was answered (no timeout)');
    const acks = () => lev.events.filter((e) => e.type === 'notify' && e.notify === 36137).length;
    for (let i = 0; i < 200 && acks() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(acks(), 2, 'the second R-U-THERE is answered too');
    assert.equal(left.status().isakmp.length, 1);
    // the peer goes silent (its sockets close, no Delete leaves it)
    await (right as unknown as { transport: { close(): Promise<void> } }).transport.close();
    t += 1100;
    assert.equal(probes(), 1, 'R-U-THERE to a silent peer');
    const firstUnanswered = t;
    // again every dpd_delay while unanswered; the SAs stay until dpd_timeout (3 s) has passed
    for (t += 1000; t - firstUnanswered < 3000; t += 1000) {
      assert.equal(probes(), 1, `R-U-THERE again at +${t - firstUnanswered} ms`);
      assert.equal(left.status().isakmp.length, 1, 'not yet dpd_timeout');
    }
    left.runTimers();
    assert.equal(left.status().isakmp.length, 0, 'dead after dpd_timeout: SAs cleared');
    assert.equal(left.status().ipsec.length, 0);
    assert.ok(logged.some((l) => l.includes('DPD: peer does not answer') && l.includes(sa.id)), logged.join('\n'));
  } finally {
    await left.stop();
    await right.stop().catch(() => {});
  }
});
