// `isakmp decode` for everyday captures: IKE on other ports (--port), standard input, clear
// messages for a missing file and a folder, vendor IDs by name (the table's MD5-derived values
// recomputed, the engine's own vendor IDs named), Mode Config / XAUTH attributes by value.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/run.js';
import { md5Entries, vendorIdName, vendorIdText } from '../../src/cli/vendor-ids.js';
import { cfgAttributeValueText } from '../../src/codec/cfg-attribute-values.js';
import { sampleExchange } from '../../src/cli/sample.js';
import { writePcap } from '../../src/pcap/index.js';
import { encodeMessage, tlv, tv } from '../../src/codec/index.js';
import { NATT_DRAFT_VIDS, NATT_RFC3947_VID } from '../../src/exchange/natt.js';
import { tempDir } from '../daemon/helpers.js';

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(...s.split('\n')), err: (s) => err.push(s) });
  return { code, out, err };
}

const dir = tempDir('isakmp-decode-in-');
const sample = sampleExchange();
const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('decode: ports, stdin, files', () => {
  // The sample exchange between two daemons on loopback ports 15500 / 15600 (what `isakmp demo`
  // uses), then the same on 4500-style framing on port 15700 (a 4-octet non-ESP marker), a NAT
  // keepalive and ESP on that port, and a DNS packet.
  const odd = join(dir, 'odd-ports.pcap');
  writeFileSync(odd, writePcap([
    { src: '127.0.0.1', dst: '127.0.0.1', srcPort: 15500, dstPort: 15600, data: sample[0]!.bytes },
    { src: '127.0.0.1', dst: '127.0.0.1', srcPort: 15600, dstPort: 15500, data: sample[1]!.bytes },
    { src: '127.0.0.1', dst: '127.0.0.1', srcPort: 15700, dstPort: 15700, data: sample[2]!.bytes, natt: true },
    { src: '127.0.0.1', dst: '127.0.0.1', srcPort: 15700, dstPort: 15700, data: Uint8Array.of(0xff) },
    { src: '127.0.0.1', dst: '127.0.0.1', srcPort: 15700, dstPort: 15700, data: h('c0ffee01 00000001 0102030405060708 090a0b0c0d0e0f10') },
    { src: '127.0.0.1', dst: '127.0.0.1', srcPort: 5353, dstPort: 53, data: h('0001 0100 0001 0000 0000 0000') },
  ]));

  test('without --port the odd ports are counted as other, and the summary says what to do', async () => {
    const r = await run('decode', odd);
    assert.equal(r.code, 0);
    assert.ok(r.out.includes(`${odd}: 6 frames, 0 ISAKMP, 0 ESP skipped, 0 NAT keepalives skipped, 6 other skipped (IKE on other ports? add --port N), 0 malformed`), r.out.join('\n'));
  });
  test('--port N (repeatable) reads IKE there; a non-ESP marker is stripped; keepalives counted; ESP and DNS stay other', async () => {
    const r = await run('decode', '--port', '15500', '-p', '15700', odd);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.ok(r.out.includes('Frame 1: 127.0.0.1:15500 → 127.0.0.1:15600'));
    assert.ok(r.out.includes('Frame 2: 127.0.0.1:15600 → 127.0.0.1:15500'));
    assert.ok(r.out.includes('Frame 3: 127.0.0.1:15700 → 127.0.0.1:15700 (UDP NAT-T, non-ESP marker stripped)'));
    assert.equal(r.out.filter((l) => l === 'Internet Security Association and Key Management Protocol').length, 3);
    assert.ok(r.out.includes(`${odd}: 6 frames, 3 ISAKMP, 0 ESP skipped, 1 NAT keepalives skipped, 2 other skipped, 0 malformed`), r.out.join('\n'));
  });
  test('--port takes port numbers only', async () => {
    for (const bad of ['0', '65536', 'ike', '5OO']) {
      const r = await run('decode', '--port', bad, odd);
      assert.equal(r.code, 2);
      assert.deepEqual(r.err, [`isakmp decode: --port is a UDP port number 1 to 65535, not '${bad}'`]);
    }
  });
  test('- reads standard input: a capture, hex text, or a raw message', () => {
    const cli = (input: Uint8Array | string, ...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', 'decode', ...args, '-'], { input, encoding: 'utf8' });
    let r = cli(writePcap([{ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 500, dstPort: 500, data: sample[0]!.bytes }]));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Frame 1: 192\.0\.2\.1:500 → 192\.0\.2\.2:500$/m);
    assert.match(r.stdout, /^stdin: 1 frames, 1 ISAKMP/m);
    r = cli(Buffer.from(sample[1]!.bytes).toString('hex') + '\n', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).exchangeTypeName, 'IDENTITY_PROTECTION');
    r = cli(Buffer.from(sample[1]!.bytes) as unknown as Uint8Array);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Responder cookie: fedcba9876543210/);
    r = cli('');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'isakmp decode: stdin: empty input\n');
  });
  test('a mistyped file name says "no such file"; a folder says "is a directory"', async () => {
    let r = await run('decode', 'captrue.pcap');
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, ['isakmp decode: captrue.pcap: no such file']);
    r = await run('decode', 'mycapture');
    assert.deepEqual(r.err, ["isakmp decode: not hex: character 'm' at position 0 (and no such file 'mycapture')"]);
    const folder = join(dir, 'captures');
    mkdirSync(folder);
    r = await run('decode', folder);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, [`isakmp decode: ${folder}: is a directory (give a capture file, a raw message file, hex, or - for stdin)`]);
  });
});

describe('vendor IDs', () => {
  test('every value the table derives from a text is that text\'s MD5 (or starts it)', () => {
    const entries = md5Entries();
    assert.ok(entries.length >= 25);
    for (const e of entries) {
      const md5 = createHash('md5').update(e.text, 'latin1').digest('hex');
      assert.ok(md5.startsWith(e.hex), `${JSON.stringify(e.text)}: ${e.hex} is not a prefix of MD5 ${md5}`);
    }
  });
  test('the engine\'s own vendor IDs are named', () => {
    assert.equal(vendorIdText(NATT_RFC3947_VID), 'RFC 3947 NAT-T');
    assert.deepEqual(NATT_DRAFT_VIDS.map((v) => vendorIdText(v)), ['NAT-T draft-ietf-ipsec-nat-t-ike-02', 'NAT-T draft-ietf-ipsec-nat-t-ike-02 (with newline)', 'NAT-T draft-ietf-ipsec-nat-t-ike-03']);
    assert.equal(vendorIdText(h('afcad71368a1f1c96b8696fc77570100')), 'DPD (RFC 3706 Dead Peer Detection) (version 1.0)');
  });
  test('products and versions', () => {
    const cases: [string, string | undefined][] = [
      ['882fe56d6fd20dbc2251613b2ebe5beb', 'strongSwan'],
      [Buffer.from('OE-Libreswan-4.12').toString('hex'), 'Libreswan (version 4.12)'],
      ['4f4572696f5c77557f746249', 'Openswan 2.3.0'],
      ['4f456b5262475852766d5045', 'Openswan or FreeS/WAN (version hash)'],
      ['12f5f28c457168a9702d9fe274cc0100', 'Cisco Unity (version 1.0)'],
      ['1f07f70eaa6514d3b0fa96542a500306', 'Cisco VPN Concentrator (VPN 3000) (version 3.0.6)'],
      ['1f07f70eaa6514d3b0fa96542a500407', 'Cisco VPN Concentrator (VPN 3000) (version 4.0.7)'],
      ['1e2b516905991c7d7c96fcbfb587e46100000002', 'Microsoft Windows (Windows 2000)'],
      ['1e2b516905991c7d7c96fcbfb587e46100000007', 'Microsoft Windows (Windows 7)'],
      ['1e2b516905991c7d7c96fcbfb587e46100000009', 'Microsoft Windows (Windows 8 or later (8, 8.1, 10, Server 2012 and later))'],
      ['1e2b516905991c7d7c96fcbfb587e461', 'Microsoft Windows'],
      ['4a131c81070358455c5728f20e95452f', 'RFC 3947 NAT-T'],
      ['90cb80913ebb696e086381b5ec427b1f', 'NAT-T draft-ietf-ipsec-nat-t-ike-02 (with newline)'],
      ['4048b7d56ebce88525e7de7f00d6c2d3', 'FRAGMENTATION (IKE fragmentation)'],
      ['4048b7d56ebce88525e7de7f00d6c2d380000000', 'FRAGMENTATION (IKE fragmentation) (flags 0x80000000)'],
      ['09002689dfd6b712', 'XAUTH (draft-ietf-ipsec-isakmp-xauth)'],
      ['404bf439522ca3f6', 'SonicWall'],
      ['5b362bc820f60006', 'SonicWall'],
      ['1d6e178f6c2c0be284985465450fe9d4', 'Fortinet FortiGate'],
      ['166f932d55eb64d8e4df4fd37e2313f0d0fd8451', 'Juniper NetScreen (ScreenOS)'],
      ['699369228741c6d4ca094c93e242c9de19e7b7c60000000500000500', 'Juniper NetScreen (ScreenOS)'],
      ['f4ed19e0c114eb516faaac0ee37daf2807b4381f000000010000138d', 'Check Point VPN-1/FireWall-1'],
      // exact entries do not match longer or shorter data; unknown data is unknown
      ['882fe56d6fd20dbc2251613b2ebe5b', undefined],
      ['882fe56d6fd20dbc2251613b2ebe5beb00', undefined],
      ['4f45', undefined],
      ['deadbeefdeadbeefdeadbeefdeadbeef', undefined],
      ['', undefined],
    ];
    for (const [hexValue, name] of cases) assert.equal(vendorIdText(h(hexValue)), name, hexValue);
    assert.deepEqual(vendorIdName(h('12f5f28c457168a9702d9fe274cc0100')), { name: 'Cisco Unity', detail: 'version 1.0' });
  });
  test('decode names them in the tree and in JSON (vendor)', async () => {
    const msg = encodeMessage({
      header: { initiatorCookie: h('0102030405060708'), responderCookie: new Uint8Array(8), nextPayload: 13, majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0 },
      payloads: [{ type: 'VID', data: h('882fe56d6fd20dbc2251613b2ebe5beb') }, { type: 'VID', data: h('c0ffee') }],
    });
    const t = await run('decode', Buffer.from(msg).toString('hex'));
    assert.ok(t.out.includes('        Vendor ID: strongSwan'));
    assert.ok(t.out.includes('        Vendor ID: unknown'));
    const j = await run('decode', '--json', Buffer.from(msg).toString('hex'));
    assert.deepEqual(JSON.parse(j.out[0]!).payloads.map((p: { vendor: unknown }) => p.vendor), ['strongSwan', null]);
  });
});

describe('Mode Config and XAUTH attributes', () => {
  test('values as addresses, texts, statuses; passwords never shown', () => {
    const cases: [ReturnType<typeof tv> | ReturnType<typeof tlv>, string | undefined][] = [
      [tlv(1, h('0a000005')), '10.0.0.5'],
      [tlv(2, h('ffffff00')), '255.255.255.0'],
      [tlv(3, h('08080808')), '8.8.8.8'],
      [tlv(1, new Uint8Array(0)), '(empty: requested)'],
      [tlv(5, h('00000e10')), '3600 s'],
      [tlv(7, Buffer.from('strongSwan 5.9.8')), '"strongSwan 5.9.8"'],
      [tlv(8, h('20010db8000000000000000000000001 40')), '2001:db8::1/64'],
      [tlv(13, h('0a010000 ffff0000')), '10.1.0.0/16'],
      [tlv(14, h('0001 0002 4088')), 'INTERNAL_IP4_ADDRESS, INTERNAL_IP4_NETMASK, XAUTH_TYPE'],
      [tv(16520, 0), 'GENERIC'],
      [tlv(16521, Buffer.from('alice')), '"alice"'],
      [tlv(16522, Buffer.from('alice-password')), '(14 bytes, not shown)'],
      [tlv(16524, Buffer.from('Enter your password\n')), '"Enter your password\\n"'],
      [tv(16527, 1), 'OK'],
      [tv(16527, 0), 'FAIL'],
      [tlv(28672, Buffer.from('Welcome')), '"Welcome"'],
      [tlv(28676, h('c6120082 ffffffff 000000000000 0a000000 ff000000 000000000000')), '198.18.0.130/32, 10.0.0.0/8'],
      [tlv(1, h('0a0000')), undefined],
      [tlv(999, h('01')), undefined],
    ];
    for (const [a, text] of cases) assert.equal(cfgAttributeValueText(a), text, JSON.stringify(a));
  });
  test('decode shows them in the tree (and valueText in JSON)', async () => {
    const msg = encodeMessage({
      header: { initiatorCookie: h('0102030405060708'), responderCookie: h('1112131415161718'), nextPayload: 14, majorVersion: 1, minorVersion: 0, exchangeType: 6, flags: 0, messageId: 7 },
      payloads: [{ type: 'ATTR', cfgType: 2, identifier: 1, attributes: [tlv(1, h('c0a80a02')), tv(16527, 1), tlv(16522, Buffer.from('secret'))] }],
    });
    const t = await run('decode', Buffer.from(msg).toString('hex'));
    assert.ok(t.out.includes('        Attribute (TLV, length 4) INTERNAL_IP4_ADDRESS (1): 192.168.10.2'), t.out.join('\n'));
    assert.ok(t.out.includes('        Attribute (TV) XAUTH_STATUS (16527): OK (1)'));
    assert.ok(t.out.includes('        Attribute (TLV, length 6) XAUTH_USER_PASSWORD (16522): (6 bytes, not shown)'));
    assert.ok(!t.out.join('\n').includes('736563726574'), 'the password bytes are not printed as hex either');
    const j = await run('decode', '--json', Buffer.from(msg).toString('hex'));
    assert.deepEqual(JSON.parse(j.out[0]!).payloads[0].attributes.map((a: { valueText?: string }) => a.valueText), ['192.168.10.2', 'OK', '(6 bytes, not shown)']);
  });
});
