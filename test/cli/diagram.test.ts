// `isakmp decode --diagram`: the ladder of known captures, checked by structure (the SVG's
// elements, classes and labels). The captures are made here by two real engines on a virtual link
// (test/helpers/pair.ts) and written as pcap: a lossy exchange with retransmissions decrypted with
// its key log, a wrong PSK, and a proposal mismatch answered with NO_PROPOSAL_CHOSEN. The tcpdump
// corpus capture in ../shared is used when present.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/run.js';
import { writePcap } from '../../src/pcap/index.js';
import { decodeMessage } from '../../src/codec/index.js';
import { scriptJson } from '../../src/cli/diagram/html.js';
import { xml } from '../../src/cli/diagram/svg.js';
import { Pair, conn } from '../helpers/pair.js';
import { tempDir } from '../daemon/helpers.js';

const dir = tempDir('isakmp-diagram-');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const T0 = 1_700_000_000;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err };
}

/** The pcap of everything the pair put on the wire (sent, whether delivered or not). */
function capture(pair: Pair, name: string): string {
  const f = join(dir, name);
  writeFileSync(f, writePcap(pair.wire.map((w) => ({ src: w.local!.address, dst: w.remote!.address, srcPort: w.local!.port, dstPort: w.remote!.port, data: w.data, time: T0 + w.at / 1000 }))));
  return f;
}

interface SvgMessage { classes: string[]; step: string; label: string; notes: string[] }

/** The message groups of an SVG, in order: classes, step, label and notes. */
function messages(svg: string): SvgMessage[] {
  const out: SvgMessage[] = [];
  for (const m of svg.matchAll(/<g class="(message[^"]*)"[^>]*data-step="([^"]*)">(.*?)<\/g>(?=<g class="message|\n|$)/gs)) {
    const body = m[3]!;
    out.push({
      classes: m[1]!.split(' '),
      step: m[2]!,
      label: /<text class="label"[^>]*>([^<]*)<\/text>/.exec(body)![1]!,
      notes: [...body.matchAll(/<text class="note"[^>]*>([^<]*)<\/text>/g)].map((n) => n[1]!),
    });
  }
  return out;
}

describe('exchange diagrams', () => {
  // A lossy Main Mode + Quick Mode: the first MM2 is lost, so the initiator sends MM1 again and the
  // responder answers it again; every encrypted message is decrypted with the key log.
  const lossy = new Pair({ seed: 'diagram-lossy' });
  lossy.a.setConnection(conn(lossy, 'a'));
  lossy.b.setConnection(conn(lossy, 'b'));
  let dropped = false;
  lossy.tap = (from, data) => {
    if (from === 'b' && !dropped) {
      dropped = true;
      return null;
    }
    return data;
  };
  lossy.a.initiate(lossy.now, 'c');
  lossy.run(30_000);
  const est = lossy.ev('a', 'phase1-established')[0]!;
  const lossyPcap = capture(lossy, 'lossy.pcap');
  const keylog = join(dir, 'lossy.keys');
  writeFileSync(keylog, `${hex(est.keyLog.initiatorCookie)},${hex(est.keyLog.encryptionKey)}\n`);

  test('the capture is what the test means: MM1 twice, then MM2..MM6 and QM1..QM3, both SAs up', () => {
    assert.equal(lossy.ev('a', 'ipsec-sa-established').length, 1);
    const kinds = lossy.wire.map((w) => decodeMessage(w.data).header.exchangeType);
    assert.deepEqual(kinds, [2, 2, 2, 2, 2, 2, 2, 2, 32, 32, 32]);
    assert.deepEqual(lossy.wire[0]!.data, lossy.wire[2]!.data, 'MM1 repeated byte for byte');
  });

  test('SVG: one ladder, two lanes with addresses and cookies, one arrow per message in RFC 2409 notation, decrypted payloads', async () => {
    const svgFile = join(dir, 'lossy.svg');
    const r = await run('decode', '--keylog', keylog, '--diagram', svgFile, lossyPcap);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.equal(r.out, '');
    assert.deepEqual(r.err, [
      `isakmp decode: wrote SVG diagram ${svgFile}: 1 ISAKMP SA, 11 messages, 5 encrypted`,
      `${lossyPcap}: 11 frames, 11 ISAKMP, 0 ESP skipped, 0 NAT keepalives skipped, 0 other skipped, 0 malformed`,
    ]);
    const svg = readFileSync(svgFile, 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="980" height="\d+" viewBox="0 0 980 \d+"/);
    assert.equal((svg.match(/<g class="ladder"/g) ?? []).length, 1);
    const icky = hex(est.keyLog.initiatorCookie);
    const rcky = hex(est.keyLog.responderCookie);
    assert.ok(svg.includes(`data-initiator-cookie="${icky}" data-responder-cookie="${rcky}"`));
    assert.match(svg, /<text class="lane-role"[^>]*>Initiator<\/text>\s*<text class="lane-addr"[^>]*>192\.0\.2\.1:500<\/text>\s*<text class="lane-cookie"[^>]*>CKY-I [0-9a-f]{16}<\/text>/);
    assert.ok(svg.includes(`>CKY-I ${icky}<`) && svg.includes(`>CKY-R ${rcky}<`));
    assert.match(svg, />192\.0\.2\.2:500<\/text>/);
    const ms = messages(svg);
    assert.deepEqual(ms.map((m) => [m.step, m.label]), [
      ['MM1', 'HDR, SA, VID×3'],
      ['MM2', 'HDR, SA, VID×3'],
      ['MM1', 'HDR, SA, VID×3'],
      ['MM2', 'HDR, SA, VID×3'],
      ['MM3', 'HDR, KE, Ni, NAT-D×2'],
      ['MM4', 'HDR, KE, Nr, NAT-D×2'],
      ['MM5', 'HDR*, IDii, HASH_I, N(INITIAL-CONTACT)'],
      ['MM6', 'HDR*, IDir, HASH_R'],
      ['QM1', 'HDR*, HASH(1), SA, Ni, IDci, IDcr'],
      ['QM2', 'HDR*, HASH(2), SA, Nr, IDci, IDcr'],
      ['QM3', 'HDR*, HASH(3)'],
    ]);
    // the lost MM2 is on the wire (it was sent), then MM1 again and the answer again
    assert.ok(ms[2]!.classes.includes('retransmission') && ms[2]!.notes.includes('retransmission of MM1 (#1)'));
    assert.ok(ms[3]!.classes.includes('retransmission') && ms[3]!.notes.includes('retransmission of MM2 (#2)'));
    for (const i of [0, 1, 4, 5]) assert.ok(!ms[i]!.classes.includes('retransmission') && !ms[i]!.classes.includes('encrypted'));
    for (const i of [6, 7, 8, 9, 10]) assert.deepEqual(ms[i]!.classes.filter((c) => c === 'encrypted' || c === 'decrypted'), ['encrypted', 'decrypted']);
    assert.ok(ms[6]!.notes.includes('decrypted with the key log'));
    assert.ok(ms[6]!.classes.includes('notify') && !ms[6]!.classes.includes('failing'), 'INITIAL-CONTACT is a status notify');
    assert.ok(ms.every((m) => !m.classes.includes('failing')));
    assert.equal(ms[0]!.notes.join(' '), 'VID: DPD (RFC 3706 Dead Peer Detection) (version 1.0); RFC 3947 NAT-T; FRAGMENTATION (IKE fragmentation)');
    // directions: MM1 goes right (initiator → responder), MM2 left
    assert.match(svg, /data-step="MM1">.*?<line x1="270" y1="(\d+)" x2="788" y2="\1"\/>/s);
    assert.match(svg, /data-step="MM2">.*?<line x1="800" y1="(\d+)" x2="282" y2="\1"\/>/s);
    // time runs down: every arrow lower than the one before; the times are labelled from +0.000 s
    const ys = [...svg.matchAll(/<g class="message[^"]*"[^>]*>.*?<line x1="\d+" y1="(\d+)"/gs)].map((m) => Number(m[1]));
    assert.equal(ys.length, 11);
    for (let i = 1; i < ys.length; i++) assert.ok(ys[i]! > ys[i - 1]!, `arrow ${i + 1} below arrow ${i}`);
    assert.match(svg, /<text class="time"[^>]*>\+0\.000 s<\/text>/);
    // the retransmission came after the initiator's retransmit timer: a larger gap than between MM3 and MM4
    assert.ok(ys[2]! - ys[1]! > ys[5]! - ys[4]!, 'the wait before the retransmission shows on the time axis');
  });

  test('without the key log: encrypted messages show the first payload and say they were not decrypted', async () => {
    const r = await run('decode', '--diagram', '-', lossyPcap);
    assert.equal(r.code, 0);
    const ms = messages(r.out);
    assert.deepEqual(ms.slice(6).map((m) => m.label), ['HDR*, IDii, …', 'HDR*, IDir, …', 'HDR*, HASH(1), …', 'HDR*, HASH(2), …', 'HDR*, HASH(3), …']);
    for (const m of ms.slice(6)) {
      assert.ok(m.classes.includes('encrypted') && !m.classes.includes('decrypted'));
      assert.ok(m.notes.includes('encrypted (give --keylog to see the payloads)'));
    }
    assert.equal((r.out.match(/class="lock-glyph"/g) ?? []).length, 5, 'a padlock on each encrypted message');
  });

  test('wrong PSK: the responder cannot read MM5 and says so (AUTHENTICATION-FAILED, failing); the last message of the unfinished Main Mode is failing too', async () => {
    const pair = new Pair({ seed: 'diagram-wrongpsk' });
    pair.a.setConnection(conn(pair, 'a', { psk: new TextEncoder().encode('not the right key') }));
    pair.b.setConnection(conn(pair, 'b'));
    pair.a.initiate(pair.now, 'c');
    pair.run(120_000);
    const r = await run('decode', '--diagram', '-', capture(pair, 'wrongpsk.pcap'));
    // the initiator tries again with new cookies: a second ladder, the same story
    const ladders = r.out.split('<g class="ladder"').slice(1);
    assert.equal(ladders.length, 2);
    const ms = messages(ladders[0]!);
    assert.deepEqual(ms.slice(0, 6).map((m) => m.step), ['MM1', 'MM2', 'MM3', 'MM4', 'MM5', 'INFO']);
    // the responder's error notify (issue 10: the failing side tells the other), unauthenticated:
    // the initiator does not act on it and retransmits MM5 until it gives up
    assert.deepEqual(ms[5]!.classes, ['message', 'notify', 'failing']);
    assert.ok(ms[5]!.notes.includes('error notify: AUTHENTICATION-FAILED'), ms[5]!.notes.join('|'));
    assert.ok(ms.length > 6 && ms.slice(6).every((m) => m.step === 'MM5' && m.classes.includes('retransmission')), ms.map((m) => m.step).join(','));
    const failing = ms.filter((m) => m.classes.includes('failing'));
    assert.deepEqual(failing.map((m) => m.step), ['INFO', 'MM5']);
    assert.equal(failing[1], ms[ms.length - 1]);
    assert.ok(failing[1]!.notes.includes('Main Mode incomplete: no MM6 after this message'), failing[1]!.notes.join('|'));
    assert.match(ladders[0]!, /<text class="subtitle"[^>]*>Main Mode, Informational; phase 1 not completed; Main Mode stopped after MM5<\/text>/);
    assert.deepEqual(messages(ladders[1]!).filter((m) => m.classes.includes('failing')).map((m) => m.step), ['INFO', 'MM5']);
  });

  test('no proposal chosen: the responder\'s notify is an error notify, highlighted as failing', async () => {
    const pair = new Pair({ seed: 'diagram-noproposal' });
    pair.a.setConnection(conn(pair, 'a', { ike: [{ encryption: 7, keyLength: 256, hash: 2, group: 14 }] }));
    pair.b.setConnection(conn(pair, 'b'));
    pair.a.initiate(pair.now, 'c');
    pair.run(100);
    const f = capture(pair, 'noproposal.pcap');
    const r = await run('decode', '--diagram', '-', f);
    const ms = messages(r.out);
    assert.deepEqual(ms.map((m) => [m.step, m.label]), [['MM1', 'HDR, SA, VID×3'], ['INFO', 'HDR, N(NO-PROPOSAL-CHOSEN)']]);
    assert.deepEqual(ms[1]!.classes, ['message', 'notify', 'failing']);
    assert.ok(ms[1]!.notes.includes('error notify: NO-PROPOSAL-CHOSEN'));
    assert.match(r.out, /data-step="INFO">.*?<line x1="800"/s, 'the notify goes from the responder to the initiator');
  });

  test('HTML page: self-contained, the SVG inline, each message\'s tree in a JSON block and shown on click', async () => {
    const html = join(dir, 'lossy.html');
    const r = await run('decode', '--keylog', keylog, '--diagram', html, lossyPcap);
    assert.equal(r.code, 0);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.ok(!/<(script|link|img)[^>]+(src|href)=/i.test(page), 'no external resource');
    assert.ok(page.includes('<svg xmlns="http://www.w3.org/2000/svg"'));
    const json = /<script type="application\/json" id="trees">(.*?)<\/script>/s.exec(page)![1]!;
    const trees = JSON.parse(json) as Record<string, { title: string; lines: string[] }>;
    assert.equal(Object.keys(trees).length, 11);
    assert.equal(trees['6']!.title, '#7 MM5: HDR*, IDii, HASH_I, N(INITIAL-CONTACT) (frame 7)');
    assert.ok(trees['6']!.lines.includes('        Identification data: address=192.0.2.1'));
    assert.ok(trees['6']!.lines.includes('# decrypted with the key log'));
    assert.match(page, /addEventListener\('click'/);
  });

  test('escaping: text from the network cannot break out of the SVG or the script block', () => {
    assert.equal(xml('<a href="x">&\'\u0001'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;\ufffd');
    const s = scriptJson({ t: '</script><script>alert(1)</script>\u2028' });
    assert.ok(!s.includes('<') && !s.includes('>'));
    assert.deepEqual(JSON.parse(s), { t: '</script><script>alert(1)</script>\u2028' });
  });

  test('--diagram errors: an unwritable target is one line; --json with --diagram - is refused', async () => {
    let r = await run('decode', '--diagram', join(dir, 'no-such-folder', 'x.svg'), lossyPcap);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, [`isakmp decode: cannot write the diagram to ${join(dir, 'no-such-folder', 'x.svg')}: no such folder`]);
    r = await run('decode', '--json', '--diagram', '-', lossyPcap);
    assert.equal(r.code, 2);
    assert.deepEqual(r.err, ['isakmp decode: --json and --diagram - both write to stdout: give --diagram a file name']);
  });

  test('a real capture against strongSwan\'s charon (test/vectors/captures), decrypted with our key log', async () => {
    const r = await run('decode', '--keylog', 'test/vectors/captures/charon-mm-psk.keys', '--diagram', '-', 'test/vectors/captures/charon-mm-psk.pcap');
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.equal((r.out.match(/<g class="ladder"/g) ?? []).length, 1);
    assert.ok(r.out.includes('data-initiator-cookie="444c64af5165a3c1"'));
    assert.match(r.out, />198\.18\.0\.1:500<\/text>\s*<text class="lane-cookie"[^>]*>CKY-I 444c64af5165a3c1</);
    assert.match(r.out, />198\.18\.0\.2:500<\/text>/);
    const ms = messages(r.out);
    assert.deepEqual(ms.map((m) => [m.step, m.label]), [
      ['MM1', 'HDR, SA, VID×2'],
      ['MM2', 'HDR, SA, VID×4'],
      ['MM3', 'HDR, KE, Ni, NAT-D×2'],
      ['MM4', 'HDR, KE, Nr, NAT-D×2'],
      ['MM5', 'HDR*, IDii, HASH_I, N(INITIAL-CONTACT)'],
      ['MM6', 'HDR*, IDir, HASH_R'],
      ['QM1', 'HDR*, HASH(1), SA, Ni, KE, IDci, IDcr'],
      ['QM2', 'HDR*, HASH(2), SA, Nr, KE, IDci, IDcr'],
      ['QM3', 'HDR*, HASH(3)'],
    ]);
    assert.equal(ms[1]!.notes.join(' '), 'VID: XAUTH (draft-ietf-ipsec-isakmp-xauth); DPD (RFC 3706 Dead Peer Detection) (version 1.0); Cisco Unity (version 1.0); RFC 3947 NAT-T');
    assert.ok(ms.slice(4).every((m) => m.classes.includes('encrypted') && m.classes.includes('decrypted')));
    assert.ok(ms.every((m) => !m.classes.includes('failing') && !m.classes.includes('retransmission')));
    assert.match(r.out, /<text class="subtitle"[^>]*>Main Mode, Quick Mode; phase 1 completed<\/text>/);
  });

  const shared = '../shared/vectors/tcpdump/ISAKMP_sa_setup.pcap';
  test('a real third-party capture (tcpdump corpus, PacketLife MM + QM)', { skip: existsSync(shared) ? false : `${shared} absent` }, async () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'decode', '--diagram', '-', shared], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ms = messages(r.stdout);
    assert.deepEqual(ms.map((m) => m.step), ['MM1', 'MM2', 'MM3', 'MM4', 'MM5', 'MM6', 'QM1', 'QM2', 'QM3']);
    assert.equal(ms[0]!.label, 'HDR, SA, VID×3');
    assert.ok(ms[2]!.notes.join(' ').includes('Cisco Unity (version 1.0)'));
    assert.deepEqual(ms.slice(4).map((m) => m.label), ['HDR*, IDii, …', 'HDR*, IDir, …', 'HDR*, HASH(1), …', 'HDR*, HASH(2), …', 'HDR*, HASH(3), …']);
  });
});
