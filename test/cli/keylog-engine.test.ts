// `isakmp decode --keylog` against our own engine: two endpoints run Main Mode + Quick Mode in
// memory (test/helpers/pair.ts), the datagrams go into a pcap, the phase-1 encryption key the
// engine reports goes into a key-log line, and every encrypted message must decrypt and decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { writePcap } from '../../src/pcap/index.js';
import { Pair, conn } from '../helpers/pair.js';

test('decode --keylog decrypts an engine-made Main Mode + Quick Mode exchange', async () => {
  const pair = new Pair({ seed: 'keylog' });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const est = pair.ev('a', 'phase1-established');
  assert.equal(est.length, 1, 'the exchange completes');
  const kl = est[0]!.keyLog;
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-keylog-'));
  const cap = join(dir, 'engine.pcap');
  const keys = join(dir, 'engine.keys');
  const addr = { a: pair.addrA, b: pair.addrB };
  writeFileSync(cap, writePcap(pair.wire.filter((w) => w.delivered).map((w) => {
    const from = addr[w.from], to = addr[w.from === 'a' ? 'b' : 'a'];
    return { src: from.address, dst: to.address, srcPort: from.port, dstPort: to.port, data: w.data };
  })));
  writeFileSync(keys, `${Buffer.from(kl.initiatorCookie).toString('hex')},${Buffer.from(kl.encryptionKey).toString('hex')}\n`);
  const out: string[] = [];
  const code = await runCli(['decode', '--json', '--keylog', keys, cap], { out: (s) => out.push(s), err: () => undefined });
  assert.equal(code, 0);
  const msgs = out.map((l) => JSON.parse(l) as { exchangeType: number; encrypted?: { decrypted: boolean }; decryptError?: string; payloads: { type: string }[] });
  const enc = msgs.filter((m) => m.encrypted !== undefined);
  assert.ok(enc.length >= 5, `encrypted messages: ${enc.length}`);
  assert.deepEqual(enc.map((m) => m.decryptError ?? 'ok'), enc.map(() => 'ok'));
  const mm = enc.filter((m) => m.exchangeType === 2);
  assert.deepEqual(mm.map((m) => m.payloads[0]!.type), ['ID', 'ID'], 'MM5/MM6 start with IDii/IDir');
  const qm = enc.filter((m) => m.exchangeType === 32);
  assert.deepEqual(qm.map((m) => m.payloads.map((p) => p.type).slice(0, 3).join(',')), ['HASH,SA,NONCE', 'HASH,SA,NONCE', 'HASH']);
});
