/**
 * IKEv1 load generator: many concurrent initiators, each a fresh sans-IO `Endpoint` (src/exchange),
 * driven over real UDP sockets, opening complete Main Mode (PSK) + Quick Mode handshakes against
 * one responder address. Bounded in count and in time; counts completed ISAKMP and IPsec SAs per
 * second and the handshake latency.
 *
 * Built on the same idea as the daemon area's bench/loadgen.ts (one Endpoint per handshake, replies
 * routed by the initiator cookie), with what the responder benchmark and the flood test need on
 * top: several source sockets (and addresses), a wall-clock bound, a per-second series, latency
 * percentiles, failure reasons, and the generator's own CPU so that it can be set beside the
 * responder's.
 *
 * Each handshake is its own ISAKMP SA (INITIAL-CONTACT is not sent, so a responder keeps them all).
 *
 * Library:  import { runLoadGen } from './load-gen.js'
 * CLI:      node build/bench/load-gen.js --target 127.0.0.1:15600 [--source 127.0.0.1]... [--count N]
 *             [--duration S] [--concurrency N] [--sockets N] [--psk S] [--ike P] [--esp P]
 *             [--local-id ID (may contain {n})] [--remote-id ID] [--retransmit-base MS] [--retransmit-limit N]
 *           prints one JSON line (LoadGenResult).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { Endpoint } from '../src/exchange/index.js';
import type { Address, Connection, Identity } from '../src/exchange/types.js';
import { parseEspProposalSpec, parseIkeProposalSpec } from '../src/exchange/names.js';

export interface LoadGenOptions {
  /** The responder. */
  readonly target: Address;
  /** Local addresses to send from (default: 127.0.0.1 or ::1, matching the target's family). */
  readonly sources?: readonly string[];
  /** UDP sockets per source address (default 4): spreads the work over several 5-tuples. */
  readonly socketsPerSource?: number;
  /** Handshakes to start at most. */
  readonly count: number;
  /** Wall-clock bound (s): no handshake is started after it, unfinished ones are abandoned. */
  readonly durationS: number;
  /** Handshakes in flight (default 32). */
  readonly concurrency?: number;
  readonly psk: string | Uint8Array;
  /** Phase-1 proposal in the configuration syntax (default aes128-sha256-modp2048). */
  readonly ike?: string;
  /** Phase-2 proposal in the configuration syntax (default aes128-sha256, no PFS). */
  readonly esp?: string;
  /**
   * Our identity (default: the source address; an address, `@fqdn` or a host name). `{n}` in it is
   * replaced by the handshake's number, so that each handshake is a distinct peer identity, as on
   * a gateway serving many peers (a responder that checks uniqueness per identity then does not
   * compare every new SA with all earlier ones of the same identity).
   */
  readonly localId?: string;
  readonly remoteId?: string;
  /** Initiator retransmission: first after this many ms (default 2000), this many times (default 2). */
  readonly retransmitBaseMs?: number;
  readonly retransmitLimit?: number;
  /** Called about once a second with the totals so far. */
  readonly onProgress?: (p: { seconds: number; established: number; failed: number; inFlight: number }) => void;
}

export interface LoadGenResult {
  readonly started: number;
  /** Handshakes that reached phase-1 established. */
  readonly isakmpEstablished: number;
  /** Handshakes that completed Quick Mode too (ISAKMP SA + IPsec SA pair): the figure. */
  readonly established: number;
  readonly failed: number;
  /** Still in flight when the time bound hit. */
  readonly abandoned: number;
  /** From the first datagram to the last completion (or the time bound). */
  readonly seconds: number;
  /** established / seconds. */
  readonly rate: number;
  /** Completions in each whole second since the start. */
  readonly perSecond: readonly number[];
  /** Handshake latency (first datagram to IPsec SA), ms. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** CPU time of this process during the run (ms): the generator's own cost. */
  readonly generatorCpuMs: number;
  /** Failure reasons (engine 'failed' events) and their counts. */
  readonly failures: Readonly<Record<string, number>>;
}

function identity(s: string): Identity {
  if (isIP(s) === 4) return { type: 'ipv4', value: s };
  if (isIP(s) === 6) return { type: 'ipv6', value: s };
  return { type: 'fqdn', value: s.replace(/^@/, '') };
}

/** The engine Connection for one source socket. */
export function loadConnection(o: LoadGenOptions, local: Address, name = 'load'): Connection {
  const ike = parseIkeProposalSpec(o.ike ?? 'aes128-sha256-modp2048');
  const esp = parseEspProposalSpec(o.esp ?? 'aes128-sha256');
  if (!ike.ok) throw new Error(`load-gen: ike: ${ike.error}`);
  if (!esp.ok) throw new Error(`load-gen: esp: ${esp.error}`);
  const i = ike.value;
  const e = esp.value;
  return {
    name,
    local,
    remote: o.target,
    exchange: 'main',
    auth: 'psk',
    psk: typeof o.psk === 'string' ? new TextEncoder().encode(o.psk) : o.psk,
    ...(o.localId !== undefined ? { localId: identity(o.localId) } : {}),
    ...(o.remoteId !== undefined ? { remoteId: identity(o.remoteId) } : {}),
    ike: [{ encryption: i.encryption, ...(i.keyLength !== undefined ? { keyLength: i.keyLength } : {}), hash: i.hash, group: i.group }],
    ipsec: [
      {
        protocols: [
          {
            protocol: 3, // PROTO_IPSEC_ESP
            transformId: e.transform,
            ...(e.keyLength !== undefined ? { keyLength: e.keyLength } : {}),
            ...(e.auth !== undefined ? { authAlgorithm: e.auth } : {}),
          },
        ],
        mode: 1, // tunnel
        ...(e.group !== undefined ? { group: e.group } : {}),
      },
    ],
    initialContact: false,
    rekey: false,
  };
}

interface Slot {
  sock: Socket;
  local: Address;
  conn: Connection;
  flights: Map<string, Flight>;
}

interface Flight {
  ep: Endpoint;
  slot: Slot;
  sock: Socket;
  local: Address;
  key: string;
  t0: number;
  p1: boolean;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs the load; resolves when `count` handshakes have finished or `durationS` has passed. */
export async function runLoadGen(o: LoadGenOptions): Promise<LoadGenResult> {
  const fam = isIP(o.target.address);
  if (fam === 0) throw new Error(`load-gen: target '${o.target.address}' is not an IP address`);
  const sources = o.sources && o.sources.length > 0 ? o.sources : [fam === 6 ? '::1' : '127.0.0.1'];
  const perSource = Math.max(1, o.socketsPerSource ?? 4);
  const concurrency = Math.max(1, o.concurrency ?? 32);
  const retransmitBaseMs = o.retransmitBaseMs ?? 2000;
  const retransmitLimit = o.retransmitLimit ?? 2;

  // sockets, each with its own engine Connection (the local port differs)
  const socks: Slot[] = [];
  for (const src of sources) {
    for (let k = 0; k < perSource; k++) {
      const sock = createSocket({ type: fam === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, src, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      const local = { address: src, port: sock.address().port };
      socks.push({ sock, local, conn: loadConnection(o, local), flights: new Map() });
    }
  }

  const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
  const perHandshakeId = o.localId?.includes('{n}') ?? false;
  const now = (): number => performance.now();
  const t0 = now();
  const deadline = t0 + o.durationS * 1000;
  const cpu0 = process.cpuUsage();
  let started = 0;
  let p1Done = 0;
  let established = 0;
  let failed = 0;
  let inFlight = 0;
  let lastDone = t0;
  let rr = 0;
  let stopped = false;
  const perSecond: number[] = [];
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));

  const send = (s: Socket, data: Uint8Array, to: Address): void => {
    s.send(data, to.port, to.address);
  };

  const end = (f: Flight, ok: boolean, reason?: string): void => {
    if (!f.slot.flights.delete(f.key)) return;
    inFlight--;
    const t = now();
    if (ok) {
      established++;
      lastDone = t;
      latencies.push(t - f.t0);
      const sec = Math.floor((t - t0) / 1000);
      while (perSecond.length <= sec) perSecond.push(0);
      perSecond[sec]!++;
    } else {
      failed++;
      const r = reason ?? 'unknown';
      failures[r] = (failures[r] ?? 0) + 1;
    }
    fill();
  };

  const drain = (f: Flight): void => {
    for (let t = f.ep.pollTransmit(); t; t = f.ep.pollTransmit()) send(f.sock, t.data, t.remote);
    for (let e = f.ep.pollEvent(); e; e = f.ep.pollEvent()) {
      if (e.type === 'phase1-established') {
        if (!f.p1) p1Done++;
        f.p1 = true;
      } else if (e.type === 'ipsec-sa-established') {
        end(f, true);
        return;
      } else if (e.type === 'failed') {
        end(f, false, `${e.kind}: ${e.reason}`);
        return;
      }
    }
  };

  const fill = (): void => {
    if (stopped) return;
    if ((started >= o.count && inFlight === 0) || now() >= deadline) {
      stop();
      return;
    }
    while (started < o.count && inFlight < concurrency) {
      const slot = socks[rr++ % socks.length]!;
      const conn = perHandshakeId ? { ...slot.conn, localId: identity(o.localId!.replace('{n}', String(started))) } : slot.conn;
      const ep = new Endpoint({ random, connections: [conn], retransmitBaseMs, retransmitLimit });
      const t = now();
      ep.initiate(t, conn.name);
      const first = ep.pollTransmit();
      if (!first) throw new Error('load-gen: the engine produced no first message');
      const key = Buffer.from(first.data.buffer, first.data.byteOffset, 8).toString('latin1');
      const f: Flight = { ep, slot, sock: slot.sock, local: slot.local, key, t0: t, p1: false };
      slot.flights.set(key, f);
      started++;
      inFlight++;
      send(slot.sock, first.data, first.remote);
      drain(f);
    }
  };

  for (const slot of socks) {
    slot.sock.on('message', (msg: Buffer, rinfo) => {
      if (msg.length < 28) return;
      const f = slot.flights.get(msg.toString('latin1', 0, 8));
      if (!f) return;
      f.ep.handleDatagram(now(), slot.local, { address: rinfo.address, port: rinfo.port }, new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
      drain(f);
    });
  }

  let lastReport = t0;
  const tick = setInterval(() => {
    const t = now();
    for (const slot of socks) {
      for (const f of [...slot.flights.values()]) {
        const at = f.ep.pollTimeout();
        if (at !== undefined && at <= t) {
          f.ep.handleTimeout(t);
          drain(f);
        }
      }
    }
    if (o.onProgress && t - lastReport >= 1000) {
      lastReport = t;
      o.onProgress({ seconds: (t - t0) / 1000, established, failed, inFlight });
    }
    if (t >= deadline) stop();
  }, 50);

  function stop(): void {
    if (stopped) return;
    stopped = true;
    finish();
  }

  fill();
  await done;
  clearInterval(tick);
  const tEnd = inFlight === 0 ? lastDone : Math.min(now(), deadline);
  const c = process.cpuUsage(cpu0);
  for (const s of socks) await new Promise<void>((r) => s.sock.close(() => r()));
  latencies.sort((a, b) => a - b);
  const seconds = Math.max(1e-3, (tEnd - t0) / 1000);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    started,
    isakmpEstablished: p1Done,
    established,
    failed,
    abandoned: inFlight,
    seconds: r2(seconds),
    rate: r2(established / seconds),
    perSecond,
    latencyMs: { p50: r2(percentile(latencies, 0.5)), p90: r2(percentile(latencies, 0.9)), p99: r2(percentile(latencies, 0.99)), max: r2(latencies[latencies.length - 1] ?? 0) },
    generatorCpuMs: Math.round((c.user + c.system) / 1000),
    failures,
  };
}

/** Parses `ADDRESS:PORT` or `[v6]:PORT`. */
export function parseTarget(s: string): Address {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^\s]+):(\d+)$/.exec(s);
  if (!m || isIP(m[1]!) === 0) throw new Error(`load-gen: '${s}' is not ADDRESS:PORT`);
  return { address: m[1]!, port: Number(m[2]) };
}

async function cli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      source: { type: 'string', multiple: true },
      sockets: { type: 'string', default: '4' },
      count: { type: 'string', default: '1000' },
      duration: { type: 'string', default: '30' },
      concurrency: { type: 'string', default: '32' },
      psk: { type: 'string', default: 'load-secret' },
      ike: { type: 'string', default: 'aes128-sha256-modp2048' },
      esp: { type: 'string', default: 'aes128-sha256' },
      'local-id': { type: 'string' },
      'remote-id': { type: 'string' },
      'retransmit-base': { type: 'string', default: '2000' },
      'retransmit-limit': { type: 'string', default: '2' },
    },
  });
  if (values.target === undefined) {
    console.error('load-gen: --target ADDRESS:PORT is required');
    return 2;
  }
  const r = await runLoadGen({
    target: parseTarget(values.target),
    ...(values.source !== undefined ? { sources: values.source } : {}),
    socketsPerSource: Number(values.sockets),
    count: Number(values.count),
    durationS: Number(values.duration),
    concurrency: Number(values.concurrency),
    psk: values.psk!,
    ike: values.ike!,
    esp: values.esp!,
    ...(values['local-id'] !== undefined ? { localId: values['local-id'] } : {}),
    ...(values['remote-id'] !== undefined ? { remoteId: values['remote-id'] } : {}),
    retransmitBaseMs: Number(values['retransmit-base']),
    retransmitLimit: Number(values['retransmit-limit']),
  });
  console.log(JSON.stringify(r));
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await cli(process.argv.slice(2));
}
