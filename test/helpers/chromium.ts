/**
 * Headless Chromium (Debian's `chromium` package, installed by interop/install.sh) as a test
 * tool: renders a local SVG or HTML file to PNG with a fresh profile each time, no network
 * services, no sandbox (tests run as root in a container).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export function chromiumPath(): string | undefined {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  return undefined;
}

/** Renders `file` at `width`×`height` and returns the PNG bytes. */
export function renderToPng(file: string, width: number, height: number): Uint8Array {
  const bin = chromiumPath();
  if (bin === undefined) throw new Error('chromium is not installed (interop/install.sh installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'isakmp-chromium-'));
  try {
    const png = join(dir, 'shot.png');
    const r = spawnSync(bin, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${join(dir, 'profile')}`,
      `--window-size=${width},${height}`, `--screenshot=${png}`, pathToFileURL(resolve(file)).href,
    ], { encoding: 'utf8', timeout: 120_000 });
    if (!existsSync(png)) throw new Error(`chromium wrote no screenshot (exit ${r.status}, ${r.error ?? ''}): ${r.stderr.slice(-2000)}`);
    return new Uint8Array(readFileSync(png));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
