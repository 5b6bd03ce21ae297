import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { chmodSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { controlRequest } from '../../src/daemon/control.js';
import { Logger } from '../../src/daemon/log.js';
import { XfrmDataplane, spawnIp, type CommandResult } from '../../src/daemon/dataplane.js';
import { addNonEspMarker, classifyNattDatagram } from '../../src/daemon/udp.js';
import { Counters } from '../../src/daemon/counters.js';
import { createMetricsRegistry } from '../../src/daemon/metrics.js';
import { updownEnv } from '../../src/daemon/updown.js';
import { espKeyLogLines, ikeKeyLogLine } from '../../src/daemon/keylog.js';
import type { IpsecSaInfo } from '../../src/exchange/types.js';
import { FakeEndpoint } from './fake-endpoint.js';
import { EventLog, fakeIpsecSa, freeUdpPorts, tempDir } from './helpers.js';

let seed = 1;
/** Deterministic "randomness" for the fake engine: distinct bytes per call. */
const random = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  seed++;
  return out;
};

interface Side {
  daemon: Daemon;
  fake: FakeEndpoint;
  events: EventLog;
  sock: string;
  logs: string[];
}

function cfgText(o: { port: number; natt: number; peerPort: number; sock: string; name: string; start: string; psk?: string; extra?: string; global?: string }): string {
  return `global:
  listen: [127.0.0.1]
  port: ${o.port}
  natt_port: ${o.natt}
  control_socket: ${o.sock}
  shutdown_grace: 1s
${o.global ?? ''}secrets:
  lo:
    psk: ${o.psk ?? 'super-secret-psk-value'}
    allow_weak_psk: true
connections:
  ${o.name}:
    secret: lo
    local: { address: 127.0.0.1 }
    remote: { address: 127.0.0.1, port: ${o.peerPort} }
    ike: aes128-sha256-modp2048
    start: ${o.start}
${o.extra ?? ''}`;
}

async function startSide(text: string, file: string, extra: { keylog?: string; format?: 'text' | 'json' } = {}): Promise<Side> {
  writeFileSync(file, text);
  const config = parseConfig(text, file);
  const events = new EventLog();
  const logs: string[] = [];
  let fake: FakeEndpoint | undefined;
  const daemon = new Daemon({
    config,
    configPath: file,
    random,
    endpointFactory: (o) => (fake = new FakeEndpoint(o)),
    logger: new Logger({ level: 'debug', areas: {}, format: extra.format ?? 'text', write: (l) => logs.push(l) }),
    ...(extra.keylog !== undefined ? { keylog: extra.keylog } : {}),
    onEvent: events.push,
  });
  await daemon.start();
  assert.ok(fake);
  return { daemon, fake, events, sock: config.global.controlSocket, logs };
}

test('two daemons over loopback UDP: establish, status, key log, updown, down, up, SIGTERM-style stop', async () => {
  const dir = tempDir('isakmp-d-');
  const [lp, ln, rp, rn] = await freeUdpPorts(4);
  const updown = join(dir, 'updown.sh');
  const updownOut = join(dir, 'updown.out');
  writeFileSync(updown, `#!/bin/sh\necho "$ISAKMP_EVENT $ISAKMP_REASON $ISAKMP_CONNECTION $ISAKMP_SPI_IN $ISAKMP_SPI_OUT $ISAKMP_LOCAL_TS $ISAKMP_REMOTE_TS" >> ${updownOut}\n`);
  chmodSync(updown, 0o755);
  const right = await startSide(cfgText({ port: rp!, natt: rn!, peerPort: lp!, sock: join(dir, 'r.sock'), name: 'to-left', start: 'add' }), join(dir, 'right.yaml'));
  const keylog = join(dir, 'left.keys');
  const left = await startSide(
    cfgText({ port: lp!, natt: ln!, peerPort: rp!, sock: join(dir, 'l.sock'), name: 'to-right', start: 'start', global: `  updown: ${updown}\n` }),
    join(dir, 'left.yaml'),
    { keylog },
  );
  try {
    const lq = (await left.events.wait((e) => e.type === 'ipsec-sa-established', 'left IPsec SA')) as Extract<typeof left.events.events[number], { type: 'ipsec-sa-established' }>;
    const rq = (await right.events.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA')) as typeof lq;
    // Same SPIs seen from both sides.
    assert.deepEqual(lq.sa.protocols[0]?.inbound.spi, rq.sa.protocols[0]?.outbound.spi);
    assert.deepEqual(lq.sa.protocols[0]?.outbound.spi, rq.sa.protocols[0]?.inbound.spi);

    // The control socket is mode 0600.
    assert.equal(statSync(left.sock).mode & 0o777, 0o600);

    // status over the control socket
    const st = await controlRequest(left.sock, { cmd: 'status' });
    assert.equal(st.ok, true);
    const data = (st as { data: any }).data;
    assert.equal(data.isakmp.length, 1);
    assert.equal(data.isakmp[0].connection, 'to-right');
    assert.equal(data.isakmp[0].state, 'established');
    assert.equal(data.isakmp[0].algorithms, 'aes128-sha256-modp2048 psk');
    assert.equal(data.ipsec.length, 1);
    assert.equal(data.ipsec[0].spiIn, Buffer.from(lq.sa.protocols[0]!.inbound.spi).toString('hex'));
    assert.equal(data.ipsec[0].algorithms, 'esp aes128-sha256-modp2048');
    assert.equal(data.ipsec[0].dataplane, 'recorded');
    assert.equal(data.counters.exchanges.completed.isakmp, 1);
    assert.equal(data.counters.exchanges.started.isakmp, 1);
    assert.equal(data.counters.transport.packetsOut, 1);
    assert.equal(data.counters.transport.packetsIn, 1);
    // status never carries key material
    const stText = JSON.stringify(st);
    assert.ok(!stText.includes('0101010101010101'), 'no keys in status');

    // key log: one ikev1_decryption_table line, two esp_sa lines
    const p1 = left.events.events.find((e) => e.type === 'phase1-established') as Extract<typeof left.events.events[number], { type: 'phase1-established' }>;
    const lines = readFileSync(keylog, 'utf8').trim().split('\n');
    assert.equal(lines[0], ikeKeyLogLine(p1.keyLog.initiatorCookie, p1.keyLog.encryptionKey));
    assert.match(lines[0]!, /^[0-9a-f]{16},[0-9a-f]{32}$/);
    assert.deepEqual(lines.slice(1), espKeyLogLines(lq.sa));
    assert.equal(statSync(keylog).mode & 0o777, 0o600);

    // down from the left: Deletes reach the right, which removes its SAs.
    const dn = await controlRequest(left.sock, { cmd: 'down', name: 'to-right' });
    assert.deepEqual(dn, { ok: true, message: "connection 'to-right': deleted 2 SAs" });
    await right.events.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.by === 'peer', 'right: ISAKMP SA deleted by peer');
    await right.events.wait((e) => e.type === 'deleted' && e.kind === 'ipsec' && e.by === 'peer', 'right: IPsec SA deleted by peer');
    assert.equal(right.fake.ipsecSas().length, 0);
    assert.deepEqual(await controlRequest(left.sock, { cmd: 'down', name: 'to-right' }), { ok: false, error: "connection 'to-right' has no SAs" });

    // up waits for the result
    const up = await controlRequest(left.sock, { cmd: 'up', name: 'to-right' });
    assert.equal(up.ok, true);
    assert.equal((up as { message: string }).message, "connection 'to-right' established");
    assert.equal(left.fake.ipsecSas().length, 1);
    assert.deepEqual(await controlRequest(left.sock, { cmd: 'up', name: 'nope' }), { ok: false, error: "no connection named 'nope' (configured: to-right)" });

    // clean stop: Deletes for the established SAs reach the peer before the sockets close.
    const before = right.events.events.filter((e) => e.type === 'deleted' && e.by === 'peer').length;
    await left.daemon.stop();
    await right.events.wait((e) => e.type === 'deleted' && e.by === 'peer' && right.events.events.filter((x) => x.type === 'deleted' && x.by === 'peer').length >= before + 2, 'deletes from the stopping daemon');
    assert.equal(existsSync(left.sock), false, 'control socket removed');
    const ud = readFileSync(updownOut, 'utf8').trim().split('\n');
    const spi = (sa: IpsecSaInfo) => `${Buffer.from(sa.protocols[0]!.inbound.spi).toString('hex')} ${Buffer.from(sa.protocols[0]!.outbound.spi).toString('hex')}`;
    assert.equal(ud[0], `up established to-right ${spi(lq.sa)} 127.0.0.1 127.0.0.1`);
    assert.equal(ud[1], `down deleted-local to-right ${spi(lq.sa)} 127.0.0.1 127.0.0.1`);
    assert.equal(ud.length, 4);
    assert.match(ud[2]!, /^up established to-right /);
    assert.match(ud[3]!, /^down deleted-local to-right /);
    // the PSK never appears in any log line
    for (const l of [...left.logs, ...right.logs]) assert.ok(!l.includes('super-secret-psk-value'), l);
    assert.ok(left.logs.some((l) => /INFO  \[ike\] IPsec SA established connection=to-right role=initiator spi_in=[0-9a-f]{8}/.test(l)));
  } finally {
    await left.daemon.stop();
    await right.daemon.stop();
  }
});

test('the single timer drives retransmission and the give-up; up reports the failure', async () => {
  const dir = tempDir('isakmp-d-');
  const [lp, ln, silent] = await freeUdpPorts(3);
  const left = await startSide(cfgText({ port: lp!, natt: ln!, peerPort: silent!, sock: join(dir, 'l.sock'), name: 'to-void', start: 'add' }), join(dir, 'l.yaml'), { format: 'json' });
  try {
    const r = await controlRequest(left.sock, { cmd: 'up', name: 'to-void' });
    assert.deepEqual(r, { ok: false, error: "connection 'to-void' failed: peer not responding", cause: 'NO_ANSWER' });
    // 1 initial + 3 retransmits, each retransmit from one handleTimeout call
    assert.equal(left.fake.calls.filter((c) => c === 'timeout').length, 4);
    assert.equal(left.daemon.snapshot().transport.packetsOut, 4);
    assert.deepEqual(left.daemon.snapshot().exchanges.failed.isakmp, { NO_ANSWER: 1 });
    const failLine = left.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'phase 1 failed');
    assert.ok(failLine);
    assert.equal(failLine.level, 'warn');
    assert.equal(failLine.area, 'ike');
    assert.equal(failLine.connection, 'to-void');
    assert.equal(failLine.reason, 'peer not responding');
  } finally {
    await left.daemon.stop();
  }
});

test('NAT-T port: the non-ESP marker is stripped and added; ESP and keepalives are dropped', async () => {
  assert.deepEqual(classifyNattDatagram(Uint8Array.of(0xff)), { kind: 'keepalive' });
  assert.deepEqual(classifyNattDatagram(Uint8Array.of(0, 0, 0)), { kind: 'runt' });
  assert.deepEqual(classifyNattDatagram(Uint8Array.of(0, 0, 0, 1, 9)), { kind: 'esp' });
  assert.deepEqual(classifyNattDatagram(Uint8Array.of(0, 0, 0, 0, 9, 8)), { kind: 'ike', data: Uint8Array.of(9, 8) });
  assert.deepEqual(addNonEspMarker(Uint8Array.of(7)), Uint8Array.of(0, 0, 0, 0, 7));

  const dir = tempDir('isakmp-d-');
  const [dp, dn] = await freeUdpPorts(2);
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const peerPort = peer.address().port;
  const side = await startSide(cfgText({ port: dp!, natt: dn!, peerPort, sock: join(dir, 'n.sock'), name: 'natt', start: 'add' }), join(dir, 'n.yaml'));
  try {
    const got = new Promise<Buffer>((resolve) => peer.once('message', (m) => resolve(m)));
    const send = (b: Uint8Array) => new Promise<void>((r) => peer.send(b, dn!, '127.0.0.1', () => r()));
    await send(Uint8Array.of(0xff));
    await send(Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1));
    await send(addNonEspMarker(new TextEncoder().encode(JSON.stringify({ t: 'init', ic: '0102030405060708', spi: 'aabbccdd' }))));
    const answer = await got;
    assert.deepEqual([...answer.subarray(0, 4)], [0, 0, 0, 0], 'marker added on send');
    const body = JSON.parse(answer.subarray(4).toString()) as Record<string, string>;
    assert.equal(body.t, 'resp');
    assert.equal(body.ic, '0102030405060708');
    await side.events.wait((e) => e.type === 'ipsec-sa-established', 'responder SA');
    const c = side.daemon.snapshot().transport;
    assert.equal(c.keepalivesDropped, 1);
    assert.equal(c.espDropped, 1);
    assert.equal(c.packetsIn, 3);
    // the engine saw only the IKE datagram, without the marker, as arriving on the NAT-T port
    const initLen = JSON.stringify({ t: 'init', ic: '0102030405060708', spi: 'aabbccdd' }).length;
    assert.deepEqual(side.fake.calls.filter((x) => x.startsWith('datagram')), [`datagram 127.0.0.1:${peerPort}->${dn} ${initLen}`]);
    // RFC 3948 §2.3: with a NAT in front of us, a keepalive (one 0xff byte, no marker) keeps the mapping
    assert.equal(side.daemon.status().isakmp[0]?.nat?.local, true);
    const ka = new Promise<Buffer>((resolve) => peer.once('message', (m) => resolve(m)));
    assert.equal(side.fake.queueKeepalives(), 1, 'the engine\'s keepalive timer fired for the one SA behind a NAT');
    side.daemon.pump();
    assert.deepEqual([...(await ka)], [0xff]);
    assert.equal(side.daemon.snapshot().transport.keepalivesOut, 1);
  } finally {
    peer.close();
    await side.daemon.stop();
  }
});

function rawControl(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(text));
    s.on('data', (d: string) => (buf += d));
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
}

test('control socket: hostile and malformed requests get one error line', async () => {
  const dir = tempDir('isakmp-d-');
  const [a, b, c] = await freeUdpPorts(3);
  const side = await startSide(cfgText({ port: a!, natt: b!, peerPort: c!, sock: join(dir, 'c.sock'), name: 'x', start: 'add' }), join(dir, 'c.yaml'));
  try {
    assert.equal(await rawControl(side.sock, 'x'.repeat(5000)), '{"ok":false,"error":"request longer than 4096 bytes"}\n');
    assert.equal(await rawControl(side.sock, 'not json\n'), '{"ok":false,"error":"request is not JSON"}\n');
    assert.equal(await rawControl(side.sock, '[1]\n'), '{"ok":false,"error":"request must be a JSON object"}\n');
    assert.equal(await rawControl(side.sock, '{"cmd":"rm -rf"}\n'), '{"ok":false,"error":"unknown command \\"rm -rf\\" (up, down, status, reload, rekey)"}\n');
    assert.equal(await rawControl(side.sock, '{"cmd":"up"}\n'), '{"ok":false,"error":"up needs a connection name"}\n');
    assert.equal(await rawControl(side.sock, '{"cmd":"up","name":"x","timeoutMs":-1}\n'), '{"ok":false,"error":"timeoutMs must be an integer 0..600000"}\n');
    // a second daemon on the same socket path is refused, the first keeps working
    const other = new Daemon({ config: parseConfig(cfgText({ port: c!, natt: 0, peerPort: a!, sock: side.sock, name: 'y', start: 'add' }).replace('natt_port: 0', 'natt_port: 0'), 'o.yaml'), endpointFactory: (o) => new FakeEndpoint(o), logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }) });
    await assert.rejects(other.start(), /another daemon answers on .*c\.sock: stop it first/);
    assert.equal((await controlRequest(side.sock, { cmd: 'status' })).ok, true);
    await assert.rejects(controlRequest(join(dir, 'none.sock'), { cmd: 'status' }), /no daemon listening on .*none\.sock/);
  } finally {
    await side.daemon.stop();
  }
});

test('reload: unchanged connections keep their SAs, changed ones are replaced, a bad file is refused', async () => {
  const dir = tempDir('isakmp-d-');
  const [a, b, c, d] = await freeUdpPorts(4);
  const file = join(dir, 'r.yaml');
  const second = `  other:\n    secret: lo\n    local: { address: 127.0.0.1 }\n    remote: { address: 127.0.0.2, port: ${d} }\n    ike: aes256-sha1-ecp256\n`;
  const base = cfgText({ port: a!, natt: b!, peerPort: c!, sock: join(dir, 'r.sock'), name: 'keep', start: 'add', extra: second });
  const side = await startSide(base, file);
  try {
    assert.deepEqual([...side.fake.conns.keys()], ['keep', 'other']);
    writeFileSync(file, base.replace('aes256-sha1-ecp256', 'aes128-sha1-ecp256') + `  fresh:\n    secret: lo\n    local: { address: 127.0.0.1 }\n    remote: { address: 127.0.0.3 }\n    ike: aes128-sha256-modp2048\n`);
    const r = await controlRequest(side.sock, { cmd: 'reload' });
    assert.deepEqual(r, { ok: true, message: `reloaded ${file}: 1 unchanged, 1 changed (other), 1 added (fresh), 0 removed` });
    assert.deepEqual(side.fake.calls.filter((x) => /^(add|remove) /.test(x)), ['remove other', 'add other', 'add fresh']);
    assert.equal(side.fake.conns.get('other')?.ike[0]?.keyLength, 128);
    // settings read at start only: the answer names each one the file changed
    const changedGlobals = readFileSync(file, 'utf8').replace('shutdown_grace: 1s\n', 'shutdown_grace: 1s\n  max_half_open: 77\n  nat_keepalive: 30s\n  traffic_poll: 20s\n');
    writeFileSync(file, changedGlobals);
    const g = await controlRequest(side.sock, { cmd: 'reload' });
    assert.deepEqual(g, { ok: true, message: `reloaded ${file}: 3 unchanged, 0 changed, 0 added, 0 removed; max_half_open, nat_keepalive keep their running values until a restart` });
    writeFileSync(file, base.replace('ike: aes128-sha256-modp2048', 'ike: aes128-sha256-modp9999'));
    const bad = await controlRequest(side.sock, { cmd: 'reload' });
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /^reload refused, running configuration kept: .*r\.yaml:\d+:\d+: connections\.keep\.ike: unknown DH group 'modp9999'/);
    assert.deepEqual([...side.fake.conns.keys()], ['keep', 'other', 'fresh']);
  } finally {
    await side.daemon.stop();
  }
});


test('xfrm dataplane: a UDP-encapsulated SA (NAT-T, mode 3) gets ESP-in-UDP between the NAT-T ports, in both directions', async () => {
  const calls: string[] = [];
  const dp = new XfrmDataplane(async (args) => {
    calls.push(args.join(' '));
    return { code: 0, stderr: '' };
  });
  const sa: IpsecSaInfo = { ...fakeIpsecSa(), mode: 3, udpEncapsulation: true, local: { address: '198.18.0.1', port: 4500 }, remote: { address: '198.18.0.2', port: 14500 } };
  assert.equal((await dp.install(sa)).status, 'installed');
  const states = calls.filter((c) => c.startsWith('xfrm state add'));
  assert.equal(states.length, 2);
  assert.match(states[0]!, /^xfrm state add src 198\.18\.0\.1 dst 198\.18\.0\.2 proto esp spi 0xc0000002 reqid 1 mode tunnel enc .* 128 encap espinudp 4500 14500 0\.0\.0\.0$/);
  assert.match(states[1]!, /^xfrm state add src 198\.18\.0\.2 dst 198\.18\.0\.1 proto esp spi 0xc0000001 reqid 1 mode tunnel enc .* 128 encap espinudp 14500 4500 0\.0\.0\.0$/);
  assert.ok(calls.some((c) => c.endsWith('dir fwd priority 2000 tmpl src 198.18.0.2 dst 198.18.0.1 proto esp reqid 1 mode tunnel')), 'mode 3 is a tunnel: fwd policy too');
  // the peer's NAT mapping changes: both ESP SAs are updated in place with the new port
  calls.length = 0;
  assert.equal(await dp.update({ ...sa, remote: { address: '198.18.0.2', port: 50000 } }), undefined);
  assert.equal(calls.length, 2);
  assert.match(calls[0]!, /^xfrm state update src 198\.18\.0\.1 dst 198\.18\.0\.2 proto esp spi 0xc0000002 reqid 1 mode tunnel .* encap espinudp 4500 50000 0\.0\.0\.0$/);
  assert.match(calls[1]!, /^xfrm state update src 198\.18\.0\.2 dst 198\.18\.0\.1 proto esp spi 0xc0000001 reqid 1 mode tunnel .* encap espinudp 50000 4500 0\.0\.0\.0$/);
  assert.equal(await dp.update({ ...sa, id: 'unknown' }), undefined, 'nothing installed: nothing to update');
  // transport mode (4) behind a NAT: the peer's NAT-OA is the original address of both states
  const calls2: string[] = [];
  const dp2 = new XfrmDataplane(async (args) => {
    calls2.push(args.join(' '));
    return { code: 0, stderr: '' };
  });
  await dp2.install({ ...sa, mode: 4, peerOriginalAddress: '10.0.0.7' });
  const st2 = calls2.filter((c) => c.startsWith('xfrm state add'));
  assert.ok(st2.length === 2 && st2.every((c) => / mode transport .* encap espinudp \d+ \d+ 10\.0\.0\.7$/.test(c)), st2.join('\n'));
});

test('xfrm dataplane: exact ip xfrm commands, rollback and a clear kernel error', async () => {
  const calls: string[] = [];
  const ok = async (args: readonly string[]): Promise<CommandResult> => {
    calls.push(args.join(' '));
    return { code: 0, stderr: '' };
  };
  const dp = new XfrmDataplane(ok);
  const rec = await dp.install(fakeIpsecSa());
  assert.equal(rec.status, 'installed');
  const K = (b: number, n: number) => '0x' + b.toString(16).repeat(n);
  // first, once: IKE (UDP 500/4500, both directions, IPv4 and IPv6) bypasses our policies
  const bypass = calls.splice(0, 16);
  assert.equal(bypass[0], 'xfrm policy update src 0.0.0.0/0 dst 0.0.0.0/0 proto udp sport 500 dir out priority 100');
  assert.equal(bypass[15], 'xfrm policy update src ::/0 dst ::/0 proto udp dport 4500 dir in priority 100');
  assert.deepEqual(calls, [
    `xfrm state add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0xc0000002 reqid 1 mode tunnel enc cbc(aes) ${K(0xcc, 16)} auth-trunc hmac(sha256) ${K(0xdd, 32)} 128`,
    `xfrm state add src 198.18.0.2 dst 198.18.0.1 proto esp spi 0xc0000001 reqid 1 mode tunnel enc cbc(aes) ${K(0xaa, 16)} auth-trunc hmac(sha256) ${K(0xbb, 32)} 128`,
    'xfrm policy update src 10.1.0.0/16 dst 10.2.0.0/16 dir out priority 2000 tmpl src 198.18.0.1 dst 198.18.0.2 proto esp reqid 1 mode tunnel',
    'xfrm policy update src 10.2.0.0/16 dst 10.1.0.0/16 dir in priority 2000 tmpl src 198.18.0.2 dst 198.18.0.1 proto esp reqid 1 mode tunnel',
    'xfrm policy update src 10.2.0.0/16 dst 10.1.0.0/16 dir fwd priority 2000 tmpl src 198.18.0.2 dst 198.18.0.1 proto esp reqid 1 mode tunnel',
  ]);
  calls.length = 0;
  await dp.remove('qc0000001');
  assert.deepEqual(calls, [
    'xfrm policy delete src 10.2.0.0/16 dst 10.1.0.0/16 dir fwd',
    'xfrm policy delete src 10.2.0.0/16 dst 10.1.0.0/16 dir in',
    'xfrm policy delete src 10.1.0.0/16 dst 10.2.0.0/16 dir out',
    'xfrm state delete src 198.18.0.2 dst 198.18.0.1 proto esp spi 0xc0000001',
    'xfrm state delete src 198.18.0.1 dst 198.18.0.2 proto esp spi 0xc0000002',
  ]);

  // The kernel refuses the second SA: the first is removed again, no policy is added.
  calls.length = 0;
  const logged: string[] = [];
  let n = 0;
  const refuse = async (args: readonly string[]): Promise<CommandResult> => {
    if (args[1] !== 'state') return { code: 0, stderr: '' }; // bypass policies
    calls.push(args.slice(0, 3).join(' ') + ' ' + args[10]);
    return ++n === 2 ? { code: 2, stderr: 'Error: Requested type not found.' } : { code: 0, stderr: '' };
  };
  const dp2 = new XfrmDataplane(refuse, (m) => logged.push(m));
  const r2 = await dp2.install(fakeIpsecSa());
  assert.equal(r2.status, 'failed: kernel refused ESP SA 198.18.0.2 -> 198.18.0.1 spi 0xc0000001: Error: Requested type not found.');
  assert.deepEqual(calls, ['xfrm state add 0xc0000002', 'xfrm state add 0xc0000001', 'xfrm state delete 0xc0000002']);
  assert.equal(logged.length, 1);
  assert.ok(!logged[0]!.includes('cccc'), 'no key in the log');
  assert.match(logged[0]!, /the IKE SAs stay up/);
});

test('xfrm dataplane against this kernel: a real ip xfrm call reports the kernel error', { skip: process.getuid?.() !== 0 || spawnSync('ip', ['-V']).status !== 0 ? 'needs root and iproute2' : false }, async () => {
  // In a throw-away network namespace, so the host's tables are never touched.
  const ns = `isk-xfrm-${process.pid}`;
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  try {
    const inNs = (args: readonly string[]) => spawnIp(['-n', ns, ...args]);
    const sa = { ...fakeIpsecSa(), local: { address: '198.51.100.201', port: 500 }, remote: { address: '198.51.100.202', port: 500 } };
    const logged: string[] = [];
    const dp = new XfrmDataplane(inNs, (m) => logged.push(m));
    const r = await dp.install(sa);
    if (r.status !== 'installed') {
      assert.match(r.status, /^failed: kernel refused ESP SA 198\.51\.100\.201 -> 198\.51\.100\.202 spi 0xc0000002: Error: Requested type not found\.$/);
      const states = spawnSync('ip', ['-n', ns, 'xfrm', 'state', 'list']);
      assert.equal(states.stdout.toString().trim(), '', 'no SA left behind');
      const pol = spawnSync('ip', ['-n', ns, 'xfrm', 'policy', 'list']).stdout.toString();
      assert.ok(!pol.includes('10.1.0.0/16'), 'no SA policy added for a refused SA');
    }
    await dp.flush();
    assert.equal(spawnSync('ip', ['-n', ns, 'xfrm', 'policy', 'list']).stdout.toString().trim(), '', 'flush removes the IKE bypass too');
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});

test('metrics: Prometheus text of the counters, one family per unit', async () => {
  const c = new Counters();
  c.initiated('main', 'a');
  c.initiated('main', 'a');
  c.finished('main', 'a', { result: 'completed' });
  c.finished('main', 'a', { result: 'failed', notify: 'INVALID_HASH_INFORMATION' });
  c.finished('main', 'b', { result: 'completed' });
  c.drop('PAYLOAD_MALFORMED');
  c.drop('PAYLOAD_MALFORMED');
  const transport = { packetsIn: 5, bytesIn: 900, espDropped: 1, keepalivesDropped: 1, packetsOut: 4, bytesOut: 700, keepalivesOut: 2 };
  const reg = await createMetricsRegistry({
    snapshot: () => c.snapshot(transport, { 'isakmp:established': 2 }),
    connectionFigures: () => [{ connection: 'a', sas: { 'isakmp:established': 2 }, lifetimeLeft: { isakmp: 100 }, up: false }],
  });
  const text = await reg.scrape();
  assert.ok(text.includes('# TYPE isakmp_exchanges_started_total counter\nisakmp_exchanges_started_total{exchange="main"} 3\nisakmp_exchanges_started_total{exchange="aggressive"} 0\nisakmp_exchanges_started_total{exchange="quick"} 0\n'), text);
  assert.ok(text.includes('isakmp_exchanges_finished_total{exchange="main",result="completed"} 2\n'));
  assert.ok(text.includes('isakmp_exchanges_finished_total{exchange="main",result="failed",notify="INVALID_HASH_INFORMATION"} 1\n'));
  assert.ok(text.includes('isakmp_packets_dropped_total{reason="PAYLOAD_MALFORMED"} 2\n'));
  // packets and bytes in families of their own; received datagrams by what they were
  assert.ok(text.includes('isakmp_packets_received_total{kind="isakmp"} 3\nisakmp_packets_received_total{kind="esp"} 1\nisakmp_packets_received_total{kind="nat_keepalive"} 1\nisakmp_packets_received_total{kind="runt"} 0\n'), text);
  assert.ok(text.includes('isakmp_bytes_received_total 900\n'));
  assert.ok(text.includes('isakmp_packets_sent_total{kind="isakmp"} 4\nisakmp_packets_sent_total{kind="nat_keepalive"} 2\n'));
  assert.ok(text.includes('isakmp_bytes_sent_total 702\n'), 'keepalives are one octet each');
  assert.ok(!text.includes('isakmp_transport_total'));
  assert.ok(text.includes('isakmp_sas{kind="isakmp",state="established"} 2\n'));
  assert.ok(text.includes('isakmp_connection_sas{connection="a",kind="isakmp",state="established"} 2\n'));
  assert.ok(text.includes('isakmp_connection_lifetime_remaining_seconds{connection="a",kind="isakmp"} 100\n'));
  assert.ok(text.includes('isakmp_connection_up{connection="a"} 0\n'));
  assert.match(text, /^isakmp_build_info\{version="[^"]+",nodejs="v\d+[^"]*"\} 1$/m);
  assert.match(text, /^process_cpu_seconds_total \d/m);
  // label sets stay bounded
  for (let i = 0; i < 100; i++) c.drop(`X${i}`);
  assert.ok(Object.keys(c.dropped).length <= 65);
  assert.ok((c.dropped.OTHER ?? 0) > 0);
});

test('updown environment and key log lines', () => {
  const sa = fakeIpsecSa();
  assert.deepEqual(updownEnv('up', 'established', sa), {
    ISAKMP_EVENT: 'up',
    ISAKMP_REASON: 'established',
    ISAKMP_CONNECTION: 'lab',
    ISAKMP_ROLE: 'initiator',
    ISAKMP_LOCAL_ADDR: '198.18.0.1',
    ISAKMP_REMOTE_ADDR: '198.18.0.2',
    ISAKMP_LOCAL_TS: '10.1.0.0/16',
    ISAKMP_REMOTE_TS: '10.2.0.0/16',
    ISAKMP_PROTOCOL: 'esp',
    ISAKMP_MODE: 'tunnel',
    ISAKMP_SPI_IN: 'c0000001',
    ISAKMP_SPI_OUT: 'c0000002',
    ISAKMP_SA_ID: 'qc0000001',
  });
  assert.equal(ikeKeyLogLine(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xff), Uint8Array.of(0xab, 0xcd)), '01020304050607ff,abcd');
  assert.deepEqual(espKeyLogLines(sa), [
    `"IPv4","198.18.0.1","198.18.0.2","0xc0000002","AES-CBC [RFC3602]","0x${'cc'.repeat(16)}","HMAC-SHA-256-128 [RFC4868]","0x${'dd'.repeat(32)}"`,
    `"IPv4","198.18.0.2","198.18.0.1","0xc0000001","AES-CBC [RFC3602]","0x${'aa'.repeat(16)}","HMAC-SHA-256-128 [RFC4868]","0x${'bb'.repeat(32)}"`,
  ]);
});

test('logger: levels per area, text and JSON', () => {
  const out: string[] = [];
  const log = new Logger({ level: 'warn', areas: { ike: 'debug' }, format: 'text', write: (l) => out.push(l), clock: () => new Date(0) });
  log.info('net', 'hidden');
  log.debug('ike', 'shown', { a: 1, b: 'two words' });
  log.configure({ format: 'json' });
  log.warn('net', 'json line', { x: true, y: undefined });
  assert.deepEqual(out, [
    '1970-01-01T00:00:00.000Z DEBUG [ike] shown a=1 b="two words"\n',
    '{"time":"1970-01-01T00:00:00.000Z","level":"warn","area":"net","msg":"json line","x":true}\n',
  ]);
});

test('metrics: served as Prometheus text on a localhost port', async () => {
  const dir = tempDir('isakmp-d-');
  const [a, b, c] = await freeUdpPorts(3);
  const [m] = await freeUdpPorts(1); // a TCP port that is very likely free as well
  const side = await startSide(cfgText({ port: a!, natt: b!, peerPort: c!, sock: join(dir, 'm.sock'), name: 'x', start: 'add', global: `  metrics: 127.0.0.1:${m}\n` }), join(dir, 'm.yaml'));
  try {
    const res = await fetch(`http://127.0.0.1:${m}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.ok(text.includes('isakmp_exchanges_started_total{exchange="main"} 0\n'), text);
    assert.ok(text.includes('isakmp_packets_received_total{kind="isakmp"} 0\n'));
    assert.ok(text.includes('isakmp_connection_up{connection="x"} 0\n'));
    assert.equal((await fetch(`http://127.0.0.1:${m}/other`)).status, 404);
  } finally {
    await side.daemon.stop();
  }
});

test('on-demand: a kernel acquire for a trapped connection makes the daemon initiate, once', async () => {
  const dir = tempDir('isakmp-d-');
  const [a, b, c] = await freeUdpPorts(3);
  const calls: string[] = [];
  const lines: ((l: string) => void)[] = [];
  let stopped = 0;
  const dp = new XfrmDataplane(
    async (args) => {
      calls.push(args.join(' '));
      return { code: 0, stderr: '' };
    },
    () => {},
    () => ({ onLine: (f) => lines.push(f), stop: () => stopped++ }),
  );
  const text = cfgText({ port: a!, natt: b!, peerPort: c!, sock: join(dir, 'od.sock'), name: 'od', start: 'on-demand', global: '  dataplane: xfrm\n', extra: '    local_ts: 10.1.0.0/16\n    remote_ts: 10.2.0.0/16\n' });
  writeFileSync(join(dir, 'od.yaml'), text);
  let fake: FakeEndpoint | undefined;
  const events = new EventLog();
  const daemon = new Daemon({
    config: parseConfig(text, join(dir, 'od.yaml')),
    endpointFactory: (o) => (fake = new FakeEndpoint(o)),
    dataplane: dp,
    random,
    logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }),
    onEvent: events.push,
  });
  await daemon.start();
  try {
    assert.ok(calls.includes('xfrm policy update src 10.1.0.0/16 dst 10.2.0.0/16 dir out priority 2000 tmpl src 127.0.0.1 dst 127.0.0.1 proto esp mode tunnel level required'), calls.join('\n'));
    assert.equal(lines.length, 1, 'the acquire monitor runs');
    assert.deepEqual(fake!.calls.filter((x) => x.startsWith('initiate')), []);
    // what `ip xfrm monitor acquire` prints for a packet from 10.1.2.3 to 10.2.3.4
    for (const l of ['acquire proto esp ', '  sel src 10.1.2.3/32 dst 10.2.3.4/32 proto udp sport 5000 dport 9 dev veth0 ', '  policy src 10.1.0.0/16 dst 10.2.0.0/16 ', '    \tdir out priority 2000 ptype main ']) lines[0]!(l);
    assert.deepEqual(fake!.calls.filter((x) => x.startsWith('initiate')), ['initiate od']);
    // a second acquire while the first is being answered does nothing
    lines[0]!('  policy src 10.1.0.0/16 dst 10.2.0.0/16 ');
    lines[0]!('  policy src 10.9.0.0/16 dst 10.2.0.0/16 '); // not ours
    assert.deepEqual(fake!.calls.filter((x) => x.startsWith('initiate')), ['initiate od']);
  } finally {
    await daemon.stop();
  }
  assert.equal(stopped, 1, 'the monitor is stopped with the daemon');
  assert.ok(calls.includes('xfrm policy delete src 10.1.0.0/16 dst 10.2.0.0/16 dir out'), 'the trap is removed on shutdown');
  assert.ok(calls.includes('xfrm policy delete src 0.0.0.0/0 dst 0.0.0.0/0 proto udp sport 500 dir out'), 'and the IKE bypass');
});
