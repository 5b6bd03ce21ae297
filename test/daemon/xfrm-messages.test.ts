/**
 * XFRM netlink messages: exact bytes. Each expected message is what iproute2 6.1 sends for the
 * same `ip xfrm ...` command (captured with strace; only the sequence number differs, set to 7
 * here); test/interop/xfrm-netlink.test.ts re-checks this against iproute2 and the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkWriter, netlinkMessages, parseAck, netlinkAttributes, describeErrno, NLMSG_ERROR } from '../../src/daemon/dataplane/netlink.js';
import { readAddress, writeAddress, canonicalAddress } from '../../src/daemon/dataplane/addresses.js';
import {
  writeNewSa, writePolicy, writeDelSa, writeDelPolicy, writeAllocSpi, writeGetSaDump, parseSaInfo, parseAcquire, parseExpire,
  XFRM_MSG_GETSA, type XfrmState,
} from '../../src/daemon/dataplane/xfrm-messages.js';
import { ipArgs } from '../../src/daemon/dataplane/ip-kernel.js';

const hex = (f: (w: NetlinkWriter) => void): string => {
  const w = new NetlinkWriter(16); // small on purpose: the writer must grow
  f(w);
  return Buffer.from(w.bytes()).toString('hex');
};

/** The inbound SA of test/daemon/helpers.ts fakeIpsecSa(), UDP-encapsulated. */
const inbound: XfrmState = {
  family: 4, src: '198.18.0.2', dst: '198.18.0.1', spi: 0xc0000001, proto: 50, reqid: 1, mode: 'tunnel',
  crypt: { name: 'cbc(aes)', key: new Uint8Array(16).fill(0xaa) },
  auth: { name: 'hmac(sha256)', key: new Uint8Array(32).fill(0xbb), truncBits: 128 },
  encap: { sport: 4500, dport: 14500, oa: '0.0.0.0' },
};

test('NEWSA: ip xfrm state add src 198.18.0.2 dst 198.18.0.1 proto esp spi 0xc0000001 reqid 1 mode tunnel enc cbc(aes) K auth-trunc hmac(sha256) K 128 encap espinudp 4500 14500 0.0.0.0', () => {
  assert.equal(hex((w) => writeNewSa(w, 7, inbound)), [
    'd00100001000050007000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000000000000c6120001000000000000000000000000c000000132000000',
    'c6120002000000000000000000000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000000000000000000000000000001000000020001000000000000000000',
    '580002006362632861657329000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000080000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6c001400686d6163',
    '287368613235362900000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000001000080000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    'bbbbbbbb1c0004000200119438a4000000000000000000000000000000000000',
  ].join(''));
  assert.equal(ipArgs({ op: 'add-sa', state: inbound }).join(' '), `xfrm state add src 198.18.0.2 dst 198.18.0.1 proto esp spi 0xc0000001 reqid 1 mode tunnel enc cbc(aes) 0x${'aa'.repeat(16)} auth-trunc hmac(sha256) 0x${'bb'.repeat(32)} 128 encap espinudp 4500 14500 0.0.0.0`);
  // UPDSA: the same body under type 0x1a
  const upd = hex((w) => writeNewSa(w, 7, inbound, true));
  assert.equal(upd.slice(8, 12), '1a00');
  assert.equal(upd.slice(12), hex((w) => writeNewSa(w, 7, inbound)).slice(12));
});

test('UPDPOLICY: ip xfrm policy update src 10.1.0.0/16 dst 10.2.0.0/16 dir out priority 2000 tmpl src 198.18.0.1 dst 198.18.0.2 proto esp reqid 1 mode tunnel', () => {
  assert.equal(
    hex((w) => writePolicy(w, 7, { sel: { family: 4, src: '10.1.0.0', srcPrefix: 16, dst: '10.2.0.0', dstPrefix: 16, proto: 0, sport: 0, dport: 0 }, dir: 'out', priority: 2000, tmpl: { src: '198.18.0.1', dst: '198.18.0.2', proto: 50, reqid: 1, mode: 'tunnel' } })),
    [
    'fc0000001900050007000000000000000a0200000000000000000000000000000a010000000000000000000000000000',
    '000000000000000002001010000000000000000000000000ffffffffffffffffffffffffffffffffffffffffffffffff',
    'ffffffffffffffff00000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000000000000d007000000000000010000000000000044000500c6120002',
    '000000000000000000000000000000003200000002000000c61200010000000000000000000000000100000001000000',
    'ffffffffffffffffffffffff',
  ].join(''),
  );
});

test('DELSA, DELPOLICY (IPv6, UDP port) and ALLOCSPI', () => {
  assert.equal(hex((w) => writeDelSa(w, 7, inbound)), [
    '3c000000110005000700000000000000c6120001000000000000000000000000c00000010200320014000d00c6120002',
    '000000000000000000000000',
  ].join(''));
  assert.equal(hex((w) => writeDelPolicy(w, 7, { family: 6, src: '2001:db8::', srcPrefix: 32, dst: '::', dstPrefix: 0, proto: 17, sport: 0, dport: 4500 }, 'fwd')), [
    '500000001400050007000000000000000000000000000000000000000000000020010db8000000000000000000000000',
    '1194ffff000000000a0000201100000000000000000000000000000002000000',
  ].join(''));
  assert.equal(hex((w) => writeAllocSpi(w, 7, { family: 4, src: '0.0.0.0', dst: '198.18.0.2', proto: 50, min: 0xc0000000, max: 0xcfffffff })), [
    'f80000001600010007000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000000000000c61200020000000000000000000000000000000032000000',
    '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    '000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000',
    '000000c0ffffffcf',
  ].join(''));
});

test('several messages in one batch, each 4-aligned; the dump request is a zeroed xfrm_usersa_info', () => {
  const w = new NetlinkWriter();
  writeDelSa(w, 1, inbound);
  writeGetSaDump(w, 2);
  writeAllocSpi(w, 3, { family: 6, src: '::', dst: '2001:db8::1', proto: 50, min: 256, max: 0xffffffff });
  const msgs = [...netlinkMessages(w.bytes())];
  assert.deepEqual(msgs.map((m) => [m.type, m.flags, m.seq, m.payload.length]), [[0x11, 5, 1, 44], [XFRM_MSG_GETSA, 0x301, 2, 224], [0x16, 1, 3, 232]]);
  assert.ok(msgs[1]!.payload.every((b) => b === 0));
  assert.throws(() => [...netlinkMessages(w.bytes().subarray(0, 100))], /does not fit/);
});

test('ACK and error messages: errno, extended-ACK text, the echoed request', () => {
  // an error as the kernel sends it for a NEWSA without ESP: -93, the whole request, then NLMSGERR_ATTR_MSG
  const req = new NetlinkWriter();
  writeNewSa(req, 9, inbound);
  const echoed = req.bytes();
  const text = Buffer.from('Requested type not found\0');
  const w = new NetlinkWriter();
  w.begin(NLMSG_ERROR, 0x200 /* ACK_TLVS */, 9, 1234);
  const s = w.struct(4 + echoed.length);
  s.view.setInt32(s.at, -93, true);
  s.bytes.set(echoed, s.at + 4);
  const a = w.attr(1, text.length);
  a.bytes.set(text, a.at);
  w.end();
  const [m] = [...netlinkMessages(w.bytes())];
  const ack = parseAck(m!);
  assert.equal(ack.errno, 93);
  assert.equal(ack.seq, 9);
  assert.equal(ack.requestType, 0x10);
  assert.equal(ack.message, 'Requested type not found');
  assert.deepEqual(ack.echoed, echoed);
  assert.equal(describeErrno(ack.errno, ack.message), 'Requested type not found (errno 93 EPROTONOSUPPORT)');
  assert.equal(describeErrno(3), 'no such SA or policy (errno 3 ESRCH)');
  // a real ACK is capped: header only, nothing echoed
  const okw = new NetlinkWriter();
  okw.begin(NLMSG_ERROR, 0x100, 9, 1234);
  okw.struct(20);
  okw.end();
  const ok = parseAck([...netlinkMessages(okw.bytes())][0]!);
  assert.deepEqual([ok.errno, ok.echoed, ok.message], [0, undefined, undefined]);
  assert.equal(netlinkAttributes(Uint8Array.of(3, 0, 1, 0)).size, 0, 'an attribute shorter than its header is ignored');
});

test('parsing the kernel\'s SA (counters), acquire and expire structs', () => {
  const sa = new Uint8Array(225);
  const v = new DataView(sa.buffer);
  writeAddress(sa, 56, '2001:db8::2');
  v.setUint32(72, 0xc0ffee01, false);
  sa[76] = 50;
  writeAddress(sa, 80, '2001:db8::1');
  v.setBigUint64(160, 123456789n, true);
  v.setBigUint64(168, 4242n, true);
  v.setUint32(208, 7, true);
  v.setUint16(212, 10, true);
  sa[214] = 1;
  sa[224] = 1;
  assert.deepEqual(parseSaInfo(sa), { family: 6, dst: '2001:db8::2', spi: 0xc0ffee01, proto: 50, src: '2001:db8::1', bytes: 123456789, packets: 4242, reqid: 7, mode: 1 });
  assert.equal(parseExpire(sa).hard, true);
  assert.throws(() => parseSaInfo(sa.subarray(0, 100)), /xfrm_usersa_info: 100 bytes/);
  const acq = new Uint8Array(280);
  const av = new DataView(acq.buffer);
  writeAddress(acq, 0, '198.18.0.2');
  writeAddress(acq, 24, '198.18.0.1');
  // the packet's flow (sel) and the policy's selector
  writeAddress(acq, 40, '10.2.3.4');
  writeAddress(acq, 56, '10.1.2.3');
  av.setUint16(80, 2, true);
  acq[82] = 32;
  acq[83] = 32;
  writeAddress(acq, 96, '10.2.0.0');
  writeAddress(acq, 112, '10.1.0.0');
  av.setUint16(96 + 40, 2, true);
  acq[96 + 42] = 16;
  acq[96 + 43] = 16;
  av.setUint32(96 + 152, 2000, true);
  acq[96 + 160] = 1;
  const a = parseAcquire(acq);
  assert.deepEqual([a.src, a.dst, a.flow.src, a.flow.dst, a.policy.src, a.policy.srcPrefix, a.policy.dst, a.dir, a.priority], ['198.18.0.1', '198.18.0.2', '10.1.2.3', '10.2.3.4', '10.1.0.0', 16, '10.2.0.0', 'out', 2000]);
});

test('addresses: IPv4, IPv6 with ::, an embedded IPv4 tail, RFC 5952 text back', () => {
  const b = new Uint8Array(16);
  for (const [text, canon] of [['2001:db8:0:0:0:0:0:1', '2001:db8::1'], ['::', '::'], ['::ffff:1.2.3.4', '::ffff:102:304'], ['fe80::1:0:0:1', 'fe80::1:0:0:1'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['2001:DB8::A', '2001:db8::a']] as const) {
    b.fill(0);
    writeAddress(b, 0, text);
    assert.equal(readAddress(b, 0, 6), canon, text);
    assert.equal(canonicalAddress(text), canon);
  }
  writeAddress(b, 0, '198.51.100.7');
  assert.equal(readAddress(b, 0, 4), '198.51.100.7');
  assert.throws(() => writeAddress(b, 0, 'example.com'), /not an IP address/);
});
