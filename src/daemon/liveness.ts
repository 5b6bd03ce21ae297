/**
 * Liveness of established ISAKMP SAs, driven by the daemon: RFC 3706 Dead Peer Detection (a
 * 1-second tick) and RFC 3948 §2.3 NAT keepalives (every `nat_keepalive` seconds), each a
 * `setInterval`. Also an event subscriber: an R-U-THERE-ACK with the sequence number of our last
 * R-U-THERE counts as an answer.
 */
import { NotifyType } from '../constants/index.js';
import type { EngineCommands } from './commands.js';
import type { ConnectionConfig } from './config/index.js';
import type { DaemonContext } from './context.js';
import type { EngineEvent, IsakmpSaInfo } from './engine.js';
import type { UdpTransport } from './udp.js';

/** RFC 3706 state of one SA: when the peer last answered (ms), when our unanswered run began, the last probe. */
type DpdState = { seen: number; since?: number; sentAt?: number; seq?: number };

export class Liveness {
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private dpdTimer: NodeJS.Timeout | undefined;
  private readonly dpdState = new Map<string, DpdState>();

  /** `noteProblem`: a dead peer is the last problem seen with it (for `isakmp up`). */
  constructor(
    private readonly o: DaemonContext,
    private readonly transport: UdpTransport,
    private readonly commands: EngineCommands,
    private readonly noteProblem: (address: string, what: string) => void,
  ) {}

  /** Arms the DPD tick, and the keepalives when a NAT-T socket is open and `natKeepaliveSeconds` > 0. */
  start(natKeepaliveSeconds: number, nattOpen: boolean): void {
    if (natKeepaliveSeconds > 0 && nattOpen) {
      this.keepaliveTimer = setInterval(() => this.sendKeepalives(), natKeepaliveSeconds * 1000);
      this.keepaliveTimer.unref();
    }
    this.dpdTimer = setInterval(() => this.dpdTick(), 1000);
    this.dpdTimer.unref();
  }

  stop(): void {
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    if (this.dpdTimer !== undefined) clearInterval(this.dpdTimer);
    this.dpdTimer = undefined;
  }

  onEvent(e: EngineEvent): void {
    if (e.type !== 'notify' || e.notify !== NotifyType.R_U_THERE_ACK) return;
    // RFC 3706 §5.3: an ACK counts when it carries the sequence number of our last R-U-THERE
    const st = this.dpdState.get(e.isakmpSa);
    const seq = e.data.length === 4 ? new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0) : -1;
    const answers = st !== undefined && st.seq === seq;
    if (answers) {
      st.seen = this.o.now();
      st.since = undefined;
    }
    this.o.logger.debug('ike', 'DPD: R-U-THERE-ACK', { sa: e.isakmpSa, seq, answers });
  }

  /**
   * RFC 3948 §2.3: keeps the NAT mappings of our UDP-encapsulated SAs open: one 0xff byte to the
   * peer's NAT-T port for every established ISAKMP SA with a NAT in front of us. Returns how many
   * were sent.
   */
  sendKeepalives(): number {
    let n = 0;
    for (const s of this.o.endpoint.isakmpSas()) {
      if (s.state !== 'established' || s.nat?.local !== true || s.nat.encapsulation !== true) continue;
      if (this.transport.sendKeepalive(s.local, s.remote)) n++;
    }
    return n;
  }

  /**
   * RFC 3706 Dead Peer Detection, once a second: for each established ISAKMP SA whose peer
   * announced DPD and whose connection has `dpd_delay`, an R-U-THERE when the peer has not
   * answered for `dpd_delay` (again every `dpd_delay` while unanswered); after `dpd_timeout`
   * without an answer the peer is dead: its SAs are cleared (and negotiated again with
   * `dpd_action: restart`). Returns the R-U-THEREs sent.
   */
  dpdTick(): number {
    const connections = this.o.connections();
    if (!connections.some((c) => c.dpdDelay > 0)) {
      this.dpdState.clear();
      return 0;
    }
    const now = this.o.now();
    const conns = new Map(connections.map((c) => [c.name, c]));
    const live = new Set<string>();
    let sent = 0;
    for (const s of this.o.endpoint.isakmpSas()) {
      const c = conns.get(s.connection);
      if (s.state !== 'established' || s.dpd !== true || c === undefined || c.dpdDelay === 0) continue;
      live.add(s.id);
      let st = this.dpdState.get(s.id);
      if (st === undefined) {
        this.dpdState.set(s.id, (st = { seen: now }));
        continue;
      }
      if (st.since !== undefined && now - st.since >= c.dpdTimeout * 1000) {
        this.dpdState.delete(s.id);
        this.peerDead(now, s, c);
        continue;
      }
      if (now - Math.max(st.seen, st.sentAt ?? 0) >= c.dpdDelay * 1000) {
        let seq: number | undefined;
        this.commands.safe(() => {
          seq = this.o.endpoint.dpd?.(now, s.id);
        });
        if (seq === undefined) continue;
        st.seq = seq;
        st.sentAt = now;
        st.since ??= now;
        sent++;
      }
    }
    for (const id of this.dpdState.keys()) if (!live.has(id)) this.dpdState.delete(id);
    if (sent > 0) this.o.pump();
    return sent;
  }

  /** DPD timeout: the peer's SAs go (Deletes are sent anyway), and with `restart` a new negotiation starts. */
  private peerDead(now: number, s: IsakmpSaInfo, c: ConnectionConfig): void {
    const { endpoint } = this.o;
    const safe = (f: () => void): void => this.commands.safe(f);
    this.o.logger.warn('ike', 'DPD: peer does not answer, clearing its SAs', { sa: s.id, connection: c.name, peer: s.remote.address, action: c.dpdAction });
    this.noteProblem(s.remote.address, `dead peer (no answer to DPD for ${c.dpdTimeout}s)`);
    for (const q of endpoint.ipsecSas()) {
      if (q.isakmpSa === s.id || (q.connection === c.name && q.remote.address === s.remote.address)) safe(() => endpoint.delete(now, q.id));
    }
    safe(() => endpoint.delete(now, s.id));
    this.o.pump();
    if (c.dpdAction === 'restart') safe(() => this.commands.initiate(c.name));
  }
}
