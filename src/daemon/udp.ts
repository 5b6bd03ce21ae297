/**
 * UDP transport: one socket per (listen address, port) on the IKE port and the NAT-T port.
 * On the NAT-T port (RFC 3948 §2.2, RFC 3947 §4) IKE messages carry a 4-byte zero non-ESP marker:
 * it is stripped on receive and added on send. A datagram there whose first four bytes are not
 * zero is ESP (the kernel's business, not ours) and a single 0xff byte is a NAT keepalive: both
 * are counted and dropped.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Address } from './engine.js';
import { growReceiveBuffer } from './receive-buffer.js';
import { dgramFd } from './dataplane/udp-encap.js';

export const NON_ESP_MARKER = Uint8Array.of(0, 0, 0, 0);
const KEEPALIVE = Uint8Array.of(0xff);

export type Classified =
  | { readonly kind: 'ike'; readonly data: Uint8Array }
  | { readonly kind: 'keepalive' }
  | { readonly kind: 'esp' }
  | { readonly kind: 'runt' };

/** What arrived on the NAT-T port: IKE (marker stripped), a keepalive, ESP, or too short. */
export function classifyNattDatagram(buf: Uint8Array): Classified {
  if (buf.length === 1 && buf[0] === 0xff) return { kind: 'keepalive' };
  if (buf.length < 4) return { kind: 'runt' };
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return { kind: 'esp' };
  return { kind: 'ike', data: buf.subarray(4) };
}

/** Prefixes the non-ESP marker. */
export function addNonEspMarker(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 4);
  out.set(data, 4);
  return out;
}

export interface ReceivedDatagram {
  readonly local: Address;
  readonly remote: Address;
  readonly data: Uint8Array;
}

export interface TransportCounters {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  keepalivesDropped: number;
  /** NAT keepalives we sent (RFC 3948 §2.3). */
  keepalivesOut: number;
  espDropped: number;
  runtsDropped: number;
  sendErrors: number;
}

interface Bound {
  readonly socket: Socket;
  readonly address: string;
  readonly family: 4 | 6;
  port: number;
  readonly natt: boolean;
  /** Bytes of kernel receive buffer granted, when asked for. */
  receiveBuffer?: number;
}

export interface TransportOptions {
  readonly listen: readonly { readonly address: string; readonly family: 4 | 6 }[];
  readonly port: number;
  /** 0 = no NAT-T socket. */
  readonly nattPort: number;
  readonly onDatagram: (d: ReceivedDatagram) => void;
  readonly onError: (message: string) => void;
  /** Kernel receive buffer to ask for on every socket, in bytes (receive-buffer.ts); 0 = the kernel's default. */
  readonly receiveBuffer?: number;
  /**
   * Sockets opened already (an engine shard process' sockets of its socket groups, passed as
   * descriptors): wrapped instead of binding `listen` × ports.
   */
  readonly bound?: readonly { readonly address: string; readonly family: 4 | 6; readonly port: number; readonly natt: boolean; readonly fd: number }[];
}

function wildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** What the daemon needs of its transport (this one, or shards/transport.ts with shard processes). */
export type DaemonTransport = Pick<UdpTransport, 'counters' | 'start' | 'nattSockets' | 'addresses' | 'send' | 'sendKeepalive' | 'close'>;

export class UdpTransport {
  readonly counters: TransportCounters = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    keepalivesDropped: 0,
    keepalivesOut: 0,
    espDropped: 0,
    runtsDropped: 0,
    sendErrors: 0,
  };
  private readonly bound: Bound[] = [];
  private closed = false;

  constructor(private readonly opts: TransportOptions) {}

  /** Binds every socket; rejects with a clear message (address in use, permission) on failure. */
  async start(): Promise<void> {
    for (const o of this.opts.bound ?? []) {
      const socket = createSocket({ type: o.family === 4 ? 'udp4' : 'udp6' });
      const b: Bound = { socket, address: o.address, family: o.family, port: o.port, natt: o.natt };
      await new Promise<void>((resolve) => socket.bind({ fd: o.fd }, () => resolve()));
      this.listenOn(b);
    }
    const ports: [number, boolean][] = [[this.opts.port, false]];
    if (this.opts.nattPort !== 0) ports.push([this.opts.nattPort, true]);
    for (const l of this.opts.listen) {
      for (const [port, natt] of ports) {
        const socket = createSocket({ type: l.family === 4 ? 'udp4' : 'udp6', ipv6Only: l.family === 6 });
        const b: Bound = { socket, address: l.address, family: l.family, port, natt };
        await new Promise<void>((resolve, reject) => {
          const onErr = (err: NodeJS.ErrnoException): void => {
            socket.close();
            reject(new Error(`cannot bind UDP ${l.family === 6 ? `[${l.address}]` : l.address}:${port}: ${err.code ?? err.message}${err.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : err.code === 'EADDRINUSE' ? ' (another program has it: a second isakmp, charon, pluto or racoon? stop it, or set global.port / natt_port)' : err.code === 'EADDRNOTAVAIL' ? ' (no interface has that address: check global.listen; an HA standby binds the virtual address before it holds it: set net.ipv4.ip_nonlocal_bind=1)' : ''}`));
          };
          socket.once('error', onErr);
          socket.bind({ address: l.address, port, exclusive: true }, () => {
            socket.off('error', onErr);
            b.port = socket.address().port;
            if (this.opts.receiveBuffer) b.receiveBuffer = growReceiveBuffer(socket, this.opts.receiveBuffer);
            resolve();
          });
        }).catch(async (err: unknown) => {
          await this.close();
          throw err;
        });
        this.listenOn(b);
      }
    }
  }

  private listenOn(b: Bound): void {
    b.socket.on('error', (err) => this.opts.onError(`UDP ${b.address}:${b.port}: ${err.message}`));
    b.socket.on('message', (msg, rinfo) => this.receive(b, msg, rinfo.address, rinfo.port));
    this.bound.push(b);
  }

  /** The NAT-T sockets' descriptors (for the dataplane's UDP_ENCAP option; undefined: none known). */
  nattSockets(): { fd: number | undefined; port: number }[] {
    return this.bound.filter((b) => b.natt).map((b) => ({ fd: dgramFd(b.socket), port: b.port }));
  }

  /** The actual bound ports (useful when 0 was configured in tests). */
  addresses(): { address: string; port: number; natt: boolean; receiveBuffer?: number }[] {
    return this.bound.map((b) => ({ address: b.address, port: b.port, natt: b.natt, ...(b.receiveBuffer !== undefined ? { receiveBuffer: b.receiveBuffer } : {}) }));
  }

  private receive(b: Bound, msg: Buffer, address: string, port: number): void {
    if (this.closed) return;
    this.counters.packetsIn++;
    this.counters.bytesIn += msg.length;
    let data: Uint8Array = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    if (b.natt) {
      const c = classifyNattDatagram(data);
      if (c.kind === 'keepalive') {
        this.counters.keepalivesDropped++;
        return;
      }
      if (c.kind === 'esp') {
        this.counters.espDropped++;
        return;
      }
      if (c.kind === 'runt') {
        this.counters.runtsDropped++;
        return;
      }
      data = c.data;
    }
    // Unmap IPv4-mapped IPv6 sources so that config addresses match.
    const remote = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    // `data` views the datagram's own memory (Node gives each datagram a buffer of its exact size,
    // shared with nobody): no copy
    this.opts.onDatagram({ local: { address: b.address, port: b.port }, remote: { address: remote, port }, data });
  }

  /** Picks the socket for a transmit: same family, same port, the exact address or a wildcard. */
  private pick(local: Address, remote: Address): Bound | undefined {
    const fam = isIP(remote.address) === 6 ? 6 : 4;
    const candidates = this.bound.filter((b) => b.family === fam && b.port === local.port);
    return candidates.find((b) => b.address === local.address) ?? candidates.find((b) => wildcard(b.address)) ?? candidates[0];
  }

  /**
   * A NAT keepalive (RFC 3948 §2.3): the single byte 0xff, sent as it is (no non-ESP marker) from
   * the NAT-T socket of `local` to `remote`. False when there is no such socket.
   */
  sendKeepalive(local: Address, remote: Address): boolean {
    if (this.closed) return false;
    const b = this.pick(local, remote);
    if (b === undefined || !b.natt) return false;
    this.counters.keepalivesOut++;
    b.socket.send(KEEPALIVE, remote.port, remote.address, (err) => {
      if (err) this.counters.sendErrors++;
    });
    return true;
  }

  send(local: Address, remote: Address, data: Uint8Array): boolean {
    if (this.closed) return false;
    const b = this.pick(local, remote);
    if (b === undefined) {
      this.counters.sendErrors++;
      this.opts.onError(`no socket for ${local.address}:${local.port} -> ${remote.address}:${remote.port}`);
      return false;
    }
    const payload = b.natt ? addNonEspMarker(data) : data;
    this.counters.packetsOut++;
    this.counters.bytesOut += payload.length;
    b.socket.send(payload, remote.port, remote.address, (err) => {
      if (err) {
        this.counters.sendErrors++;
        this.opts.onError(`send to ${remote.address}:${remote.port}: ${err.message}`);
      }
    });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = this.bound.splice(0);
    await Promise.all(all.map((b) => new Promise<void>((r) => b.socket.close(() => r()))));
  }
}
