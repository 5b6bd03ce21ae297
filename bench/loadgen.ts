/**
 * Our IKEv1 load generator: drives a responder (ours or charon) with complete Main Mode (PSK) +
 * Quick Mode handshakes over UDP, with a window of handshakes in flight. Each handshake is a fresh
 * sans-IO Endpoint (so each makes a new ISAKMP SA; no INITIAL-CONTACT, so a responder keeps them
 * all), all sharing one UDP socket; replies are routed by the initiator cookie.
 *
 *   node build/bench/loadgen.js --target 127.0.0.1:15600 --local 127.0.0.1 --count 2000
 *        [--window 16] [--psk S] [--local-id ID (may contain {n})] [--remote-id ID] [--ike P] [--esp P] [--timeout S]
 *
 * Prints one JSON line: {established, failed, seconds, rate, cpuMs}.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { Endpoint } from '../src/exchange/index.js';
import type { Connection } from '../src/exchange/types.js';
import { parseEspProposal, parseIkeProposal } from '../src/daemon/proposals.js';

export interface LoadResult {
  established: number;
  failed: number;
  seconds: number;
  rate: number;
  cpuMs: number;
}

export interface LoadOptions {
  target: { address: string; port: number };
  local: string;
  count: number;
  window: number;
  psk: string;
  localId?: string;
  remoteId?: string;
  ike: string;
  esp: string;
  timeoutS: number;
}

function identity(s: string | undefined): Connection['localId'] {
  if (s === undefined) return undefined;
  if (isIP(s) === 4) return { type: 'ipv4', value: s };
  if (isIP(s) === 6) return { type: 'ipv6', value: s };
  return { type: 'fqdn', value: s.replace(/^@/, '') };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const ike = parseIkeProposal(o.ike);
  const esp = parseEspProposal(o.esp);
  if (!ike.ok || !esp.ok) throw new Error(`bad proposal: ${!ike.ok ? ike.error : ''} ${!esp.ok ? esp.error : ''}`);
  const sock = createSocket(isIP(o.local) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => sock.bind(0, o.local, () => r()));
  const localPort = sock.address().port;
  const conn: Connection = {
    name: 'load',
    local: { address: o.local, port: localPort },
    remote: o.target,
    exchange: 'main',
    auth: 'psk',
    psk: new TextEncoder().encode(o.psk),
    ...(o.localId !== undefined ? { localId: identity(o.localId) } : {}),
    ...(o.remoteId !== undefined ? { remoteId: identity(o.remoteId) } : {}),
    ike: [{ encryption: ike.value.encryption, ...(ike.value.keyLength ? { keyLength: ike.value.keyLength } : {}), hash: ike.value.hash, group: ike.value.group }],
    ipsec: [
      {
        protocols: [{ protocol: 3, transformId: esp.value.transform, ...(esp.value.keyLength ? { keyLength: esp.value.keyLength } : {}), ...(esp.value.auth !== undefined ? { authAlgorithm: esp.value.auth } : {}) }],
        mode: 1,
        ...(esp.value.group !== undefined ? { group: esp.value.group } : {}),
      },
    ],
    initialContact: false,
    rekey: false,
  };
  const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
  const byCookie = new Map<string, { ep: Endpoint; started: number }>();
  let started = 0;
  let established = 0;
  let failed = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const now = (): number => performance.now();
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));

  const drain = (key: string, ep: Endpoint): void => {
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) sock.send(t.data, t.remote.port, t.remote.address);
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      if (e.type === 'ipsec-sa-established') {
        established++;
        byCookie.delete(key);
        next();
      } else if (e.type === 'failed') {
        failed++;
        byCookie.delete(key);
        next();
      }
    }
  };
  const next = (): void => {
    if (established + failed >= o.count) {
      finish();
      return;
    }
    while (started < o.count && byCookie.size < o.window) {
      started++;
      // `{n}` in the local identity gives every handshake its own ID (a responder keeps them all)
      const c = o.localId?.includes('{n}') ? { ...conn, localId: identity(o.localId.replace('{n}', String(started))) } : conn;
      const ep = new Endpoint({ random, connections: [c], retransmitBaseMs: 2000, retransmitLimit: 3 });
      ep.initiate(now(), 'load');
      // the first transmit carries our fresh initiator cookie
      const first = ep.pollTransmit();
      if (!first) throw new Error('engine produced no first message');
      const key = Buffer.from(first.data.subarray(0, 8)).toString('hex');
      byCookie.set(key, { ep, started: now() });
      sock.send(first.data, first.remote.port, first.remote.address);
      drain(key, ep);
    }
  };
  sock.on('message', (msg) => {
    if (msg.length < 28) return;
    const key = msg.subarray(0, 8).toString('hex');
    const h = byCookie.get(key);
    if (!h) return;
    h.ep.handleDatagram(now(), { address: o.local, port: localPort }, o.target, new Uint8Array(msg));
    drain(key, h.ep);
  });
  // one coarse timer for retransmits and the overall deadline
  const tick = setInterval(() => {
    const t = now();
    for (const [key, h] of byCookie) {
      const at = h.ep.pollTimeout();
      if (at !== undefined && at <= t) {
        h.ep.handleTimeout(t);
        drain(key, h.ep);
      }
    }
    if ((t - t0) / 1000 > o.timeoutS) finish();
  }, 100);
  next();
  await done;
  clearInterval(tick);
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  await new Promise<void>((r) => sock.close(() => r()));
  return { established, failed, seconds, rate: established / seconds, cpuMs: (c.user + c.system) / 1000 };
}

// CLI (when run directly)
if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      local: { type: 'string', default: '127.0.0.1' },
      count: { type: 'string', default: '1000' },
      window: { type: 'string', default: '16' },
      psk: { type: 'string', default: 'bench-secret' },
      'local-id': { type: 'string' },
      'remote-id': { type: 'string' },
      ike: { type: 'string', default: 'aes128-sha256-modp2048' },
      esp: { type: 'string', default: 'aes128-sha256' },
      timeout: { type: 'string', default: '60' },
    },
  });
  const [addr, port] = (values.target ?? '').split(/:(?=\d+$)/);
  if (!addr || !port) {
    console.error('loadgen: --target ADDRESS:PORT is required');
    process.exit(2);
  }
  const r = await runLoad({
    target: { address: addr, port: Number(port) },
    local: values.local as string,
    count: Number(values.count),
    window: Number(values.window),
    psk: values.psk as string,
    ...(values['local-id'] !== undefined ? { localId: values['local-id'] } : {}),
    ...(values['remote-id'] !== undefined ? { remoteId: values['remote-id'] } : {}),
    ike: values.ike as string,
    esp: values.esp as string,
    timeoutS: Number(values.timeout),
  });
  console.log(JSON.stringify(r));
}
