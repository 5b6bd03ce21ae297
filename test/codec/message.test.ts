// RFC 2408 §3 layouts built by hand, byte by byte: decode to the expected records, re-encode to
// the same bytes, and every validation rule with its exact notify type (RFC 2408 §3.14.1, §5).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeHeader, decodeMessage, decodePayloads, encodeMessage, encodePayloadBody, encodePayloads, payloadTypeOf, tlv, tv, verify, verifyFindings,
  type Message, type Payload,
} from '../../src/codec/index.js';
import { NotifyType, PayloadType } from '../../src/constants/index.js';
import { gen, hex, throwsNotify, toHex, withHeader } from './helpers.js';

// MM1 (RFC 2409 §5 HDR, SA): one ISAKMP proposal, two transforms (AES-128/SHA1/PSK/MODP2048, 3DES).
const T1 = gen(3, '01 01 0000' + '8001 0007' + '800e 0080' + '8002 0002' + '8003 0001' + '8004 000e' + '800b 0001' + '000c 0004 00015180');
const T2 = gen(0, '02 01 0000' + '8001 0005' + '8002 0001' + '8003 0001' + '8004 0002');
const PROP = gen(0, '01 01 00 02' + T1 + T2);
const SA = gen(13, '00000001 00000001' + PROP);
const VID = gen(0, 'afcad71368a1f1c96b8696fc77570100');
const MM1 = withHeader(hex(SA + VID), { next: 1, icookie: 'a1a2a3a4a5a6a7a8' });

const MM1_RECORD: Message = {
  header: {
    initiatorCookie: hex('a1a2a3a4a5a6a7a8'), responderCookie: hex('0000000000000000'), nextPayload: 1,
    majorVersion: 1, minorVersion: 0, exchangeType: 2, flags: 0, messageId: 0,
  },
  payloads: [
    {
      type: 'SA', doi: 1, situation: 1,
      proposals: [{
        number: 1, protocol: 1, spi: new Uint8Array(0),
        transforms: [
          { number: 1, id: 1, attributes: [tv(1, 7), tv(14, 128), tv(2, 2), tv(3, 1), tv(4, 14), tv(11, 1), tlv(12, hex('00015180'))] },
          { number: 2, id: 1, attributes: [tv(1, 5), tv(2, 1), tv(3, 1), tv(4, 2)] },
        ],
      }],
    },
    { type: 'VID', data: hex('afcad71368a1f1c96b8696fc77570100') },
  ],
};

describe('RFC 2408 §3 round trip of hand-built messages', () => {
  test('decodes an MM1 (SA with 2 transforms + VID) to the expected record', () => {
    assert.deepEqual(decodeMessage(MM1), MM1_RECORD);
  });
  test('encodes the MM1 record to the same bytes, filling lengths and next-payload fields', () => {
    assert.equal(toHex(encodeMessage(MM1_RECORD)), toHex(MM1));
  });
  test('header.nextPayload comes from the first payload; 0 with no payloads', () => {
    const m = encodeMessage({ ...MM1_RECORD, header: { ...MM1_RECORD.header, nextPayload: 99 } });
    assert.equal(m[16], 1);
    const empty = encodeMessage({ header: MM1_RECORD.header, payloads: [] });
    assert.equal(toHex(empty), toHex(withHeader(new Uint8Array(0), { icookie: 'a1a2a3a4a5a6a7a8', next: 0 })));
    assert.deepEqual(decodeMessage(empty).payloads, []);
  });
  test('encodePayloadBody gives SAi_b: the SA payload without its generic header', () => {
    assert.equal(toHex(encodePayloadBody(MM1_RECORD.payloads[0]!)), SA.slice(8));
  });
  test('encodePayloads chains payloads with next-payload fields', () => {
    assert.equal(toHex(encodePayloads(MM1_RECORD.payloads)), SA + VID);
  });
  test('decodeHeader reads the header alone (for demultiplexing by cookies)', () => {
    const h = decodeHeader(MM1);
    assert.deepEqual(h, MM1_RECORD.header);
  });
  test('decoded records do not alias the caller buffer', () => {
    const buf = MM1.slice();
    const m = decodeMessage(buf);
    buf.fill(0xee);
    assert.deepEqual(m, MM1_RECORD);
    // a Node Buffer (what node:dgram hands the daemon): Buffer#slice is a view, not a copy
    const nodeBuf = Buffer.from(MM1);
    const m2 = decodeMessage(nodeBuf);
    const h2 = decodeHeader(nodeBuf);
    nodeBuf.fill(0xee);
    assert.deepEqual(m2, MM1_RECORD);
    assert.deepEqual(h2.initiatorCookie, MM1_RECORD.header.initiatorCookie);
    const body = Buffer.from(encodePayloads(MM1_RECORD.payloads));
    const ps = decodePayloads(MM1_RECORD.header.nextPayload, body);
    body.fill(0xee);
    assert.deepEqual(ps, MM1_RECORD.payloads);
  });

  const cases: [string, string, Payload][] = [
    ['KE', gen(0, '00112233'), { type: 'KE', data: hex('00112233') }],
    ['ID ipv4 (RFC 2407 §4.6.2)', gen(0, '01 11 01f4 c0000201'), { type: 'ID', idType: 1, protocol: 17, port: 500, data: hex('c0000201') }],
    ['CERT', gen(0, '04 3082'), { type: 'CERT', encoding: 4, data: hex('3082') }],
    ['CR (empty authority)', gen(0, '04'), { type: 'CR', certType: 4, authority: new Uint8Array(0) }],
    ['HASH', gen(0, 'aabbcc'), { type: 'HASH', data: hex('aabbcc') }],
    ['SIG', gen(0, 'dd'), { type: 'SIG', data: hex('dd') }],
    ['NONCE (8 bytes)', gen(0, '0102030405060708'), { type: 'NONCE', data: hex('0102030405060708') }],
    ['N with ISAKMP SPI (R_U_THERE)', gen(0, '00000001 01 10 8d28' + '00'.repeat(8) + '11'.repeat(8) + '0000002a'),
      { type: 'N', doi: 1, protocol: 1, notifyType: 36136, spi: hex('00'.repeat(8) + '11'.repeat(8)), data: hex('0000002a') }],
    ['N without SPI', gen(0, '00000001 03 00 000e'), { type: 'N', doi: 1, protocol: 3, notifyType: 14, spi: new Uint8Array(0), data: new Uint8Array(0) }],
    ['D with two ESP SPIs', gen(0, '00000001 03 04 0002 11111111 22222222'), { type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [hex('11111111'), hex('22222222')] }],
    ['ATTR (ModeCfg request, XAUTH TV + TLV)', gen(0, '01 00 1234 c088 0000 4089 0004 75736572'),
      { type: 'ATTR', cfgType: 1, identifier: 0x1234, attributes: [tv(16520, 0), tlv(16521, hex('75736572'))] }],
    ['NAT-D (20)', gen(0, '00'.repeat(20)), { type: 'NAT-D', payloadType: 20, hash: new Uint8Array(20) }],
    ['NAT-OA (21) IPv4', gen(0, '01 000000 0a000001'), { type: 'NAT-OA', payloadType: 21, idType: 1, address: hex('0a000001') }],
    ['FRAG (132) last', gen(0, '0007 02 01 deadbeef'), { type: 'FRAG', fragmentId: 7, fragmentNumber: 2, flags: 1, data: hex('deadbeef') }],
  ];
  for (const [name, bytes, rec] of cases) {
    test(`round trip: ${name}`, () => {
      const msg = withHeader(hex(bytes), { next: payloadTypeOf(rec), exch: 5 });
      const m = decodeMessage(msg);
      assert.deepEqual(m.payloads, [rec]);
      assert.equal(toHex(encodeMessage(m)), toHex(msg));
    });
  }
  test('NAT-D 130 and NAT-OA 131 (draft numbers) keep their payload type', () => {
    const msg = withHeader(hex(gen(131, 'ab'.repeat(16)) + gen(0, '05 000000' + '20010db8' + '00'.repeat(12))), { next: 130 });
    const m = decodeMessage(msg);
    assert.deepEqual(m.payloads.map(payloadTypeOf), [130, 131]);
    assert.equal(toHex(encodeMessage(m)), toHex(msg));
  });
  test('RFC 2407 §4.6.1 labeled domain fields decode when SIT_SECRECY is set, and round trip', () => {
    const ld = '00000007' + '0002 0000 aabb' + '0009 0000 ff80' + '0001 0000 cc' + '0000 0000';
    const msg = withHeader(hex(gen(0, '00000001 00000003' + ld + PROP)), { next: 1 });
    const m = decodeMessage(msg);
    const sa = m.payloads[0]!;
    assert.equal(sa.type, 'SA');
    if (sa.type !== 'SA') return;
    assert.deepEqual(sa.labeledDomain, {
      labeledDomainIdentifier: 7, secrecyLevel: hex('aabb'), secrecyCategories: hex('ff80'), secrecyCategoryBits: 9,
      integrityLevel: hex('cc'), integrityCategories: new Uint8Array(0),
    });
    assert.equal(sa.proposals[0]!.transforms.length, 2);
    assert.equal(toHex(encodeMessage(m)), toHex(msg));
  });
  test('an SA of another DOI keeps its body raw', () => {
    const msg = withHeader(hex(gen(0, '00000002 0102030405')), { next: 1 });
    const m = decodeMessage(msg);
    assert.deepEqual(m.payloads, [{ type: 'SA', doi: 2, situation: 0, proposals: [], raw: hex('0102030405') }]);
    assert.equal(toHex(encodeMessage(m)), toHex(msg));
  });
  test('unknown payload types (IKEv2 33–48, SAK 15, private 200) decode raw, round trip, and verify flags them', () => {
    for (const t of [15, 33, 40, 48, 53, 128, 200, 255]) {
      const msg = withHeader(hex(gen(0, 'c0ffee')), { next: t });
      const m = decodeMessage(msg);
      assert.deepEqual(m.payloads, [{ type: 'UNKNOWN', payloadType: t, body: hex('c0ffee') }]);
      assert.equal(toHex(encodeMessage(m)), toHex(msg));
      assert.equal(verifyFindings(m)[0]?.notify, NotifyType.INVALID_PAYLOAD_TYPE);
    }
  });
  test('non-zero RESERVED fields are tolerated, kept for the round trip, and reported by verify', () => {
    const t = gen(0, '01 01 3039 8001 0005', 0x22);
    const msg = withHeader(hex(gen(0, '00000001 00000001' + gen(0, '01 01 00 01' + t, 0x11), 0x01)), { next: 1 });
    const m = decodeMessage(msg);
    assert.equal(toHex(encodeMessage(m)), toHex(msg));
    assert.deepEqual(verify(m), [
      'payload[0]: generic header RESERVED = 1',
      'payload[0].proposal[0]: proposal RESERVED = 17',
      'payload[0].proposal[0].transform[0]: transform RESERVED = 34',
      'payload[0].proposal[0].transform[0]: transform RESERVED2 = 12345',
    ]);
    assert.deepEqual(verify(decodeMessage(MM1)), []);
  });
});

describe('E flag: encrypted bodies stay opaque', () => {
  const body = hex('00112233445566778899aabbccddeeff');
  const msg = withHeader(body, { next: 8, flags: 1, exch: 32, msgid: 0x01020304 });
  test('decodeMessage keeps the body in `encrypted` and the header next payload as sent', () => {
    const m = decodeMessage(msg);
    assert.deepEqual(m.payloads, []);
    assert.deepEqual(m.encrypted, body);
    assert.equal(m.header.nextPayload, 8);
    assert.equal(toHex(encodeMessage(m)), toHex(msg));
  });
  test('decodePayloads reads a decrypted chain and tolerates the zero padding with allowTrailing', () => {
    const ps = decodePayloads(8, hex(gen(10, 'aabbccdd') + gen(0, '0102030405060708') + '000000'), { allowTrailing: true });
    assert.deepEqual(ps, [{ type: 'HASH', data: hex('aabbccdd') }, { type: 'NONCE', data: hex('0102030405060708') }]);
    throwsNotify(() => decodePayloads(8, hex(gen(10, 'aabbccdd') + gen(0, '0102030405060708') + '000000')), 'UNEQUAL_PAYLOAD_LENGTHS', 20);
    const e = throwsNotify(() => decodePayloads(8, hex(gen(10, 'aabbccdd') + '0000'), { baseOffset: 28, allowTrailing: true }), 'PAYLOAD_MALFORMED');
    assert.equal(e.offset, 28 + 8);
  });
});

describe('RFC 2408 §5.1 header checks', () => {
  test('rejects datagrams shorter than the header (0..27 bytes) with UNEQUAL_PAYLOAD_LENGTHS', () => {
    for (let n = 0; n < 28; n++) throwsNotify(() => decodeMessage(MM1.subarray(0, n)), 'UNEQUAL_PAYLOAD_LENGTHS', 0);
  });
  test('rejects a header length that differs from the datagram (0, 27, n±1, 0xffffffff)', () => {
    for (const len of [0, 27, MM1.length - 1, MM1.length + 1, 0x80000000, 0xffffffff]) {
      const b = MM1.slice();
      new DataView(b.buffer).setUint32(24, len);
      throwsNotify(() => decodeMessage(b), 'UNEQUAL_PAYLOAD_LENGTHS', 24);
      throwsNotify(() => decodeHeader(b), 'UNEQUAL_PAYLOAD_LENGTHS', 24);
    }
  });
  test('rejects major versions other than 1 with INVALID_MAJOR_VERSION (CVE-2013-4564 shape)', () => {
    for (const v of [0x00, 0x20, 0x30, 0xf0]) throwsNotify(() => decodeMessage(withHeader(new Uint8Array(0), { version: v })), 'INVALID_MAJOR_VERSION', 17);
  });
  test('rejects minor version 1 with INVALID_MINOR_VERSION', () => {
    throwsNotify(() => decodeMessage(withHeader(new Uint8Array(0), { version: 0x11 })), 'INVALID_MINOR_VERSION', 17);
  });
  test('rejects undefined flag bits with INVALID_FLAGS; accepts E, C, A', () => {
    for (const f of [0x08, 0x10, 0x80, 0xff]) throwsNotify(() => decodeMessage(withHeader(new Uint8Array(0), { flags: f })), 'INVALID_FLAGS', 19);
    for (const f of [0x02, 0x04, 0x06]) assert.equal(decodeMessage(withHeader(new Uint8Array(0), { flags: f })).header.flags, f);
  });
});

describe('RFC 2408 §3.2 payload chain checks', () => {
  test('rejects payload lengths 0, 1, 3 (< generic header) with PAYLOAD_MALFORMED at the length field', () => {
    for (const len of [0, 1, 3]) {
      const b = withHeader(hex('0000' + len.toString(16).padStart(4, '0') + '00000000'), { next: 13 });
      throwsNotify(() => decodeMessage(b), 'PAYLOAD_MALFORMED', 30);
    }
  });
  test('rejects a payload length beyond the datagram (0xffff) with PAYLOAD_MALFORMED', () => {
    throwsNotify(() => decodeMessage(withHeader(hex('0000ffff00000000'), { next: 13 })), 'PAYLOAD_MALFORMED', 30);
  });
  test('rejects a chain that names a next payload when no bytes are left', () => {
    throwsNotify(() => decodeMessage(withHeader(hex(gen(13, 'aa')), { next: 13 })), 'PAYLOAD_MALFORMED', 33);
  });
  test('bytes after the payload whose next payload is 0 (Libreswan pads with zeros): kept in `trailing`, a verify() warning, re-encoded as they came', () => {
    // issue 10: accepted inside the header length (which must still match the datagram)
    const padded = withHeader(hex(gen(0, 'aa') + '000000'), { next: 13 });
    const m = decodeMessage(padded);
    assert.deepEqual(m.payloads, [{ type: 'VID', data: hex('aa') }]);
    assert.deepEqual(m.trailing, hex('000000'));
    assert.deepEqual(verify(m), ['message: 3 bytes after the last payload (zeros), inside the header length']);
    assert.deepEqual(verifyFindings(m).map((f) => f.notify), [NotifyType.UNEQUAL_PAYLOAD_LENGTHS]);
    assert.equal(toHex(encodeMessage(m)), toHex(padded));
    const junk = decodeMessage(withHeader(hex(gen(0, 'aa') + 'ff01'), { next: 13 }));
    assert.deepEqual(verify(junk), ['message: 2 bytes after the last payload (not zeros), inside the header length']);
    const none = decodeMessage(withHeader(hex('00'), { next: 0 }));
    assert.deepEqual([none.payloads, none.trailing], [[], hex('00')]);
    // no trailing bytes: no field at all (records of ordinary messages are unchanged)
    assert.equal('trailing' in decodeMessage(MM1), false);
    // the header length still has to match the datagram: bytes beyond it are refused
    const longer = new Uint8Array(padded.length + 2);
    longer.set(padded);
    throwsNotify(() => decodeMessage(longer), 'UNEQUAL_PAYLOAD_LENGTHS', 24);
    // a decrypted chain without allowTrailing still refuses them
    throwsNotify(() => decodePayloads(13, hex(gen(0, 'aa') + '00')), 'UNEQUAL_PAYLOAD_LENGTHS', 5);
  });
  test('trailing bytes are bounded by the header: a 64 KiB datagram with one payload is decoded with 65 000 trailing bytes, no more', () => {
    const body = new Uint8Array(65_000 + 5);
    body.set(hex(gen(0, 'aa')));
    const m = decodeMessage(withHeader(body, { next: 13 }));
    assert.equal(m.trailing?.length, 65_000);
  });
  test('rejects Proposal (2) and Transform (3) outside an SA with INVALID_PAYLOAD_TYPE', () => {
    throwsNotify(() => decodeMessage(withHeader(hex(gen(0, '01010000')), { next: 2 })), 'INVALID_PAYLOAD_TYPE', 28);
    throwsNotify(() => decodeMessage(withHeader(hex(gen(3, 'aa') + gen(0, '01010000')), { next: 13 })), 'INVALID_PAYLOAD_TYPE', 33);
  });
  test('VID with payload length 1 (CVE-2022-23094 shape) is PAYLOAD_MALFORMED', () => {
    throwsNotify(() => decodeMessage(withHeader(hex(SA.replace(/^0d/, '0d') + '00000001' + '00'.repeat(8)), { next: 1 })), 'PAYLOAD_MALFORMED', 28 + SA.length / 2 + 2);
  });
});

describe('per-payload checks', () => {
  const one = (t: number, body: string, reserved = 0): Uint8Array => withHeader(hex(gen(0, body, reserved)), { next: t, exch: 5 });
  test('nonce: 8 and 256 bytes accepted; 7 and 257 rejected with PAYLOAD_MALFORMED (RFC 2409 §5)', () => {
    assert.equal(decodeMessage(one(10, '00'.repeat(8))).payloads.length, 1);
    assert.equal(decodeMessage(one(10, '00'.repeat(256))).payloads.length, 1);
    throwsNotify(() => decodeMessage(one(10, '00'.repeat(7))), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(10, '00'.repeat(257))), 'PAYLOAD_MALFORMED');
  });
  test('Delete: 12 + n·size must equal the payload length; n ≥ 1; size per protocol (SHAPES #31)', () => {
    throwsNotify(() => decodeMessage(one(12, '00000001 03 04 0002 11111111')), 'PAYLOAD_MALFORMED', 38);
    throwsNotify(() => decodeMessage(one(12, '00000001 03 04 0000')), 'PAYLOAD_MALFORMED', 38);
    throwsNotify(() => decodeMessage(one(12, '00000001 01 04 0001 11111111')), 'PAYLOAD_MALFORMED', 37);
    throwsNotify(() => decodeMessage(one(12, '00000001 07 ff ffff' + '00'.repeat(532))), 'PAYLOAD_MALFORMED', 38);
    const ok = decodeMessage(one(12, '00000001 01 10 0001' + 'ab'.repeat(16)));
    assert.equal(ok.payloads[0]!.type, 'D');
  });
  test('ID data length per RFC 2407 §4.6.2 type → INVALID_ID_INFORMATION', () => {
    for (const [t, n] of [[1, 3], [1, 5], [4, 4], [5, 4], [6, 24], [6, 16], [7, 4], [8, 16], [2, 0], [3, 0], [9, 0], [11, 0]] as const) {
      throwsNotify(() => decodeMessage(one(5, t.toString(16).padStart(2, '0') + '000000' + '00'.repeat(n))), 'INVALID_ID_INFORMATION', 36);
    }
    assert.equal(decodeMessage(one(5, '06000000' + '00'.repeat(32))).payloads.length, 1);
    assert.equal(decodeMessage(one(5, '63000000')).payloads.length, 1, 'unknown ID type 99 with empty data is kept');
  });
  test('Transaction (ATTR) payload padded with 1-3 zero bytes after its last attribute (Libreswan after CISCO_SPLIT_INC): kept as padding, re-encoded to the same bytes; a non-zero tail stays PAYLOAD_MALFORMED', () => {
    // REPLY, identifier 0, INTERNAL_IP4_ADDRESS 10.10.0.10, CISCO_SPLIT_INC (one 14-byte item), 2 zero bytes
    const body = '02 00 0000' + '0001 0004 0a0a000a' + '7004 000e 0a010000 ffff0000 0000 0000 0000' + '0000';
    const bytes = one(14, body);
    const m = decodeMessage(bytes);
    const p = m.payloads[0]!;
    assert.equal(p.type, 'ATTR');
    if (p.type !== 'ATTR') return;
    assert.equal(p.attributes.length, 2);
    assert.equal(p.padding, 2);
    assert.equal(toHex(p.attributes[1]!.value as Uint8Array), '0a010000ffff0000000000000000');
    assert.equal(toHex(encodeMessage(m)), toHex(bytes));
    throwsNotify(() => decodeMessage(one(14, '02 00 0000' + '0001 0004 0a0a000a' + '0001')), 'PAYLOAD_MALFORMED');
    // only the Transaction payload takes padding: a transform's attributes still end exactly
    throwsNotify(() => decodeMessage(one(1, '00000001 00000001' + gen(0, '01 01 00 01' + gen(0, '01 01 0000' + '8001 0007' + '0000')))), 'PAYLOAD_MALFORMED');
  });
  test('ID shorter than its fixed fields is PAYLOAD_MALFORMED', () => {
    throwsNotify(() => decodeMessage(one(5, '010000')), 'PAYLOAD_MALFORMED');
  });
  test('Notify: SPI size per protocol (ESP 3 → INVALID_SPI), SPI longer than payload → PAYLOAD_MALFORMED', () => {
    throwsNotify(() => decodeMessage(one(11, '00000001 03 03 000e 112233')), 'INVALID_SPI', 37);
    throwsNotify(() => decodeMessage(one(11, '00000001 01 10 000e 1122')), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(11, '00000001 01 10')), 'PAYLOAD_MALFORMED');
  });
  test('SA situation with unassigned bits (0xffffffff, CVE-2015-3204) → SITUATION_NOT_SUPPORTED', () => {
    throwsNotify(() => decodeMessage(one(1, '00000001 ffffffff' + PROP)), 'SITUATION_NOT_SUPPORTED', 36);
    throwsNotify(() => decodeMessage(one(1, '00000001 00000008' + PROP)), 'SITUATION_NOT_SUPPORTED', 36);
  });
  test('SA without a proposal, or with a truncated situation', () => {
    throwsNotify(() => decodeMessage(one(1, '00000001 00000001')), 'BAD_PROPOSAL_SYNTAX');
    throwsNotify(() => decodeMessage(one(1, '00000001 0000')), 'PAYLOAD_MALFORMED');
  });
  test('proposal: SPI size per protocol → INVALID_SPI (ESP 8, AH 0, ISAKMP 4)', () => {
    throwsNotify(() => decodeMessage(one(1, '00000001 00000001' + gen(0, '01 03 08 01' + '00'.repeat(8) + gen(0, '010c0000')))), 'INVALID_SPI', 46);
    throwsNotify(() => decodeMessage(one(1, '00000001 00000001' + gen(0, '01 02 00 01' + gen(0, '01030000')))), 'INVALID_SPI', 46);
    throwsNotify(() => decodeMessage(one(1, '00000001 00000001' + gen(0, '01 01 04 01 00000000' + gen(0, '01010000')))), 'INVALID_SPI', 46);
    assert.equal(decodeMessage(one(1, '00000001 00000001' + gen(0, '01 04 02 01 1234' + gen(0, '01020000')))).payloads.length, 1, 'IPCOMP 2-byte CPI');
  });
  test('proposal/transform structure → BAD_PROPOSAL_SYNTAX or PAYLOAD_MALFORMED', () => {
    const sa = (p: string): Uint8Array => one(1, '00000001 00000001' + p);
    throwsNotify(() => decodeMessage(sa(gen(0, '01 01 00 03' + T1 + T2))), 'BAD_PROPOSAL_SYNTAX', 47); // count says 3
    throwsNotify(() => decodeMessage(sa(gen(0, '01 01 00 01' + gen(5, '01010000')))), 'BAD_PROPOSAL_SYNTAX', 48); // transform next 5
    throwsNotify(() => decodeMessage(sa(gen(0, '01 01 00 01' + gen(3, '01010000')))), 'BAD_PROPOSAL_SYNTAX'); // chain not ended
    throwsNotify(() => decodeMessage(sa(gen(3, '01 01 00 01' + gen(0, '01010000')))), 'BAD_PROPOSAL_SYNTAX', 40); // proposal next 3
    throwsNotify(() => decodeMessage(sa(gen(0, '01 01 00 01' + gen(0, '01010000')) + gen(0, '02010001' + gen(0, '01010000')))), 'BAD_PROPOSAL_SYNTAX');
    throwsNotify(() => decodeMessage(sa(gen(0, '01 01 00 01' + '00000004'))), 'PAYLOAD_MALFORMED'); // transform header only
    throwsNotify(() => decodeMessage(sa(gen(0, '01 01 00 01' + '0000ffff01010000'))), 'PAYLOAD_MALFORMED', 50);
    throwsNotify(() => decodeMessage(sa('00000003 01010000')), 'PAYLOAD_MALFORMED', 42); // proposal length 3
  });
  test('attribute TLV longer than its transform, or a partial attribute header → PAYLOAD_MALFORMED', () => {
    const sa = (attrs: string): Uint8Array => one(1, '00000001 00000001' + gen(0, '01 01 00 01' + gen(0, '01 01 0000' + attrs)));
    throwsNotify(() => decodeMessage(sa('000c 0010 00015180')), 'PAYLOAD_MALFORMED', 56);
    throwsNotify(() => decodeMessage(sa('000c ffff')), 'PAYLOAD_MALFORMED', 56);
    throwsNotify(() => decodeMessage(sa('8001')), 'PAYLOAD_MALFORMED', 56);
    assert.equal(decodeMessage(sa('0006 0000')).payloads.length, 1, 'zero-length TLV is well-formed');
  });
  test('SHAPES #1 (BENIGNCERTAIN): group-prime class 6 TLVs of 0/1/96/1024 bytes decode; a TLV longer than the payload is PAYLOAD_MALFORMED', () => {
    for (const n of [0, 1, 96, 1024]) {
      const m = decodeMessage(one(1, '00000001 00000001' + gen(0, '01 01 00 01' + gen(0, '01 01 0000 8001 0005 0006' + n.toString(16).padStart(4, '0') + 'ab'.repeat(n)))));
      const sa = m.payloads[0]!;
      assert.equal(sa.type === 'SA' && sa.proposals[0]!.transforms[0]!.attributes[1]!.format, 'TLV');
      assert.equal(toHex(encodeMessage(m)), toHex(one(1, '00000001 00000001' + gen(0, '01 01 00 01' + gen(0, '01 01 0000 8001 0005 0006' + n.toString(16).padStart(4, '0') + 'ab'.repeat(n))))));
    }
    for (const claimed of [97, 1025, 65535]) {
      throwsNotify(() => decodeMessage(one(1, '00000001 00000001' + gen(0, '01 01 00 01' + gen(0, '01 01 0000 0006' + claimed.toString(16).padStart(4, '0') + 'ab'.repeat(96))))), 'PAYLOAD_MALFORMED', 56);
    }
  });
  test('fragment payload (132): body < 4 (payload length < 8, CVE-2016-1287 shape) and number 0 → PAYLOAD_MALFORMED', () => {
    for (const body of ['', '00', '000102']) throwsNotify(() => decodeMessage(one(132, body)), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(132, '0001 00 01 aa')), 'PAYLOAD_MALFORMED', 34);
    assert.equal(decodeMessage(one(132, '0001 01 00')).payloads.length, 1, 'payload length 8, empty data');
  });
  test('NAT-OA address length per ID type; CERT/CR need their type octet; ATTR its 4 fixed octets', () => {
    throwsNotify(() => decodeMessage(one(21, '01000000 0a0000')), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(21, '05000000 0a000001')), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(6, '')), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(7, '')), 'PAYLOAD_MALFORMED');
    throwsNotify(() => decodeMessage(one(14, '010000')), 'PAYLOAD_MALFORMED');
  });
  test('DecodeError carries the payload type being decoded', () => {
    const e = throwsNotify(() => decodeMessage(one(10, '00')), 'PAYLOAD_MALFORMED');
    assert.equal(e.payload, PayloadType.NONCE);
  });
  test('a decode after a refused one starts clean (the chain decoders share one reader): no window, payload type or bytes left over', () => {
    const inTransform = one(1, '00000001 00000001' + gen(0, '01 01 00 01' + gen(0, '01 01 0000 8001')));
    throwsNotify(() => decodeMessage(inTransform), 'PAYLOAD_MALFORMED', 56);
    assert.deepEqual(decodeMessage(MM1), MM1_RECORD);
    throwsNotify(() => decodeMessage(one(10, '00')), 'PAYLOAD_MALFORMED');
    const after = throwsNotify(() => decodePayloads(13, hex(gen(0, 'aa') + '00')), 'UNEQUAL_PAYLOAD_LENGTHS', 5);
    assert.equal(after.payload, undefined, 'an error after the chain names no payload');
    throwsNotify(() => decodeMessage(inTransform), 'PAYLOAD_MALFORMED', 56);
    assert.deepEqual(decodePayloads(1, MM1.subarray(28), { baseOffset: 28 }), MM1_RECORD.payloads);
  });
});

describe('encoder refusals', () => {
  test('refuses values wider than their field, with a DecodeError', () => {
    const h = MM1_RECORD.header;
    throwsNotify(() => encodeMessage({ header: { ...h, initiatorCookie: new Uint8Array(7) }, payloads: [] }), 'PAYLOAD_MALFORMED');
    throwsNotify(() => encodeMessage({ header: { ...h, messageId: 2 ** 32 }, payloads: [] }), 'PAYLOAD_MALFORMED');
    throwsNotify(() => encodePayloads([{ type: 'NONCE', data: new Uint8Array(70000) }]), 'PAYLOAD_MALFORMED');
    throwsNotify(() => encodePayloads([{ type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [new Uint8Array(3)] }]), 'PAYLOAD_MALFORMED');
    throwsNotify(() => encodePayloadBody({ type: 'SA', doi: 1, situation: 1, proposals: [{ number: 1, protocol: 1, spi: new Uint8Array(0), transforms: [{ number: 1, id: 1, attributes: [tv(1, 70000)] }] }] }), 'PAYLOAD_MALFORMED');
  });
});
