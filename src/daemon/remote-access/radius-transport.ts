/**
 * The RADIUS client's transport on node:dgram: one socket per address family (an ephemeral port),
 * identifiers matched to outstanding requests, a response taken only from the server asked and only
 * once its authenticators check out (anything else is dropped: forged, late, unmatched), a timeout
 * and a number of retries per server (a retry is the same packet: RFC 5080 §2.2.1), then failover to
 * the next server. A server that did not answer is tried last for `deadTimeMs`. The number of
 * requests in flight is bounded; beyond it a request fails at once.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { BackendLog } from './backend-log.js';
import { MAX_PACKET, peekHeader, verifyResponse, RadiusPacketError, type RadiusResponse } from './radius-packet.js';

export interface RadiusServer {
  readonly address: string;
  readonly port: number;
  readonly secret: Uint8Array;
  /** Where Accounting-Requests go (default: port + 1). */
  readonly accountingPort?: number;
}

export type RadiusKind = 'auth' | 'acct';

export interface RadiusTransportOptions {
  readonly servers: readonly RadiusServer[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly deadTimeMs: number;
  readonly maxOutstanding: number;
  /** Access responses without a Message-Authenticator are dropped (RFC 3579 §3.2; CVE-2024-3596). */
  readonly requireMessageAuthenticator: boolean;
  readonly log: BackendLog;
}

/** A request as built for one server with the identifier given (different secrets: built per server). */
export interface BuiltRequest {
  readonly packet: Uint8Array;
  /** The Request Authenticator the response is checked against. */
  readonly authenticator: Uint8Array;
}

export type RadiusOutcome =
  | { readonly ok: true; readonly server: string; readonly response: RadiusResponse }
  | { readonly ok: false; readonly reason: string };

interface Pending {
  readonly kind: RadiusKind;
  readonly server: RadiusServer;
  readonly port: number;
  readonly authenticator: Uint8Array;
  readonly codes: readonly number[];
  /** Shared by the tries of one request at one server: a dropped response is logged once. */
  readonly dropped: { count: number };
  resolve(r: RadiusResponse | undefined): void;
}

interface Lane {
  readonly socket: Socket;
  readonly pending: Map<number, Pending>;
  nextId: number;
}

export const serverText = (s: RadiusServer, port: number): string => (s.address.includes(':') ? `[${s.address}]:${port}` : `${s.address}:${port}`);

export class RadiusTransport {
  private readonly lanes = new Map<4 | 6, Lane>();
  private readonly deadUntil: number[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private closing = false;
  private closed = false;
  private drained: (() => void) | undefined;

  constructor(private readonly o: RadiusTransportOptions) {
    this.deadUntil = o.servers.map(() => 0);
  }

  private lane(family: 4 | 6): Lane {
    let l = this.lanes.get(family);
    if (l === undefined) {
      const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
      const lane: Lane = { socket, pending: new Map(), nextId: Math.floor(Math.random() * 256) };
      socket.on('message', (msg, rinfo) => this.onMessage(lane, msg, rinfo));
      socket.on('error', (e) => this.o.log('error', `RADIUS client socket (IPv${family}): ${e.message}`));
      socket.bind(0);
      socket.unref(); // the daemon's own sockets keep it alive; pending requests hold timers
      this.lanes.set(family, lane);
      l = lane;
    }
    return l;
  }

  private onMessage(lane: Lane, msg: Buffer, rinfo: RemoteInfo): void {
    const h = msg.length <= 65535 ? peekHeader(msg) : undefined;
    if (h === undefined) return this.o.log('debug', `RADIUS: a ${msg.length}-byte datagram from ${rinfo.address}:${rinfo.port} is not a RADIUS response: dropped`);
    const p = lane.pending.get(h.id);
    if (p === undefined || rinfo.address !== p.server.address || rinfo.port !== p.port || !p.codes.includes(h.code)) {
      return this.o.log('debug', `RADIUS: a response (code ${h.code}, identifier ${h.id}) from ${rinfo.address}:${rinfo.port} matches no request: dropped`);
    }
    let r: RadiusResponse;
    try {
      if (msg.length > MAX_PACKET) throw new RadiusPacketError(`${msg.length} bytes, more than ${MAX_PACKET}`);
      r = verifyResponse(msg, p.authenticator, p.server.secret);
      if (p.kind === 'auth' && this.o.requireMessageAuthenticator && !r.hasMessageAuthenticator) {
        throw new RadiusPacketError('it has no Message-Authenticator, which this client requires (CVE-2024-3596): update the server to a release with those fixes, or turn require_message_authenticator off');
      }
    } catch (e) {
      // once per request and server: a flood of forgeries cannot flood the log
      if (p.dropped.count++ === 0) {
        this.o.log('warn', `RADIUS response from ${serverText(p.server, p.port)} dropped: ${(e as Error).message}`);
      }
      return;
    }
    p.resolve(r);
  }

  private allocateId(lane: Lane): number {
    for (let i = 0; i < 256; i++) {
      const id = (lane.nextId + i) & 0xff;
      if (!lane.pending.has(id)) {
        lane.nextId = (id + 1) & 0xff;
        return id;
      }
    }
    throw new Error('no free RADIUS identifier'); // unreachable while maxOutstanding <= 255
  }

  /** One try: send, wait for a checked response or the timeout. */
  private attempt(lane: Lane, id: number, p: Omit<Pending, 'resolve'>, packet: Uint8Array): Promise<RadiusResponse | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), this.o.timeoutMs);
      this.timers.add(timer);
      const finish = (r: RadiusResponse | undefined): void => {
        clearTimeout(timer);
        this.timers.delete(timer);
        if (lane.pending.get(id)?.resolve === finish) lane.pending.delete(id);
        resolve(r);
      };
      lane.pending.set(id, { ...p, resolve: finish });
      lane.socket.send(packet, p.port, p.server.address, (err) => {
        if (err) this.o.log('debug', `RADIUS: sending to ${serverText(p.server, p.port)} failed: ${err.message}`);
      });
    });
  }

  /** Servers to try, in order: those not marked dead as configured, then the dead ones, soonest back first. */
  private order(now: number): number[] {
    const idx = this.o.servers.map((_, i) => i);
    const alive = idx.filter((i) => this.deadUntil[i]! <= now);
    const dead = idx.filter((i) => this.deadUntil[i]! > now).sort((a, b) => this.deadUntil[a]! - this.deadUntil[b]!);
    return [...alive, ...dead];
  }

  /**
   * Sends a request to the servers in turn until one answers with one of `codes`. `build` makes
   * the packet for a server and identifier. Never rejects.
   */
  /** Whether a request of `kind` must stop: access requests at close, accounting once the sockets go. */
  private stopped(kind: RadiusKind): boolean {
    return this.closed || (this.closing && kind === 'auth');
  }

  async request(kind: RadiusKind, codes: readonly number[], build: (server: RadiusServer, id: number) => BuiltRequest): Promise<RadiusOutcome> {
    if (this.closing) return { ok: false, reason: 'the RADIUS client is closed' };
    if (this.inFlight >= this.o.maxOutstanding) return { ok: false, reason: `too many RADIUS requests waiting (${this.o.maxOutstanding}); the servers are slow or down` };
    this.inFlight++;
    const asked: string[] = [];
    try {
      for (const i of this.order(Date.now())) {
        if (this.stopped(kind)) break;
        const server = this.o.servers[i]!;
        const port = kind === 'auth' ? server.port : (server.accountingPort ?? server.port + 1);
        const family = server.address.includes(':') ? 6 : 4;
        const lane = this.lane(family);
        const id = this.allocateId(lane);
        let built: BuiltRequest;
        try {
          built = build(server, id);
        } catch (e) {
          return { ok: false, reason: (e as Error).message };
        }
        const name = serverText(server, port);
        const dropped = { count: 0 };
        asked.push(name);
        for (let t = 0; t <= this.o.retries; t++) {
          if (this.stopped(kind)) break;
          const r = await this.attempt(lane, id, { kind, server, port, authenticator: built.authenticator, codes, dropped }, built.packet);
          if (r !== undefined) {
            lane.pending.delete(id);
            if (this.deadUntil[i]! > 0) this.o.log('info', `RADIUS server ${name} answers again`);
            this.deadUntil[i] = 0;
            return { ok: true, server: name, response: r };
          }
        }
        lane.pending.delete(id);
        if (this.stopped(kind)) break;
        this.deadUntil[i] = Date.now() + this.o.deadTimeMs;
        const what = dropped.count > 0 ? `gave no valid answer (${dropped.count} response${dropped.count === 1 ? '' : 's'} dropped, see above)` : 'did not answer';
        this.o.log('warn', `RADIUS server ${name} ${what} (${this.o.retries + 1} tries, ${this.o.timeoutMs} ms each): check that it runs and lists this host as a client with the same shared secret${asked.length < this.o.servers.length ? '; trying the next server' : ''}`);
      }
      if (this.stopped(kind)) return { ok: false, reason: 'the RADIUS client was closed' };
      return { ok: false, reason: `no RADIUS server answered (asked ${asked.join(', ')}): check that they run and list this host as a client with the same shared secret` };
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** Stops: access requests fail now, accounting requests get up to one timeout to finish. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const lane of this.lanes.values()) for (const p of [...lane.pending.values()]) if (p.kind === 'auth') p.resolve(undefined);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.timeoutMs);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.closed = true;
    for (const lane of this.lanes.values()) {
      for (const p of [...lane.pending.values()]) p.resolve(undefined);
      await new Promise<void>((r) => lane.socket.close(() => r()));
    }
    this.lanes.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
