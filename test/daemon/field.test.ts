/**
 * Issue 10, the daemon with the real engine on loopback: several subnets and several connections
 * to one peer (one ISAKMP SA, one IPsec SA per selector pair; `isakmp status NAME`), `isakmp up`
 * idempotent, counters that add up, the trace of every message and DPD at debug, and a stopping
 * daemon that answers no new exchange.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { formatStatus } from '../../src/cli/control.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import type { StatusData } from '../../src/daemon/status.js';
import { EventLog, freeUdpPorts, tempDir } from './helpers.js';

/** Two connections to the peer: `web` with two subnets on each side (4 pairs) and `db` with one pair. */
function conf(o: { port: number; natt: number; peer: number; peerNatt: number; sock: string; me: 'l' | 'r' }): string {
  const mine = o.me === 'l' ? '10.1' : '10.2';
  const theirs = o.me === 'l' ? '10.2' : '10.1';
  return `global:
  listen: [127.0.0.1]
  port: ${o.port}
  natt_port: ${o.natt}
  control_socket: ${o.sock}
  shutdown_grace: 1s
secrets:
  k: { psk: "field test secret", allow_weak_psk: true }
connections:
  web:
    secret: k
    local:  { address: 127.0.0.1, id: "@${o.me}.test" }
    remote: { address: 127.0.0.1, port: ${o.peer}, id: "@${o.me === 'l' ? 'r' : 'l'}.test" }
    ike: aes128-sha256-modp2048
    esp: aes128gcm16
    local_ts: [${mine}.1.0/24, ${mine}.2.0/24]
    remote_ts: [${theirs}.1.0/24, ${theirs}.2.0/24]
    dpd_delay: 1s
  db:
    secret: k
    local:  { address: 127.0.0.1, id: "@${o.me}.test" }
    remote: { address: 127.0.0.1, port: ${o.peer}, id: "@${o.me === 'l' ? 'r' : 'l'}.test" }
    ike: aes128-sha256-modp2048
    ah: sha256
    local_ts: ${mine}.9.0/24
    remote_ts: ${theirs}.9.0/24
`;
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

async function pair(levels: { l?: 'info' | 'debug' | 'trace'; r?: 'info' | 'debug' | 'trace' } = {}) {
  const dir = tempDir('isakmp-field-');
  const [lp, ln, rp, rn] = await freeUdpPorts(4);
  const logs = { l: [] as Record<string, unknown>[], r: [] as Record<string, unknown>[] };
  const ev = { l: new EventLog(), r: new EventLog() };
  const mk = (me: 'l' | 'r', text: string): Daemon => {
    const file = join(dir, `${me}.yaml`);
    writeFileSync(file, text);
    return new Daemon({
      config: parseConfig(text, file),
      endpointFactory: realEndpointFactory,
      logger: new Logger({ level: levels[me] ?? 'info', areas: {}, format: 'json', write: (x) => logs[me].push(JSON.parse(x) as Record<string, unknown>) }),
      onEvent: ev[me].push,
    });
  };
  const r = mk('r', conf({ port: rp!, natt: rn!, peer: lp!, peerNatt: ln!, sock: join(dir, 'r.sock'), me: 'r' }));
  const l = mk('l', conf({ port: lp!, natt: ln!, peer: rp!, peerNatt: rn!, sock: join(dir, 'l.sock'), me: 'l' }));
  await r.start();
  await l.start();
  return { dir, l, r, logs, ev, lsock: join(dir, 'l.sock'), rsock: join(dir, 'r.sock') };
}

test('two connections to one peer, one with four subnet pairs (AES-GCM), one with AH: one ISAKMP SA, five IPsec SAs, status NAME, counters that add up', async () => {
  const p = await pair();
  try {
    let c = io();
    assert.equal(await runCli(['up', 'web', '--socket', p.lsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
    assert.equal(c.out.filter((x) => x.startsWith('Quick Mode done')).length, 4);
    assert.equal(c.out.at(-1), "connection 'web' established");
    // db from the other side, under the ISAKMP SA the left negotiated
    c = io();
    assert.equal(await runCli(['up', 'db', '--socket', p.rsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
    assert.ok(!c.out.some((x) => x.startsWith('MM1')), `no new phase 1: ${c.out.join(' | ')}`);
    await p.ev.l.wait((e) => e.type === 'ipsec-sa-established' && e.sa.connection === 'db', 'left: db');
    for (const d of [p.l, p.r]) {
      const st = d.status();
      assert.equal(st.isakmp.length, 1, JSON.stringify(st.isakmp));
      assert.equal(st.ipsec.length, 5);
      assert.deepEqual(st.ipsec.filter((q) => q.connection === 'web').map((q) => q.algorithms), Array(4).fill('esp aes128gcm16'));
      assert.deepEqual(st.ipsec.filter((q) => q.connection === 'db').map((q) => q.algorithms), ['ah sha256']);
      assert.ok(st.ipsec.every((q) => q.isakmpSa === st.isakmp[0]!.id));
    }
    assert.deepEqual(p.l.status().ipsec.filter((q) => q.connection === 'web').map((q) => `${q.localTs} === ${q.remoteTs}`).sort(), [
      '10.1.1.0/24 === 10.2.1.0/24',
      '10.1.1.0/24 === 10.2.2.0/24',
      '10.1.2.0/24 === 10.2.1.0/24',
      '10.1.2.0/24 === 10.2.2.0/24',
    ]);
    // up again: both up, nothing negotiated
    c = io();
    assert.equal(await runCli(['up', 'web', '--socket', p.lsock], c.io), 0);
    assert.deepEqual(c.out, ["connection 'web' is already up (4 IPsec SAs; 'isakmp rekey web' negotiates new keys)"]);
    // status NAME: db and the ISAKMP SA that carries it (negotiated for web)
    c = io();
    assert.equal(await runCli(['status', 'db', '--json', '--socket', p.lsock], c.io), 0, c.err.join('\n'));
    const one = JSON.parse(c.out.join('\n')) as StatusData;
    assert.deepEqual(one.connections.map((x) => x.name), ['db']);
    assert.deepEqual(one.ipsec.map((q) => q.connection), ['db']);
    assert.deepEqual(one.isakmp.map((s) => s.connection), ['web']);
    c = io();
    assert.equal(await runCli(['status', 'nope', '--socket', p.lsock], c.io), 1);
    assert.match(c.err[0]!, /no connection named 'nope' \(configured: web, db\)/);
    // rekey one IPsec SA: counted as started, completed; the counters add up on both sides
    const q = p.l.status().ipsec.find((x) => x.connection === 'db')!;
    c = io();
    assert.equal(await runCli(['rekey', q.id, '--socket', p.lsock], c.io), 0);
    await p.ev.l.wait((e) => e.type === 'rekeyed' && e.kind === 'ipsec' && e.old === q.id, 'left: db rekeyed');
    await new Promise((res) => setTimeout(res, 200));
    for (const d of [p.l, p.r]) {
      const k = d.snapshot().exchanges;
      for (const kind of ['isakmp', 'ipsec'] as const) {
        const failed = Object.values(k.failed[kind]).reduce((a, b) => a + b, 0);
        assert.equal(k.started[kind], k.completed[kind] + failed, `${kind}: ${JSON.stringify(k)}`);
      }
    }
    assert.equal(p.l.snapshot().exchanges.started.ipsec, 6, 'web 4 + db (ours: 1 rekey)');
    assert.equal(p.l.snapshot().exchanges.completed.ipsec, 6);
    const text = formatStatus(p.l.status());
    assert.ok(text.includes('    IPsec SAs (5):'), text.join('\n'));
    assert.ok(text.some((x) => /^exchanges: phase 1 started 1 = completed 1 \+ failed 0 \+ in progress 0; quick mode started 6 = completed 6 \+ failed 0 \+ in progress 0; rekeyed 0 ISAKMP, 1 IPsec$/.test(x)), text.join('\n'));
  } finally {
    await p.l.stop();
    await p.r.stop();
  }
});

test('the trace shows each message as its payload list; retransmissions and DPD at debug, nothing of them at info', async () => {
  const p = await pair({ l: 'trace', r: 'info' });
  try {
    const c = io();
    assert.equal(await runCli(['up', 'web', '--socket', p.lsock, '--timeout', '10'], c.io), 0, c.err.join('\n'));
    const msgs = p.logs.l.filter((x) => x.level === 'trace' && x.area === 'ike').map((x) => String(x.msg));
    assert.deepEqual(msgs.slice(0, 6), [
      'MM1 out [SA VID VID VID]',
      'MM2 in [SA VID VID VID]',
      'MM3 out [KE NONCE NAT-D NAT-D]',
      'MM4 in [KE NONCE NAT-D NAT-D]',
      'MM5 out [ID HASH N(INITIAL_CONTACT)]',
      'MM6 in [ID HASH]',
    ]);
    // four selector pairs: four Quick Modes
    const count = (m: string): number => msgs.filter((x) => x === m).length;
    assert.deepEqual([count('QM1 out [HASH SA NONCE ID ID]'), count('QM2 in [HASH SA NONCE ID ID]'), count('QM3 out [HASH]')], [4, 4, 4]);
    // DPD every second on the ISAKMP SA of web: both sides probe, the other answers
    await new Promise((res) => setTimeout(res, 2500));
    // (the startup line about a receive buffer the kernel capped, without root, is not chatter)
    const rInfo = p.logs.r.filter((x) => (x.level === 'info' || x.level === 'warn') && !/of receive buffer, not the/.test(String(x.msg))).map((x) => String(x.msg));
    assert.ok(!rInfo.some((m) => /R-U-THERE|DPD|retransmit|datagram/.test(m)), rInfo.join('\n'));
    const lDebug = p.logs.l.filter((x) => x.level === 'debug').map((x) => String(x.msg));
    assert.ok(lDebug.some((m) => m === 'DPD: R-U-THERE-ACK' || m === 'DPD: R-U-THERE answered'), lDebug.join('\n'));
    assert.ok(p.logs.l.some((x) => x.level === 'trace' && String(x.msg).startsWith('INFO out [HASH N(R_U_THERE)')), 'the probes are in the trace');
  } finally {
    await p.l.stop();
    await p.r.stop();
  }
});

test('stopping: once its Deletes are out the daemon answers no new exchange (a peer that re-initiates at once gets nothing)', async () => {
  const p = await pair();
  try {
    assert.equal(await runCli(['up', 'db', '--socket', p.lsock, '--timeout', '10'], io().io), 0);
    const stopping = p.r.stop();
    // the left learns from the Deletes and negotiates again at once
    await p.ev.l.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.by === 'peer', 'left: Delete from the stopping right');
    const before = p.ev.r.events.length;
    p.l.initiate('db');
    await stopping;
    await new Promise((res) => setTimeout(res, 100));
    assert.ok((p.r.snapshot().dropped.SHUTTING_DOWN ?? 0) >= 1, JSON.stringify(p.r.snapshot().dropped));
    assert.equal(p.ev.r.events.slice(before).filter((e) => e.type === 'started' || e.type === 'phase1-established').length, 0, 'no new exchange on the stopping side');
    assert.equal(p.l.status().isakmp.filter((s) => s.state === 'established').length, 0);
  } finally {
    await p.l.stop();
    await p.r.stop();
  }
});
