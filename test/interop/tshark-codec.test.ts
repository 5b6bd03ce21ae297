// Cross-check with an independent dissector: a corpus our encoder makes (every payload type, both
// attribute forms TV and TLV, IKE, IPsec and ModeCfg attribute classes) is written to a pcap and
// dissected by tshark. No frame may carry a malformed or expert-error item, and the field values
// tshark reads must be the ones we encoded. Run by `npm run test:interop` (installs tshark).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeIdentification, decodeMessage, encodeMessage, encodePayloadBody, payloadTypeOf, tlv, tv, type DataAttribute, type Header, type Message, type Payload,
} from '../../src/codec/index.js';
import { writePcap } from '../../src/pcap/index.js';
import { readFileSync } from 'node:fs';
import { filler, mm1Sa, qmSa, quickMode1Payloads, sampleExchange, sampleKeyLog } from '../../src/cli/sample.js';
import { runCli } from '../../src/cli/run.js';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
// A self-made certificate (test/vectors/codec), so that tshark's X.509 dissector finds valid DER.
const CERT = h((JSON.parse(readFileSync('test/vectors/codec/self-signed-p256.json', 'utf8')) as { certificateDer: string }).certificateDer);

function hdr(exchangeType: number, messageId = 0, flags = 0): Header {
  return { initiatorCookie: h('0123456789abcdef'), responderCookie: h('fedcba9876543210'), nextPayload: 0, majorVersion: 1, minorVersion: 0, exchangeType, flags, messageId };
}

function corpus(): Message[] {
  const mm5plain = encodeMessage({ header: hdr(2), payloads: [{ type: 'ID', idType: 1, protocol: 17, port: 500, data: h('c0000201') }, { type: 'HASH', data: filler(20, 1) }] });
  const ms: Message[] = [
    decodeMessage(sampleExchange()[0]!.bytes), // MM1: SA (ISAKMP, TV + 4-byte TLV life), VIDs
    { header: hdr(32, 0x11223344), payloads: quickMode1Payloads() }, // QM1 shape in clear: HASH, SA (ESP), NONCE, ID subnets
    {
      header: hdr(4), payloads: [
        mm1Sa(2), { type: 'KE', data: filler(128, 2) }, { type: 'NONCE', data: filler(16, 3) },
        { type: 'ID', idType: 2, protocol: 0, port: 0, data: new TextEncoder().encode('vpn.example.com') },
        { type: 'CERT', encoding: 4, data: CERT }, { type: 'CR', certType: 4, authority: h('300f310d300b06035504030c0474657374') },
        { type: 'SIG', data: filler(64, 6) }, { type: 'HASH', data: filler(20, 7) },
        { type: 'NAT-D', payloadType: 20, hash: filler(20, 8) }, { type: 'NAT-D', payloadType: 20, hash: filler(20, 9) },
        { type: 'VID', data: filler(16, 10) },
      ],
    },
    {
      header: hdr(5, 0x0badcafe), payloads: [
        { type: 'HASH', data: filler(20, 11) },
        { type: 'N', doi: 1, protocol: 1, notifyType: 36136, spi: filler(16, 12), data: h('00000007') },
        { type: 'N', doi: 1, protocol: 1, notifyType: 24578, spi: filler(16, 12), data: new Uint8Array(0) },
        { type: 'N', doi: 1, protocol: 3, notifyType: 14, spi: h('c0ffee01'), data: new Uint8Array(0) },
        { type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [h('c0ffee01'), h('c0ffee02')] },
        { type: 'D', doi: 1, protocol: 1, spiSize: 16, spis: [filler(16, 12)] },
      ],
    },
    {
      header: hdr(6, 0x01020304), payloads: [
        { type: 'HASH', data: filler(20, 13) },
        { type: 'ATTR', cfgType: 2, identifier: 0x1234, attributes: [tv(16520, 0), tlv(16521, new TextEncoder().encode('alice')), tlv(1, h('0a000001')), tlv(2, h('ffffff00')), tv(16527, 1)] },
      ],
    },
    {
      header: hdr(32, 0x55667788), payloads: [
        { type: 'HASH', data: filler(20, 14) },
        {
          type: 'SA', doi: 1, situation: 1, proposals: [
            { number: 1, protocol: 3, spi: h('c0ffee03'), transforms: [{ number: 1, id: 3, attributes: [tv(1, 1), tlv(2, h('0e10')), tv(4, 2), tv(5, 1), tv(3, 14), tv(11, 1)] }] },
            { number: 1, protocol: 2, spi: h('c0ffee04'), transforms: [{ number: 1, id: 3, attributes: [tv(5, 2), tv(4, 1)] }] },
          ],
        },
        { type: 'NONCE', data: filler(24, 15) },
        { type: 'KE', data: filler(256, 16) },
        { type: 'ID', idType: 7, protocol: 6, port: 80, data: h('c0000201c00002fe') },
        { type: 'ID', idType: 6, protocol: 0, port: 0, data: h('20010db8000100000000000000000000ffffffffffffffff0000000000000000') },
        { type: 'NAT-OA', payloadType: 21, idType: 1, address: h('0a000002') },
        { type: 'NAT-OA', payloadType: 21, idType: 5, address: h('20010db8000000000000000000000009') },
      ],
    },
    {
      header: hdr(2), payloads: [
        { type: 'ID', idType: 3, protocol: 0, port: 0, data: new TextEncoder().encode('alice@example.com') },
        { type: 'ID', idType: 11, protocol: 0, port: 0, data: h('0102030405') },
        { type: 'ID', idType: 5, protocol: 17, port: 4500, data: h('20010db8000000000000000000000001') },
        { type: 'ID', idType: 8, protocol: 0, port: 0, data: h('20010db800000000000000000000000020010db8ffffffffffffffffffffffff') },
        { type: 'ID', idType: 4, protocol: 0, port: 0, data: h('0a000000ff000000') },
      ],
    },
    { header: hdr(2), payloads: [{ type: 'FRAG', fragmentId: 1, fragmentNumber: 1, flags: 1, data: mm5plain }] },
    { header: hdr(2, 0, 1), payloads: [], encrypted: filler(48, 17) },
  ];
  void qmSa;
  return ms.map((m) => decodeMessage(encodeMessage(m)));
}

/** The generic payload types in dissection order, with Proposal (2) and Transform (3) inline. */
function typesAndLengths(m: Message): { types: number[]; lengths: number[] } {
  const types: number[] = [];
  const lengths: number[] = [];
  const attrLen = (a: readonly DataAttribute[]): number => a.reduce((n, x) => n + 4 + (x.format === 'TLV' ? x.value.length : 0), 0);
  for (const p of m.payloads) {
    types.push(payloadTypeOf(p));
    lengths.push(4 + encodePayloadBody(p).length);
    if (p.type === 'SA') {
      for (const pr of p.proposals) {
        types.push(2);
        lengths.push(8 + pr.spi.length + pr.transforms.reduce((n, t) => n + 8 + attrLen(t.attributes), 0));
        for (const t of pr.transforms) { types.push(3); lengths.push(8 + attrLen(t.attributes)); }
      }
    }
  }
  return { types, lengths };
}

const FIELDS = [
  'frame.number', 'isakmp.ispi', 'isakmp.rspi', 'isakmp.exchangetype', 'isakmp.messageid', 'isakmp.length', 'isakmp.flags',
  'isakmp.typepayload', 'isakmp.payloadlength', 'isakmp.sa.doi', 'isakmp.prop.protoid', 'isakmp.spi', 'isakmp.trans.id',
  'isakmp.ike.attr.type', 'isakmp.ike.attr.life_duration', 'isakmp.ike.attr.encryption_algorithm', 'isakmp.ike.attr.key_length',
  'isakmp.ipsec.attr.type', 'isakmp.ipsec.attr.life_duration', 'isakmp.ipsec.attr.encap_mode', 'isakmp.ipsec.attr.auth_algorithm',
  'isakmp.key_exchange.data', 'isakmp.nonce', 'isakmp.hash', 'isakmp.sig', 'isakmp.vid_bytes', 'isakmp.id.type', 'isakmp.id.port',
  'isakmp.id.data.ipv4_addr', 'isakmp.id.data.fqdn', 'isakmp.id.data.user_fqdn', 'isakmp.id.data.key_id', 'isakmp.id.data.ipv6_addr',
  'isakmp.id.data.ipv4_range_start', 'isakmp.id.data.ipv6_subnet', 'isakmp.id.data.ipv4_subnet', 'isakmp.id.data.ipv6_range_start', 'isakmp.cert.encoding', 'isakmp.certreq.type',
  'isakmp.notify.msgtype', 'isakmp.delete.spi', 'isakmp.spinum', 'isakmp.cfg.type', 'isakmp.cfg.identifier', 'isakmp.cfg.attr.type',
  'isakmp.ike.nat_hash', 'isakmp.ike.nat_original_address_ipv4', 'isakmp.ike.nat_original_address_ipv6', 'isakmp.frag.packetid',
  'isakmp.frag.seq', 'isakmp.frag.last', 'isakmp.enc.data',
];

test('tshark dissects every payload type and attribute form we encode, with the same values', { skip: hasTshark ? false : 'tshark not installed: skipping (npm run test:interop installs it)' }, () => {
  const ms = corpus();
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-tshark-'));
  const file = join(dir, 'corpus.pcap');
  writeFileSync(file, writePcap(ms.map((m) => ({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 500, dstPort: 500, data: encodeMessage(m) }))));

  // 1. No malformed packet and no expert item of severity "error" anywhere.
  const bad = spawnSync('tshark', ['-r', file, '-Y', '_ws.malformed || _ws.expert.severity == error', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message'], { encoding: 'utf8' });
  assert.equal(bad.status, 0, bad.stderr);
  assert.equal(bad.stdout.trim(), '', `frames with malformed/expert-error items: ${bad.stdout}`);

  // 2. The values tshark reads.
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => Object.fromEntries(l.split('\t').map((v, i) => [FIELDS[i]!, v])));
  assert.equal(rows.length, ms.length);
  const list = (v: string | undefined): string[] => (v ? v.split(',') : []);
  const num = (v: string | undefined): number[] => list(v).map((x) => Number(x));
  // A reassembled fragment's inner message repeats the header fields: the outer one comes first.
  const first = (v: string | undefined): string | undefined => list(v)[0];

  ms.forEach((m, i) => {
    const row = rows[i]!;
    const at = `frame ${i + 1}`;
    const bytes = encodeMessage(m);
    assert.equal(first(row['isakmp.ispi']), hex(m.header.initiatorCookie), at);
    assert.equal(first(row['isakmp.rspi']), hex(m.header.responderCookie), at);
    assert.equal(Number(first(row['isakmp.exchangetype'])), m.header.exchangeType, at);
    assert.equal(Number(first(row['isakmp.messageid'])), m.header.messageId, at);
    assert.equal(Number(first(row['isakmp.length'])), bytes.length, at);
    assert.equal(Number(first(row['isakmp.flags'])), m.header.flags, at);
    if (m.encrypted) {
      assert.deepEqual(num(row['isakmp.typepayload']), [], at);
      return;
    }
    const { types, lengths } = typesAndLengths(m);
    const frag = m.payloads[0]?.type === 'FRAG';
    // A fragment's reassembled inner message is dissected too: compare the outer part only.
    assert.deepEqual(num(row['isakmp.typepayload']).slice(0, types.length), types, at);
    assert.deepEqual(num(row['isakmp.payloadlength']).slice(0, lengths.length), lengths, at);
    const ps = m.payloads;
    const all = <T extends Payload['type']>(t: T): Extract<Payload, { type: T }>[] => ps.filter((p) => p.type === t) as Extract<Payload, { type: T }>[];
    const dataOf = (t: string): string[] => ps.filter((p) => p.type === t).map((p) => hex((p as { data: Uint8Array }).data));
    const sas = all('SA');
    assert.deepEqual(num(row['isakmp.sa.doi']), sas.map((s) => s.doi), at);
    const props = sas.flatMap((s) => s.proposals);
    assert.deepEqual(num(row['isakmp.prop.protoid']), props.map((p) => p.protocol), at);
    assert.deepEqual(num(row['isakmp.trans.id']), props.flatMap((p) => p.transforms.map((t) => t.id)), at);
    const ikeAttrs = props.filter((p) => p.protocol === 1).flatMap((p) => p.transforms.flatMap((t) => t.attributes));
    const ipsecAttrs = props.filter((p) => p.protocol !== 1).flatMap((p) => p.transforms.flatMap((t) => t.attributes));
    assert.deepEqual(num(row['isakmp.ike.attr.type']), ikeAttrs.map((a) => a.type), at);
    assert.deepEqual(num(row['isakmp.ipsec.attr.type']), ipsecAttrs.map((a) => a.type), at);
    const val = (a: DataAttribute): number => (a.format === 'TV' ? a.value : Number(BigInt(`0x${hex(a.value) || '0'}`)));
    assert.deepEqual(num(row['isakmp.ike.attr.life_duration']), ikeAttrs.filter((a) => a.type === 12).map(val), at);
    assert.deepEqual(num(row['isakmp.ike.attr.encryption_algorithm']), ikeAttrs.filter((a) => a.type === 1).map(val), at);
    assert.deepEqual(num(row['isakmp.ike.attr.key_length']), ikeAttrs.filter((a) => a.type === 14).map(val), at);
    assert.deepEqual(num(row['isakmp.ipsec.attr.life_duration']), ipsecAttrs.filter((a) => a.type === 2).map(val), at);
    assert.deepEqual(num(row['isakmp.ipsec.attr.encap_mode']), ipsecAttrs.filter((a) => a.type === 4).map(val), at);
    assert.deepEqual(num(row['isakmp.ipsec.attr.auth_algorithm']), ipsecAttrs.filter((a) => a.type === 5).map(val), at);
    assert.deepEqual(list(row['isakmp.key_exchange.data']), dataOf('KE'), at);
    assert.deepEqual(list(row['isakmp.nonce']), dataOf('NONCE'), at);
    if (!frag) assert.deepEqual(list(row['isakmp.hash']), dataOf('HASH'), at);
    assert.deepEqual(list(row['isakmp.sig']), dataOf('SIG'), at);
    assert.deepEqual(list(row['isakmp.vid_bytes']), dataOf('VID'), at);
    if (!frag) {
      const ids = all('ID');
      // tshark files the NAT-OA ID type under isakmp.id.type as well.
      assert.deepEqual(num(row['isakmp.id.type']), ps.flatMap((p) => (p.type === 'ID' || p.type === 'NAT-OA' ? [p.idType] : [])), at);
      assert.deepEqual(num(row['isakmp.id.port']), ids.map((p) => p.port), at);
    }
    const idData = (t: number): Uint8Array[] => all('ID').filter((p) => p.idType === t).map((p) => p.data);
    const text = (b: Uint8Array): string => new TextDecoder().decode(b);
    assert.deepEqual(list(row['isakmp.id.data.fqdn']), idData(2).map(text), at);
    assert.deepEqual(list(row['isakmp.id.data.user_fqdn']), idData(3).map(text), at);
    assert.deepEqual(list(row['isakmp.id.data.key_id']), idData(11).map(hex), at);
    if (!frag) {
      // tshark shows a subnet's address under *_addr and its mask under *_subnet.
      const views = all('ID').map((p) => decodeIdentification(p.idType, p.data));
      assert.deepEqual(list(row['isakmp.id.data.ipv6_addr']), views.flatMap((v) => (v.kind === 'ipv6' || v.kind === 'ipv6-subnet' ? [v.address] : [])), at);
      assert.deepEqual(list(row['isakmp.id.data.ipv6_subnet']), views.flatMap((v) => (v.kind === 'ipv6-subnet' ? [v.mask] : [])), at);
      assert.deepEqual(list(row['isakmp.id.data.ipv4_addr']), views.flatMap((v) => (v.kind === 'ipv4' || v.kind === 'ipv4-subnet' ? [v.address] : [])), at);
      assert.deepEqual(list(row['isakmp.id.data.ipv4_subnet']), views.flatMap((v) => (v.kind === 'ipv4-subnet' ? [v.mask] : [])), at);
      assert.deepEqual(list(row['isakmp.id.data.ipv6_range_start']), views.flatMap((v) => (v.kind === 'ipv6-range' ? [v.start] : [])), at);
      assert.deepEqual(list(row['isakmp.id.data.ipv4_range_start']), idData(7).map((d) => `${d[0]}.${d[1]}.${d[2]}.${d[3]}`), at);
    } else {
      // tshark reassembled our one-fragment message and dissected the inner ID (192.0.2.1) and HASH.
      assert.deepEqual(list(row['isakmp.id.data.ipv4_addr']), ['192.0.2.1'], at);
    }
    assert.deepEqual(num(row['isakmp.cert.encoding']), all('CERT').map((p) => p.encoding), at);
    assert.deepEqual(num(row['isakmp.certreq.type']), all('CR').map((p) => p.certType), at);
    assert.deepEqual(num(row['isakmp.notify.msgtype']), all('N').map((p) => p.notifyType), at);
    assert.deepEqual(list(row['isakmp.delete.spi']), all('D').flatMap((p) => p.spis.map(hex)), at);
    assert.deepEqual(num(row['isakmp.spinum']), all('D').map((p) => p.spis.length), at);
    const attrs = all('ATTR');
    assert.deepEqual(num(row['isakmp.cfg.type']), attrs.map((p) => p.cfgType), at);
    assert.deepEqual(num(row['isakmp.cfg.identifier']), attrs.map((p) => p.identifier), at);
    assert.deepEqual(num(row['isakmp.cfg.attr.type']), attrs.flatMap((p) => p.attributes.map((a) => a.type)), at);
    assert.deepEqual(list(row['isakmp.ike.nat_hash']), all('NAT-D').map((p) => hex(p.hash)), at);
    assert.deepEqual(list(row['isakmp.ike.nat_original_address_ipv4']), all('NAT-OA').filter((p) => p.idType === 1).map((p) => [...p.address].join('.')), at);
    assert.deepEqual(list(row['isakmp.ike.nat_original_address_ipv6']), all('NAT-OA').filter((p) => p.idType === 5).map((p) => (decodeIdentification(5, p.address) as { address: string }).address), at);
    const frags = all('FRAG');
    assert.deepEqual(num(row['isakmp.frag.packetid']), frags.map((p) => p.fragmentId), at);
    assert.deepEqual(num(row['isakmp.frag.seq']), frags.map((p) => p.fragmentNumber), at);
    assert.deepEqual(num(row['isakmp.frag.last']), frags.map((p) => p.flags), at);
  });
});

test('tshark decrypts the built-in sample with the same key log line as `isakmp decode --keylog`, and finds the same payloads', { skip: hasTshark ? false : 'tshark not installed: skipping (npm run test:interop installs it)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-tshark-'));
  const file = join(dir, 'sample.pcap');
  const keys = join(dir, 'sample.keys');
  const sample = sampleExchange();
  writeFileSync(file, writePcap(sample.map((m) => ({ ...m, data: m.bytes }))));
  writeFileSync(keys, sampleKeyLog());
  const line = sampleKeyLog().split('\n').find((l) => l && !l.startsWith('#'))!;
  const r = spawnSync('tshark', ['-r', file, '-o', `uat:ikev1_decryption_table:${line}`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'isakmp.typepayload', '-e', 'isakmp.hash', '-e', 'isakmp.nonce'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const theirs = r.stdout.trim().split('\n').map((l) => l.split('\t'));
  const out: string[] = [];
  const code = await runCli(['decode', '--json', '--keylog', keys, file], { out: (s) => out.push(s), err: () => undefined });
  assert.equal(code, 0);
  const ours = out.map((l) => JSON.parse(l) as { payloads: { payloadType: number; type: string; data?: string; proposals?: { transforms: unknown[] }[] }[] });
  assert.equal(theirs.length, ours.length);
  ours.forEach((o, i) => {
    const types: number[] = [];
    for (const p of o.payloads) {
      types.push(p.payloadType);
      for (const pr of p.proposals ?? []) { types.push(2); for (const _ of pr.transforms) types.push(3); }
    }
    assert.deepEqual(theirs[i]![0]!.split(',').map(Number), types, `frame ${i + 1}`);
    assert.deepEqual(theirs[i]![1] ? theirs[i]![1]!.split(',') : [], o.payloads.filter((p) => p.type === 'HASH').map((p) => p.data), `frame ${i + 1} HASH`);
    assert.deepEqual(theirs[i]![2] ? theirs[i]![2]!.split(',') : [], o.payloads.filter((p) => p.type === 'NONCE').map((p) => p.data), `frame ${i + 1} NONCE`);
  });
  const bad = spawnSync('tshark', ['-r', file, '-o', `uat:ikev1_decryption_table:${line}`, '-Y', '_ws.malformed || _ws.expert.severity == error'], { encoding: 'utf8' });
  assert.equal(bad.stdout.trim(), '');
});
