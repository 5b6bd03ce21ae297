/**
 * Child of test/interop/xfrm-netlink.test.ts, run inside a throw-away network namespace (the
 * netlink socket belongs to the namespace of the process that opens it). One scenario per run;
 * prints one JSON line with what it saw. Not a test file itself.
 *
 *   node build/test/interop/xfrm-child.js alloc|install|rekey|trap|encap
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetlinkKernel } from '../../src/daemon/dataplane/netlink-kernel.js';
import { loadNativeSockets, type NativeSockets } from '../../src/daemon/dataplane/native.js';
import { XfrmDataplane } from '../../src/daemon/dataplane/xfrm.js';
import { saRecords } from '../../src/daemon/dataplane/sa-records.js';
import { NetlinkWriter } from '../../src/daemon/dataplane/netlink.js';
import { writeNewSa } from '../../src/daemon/dataplane/xfrm-messages.js';
import { readUdpEncap } from '../../src/daemon/dataplane/udp-encap.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { Logger } from '../../src/daemon/log.js';
import { fakeIpsecSa } from '../daemon/helpers.js';

const sysOrError = loadNativeSockets();
if (sysOrError instanceof Error) throw sysOrError;
const sys: NativeSockets = sysOrError;
const ip = (...a: string[]): string => spawnSync('ip', a, { encoding: 'utf8' }).stdout;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const out = (o: unknown): void => console.log(JSON.stringify(o));

/** The SA of the unit tests, between two documentation addresses. */
const sa = { ...fakeIpsecSa(), local: { address: '198.51.100.1', port: 500 }, remote: { address: '198.51.100.2', port: 500 } };

async function alloc(): Promise<void> {
  const k = new NetlinkKernel(sys);
  const req = { family: 4 as const, src: '198.51.100.2', dst: '198.51.100.1', proto: 50, min: 0xc0000000, max: 0xc00000ff };
  const spis = await k.allocSpi([req, req, req]);
  const counters = await k.counters();
  out({ spis, counters, stats: k.stats, states: ip('xfrm', 'state', 'list') });
  k.close();
}

async function install(): Promise<void> {
  const k = new NetlinkKernel(sys);
  const echoes: { seq: number; hex: string }[] = [];
  k.onEcho = (seq, e) => echoes.push({ seq, hex: hex(e) });
  const logged: string[] = [];
  const dp = new XfrmDataplane(k, (m) => logged.push(m), undefined, { spiPool: false });
  const r = await dp.install(sa);
  // what we sent for the two SAs, re-encoded (the sequence numbers are in the echoes)
  const expected = saRecords(sa, 1).states.map((s) => {
    const w = new NetlinkWriter();
    writeNewSa(w, 0, s);
    return hex(w.bytes());
  });
  const policies = ip('xfrm', 'policy', 'list');
  const traffic = [...(await dp.traffic())];
  await dp.remove(sa.id);
  const after = ip('xfrm', 'policy', 'list');
  await dp.flush();
  out({ status: r.status, echoes, expected, policies, after, afterFlush: ip('xfrm', 'policy', 'list'), logged, traffic });
}

/** An IPsec SA and its rekey (the same selectors, other SPIs): the kernel's policies after each removal. */
async function rekey(): Promise<void> {
  const dp = new XfrmDataplane(new NetlinkKernel(sys), () => {}, undefined, { spiPool: false });
  const p = sa.protocols[0]!;
  const spi = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const next = { ...sa, id: 'qc0000003', protocols: [{ ...p, inbound: { ...p.inbound, spi: spi(0xc0000003) }, outbound: { ...p.outbound, spi: spi(0xc0000004) } }] };
  const statuses = [(await dp.install(sa)).status, (await dp.install(next)).status];
  const both = ip('xfrm', 'policy', 'list');
  await dp.remove(sa.id);
  const afterOld = ip('xfrm', 'policy', 'list');
  await dp.remove(next.id);
  const afterNew = ip('xfrm', 'policy', 'list');
  await dp.flush();
  out({ statuses, both, afterOld, afterNew });
}

async function trap(): Promise<void> {
  // a veth pair inside the namespace (the kernel does not look up IPsec policies for loopback routes)
  spawnSync('ip', ['link', 'add', 'xv0', 'type', 'veth', 'peer', 'name', 'xv1']);
  spawnSync('ip', ['addr', 'add', '10.9.1.1/24', 'dev', 'xv0']);
  spawnSync('ip', ['link', 'set', 'xv0', 'up']);
  spawnSync('ip', ['link', 'set', 'xv1', 'up']);
  spawnSync('ip', ['route', 'add', '10.9.2.0/24', 'dev', 'xv0']);
  const dp = new XfrmDataplane(new NetlinkKernel(sys), () => {}, undefined, { spiPool: false });
  const acquired: string[] = [];
  dp.onAcquire = (n) => acquired.push(n);
  const sel = (s: string) => ({ family: 4 as const, start: s, end: s, prefix: 24, protocol: 0, port: 0 });
  const err = await dp.trap({ name: 'od', local: '198.51.100.1', remote: '198.51.100.2', localTs: sel('10.9.1.0'), remoteTs: sel('10.9.2.0'), mode: 'tunnel' });
  const policies = ip('xfrm', 'policy', 'list');
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '10.9.1.1', () => r()));
  s.send(Buffer.from('x'), 9, '10.9.2.7', () => {});
  for (let i = 0; i < 50 && acquired.length === 0; i++) await sleep(50);
  s.close();
  await dp.flush();
  out({ err, policies, acquired, afterFlush: ip('xfrm', 'policy', 'list') });
}

/** Descriptors of this process's UDP sockets bound to `port`. */
function udpFds(port: number): number[] {
  const fds: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const a = sys.localAddress(Number(name));
    if (a !== undefined && a[1] === port && a[2] === 2) fds.push(Number(name));
  }
  return fds;
}

/** UDP datagrams the namespace's kernel received (/proc/net/snmp Udp InDatagrams). */
function udpInDatagrams(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp: '));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('InDatagrams')]);
}

async function encap(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-encap-'));
  const file = join(dir, 'd.yaml');
  const text = `global:
  listen: [127.0.0.1]
  port: 500
  natt_port: 4500
  control_socket: ${join(dir, 'c.sock')}
  dataplane: xfrm
secrets:
  s: { psk: encap-test-secret, allow_weak_psk: true }
connections:
  c:
    secret: s
    local: { address: 127.0.0.1 }
    remote: { address: 127.0.0.2 }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
`;
  writeFileSync(file, text);
  const lines: string[] = [];
  const daemon = new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, logger: new Logger({ level: 'info', areas: {}, format: 'json', write: (l) => lines.push(l) }) });
  await daemon.start();
  const fds = udpFds(4500);
  const encapValues = fds.map((fd) => readUdpEncap(sys, fd));
  const ikeFds = udpFds(500).map((fd) => readUdpEncap(sys, fd));
  const udp0 = udpInDatagrams();
  const before = daemon.snapshot().transport;
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const send = (b: Buffer): Promise<void> => new Promise((r) => s.send(b, 4500, '127.0.0.1', () => r()));
  // IKE on 4500: the non-ESP marker, then an ISAKMP header (a first message with a zero responder cookie)
  const ike = Buffer.concat([Buffer.alloc(4), Buffer.from('0102030405060708', 'hex'), Buffer.alloc(8), Buffer.from([1, 0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 28])]);
  await send(ike);
  // ESP in UDP: a non-zero SPI, a sequence number and some bytes
  await send(Buffer.concat([Buffer.from('c0ffee01', 'hex'), Buffer.from('00000001', 'hex'), Buffer.alloc(32, 0xab)]));
  await sleep(300);
  const after = daemon.snapshot().transport;
  const udp1 = udpInDatagrams();
  s.close();
  await daemon.stop();
  out({ fds: fds.length, encapValues, ikeFds, before, after, udpIn: udp1 - udp0, log: lines.filter((l) => l.includes('"area":"dataplane"')) });
}

const scenario = process.argv[2];
if (scenario === 'alloc') await alloc();
else if (scenario === 'install') await install();
else if (scenario === 'rekey') await rekey();
else if (scenario === 'trap') await trap();
else if (scenario === 'encap') await encap();
else throw new Error(`unknown scenario ${scenario}`);
