/**
 * A userspace UDP NAT for the interop lab (the lab kernel has no netfilter: no MASQUERADE, no
 * conntrack). It runs in the router namespace isk-nat that `interop/netns.sh up nat` builds
 * between the client namespace (isk-a, 10.77.0.2, default route via the router) and ours (isk-b,
 * 198.18.0.2). The router owns the outside hosts it stands in for (`--peer`, on its loopback, so
 * the client's datagrams to them are delivered to this process) and the outside address
 * (`--outside`); the kernel forwards nothing (ip_forward 0).
 *
 * Like a home router: a datagram from the inside (addr, port) to a peer (addr, port) goes out from
 * the outside address and a port allocated for that inside (addr, port) (endpoint-independent
 * mapping, a new random port, never the inside one); what comes back to that outside port from
 * any of the peers, from any port, goes to the inside (addr, port), sent from the address and port
 * it came from. Only
 * traffic from the inside refreshes a mapping; one idle for `--idle` seconds is dropped (its port
 * closed). SIGHUP (a router reboot, a CGN rebinding) drops every mapping: the next datagram from
 * the inside gets a new port, never one used before in this run.
 *
 * The mapping table is written as JSON to `--state` on every change and at every expiry check
 * (the counters at most a second old), one line per mapping event on stdout.
 *
 *   node build/test/interop/udp-nat.js --outside 198.18.0.1 --peer 198.18.0.2 [--ports 500,4500]
 *        [--idle 20] [--state FILE]
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** One inside (addr, port) and the outside port allocated to it. */
export interface NatMapping {
  inside: string;
  outsidePort: number;
  /** ms since the epoch of the last datagram from the inside. */
  lastOut: number;
  /** Datagrams relayed each way. */
  out: number;
  in: number;
  /** Of `out`: NAT keepalives (RFC 3948 §2.3, the one byte 0xff). */
  keepalives: number;
}

/** What `--state` holds. */
export interface NatState {
  outside: string;
  idleSeconds: number;
  /** How many times the mappings were dropped on request (SIGHUP). */
  rebinds: number;
  mappings: NatMapping[];
}

interface Live extends NatMapping {
  readonly sock: Socket;
  readonly insideAddr: string;
  readonly insidePort: number;
}

const { values: opt } = parseArgs({
  options: {
    outside: { type: 'string' },
    peer: { type: 'string', multiple: true },
    ports: { type: 'string', default: '500,4500' },
    idle: { type: 'string', default: '20' },
    state: { type: 'string' },
  },
});
if (!opt.outside || !opt.peer || opt.peer.length === 0) {
  console.error('usage: udp-nat --outside ADDR --peer ADDR [--peer ADDR] [--ports 500,4500] [--idle SECONDS] [--state FILE]');
  process.exit(2);
}
const OUTSIDE = opt.outside;
const IDLE_MS = Number(opt.idle) * 1000;
const STATE = opt.state;

const log = (s: string): void => console.log(`${new Date().toISOString()} udp-nat: ${s}`);

/** Inside-facing sockets: one per peer (addr, port), bound to the peer's address the router holds. */
const insideSocks = new Map<string, Socket>();
const mappings = new Map<string, Live>();
/** Outside ports handed out in this run: a new mapping never gets one of them again. */
const usedPorts = new Set<number>();
let rebinds = 0;

function writeState(): void {
  if (!STATE) return;
  const s: NatState = {
    outside: OUTSIDE,
    idleSeconds: IDLE_MS / 1000,
    rebinds,
    mappings: [...mappings.values()].map((m) => ({ inside: m.inside, outsidePort: m.outsidePort, lastOut: m.lastOut, out: m.out, in: m.in, keepalives: m.keepalives })),
  };
  writeFileSync(`${STATE}.tmp`, JSON.stringify(s, null, 1));
  renameSync(`${STATE}.tmp`, STATE);
}

/** The inside socket for datagrams the peer at (addr, port) sends: made on first use. */
async function insideSocket(addr: string, port: number): Promise<Socket> {
  const key = `${addr}:${port}`;
  const have = insideSocks.get(key);
  if (have) return have;
  const s = createSocket({ type: 'udp4', reuseAddr: false });
  insideSocks.set(key, s);
  s.on('message', (msg, from) => void fromInside(addr, port, msg, from));
  s.on('error', (e) => log(`inside socket ${key}: ${e.message}`));
  await new Promise<void>((done) => s.bind({ address: addr, port }, done));
  return s;
}

/** A new outside port (random, not used before in this run). */
async function allocate(): Promise<Socket> {
  for (;;) {
    const s = createSocket('udp4');
    await new Promise<void>((done, fail) => {
      s.once('error', fail);
      s.bind({ address: OUTSIDE, port: 0 }, () => {
        s.off('error', fail);
        done();
      });
    });
    const port = s.address().port;
    if (!usedPorts.has(port)) {
      usedPorts.add(port);
      return s;
    }
    s.close();
  }
}

/** Mappings being made (the outside port is bound asynchronously): later datagrams wait for it, in order. */
const making = new Map<string, Promise<Live>>();

function mappingFor(from: RemoteInfo, peerAddr: string, peerPort: number): Live | Promise<Live> {
  const key = `${from.address}:${from.port}`;
  const m = mappings.get(key) ?? making.get(key);
  if (m) return m;
  const p = allocate().then((sock) => {
    const live: Live = { inside: key, insideAddr: from.address, insidePort: from.port, outsidePort: sock.address().port, lastOut: 0, out: 0, in: 0, keepalives: 0, sock };
    making.delete(key);
    mappings.set(key, live);
    sock.on('message', (back, peer) => void fromOutside(live, back, peer));
    sock.on('error', (e) => log(`outside socket ${OUTSIDE}:${live.outsidePort}: ${e.message}`));
    log(`map ${key} -> ${OUTSIDE}:${live.outsidePort} (first datagram to ${peerAddr}:${peerPort})`);
    return live;
  });
  making.set(key, p);
  return p;
}

async function fromInside(peerAddr: string, peerPort: number, msg: Buffer, from: RemoteInfo): Promise<void> {
  const m = await mappingFor(from, peerAddr, peerPort);
  // dropped (a rebind) between the allocation and now: a new one
  if (mappings.get(m.inside) !== m) return fromInside(peerAddr, peerPort, msg, from);
  m.lastOut = Date.now();
  m.out++;
  if (msg.length === 1 && msg[0] === 0xff) m.keepalives++;
  m.sock.send(msg, peerPort, peerAddr);
  if (m.out === 1) writeState();
}

async function fromOutside(m: Live, msg: Buffer, peer: RemoteInfo): Promise<void> {
  if (mappings.get(m.inside) !== m) return; // dropped meanwhile
  const s = await insideSocket(peer.address, peer.port);
  m.in++;
  s.send(msg, m.insidePort, m.insideAddr);
}

function drop(m: Live, why: string): void {
  mappings.delete(m.inside);
  m.sock.close();
  log(`unmap ${m.inside} -> ${OUTSIDE}:${m.outsidePort} (${why}; ${m.out} out, ${m.keepalives} of them keepalives, ${m.in} in)`);
}

/** Drops the mappings idle for the timeout; writes the state. */
function expire(): void {
  const now = Date.now();
  for (const m of [...mappings.values()]) if (now - m.lastOut >= IDLE_MS) drop(m, `idle ${Math.round((now - m.lastOut) / 1000)}s`);
  writeState();
}

process.on('SIGHUP', () => {
  rebinds++;
  for (const m of [...mappings.values()]) drop(m, 'rebind');
  log(`rebind ${rebinds}: all mappings dropped`);
  writeState();
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    log(`${sig}: exit`);
    process.exit(0);
  });
}

const ports = opt.ports.split(',').map(Number);
for (const peer of opt.peer) for (const p of ports) await insideSocket(peer, p);
setInterval(expire, Math.min(1000, Math.max(100, IDLE_MS / 10)));
writeState();
log(`up: outside ${OUTSIDE}, peers ${opt.peer.join(' ')} ports ${ports.join(',')}, idle ${IDLE_MS / 1000}s`);
