/**
 * The browser check of `isakmp decode --diagram`, shared by the unit suite (skipped without
 * chromium) and the interop suite (never skipped): the SVG of the charon capture
 * (test/vectors/captures) and the HTML page of a failed exchange are rendered to PNG by headless
 * Chromium, and the pictures must show the diagram: enough ink, dark text, the blue of encrypted
 * messages, the red of a failing one (and no red where nothing failed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { writePcap } from '../../src/pcap/index.js';
import { renderToPng } from './chromium.js';
import { Pair, conn } from './pair.js';
import { countPixels, readPng } from './png.js';

/** A proposal mismatch made by two engines: MM1, then NO-PROPOSAL-CHOSEN. */
function knownCapture(dir: string): string {
  const pair = new Pair({ seed: 'render-noproposal' });
  pair.a.setConnection(conn(pair, 'a', { ike: [{ encryption: 7, keyLength: 256, hash: 2, group: 14 }] }));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(100);
  const mismatch = join(dir, 'mismatch.pcap');
  writeFileSync(mismatch, writePcap(pair.wire.map((w) => ({ src: w.local!.address, dst: w.remote!.address, srcPort: w.local!.port, dstPort: w.remote!.port, data: w.data }))));
  return mismatch;
}

async function diagram(args: string[]): Promise<void> {
  const err: string[] = [];
  const code = await runCli(['decode', ...args], { out: () => {}, err: (s) => err.push(s) });
  assert.equal(code, 0, err.join('\n'));
}

const sizeOf = (svg: string): { width: number; height: number } => {
  const m = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg)!;
  return { width: Number(m[1]), height: Number(m[2]) };
};

const isBlue = (r: number, g: number, b: number): boolean => b > 150 && r < 90 && g > 60 && g < 140;
const isRed = (r: number, g: number, b: number): boolean => r > 160 && g < 80 && b < 80;
const isDark = (r: number, g: number, b: number): boolean => r < 90 && g < 90 && b < 90;
const isInk = (r: number, g: number, b: number): boolean => r < 235 || g < 235 || b < 235;

export async function checkRenderedDiagrams(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-render-'));
  // 1. the real charon exchange, decrypted: black clear-text arrows and blue encrypted ones
  const svg = join(dir, 'charon.svg');
  await diagram(['--keylog', 'test/vectors/captures/charon-mm-psk.keys', '--diagram', svg, 'test/vectors/captures/charon-mm-psk.pcap']);
  const size = sizeOf(readFileSync(svg, 'utf8'));
  let png = readPng(renderToPng(svg, size.width, size.height));
  assert.deepEqual([png.width, png.height], [size.width, size.height]);
  const area = png.width * png.height;
  const ink = countPixels(png, isInk);
  assert.ok(ink > area * 0.03 && ink < area * 0.6, `ink ${ink} of ${area} pixels: not blank, not a flood`);
  assert.ok(countPixels(png, isBlue) > 2000, `blue (encrypted) pixels: ${countPixels(png, isBlue)}`);
  assert.ok(countPixels(png, isDark) > 2000, `dark (text, clear arrows) pixels: ${countPixels(png, isDark)}`);
  assert.ok(countPixels(png, isRed) < 200, `nothing failed in this exchange: no red beyond the legend (${countPixels(png, isRed)} pixels)`);
  // 2. the HTML page (inline SVG, the tree panel beside it) of a proposal mismatch: the
  //    NO-PROPOSAL-CHOSEN notify is drawn in red
  const html = join(dir, 'mismatch.html');
  await diagram(['--diagram', html, knownCapture(dir)]);
  png = readPng(renderToPng(html, 1400, 700));
  assert.ok(countPixels(png, isRed) > 1000, `red (failing) pixels: ${countPixels(png, isRed)}`);
  assert.ok(countPixels(png, isInk) > 1400 * 700 * 0.02, 'HTML page: not blank');
  assert.ok(readFileSync(html, 'utf8').includes('Click a message'), 'the page has its tree panel');
}
