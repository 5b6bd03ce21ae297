/**
 * The sans-IO IKEv1 endpoint (RFC 2408, RFC 2409, RFC 2407), with the quinn-proto surface:
 *
 *   inputs    handleDatagram(now, local, remote, bytes), handleTimeout(now)
 *   commands  initiate(now, connection), rekey(now, sa), delete(now, sa), reportTraffic(...)
 *   outputs   pollTransmit(), pollEvent(), pollTimeout()     (drain in this order after each call)
 *
 * No sockets, timers, clocks or global randomness: `now` (ms) is an argument and randomness comes
 * from `options.random`. `handleDatagram` never throws on peer input: each failure becomes one
 * `dropped` event and, where policy says so, one bounded notify.
 *
 * This class is the surface only: a datagram goes to the driver of its exchange (drivers/), a
 * timer to its handler (timeouts.ts); the state is an Engine (engine.ts). See docs/engine.md.
 * @module
 */
import { isZero } from '../crypto/bytes.js';
import { decodeHeaderView } from '../codec/message.js';
import type { DataAttribute, Header, Payload } from '../codec/types.js';
import { NotifyType, PayloadType } from '../constants/index.js';
import { LocalProtocolError } from '../errors.js';
import { IPSEC_DOI } from './doi.js';
import { bringUp } from './bring-up.js';
import { drivers } from './drivers/index.js';
import { sendInfo } from './drivers/informational.js';
import { answerTransaction, startTransaction } from './drivers/transaction.js';
import { Engine } from './engine.js';
import { probe } from './extensions/dpd.js';
import { fragmentIn } from './extensions/fragmentation.js';
import { redirectReplies } from './extensions/nat-t.js';
import { answerModeConfig } from './extensions/modecfg.js';
import { answerXauth } from './extensions/xauth.js';
import { canRekeyChild, deleteChildren, rekeyChild, reportTraffic } from './ipsec-sa.js';
import { deleteP1, p1Info, rekeyP1 } from './lifecycle.js';
import { isEstablished } from './records.js';
import { droppedEvent, errorOf, remote } from './refusal.js';
import { fire } from './timeouts.js';
import type { Address, Connection, EndpointOptions, EngineEvent, InitiateResult, IpsecSaInfo, IsakmpSaInfo, Transmit } from './types.js';

/** The engine behind each endpoint, for the test-only inspector (src/exchange/inspect.ts). */
const engines = new WeakMap<Endpoint, Engine>();

/** The engine state of an endpoint (internal: for src/exchange/inspect.ts only). */
export function engineOf(ep: Endpoint): Engine {
  const x = engines.get(ep);
  if (!x) throw new TypeError('not an Endpoint');
  return x;
}

/** The IKEv1 protocol endpoint. One instance serves any number of peers and connections. */
export class Endpoint {
  private readonly x: Engine;

  constructor(options: EndpointOptions) {
    this.x = new Engine(options);
    engines.set(this, this.x);
    for (const c of options.connections ?? []) this.setConnection(c);
  }

  // ------------------------------------------------------------------------------ connections

  /** Adds or replaces a connection (by name). Existing SAs keep running; rekeys use the new one. */
  setConnection(c: Connection): void {
    this.x.conns.set(c);
  }

  /** Removes a connection. Its SAs live on until they expire (they are no longer rekeyed). */
  removeConnection(name: string): boolean {
    return this.x.conns.remove(name);
  }

  connections(): Connection[] {
    return this.x.conns.all();
  }

  /**
   * `message` events for every message sent or received, retransmissions included (for traces
   * and progress; off by default). Takes effect at once.
   */
  observeMessages(on: boolean): void {
    this.x.observe = on;
  }

  // ------------------------------------------------------------------------------ outputs

  /** Next datagram to send, or undefined. Drain first after every input or command. */
  pollTransmit(): Transmit | undefined {
    return this.x.tx.poll();
  }

  /** Next event, or undefined. Drain after pollTransmit(). */
  pollEvent(): EngineEvent | undefined {
    return this.x.ev.poll();
  }

  /** When `handleTimeout` should next be called (ms, same clock as `now`), or undefined. */
  pollTimeout(): number | undefined {
    return this.x.timers.peek();
  }

  // ------------------------------------------------------------------------------ getters

  isakmpSas(): IsakmpSaInfo[] {
    const out: IsakmpSaInfo[] = [];
    for (const p1 of this.x.sas.p1s.values()) if (p1.life !== 'dead') out.push(p1Info(this.x, p1));
    return out;
  }

  ipsecSas(): IpsecSaInfo[] {
    const out: IpsecSaInfo[] = [];
    for (const c of this.x.sas.children.values()) if (c.state !== 'dead') out.push(c.info);
    return out;
  }

  /**
   * When we will rekey an SA (ms, the clock of `now`): its soft lifetime, when we are the side that
   * rekeys it (the initiator, rekeying on); undefined otherwise or for an unknown id.
   */
  rekeyAt(saId: string): number | undefined {
    const p1 = this.x.sas.findP1ById(saId);
    if (p1) return p1.life === 'established' && p1.tSoft?.live === true ? p1.tSoft.at : undefined;
    const c = this.x.sas.children.get(saId);
    return c && c.state === 'installed' && c.tSoft?.live === true ? c.tSoft.at : undefined;
  }

  /**
   * Counts for status/metrics. `halfOpenEvicted`: half-open responder phase 1s dropped (oldest
   * first) to make room for a new first message when a half-open cap was reached;
   * `firstMessagesRefused`: first messages refused by the admission rate (firstMessageRate).
   */
  stats(): { isakmp: number; established: number; halfOpen: number; halfOpenEvicted: number; firstMessagesRefused: number; ipsec: number; timers: number } {
    const x = this.x;
    let established = 0;
    for (const p of x.sas.p1s.values()) if (p.life === 'established') established++;
    return { isakmp: x.sas.p1s.size, established, halfOpen: x.halfOpen.count, halfOpenEvicted: x.halfOpen.evicted, firstMessagesRefused: x.firstMessages.refused, ipsec: x.sas.children.size, timers: x.timers.size };
  }

  // ------------------------------------------------------------------------------ commands

  /**
   * Brings a connection up: one Quick Mode per selector pair without an IPsec SA (under an
   * established ISAKMP SA with the peer, or a new phase 1 first). Idempotent: pairs that have an
   * IPsec SA, or are being negotiated, are left as they are (`rekey` gives new keys).
   */
  initiate(now: number, connection: string | Connection): InitiateResult {
    const conn = typeof connection === 'string' ? this.x.conns.get(connection) : connection;
    if (!conn) throw new LocalProtocolError(0, `no connection ${String(connection)}`);
    if (typeof connection !== 'string' && !this.x.conns.has(conn.name)) this.setConnection(conn);
    return bringUp(this.x, now, this.x.conns.current(conn));
  }

  /** Rekeys an SA now (ISAKMP SA: new phase 1; IPsec SA: new Quick Mode). */
  rekey(now: number, saId: string): void {
    const p1 = this.x.sas.findP1ById(saId);
    if (p1) {
      if (p1.life === 'established') rekeyP1(this.x, now, p1);
      return;
    }
    const child = this.x.sas.children.get(saId);
    if (!child) throw new LocalProtocolError(0, `no SA ${saId}`);
    if (!canRekeyChild(this.x, child)) throw new LocalProtocolError(0, `IPsec SA ${saId}: no ISAKMP SA with the peer to rekey it under, and connection ${child.conn.name} cannot initiate one to %any`);
    rekeyChild(this.x, now, child);
  }

  /** Deletes an SA and tells the peer (Delete payload under an ISAKMP SA with it). */
  delete(now: number, saId: string): void {
    const p1 = this.x.sas.findP1ById(saId);
    if (p1) {
      deleteP1(this.x, p1);
      return;
    }
    const child = this.x.sas.children.get(saId);
    if (!child) throw new LocalProtocolError(0, `no SA ${saId}`);
    deleteChildren(this.x, [child]);
  }

  /**
   * Dead Peer Detection (RFC 3706): sends R-U-THERE under the ISAKMP SA now (a new sequence
   * number). The answer arrives as a `notify` event with R_U_THERE_ACK (36137). Returns the
   * sequence number sent. (A connection's `dpd` policy probes on its own, on the engine's timers.)
   */
  dpd(now: number, saId: string): number {
    void now;
    const p1 = this.x.sas.findP1ById(saId);
    if (!isEstablished(p1)) throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    return probe(this.x, p1, false);
  }

  /** Sends Notify / Delete payloads in a protected Informational exchange (HASH(1)) under an ISAKMP SA. */
  sendInformational(now: number, saId: string, payloads: ReadonlyArray<Extract<Payload, { type: 'N' | 'D' }>>): void {
    void now;
    const p1 = this.x.sas.findP1ById(saId);
    if (!p1 || p1.life !== 'established') throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    if (payloads.length === 0) throw new LocalProtocolError(0, 'nothing to send');
    sendInfo(this.x, p1, payloads);
  }

  /**
   * Starts a Transaction exchange (Mode Config / XAUTH) under an established ISAKMP SA: REQUEST
   * (1) or SET (3) with `attributes`; retransmitted until the REPLY / ACK arrives as a
   * `transaction` event with `answered: true`. Returns the message ID.
   */
  sendTransaction(now: number, saId: string, cfgType: number, identifier: number, attributes: readonly DataAttribute[]): number {
    const p1 = this.x.sas.findP1ById(saId);
    if (!isEstablished(p1)) throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    return startTransaction(this.x, now, p1, cfgType, identifier, attributes);
  }

  /** Answers the peer's REQUEST / SET (a `transaction` event with `answered: false`) with REPLY / ACK. */
  answerTransaction(now: number, saId: string, messageId: number, attributes: readonly DataAttribute[]): void {
    void now;
    const p1 = this.x.sas.findP1ById(saId);
    if (!isEstablished(p1)) throw new LocalProtocolError(0, `no established ISAKMP SA ${saId}`);
    answerTransaction(this.x, p1, messageId, attributes);
  }

  /**
   * XAUTH gateway: the verdict on an `xauth-request` event (the caller's backend checked the user
   * and password): STATUS=1 and Quick Mode released, or another attempt / STATUS=0 and a delete.
   */
  answerXauth(now: number, requestId: number, ok: boolean): void {
    this.x.lastNow = now;
    answerXauth(this.x, now, requestId, ok);
  }

  /** Mode Config gateway: the attributes for a `modecfg-request` (address from the pool, DNS...). */
  answerModeConfig(now: number, requestId: number, attributes: readonly DataAttribute[]): void {
    this.x.lastNow = now;
    answerModeConfig(this.x, now, requestId, attributes);
  }

  /**
   * Dataplane byte counts for an IPsec SA: `bytes`, the total so far (both directions), drives
   * kilobyte lifetimes; `inboundBytes`, received so far when the dataplane tells directions
   * apart, shows the peer alive (DPD probes nothing while it grows).
   */
  reportTraffic(now: number, saId: string, bytes: number, inboundBytes?: number): void {
    const child = this.x.sas.children.get(saId);
    if (!child || child.state === 'dead') return;
    this.x.lastNow = now;
    reportTraffic(this.x, now, child, bytes, inboundBytes);
  }

  // ------------------------------------------------------------------------------ inputs

  /** Fires every timer due at `now`. */
  handleTimeout(now: number): void {
    const x = this.x;
    x.lastNow = now;
    x.fragments.expire(now);
    for (let e = x.timers.popDue(now); e; e = x.timers.popDue(now)) {
      try {
        fire(x, now, e);
      } catch (err) {
        const { notify, reason } = errorOf(err);
        x.emit({ type: 'dropped', peer: { address: '', port: 0 }, notify, code: 'TIMER_ERROR', reason: `timer: ${reason}` });
      }
    }
  }

  /** Feeds one received UDP payload (without the non-ESP marker). Never throws on peer input. */
  handleDatagram(now: number, local: Address, remoteAddr: Address, bytes: Uint8Array): void {
    const x = this.x;
    x.beginDatagram(now);
    let header: Header;
    try {
      header = decodeHeaderView(bytes); // cookies are views of `bytes`: copied where kept
    } catch (e) {
      x.emit(droppedEvent(remoteAddr, e));
      return;
    }
    try {
      if (header.nextPayload === PayloadType.FRAGMENT) {
        // IKE fragments: the whole message, once complete, goes the normal way (judged on its own header).
        const whole = fragmentIn(x, now, remoteAddr, bytes);
        if (whole === undefined) return;
        bytes = whole;
        header = decodeHeaderView(bytes);
        if (header.nextPayload === PayloadType.FRAGMENT) throw remote(NotifyType.PAYLOAD_MALFORMED, 'a reassembled message made of fragments again: dropped');
      }
      const p1 = x.sas.p1ByCookie(header.initiatorCookie);
      if (!p1 && isZero(header.responderCookie) && !x.firstMessages.admit(now, remoteAddr.address)) {
        // a flood of first messages from this source: refused before any decoding (rate.ts)
        x.emit({ type: 'dropped', peer: remoteAddr, notify: 0, code: 'FIRST_MESSAGE_LIMITED', reason: 'first message over the per-source rate during a flood (first_message_rate): not answered' });
        return;
      }
      const driver = drivers().get(p1?.doi.id ?? IPSEC_DOI.id, header.exchangeType);
      if (!driver) throw remote(NotifyType.INVALID_EXCHANGE_TYPE, `exchange type ${header.exchangeType} not supported`);
      driver.receive(x, { now, local, remote: remoteAddr, header, bytes, p1 });
    } catch (e) {
      x.emit(droppedEvent(remoteAddr, e));
    }
    if (x.replyVia) redirectReplies(x);
  }
}

export { parseLifetimeData } from './doi.js';
