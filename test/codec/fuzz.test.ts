// Fuzz suite (SHAPES.md #33/#34, PROTOS c09-isakmp style): ≥ 100,000 random and mutated inputs per
// run — bit flips, truncation, length fields set to 0/1/3/0xffff/0xffffffff, repeated and looping
// payload chains, attribute TLVs longer than their payload, random bodies behind a valid header.
// Each must end in a decoded value that re-encodes to the same bytes, or a DecodeError whose
// offset lies inside the input. Deterministic: a fixed-seed xorshift PRNG (seed printed on failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage, decodePayloads, encodeMessage, encodePayloads, type Message } from '../../src/codec/index.js';
import { DecodeError } from '../../src/errors.js';
import { readCapture } from '../../src/pcap/index.js';
import { quickMode1Payloads, sampleExchange, mm1Sa } from '../../src/cli/sample.js';

const TOTAL = 120_000;
const SEED = 0x15a4_2408;

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}

function seeds(): Uint8Array[] {
  const out = sampleExchange().map((s) => s.bytes);
  const hdr = { initiatorCookie: new Uint8Array(8).fill(1), responderCookie: new Uint8Array(8).fill(2), nextPayload: 0, majorVersion: 1, minorVersion: 0, exchangeType: 32, flags: 0, messageId: 7 };
  out.push(encodeMessage({ header: hdr, payloads: quickMode1Payloads() }));
  out.push(encodeMessage({ header: hdr, payloads: [mm1Sa(8)] }));
  out.push(encodeMessage({ header: { ...hdr, exchangeType: 5 }, payloads: [
    { type: 'N', doi: 1, protocol: 1, notifyType: 36136, spi: new Uint8Array(16), data: new Uint8Array([0, 0, 0, 1]) },
    { type: 'D', doi: 1, protocol: 3, spiSize: 4, spis: [new Uint8Array(4), new Uint8Array(4).fill(9)] },
    { type: 'ATTR', cfgType: 1, identifier: 3, attributes: [{ format: 'TV', type: 16520, value: 0 }, { format: 'TLV', type: 16521, value: new Uint8Array(5) }] },
    { type: 'NAT-OA', payloadType: 21, idType: 1, address: new Uint8Array(4) },
    { type: 'FRAG', fragmentId: 1, fragmentNumber: 1, flags: 1, data: new Uint8Array(12) },
    { type: 'ID', idType: 6, protocol: 17, port: 500, data: new Uint8Array(32) },
    { type: 'CERT', encoding: 4, data: new Uint8Array(20) }, { type: 'CR', certType: 4, authority: new Uint8Array(3) },
    { type: 'UNKNOWN', payloadType: 40, body: new Uint8Array(6) },
  ] }));
  // The shared corpora's ISAKMP datagrams, when present (read-only; never copied into the repo).
  const dir = '../shared/vectors/tcpdump';
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((x) => /\.pcap(ng)?$/.test(x))) {
      for (const d of readCapture(new Uint8Array(readFileSync(join(dir, f)))).datagrams) out.push(d.data.slice());
    }
  }
  return out;
}

/** Offsets of every generic header (payload, proposal, transform) reachable in a valid message. */
function headerOffsets(m: Message, bytes: Uint8Array): number[] {
  const offs: number[] = [];
  let at = 28;
  if (m.encrypted) return offs;
  for (let i = 0; i < m.payloads.length; i++) {
    offs.push(at);
    const len = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (bytes[16] !== 0 && m.payloads[i]!.type === 'SA') {
      // proposals start after DOI + situation (8 bytes) when no labeled domain
      let p = at + 12;
      while (p + 4 <= at + len) {
        offs.push(p);
        const plen = (bytes[p + 2]! << 8) | bytes[p + 3]!;
        let t = p + 8 + bytes[p + 6]!;
        while (t + 4 <= p + plen && plen >= 8) {
          offs.push(t);
          const tlen = (bytes[t + 2]! << 8) | bytes[t + 3]!;
          if (tlen < 8) break;
          t += tlen;
        }
        if (plen < 8) break;
        p += plen;
      }
    }
    at += len;
  }
  return offs;
}

const LENGTHS16 = [0, 1, 3, 4, 7, 8, 0xffff, 0x8000, 0x7fff];
const LENGTHS32 = [0, 1, 3, 27, 28, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

test(`fuzz: ${TOTAL} random and mutated inputs end in a value or a DecodeError`, (t) => {
  const rnd = prng(SEED);
  const pick = <T>(a: readonly T[]): T => a[rnd() % a.length]!;
  const corpus = seeds();
  const parsed = corpus.map((b) => { try { const m = decodeMessage(b); return headerOffsets(m, b); } catch { return []; } });
  const stats = { values: 0, errors: 0 } as { values: number; errors: number; [notify: string]: number };
  for (let i = 0; i < TOTAL; i++) {
    const si = rnd() % corpus.length;
    const src = corpus[si]!;
    let b = src.slice();
    const offs = parsed[si]!;
    const kind = rnd() % 10;
    switch (kind) {
      case 0: { // bit flips
        const n = 1 + (rnd() % 4);
        for (let k = 0; k < n && b.length; k++) b[rnd() % b.length]! ^= 1 << (rnd() % 8);
        break;
      }
      case 1: // truncation
        b = b.subarray(0, rnd() % (b.length + 1));
        break;
      case 2: { // a generic-header length field set to a nasty value
        if (offs.length) { const o = pick(offs); const v = pick(LENGTHS16); b[o + 2] = v >>> 8; b[o + 3] = v & 0xff; }
        break;
      }
      case 3: { // the header length set to a nasty value
        const v = pick(LENGTHS32);
        if (b.length >= 28) new DataView(b.buffer, b.byteOffset).setUint32(24, v);
        break;
      }
      case 4: { // chains that loop or repeat: next-payload fields pointing back at earlier types
        if (offs.length) { const o = pick(offs); b[o] = pick([1, 2, 3, 4, 5, 8, 10, 11, 12, 13, 14, 20, 130, 132, b[16]!, 0]); }
        break;
      }
      case 5: { // repeat a payload region (duplicated payloads)
        if (offs.length) {
          const o = pick(offs);
          const len = Math.min((b[o + 2]! << 8) | b[o + 3]!, b.length - o);
          const nb = new Uint8Array(b.length + len);
          nb.set(b.subarray(0, o + len)); nb.set(b.subarray(o, o + len), o + len); nb.set(b.subarray(o + len), o + 2 * len);
          b = nb;
        }
        break;
      }
      case 6: { // attribute TLV longer than its payload: find a TLV header (AF = 0) inside and stretch it
        for (let tries = 0; tries < 8 && b.length > 32; tries++) {
          const o = 28 + (rnd() % (b.length - 31));
          if ((b[o]! & 0x80) === 0 && b[o + 1]! > 0 && b[o + 1]! < 20) { const v = pick([0xffff, 0x100, 5, 2]); b[o + 2] = v >>> 8; b[o + 3] = v & 0xff; break; }
        }
        break;
      }
      case 7: { // random 16-bit write anywhere
        if (b.length > 2) { const o = rnd() % (b.length - 1); const v = pick([...LENGTHS16, rnd() & 0xffff]); b[o] = v >>> 8; b[o + 1] = v & 0xff; }
        break;
      }
      case 8: { // random body behind a valid header
        const n = rnd() % 200;
        const body = new Uint8Array(n);
        for (let k = 0; k < n; k++) body[k] = rnd() & 0xff;
        if (n > 4 && rnd() % 2) { body[2] = 0; body[3] = Math.min(n, 4 + (rnd() % n)); }
        b = new Uint8Array(28 + n);
        b.set(src.subarray(0, 28)); b[19] = 0; b.set(body, 28);
        b[16] = pick([1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 130, 131, 132, rnd() & 0xff]);
        break;
      }
      default: { // pure random bytes
        const n = rnd() % 120;
        b = new Uint8Array(n);
        for (let k = 0; k < n; k++) b[k] = rnd() & 0xff;
      }
    }
    // Mostly keep the header consistent so the body parsers are reached.
    if (kind !== 3 && b.length >= 28 && rnd() % 4 !== 0) {
      new DataView(b.buffer, b.byteOffset).setUint32(24, b.length);
      b[17] = 0x10;
      b[19] = b[19]! & 0x07;
    }
    try {
      const m = decodeMessage(b);
      stats.values++;
      const re = encodeMessage(m);
      if (Buffer.compare(Buffer.from(re), Buffer.from(b)) !== 0) assert.fail(`input ${i} (seed ${SEED}): re-encode differs: ${Buffer.from(b).toString('hex')}`);
    } catch (e) {
      if (!(e instanceof DecodeError)) assert.fail(`input ${i} (seed ${SEED}, ${Buffer.from(b).toString('hex')}) threw ${String(e)}`);
      stats.errors++;
      stats[e.notifyName] = (stats[e.notifyName] ?? 0) + 1;
      assert.ok(e.offset === undefined || (e.offset >= 0 && e.offset <= b.length), `offset ${e.offset} outside ${b.length} bytes`);
    }
    // The same bytes as a decrypted body (after the header) with padding tolerated.
    if (i % 4 === 0 && b.length > 28) {
      try {
        const ps = decodePayloads(b[16]!, b.subarray(28), { baseOffset: 28, allowTrailing: true });
        encodePayloads(ps);
      } catch (e) {
        if (!(e instanceof DecodeError)) assert.fail(`decodePayloads input ${i} threw ${String(e)}`);
      }
    }
  }
  t.diagnostic(`fuzz outcomes (seed ${SEED}): ${JSON.stringify(stats)}`);
  assert.equal(stats.values + stats.errors, TOTAL);
  // The mutations must reach deep: both outcomes, and the nested-structure notifies, occur.
  assert.ok(stats.values > TOTAL / 50, `values ${stats.values}`);
  for (const n of ['PAYLOAD_MALFORMED', 'UNEQUAL_PAYLOAD_LENGTHS', 'BAD_PROPOSAL_SYNTAX', 'INVALID_SPI', 'INVALID_ID_INFORMATION', 'INVALID_PAYLOAD_TYPE']) {
    assert.ok((stats[n] ?? 0) > 0, `no ${n} seen: ${JSON.stringify(stats)}`);
  }
});
