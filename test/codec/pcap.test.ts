// The capture reader (src/pcap): libpcap and pcapng, Ethernet/SLL/SLL2/raw/loopback link types,
// IPv4/IPv6, UDP 500 and 4500 (non-ESP marker stripped), ESP and NAT-keepalives skipped and counted,
// and bounded handling of lying lengths.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureError, isCapture, readCapture, writePcap } from '../../src/pcap/index.js';
import { hex, toHex } from './helpers.js';

const isakmp = hex('0102030405060708' + '0000000000000000' + '00100200' + '00000000' + '0000001c');

function udp4(src: number[], dst: number[], sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const ip = new Uint8Array(28 + payload.length);
  const dv = new DataView(ip.buffer);
  ip[0] = 0x45; dv.setUint16(2, ip.length); ip[8] = 64; ip[9] = 17;
  ip.set(src, 12); ip.set(dst, 16);
  dv.setUint16(20, sport); dv.setUint16(22, dport); dv.setUint16(24, 8 + payload.length);
  ip.set(payload, 28);
  return ip;
}
function udp6(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const ip = new Uint8Array(48 + payload.length);
  const dv = new DataView(ip.buffer);
  ip[0] = 0x60; dv.setUint16(4, 8 + payload.length); ip[6] = 17; ip[7] = 64;
  ip.set(hex('20010db8000000000000000000000001'), 8); ip.set(hex('20010db8000000000000000000000002'), 24);
  dv.setUint16(40, sport); dv.setUint16(42, dport); dv.setUint16(44, 8 + payload.length);
  ip.set(payload, 48);
  return ip;
}
const cat = (...a: Uint8Array[]): Uint8Array => { const o = new Uint8Array(a.reduce((n, x) => n + x.length, 0)); let at = 0; for (const x of a) { o.set(x, at); at += x.length; } return o; };
const ether = (ip: Uint8Array, type = 0x0800): Uint8Array => cat(hex('000000000002000000000001'), new Uint8Array([type >> 8, type & 0xff]), ip);
const sll = (ip: Uint8Array, type = 0x0800): Uint8Array => cat(new Uint8Array(14), new Uint8Array([type >> 8, type & 0xff]), ip);

/** A little-endian pcapng: SHB, one IDB per link type, an EPB per frame. */
function pcapng(frames: [number, Uint8Array][]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): Uint8Array => {
    const padded = (body.length + 3) & ~3;
    const b = new Uint8Array(12 + padded);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true); dv.setUint32(4, b.length, true); b.set(body, 8); dv.setUint32(b.length - 4, b.length, true);
    return b;
  };
  const shb = new Uint8Array(16); new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true); new DataView(shb.buffer).setUint16(4, 1, true);
  new DataView(shb.buffer).setBigInt64(8, -1n, true);
  blocks.push(block(0x0a0d0d0a, shb));
  const links = [...new Set(frames.map((f) => f[0]))];
  for (const l of links) { const idb = new Uint8Array(8); new DataView(idb.buffer).setUint16(0, l, true); new DataView(idb.buffer).setUint32(4, 65535, true); blocks.push(block(1, idb)); }
  for (const [l, f] of frames) {
    const epb = new Uint8Array(20 + f.length);
    const dv = new DataView(epb.buffer);
    dv.setUint32(0, links.indexOf(l), true); dv.setUint32(12, f.length, true); dv.setUint32(16, f.length, true);
    epb.set(f, 20);
    blocks.push(block(6, epb));
  }
  return cat(...blocks);
}

describe('pcap reader', () => {
  test('writePcap → readCapture: raw-IP pcap with 500 and 4500 datagrams', () => {
    const file = writePcap([
      { src: '192.0.2.1', dst: '192.0.2.2', srcPort: 500, dstPort: 500, data: isakmp },
      { src: '192.0.2.2', dst: '192.0.2.1', srcPort: 4500, dstPort: 4500, data: isakmp, natt: true },
    ]);
    assert.ok(isCapture(file));
    const c = readCapture(file);
    assert.equal(c.format, 'pcap');
    assert.deepEqual(c.datagrams.map((d) => [d.frame, d.src, d.dst, d.srcPort, d.natt, toHex(d.data)]), [
      [1, '192.0.2.1', '192.0.2.2', 500, false, toHex(isakmp)],
      [2, '192.0.2.2', '192.0.2.1', 4500, true, toHex(isakmp)],
    ]);
  });
  test('pcapng with Ethernet, Linux SLL and IPv6; ESP, keepalive and other traffic counted', () => {
    const frames: [number, Uint8Array][] = [
      [1, ether(udp4([10, 0, 0, 1], [10, 0, 0, 2], 500, 500, isakmp))],
      [113, sll(udp4([10, 0, 0, 2], [10, 0, 0, 1], 4500, 4500, cat(new Uint8Array(4), isakmp)))],
      [1, ether(udp4([10, 0, 0, 2], [10, 0, 0, 1], 4500, 4500, hex('ff')))],
      [1, ether(udp4([10, 0, 0, 2], [10, 0, 0, 1], 4500, 4500, hex('c0ffee01000000010000')))],
      [1, ether(udp6(500, 500, isakmp), 0x86dd)],
      [1, ether(udp4([10, 0, 0, 2], [10, 0, 0, 1], 53, 53, hex('00')))],
      [1, ether(hex('00'), 0x0806)],
    ];
    const c = readCapture(pcapng(frames));
    assert.equal(c.format, 'pcapng');
    assert.deepEqual({ ...c.stats }, { frames: 7, isakmp: 3, esp: 1, keepalives: 1, other: 2, fragments: 0, truncated: 0 });
    assert.deepEqual(c.datagrams.map((d) => [d.frame, d.natt, d.src]), [[1, false, '10.0.0.1'], [2, true, '10.0.0.2'], [5, false, '2001:db8::1']]);
    for (const d of c.datagrams) assert.equal(toHex(d.data), toHex(isakmp));
  });
  test('pcapng with Linux SLL2, BSD loopback (NULL), raw IPv4 and an 802.1Q-tagged Ethernet frame', () => {
    const sll2 = cat(hex('0800'), new Uint8Array(18), udp4([10, 0, 0, 3], [10, 0, 0, 4], 500, 500, isakmp));
    const loop = cat(hex('02000000'), udp4([10, 0, 0, 5], [10, 0, 0, 6], 500, 500, isakmp));
    const vlan = cat(hex('000000000002000000000001'), hex('8100 0064 0800'), udp4([10, 0, 0, 7], [10, 0, 0, 8], 500, 500, isakmp));
    const raw = udp4([10, 0, 0, 9], [10, 0, 0, 10], 500, 500, isakmp);
    const c = readCapture(pcapng([[276, sll2], [0, loop], [1, vlan], [101, raw]]));
    assert.deepEqual(c.datagrams.map((d) => d.src), ['10.0.0.3', '10.0.0.5', '10.0.0.7', '10.0.0.9']);
    for (const d of c.datagrams) assert.equal(toHex(d.data), toHex(isakmp));
  });
  test('a truncated last record keeps the frames before it and reports where', () => {
    const file = writePcap([{ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 500, dstPort: 500, data: isakmp }, { src: '192.0.2.1', dst: '192.0.2.2', srcPort: 500, dstPort: 500, data: isakmp }]);
    const c = readCapture(file.subarray(0, file.length - 5));
    assert.equal(c.datagrams.length, 1);
    assert.ok(c.error instanceof CaptureError);
    assert.match(c.error.message, /record 2 claims 56 bytes, 51 left/);
  });
  test('not a capture, or a lying block length → CaptureError / reported error, never an allocation from it', () => {
    assert.throws(() => readCapture(hex('00112233')), CaptureError);
    assert.throws(() => readCapture(hex('d4c3b2a1')), CaptureError);
    const ng = pcapng([[1, ether(udp4([1, 1, 1, 1], [2, 2, 2, 2], 500, 500, isakmp))]]);
    const bad = ng.slice();
    new DataView(bad.buffer).setUint32(ng.length - (12 + 20 + 14 + 56) + 4, 0xfffffff0, true); // the EPB's block length
    const r = readCapture(bad);
    assert.match(r.error!.message, /block claims/);
    assert.equal(r.datagrams.length, 0);
    const huge = writePcap([{ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 500, dstPort: 500, data: isakmp }]);
    new DataView(huge.buffer).setUint32(24 + 8, 0xffffffff, true);
    assert.match(readCapture(huge).error!.message, /claims/);
  });
  test('IPv4 non-first fragments are counted, not parsed', () => {
    const ip = udp4([1, 1, 1, 1], [2, 2, 2, 2], 500, 500, isakmp);
    ip[6] = 0x00; ip[7] = 0x10; // fragment offset 16
    const c = readCapture(pcapng([[101, ip]]));
    assert.equal(c.stats.fragments, 1);
    assert.equal(c.datagrams.length, 0);
  });
});

describe('capture reader robustness', () => {
  test('5,000 mutated captures end in a result or a CaptureError, never another exception', () => {
    const base = [
      writePcap([{ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 500, dstPort: 500, data: isakmp }, { src: '192.0.2.1', dst: '192.0.2.2', srcPort: 4500, dstPort: 4500, data: isakmp, natt: true }]),
      pcapng([[1, ether(udp4([10, 0, 0, 1], [10, 0, 0, 2], 500, 500, isakmp))], [113, sll(udp4([10, 0, 0, 2], [10, 0, 0, 1], 4500, 4500, hex('ff')))], [1, ether(udp6(500, 500, isakmp), 0x86dd)]]),
    ];
    let x = 0x2408;
    const rnd = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    let results = 0;
    for (let i = 0; i < 5000; i++) {
      let b = base[i % 2]!.slice();
      const k = rnd() % 3;
      if (k === 0) for (let j = 0; j < 1 + (rnd() % 6); j++) b[rnd() % b.length] = rnd() & 0xff;
      else if (k === 1) b = b.subarray(0, rnd() % b.length);
      else { const o = rnd() % (b.length - 4); new DataView(b.buffer, b.byteOffset).setUint32(o, [0, 1, 3, 0xffff, 0xffffffff, 0x7fffffff][rnd() % 6]!, (rnd() & 1) === 1); }
      try {
        const c = readCapture(b);
        results++;
        for (const d of c.datagrams) assert.ok(d.data.byteOffset >= b.byteOffset && d.data.byteOffset + d.data.length <= b.byteOffset + b.length);
      } catch (e) {
        assert.ok(e instanceof CaptureError, String(e));
      }
    }
    assert.ok(results > 1000);
  });
});
