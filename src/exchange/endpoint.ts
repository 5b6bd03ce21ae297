/** (split from endpoint.ts) */
import { decodeHeaderView } from '../codec/message.js';
import { type Header, type Payload } from '../codec/types.js';
import { NotifyType, ProtocolId } from '../constants/index.js';
import { LocalProtocolError } from '../errors.js';
import { addTo, removeFrom } from './bucket.js';
import { dispatch, fire } from './dispatch.js';
import { parseLifetimeData } from './doi.js';
import { sendInfo } from './drivers/informational.js';
import { requestQm } from './drivers/phase1.js';
import { Engine } from './engine.js';
import { redirectReplies } from './extensions/nat-t.js';
import { expireChild, rekeyChild, removeChild, sendDeleteChildren } from './ipsec-sa.js';
import { readU32, u32 } from './keys.js';
import { established, rekeyP1, removeP1, sendDeleteP1 } from './lifecycle.js';
import { checkConnectionProposals } from './proposals.js';
import { droppedEvent, errorOf } from './refusal.js';
import { findP1ById, p1Id, p1Info } from './tables.js';
import { type Address, type Connection, type EndpointOptions, type EngineEvent, type IpsecSaInfo, type IsakmpSaInfo, type Transmit } from './types.js';
import { cookiePair, header } from './wire.js';

/** The engine behind each endpoint, for the test-only inspector (src/exchange/inspect.ts). */
const engines = new WeakMap<Endpoint, Engine>();

/** The engine state of an endpoint (internal: for src/exchange/inspect.ts only). */
export function engineOf(ep: Endpoint): Engine {
  const x = engines.get(ep);
  if (!x) throw new TypeError('not an Endpoint');
  return x;
}

export class Endpoint {
  private readonly x: Engine;

  constructor(options: EndpointOptions) {
    this.x = new Engine(options);
    engines.set(this, this.x);
    for (const c of options.connections ?? []) this.setConnection(c);
  }

  /** Adds or replaces a connection (by name). Existing SAs keep running; rekeys use the new one. */
  setConnection(c: Connection): void {
    if (!c.name) throw new LocalProtocolError(0, 'connection needs a name');
    const problem = checkConnectionProposals(c.ike, c.ipsec, c.allowWeakGroups ?? false);
    if (problem) throw new LocalProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `connection ${c.name}: ${problem}`);
    if (c.auth === 'psk' && (!c.psk || c.psk.length === 0)) throw new LocalProtocolError(0, `connection ${c.name}: psk missing`);
    if (c.auth === 'rsa-sig' && !c.rsa) throw new LocalProtocolError(0, `connection ${c.name}: rsa credentials missing`);
    const groups = new Set(c.ipsec.map((p) => p.group ?? 0));
    if (groups.size > 1) throw new LocalProtocolError(0, `connection ${c.name}: all IPsec proposals must use the same PFS group`);
    this.removeConnection(c.name);
    this.x.conns.set(c.name, c);
    addTo(this.x.connsByRemote, c.remote.address.toLowerCase(), c);
  }

  /** Removes a connection. Its SAs live on until they expire (they are no longer rekeyed). */
  removeConnection(name: string): boolean {
    const old = this.x.conns.get(name);
    if (!old) return false;
    removeFrom(this.x.connsByRemote, old.remote.address.toLowerCase(), old);
    return this.x.conns.delete(name);
  }

  connections(): Connection[] {
    return [...this.x.conns.values()];
  }

  /** Next datagram to send, or undefined. Drain first after every input or command. */
  pollTransmit(): Transmit | undefined {
    if (this.x.txHead >= this.x.tx.length) {
      if (this.x.tx.length) {
        this.x.tx = [];
        this.x.txHead = 0;
      }
      return undefined;
    }
    const t = this.x.tx[this.x.txHead]!;
    this.x.tx[this.x.txHead++] = undefined as unknown as Transmit;
    return t;
  }

  /** Next event, or undefined. Drain after pollTransmit(). */
  pollEvent(): EngineEvent | undefined {
    if (this.x.evHead >= this.x.ev.length) {
      if (this.x.ev.length) {
        this.x.ev = [];
        this.x.evHead = 0;
      }
      return undefined;
    }
    const e = this.x.ev[this.x.evHead]!;
    this.x.ev[this.x.evHead++] = undefined as unknown as EngineEvent;
    return e;
  }

  /** When `handleTimeout` should next be called (ms, same clock as `now`), or undefined. */
  pollTimeout(): number | undefined {
    return this.x.timers.peek();
  }

  isakmpSas(): IsakmpSaInfo[] {
    const out: IsakmpSaInfo[] = [];
    for (const p1 of this.x.p1s.values()) if (p1.state !== 'dead') out.push(p1Info(this.x, p1));
    return out;
  }

  ipsecSas(): IpsecSaInfo[] {
    const out: IpsecSaInfo[] = [];
    for (const c of this.x.children.values()) if (c.state !== 'dead') out.push(c.info);
    return out;
  }

  /** Counts for status/metrics. */
  /**
   * Counts for status/metrics. `halfOpenEvicted`: half-open responder phase 1s dropped (oldest
   * first) to make room for a new first message when a half-open cap was reached.
   */
  stats(): { isakmp: number; established: number; halfOpen: number; halfOpenEvicted: number; ipsec: number; timers: number } {
    let established = 0;
    for (const p of this.x.p1s.values()) if (p.state === 'established') established++;
    return { isakmp: this.x.p1s.size, established, halfOpen: this.x.halfOpenCount, halfOpenEvicted: this.x.halfOpenEvicted, ipsec: this.x.children.size, timers: this.x.timers.size };
  }

  /**
   * Brings a connection up: a Quick Mode under an established ISAKMP SA with the peer, or a new
   * phase 1 followed by a Quick Mode.
   */
  initiate(now: number, connection: string | Connection): void {
    const conn = typeof connection === 'string' ? this.x.conns.get(connection) : connection;
    if (!conn) throw new LocalProtocolError(0, `no connection ${String(connection)}`);
    if (typeof connection !== 'string' && !this.x.conns.has(conn.name)) this.setConnection(conn);
    requestQm(this.x, now, { conn });
  }

  /** Rekeys an SA now (ISAKMP SA: new phase 1; IPsec SA: new Quick Mode). */
  rekey(now: number, saId: string): void {
    const p1 = findP1ById(this.x, saId);
    if (p1) {
      if (p1.state === 'established') rekeyP1(this.x, now, p1);
      return;
    }
    const child = this.x.children.get(saId);
    if (!child) throw new LocalProtocolError(0, `no SA ${saId}`);
    rekeyChild(this.x, now, child);
  }

  /** Deletes an SA and tells the peer (Delete payload under an ISAKMP SA with it). */
  delete(now: number, saId: string): void {
    const p1 = findP1ById(this.x, saId);
    if (p1) {
      if (p1.state === 'established') sendDeleteP1(this.x, now, p1);
      removeP1(this.x, p1, { type: 'deleted', kind: 'isakmp', id: p1Id(this.x, p1), connection: p1.conn.name, by: 'local' });
      return;
    }
    const child = this.x.children.get(saId);
    if (!child) throw new LocalProtocolError(0, `no SA ${saId}`);
    sendDeleteChildren(this.x, now, [child]);
    removeChild(this.x, child, 'local');
  }

  /**
   * Dead Peer Detection (RFC 3706): sends R-U-THERE under the ISAKMP SA. The answer arrives as a
   * `notify` event with R_U_THERE_ACK (36137). Returns the sequence number sent.
   */
  dpd(now: number, saId: string): number {
    const p1 = findP1ById(this.x, saId);
    if (!p1 || p1.state !== 'established') throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    const seq = p1.dpdOut === -1 ? readU32(this.x.random(4)) & 0x7fffffff : (p1.dpdOut + 1) >>> 0;
    p1.dpdOut = seq;
    p1.dpdAcked = false;
    const bytes = sendInfo(this.x, now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.R_U_THERE, spi: cookiePair(p1), data: u32(seq) }]);
    // the peer may have moved (authenticated traffic came from elsewhere): probe there too; its
    // ACK is the proof of freshness that moves the SA
    if (bytes && p1.candidate) this.x.send(p1.candidate.local, p1.candidate.remote, bytes);
    return seq;
  }

  /** Sends Notify / Delete payloads in a protected Informational exchange (HASH(1)) under an ISAKMP SA. */
  sendInformational(now: number, saId: string, payloads: ReadonlyArray<Extract<Payload, { type: 'N' | 'D' }>>): void {
    const p1 = findP1ById(this.x, saId);
    if (!p1 || p1.state !== 'established') throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    if (payloads.length === 0) throw new LocalProtocolError(0, 'nothing to send');
    sendInfo(this.x, now, p1, [...payloads]);
  }

  /**
   * Dataplane byte counts for an IPsec SA (kilobyte lifetimes): `bytes` is the total so far
   * (both directions) as the dataplane reports it.
   */
  reportTraffic(now: number, saId: string, bytes: number): void {
    const child = this.x.children.get(saId);
    if (!child || child.state === 'dead') return;
    child.bytes = Math.max(child.bytes, bytes);
    const limit = child.info.lifetimeKilobytes * 1024;
    if (!limit) return;
    if (child.bytes >= limit) {
      expireChild(this.x, now, child, true);
    } else if (child.bytes >= child.softBytes && child.state === 'installed' && child.info.role === 'initiator') {
      this.x.emit({ type: 'expired', kind: 'ipsec', id: child.info.id, connection: child.conn.name, hard: false });
      rekeyChild(this.x, now, child);
    }
  }

  handleTimeout(now: number): void {
    this.x.lastNow = now;
    for (let e = this.x.timers.popDue(now); e; e = this.x.timers.popDue(now)) {
      try {
        fire(this.x, now, e);
      } catch (err) {
        const { notify, reason } = errorOf(err);
        this.x.emit({ type: 'dropped', peer: { address: '', port: 0 }, notify, code: 'TIMER_ERROR', reason: `timer: ${reason}` });
      }
    }
  }

  /** Feeds one received UDP payload (without the non-ESP marker). Never throws on peer input. */
  handleDatagram(now: number, local: Address, remoteAddr: Address, bytes: Uint8Array): void {
    this.x.lastNow = now;
    this.x.fpOf = undefined;
    this.x.rxLocal = this.x.rxRemote = undefined;
    this.x.replyVia = undefined;
    let header: Header | undefined;
    try {
      header = decodeHeaderView(bytes); // cookies are views of `bytes`: copied where kept
    } catch (e) {
      this.x.emit(droppedEvent(remoteAddr, e));
      return;
    }
    try {
      dispatch(this.x, now, local, remoteAddr, header, bytes);
    } catch (e) {
      this.x.emit(droppedEvent(remoteAddr, e));
    }
    if (this.x.replyVia) redirectReplies(this.x);
  }
}

export { parseLifetimeData } from './doi.js';
