/**
 * Metrics by the Prometheus rules: the exchange counters are consistent by construction (a start
 * is never missing for an outcome, whatever the order of events), and a real scenario — two
 * daemons with the real engine on loopback: Main Mode + Quick Mode with PFS, a Quick Mode rekey,
 * a Quick Mode the peer refuses — scraped over HTTP from both sides adds up: what one side sent the
 * other received, started ≥ completed + failed per exchange, the SA gauges match `status`, per
 * connection, with build info and process metrics; and the families are exactly docs/daemon.md's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { runCli } from '../../src/cli/run.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Counters, EXCHANGE_NAMES, type ExchangeName } from '../../src/daemon/counters.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { METRIC_FAMILIES } from '../../src/daemon/metrics.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import type { StatusData } from '../../src/daemon/status.js';
import { EventLog, freeTcpPort, freeUdpPorts, tempDir } from './helpers.js';

interface Sample { readonly name: string; readonly labels: Record<string, string>; readonly value: number }
interface Scrape { readonly samples: Sample[]; readonly types: Map<string, string>; readonly helps: Map<string, string> }

/** A small reader of the Prometheus text format (0.0.4): HELP, TYPE and sample lines. */
function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? helps : types).set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types, helps };
}

/** The value of one series (0 when absent: a counter not yet seen). */
function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const hit = s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length);
  assert.ok(hit.length <= 1, `one series ${name}${JSON.stringify(labels)}`);
  return hit[0]?.value ?? 0;
}
const sum = (s: Scrape, name: string, labels: Record<string, string> = {}): number =>
  s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);

describe('exchange counters: started is never behind completed + failed', () => {
  const finishedOf = (c: Counters, x: ExchangeName): number => {
    const b = c.snapshot({}, {}).exchanges.byExchange;
    return b.completed[x] + Object.values(b.failed[x]).reduce((a, v) => a + v, 0);
  };
  test('our initiations, the peer\'s, the engine\'s own rekeys: every order of events keeps the invariant', () => {
    const op = fc.record({
      kind: fc.constantFrom('initiated', 'completed', 'failed'),
      exchange: fc.constantFrom<ExchangeName>(...EXCHANGE_NAMES),
      connection: fc.constantFrom('a', 'b', 'gone'),
    });
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const c = new Counters();
      let outcomes = 0;
      for (const o of ops) {
        if (o.kind === 'initiated') c.initiated(o.exchange, o.connection);
        else {
          outcomes++;
          c.finished(o.exchange, o.connection, o.kind === 'completed' ? { result: 'completed' } : { result: 'failed', notify: 'NO_PROPOSAL_CHOSEN' });
        }
        const s = c.snapshot({}, {}).exchanges;
        for (const x of EXCHANGE_NAMES) assert.ok(s.byExchange.started[x] >= finishedOf(c, x), `${x} after ${JSON.stringify(o)}`);
        assert.ok(s.started.isakmp >= s.completed.isakmp + Object.values(s.failed.isakmp).reduce((a, v) => a + v, 0));
        assert.ok(s.started.ipsec >= s.completed.ipsec + Object.values(s.failed.ipsec).reduce((a, v) => a + v, 0));
      }
      const total = c.snapshot({}, {}).exchanges.byExchange;
      assert.equal(EXCHANGE_NAMES.reduce((a, x) => a + finishedOf(c, x), 0), outcomes);
      // an initiation followed by its outcome is one exchange, not two
      assert.ok(EXCHANGE_NAMES.reduce((a, x) => a + total.started[x], 0) <= ops.length);
    }));
  });
  test('an initiation and its outcome count one start; an outcome alone counts its own', () => {
    const c = new Counters();
    c.initiated('main', 'a');
    c.finished('main', 'a', { result: 'completed' });
    c.finished('main', 'a', { result: 'completed' }); // the engine's rekey
    c.finished('quick', 'a', { result: 'failed', notify: 'NO_NOTIFY' });
    const s = c.snapshot({}, {}).exchanges;
    assert.deepEqual(s.byExchange.started, { main: 2, aggressive: 0, quick: 1 });
    assert.deepEqual(s.byExchange.completed, { main: 2, aggressive: 0, quick: 0 });
    assert.deepEqual(s.failed, { isakmp: {}, ipsec: { NO_NOTIFY: 1 } });
    assert.deepEqual([s.started.isakmp, s.completed.isakmp, s.started.ipsec], [2, 2, 1]);
  });
});

function conf(o: { port: number; peer: number; sock: string; metrics: number; me: string; other: string; bad?: boolean }): string {
  return `global:
  listen: ["127.0.0.1"]
  port: ${o.port}
  natt_port: 0
  control_socket: ${o.sock}
  metrics: 127.0.0.1:${o.metrics}
secrets:
  k:
    psk: "metrics-scenario-shared-secret-0123456789"
connections:
  to-${o.other}:
    secret: k
    local:  { address: "127.0.0.1", id: "@${o.me}.test" }
    remote: { address: "127.0.0.1", port: ${o.peer}, id: "@${o.other}.test" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256-modp2048
    lifetime: 1h
    ike_lifetime: 4h
${o.bad === true ? `  refused:
    secret: k
    local:  { address: "127.0.0.1", id: "@${o.me}2.test" }
    remote: { address: "127.0.0.1", port: ${o.peer}, id: "@${o.other}2.test" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
` : `  to-${o.other}2:
    secret: k
    local:  { address: "127.0.0.1", id: "@${o.me}2.test" }
    remote: { address: "127.0.0.1", port: ${o.peer}, id: "@${o.other}2.test" }
    ike: aes128-sha256-modp2048
    esp: aes256-sha512
`}`;
}

async function scrape(port: number): Promise<{ text: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return { text: await res.text(), type: res.headers.get('content-type') };
}

test('a real scenario between two daemons, scraped from both sides, adds up', async () => {
  const dir = tempDir('isakmp-metrics-');
  const [lp, rp] = await freeUdpPorts(2);
  const [lm, rm] = [await freeTcpPort(), await freeTcpPort()];
  const lsock = join(dir, 'l.sock');
  const rsock = join(dir, 'r.sock');
  const mk = (text: string, file: string, ev: EventLog): Daemon => {
    writeFileSync(file, text, { mode: 0o600 });
    return new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }), onEvent: ev.push });
  };
  const lev = new EventLog();
  const rev = new EventLog();
  const right = mk(conf({ port: rp!, peer: lp!, sock: rsock, metrics: rm!, me: 'right', other: 'left' }), join(dir, 'r.yaml'), rev);
  const left = mk(conf({ port: lp!, peer: rp!, sock: lsock, metrics: lm!, me: 'left', other: 'right', bad: true }), join(dir, 'l.yaml'), lev);
  await right.start();
  await left.start();
  const cli = async (...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out, err };
  };
  try {
    // Main Mode + Quick Mode with PFS
    let r = await cli('up', 'to-right', '--socket', lsock, '--timeout', '10');
    assert.equal(r.code, 0, r.err.join('\n'));
    await rev.wait((e) => e.type === 'ipsec-sa-established', 'right: IPsec SA');
    // a Quick Mode rekey of the IPsec SA, by its id
    const qid = left.status().ipsec[0]!.id;
    r = await cli('rekey', qid, '--socket', lsock);
    assert.equal(r.code, 0, r.err.join('\n'));
    await lev.wait((e) => e.type === 'rekeyed' && e.kind === 'ipsec', 'left: IPsec SA rekeyed');
    await rev.wait(() => rev.events.filter((e) => e.type === 'ipsec-sa-established').length === 2, 'right: the new IPsec SA');
    // a Quick Mode the peer refuses (no ESP proposal it accepts), after a phase 1 that works
    r = await cli('up', 'refused', '--socket', lsock, '--timeout', '10');
    assert.equal(r.code, 4, 'refused by the peer (issue 10 exit codes)');
    await lev.wait((e) => e.type === 'failed' && e.kind === 'ipsec' && e.connection === 'refused', 'left: refused Quick Mode failed');
    // let the last datagrams land (loopback: nothing is in flight after this)
    await new Promise((res) => setTimeout(res, 200));

    const lt = await scrape(lm!);
    const rt = await scrape(rm!);
    assert.equal(lt.type, 'text/plain; version=0.0.4; charset=utf-8');
    const L = parseExposition(lt.text);
    const R = parseExposition(rt.text);
    const lst = (await cli('status', '--json', '--socket', lsock)).out.join('\n');
    const rst = (await cli('status', '--json', '--socket', rsock)).out.join('\n');
    const ls = JSON.parse(lst) as StatusData;
    const rs = JSON.parse(rst) as StatusData;

    // the families: exactly docs/daemon.md's list and METRIC_FAMILIES, each with HELP and TYPE, one unit each
    const doc = readFileSync('docs/daemon.md', 'utf8');
    const documented = [...doc.matchAll(/^\| `(isakmp_[a-z_]+)` \| (counter|gauge) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const ours = [...L.types].filter(([n]) => n.startsWith('isakmp_')).map(([n, t]) => `${n} ${t}`).sort();
    assert.deepEqual(ours, METRIC_FAMILIES.map((f) => `${f.name} ${f.type}`).sort());
    assert.deepEqual(documented, ours, 'docs/daemon.md lists every family with its type');
    for (const [n, t] of L.types) {
      assert.ok(L.helps.get(n), `HELP for ${n}`);
      if (!n.startsWith('isakmp_')) continue; // prom-client's own names are its business
      if (t === 'counter') assert.match(n, /_total$/, `${n}: a counter ends in _total`);
      else assert.doesNotMatch(n, /_total$/, `${n}: only counters end in _total`);
    }
    assert.ok(!L.samples.some((x) => x.name === 'isakmp_transport_total'), 'no family mixing packets and bytes');
    for (const x of L.samples.filter((y) => y.name.startsWith('isakmp_'))) {
      const fam = METRIC_FAMILIES.find((f) => f.name === x.name)!;
      for (const k of Object.keys(x.labels)) assert.ok(fam.labels.includes(k), `${x.name}: label ${k} declared`);
    }

    // what one side sent, the other received: packets and bytes, both ways
    for (const [a, b] of [[L, R], [R, L]] as const) {
      assert.equal(value(a, 'isakmp_packets_sent_total', { kind: 'isakmp' }), value(b, 'isakmp_packets_received_total', { kind: 'isakmp' }));
      assert.equal(value(a, 'isakmp_bytes_sent_total'), value(b, 'isakmp_bytes_received_total'));
      assert.equal(value(a, 'isakmp_send_errors_total'), 0);
    }
    // left: Main Mode 3, Quick Mode 2 (QM1, QM3), the rekey's 2 and the Delete of the old IPsec SA,
    // then 'refused': Main Mode 3 and QM1; right: 3 + 1 + 1, then 3 and the protected NO_PROPOSAL_CHOSEN
    assert.equal(value(L, 'isakmp_packets_sent_total', { kind: 'isakmp' }), 3 + 2 + 2 + 1 + 3 + 1);
    assert.equal(value(R, 'isakmp_packets_sent_total', { kind: 'isakmp' }), 3 + 1 + 1 + 3 + 1);
    // the transport numbers of status --json are the same counts
    assert.equal(ls.counters.transport.packetsOut, 12);
    assert.equal(ls.counters.transport.bytesOut, value(L, 'isakmp_bytes_sent_total'));

    // exchanges: started ≥ completed + failed for every exchange, on both sides
    for (const S of [L, R]) {
      for (const x of EXCHANGE_NAMES) {
        const finished = sum(S, 'isakmp_exchanges_finished_total', { exchange: x });
        assert.ok(value(S, 'isakmp_exchanges_started_total', { exchange: x }) >= finished, `${x}: started ≥ finished`);
      }
    }
    // left: two Main Modes completed; Quick Modes: isakmp up, the rekey (each counted when the
    // engine starts it), 'refused' (failed with the peer's protected notify)
    assert.equal(value(L, 'isakmp_exchanges_started_total', { exchange: 'main' }), 2);
    assert.equal(value(L, 'isakmp_exchanges_finished_total', { exchange: 'main', result: 'completed' }), 2);
    assert.equal(value(L, 'isakmp_exchanges_started_total', { exchange: 'quick' }), 3);
    assert.equal(value(L, 'isakmp_exchanges_finished_total', { exchange: 'quick', result: 'completed' }), 2);
    assert.equal(value(L, 'isakmp_exchanges_finished_total', { exchange: 'quick', result: 'failed', notify: 'NO_PROPOSAL_CHOSEN' }), 1);
    assert.equal(value(L, 'isakmp_exchanges_started_total', { exchange: 'aggressive' }), 0);
    // right answered: two Main Modes and two Quick Modes completed; the refused QM1 was dropped with its notify
    assert.equal(value(R, 'isakmp_exchanges_started_total', { exchange: 'main' }), 2);
    assert.equal(value(R, 'isakmp_exchanges_finished_total', { exchange: 'main', result: 'completed' }), 2);
    assert.equal(value(R, 'isakmp_exchanges_started_total', { exchange: 'quick' }), 2);
    assert.equal(value(R, 'isakmp_exchanges_finished_total', { exchange: 'quick', result: 'completed' }), 2);
    assert.equal(value(R, 'isakmp_packets_dropped_total', { reason: 'NO_PROPOSAL_CHOSEN' }), 1);
    assert.equal(value(L, 'isakmp_sas_rekeyed_total', { kind: 'ipsec' }), 1);
    assert.equal(value(L, 'isakmp_sas_deleted_total', { kind: 'ipsec' }), 1);
    assert.equal(value(R, 'isakmp_sas_deleted_total', { kind: 'ipsec' }), 1);
    // status --json says the same
    assert.deepEqual(ls.counters.exchanges.byExchange.started, { main: 2, aggressive: 0, quick: 3 });
    assert.deepEqual([ls.counters.exchanges.started.isakmp, ls.counters.exchanges.completed.isakmp], [2, 2]);
    assert.deepEqual([ls.counters.exchanges.started.ipsec, ls.counters.exchanges.completed.ipsec], [3, 2]);
    assert.deepEqual(ls.counters.exchanges.failed.ipsec, { NO_PROPOSAL_CHOSEN: 1 });
    assert.deepEqual(rs.counters.dropped, { NO_PROPOSAL_CHOSEN: 1 });

    // SA gauges: as status shows them, in total and per connection
    for (const [S, st] of [[L, ls], [R, rs]] as const) {
      for (const kind of ['isakmp', 'ipsec'] as const) {
        const states = new Map<string, number>();
        for (const sa of st[kind]) states.set(sa.state, (states.get(sa.state) ?? 0) + 1);
        for (const [state, n] of states) assert.equal(value(S, 'isakmp_sas', { kind, state }), n, `${kind} ${state}`);
        assert.equal(sum(S, 'isakmp_sas', { kind }), st[kind].length);
      }
    }
    assert.equal(value(L, 'isakmp_connection_sas', { connection: 'to-right', kind: 'isakmp', state: 'established' }), 1);
    assert.equal(value(L, 'isakmp_connection_sas', { connection: 'to-right', kind: 'ipsec', state: 'established' }), 1);
    assert.equal(value(L, 'isakmp_connection_sas', { connection: 'to-right', kind: 'ipsec', state: 'rekeyed' }), ls.ipsec.filter((s) => s.state === 'rekeyed').length);
    assert.equal(value(L, 'isakmp_connection_up', { connection: 'to-right' }), 1);
    assert.equal(value(L, 'isakmp_connection_up', { connection: 'refused' }), 0);
    assert.equal(sum(L, 'isakmp_connection_sas', { connection: 'refused' }), 1, 'its ISAKMP SA, no IPsec SA');
    assert.equal(value(L, 'isakmp_connection_sas', { connection: 'refused', kind: 'isakmp', state: 'established' }), 1);
    const ipsecLeft = value(L, 'isakmp_connection_lifetime_remaining_seconds', { connection: 'to-right', kind: 'ipsec' });
    const ikeLeft = value(L, 'isakmp_connection_lifetime_remaining_seconds', { connection: 'to-right', kind: 'isakmp' });
    assert.ok(ipsecLeft > 3500 && ipsecLeft <= 3600, `IPsec lifetime left ${ipsecLeft}`);
    assert.ok(ikeLeft > 4 * 3600 - 100 && ikeLeft <= 4 * 3600, `ISAKMP lifetime left ${ikeLeft}`);
    assert.ok(!L.samples.some((x) => x.name === 'isakmp_connection_lifetime_remaining_seconds' && x.labels.connection === 'refused' && x.labels.kind === 'ipsec'), 'no IPsec lifetime without an IPsec SA');
    assert.equal(value(L, 'isakmp_half_open'), 0);

    // build info and process metrics
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(value(L, 'isakmp_build_info', { version: pkg.version, nodejs: process.version }), 1);
    for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds']) {
      assert.ok(L.samples.some((x) => x.name === n && x.value > 0), n);
    }
    assert.equal((await fetch(`http://127.0.0.1:${lm}/other`)).status, 404);
  } finally {
    await left.stop();
    await right.stop();
  }
});
