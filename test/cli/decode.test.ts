// `isakmp decode` and `isakmp decode --sample`: tree and JSON output, capture handling, and bad input
// (one line on stderr, non-zero exit, no stack trace).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/run.js';
import { filler, sampleExchange, sampleKeyLog } from '../../src/cli/sample.js';
import { writePcap } from '../../src/pcap/index.js';
import { decodeMessage, encodeMessage } from '../../src/codec/index.js';

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(...s.split('\n')), err: (s) => err.push(s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'isakmp-cli-'));
const sample = sampleExchange();
const mm1 = sample[0]!.bytes;
const mm1Hex = Buffer.from(mm1).toString('hex');

describe('isakmp decode', () => {
  test('hex input → tree with RFC names', async () => {
    const r = await run('decode', mm1Hex);
    assert.equal(r.code, 0);
    assert.deepEqual(r.err, []);
    const text = r.out.join('\n');
    for (const s of ['Exchange type: IDENTITY_PROTECTION (2)', 'Payload: Security Association (1) [SA], length 332', 'Payload: Proposal (2) # 1',
      'Attribute (TV) ENCRYPTION_ALGORITHM (1): AES_CBC (7)', 'Attribute (TLV, length 4) LIFE_DURATION (12): 86400 (0x00015180)', 'Payload: Vendor ID (13) [VID]']) {
      assert.ok(text.includes(s), `missing "${s}"`);
    }
  });
  test('--json prints one object with header fields and typed, nested payloads', async () => {
    const r = await run('decode', '--json', mm1Hex);
    assert.equal(r.code, 0);
    const lines = r.out.filter((l) => l.length);
    assert.equal(lines.length, 1);
    const o = JSON.parse(lines[0]!);
    assert.equal(o.initiatorCookie, '0123456789abcdef');
    assert.equal(o.exchangeTypeName, 'IDENTITY_PROTECTION');
    assert.equal(o.length, mm1.length);
    assert.deepEqual(o.payloads.map((p: { type: string }) => p.type), ['SA', 'VID', 'VID']);
    const t0 = o.payloads[0].proposals[0].transforms[0];
    assert.equal(o.payloads[0].proposals[0].transforms.length, 8);
    assert.deepEqual(t0.attributes[0], { type: 1, name: 'ENCRYPTION_ALGORITHM', format: 'TV', value: 7, valueName: 'AES_CBC' });
    assert.deepEqual(t0.attributes[6], { type: 12, name: 'LIFE_DURATION', format: 'TLV', length: 4, value: '00015180', number: 86400 });
  });
  test('verify() findings (non-zero RESERVED, unknown payload types) are shown as warnings', async () => {
    const b = mm1.slice();
    b[29] = 7; // SA generic header RESERVED
    const r = await run('decode', '--json', Buffer.from(b).toString('hex'));
    assert.deepEqual(JSON.parse(r.out[0]!).warnings, ['payload[0]: generic header RESERVED = 7']);
    const t = await run('decode', Buffer.from(b).toString('hex'));
    assert.ok(t.out.includes('    Warning: payload[0]: generic header RESERVED = 7'));
    assert.equal(JSON.parse((await run('decode', '--json', mm1Hex)).out[0]!).warnings, undefined);
  });
  test('issue 10: 3 zero bytes after the last payload (Libreswan) are decoded, shown as extra data and a warning (tree and JSON)', async () => {
    const b = new Uint8Array(mm1.length + 3);
    b.set(mm1);
    new DataView(b.buffer).setUint32(24, b.length);
    const h = Buffer.from(b).toString('hex');
    const j = await run('decode', '--json', h);
    assert.equal(j.code, 0);
    const o = JSON.parse(j.out[0]!);
    assert.deepEqual(o.payloads.map((p: { type: string }) => p.type), ['SA', 'VID', 'VID']);
    assert.deepEqual(o.trailing, { length: 3, data: '000000' });
    assert.deepEqual(o.warnings, ['message: 3 bytes after the last payload (zeros), inside the header length']);
    const t = await run('decode', h);
    assert.equal(t.code, 0);
    assert.ok(t.out.includes('    Extra data after the last payload (3 bytes): 000000'), t.out.join('\n'));
    assert.ok(t.out.includes('    Warning: message: 3 bytes after the last payload (zeros), inside the header length'));
  });
  test('encrypted bodies are shown as encrypted with their length', async () => {
    const r = await run('decode', '--json', Buffer.from(sample[4]!.bytes).toString('hex'));
    const o = JSON.parse(r.out[0]!);
    assert.deepEqual(o.encrypted, { length: 64, decrypted: false });
    assert.deepEqual(o.payloads, []);
    const t = await run('decode', Buffer.from(sample[4]!.bytes).toString('hex'));
    assert.ok(t.out.includes('    Encrypted payloads: 64 bytes (first payload Identification (5))'));
  });
  test('a raw file and a hex-text file decode like the hex string', async () => {
    const raw = join(dir, 'mm1.bin');
    writeFileSync(raw, mm1);
    const txt = join(dir, 'mm1.hex');
    writeFileSync(txt, mm1Hex.replace(/(.{32})/g, '$1\n'));
    const a = await run('decode', '--json', raw);
    const b = await run('decode', '--json', txt);
    const c = await run('decode', '--json', mm1Hex);
    assert.equal(a.code, 0);
    assert.deepEqual(a.out, c.out);
    assert.deepEqual(b.out, c.out);
  });
  test('a capture: malformed message reported with notify type and offset, the rest still decoded; ESP/keepalives counted', async () => {
    const bad = mm1.slice();
    bad[28 + 2] = 0; bad[28 + 3] = 3; // SA payload length 3
    const f = join(dir, 'cap.pcap');
    writeFileSync(f, writePcap([
      { src: '192.0.2.1', dst: '198.51.100.7', srcPort: 500, dstPort: 500, data: mm1 },
      { src: '192.0.2.1', dst: '198.51.100.7', srcPort: 500, dstPort: 500, data: bad },
      { src: '192.0.2.1', dst: '198.51.100.7', srcPort: 4500, dstPort: 4500, data: sample[6]!.bytes, natt: true },
      { src: '192.0.2.1', dst: '198.51.100.7', srcPort: 4500, dstPort: 4500, data: new Uint8Array([0xff]) },
      { src: '192.0.2.1', dst: '198.51.100.7', srcPort: 4500, dstPort: 4500, data: new Uint8Array([0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1]) },
    ]));
    const r = await run('decode', f);
    assert.equal(r.code, 0);
    const text = r.out.join('\n');
    assert.ok(text.includes('Frame 2: 192.0.2.1:500 → 198.51.100.7:500\n    malformed ISAKMP message: PAYLOAD_MALFORMED (16) at offset 30: payload 1 length 3 < 4'), text);
    assert.ok(text.includes('Frame 3: 192.0.2.1:4500 → 198.51.100.7:4500 (UDP 4500, non-ESP marker stripped)'));
    assert.ok(text.includes('5 frames, 3 ISAKMP, 1 ESP skipped, 1 NAT keepalives skipped, 0 other skipped, 1 malformed'));
    const j = await run('decode', '--json', f);
    const objs = j.out.filter((l) => l).map((l) => JSON.parse(l));
    assert.deepEqual(objs.map((o) => o.frame), [1, 2, 3]);
    assert.deepEqual(objs[1].error, { notify: 16, notifyName: 'PAYLOAD_MALFORMED', offset: 30, reason: 'payload 1 length 3 < 4' });
    // every JSON object carries the header fields and `payloads`, the malformed one too
    for (const o of objs) assert.ok(Array.isArray(o.payloads) && typeof o.initiatorCookie === 'string' && typeof o.exchangeType === 'number', JSON.stringify(o));
    assert.deepEqual(objs[1].payloads, []);
    assert.equal(objs[1].initiatorCookie, objs[0].initiatorCookie);
    assert.equal(objs[1].length, mm1.length);
    assert.equal(objs[2].natt, true);
    assert.equal(j.err.length, 1, 'summary on stderr in JSON mode');
  });
  test('IKE fragments (132) are reassembled (out of order, with a duplicate) and the inner message decoded', async () => {
    const inner = sample[0]!.bytes;
    const cut = [0, 150, 300, inner.length];
    const frag = (n: number, last: boolean): Uint8Array => encodeMessage({
      header: decodeMessage(inner).header,
      payloads: [{ type: 'FRAG', fragmentId: 9, fragmentNumber: n, flags: last ? 1 : 0, data: inner.subarray(cut[n - 1]!, cut[n]!) }],
    });
    const f = join(dir, 'frags.pcap');
    const d = (data: Uint8Array) => ({ src: '192.0.2.1', dst: '198.51.100.7', srcPort: 500, dstPort: 500, data });
    writeFileSync(f, writePcap([d(frag(2, false)), d(frag(1, false)), d(frag(1, false)), d(frag(3, true)), d(mm1)]));
    const r = await run('decode', '--json', f);
    assert.equal(r.code, 0);
    const objs = r.out.filter((l) => l).map((l) => JSON.parse(l));
    assert.deepEqual(objs.map((o) => [o.frame, o.reassembledFrom ?? 0, o.payloads.map((p: { type: string }) => p.type).join(',')]), [
      [1, 0, 'FRAG'], [2, 0, 'FRAG'], [3, 0, 'FRAG'], [4, 0, 'FRAG'], [4, 3, 'SA,VID,VID'], [5, 0, 'SA,VID,VID'],
    ]);
    assert.deepEqual(objs[4].payloads, objs[5].payloads);
  });
  test('bad input: one clear line on stderr and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['decode', 'abc'], /odd number of hex digits \(3\)/],
      [['decode', 'zz'], /not hex: character 'z' at position 0/],
      [['decode', mm1Hex.slice(0, 60)], /UNEQUAL_PAYLOAD_LENGTHS \(30\) at offset 24/],
      [['decode', '/nonexistent/file.pcap'], /no such file/],
      [['decode'], /expected exactly one input/],
      [['decode', '--bogus', 'x'], /Unknown option/],
      [['decode', '--keylog', '/nonexistent/keys', mm1Hex], /key log file .* not found/],
      [['nosuch'], /unknown command 'nosuch'/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(...argv);
      assert.notEqual(r.code, 0, argv.join(' '));
      assert.equal(r.err.length, 1, `${argv.join(' ')}: ${r.err.join('|')}`);
      assert.match(r.err[0]!, re);
    }
    const trunc = join(dir, 'trunc.pcap');
    const full = writePcap([{ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 500, dstPort: 500, data: mm1 }, { src: '1.1.1.1', dst: '2.2.2.2', srcPort: 500, dstPort: 500, data: mm1 }]);
    writeFileSync(trunc, full.subarray(0, full.length - 10));
    const r = await run('decode', trunc);
    assert.equal(r.code, 1);
    assert.ok(r.out.some((l) => l.startsWith('Frame 1:')), 'frames before the damage are printed');
    assert.match(r.err.at(-1)!, /trunc\.pcap: pcap record 2 claims \d+ bytes, \d+ left \(at file offset \d+\)/);
  });
  test('--keylog decrypts the sample capture (phase-1 and Quick Mode IV chains of RFC 2409 App. B)', async () => {
    const f = join(dir, 'sample.pcap');
    writeFileSync(f, writePcap(sample.map((m) => ({ ...m, data: m.bytes }))));
    const k = join(dir, 'sample.keys');
    writeFileSync(k, sampleKeyLog());
    const r = await run('decode', '--json', '--keylog', k, f);
    assert.equal(r.code, 0);
    const objs = r.out.filter((l) => l).map((l) => JSON.parse(l));
    assert.deepEqual(objs.map((o) => o.payloads.map((p: { type: string }) => p.type).join(',')), [
      'SA,VID,VID', 'SA,VID', 'KE,NONCE,NAT-D,NAT-D', 'KE,NONCE,NAT-D,NAT-D', 'ID,HASH', 'ID,HASH', 'HASH,SA,NONCE,ID,ID', 'HASH,SA,NONCE,ID,ID', 'HASH',
    ]);
    assert.deepEqual(objs[4].encrypted, { length: 64, decrypted: true });
    assert.equal(objs[4].payloads[1].data, Buffer.from(filler(32, 9)).toString('hex'), 'HASH_I as encrypted');
    assert.deepEqual(objs[6].payloads[3].identification, { kind: 'ipv4-subnet', address: '192.0.2.0', mask: '255.255.255.0', prefix: 24 });
    assert.ok(objs.every((o) => o.decryptError === undefined));
    const tree = await run('decode', '--keylog', k, f);
    assert.ok(tree.out.includes('    Encrypted payloads: 64 bytes (first payload Identification (5)), decrypted with the key log:'));
  });
  test('--keylog: a wrong key or a missing cookie is reported per message, the rest still printed', async () => {
    const f = join(dir, 'sample2.pcap');
    writeFileSync(f, writePcap(sample.map((m) => ({ ...m, data: m.bytes }))));
    const wrong = join(dir, 'wrong.keys');
    writeFileSync(wrong, `0123456789abcdef,${'11'.repeat(32)}\n`);
    const r = await run('decode', '--json', '--keylog', wrong, f);
    assert.equal(r.code, 0);
    const objs = r.out.filter((l) => l).map((l) => JSON.parse(l));
    assert.equal(objs.length, 9);
    assert.match(objs[4].decryptError, /decrypted body does not decode \(wrong key or IV\?\)/);
    const other = join(dir, 'other.keys');
    writeFileSync(other, `# none for this SA\nffffffffffffffff,${'11'.repeat(32)}\n`);
    const r2 = await run('decode', '--keylog', other, f);
    assert.ok(r2.out.includes('    Not decrypted: no key in the key log for initiator cookie 0123456789abcdef'));
    const empty = join(dir, 'empty.keys');
    writeFileSync(empty, '');
    const r3 = await run('decode', '--keylog', empty, mm1Hex);
    assert.equal(r3.code, 0);
    assert.match(r3.err[0]!, /no '<initiator cookie>,<key>' lines/);
  });
  test('the binary prints no stack trace on bad input', () => {
    const r = spawnSync(process.execPath, ['build/src/cli/main.js', 'decode', '0011'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe('isakmp decode --sample (the built-in decoded exchange; `demo` now runs two daemons)', () => {
  test('decodes the 9-message sample (MM1..MM6, QM1..QM3) and exits 0', async () => {
    const r = await run('decode', '--sample');
    assert.equal(r.code, 0);
    assert.equal(r.out.filter((l) => l.startsWith('Internet Security Association')).length, 9);
    assert.equal(r.out.filter((l) => l.includes('Encrypted payloads:')).length, 5);
    // the encrypted bodies are decrypted with the sample's own key log line
    assert.equal(r.out.filter((l) => l.includes('Encrypted payloads:') && l.includes('decrypted with the key log')).length, 5, r.out.join('\n'));
    assert.ok(!r.out.some((l) => l.includes('Not decrypted')));
    const j = await run('decode', '--sample', '--json');
    const objs = j.out.filter((l) => l).map((l) => JSON.parse(l));
    assert.deepEqual(objs[4].payloads.map((p: { type: string }) => p.type), ['ID', 'HASH']);
    assert.deepEqual(objs[6].payloads.slice(0, 2).map((p: { type: string }) => p.type), ['HASH', 'SA']);
  });
  test('sampleExchange messages decode: MM1 has 8 transforms, MM3 carries KE/NONCE/NAT-D', () => {
    const ms = sampleExchange().map((s) => decodeMessage(s.bytes));
    const sa = ms[0]!.payloads[0]!;
    assert.equal(sa.type === 'SA' && sa.proposals[0]!.transforms.length, 8);
    assert.deepEqual(ms[2]!.payloads.map((p) => p.type), ['KE', 'NONCE', 'NAT-D', 'NAT-D']);
    assert.deepEqual(ms.map((m) => m.header.exchangeType), [2, 2, 2, 2, 2, 2, 32, 32, 32]);
  });
});
