/**
 * Flood of Main Mode first messages against our daemon with its DOCUMENTED DEFAULTS (issue 5, "Load
 * and bad input"): 20,000 MM1 from 1,000 distinct spoofed source addresses within 10 s, while a
 * legitimate peer connects. Checks that
 *   - the flood really creates half-open state (it hits a `%any` connection, so every MM1 is
 *     answered until the half-open cap is reached),
 *   - the legitimate handshake (Main Mode PSK + Quick Mode, sans-IO initiator over UDP,
 *     bench/load-gen.ts) completes,
 *   - the daemon's RSS stays under FLOOD_RSS_BOUND (docs/performance.md),
 *   - all half-open state is gone at most 60 s after the flood.
 * No setting is shortened: max_half_open (2048), max_half_open_per_peer (32) and the engine's
 * half-open lifetime (30 s, not configurable in the daemon's file) are the defaults.
 *
 * Network: interop/load/netns.sh (namespaces isk-load-i with the sources, isk-load-r with the
 * daemon; 198.19.10.0/24 and 198.19.16.0/20), always torn down. Root only; skips and says why
 * otherwise. About 45 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/daemon/control.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const NETNS = join(ROOT, 'interop/load/netns.sh');
const CLI = join(ROOT, 'dist/cli/main.js');
const GEN = join(ROOT, 'build/bench/load-gen.js');
const FLOOD = join(ROOT, 'build/bench/load-flood.js');

/** Documented bound (docs/performance.md): the daemon's RSS during and after this flood. */
const FLOOD_RSS_BOUND = 160 * 1024 * 1024;
/**
 * ... and its growth over the idle daemon. Since the engine evicts the oldest unproven half-open
 * entry instead of refusing new MM1s, every flooded MM1 is answered (a DH key pair and a
 * short-lived entry each), and the RSS growth under that churn was 52.6–66.0 MiB in three runs
 * (docs/performance.md); the half-open table itself stays under its cap of 2,048 entries.
 */
const FLOOD_RSS_GROWTH_BOUND = 96 * 1024 * 1024;
const SOURCES = 1000;
const PER_SOURCE = 20;
const FLOOD_SECONDS = 8;
const R_IP = '198.19.10.2';
const I_IP = '198.19.10.1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'not Linux: skipping the flood test';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need root): skipping the flood test';
  for (const f of [CLI, GEN, FLOOD]) if (!existsSync(f)) return `${f} missing (npm run build && npm run build:test): skipping the flood test`;
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'ip netns unavailable: skipping the flood test';
  return false;
}

function config(dir: string): string {
  const file = join(dir, 'daemon.yaml');
  writeFileSync(
    file,
    `# flood-defaults.test.ts: every limit at its default
global:
  listen: [${R_IP}]
  natt_port: 0
  control_socket: ${join(dir, 'control.sock')}
  log: { level: error }
secrets:
  legit: { psk: legit-flood-secret, allow_weak_psk: true }
  anyone: { psk: some-other-secret, allow_weak_psk: true }
connections:
  legit:
    secret: legit
    local: { address: ${R_IP} }
    remote: { address: ${I_IP} }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
  anyone:
    secret: anyone
    local: { address: ${R_IP} }
    remote: { address: "%any", id: "%any" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
`,
  );
  return file;
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

interface Status {
  negotiating?: { responder?: number };
  isakmp: { connection: string; state: string; role?: string }[];
  ipsec: { connection: string }[];
  counters: { dropped: Record<string, number>; sas?: Record<string, number> };
}

async function status(sock: string): Promise<Status> {
  const r = await controlRequest(sock, { cmd: 'status' }, 10_000);
  if (!r.ok) throw new Error(`status: ${r.error}`);
  return r.data as Status;
}

/** Half-open responder phase 1s, whichever way this daemon version reports them. */
function halfOpen(s: Status): number {
  if (s.negotiating?.responder !== undefined) return s.negotiating.responder;
  return s.isakmp.filter((x) => x.state === 'negotiating' && (x.role ?? 'responder') === 'responder').length;
}

function collect(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((r) => child.once('close', (code) => r({ code, out, err })));
}

const skip = skipReason();
/** Seconds from the legitimate peer's first MM1 to its IPsec SA (set by the first test). */
let legitSeconds: number | undefined;

describe('flood: 20,000 MM1 from 1,000 spoofed sources against the daemon with default limits', { skip, concurrency: false }, () => {
  let dir = '';
  let daemon: ChildProcess | undefined;
  let daemonExit: Promise<unknown> | undefined;
  const children: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'isakmp-flood-'));
    const up = spawnSync(NETNS, ['up'], { encoding: 'utf8' });
    assert.equal(up.status, 0, up.stderr);
    const sp = spawnSync(NETNS, ['spoof', String(SOURCES)], { encoding: 'utf8' });
    assert.equal(sp.status, 0, sp.stderr);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGKILL');
      await daemonExit;
    }
    spawnSync(NETNS, ['down'], { encoding: 'utf8' });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the legitimate peer connects, memory stays bounded, half-open state is gone within 60 s', async (t) => {
    const cfg = config(dir);
    const check = spawnSync(process.execPath, [CLI, 'daemon', '--check', '--config', cfg], { encoding: 'utf8' });
    if (check.status !== 0) {
      t.skip(`the daemon's configuration does not accept a %any connection yet: ${check.stderr.trim()}`);
      return;
    }
    const sock = join(dir, 'control.sock');
    daemon = spawn('ip', ['netns', 'exec', 'isk-load-r', process.execPath, CLI, 'daemon', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    const daemonOut = collect(daemon);
    daemonExit = daemonOut;
    for (let i = 0; i < 100 && !existsSync(sock) && daemon.exitCode === null; i++) await sleep(50);
    if (!existsSync(sock)) {
      daemon.kill('SIGKILL');
      assert.fail(`the daemon did not start: ${(await daemonOut).err.trim()}`);
    }
    const pid = daemon.pid!; // `ip netns exec` execs: this is node's pid
    const rss0 = rssOf(pid);

    // the flood, 8 s
    const flooder = spawn('ip', ['netns', 'exec', 'isk-load-i', process.execPath, FLOOD, '--target', `${R_IP}:500`, '--sources', String(SOURCES), '--per', String(PER_SOURCE), '--seconds', String(FLOOD_SECONDS)]);
    children.push(flooder);
    const flooded = collect(flooder);
    const t0 = performance.now();

    // sample the daemon: RSS and half-open count
    let rssMax = rss0;
    let halfMax = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssMax = Math.max(rssMax, rssOf(pid));
        try {
          halfMax = Math.max(halfMax, halfOpen(await status(sock)));
        } catch {
          /* a busy daemon may miss one sample */
        }
        await sleep(250);
      }
    })();

    // the legitimate peer starts 2 s into the flood: one Main Mode + Quick Mode, retransmitting
    // after 1, 2, 4, 8, 16 s like a common IKEv1 initiator, giving up after 63 s
    await sleep(2000);
    const legit = spawn('ip', ['netns', 'exec', 'isk-load-i', process.execPath, GEN, '--target', `${R_IP}:500`, '--source', I_IP, '--sockets', '1', '--count', '1', '--concurrency', '1', '--psk', 'legit-flood-secret', '--duration', '70', '--retransmit-base', '1000', '--retransmit-limit', '5']);
    children.push(legit);
    const legitDone = collect(legit);

    const fl = await flooded;
    const floodEnd = performance.now();
    assert.equal(fl.code, 0, `flooder: ${fl.err}`);
    const f = JSON.parse(fl.out.trim().split('\n').pop()!) as { sent: number; seconds: number; replies: number };
    assert.equal(f.sent, SOURCES * PER_SOURCE);
    assert.ok(f.seconds <= 10, `the flood took ${f.seconds} s (must be within 10 s)`);

    const lg = await legitDone;
    const legitAt = (performance.now() - t0) / 1000;
    assert.equal(lg.code, 0, `legitimate peer: ${lg.err}`);
    const l = JSON.parse(lg.out.trim().split('\n').pop()!) as { established: number; seconds: number; failures: Record<string, number> };
    if (l.established === 1) legitSeconds = l.seconds;
    const st = await status(sock);

    // half-open state gone at most 60 s after the flood
    let left = halfOpen(st);
    while (left > 0 && performance.now() - floodEnd < 60_000) {
      await sleep(1000);
      left = halfOpen(await status(sock));
    }
    const goneAfter = (performance.now() - floodEnd) / 1000;
    sampling = false;
    await sampler;
    const end = await status(sock);
    t.diagnostic(
      `flood: ${f.sent} MM1 from ${SOURCES} sources in ${f.seconds} s, ${f.replies} answered (MM2); max half-open seen ${halfMax}; dropped ${JSON.stringify(end.counters.dropped)}`,
    );
    t.diagnostic(`legitimate peer: ${l.established === 1 ? `established ${l.seconds} s after its first MM1` : `FAILED ${JSON.stringify(l.failures)}`} (t = ${legitAt.toFixed(1)} s)`);
    t.diagnostic(`daemon RSS: ${(rss0 / 2 ** 20).toFixed(1)} MiB idle, max ${(rssMax / 2 ** 20).toFixed(1)} MiB; half-open ${left} ${goneAfter.toFixed(1)} s after the flood`);

    assert.ok(halfMax >= 1000, `the flood should have created half-open state (max seen ${halfMax})`);
    assert.equal(l.established, 1, `the legitimate handshake did not complete: ${JSON.stringify(l.failures)}`);
    assert.ok(end.isakmp.some((x) => x.connection === 'legit' && x.state === 'established'), 'our daemon lists the legitimate ISAKMP SA');
    assert.ok(end.ipsec.some((x) => x.connection === 'legit'), 'our daemon lists the legitimate IPsec SA');
    assert.ok(rssMax <= FLOOD_RSS_BOUND, `RSS ${rssMax} B over the documented bound ${FLOOD_RSS_BOUND} B`);
    assert.ok(rssMax - rss0 <= FLOOD_RSS_GROWTH_BOUND, `RSS grew by ${rssMax - rss0} B (bound ${FLOOD_RSS_GROWTH_BOUND} B)`);
    assert.equal(left, 0, `half-open phase 1s left 60 s after the flood: ${left}`);
    assert.equal(daemon.exitCode, null, 'the daemon is still running');
  });

  // With max_half_open full, the engine evicts the oldest half-open entry that never saw its
  // peer's MM3 instead of refusing the new MM1: the legitimate peer's MM3 follows its MM2 within a
  // round trip, long before the flood pushes 2,048 newer entries in.
  test('the legitimate peer gets through during the flood, within 5 s of its first attempt', () => {
    assert.ok(legitSeconds !== undefined && legitSeconds <= 5, `the legitimate handshake took ${legitSeconds ?? 'forever'} s`);
  });
});
