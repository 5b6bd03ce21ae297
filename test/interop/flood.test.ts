/**
 * Flood: 20,000 Main Mode first messages from 1,000 distinct source addresses (added to namespace
 * isk-a) within 10 s, against our daemon in isk-b, while strongSwan charon (also in isk-a, the
 * legitimate peer) connects. The legitimate handshake completes, the daemon's memory stays under
 * FLOOD_RSS_BOUND, and the half-open state is gone within 60 s.
 *
 * The daemon runs with the default limits (max_half_open 2048, 32 per peer): once the cap is
 * full the engine makes room for new first messages, so the legitimate peer is not locked out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { A, B, Ours, ROOT, charon, interopSkipReason, script, sleep, until } from './peers.js';

/** Documented bound (docs/performance.md, docs/daemon.md): RSS of the daemon under this flood. */
const FLOOD_RSS_BOUND = 160 * 1024 * 1024;
const SOURCES = 1000;
const PER_SOURCE = 20;
const BASE = '198.18.4.0'; // 198.18.4.0 - 198.18.7.231 on isk-a's veth0

const skip = interopSkipReason();

function addrs(): string[] {
  const out: string[] = [];
  for (let i = 0; i < SOURCES; i++) out.push(`198.18.${4 + (i >> 8)}.${i & 255}`);
  return out;
}

describe('flood of Main Mode first messages from 1,000 spoofed sources', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(() => {
    assert.equal(script('netns.sh', ['up']).code, 0);
    const batch = addrs().map((a) => `addr add ${a}/32 dev veth0`).join('\n') + '\n';
    const r = spawnSync('ip', ['-n', A.ns, '-batch', '-'], { input: batch, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rt = spawnSync('ip', ['-n', B.ns, 'route', 'replace', '198.18.4.0/22', 'dev', 'veth0'], { encoding: 'utf8' });
    assert.equal(rt.status, 0, rt.stderr);
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('the legitimate peer gets through, memory stays bounded, half-open state expires', async () => {
    ours = await Ours.start('flood', B.ns, (sock) => `global:
  listen: [${B.ip}]
  control_socket: ${sock}
  log: { level: info }
secrets:
  mm: { psk: peers-mm-psk-secret, allow_weak_psk: true }
  other: { psk: some-other-secret, allow_weak_psk: true }
connections:
  mm:
    secret: mm
    local: { address: ${B.ip} }
    remote: { address: ${A.ip} }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256-modp2048
  any:
    secret: other
    local: { address: ${B.ip} }
    remote: { address: "%any", id: "%any" }
    ike: aes128-sha256-modp2048
`);
    charon.start('a', A.ns);
    charon.load('a', 'initiator.conf');
    const base = (await ours.status()).process.rss as number;

    const flooder = spawn('ip', ['netns', 'exec', A.ns, process.execPath, join(ROOT, 'build/test/interop/flooder.js'), '--target', `${B.ip}:500`, '--base', BASE, '--sources', String(SOURCES), '--per', String(PER_SOURCE), '--seconds', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    flooder.stdout.on('data', (d) => (out += d));
    flooder.stderr.on('data', (d) => (err += d));
    const flooded = new Promise<number | null>((r) => flooder.once('exit', (c) => r(c)));

    let maxRss = base;
    let maxHalfOpen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const s = await ours!.status();
          maxRss = Math.max(maxRss, s.process.rss);
          maxHalfOpen = Math.max(maxHalfOpen, s.negotiating.responder);
        } catch {
          /* busy: next round */
        }
        await sleep(250);
      }
    })();

    // the legitimate peer starts while the flood is running
    await sleep(2000);
    const legit = charon.up('a', 'mm-psk', 'pfs', 20);
    const code = await flooded;
    sampling = false;
    await sampler;
    assert.equal(code, 0, err);
    const fl = JSON.parse(out.trim()) as { sent: number; seconds: number };
    assert.equal(fl.sent, SOURCES * PER_SOURCE);
    assert.ok(fl.seconds <= 10, `flood took ${fl.seconds} s`);
    assert.equal(legit.code, 0, `charon could not connect during the flood:\n${legit.out}${legit.err}`);
    const st = await ours.status();
    assert.ok(st.isakmp.some((x: any) => x.connection === 'mm' && x.state === 'established'), 'legitimate ISAKMP SA established');
    assert.ok(st.ipsec.some((x: any) => x.connection === 'mm'), 'legitimate IPsec SA established');
    console.log(`# flood: ${fl.sent} MM1 in ${fl.seconds.toFixed(1)} s; daemon RSS ${(base / 2 ** 20).toFixed(0)} -> max ${(maxRss / 2 ** 20).toFixed(0)} MiB; max half-open seen ${maxHalfOpen}; counters ${JSON.stringify(st.counters.dropped)}`);
    assert.ok(maxRss < FLOOD_RSS_BOUND, `RSS ${maxRss} exceeds the documented bound ${FLOOD_RSS_BOUND}`);

    // half-open state expires (engine: 30 s)
    const cleared = await until(async () => (await ours!.status()).negotiating.responder === 0, 60_000, 1000);
    assert.ok(cleared, `half-open SAs left: ${JSON.stringify((await ours.status()).negotiating)}`);
    const end = await ours.status();
    assert.equal(end.isakmp.filter((x: any) => x.connection === 'mm' && x.state === 'established').length, 1, 'the legitimate SA survives');
  });
});
