/**
 * The load generator's SAs, held (issue 15, failover): opens N Main Mode PSK + Quick Mode
 * handshakes like bench/load-gen.ts (its engine Connection, one sans-IO Endpoint per SA over a
 * few UDP sockets, replies routed by the initiator cookie), keeps every SA, and then takes
 * commands on stdin, one per line, answering one JSON line each on stdout:
 *
 *   (start)        {"phase":"up","established":N,"failed":F,"seconds":S}
 *   probe S        RFC 3706 R-U-THERE on every SA (again every second) until each is answered or
 *                  S seconds passed; every 100 ms meanwhile one more SA probes (a canary whose
 *                  ACK counts whenever it comes), so the first answer is timed closely:
 *                  {"phase":"probed","acked":A,"unanswered":U,"firstAckAt":UNIX_MS}
 *   rekey K S      a Quick Mode rekey of the IPsec SA of K SAs (S seconds at most):
 *                  {"phase":"rekeyed","ok":O,"failed":F,"newPhase1":P}
 *   quit
 *
 * An SA that does not answer after a failover would need a new phase 1 (`unanswered`); a rekey
 * that started one is counted in `newPhase1`. Bounded in count and time; traffic goes only to the
 * target given (a namespace address in the tests).
 *
 *   node build/bench/load-hold.js --target 198.18.0.10:500 --source 198.18.0.2 --count 1000
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Endpoint } from '../src/exchange/index.js';
import type { Address, Connection, EngineEvent } from '../src/exchange/types.js';
import { loadConnection, parseTarget } from './load-gen.js';

const R_U_THERE_ACK = 36137;

interface Held {
  readonly n: number;
  readonly ep: Endpoint;
  readonly sock: Socket;
  readonly local: Address;
  readonly key: string;
  isakmp: string | undefined;
  ipsec: string | undefined;
  failed: boolean;
  acked: boolean;
  /** When the ACK of its last probe arrived (Date.now()). */
  ackedAt: number;
  phase1s: number;
  rekeyed: boolean;
}

function out(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      source: { type: 'string', default: '127.0.0.1' },
      sockets: { type: 'string', default: '8' },
      count: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      duration: { type: 'string', default: '120' },
      psk: { type: 'string', default: 'load-secret' },
      ike: { type: 'string', default: 'aes128-sha256-ecp256' },
      esp: { type: 'string', default: 'aes128-sha256' },
      'local-id': { type: 'string', default: '@hold-{n}.bench' },
    },
  });
  if (values.target === undefined) throw new Error('load-hold: --target ADDRESS:PORT is required');
  const target = parseTarget(values.target);
  const count = Number(values.count);
  const concurrency = Number(values.concurrency);
  const opts = { target, count, durationS: Number(values.duration), psk: values.psk!, ike: values.ike!, esp: values.esp! };
  const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
  const now = (): number => performance.timeOrigin + performance.now();

  const socks: { sock: Socket; local: Address; conn: Connection; byKey: Map<string, Held> }[] = [];
  for (let k = 0; k < Number(values.sockets); k++) {
    const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((r, j) => {
      sock.once('error', j);
      sock.bind(0, values.source, () => r());
    });
    const local = { address: values.source!, port: sock.address().port };
    socks.push({ sock, local, conn: loadConnection(opts, local), byKey: new Map() });
  }
  const all: Held[] = [];
  let inFlight = 0;
  let started = 0;
  let established = 0;
  let failed = 0;
  let onChange: () => void = () => {};

  const drain = (h: Held): void => {
    for (let t = h.ep.pollTransmit(); t; t = h.ep.pollTransmit()) h.sock.send(t.data, t.remote.port, t.remote.address);
    for (let e = h.ep.pollEvent(); e; e = h.ep.pollEvent()) onEvent(h, e);
  };
  const onEvent = (h: Held, e: EngineEvent): void => {
    if (e.type === 'phase1-established') {
      h.phase1s++;
      h.isakmp = e.sa.id;
    } else if (e.type === 'ipsec-sa-established') {
      const first = h.ipsec === undefined;
      h.ipsec = e.sa.id;
      if (first) {
        established++;
        inFlight--;
        fill();
      } else h.rekeyed = true;
    } else if (e.type === 'failed' && h.ipsec === undefined && !h.failed) {
      h.failed = true;
      failed++;
      inFlight--;
      fill();
    } else if (e.type === 'notify' && e.notify === R_U_THERE_ACK) {
      if (!h.acked) h.ackedAt = Date.now();
      h.acked = true;
    }
    onChange();
  };
  const fill = (): void => {
    while (started < count && inFlight < concurrency) {
      const s = socks[started % socks.length]!;
      const conn = { ...s.conn, localId: { type: 'fqdn' as const, value: values['local-id']!.replace('{n}', String(started)).replace(/^@/, '') } };
      const ep = new Endpoint({ random, connections: [conn], retransmitBaseMs: 1000, retransmitLimit: 3 });
      ep.initiate(now(), conn.name);
      const first = ep.pollTransmit()!;
      const key = Buffer.from(first.data.subarray(0, 8)).toString('latin1');
      const h: Held = { n: started, ep, sock: s.sock, local: s.local, key, isakmp: undefined, ipsec: undefined, failed: false, acked: false, ackedAt: 0, phase1s: 0, rekeyed: false };
      s.byKey.set(key, h);
      all.push(h);
      started++;
      inFlight++;
      s.sock.send(first.data, first.remote.port, first.remote.address);
      drain(h);
    }
  };
  for (const s of socks) {
    s.sock.on('message', (msg: Buffer, rinfo) => {
      if (msg.length < 28) return;
      const h = s.byKey.get(msg.toString('latin1', 0, 8));
      if (!h) return;
      h.ep.handleDatagram(now(), s.local, { address: rinfo.address, port: rinfo.port }, new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
      drain(h);
    });
  }
  const tick = setInterval(() => {
    const t = now();
    for (const h of all) {
      const at = h.ep.pollTimeout();
      if (at !== undefined && at <= t) {
        h.ep.handleTimeout(t);
        drain(h);
      }
    }
  }, 50);

  const t0 = now();
  const deadline = t0 + opts.durationS * 1000;
  fill();
  await new Promise<void>((resolve) => {
    onChange = () => {
      if (established + failed >= count || now() > deadline) resolve();
    };
    setTimeout(resolve, opts.durationS * 1000).unref();
  });
  onChange = () => {};
  out({ phase: 'up', established, failed, seconds: Math.round((now() - t0) / 10) / 100 });

  const up = (): Held[] => all.filter((h) => h.isakmp !== undefined && h.ipsec !== undefined && !h.failed);

  async function probe(seconds: number): Promise<void> {
    const held = up();
    for (const h of held) {
      h.acked = false;
      h.ackedAt = 0;
    }
    const end = now() + seconds * 1000;
    let lastRound = 0;
    let k = 0;
    const send = (h: Held): void => {
      try {
        h.ep.dpd(now(), h.isakmp!);
      } catch {
        return; // the SA is gone on our side
      }
      drain(h);
    };
    while (now() < end) {
      const t = now();
      // every 100 ms a probe on another SA (a canary): its ACK counts whenever it comes, so the
      // first answer is timed closely even when answers are slow at first
      const canary = held[k++ % Math.max(1, held.length)];
      if (canary && !canary.acked) send(canary);
      // every second, every SA not answered yet
      if (t - lastRound >= 1000) {
        lastRound = t;
        for (const h of held) if (!h.acked && h !== canary) send(h);
      }
      await new Promise((r) => setTimeout(r, 100));
      if (held.every((h) => h.acked)) break;
    }
    const acked = held.filter((h) => h.acked);
    const firstAckAt = acked.length > 0 ? Math.min(...acked.map((h) => h.ackedAt)) : 0;
    out({ phase: 'probed', held: held.length, acked: acked.length, unanswered: held.length - acked.length, firstAckAt });
  }

  async function rekey(k: number, seconds: number): Promise<void> {
    const some = up().slice(0, k);
    const before = new Map(some.map((h) => [h, h.phase1s]));
    for (const h of some) {
      h.rekeyed = false;
      h.ep.rekey(now(), h.ipsec!);
      drain(h);
    }
    const end = now() + seconds * 1000;
    while (now() < end && !some.every((h) => h.rekeyed)) await new Promise((r) => setTimeout(r, 100));
    const ok = some.filter((h) => h.rekeyed).length;
    out({ phase: 'rekeyed', ok, failed: some.length - ok, newPhase1: some.filter((h) => h.phase1s > before.get(h)!).length });
  }

  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, a, b] = line.trim().split(/\s+/);
    if (cmd === 'probe') await probe(Number(a ?? 10));
    else if (cmd === 'rekey') await rekey(Number(a ?? 10), Number(b ?? 10));
    else if (cmd === 'quit') break;
  }
  clearInterval(tick);
  for (const s of socks) s.sock.close();
}

main().catch((err: Error) => {
  console.error(`load-hold: ${err.message}`);
  process.exit(1);
});
