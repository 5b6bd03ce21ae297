// RFC 2408 §3.3 attribute forms, RFC 2409 App. A / RFC 2407 §4.5 typed views, and RFC 2407
// §4.6.2 identification data.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attrValueAsNumber, decodeIdentification, decodePayloads, encodeIdentification, encodePayloads, ikeAttributes, ipsecAttributes, tlv, tv,
  type AttributePayload, type DataAttribute, type SaPayload, type Transform,
} from '../../src/codec/index.js';
import { hex, throwsNotify } from './helpers.js';

describe('attribute builders and numbers', () => {
  test('tv/tlv build the two RFC 2408 §3.3 forms', () => {
    assert.deepEqual(tv(1, 7), { format: 'TV', type: 1, value: 7 });
    assert.deepEqual(tlv(12, hex('00015180')), { format: 'TLV', type: 12, value: hex('00015180') });
  });
  test('attrValueAsNumber reads TLV values up to 6 octets (after leading zeros)', () => {
    assert.equal(attrValueAsNumber(tv(2, 65535)), 65535);
    assert.equal(attrValueAsNumber(tlv(12, hex('015180'))), 86400);
    assert.equal(attrValueAsNumber(tlv(12, hex('ffffffffffff'))), 2 ** 48 - 1);
    assert.equal(attrValueAsNumber(tlv(12, hex('0000000000000000000a'))), 10);
    assert.equal(attrValueAsNumber(tlv(12, hex('01000000000000'))), undefined);
    assert.equal(attrValueAsNumber(tlv(12, new Uint8Array(0))), undefined);
  });
});

describe('decoded attribute records', () => {
  const attrPayload = (attributes: DataAttribute[]): Uint8Array => encodePayloads([{ type: 'ATTR', cfgType: 2, identifier: 7, attributes }]);
  const decodeAttrs = (bytes: Uint8Array): readonly DataAttribute[] => (decodePayloads(14, bytes)[0] as AttributePayload).attributes;
  test('a TV record is shared by every decode and frozen; a TLV record is a fresh view each time', () => {
    const bytes = attrPayload([tv(16396, 3600), tlv(1, hex('c0000201')), tv(1, 7)]);
    const a = decodeAttrs(bytes);
    const b = decodeAttrs(bytes);
    assert.deepEqual(a, [tv(16396, 3600), tlv(1, hex('c0000201')), tv(1, 7)]);
    assert.equal(a[0], b[0], 'one record per (type, value)');
    assert.equal(a[2], b[2]);
    assert.notEqual(a[1], b[1]);
    assert.ok(Object.isFrozen(a[0]));
    assert.throws(() => { (a[0] as { value: number }).value = 1; }, TypeError);
    assert.deepEqual(decodeAttrs(bytes)[0], tv(16396, 3600), 'a refused write changes nothing');
  });
  test('more distinct TV attributes than the shared table holds still decode to their values', () => {
    for (let round = 0; round < 3; round++) {
      const attrs: DataAttribute[] = [];
      for (let v = 0; v < 3000; v++) attrs.push(tv(20000 + round, v * 7 + round));
      for (let i = 0; i < 3000; i += 1000) assert.deepEqual(decodeAttrs(attrPayload(attrs.slice(i, i + 1000))), attrs.slice(i, i + 1000));
    }
  });
  test('each decoded array is exactly its elements (no holes, no spare length)', () => {
    const t = (n: number, k: number): Transform => ({ number: n, id: 1, attributes: Array.from({ length: k }, (_, i) => tv(i + 1, n)) });
    const sa: SaPayload = {
      type: 'SA', doi: 1, situation: 1,
      proposals: [{ number: 1, protocol: 1, spi: new Uint8Array(0), transforms: [t(1, 3), t(2, 1), t(3, 18)] }, { number: 2, protocol: 1, spi: new Uint8Array(0), transforms: [t(1, 0)] }],
    };
    const chain = decodePayloads(1, encodePayloads([sa, { type: 'NONCE', data: new Uint8Array(8) }, { type: 'VID', data: new Uint8Array(0) }]));
    const dense = (a: readonly unknown[]): boolean => Object.keys(a).length === a.length;
    assert.equal(chain.length, 3);
    assert.ok(dense(chain));
    const got = chain[0] as SaPayload;
    assert.deepEqual(got, sa);
    assert.ok(dense(got.proposals));
    for (const p of got.proposals) {
      assert.ok(dense(p.transforms));
      for (const x of p.transforms) assert.ok(dense(x.attributes));
    }
    assert.deepEqual(got.proposals.map((p) => p.transforms.map((x) => x.attributes.length)), [[3, 1, 18], [0]]);
  });
});

describe('ikeAttributes (RFC 2409 Appendix A)', () => {
  const t: Transform = {
    number: 1, id: 1,
    attributes: [tv(1, 7), tv(14, 256), tv(2, 4), tv(3, 65001), tv(4, 14), tv(5, 1), tv(11, 1), tlv(12, hex('00015180')),
      tv(11, 2), tv(12, 1000), tv(13, 9), tv(15, 521), tlv(6, hex('ffff')), tlv(16, hex('07')), tv(99, 3), tv(1, 5), tv(4, 9999)],
  };
  const a = ikeAttributes(t);
  test('names known values, keeps unknown values as numbers', () => {
    assert.deepEqual(a.encryptionAlgorithm, { value: 7, name: 'AES_CBC' });
    assert.equal(a.keyLength, 256);
    assert.deepEqual(a.hashAlgorithm, { value: 4, name: 'SHA2_256' });
    assert.deepEqual(a.authMethod, { value: 65001, name: 'XAUTH_INIT_PRESHARED' });
    assert.deepEqual(a.groupDescription, { value: 14, name: 'MODP_2048' });
    assert.deepEqual(a.groupType, { value: 1, name: 'MODP' });
    assert.deepEqual(a.prf, { value: 9, name: undefined });
    assert.equal(a.fieldSize, 521);
  });
  test('pairs each life type with the duration after it (TLV and TV)', () => {
    assert.deepEqual(a.lifetimes.map((l) => [l.type.name, l.duration]), [['SECONDS', 86400], ['KILOBYTES', 1000]]);
  });
  test('private-group classes 6–10/16 kept as bytes; unknown classes and duplicates kept as sent', () => {
    assert.deepEqual(a.privateGroup, [{ type: 6, name: 'GROUP_PRIME', value: hex('ffff') }, { type: 16, name: 'GROUP_ORDER', value: hex('07') }]);
    assert.deepEqual(a.unknown, [tv(99, 3)]);
    assert.deepEqual(a.duplicates, [tv(1, 5), tv(4, 9999)]);
  });
  test('a duration without a life type before it is unknown', () => {
    assert.deepEqual(ikeAttributes({ number: 1, id: 1, attributes: [tlv(12, hex('10'))] }).unknown, [tlv(12, hex('10'))]);
  });
});

describe('ipsecAttributes (RFC 2407 §4.5)', () => {
  test('names known values and pairs lifetimes', () => {
    const a = ipsecAttributes({
      number: 1, id: 12,
      attributes: [tv(1, 1), tv(2, 3600), tv(1, 2), tlv(2, hex('0003d090')), tv(3, 14), tv(4, 61443), tv(5, 5), tv(6, 128), tv(7, 12), tv(8, 4), tlv(9, hex('aa')), tv(10, 1), tv(11, 1), tv(77, 1)],
    });
    assert.deepEqual(a.lifetimes.map((l) => [l.type.name, l.duration]), [['SECONDS', 3600], ['KILOBYTES', 250000]]);
    assert.deepEqual(a.groupDescription, { value: 14, name: 'MODP_2048' });
    assert.deepEqual(a.encapsulationMode, { value: 61443, name: 'UDP_ENCAPSULATED_TUNNEL_DRAFT' });
    assert.deepEqual(a.authenticationAlgorithm, { value: 5, name: 'HMAC_SHA2_256' });
    assert.equal(a.keyLength, 128);
    assert.equal(a.keyRounds, 12);
    assert.equal(a.compressDictionarySize, 4);
    assert.deepEqual(a.compressPrivateAlgorithm, hex('aa'));
    assert.deepEqual(a.ecnTunnel, { value: 1, name: 'ALLOWED' });
    assert.deepEqual(a.extendedSequenceNumber, { value: 1, name: 'ESN_64_BIT' });
    assert.deepEqual(a.unknown, [tv(77, 1)]);
  });
});

describe('identification data (RFC 2407 §4.6.2)', () => {
  const cases: [number, string, object][] = [
    [1, 'c0000201', { kind: 'ipv4', address: '192.0.2.1' }],
    [4, 'c0000200ffffff00', { kind: 'ipv4-subnet', address: '192.0.2.0', mask: '255.255.255.0', prefix: 24 }],
    [4, 'c0000200ff00ff00', { kind: 'ipv4-subnet', address: '192.0.2.0', mask: '255.0.255.0', prefix: undefined }],
    [7, 'c0000201c00002fe', { kind: 'ipv4-range', start: '192.0.2.1', end: '192.0.2.254' }],
    [5, '20010db8000000000000000000000001', { kind: 'ipv6', address: '2001:db8::1' }],
    [6, '20010db8000100000000000000000000' + 'ffffffffffffffff0000000000000000', { kind: 'ipv6-subnet', address: '2001:db8:1::', mask: 'ffff:ffff:ffff:ffff::', prefix: 64 }],
    [8, '20010db8000000000000000000000000' + '20010db8ffffffffffffffffffffffff', { kind: 'ipv6-range', start: '2001:db8::', end: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff' }],
    [2, Buffer.from('vpn.example.com').toString('hex'), { kind: 'fqdn', name: 'vpn.example.com' }],
    [3, Buffer.from('alice@example.com').toString('hex'), { kind: 'user-fqdn', name: 'alice@example.com' }],
    [9, '3000', { kind: 'der-asn1-dn', der: hex('3000') }],
    [10, 'a000', { kind: 'der-asn1-gn', der: hex('a000') }],
    [11, '0102', { kind: 'key-id', keyId: hex('0102') }],
    [42, '', { kind: 'unknown', idType: 42, data: new Uint8Array(0) }],
  ];
  for (const [idType, data, view] of cases) {
    test(`ID type ${idType} decodes to ${JSON.stringify(view).slice(0, 60)} and encodes back`, () => {
      assert.deepEqual(decodeIdentification(idType, hex(data)), view);
      assert.deepEqual(encodeIdentification(view as never), { idType, data: hex(data) });
    });
  }
  test('bad lengths and bad text → INVALID_ID_INFORMATION', () => {
    throwsNotify(() => decodeIdentification(1, hex('c00002')), 'INVALID_ID_INFORMATION');
    throwsNotify(() => decodeIdentification(6, new Uint8Array(24)), 'INVALID_ID_INFORMATION');
    throwsNotify(() => decodeIdentification(2, new Uint8Array(0)), 'INVALID_ID_INFORMATION');
    throwsNotify(() => decodeIdentification(2, hex('ff')), 'INVALID_ID_INFORMATION');
    throwsNotify(() => encodeIdentification({ kind: 'ipv4', address: '256.1.1.1' }), 'INVALID_ID_INFORMATION');
    // dotted quads: exactly four parts of 1-3 digits, no leading zeros, nothing else
    for (const bad of ['1.2.3', '1.2.3.4.5', '010.1.1.1', '1.2.3.04', '1..2.3', '1.2.3.4 ', '-1.2.3.4', '1.2.3.1000', 'a.b.c.d'])
      throwsNotify(() => encodeIdentification({ kind: 'ipv4', address: bad }), 'INVALID_ID_INFORMATION');
    assert.deepEqual(encodeIdentification({ kind: 'ipv4', address: '0.10.100.255' }).data, hex('000a64ff'));
    throwsNotify(() => encodeIdentification({ kind: 'ipv6', address: '1::2::3' }), 'INVALID_ID_INFORMATION');
    throwsNotify(() => encodeIdentification({ kind: 'ipv4-subnet', address: '10.0.0.0', prefix: 33 }), 'INVALID_ID_INFORMATION');
  });
  test('a subnet may be given by prefix; IPv6 text with an embedded IPv4 parses', () => {
    assert.deepEqual(encodeIdentification({ kind: 'ipv4-subnet', address: '10.1.0.0', prefix: 17 }).data, hex('0a010000ffff8000'));
    assert.deepEqual(encodeIdentification({ kind: 'ipv6', address: '::ffff:192.0.2.1' }).data, hex('00000000000000000000ffffc0000201'));
  });
});
