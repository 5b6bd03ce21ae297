/**
 * The key log (`--keylog FILE`): FILE keeps both kinds of line (what `isakmp decode --keylog`
 * reads), FILE.ikev1_decryption_table and FILE.esp_sa are homogeneous Wireshark UAT tables.
 * Checked with tshark itself: the two companion files are copied into a throw-away Wireshark
 * profile (a temp HOME) and tshark decrypts an engine-made Main Mode + Quick Mode and an ESP
 * packet made with the IPsec SA's keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/run.js';
import { KeyLog, espKeyLogLines, ikeKeyLogLine } from '../../src/daemon/keylog.js';
import { writePcap } from '../../src/pcap/index.js';
import type { IpsecSaInfo } from '../../src/exchange/types.js';
import { Pair, conn } from '../helpers/pair.js';
import { tempDir } from './helpers.js';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

/** An IPv4 header (no options) + UDP datagram, checksums zero except the IP header's. */
function ipv4Udp(src: string, dst: string, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const len = 28 + payload.length;
  const p = new Uint8Array(len);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, len);
  p[8] = 64;
  p[9] = 17;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  return p;
}

/** A tunnel-mode ESP packet (AES-CBC, HMAC-SHA2-256-128) with the outbound keys of `sa`. */
function espPacket(sa: IpsecSaInfo, inner: Uint8Array, seq: number): Uint8Array {
  const k = sa.protocols[0]!.outbound;
  const padLen = (16 - ((inner.length + 2) % 16)) % 16;
  const plain = new Uint8Array(inner.length + padLen + 2);
  plain.set(inner);
  for (let i = 0; i < padLen; i++) plain[inner.length + i] = i + 1;
  plain[plain.length - 2] = padLen;
  plain[plain.length - 1] = 4; // next header: IPv4 (tunnel mode)
  const iv = Buffer.alloc(16, 0x5a);
  const c = createCipheriv('aes-128-cbc', k.encryptionKey, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const head = Buffer.alloc(8);
  Buffer.from(k.spi).copy(head, 0);
  head.writeUInt32BE(seq, 4);
  const body = Buffer.concat([head, iv, ct]);
  const icv = createHmac('sha256', k.integrityKey).update(body).digest().subarray(0, 16);
  return Uint8Array.from(Buffer.concat([body, icv]));
}

test('key log: FILE has both kinds of line; FILE.ikev1_decryption_table and FILE.esp_sa one kind each; decode reads FILE; tshark loads the companions as UAT files', async (t) => {
  const pair = new Pair({ seed: 'keylog-uat' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const p1 = pair.ev('a', 'phase1-established')[0]!;
  const q = pair.ev('a', 'ipsec-sa-established')[0]!.sa;

  const dir = tempDir('isakmp-keylog-');
  const file = join(dir, 'keys.log');
  const log = new KeyLog(file);
  const ike = ikeKeyLogLine(p1.keyLog.initiatorCookie, p1.keyLog.encryptionKey);
  const esp = espKeyLogLines(q);
  log.ike(ike);
  log.esp(esp);
  assert.deepEqual(readFileSync(file, 'utf8'), [ike, ...esp].join('\n') + '\n');
  assert.equal(readFileSync(`${file}.ikev1_decryption_table`, 'utf8'), ike + '\n');
  assert.equal(readFileSync(`${file}.esp_sa`, 'utf8'), esp.join('\n') + '\n');
  for (const f of [file, `${file}.ikev1_decryption_table`, `${file}.esp_sa`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);

  // the capture: every IKE datagram, then one ESP packet (UDP-encapsulated, port 4500) from a to b
  const A = pair.addrA.address;
  const B = pair.addrB.address;
  const ikeFrames = pair.wire.filter((w) => w.delivered).map((w) => {
    const [s, d] = w.from === 'a' ? [pair.addrA, pair.addrB] : [pair.addrB, pair.addrA];
    return { src: s.address, dst: d.address, srcPort: s.port, dstPort: d.port, data: w.data };
  });
  const inner = ipv4Udp('10.11.0.1', '10.22.0.2', 40000, 7777, new TextEncoder().encode('hello through the esp_sa table'));
  const cap = join(dir, 'cap.pcap');
  writeFileSync(cap, writePcap([...ikeFrames, { src: A, dst: B, srcPort: 4500, dstPort: 4500, data: espPacket(q, inner, 1) }]));

  // `isakmp decode --keylog FILE` still reads the mixed file (it skips the esp_sa lines)
  const out: string[] = [];
  const err: string[] = [];
  assert.equal(await runCli(['decode', '--json', '--keylog', file, cap], { out: (s) => out.push(s), err: (s) => err.push(s) }), 0, err.join('\n'));
  const msgs = out.map((l) => JSON.parse(l) as { encrypted?: unknown; decryptError?: string; payloads?: { type: string }[] });
  const enc = msgs.filter((m) => m.encrypted !== undefined);
  assert.ok(enc.length >= 5, `encrypted IKE messages: ${enc.length}`);
  assert.deepEqual(enc.map((m) => m.decryptError ?? 'ok'), enc.map(() => 'ok'));

  if (!hasTshark) {
    t.skip('tshark not installed: UAT loading not checked');
    return;
  }
  // a throw-away Wireshark profile holding only our two companion files
  const home = join(dir, 'home');
  const prof = join(home, '.config', 'wireshark');
  mkdirSync(prof, { recursive: true });
  copyFileSync(`${file}.ikev1_decryption_table`, join(prof, 'ikev1_decryption_table'));
  copyFileSync(`${file}.esp_sa`, join(prof, 'esp_sa'));
  writeFileSync(join(prof, 'preferences'), 'esp.enable_encryption_decode: TRUE\nesp.enable_authentication_check: TRUE\n');
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
  const r = spawnSync('tshark', ['-r', cap, '-n', '-V'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!/error|invalid/i.test(r.stderr), `tshark complains about the tables: ${r.stderr}`);
  const frames = r.stdout.split(/\nFrame \d+:/);
  // Main Mode 5 and 6 decrypted with the ikev1_decryption_table file: their ID payloads are readable
  const mm = frames.filter((f) => f.includes('Exchange type: Identity Protection (Main Mode) (2)') && f.includes('Payload: Identification (5)'));
  assert.equal(mm.length, 2, r.stdout.slice(0, 3000));
  assert.match(mm[0]!, new RegExp(`ID_IPV4_ADDR: ${A.replace(/\./g, '\\.')}`));
  assert.match(mm[1]!, new RegExp(`ID_IPV4_ADDR: ${B.replace(/\./g, '\\.')}`));
  const qm = frames.filter((f) => f.includes('Exchange type: Quick Mode (32)') && f.includes('Payload: Nonce (10)'));
  assert.equal(qm.length, 2, 'Quick Mode 1 and 2 decrypted');
  // the ESP packet decrypted with the esp_sa file: the inner datagram is shown, the ICV checks
  const espFrame = frames.find((f) => f.includes('Encapsulating Security Payload'));
  assert.ok(espFrame, r.stdout.slice(-3000));
  assert.match(espFrame, /Src: 10\.11\.0\.1, Dst: 10\.22\.0\.2/);
  assert.match(espFrame, /Dst Port: 7777/);
  assert.match(espFrame, /\[Good: True\]|\[correct\]|Authentication Data \[correct\]/i);
});
