/**
 * The xfrm dataplane's netlink channel against this machine's kernel, each case in a throw-away
 * network namespace (the channel's socket belongs to the namespace of the process that opens it,
 * so each case runs build/test/interop/xfrm-child.js there):
 *
 *   - our messages are byte for byte what iproute2 sends for the same `ip xfrm` command (strace);
 *   - ALLOCSPI gives kernel SPIs in the asked range, the GETSA dump reads them with their counters;
 *   - without ESP in the kernel an SA is refused with the kernel's words and errno, and nothing is
 *     left behind; with the fake-xfrm shim LD_PRELOADed (as for charon) the pair installs, the
 *     policies are in the kernel with their priority and template, and the kernel's own copy of
 *     each NEWSA (echoed in its error reply, which the shim turned into an ACK) is our bytes;
 *   - an on-demand trap makes the kernel send an acquire on the multicast group, which arrives;
 *   - UDP_ENCAP_ESPINUDP is set on the daemon's NAT-T socket (read back with getsockopt): IKE
 *     with the non-ESP marker still reaches the daemon, ESP does not.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetlinkWriter } from '../../src/daemon/dataplane/netlink.js';
import { writeAllocSpi, writeDelPolicy, writeDelSa, writeNewSa, writePolicy, type XfrmPolicy, type XfrmState } from '../../src/daemon/dataplane/xfrm-messages.js';
import { ipArgs } from '../../src/daemon/dataplane/ip-kernel.js';
import type { XfrmOp } from '../../src/daemon/dataplane/kernel.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const CHILD = join(ROOT, 'build/test/interop/xfrm-child.js');
const NS = 'isk-xfrm';

const why =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync(join(ROOT, 'native/build/Release/isakmp_netlink.node'))
      ? 'the native netlink binding is not built (npm ci builds it)'
      : undefined;

function shim(): string {
  const r = spawnSync('bash', ['-c', `. ${join(ROOT, 'interop/lib/common.sh')} && fake_xfrm_so`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function freshNs(): void {
  spawnSync('ip', ['netns', 'del', NS]);
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function child(scenario: string, env: Record<string, string> = {}): any {
  freshNs();
  const r = spawnSync('ip', ['netns', 'exec', NS, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, CHILD, scenario], { encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(r.status === 0 && line.startsWith('{'), `child ${scenario} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(line);
}

/** The body (after seq and pid) of the last netlink request iproute2 sent for `args`, from strace. */
function iproute2Request(args: string[]): { head: string; body: string } {
  const r = spawnSync('strace', ['-e', 'trace=sendmsg', '-xx', '-s', '8192', 'ip', '-n', NS, ...args], { encoding: 'utf8' });
  const line = r.stderr.split('\n').filter((l) => l.startsWith('sendmsg(') && l.includes('NLM_F_REQUEST')).pop() ?? '';
  const m = /nlmsg_len=(\d+), nlmsg_type=(0x[0-9a-f]+|\d+)[^,]*, nlmsg_flags=([^,]+), nlmsg_seq=\d+, nlmsg_pid=\d+\}, "((?:\\x[0-9a-f]{2})*)"/.exec(line);
  assert.ok(m, `no netlink request in strace output of ip ${args.join(' ')}:\n${r.stderr.slice(-2000)}`);
  return { head: `${m[1]} ${Number(m[2])} ${m[3]}`, body: m[4]!.replace(/\\x/g, '') };
}

const FLAGS: Record<number, string> = { 1: 'NLM_F_REQUEST', 5: 'NLM_F_REQUEST|NLM_F_ACK' };
function ours(write: (w: NetlinkWriter) => void): { head: string; body: string } {
  const w = new NetlinkWriter();
  write(w);
  const b = Buffer.from(w.bytes());
  return { head: `${b.readUInt32LE(0)} ${b.readUInt16LE(4)} ${FLAGS[b.readUInt16LE(6)]}`, body: b.subarray(16).toString('hex') };
}

describe('xfrm over netlink against this kernel', { skip: why ?? false, concurrency: false }, () => {
  let so = '';
  before(() => {
    so = shim();
  });
  after(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  test('every message kind is byte for byte what iproute2 sends for the same ip xfrm command', { skip: spawnSync('which', ['strace']).status !== 0 ? 'strace missing (interop/install.sh installs it)' : false }, () => {
    freshNs();
    const key = (b: number, n: number) => new Uint8Array(n).fill(b);
    const state: XfrmState = {
      family: 4, src: '198.51.100.2', dst: '198.51.100.1', spi: 0xc0000001, proto: 50, reqid: 7, mode: 'tunnel',
      crypt: { name: 'cbc(aes)', key: key(0xaa, 32) }, auth: { name: 'hmac(sha256)', key: key(0xbb, 32), truncBits: 128 },
      encap: { sport: 4500, dport: 14500, oa: '0.0.0.0' },
    };
    const gcm: XfrmState = { family: 6, src: '2001:db8::2', dst: '2001:db8::1', spi: 0x1234, proto: 50, reqid: 9, mode: 'transport', aead: { name: 'rfc4106(gcm(aes))', key: key(0xcc, 20), icvBits: 128 } };
    const policy: XfrmPolicy = { sel: { family: 4, src: '10.1.0.0', srcPrefix: 16, dst: '10.2.3.4', dstPrefix: 32, proto: 17, sport: 0, dport: 53 }, dir: 'fwd', priority: 2000, tmpl: { src: '198.51.100.2', dst: '198.51.100.1', proto: 50, reqid: 7, mode: 'tunnel' } };
    const trap: XfrmPolicy = { sel: { family: 6, src: '2001:db8:1::', srcPrefix: 48, dst: '2001:db8:2::', dstPrefix: 48, proto: 0, sport: 0, dport: 0 }, dir: 'out', priority: 2000, tmpl: { src: '2001:db8::1', dst: '2001:db8::2', proto: 50, reqid: 0, mode: 'tunnel', level: 'required' } };
    const cases: [XfrmOp, (w: NetlinkWriter) => void][] = [
      [{ op: 'add-sa', state }, (w) => writeNewSa(w, 1, state)],
      [{ op: 'update-sa', state }, (w) => writeNewSa(w, 1, state, true)],
      [{ op: 'add-sa', state: gcm }, (w) => writeNewSa(w, 1, gcm)],
      [{ op: 'del-sa', id: gcm }, (w) => writeDelSa(w, 1, gcm)],
      [{ op: 'set-policy', policy }, (w) => writePolicy(w, 1, policy)],
      [{ op: 'set-policy', policy: trap }, (w) => writePolicy(w, 1, trap)],
      [{ op: 'del-policy', sel: policy.sel, dir: 'fwd' }, (w) => writeDelPolicy(w, 1, policy.sel, 'fwd')],
    ];
    for (const [op, write] of cases) assert.deepEqual(ours(write), iproute2Request(ipArgs(op)), ipArgs(op).join(' '));
    assert.deepEqual(
      ours((w) => writeAllocSpi(w, 1, { family: 4, src: '198.51.100.2', dst: '198.51.100.1', proto: 50, min: 0xc0000000, max: 0xcfffffff, reqid: 0x7f000005 })),
      iproute2Request(['xfrm', 'state', 'allocspi', 'src', '198.51.100.2', 'dst', '198.51.100.1', 'proto', 'esp', 'reqid', String(0x7f000005), 'min', '0xc0000000', 'max', '0xcfffffff']),
    );
  });

  test('ALLOCSPI: SPIs the kernel picked in the asked range, read back by the GETSA dump with their counters', () => {
    const r = child('alloc');
    assert.equal(r.spis.length, 3);
    assert.equal(new Set(r.spis).size, 3, 'three different SPIs');
    for (const s of r.spis) assert.ok(typeof s === 'number' && s >= 0xc0000000 && s <= 0xc00000ff, String(s));
    const dumped = r.counters.map((c: { spi: number }) => c.spi).sort();
    assert.deepEqual(dumped, [...r.spis].sort());
    for (const c of r.counters) assert.deepEqual([c.src, c.dst, c.proto, c.bytes, c.packets], ['198.51.100.2', '198.51.100.1', 50, 0, 0]);
    for (const s of r.spis) assert.match(r.states, new RegExp(`spi 0x${s.toString(16)} reqid 0`));
    assert.equal(r.stats.requests, 4, '3 ALLOCSPI + 1 dump');
    assert.equal(r.stats.sends, 2, 'the three ALLOCSPI in one batch, the dump in the next');
  });

  test('no ESP in the kernel: the SA is refused with the kernel\'s words and errno, nothing is left but the IKE bypass', () => {
    const r = child('install');
    assert.equal(r.status, 'failed: kernel refused ESP SA 198.51.100.1 -> 198.51.100.2 spi 0xc0000002: Requested type not found (errno 93 EPROTONOSUPPORT)');
    assert.ok(!r.policies.includes('10.1.0.0/16'), r.policies);
    assert.match(r.policies, /src 0\.0\.0\.0\/0 dst 0\.0\.0\.0\/0 proto udp sport 500 \n\tdir out priority 100/);
    assert.equal(r.afterFlush, '', 'flush removes the IKE bypass too');
    assert.equal(r.logged.length, 1);
    assert.ok(!/cccc|aaaa|dddd|bbbb/.test(r.logged[0]), 'no key in the log');
  });

  test('with the fake-xfrm shim (as for charon): installed; the kernel received exactly our bytes; policies with priority and template; removed again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isakmp-xfrm-'));
    try {
      const log = join(dir, 'fake-xfrm.log');
      const r = child('install', { LD_PRELOAD: so, FAKE_XFRM_LOG: log });
      assert.equal(r.status, 'installed', JSON.stringify(r.logged));
      // the kernel's real answer to both NEWSA was EPROTONOSUPPORT (it had parsed and checked
      // every attribute, algorithms included, and found no ESP), which the shim made an ACK
      const shimLog = readFileSync(log, 'utf8');
      assert.equal((shimLog.match(/NEWSA reply to msg type 16 seq \d+: error -93 -> 0/g) ?? []).length, 2, shimLog);
      // its error reply echoed the request it received: byte for byte what we encoded (seq aside),
      // but for the flags: only the last request of the batch asks for an ACK (the kernel sends an
      // error for a failed request either way)
      const newsa = r.echoes.filter((e: { hex: string }) => e.hex.slice(8, 12) === '1000');
      assert.equal(newsa.length, 2);
      const strip = (h: string) => h.slice(0, 12) + h.slice(32);
      assert.deepEqual(newsa.map((e: { hex: string }) => strip(e.hex)), r.expected.map(strip));
      assert.deepEqual(newsa.map((e: { hex: string }) => e.hex.slice(12, 16)), ['0100', '0500'], 'NLM_F_REQUEST, then NLM_F_REQUEST|NLM_F_ACK');
      assert.deepEqual(r.expected.map((h: string) => h.slice(12, 16)), ['0500', '0500'], 'the writer asks for an ACK; the channel drops it but on the last');
      // and the DELSA of the removal came back as ESRCH (no such SA), which the shim also made an ACK
      assert.equal(r.echoes.filter((e: { hex: string }) => e.hex.slice(8, 12) === '1100').length, 2);
      assert.equal((shimLog.match(/DELSA reply to msg type 17 seq \d+: error -3 -> 0/g) ?? []).length, 2, shimLog);
      assert.match(r.policies, /src 10\.1\.0\.0\/16 dst 10\.2\.0\.0\/16 \n\tdir out priority 2000 ptype main \n\ttmpl src 198\.51\.100\.1 dst 198\.51\.100\.2\n\t\tproto esp reqid 1 mode tunnel/);
      assert.match(r.policies, /src 10\.2\.0\.0\/16 dst 10\.1\.0\.0\/16 \n\tdir in priority 2000 ptype main \n\ttmpl src 198\.51\.100\.2 dst 198\.51\.100\.1\n\t\tproto esp reqid 1 mode tunnel/);
      assert.match(r.policies, /src 10\.2\.0\.0\/16 dst 10\.1\.0\.0\/16 \n\tdir fwd priority 2000/);
      assert.deepEqual(r.traffic, [], 'the SAs do not exist in the kernel (shim): no counters for them');
      assert.ok(!r.after.includes('10.1.0.0/16'), 'remove deletes the policies');
      assert.equal(r.afterFlush, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a rekey in the kernel (shim): the old SA goes and the new SA\'s policies stay (reqid 2); the last SA takes them', () => {
    const r = child('rekey', { LD_PRELOAD: so });
    assert.deepEqual(r.statuses, ['installed', 'installed']);
    const out = (t: string) => /src 10\.1\.0\.0\/16 dst 10\.2\.0\.0\/16 \n\tdir out priority 2000 ptype main \n\ttmpl src 198\.51\.100\.1 dst 198\.51\.100\.2\n\t\tproto esp reqid (\d+) mode tunnel/.exec(t)?.[1];
    assert.equal(out(r.both), '2', 'the rekey\'s UPDPOLICY took the selector over');
    assert.equal(out(r.afterOld), '2', `the old SA's removal left the new SA's policies:\n${r.afterOld}`);
    assert.match(r.afterOld, /dir in priority 2000[^]*reqid 2/);
    assert.match(r.afterOld, /dir fwd priority 2000/);
    assert.ok(!r.afterNew.includes('10.1.0.0/16'), 'the last SA deletes them');
  });

  test('on-demand: traffic hits the trap, the kernel\'s acquire arrives on the channel\'s multicast group', () => {
    const r = child('trap');
    assert.equal(r.err, undefined);
    assert.match(r.policies, /src 10\.9\.1\.0\/24 dst 10\.9\.2\.0\/24 \n\tdir out priority 2000 ptype main \n\ttmpl src 198\.51\.100\.1 dst 198\.51\.100\.2\n\t\tproto esp reqid 0 mode tunnel/);
    assert.deepEqual(r.acquired, ['od']);
    assert.equal(r.afterFlush, '');
  });

  test('ESP in UDP: UDP_ENCAP_ESPINUDP on the daemon\'s NAT-T socket (getsockopt), IKE with the marker still arrives, ESP is the kernel\'s', () => {
    const r = child('encap');
    assert.equal(r.fds, 1, 'one UDP socket on 4500');
    assert.deepEqual(r.encapValues, [2], 'UDP_ENCAP = UDP_ENCAP_ESPINUDP');
    assert.deepEqual(r.ikeFds, [0], 'port 500 is left alone');
    assert.equal(r.udpIn >= 2, true, `the kernel received both datagrams on UDP (${r.udpIn})`);
    assert.equal(r.after.packetsIn - r.before.packetsIn, 1, 'IKE (non-ESP marker) reached the daemon');
    assert.equal(r.after.bytesIn - r.before.bytesIn, 32);
    assert.equal(r.after.espDropped, 0, 'the ESP datagram never reached the daemon: the kernel took it');
    assert.ok(r.log.some((l: string) => l.includes('kernel takes ESP in UDP') && l.includes('"port":4500')), r.log.join(''));
  });
});
