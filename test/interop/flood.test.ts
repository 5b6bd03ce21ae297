/**
 * Floods of phase-1 first messages against our daemon in isk-b from 1,000 spoofed source addresses
 * (added to namespace isk-a), while strongSwan charon (also in isk-a) speaks for 20 legitimate
 * peers (198.18.1.1 … 198.18.1.20, test/interop/flood-peers.ts) that keep connecting (issue 9, "What
 * must be shown"; item 7):
 *
 *   MM: Main Mode message 1 as fast as the flooder sends for 8 s (never fewer than the 20,000 MM1
 *       in 10 s this test always sent), against a `%any` Main Mode connection so that every MM1
 *       read makes half-open state. Meanwhile each of the 20 peers makes as many sequential
 *       up/down cycles as fit (Main Mode + Quick Mode with PFS, then Delete).
 *   AM: Aggressive Mode message 1 for a group name the daemon knows (a `%any` connection with
 *       `allow_aggressive_psk_responder` and a modp2048 proposal: a Diffie-Hellman key pair, a
 *       shared secret and HASH_R for every one answered), as fast as the flooder sends for 8 s.
 *       Peers 1–12 hold the Main Mode SA they made after the MM flood and cycle Aggressive Mode
 *       connections from the same address: a source with an established ISAKMP SA skips the
 *       engine's global bucket, so it is served first. Peers 13–20 cycle Main Mode (never
 *       rate-limited).
 *
 * Rate: 30,000 first messages per second, paced (the rate at which the issue reproduced a
 * responder at 100 % CPU and a legitimate peer locked out for 30 s); the flooder is one node
 * process (bench/load-flood.ts) on this 2-core machine, beside the daemon and charon. Two things
 * decide whether legitimate datagrams survive it:
 *   - the daemon's socket receive buffer: the daemon reads in bursts between its other work (a
 *     Diffie-Hellman answer, a garbage collection, a `status` call) and, on the shared cores, waits
 *     for CPU; with 4 MiB the kernel dropped 34,000–71,000 datagrams of a flood at the socket,
 *     legitimate ones included, and some losses are fatal: an Aggressive Mode message 3 lost is
 *     never repeated by charon (it sent its Quick Mode at once, which our responder cannot read
 *     without phase 1), so 86–97 % of Aggressive Mode tries succeeded. With the default of 32 MiB
 *     (`receive_buffer`) the kernel dropped none, and every try succeeded;
 *   - the daemon's memory: V8's young generation grew to 16 MiB semi-spaces under the flood's
 *     allocation rate and the peak RSS reached 146–162 MiB; the `isakmp` executable runs node with
 *     --max-semi-space-size=8 (its first line; Ours.start uses the same flags): 111–145 MiB.
 * The lines printed give each run's figures: datagrams read and dropped, the daemon's CPU seconds
 * during the flood, and each legitimate failure. ISAKMP_FLOOD_RATE=N (first messages per second)
 * changes the pace, for diagnosis; CI never sets it.
 *
 * A brand-new Aggressive Mode peer (no established SA from its address) cannot be told apart from
 * the spoofed sources: its first message competes for the global bucket (100 answers per second)
 * with everything the flood gets through to the engine, so it is answered with a chance of about
 * 100 / (AM1 read per second) per attempt. That is the design (docs/security.md item 7); it is
 * not asserted here.
 *
 * Each flood prints one line
 *   # flood <MM|AM>: <sent> first messages in <s> s (<rate>/s); legitimate success <ok>/<tries>
 *     (<pct> %); daemon peak RSS <MiB> MiB; RATE_LIMITED <n>
 * and asserts legitimate success ≥ 99 % and the daemon's peak RSS (VmHWM, reset before each flood)
 * ≤ 160 MiB. A legitimate try succeeds when charon's `swanctl --initiate` reports the CHILD_SA up
 * AND our daemon lists the IPsec SA with charon's SPIs. Half-open state is gone within 60 s after,
 * and the Main Mode SAs held through the Aggressive Mode flood survive.
 *
 * The daemon runs with the default limits (max_half_open 2048, 32 per peer; Aggressive Mode rate
 * 100/s burst 100 over all sources, 5/s burst 10 per source). About 90 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { A, B, Ours, ROOT, RUN, SCRIPTS, charon, interopSkipReason, script, sleep, until, type Run } from './peers.js';
import { GROUP, LEGIT_PEERS, charonConf, daemonConfig, peerAddress } from './flood-peers.js';

/** Documented bound (docs/performance.md, docs/security.md): the daemon's peak RSS under a flood. */
const FLOOD_RSS_BOUND = 160 * 1024 * 1024;
/** Legitimate success target (issue 9). */
const SUCCESS_TARGET = 0.99;
const SOURCES = 1000;
const FLOOD_SECONDS = 8;
/**
 * First messages per second of the flood: 30,000 (the rate at which the issue reproduced a
 * responder at 100 % CPU and a legitimate peer locked out for 30 s), or ISAKMP_FLOOD_RATE; 0 there
 * sends as fast as one node process can (how fast depends on the CPU the flooder gets, a
 * diagnostic: CI never sets it).
 */
const FLOOD_RATE = Number(process.env.ISAKMP_FLOOD_RATE ?? 30_000);

/** The flood kept its pace: at least 90 % of the planned messages (and never fewer than the 20,000 this test always sent). */
const MIN_SENT = Math.max(20_000, 0.9 * FLOOD_RATE * FLOOD_SECONDS);
const BASE = '198.18.4.0'; // 198.18.4.0 - 198.18.7.231 on isk-a's veth0
/** Peers 1..AM_PEERS hold a Main Mode SA and cycle Aggressive Mode during the AM flood; the others cycle Main Mode. */
const AM_PEERS = 12;

const skip = interopSkipReason();

function spoofed(): string[] {
  const out: string[] = [];
  for (let i = 0; i < SOURCES; i++) out.push(`198.18.${4 + (i >> 8)}.${i & 255}`);
  return out;
}

/** Messages per source for the flooder (0: as fast as it can send). */
function perSource(): number {
  return FLOOD_RATE > 0 ? Math.max(1, Math.round((FLOOD_RATE * FLOOD_SECONDS) / SOURCES)) : 0;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A command run without blocking the test's event loop (the samplers keep running), killed after `timeoutMs`. */
function runChild(command: string, args: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(command, [...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

/** interop/charon.sh without blocking the test's event loop (the samplers keep running). */
function charonSh(args: readonly string[], timeoutMs: number, extraEnv: Record<string, string> = {}): Promise<Run> {
  return runChild(join(SCRIPTS, 'charon.sh'), args, { PEERS_RUN: RUN, ...extraEnv }, timeoutMs);
}

/** Peak RSS of a process since the last reset (VmHWM), and a reset (clear_refs 5, Linux ≥ 4.0). */
function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}
function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** CPU seconds a process has used (user + system, /proc/PID/stat; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** UDP counters of a namespace (/proc/net/snmp): datagrams delivered to sockets, and dropped for a full receive buffer. */
function udpCounters(ns: string): { delivered: number; rcvbufErrors: number } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' });
  const [names, values] = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const row = new Map<string, number>();
  if (names && values) {
    const n = names.split(/\s+/);
    const v = values.split(/\s+/);
    for (let i = 1; i < n.length; i++) row.set(n[i]!, Number(v[i]));
  }
  return { delivered: row.get('InDatagrams') ?? 0, rcvbufErrors: row.get('RcvbufErrors') ?? 0 };
}

interface Tally {
  tries: number;
  ok: number;
  failures: string[];
  /** Seconds per try (up, checks and down). */
  seconds: number[];
}

/** swanctl against charon instance `a` directly (no shell in between: the legitimate side stays cheap). */
function swanctl(args: readonly string[], timeoutMs: number): Promise<Run> {
  const dir = join(RUN, 'charon-a');
  return runChild('swanctl', [...args, '--uri', `unix://${dir}/run/charon.vici`], { SWANCTL_DIR: join(dir, 'swanctl') }, timeoutMs);
}

/** Our daemon's `status`, fetched by one sampler for everyone (each request costs the daemon time). */
interface Snapshot {
  at: number;
  ipsec: { connection: string; spiIn: string; spiOut: string }[];
}

/**
 * One legitimate connection: charon initiates IKE + CHILD (its own retransmissions: 2 s, then ×1.8,
 * 3 times), and our daemon must list the IPsec SA with the SPIs charon reports (a lost Quick Mode
 * message 3 is recovered by our retransmitted message 2: up to 20 s). Returns undefined or why not.
 */
async function connectOnce(latest: () => Snapshot | undefined, ike: string, child: string, ourConn: string): Promise<string | undefined> {
  const up = await swanctl(['--initiate', '--ike', ike, '--child', child, '--timeout', '30'], 40_000);
  if (up.code !== 0) return `${ike}: swanctl --initiate rc ${up.code}: ${(up.out + up.err).trim().split('\n').slice(-1).join('')}`;
  const spis = /CHILD_SA \S+ established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o/.exec(up.out);
  if (!spis) return `${ike}: charon reported no CHILD_SA SPIs`;
  const [, theirIn, theirOut] = spis;
  const upAt = performance.now();
  const seen = await until(() => {
    const s = latest();
    return s !== undefined && s.at > upAt && s.ipsec.some((q) => q.connection === ourConn && q.spiOut === theirIn && q.spiIn === theirOut);
  }, 20_000, 100);
  return seen ? undefined : `${ike}: our daemon does not list the IPsec SA ${theirIn}/${theirOut}`;
}

/** Sequential up/down cycles of one charon connection while `flooding()` holds. */
async function cycles(latest: () => Snapshot | undefined, ike: string, child: string, ourConn: string, flooding: () => boolean, tally: Tally): Promise<void> {
  while (flooding()) {
    const t0 = performance.now();
    tally.tries++;
    const why = await connectOnce(latest, ike, child, ourConn);
    if (why === undefined) tally.ok++;
    else tally.failures.push(why);
    await swanctl(['--terminate', '--ike', ike, '--timeout', '5'], 20_000);
    tally.seconds.push((performance.now() - t0) / 1000);
  }
}

interface FloodRun {
  sent: number;
  seconds: number;
  rate: number;
  replies: number;
  peakRss: number;
  maxHalfOpen: number;
  rateLimited: number;
  /** Until the flooder exits: datagrams the daemon's namespace delivered to its sockets, and dropped because the daemon's receive buffer was full. */
  delivered: number;
  kernelDropped: number;
  /** CPU seconds the daemon used while the flooder ran. */
  daemonCpu: number;
  tallies: Record<string, Tally>;
}

/** Runs the flooder in isk-a and the legitimate cycles during it; samples the daemon. */
async function floodWithLegit(ours: Ours, kind: 'MM' | 'AM', legit: readonly { ike: string; child: string; ours: string }[]): Promise<FloodRun> {
  const pid = ours.proc.pid!; // `ip netns exec` execs: this is node's pid
  assert.match(readFileSync(`/proc/${pid}/comm`, 'utf8'), /node/, 'the daemon pid is node');
  const limited0 = ((await ours.status()).counters.dropped.RATE_LIMITED as number | undefined) ?? 0;
  const udp0 = udpCounters(B.ns);
  resetPeakRss(pid);
  let cpu0 = cpuSeconds(pid);
  let cpuEnd: number | undefined;
  const args = ['--target', `${B.ip}:500`, '--base', BASE, '--sources', String(SOURCES), '--per', String(perSource()), '--seconds', String(FLOOD_SECONDS)];
  if (kind === 'AM') args.push('--exchange', 'aggressive', '--id', GROUP);
  const flooder: ChildProcess = spawn('ip', ['netns', 'exec', A.ns, process.execPath, join(ROOT, 'build/test/interop/flooder.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let started!: () => void;
  const sending = new Promise<void>((r) => (started = r));
  flooder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  flooder.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.includes('flooder: sending')) started();
  });
  let running = true;
  let udpEnd: { delivered: number; rcvbufErrors: number } | undefined;
  flooder.stderr!.once('data', () => (cpu0 = cpuSeconds(pid)));
  const flooded = new Promise<number | null>((r) =>
    flooder.once('exit', (c) => {
      running = false;
      udpEnd = udpCounters(B.ns);
      cpuEnd = cpuSeconds(pid);
      started();
      r(c);
    }),
  );

  let maxHalfOpen = 0;
  let sampling = true;
  let snapshot: Snapshot | undefined;
  const sampler = (async () => {
    while (sampling) {
      try {
        const at = performance.now();
        const s = await ours.status();
        snapshot = { at, ipsec: s.ipsec };
        maxHalfOpen = Math.max(maxHalfOpen, s.negotiating.responder);
      } catch {
        /* busy: next round */
      }
      await sleep(250);
    }
  })();

  await sending;
  await sleep(300); // the flood is under way
  const tallies: Record<string, Tally> = {};
  await Promise.all(
    legit.map(async (l, i) => {
      const t: Tally = (tallies[l.ike] = { tries: 0, ok: 0, failures: [], seconds: [] });
      await sleep(100 * i); // not all 20 swanctl processes in the same instant
      return cycles(() => snapshot, l.ike, l.child, l.ours, () => running, t);
    }),
  );
  const code = await flooded;
  sampling = false;
  await sampler;
  assert.equal(code, 0, err);
  const fl = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; seconds: number; rate: number; replies: number };
  const limited = (((await ours.status()).counters.dropped.RATE_LIMITED as number | undefined) ?? 0) - limited0;
  const udp1 = udpEnd ?? udpCounters(B.ns);
  return { ...fl, peakRss: peakRss(pid), maxHalfOpen, rateLimited: limited, delivered: udp1.delivered - udp0.delivered, kernelDropped: udp1.rcvbufErrors - udp0.rcvbufErrors, daemonCpu: (cpuEnd ?? cpuSeconds(pid)) - cpu0, tallies };
}

function report(kind: 'MM' | 'AM', r: FloodRun): { ok: number; tries: number } {
  const ok = Object.values(r.tallies).reduce((a, t) => a + t.ok, 0);
  const tries = Object.values(r.tallies).reduce((a, t) => a + t.tries, 0);
  const pct = tries === 0 ? 0 : (100 * ok) / tries;
  console.log(
    `flood ${kind}: ${r.sent} first messages in ${r.seconds.toFixed(1)} s (${r.rate}/s); legitimate success ${ok}/${tries} (${pct.toFixed(1)} %); daemon peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB; RATE_LIMITED ${r.rateLimited}`,
  );
  const each = Object.entries(r.tallies).map(([k, t]) => `${k} ${t.ok}/${t.tries} (${t.seconds.map((x) => x.toFixed(1)).join(' ')} s)`);
  console.log(`  ${kind} detail: ${each.join(', ')}; ${r.replies} answers to the flooder; max half-open seen ${r.maxHalfOpen}; during the flood the daemon read ${r.delivered} datagrams (${Math.round(r.delivered / r.seconds)}/s), the kernel dropped ${r.kernelDropped} at its socket (receive buffer full); daemon CPU ${r.daemonCpu.toFixed(1)} s`);
  for (const t of Object.values(r.tallies)) for (const f of t.failures) console.log(`  ${kind} legitimate failure: ${f}`);
  return { ok, tries };
}

/** A legitimate connection of peer k: charon's and our daemon's name, and the charon child. */
const mm = (k: number) => ({ ike: `mm-${k}`, child: 'pfs', ours: `mm-${k}` });
const am = (k: number) => ({ ike: `am-${k}`, child: 'host', ours: `am-${k}` });

describe('floods of Main Mode and Aggressive Mode first messages from 1,000 spoofed sources', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(() => {
    assert.equal(script('netns.sh', ['up']).code, 0);
    const legit = range(1, LEGIT_PEERS).map(peerAddress);
    const batch = [...spoofed(), ...legit].map((a) => `addr add ${a}/32 dev veth0`).join('\n') + '\n';
    const r = spawnSync('ip', ['-n', A.ns, '-batch', '-'], { input: batch, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const net of ['198.18.4.0/22', '198.18.1.0/24']) {
      const rt = spawnSync('ip', ['-n', B.ns, 'route', 'replace', net, 'dev', 'veth0'], { encoding: 'utf8' });
      assert.equal(rt.status, 0, rt.stderr);
    }
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('Main Mode flood: the legitimate peers keep connecting, memory stays bounded', async () => {
    ours = await Ours.start('flood', B.ns, (sock) => daemonConfig(sock, B.ip));
    // one VICI initiate holds one charon thread until the CHILD_SA is up: 20 at once need more than
    // the default 16 threads, or charon itself stops processing the handshakes. Its log at the
    // level of packets and retransmissions only (not keys): the CPU is the daemon's to use.
    const st = await charonSh(['start', 'a', A.ns], 30_000, { CHARON_EXTRA: 'threads = 64', CHARON_LOG: 'default=1 ike=1 chd=1 cfg=1 knl=1 net=1 enc=0 esp=1 mgr=0' });
    assert.equal(st.code, 0, st.err);
    const conf = join(RUN, 'flood-peers.conf');
    writeFileSync(conf, charonConf(B.ip));
    const ld = script('charon.sh', ['load', 'a', conf]);
    assert.equal(ld.code, 0, ld.err + ld.out);

    const r = await floodWithLegit(ours, 'MM', range(1, LEGIT_PEERS).map(mm));
    const { ok, tries } = report('MM', r);
    assert.ok(r.sent >= MIN_SENT, `only ${r.sent} MM1 sent`);
    assert.ok(r.seconds <= 10, `flood took ${r.seconds} s`);
    assert.ok(tries >= LEGIT_PEERS, `only ${tries} legitimate tries during the flood`);
    assert.ok(ok >= SUCCESS_TARGET * tries, `legitimate success ${ok}/${tries} under ${SUCCESS_TARGET * 100} %`);
    assert.ok(r.peakRss <= FLOOD_RSS_BOUND, `peak RSS ${r.peakRss} B exceeds the documented bound ${FLOOD_RSS_BOUND} B`);
  });

  test('Aggressive Mode flood: answers are rate-limited, established peers and Main Mode peers get through', async () => {
    assert.ok(ours, 'the daemon runs (Main Mode flood test)');
    // peers 1..12 make a Main Mode SA and keep it: the established SA their Aggressive Mode
    // connections come beside
    const anchors = await Promise.all(range(1, AM_PEERS).map((k) => charonSh(['up', 'a', `mm-${k}`, 'pfs', '30'], 40_000)));
    anchors.forEach((u, i) => assert.equal(u.code, 0, `mm-${i + 1} could not connect:\n${u.out}${u.err}`));
    const st0 = await ours.status();
    for (const k of range(1, AM_PEERS)) assert.ok(st0.isakmp.some((x: any) => x.connection === `mm-${k}` && x.state === 'established'), `the Main Mode SA of peer ${k} is established`);

    const r = await floodWithLegit(ours, 'AM', [...range(1, AM_PEERS).map(am), ...range(AM_PEERS + 1, LEGIT_PEERS).map(mm)]);
    const { ok, tries } = report('AM', r);
    assert.ok(r.sent >= MIN_SENT, `only ${r.sent} AM1 sent`);
    assert.ok(r.seconds <= 10, `flood took ${r.seconds} s`);
    assert.ok(tries >= LEGIT_PEERS, `only ${tries} legitimate tries during the flood`);
    assert.ok(ok >= SUCCESS_TARGET * tries, `legitimate success ${ok}/${tries} under ${SUCCESS_TARGET * 100} %`);
    assert.ok(r.peakRss <= FLOOD_RSS_BOUND, `peak RSS ${r.peakRss} B exceeds the documented bound ${FLOOD_RSS_BOUND} B`);
    // the flood was answered only within the rate (100/s over all sources, burst 100); the rest
    // was refused before any Diffie-Hellman work (an answer sent in IKE fragments counts once:
    // the flooder announces fragmentation and our Aggressive Mode message 2 exceeds fragment_size)
    assert.ok(r.rateLimited > 0, 'the flood hit the rate limit');
    assert.ok(r.replies <= 100 + 100 * (r.seconds + 1), `${r.replies} answers to the flooder: more than the global rate allows`);

    // half-open state expires (engine: 30 s); the Main Mode SAs held through the flood survive
    const cleared = await until(async () => (await ours!.status()).negotiating.responder === 0, 60_000, 1000);
    assert.ok(cleared, `half-open SAs left: ${JSON.stringify((await ours.status()).negotiating)}`);
    const end = await ours.status();
    for (const k of range(1, AM_PEERS)) assert.equal(end.isakmp.filter((x: any) => x.connection === `mm-${k}` && x.state === 'established').length, 1, `the Main Mode SA of peer ${k} survives`);
  });
});
