/**
 * The daemon's half of Mode Config on a gateway: a `modecfg-request` event (the client's REQUEST)
 * is answered with a virtual address from the connection's pool (leased by the client's phase-1
 * identity and XAUTH user), the DNS servers, and the Cisco Unity split include and banner when the
 * client asked for them. A RADIUS Framed-IP-Address (with its Framed-IP-Netmask) given when the
 * user was accepted wins over the pool (that address is not leased, nor released). The lease is
 * released when the ISAKMP SA is gone (deleted, or expired at its hard lifetime) and no IPsec SA
 * negotiated under it lives on; the pools survive
 * `isakmp reload` (a changed `pool:` adopts the old leases). A full pool refuses the client: a log
 * line names the connection and the pool size, and the ISAKMP SA is deleted.
 */
import { isIP } from 'node:net';
import type { DataAttribute } from '../codec/types.js';
import { CfgAttr, NotifyType } from '../constants/index.js';
import { NOT_ITS_ADDRESS } from '../exchange/virtual-address.js';
import type { ConnectionConfig, RemoteAccessGatewayConfig } from './config/index.js';
import type { EngineEvent } from './engine.js';
import type { Logger } from './log.js';
import { modeConfigAttributes } from './modecfg-attributes.js';
import { packageVersion } from './version.js';
import { MAX_SHOWN_ATTRIBUTES, namesOf, valuesOf, virtualAddressText, type RemoteAccessStatus } from './remote-access-status.js';
import { poolFromConfig, type AddressPool, type XauthResult } from './remote-access/index.js';

export interface ModeConfigEventsContext {
  readonly logger: Logger;
  readonly now: () => number;
  readonly connections: () => readonly ConnectionConfig[];
  readonly answerModeConfig: ((now: number, requestId: number, attributes: readonly DataAttribute[]) => void) | undefined;
  readonly deleteSa: (sa: string) => void;
  readonly pump: () => void;
}

/** What one remote-access ISAKMP SA holds: its user and identity (from XAUTH), its address. */
export interface RemoteAccessSession {
  readonly connection: string;
  peerId: string | undefined;
  user: string | undefined;
  address: string | undefined;
  /** Where the address came from: the pool (released on delete) or the user backend (RADIUS Framed-IP-Address). */
  source: 'pool' | 'backend' | undefined;
  /** The backend's address and netmask for this user (RADIUS Framed-IP-Address / -Netmask): they win over the pool. */
  framed: { readonly address: string; readonly netmask: string | undefined } | undefined;
  /** The attributes sent to the client, or received from the gateway (for `status`). */
  sent: readonly DataAttribute[];
  /** The IPsec SAs negotiated under this ISAKMP SA that are still alive: the address stays leased while one is. */
  readonly children: Set<string>;
  /** The ISAKMP SA is gone; the session waits for its last IPsec SA. */
  isakmpGone: boolean;
}



export class ModeConfigEvents {
  private readonly pools = new Map<string, { key: string; pool: AddressPool }>();
  readonly sessions = new Map<string, RemoteAccessSession>();
  /** The ISAKMP SA (session) of each live IPsec SA negotiated under a remote-access ISAKMP SA. */
  private readonly sessionOfChild = new Map<string, string>();
  /** Clients refused because their connection's pool was full, by connection (for the metrics). */
  private readonly exhausted = new Map<string, number>();

  constructor(private readonly ctx: ModeConfigEventsContext) {}

  onEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'xauth-request': {
        const s = this.session(e.isakmpSa, e.connection);
        s.peerId = e.peerId;
        s.user = e.user;
        break;
      }
      case 'modecfg-done': {
        // a client records what its gateway sent (a gateway's own record is made in fill())
        const c = this.ctx.connections().find((x) => x.name === e.connection);
        if (c?.remoteAccess?.role !== 'client') break;
        const s = this.session(e.isakmpSa, e.connection);
        s.sent = e.attributes.slice(0, MAX_SHOWN_ATTRIBUTES);
        s.address = virtualAddressText(e.attributes);
        if (c.remoteAccess.xauth !== undefined) s.user = c.remoteAccess.xauth.user;
        break;
      }
      case 'modecfg-request':
        this.fill(e);
        break;
      case 'ipsec-sa-established': {
        const s = this.sessions.get(e.sa.isakmpSa);
        if (s !== undefined) {
          s.children.add(e.sa.id);
          this.sessionOfChild.set(e.sa.id, e.sa.isakmpSa);
        }
        break;
      }
      case 'deleted':
        if (e.kind === 'isakmp') this.isakmpGone(e.id);
        else this.childGone(e.id);
        break;
      case 'expired':
        // an ISAKMP SA that reaches its hard lifetime goes with this event, not `deleted`
        if (e.hard) {
          if (e.kind === 'isakmp') this.isakmpGone(e.id);
          else this.childGone(e.id);
        }
        break;
      case 'dropped':
        // an authenticated client claimed an address that is not its own (another user's?)
        if (e.notify === NotifyType.INVALID_ID_INFORMATION && e.reason.startsWith(NOT_ITS_ADDRESS)) {
          this.ctx.logger.warn('ike', `Mode Config: Quick Mode refused: ${e.reason}`, { peer: `${e.peer.address}:${e.peer.port}` });
        }
        break;
      default:
        break;
    }
  }

  private session(sa: string, connection: string): RemoteAccessSession {
    let s = this.sessions.get(sa);
    if (s === undefined) this.sessions.set(sa, (s = { connection, peerId: undefined, user: undefined, address: undefined, source: undefined, framed: undefined, sent: [], children: new Set(), isakmpGone: false }));
    return s;
  }

  private fill(e: Extract<EngineEvent, { type: 'modecfg-request' }>): void {
    const { logger } = this.ctx;
    const fields = { connection: e.connection, peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa };
    const answer = this.ctx.answerModeConfig;
    if (answer === undefined) {
      logger.error('ike', 'Mode Config: this engine cannot answer Mode Config (its EndpointLike has no answerModeConfig): the client is not answered', fields);
      return;
    }
    const c = this.ctx.connections().find((x) => x.name === e.connection);
    const ra = c?.remoteAccess;
    if (c === undefined || ra?.role !== 'gateway') {
      logger.error('ike', `Mode Config: connection ${e.connection} is no gateway (pool:, dns: ...); client refused`, fields);
      this.ctx.deleteSa(e.isakmpSa);
      this.ctx.pump();
      return;
    }
    const s = this.session(e.isakmpSa, e.connection);
    const asked = new Set(e.requested);
    const pool = this.poolFor(e.connection, ra);
    if (s.address === undefined && s.framed !== undefined) {
      s.address = s.framed.address;
      s.source = 'backend';
    }
    if (pool !== undefined && s.address === undefined) {
      const address = pool.lease(s.peerId ?? e.peer.address, s.user, this.ctx.now());
      if (address === undefined) {
        this.exhausted.set(e.connection, (this.exhausted.get(e.connection) ?? 0) + 1);
        logger.warn('ike', `Mode Config: the address pool of connection ${e.connection} is exhausted (${pool.size} addresses, all leased): client refused, its ISAKMP SA deleted; enlarge pool:`, { ...fields, user: s.user });
        this.ctx.deleteSa(e.isakmpSa);
        this.ctx.pump();
        return;
      }
      s.address = address;
      s.source = 'pool';
    }
    const attrs = modeConfigAttributes(c, ra, asked, { address: s.address, ...(s.source === 'backend' && s.framed?.netmask !== undefined ? { netmask: s.framed.netmask } : {}) }, packageVersion());
    s.sent = attrs;
    logger.info('ike', `Mode Config: ${s.address !== undefined ? `virtual address ${s.address}` : 'no virtual address'} for ${s.user !== undefined ? `user ${s.user}` : 'the client'}`, { ...fields, attributes: namesOf(attrs).join(',') });
    try {
      answer(this.ctx.now(), e.requestId, attrs);
    } catch (err) {
      logger.debug('ike', `Mode Config answer not taken: ${(err as Error).message}`, fields);
    }
    this.ctx.pump();
  }

  /** The backend accepted the user of `sa`: a RADIUS Framed-IP-Address becomes its virtual address. */
  accepted(sa: string, r: Extract<XauthResult, { ok: true }>): void {
    const s = this.sessions.get(sa);
    if (s === undefined || r.framedIp === undefined || isIP(r.framedIp) !== 4) return;
    s.framed = { address: r.framedIp, netmask: r.framedNetmask !== undefined && isIP(r.framedNetmask) === 4 ? r.framedNetmask : undefined };
  }

  /** What `status` shows for an ISAKMP SA. */
  statusOf(sa: string): RemoteAccessStatus | undefined {
    const s = this.sessions.get(sa);
    if (s === undefined) return undefined;
    return { ...(s.user !== undefined ? { user: s.user } : {}), ...(s.address !== undefined ? { virtualAddress: s.address } : {}), attributes: namesOf(s.sent), values: valuesOf(s.sent) };
  }

  /**
   * The ISAKMP SA of a session is gone. Its IPsec SAs live on until they expire or are deleted
   * (IKEv1), and the client goes on sending from its virtual address through them: the lease is
   * released with the last of them, never before (another client given the address meanwhile
   * would have the same selectors).
   */
  private isakmpGone(sa: string): void {
    const s = this.sessions.get(sa);
    if (s === undefined) return;
    if (s.children.size === 0) {
      this.release(sa);
      return;
    }
    s.isakmpGone = true;
    if (s.address !== undefined) this.ctx.logger.debug('ike', `Mode Config: virtual address ${s.address} kept until its ${s.children.size} IPsec SA(s) end`, { connection: s.connection, sa, user: s.user });
  }

  private childGone(child: string): void {
    const sa = this.sessionOfChild.get(child);
    if (sa === undefined) return;
    this.sessionOfChild.delete(child);
    const s = this.sessions.get(sa);
    if (s === undefined) return;
    s.children.delete(child);
    if (s.isakmpGone && s.children.size === 0) this.release(sa);
  }

  private release(sa: string): void {
    const s = this.sessions.get(sa);
    if (s === undefined) return;
    this.sessions.delete(sa);
    for (const child of s.children) this.sessionOfChild.delete(child);
    if (s.address === undefined || s.source !== 'pool') return;
    const c = this.ctx.connections().find((x) => x.name === s.connection);
    if (c?.remoteAccess?.role === 'client') return;
    // a reauthenticated client's new ISAKMP SA holds the same lease: the old one's end frees nothing
    if (this.pools.get(s.connection)?.pool.release(s.address, this.ctx.now()) === true) this.ctx.logger.info('ike', `Mode Config: virtual address ${s.address} released`, { connection: s.connection, sa, user: s.user });
    else this.ctx.logger.debug('ike', `Mode Config: virtual address ${s.address} kept: another ISAKMP SA of the same client holds it`, { connection: s.connection, sa, user: s.user });
  }

  /** The connection's pool; a reload that changed `pool:` builds a new one that adopts the leases. */
  private poolFor(connection: string, ra: RemoteAccessGatewayConfig): AddressPool | undefined {
    const key = JSON.stringify(ra.pool);
    const have = this.pools.get(connection);
    if (have !== undefined && have.key === key) return have.pool;
    const pool = poolFromConfig(connection, ra);
    if (pool === undefined) return undefined;
    if (have !== undefined) pool.adopt(have.pool.snapshot());
    this.pools.set(connection, { key, pool });
    return pool;
  }

  /** Each pool's size and leased addresses, and the clients a full pool refused (for the metrics). */
  poolFigures(): { connection: string; size: number; leased: number; exhausted: number }[] {
    return this.ctx.connections().flatMap((c) => {
      const ra = c.remoteAccess;
      const pool = ra?.role === 'gateway' ? this.poolFor(c.name, ra) : undefined;
      return pool !== undefined ? [{ connection: c.name, size: pool.size, leased: pool.leases().length, exhausted: this.exhausted.get(c.name) ?? 0 }] : [];
    });
  }

  /** The leases of every pool (`status` lists them as `leases`). */
  leases(): { connection: string; address: string; identity: string; user?: string }[] {
    return [...this.pools.entries()].flatMap(([connection, p]) => p.pool.leases().map((l) => ({ connection, address: l.address, identity: l.identity, ...(l.user !== undefined ? { user: l.user } : {}) })));
  }
}
