/**
 * A small stand-in for the sans-IO engine, for testing the daemon's driver loop, control socket,
 * key log, dataplane and updown without the real IKE exchanges. Its "protocol" is one JSON request
 * and one JSON answer: enough to cross real UDP sockets, arm timers (retransmit, give up) and
 * produce every event type the daemon handles.
 */
import type { Address, Connection, EngineEvent, IpsecSaInfo, IsakmpSaInfo, Transmit } from '../../src/exchange/types.js';
import type { EndpointFactoryOptions, EndpointLike } from '../../src/daemon/engine.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

interface Pending {
  conn: Connection;
  ic: Uint8Array;
  spi: Uint8Array;
  at: number;
  tries: number;
}

export class FakeEndpoint implements EndpointLike {
  readonly conns = new Map<string, Connection>();
  readonly calls: string[] = [];
  private tx: Transmit[] = [];
  private ev: EngineEvent[] = [];
  private readonly isakmp = new Map<string, IsakmpSaInfo>();
  private readonly ipsec = new Map<string, IpsecSaInfo>();
  private readonly pending = new Map<string, Pending>();
  readonly retransmitMs = 200;
  readonly tries = 3;

  constructor(private readonly opts: EndpointFactoryOptions) {
    for (const c of opts.connections) this.conns.set(c.name, c);
  }

  private keyLog(ic: Uint8Array, rc: Uint8Array) {
    return { initiatorCookie: ic, responderCookie: rc, encryptionKey: Uint8Array.from(Buffer.concat([Buffer.from(ic), Buffer.from(rc)])), encryption: 7 };
  }

  private establish(now: number, conn: Connection, role: 'initiator' | 'responder', local: Address, remote: Address, ic: Uint8Array, rc: Uint8Array, spiIn: Uint8Array, spiOut: Uint8Array): void {
    const id = hex(ic) + hex(rc);
    const transform = { encryption: 7, keyLength: 128, hash: 4, prf: 4, auth: 1, group: 14, lifetimeSeconds: 3600 };
    const sa: IsakmpSaInfo = {
      id, connection: conn.name, role, exchange: 'main', state: 'established', local, remote,
      initiatorCookie: ic, responderCookie: rc, peerId: { type: 'ipv4', value: remote.address }, transform, establishedAt: now, expiresAt: now + 3600_000,
      // this fake's convention: an exchange on the NAT-T port had a NAT in front of us
      ...(this.opts.nattPort !== undefined && this.opts.nattPort !== 0 && local.port === this.opts.nattPort ? { nat: { local: true, remote: false, encapsulation: true } } : {}),
    };
    this.isakmp.set(id, sa);
    this.ev.push({ type: 'phase1-established', sa, peerId: sa.peerId, transform, lifetimeSeconds: 3600, keyLog: this.keyLog(ic, rc) });
    const key = (spi: Uint8Array, n: number) => ({ spi, keymat: new Uint8Array(48).fill(n), encryptionKey: new Uint8Array(16).fill(n), integrityKey: new Uint8Array(32).fill(n + 1) });
    const ts = { family: 4 as const, start: local.address, end: local.address, protocol: 0, port: 0 };
    const rts = { family: 4 as const, start: remote.address, end: remote.address, protocol: 0, port: 0 };
    const ipsec: IpsecSaInfo = {
      id: 'q' + hex(spiIn), isakmpSa: id, connection: conn.name, role, mode: conn.forceEncapsulation === true ? 3 : 1, group: 14, local, remote, localTs: ts, remoteTs: rts,
      lifetimeSeconds: 3600, lifetimeKilobytes: 0, establishedAt: now,
      ...(conn.forceEncapsulation === true ? { udpEncapsulation: true as const } : {}),
      protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5, inbound: key(spiIn, role === 'initiator' ? 1 : 3), outbound: key(spiOut, role === 'initiator' ? 3 : 1) }],
    };
    this.ipsec.set(ipsec.id, ipsec);
    this.ev.push({ type: 'ipsec-sa-established', sa: ipsec });
  }

  private send(local: Address, remote: Address, msg: Record<string, unknown>): void {
    this.tx.push({ local, remote, data: new TextEncoder().encode(JSON.stringify(msg)) });
  }

  handleDatagram(now: number, local: Address, remote: Address, data: Uint8Array): void {
    this.calls.push(`datagram ${remote.address}:${remote.port}->${local.port} ${data.length}`);
    let m: Record<string, string>;
    try {
      m = JSON.parse(new TextDecoder().decode(data)) as Record<string, string>;
    } catch {
      this.ev.push({ type: 'dropped', peer: remote, notify: 16, reason: 'not a fake message' });
      return;
    }
    const conn = [...this.conns.values()].find((c) => c.remote.address === remote.address && c.remote.port === remote.port);
    if (conn === undefined) {
      this.ev.push({ type: 'dropped', peer: remote, notify: 14, reason: 'no connection for this peer' });
      return;
    }
    if (m.t === 'init' && m.ic && m.spi) {
      const rc = this.opts.random(8);
      const spi = this.opts.random(4);
      this.send(local, remote, { t: 'resp', ic: m.ic, rc: hex(rc), spi: hex(spi) });
      this.establish(now, conn, 'responder', local, remote, unhex(m.ic), rc, spi, unhex(m.spi));
    } else if (m.t === 'resp' && m.ic && m.rc && m.spi) {
      const p = this.pending.get(m.ic);
      if (p === undefined) return;
      this.pending.delete(m.ic);
      this.establish(now, p.conn, 'initiator', local, remote, p.ic, unhex(m.rc), p.spi, unhex(m.spi));
    } else if (m.t === 'del' && m.id) {
      this.remove(m.id, 'peer');
    } else {
      this.ev.push({ type: 'dropped', peer: remote, notify: 1, reason: 'unknown fake message' });
    }
  }

  private remove(id: string, by: 'local' | 'peer'): boolean {
    const q = this.ipsec.get(id);
    if (q) {
      this.ipsec.delete(id);
      this.ev.push({ type: 'deleted', kind: 'ipsec', id, connection: q.connection, by });
      return true;
    }
    const s = this.isakmp.get(id);
    if (s) {
      this.isakmp.delete(id);
      this.ev.push({ type: 'deleted', kind: 'isakmp', id, connection: s.connection, by });
      return true;
    }
    return false;
  }

  handleTimeout(now: number): void {
    this.calls.push('timeout');
    for (const [k, p] of this.pending) {
      if (p.at > now) continue;
      if (p.tries >= this.tries) {
        this.pending.delete(k);
        this.ev.push({ type: 'failed', kind: 'isakmp', connection: p.conn.name, peer: p.conn.remote, notify: 0, reason: 'peer not responding' });
        continue;
      }
      p.tries++;
      p.at = now + this.retransmitMs;
      this.send(p.conn.local, p.conn.remote, { t: 'init', ic: hex(p.ic), spi: hex(p.spi) });
    }
  }

  initiate(now: number, name: string): void {
    this.calls.push(`initiate ${name}`);
    const conn = this.conns.get(name);
    if (conn === undefined) throw new Error(`unknown connection ${name}`);
    const ic = this.opts.random(8);
    const spi = this.opts.random(4);
    this.pending.set(hex(ic), { conn, ic, spi, at: now + this.retransmitMs, tries: 0 });
    this.send(conn.local, conn.remote, { t: 'init', ic: hex(ic), spi: hex(spi) });
  }

  rekey(now: number, sa: string): void {
    this.calls.push(`rekey ${sa} ${now > 0}`);
  }

  delete(now: number, id: string): void {
    void now;
    this.calls.push(`delete ${id}`);
    const sa = this.ipsec.get(id) ?? this.isakmp.get(id);
    if (sa === undefined) return;
    // Tell the peer the id it knows: for IPsec SAs the peer's id is 'q' + its inbound SPI = our outbound.
    const peerId = 'protocols' in sa ? 'q' + hex((sa as IpsecSaInfo).protocols[0]!.outbound.spi) : id;
    this.send(sa.local, sa.remote, { t: 'del', id: peerId });
    this.remove(id, 'local');
  }

  /** Dataplane byte counts handed over by the daemon. */
  reportTraffic(now: number, id: string, bytes: number): void {
    void now;
    this.calls.push(`traffic ${id} ${bytes}`);
  }

  /**
   * What the engine's keepalive timer produces (RFC 3948 §2.3): one keepalive transmit per
   * established ISAKMP SA with a NAT in front of us; the daemon sends them at its next pump.
   */
  queueKeepalives(): number {
    let n = 0;
    for (const s of this.isakmp.values()) {
      if (s.nat?.local !== true || !s.nat.encapsulation) continue;
      this.tx.push({ local: s.local, remote: s.remote, data: Uint8Array.of(0xff), keepalive: true });
      n++;
    }
    return n;
  }

  /** Queues an engine event as if the engine had produced it (the daemon sees it at its next pump). */
  inject(e: EngineEvent): void {
    this.ev.push(e);
  }

  pollTransmit(): Transmit | undefined {
    return this.tx.shift();
  }
  pollEvent(): EngineEvent | undefined {
    return this.ev.shift();
  }
  pollTimeout(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending.values()) if (min === undefined || p.at < min) min = p.at;
    return min;
  }
  isakmpSas(): readonly IsakmpSaInfo[] {
    return [...this.isakmp.values()];
  }
  ipsecSas(): readonly IpsecSaInfo[] {
    return [...this.ipsec.values()];
  }
  setConnection(c: Connection): void {
    this.calls.push(`add ${c.name}`);
    this.conns.set(c.name, c);
  }
  removeConnection(name: string): void {
    this.calls.push(`remove ${name}`);
    this.conns.delete(name);
  }
}
