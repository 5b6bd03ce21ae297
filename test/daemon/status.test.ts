/**
 * `isakmp status` field by field (text and JSON), IPsec SA states, byte counters from the xfrm
 * adapter (`ip -s xfrm state`, recorded: this kernel cannot hold ESP SAs) fed to the engine's
 * kilobyte lifetimes, and the labels of the engine's notify-less drops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { formatStatus } from '../../src/cli/control.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { StatusData } from '../../src/daemon/status.js';
import { XfrmDataplane, parseXfrmStateStats, type CommandResult, type Dataplane, type DataplaneRecord } from '../../src/daemon/dataplane.js';
import { Logger } from '../../src/daemon/log.js';
import { dropLabel } from '../../src/daemon/counters.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { Endpoint } from '../../src/exchange/index.js';
import type { EngineEvent, IpsecSaInfo } from '../../src/exchange/types.js';
import { FakeEndpoint } from './fake-endpoint.js';
import { EventLog, fakeIpsecSa, freeUdpPorts, tempDir } from './helpers.js';

let seed = 7;
const random = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 37 + i * 11) & 0xff;
  seed++;
  return out;
};
const quiet = (): Logger => new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function conf(o: { port: number; peer: number; sock: string; name: string; start: string; localId?: string; global?: string; extra?: string }): string {
  return `global:
  listen: [127.0.0.1]
  port: ${o.port}
  natt_port: 0
  control_socket: ${o.sock}
  shutdown_grace: 1s
${o.global ?? ''}secrets:
  s:
    psk: status-test-secret
    allow_weak_psk: true
connections:
  ${o.name}:
    secret: s
    local: { address: 127.0.0.1${o.localId !== undefined ? `, id: "${o.localId}"` : ''} }
    remote: { address: 127.0.0.1, port: ${o.peer} }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
    start: ${o.start}
${o.extra ?? ''}`;
}

interface Kernel {
  /** `ip` calls, without the `-s xfrm state list` reads. */
  calls: string[];
  /** Bytes the fake kernel reports per SPI ('0x…'). */
  bytes: Map<string, number>;
  reads: number;
  run: (args: readonly string[]) => Promise<CommandResult>;
}

/** One SA as `ip -s xfrm state list` (iproute2 6.1) prints it. */
function xfrmStateBlock(src: string, dst: string, spi: string, reqid: number, bytes: number, packets: number, softLimit = '(INF)'): string {
  const n = parseInt(spi.slice(2), 16);
  return [
    `src ${src} dst ${dst}`,
    `\tproto esp spi ${spi}(${n}) reqid ${reqid}(0x${reqid.toString(16).padStart(8, '0')}) mode tunnel`,
    '\treplay-window 0 seq 0x00000000 flag  (0x00000000)',
    `\tauth-trunc hmac(sha256) 0x${'dd'.repeat(32)} (256 bits) 128`,
    `\tenc cbc(aes) 0x${'cc'.repeat(16)} (128 bits)`,
    '\tlifetime config:',
    `\t  limit: soft ${softLimit}(bytes), hard (INF)(bytes)`,
    '\t  limit: soft (INF)(packets), hard (INF)(packets)',
    '\t  expire add: soft 0(sec), hard 0(sec)',
    '\t  expire use: soft 0(sec), hard 0(sec)',
    '\tlifetime current:',
    `\t  ${bytes}(bytes), ${packets}(packets)`,
    '\t  add 2026-11-29 01:00:00 use 2026-11-29 01:00:05',
    '\tstats:',
    '\t  replay-window 0 replay 0 failed 0',
    '',
  ].join('\n');
}

/** A recording `ip` that accepts every command and answers `ip -s xfrm state list` from what was added. */
function fakeKernel(): Kernel {
  const k: Kernel = {
    calls: [],
    bytes: new Map(),
    reads: 0,
    run: async (args) => {
      if (args[0] === '-s') {
        k.reads++;
        const states = k.calls.filter((c) => c.startsWith('xfrm state add ')).map((c) => c.split(' '));
        const text = states
          .filter((a) => !k.calls.includes(`xfrm state delete src ${a[4]} dst ${a[6]} proto esp spi ${a[10]}`))
          .map((a) => xfrmStateBlock(a[4]!, a[6]!, a[10]!, Number(a[12]), k.bytes.get(a[10]!) ?? 0, 0))
          .join('');
        return { code: 0, stderr: '', stdout: text };
      }
      k.calls.push(args.join(' '));
      return { code: 0, stderr: '' };
    },
  };
  return k;
}

test('ip -s xfrm state: exact byte and packet counts per SA, config limits are not counters', () => {
  const text =
    xfrmStateBlock('198.18.0.1', '198.18.0.2', '0xc0000002', 1, 123456, 789, '1048576') +
    xfrmStateBlock('198.18.0.2', '198.18.0.1', '0xc0000001', 1, 65536, 64) +
    xfrmStateBlock('2001:db8:0:0::1', '2001:db8::2', '0x0000abcd', 2, 0, 0) +
    // the layout of very old iproute2 versions: decimal SPI first
    xfrmStateBlock('198.18.0.3', '198.18.0.4', '0x00001234', 3, 10, 1).replace('spi 0x00001234(4660)', 'spi 4660(0x00001234)');
  assert.deepEqual(parseXfrmStateStats(text), [
    { src: '198.18.0.1', dst: '198.18.0.2', proto: 'esp', spi: 0xc0000002, bytes: 123456, packets: 789 },
    { src: '198.18.0.2', dst: '198.18.0.1', proto: 'esp', spi: 0xc0000001, bytes: 65536, packets: 64 },
    { src: '2001:db8::1', dst: '2001:db8::2', proto: 'esp', spi: 0xabcd, bytes: 0, packets: 0 },
    { src: '198.18.0.3', dst: '198.18.0.4', proto: 'esp', spi: 0x1234, bytes: 10, packets: 1 },
  ]);
  assert.deepEqual(parseXfrmStateStats(''), []);
  assert.deepEqual(parseXfrmStateStats('garbage\n\tlifetime current:\n\t  5(bytes), 1(packets)\n'), []);
});


test('xfrm traffic(): one `ip -s xfrm state list`, inbound + outbound summed per installed SA', async () => {
  const kern = fakeKernel();
  const logged: string[] = [];
  const dp = new XfrmDataplane(kern.run, (m) => logged.push(m));
  assert.deepEqual(await dp.traffic(), new Map(), 'nothing installed: no read');
  assert.equal(kern.reads, 0);
  await dp.install(fakeIpsecSa());
  kern.bytes.set('0xc0000002', 123456).set('0xc0000001', 65536);
  assert.deepEqual(await dp.traffic(), new Map([['qc0000001', 123456 + 65536]]));
  assert.equal(kern.reads, 1);
  // a failed read is reported without the output (it holds keys)
  const bad = new XfrmDataplane(async (a) => (a[0] === '-s' ? { code: 1, stderr: 'RTNETLINK answers: Operation not permitted', stdout: 'enc cbc(aes) 0xcccc' } : { code: 0, stderr: '' }), (m) => logged.push(m));
  await bad.install(fakeIpsecSa());
  assert.deepEqual(await bad.traffic(), new Map());
  assert.deepEqual(logged, ['xfrm: reading the SA byte counters: RTNETLINK answers: Operation not permitted']);
  await dp.remove('qc0000001');
  assert.deepEqual(await dp.traffic(), new Map());
});

async function fakeSide(text: string, file: string, extra: { dataplane?: Dataplane } = {}): Promise<{ daemon: Daemon; fake: FakeEndpoint; events: EventLog }> {
  writeFileSync(file, text);
  let fake: FakeEndpoint | undefined;
  const events = new EventLog();
  const daemon = new Daemon({
    config: parseConfig(text, file),
    random,
    endpointFactory: (o) => (fake = new FakeEndpoint(o)),
    logger: quiet(),
    onEvent: events.push,
    ...(extra.dataplane !== undefined ? { dataplane: extra.dataplane } : {}),
  });
  await daemon.start();
  return { daemon, fake: fake as FakeEndpoint, events };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

test('status, JSON and text: state, peer, both IDs, algorithms, lifetimes left and bytes of every SA', async () => {
  const dir = tempDir('isakmp-st-');
  const [lp, rp] = await freeUdpPorts(2);
  const kern = fakeKernel();
  const right = await fakeSide(conf({ port: rp!, peer: lp!, sock: join(dir, 'r.sock'), name: 'to-left', start: 'add' }), join(dir, 'r.yaml'));
  const left = await fakeSide(
    conf({ port: lp!, peer: rp!, sock: join(dir, 'l.sock'), name: 'to-right', start: 'start', localId: '@left.test', global: '  dataplane: xfrm\n  traffic_poll: 30s\n' }),
    join(dir, 'l.yaml'),
    { dataplane: new XfrmDataplane(kern.run) },
  );
  try {
    const ev = (await left.events.wait((e) => e.type === 'ipsec-sa-established', 'left IPsec SA')) as Extract<EngineEvent, { type: 'ipsec-sa-established' }>;
    await right.events.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');
    const sa = ev.sa;
    const p = sa.protocols[0]!;
    const spiIn = hex(p.inbound.spi);
    const spiOut = hex(p.outbound.spi);
    // the install is asynchronous: wait for it, then the poll timer runs (only while SAs exist)
    for (let i = 0; i < 100 && left.daemon.status().ipsec[0]?.state !== 'established'; i++) await new Promise((r) => setImmediate(r));
    assert.equal(left.daemon.trafficPollArmed, true);
    assert.equal(right.daemon.trafficPollArmed, false, 'the none adapter has no counters: no poll');

    // before any poll the bytes are not known
    let st = left.daemon.status();
    assert.equal(st.ipsec[0]!.bytes, null);
    kern.bytes.set(`0x${spiOut}`, 4096).set(`0x${spiIn}`, 1000);
    assert.equal(await left.daemon.pollTraffic(), 1);
    assert.deepEqual(left.fake.calls.filter((c) => c.startsWith('traffic ')), [`traffic ${sa.id} 5096`]);

    const c = capture();
    assert.equal(await runCli(['status', '--json', '--socket', join(dir, 'l.sock')], c.io), 0, c.err.join('\n'));
    st = JSON.parse(c.out.join('\n')) as StatusData;
    const ik = st.isakmp[0]!;
    const p1 = left.fake.isakmpSas()[0]!;
    assert.deepEqual(ik, {
      id: p1.id,
      connection: 'to-right',
      role: 'initiator',
      exchange: 'main',
      state: 'established',
      local: `127.0.0.1:${lp}`,
      remote: `127.0.0.1:${rp}`,
      initiatorCookie: hex(p1.initiatorCookie),
      responderCookie: hex(p1.responderCookie),
      localId: 'left.test',
      peerId: '127.0.0.1',
      algorithms: 'aes128-sha256-modp2048 psk',
      establishedAt: new Date(Math.round(p1.establishedAt! / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      age: ik.age,
      lifetimeLeft: ik.lifetimeLeft,
    });
    assert.ok(ik.lifetimeLeft! > 3500 && ik.lifetimeLeft! <= 3600);
    assert.ok(ik.age! >= 0 && ik.age! < 60);
    const q = st.ipsec[0]!;
    assert.deepEqual(q, {
      id: sa.id,
      isakmpSa: p1.id,
      connection: 'to-right',
      role: 'initiator',
      mode: 'tunnel',
      udpEncapsulation: false,
      local: '127.0.0.1',
      remote: '127.0.0.1',
      localTs: '127.0.0.1',
      remoteTs: '127.0.0.1',
      spiIn,
      spiOut,
      state: 'established',
      algorithms: 'esp aes128-sha256-modp2048',
      establishedAt: new Date(Math.round(sa.establishedAt / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      age: q.age,
      lifetimeLeft: q.lifetimeLeft,
      lifetimeKilobytes: 0,
      bytes: 5096,
      dataplane: 'installed',
    });
    assert.equal(st.counters.sas['ipsec:established'], 1);

    // the text form carries the same fields
    const t = capture();
    assert.equal(await runCli(['status', '--socket', join(dir, 'l.sock')], t.io), 0);
    const i = t.out.indexOf('ISAKMP SAs (1):');
    const dur = (x: number): string => (x >= 3600 ? `${Math.floor(x / 3600)}h${String(Math.floor((x % 3600) / 60)).padStart(2, '0')}m` : x >= 60 ? `${Math.floor(x / 60)}m${String(x % 60).padStart(2, '0')}s` : `${x}s`);
    // the IPsec SA nested under the ISAKMP SA it was negotiated under
    assert.deepEqual(t.out.slice(i, i + 11), [
      'ISAKMP SAs (1):',
      `  to-right         ESTABLISHED initiator main 127.0.0.1:${lp} <-> 127.0.0.1:${rp}`,
      `    cookies ${ik.initiatorCookie}_i ${ik.responderCookie}_r`,
      '    local id left.test  peer id 127.0.0.1',
      '    aes128-sha256-modp2048 psk',
      `    established ${ik.establishedAt} (${dur(ik.age!)} ago), expires in ${dur(ik.lifetimeLeft!)}`,
      '    IPsec SAs (1):',
      `      to-right         ESTABLISHED initiator tunnel 127.0.0.1 <-> 127.0.0.1 spi in ${spiIn} out ${spiOut}`,
      '        127.0.0.1 === 127.0.0.1  esp aes128-sha256-modp2048',
      `        established ${q.establishedAt} (${dur(q.age)} ago), expires in ${dur(q.lifetimeLeft)}, bytes 5096, dataplane installed`,
      'IPsec SAs (1): each under its ISAKMP SA above',
    ]);

    // the none adapter: bytes stay null ("where known"), the local id defaults to the address
    const rs = right.daemon.status();
    assert.equal(rs.ipsec[0]!.bytes, null);
    assert.equal(rs.ipsec[0]!.state, 'established');
    assert.equal(rs.ipsec[0]!.dataplane, 'recorded');
    assert.equal(rs.isakmp[0]!.localId, '127.0.0.1');
    assert.equal(await right.daemon.pollTraffic(), 0);
    assert.ok(formatStatus(rs).some((l) => l.endsWith(', bytes n/a, dataplane recorded')));

    // soft lifetime reached, then the rekey replaces it: expiring, then rekeyed
    left.fake.inject({ type: 'expired', kind: 'ipsec', id: sa.id, connection: 'to-right', hard: false });
    left.fake.inject({ type: 'expired', kind: 'isakmp', id: p1.id, connection: 'to-right', hard: false });
    left.daemon.pump();
    assert.equal(left.daemon.status().ipsec[0]!.state, 'expiring');
    assert.equal(left.daemon.status().isakmp[0]!.state, 'expiring');
    left.fake.inject({ type: 'rekeyed', kind: 'ipsec', old: sa.id, sa: 'qffffffff' });
    left.fake.inject({ type: 'rekeyed', kind: 'isakmp', old: p1.id, sa: 'ffff' });
    left.daemon.pump();
    assert.equal(left.daemon.status().ipsec[0]!.state, 'rekeyed');
    assert.equal(left.daemon.status().isakmp[0]!.state, 'rekeyed');
    assert.match(formatStatus(left.daemon.status()).join("\n"), /\n {6}to-right {9}REKEYED initiator tunnel /);
    assert.equal(left.daemon.snapshot().sas['ipsec:rekeyed'], 1);

    // no IPsec SA left: the poll stops
    assert.equal((await runCli(['down', 'to-right', '--socket', join(dir, 'l.sock')], capture().io)), 0);
    assert.equal(left.daemon.trafficPollArmed, false);
  } finally {
    await left.daemon.stop();
    await right.daemon.stop();
  }
});

test('IPsec SA states while the dataplane installs it and when the kernel refuses it', async () => {
  const dir = tempDir('isakmp-st-');
  const [lp, rp] = await freeUdpPorts(2);
  let release: () => void = () => {};
  const slow: Dataplane = {
    name: 'none',
    install: (sa) => new Promise<DataplaneRecord>((resolve) => (release = () => resolve({ id: sa.id, connection: sa.connection, status: 'recorded' }))),
    remove: async () => {},
    records: () => [],
    flush: async () => {},
  };
  const right = await fakeSide(conf({ port: rp!, peer: lp!, sock: join(dir, 'r.sock'), name: 'to-left', start: 'add' }), join(dir, 'r.yaml'), {
    dataplane: new XfrmDataplane(async (a) => (a[1] === 'state' ? { code: 2, stderr: 'Error: Requested type not found.' } : { code: 0, stderr: '' })),
  });
  const left = await fakeSide(conf({ port: lp!, peer: rp!, sock: join(dir, 'l.sock'), name: 'to-right', start: 'start' }), join(dir, 'l.yaml'), { dataplane: slow });
  try {
    await left.events.wait((e) => e.type === 'ipsec-sa-established', 'left IPsec SA');
    await right.events.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');
    assert.equal(left.daemon.status().ipsec[0]!.state, 'installing');
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(left.daemon.status().ipsec[0]!.state, 'established');
    let rq = right.daemon.status().ipsec[0]!;
    for (let i = 0; i < 100 && rq.state === 'installing'; i++) {
      await new Promise((r) => setImmediate(r));
      rq = right.daemon.status().ipsec[0]!;
    }
    assert.equal(rq.state, 'failed-install');
    assert.match(rq.dataplane!, /^failed: kernel refused ESP SA /);
    assert.equal(rq.bytes, null);
    assert.equal(right.daemon.trafficPollArmed, false, 'nothing installed: nothing to poll');
    assert.ok(formatStatus(right.daemon.status()).some((l) => / {2}to-left {10}FAILED-INSTALL responder tunnel /.test(l)));
  } finally {
    await left.daemon.stop();
    await right.daemon.stop();
  }
});

test('UDP-encapsulated IPsec SAs (RFC 3947 modes 3/4): status says tunnel or transport, and udp-encap', async () => {
  const dir = tempDir('isakmp-st-');
  const [lp, rp] = await freeUdpPorts(2);
  const right = await fakeSide(conf({ port: rp!, peer: lp!, sock: join(dir, 'r.sock'), name: 'to-left', start: 'add' }), join(dir, 'r.yaml'));
  const left = await fakeSide(conf({ port: lp!, peer: rp!, sock: join(dir, 'l.sock'), name: 'to-right', start: 'start', extra: '    encap: true\n' }), join(dir, 'l.yaml'));
  try {
    const ev = (await left.events.wait((e) => e.type === 'ipsec-sa-established', 'left IPsec SA')) as Extract<EngineEvent, { type: 'ipsec-sa-established' }>;
    assert.equal(ev.sa.mode, 3, 'the engine reports RFC 3947 UDP-encapsulated tunnel');
    await right.events.wait((e) => e.type === 'ipsec-sa-established', 'right IPsec SA');
    const l = left.daemon.status().ipsec[0]!;
    assert.deepEqual([l.mode, l.udpEncapsulation], ['tunnel', true]);
    // the ports ESP-in-UDP goes between: the SA's own (a NAT's port on a gateway, moved with it)
    assert.deepEqual(l.udpEncapsulationPorts, { local: ev.sa.local.port, remote: ev.sa.remote.port });
    const r = right.daemon.status().ipsec[0]!;
    assert.deepEqual([r.mode, r.udpEncapsulation, r.udpEncapsulationPorts], ['tunnel', false, undefined]);
    assert.ok(formatStatus(left.daemon.status()).some((x) => / initiator tunnel\/udp-encap 127\.0\.0\.1 /.test(x)));
    assert.ok(formatStatus(left.daemon.status()).some((x) => new RegExp(` udp ${ev.sa.local.port} <-> ${ev.sa.remote.port} spi in `).test(x)));
  } finally {
    await left.daemon.stop();
    await right.daemon.stop();
  }
});

test('kilobyte lifetimes with xfrm: kernel byte counts make the real engine rekey at the soft limit and expire at the hard limit', async () => {
  const dir = tempDir('isakmp-st-');
  const [lp, rp] = await freeUdpPorts(2);
  const kl = fakeKernel();
  const kr = fakeKernel();
  const mk = (text: string, file: string, kern: Kernel, ev: EventLog): Daemon => {
    writeFileSync(file, text);
    return new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, dataplane: new XfrmDataplane(kern.run), logger: quiet(), onEvent: ev.push });
  };
  const lev = new EventLog();
  const rev = new EventLog();
  const kb = '    lifetime_kb: 1000\n';
  const right = mk(conf({ port: rp!, peer: lp!, sock: join(dir, 'r.sock'), name: 'to-left', start: 'add', global: '  dataplane: xfrm\n', extra: kb }), join(dir, 'r.yaml'), kr, rev);
  const left = mk(conf({ port: lp!, peer: rp!, sock: join(dir, 'l.sock'), name: 'to-right', start: 'start', global: '  dataplane: xfrm\n', extra: kb }), join(dir, 'l.yaml'), kl, lev);
  await right.start();
  await left.start();
  try {
    const first = (await lev.wait((e) => e.type === 'ipsec-sa-established', 'first IPsec SA')) as Extract<EngineEvent, { type: 'ipsec-sa-established' }>;
    assert.equal(first.sa.lifetimeKilobytes, 1000);
    for (let i = 0; i < 100 && kl.calls.filter((c) => c.startsWith('xfrm state add')).length < 2; i++) await new Promise((r) => setImmediate(r));
    const out = `0x${hex(first.sa.protocols[0]!.outbound.spi)}`;
    const inn = `0x${hex(first.sa.protocols[0]!.inbound.spi)}`;
    // 999 KiB through the SA: past the soft limit, below the hard one: the initiator rekeys
    kl.bytes.set(out, 600 * 1024).set(inn, 399 * 1024);
    assert.equal(await left.pollTraffic(), 1);
    const soft = left.status().ipsec.find((q) => q.id === first.sa.id)!;
    assert.equal(soft.kilobytesLeft, 1);
    assert.equal(soft.bytes, 999 * 1024);
    assert.equal(soft.state, 'expiring', 'soft kilobyte limit reached, rekey under way');
    const fresh = (await lev.wait((e) => e.type === 'ipsec-sa-established' && e.sa.id !== first.sa.id, 'the rekeyed IPsec SA')) as typeof first;
    assert.equal(fresh.rekeyOf, first.sa.id);
    assert.equal(left.status().ipsec.some((q) => q.id === first.sa.id), false, 'the replaced SA is deleted');
    // the new SA reaches the hard limit: it expires at once
    for (let i = 0; i < 100 && kl.calls.filter((c) => c.startsWith('xfrm state add')).length < 4; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(left.status().ipsec.map((q) => [q.id, q.state, q.bytes]), [[fresh.sa.id, 'established', null]]);
    kl.bytes.set(`0x${hex(fresh.sa.protocols[0]!.outbound.spi)}`, 1000 * 1024);
    assert.equal(await left.pollTraffic(), 1);
    const gone = await lev.wait((e) => e.type === 'expired' && e.hard && e.id === fresh.sa.id, 'hard expiry of the new SA');
    assert.equal(gone.type, 'expired');
    assert.deepEqual(left.status().ipsec, []);
    assert.equal(left.trafficPollArmed, false);
    await rev.wait((e) => e.type === 'deleted' && e.kind === 'ipsec' && e.id === 'q' + hex(fresh.sa.protocols[0]!.outbound.spi) && e.by === 'peer', 'the peer learns of the expiry');
  } finally {
    await left.stop();
    await right.stop();
  }
});

test('dropped datagrams without a notify are counted under the engine\'s drop code, not UNKNOWN(0)', async () => {
  assert.equal(dropLabel('PAYLOAD_MALFORMED', undefined), 'PAYLOAD_MALFORMED');
  assert.equal(dropLabel(undefined, 'HALF_OPEN_EVICTED'), 'HALF_OPEN_EVICTED');
  assert.equal(dropLabel(undefined, undefined), 'NO_NOTIFY');

  // The real engine, at its per-peer half-open cap: the oldest half-open entry is evicted.
  const dir = tempDir('isakmp-st-');
  const [dp, client] = await freeUdpPorts(2);
  const text = conf({ port: dp!, peer: client!, sock: join(dir, 'h.sock'), name: 'peer', start: 'add', global: '  max_half_open_per_peer: 2\n' });
  const events = new EventLog();
  const daemon = new Daemon({ config: parseConfig(text, join(dir, 'h.yaml')), endpointFactory: realEndpointFactory, logger: quiet(), onEvent: events.push });
  await daemon.start();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(client!, '127.0.0.1', () => r()));
  try {
    const conn = parseConfig(conf({ port: client!, peer: dp!, sock: join(dir, 'x.sock'), name: 'c', start: 'add' }), 'c.yaml').connections[0]!;
    const { toEngineConnection } = await import('../../src/daemon/engine.js');
    for (let i = 0; i < 3; i++) {
      const ep = new Endpoint({ random: (n) => random(n), connections: [toEngineConnection(conn, client!, '127.0.0.1')] });
      ep.initiate(0, 'c');
      const mm1 = ep.pollTransmit()!;
      await new Promise<void>((r) => sock.send(mm1.data, dp!, '127.0.0.1', () => r()));
    }
    await events.wait((e) => e.type === 'dropped' && e.code === 'HALF_OPEN_EVICTED', 'an eviction');
    const snap = daemon.snapshot();
    assert.equal(snap.dropped.HALF_OPEN_EVICTED, 1, JSON.stringify(snap.dropped));
    assert.equal(snap.dropped.NO_NOTIFY, undefined);
    assert.equal(Object.keys(snap.dropped).some((k) => k.startsWith('UNKNOWN')), false);
    assert.deepEqual(snap.halfOpen, { current: 2, evicted: 1 });
  } finally {
    sock.close();
    await daemon.stop();
  }
});
