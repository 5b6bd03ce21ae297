/**
 * The remote-access gateway rekeys its clients' IPsec SAs (as Cisco concentrators do): a client
 * such as vpnc never renegotiates before expiry and waits for the gateway's Quick Mode.
 *
 * Which SAs: those we answered (Quick Mode responder) on a connection where we are the XAUTH
 * server or the Mode Config server, unless the connection says `rekey: false` or `gatewayRekey:
 * false` (the daemon's `gateway_rekey: false`). When: at half the
 * rekey margin an initiator would use (with the same fuzz), so a client that rekeys itself
 * (charon, pluto: their margins are minutes) goes first; the client's new SA with the same
 * selectors cancels the gateway's timer of the old one (the client deletes it). How: a Quick
 * Mode of ours under the client's newest ISAKMP SA, with the SA's selectors (the leased virtual
 * address, our narrowed side), its negotiated transform and PFS group first among the
 * connection's proposals; the old SA is deleted once the new one is up (ipsec-sa.ts). The SA our
 * rekey made is ours (initiator) and rekeyed at an initiator's margin, the same way: under the
 * client's ISAKMP SA, never a phase 1 of ours (a gateway for `%any` has no address to start one
 * to, and the client's may be a NAT's). Without an
 * established ISAKMP SA with the client there is nothing to rekey under: the SA expires.
 * @module
 */
import { sameSaSelectors } from './ids.js';
import type { Engine } from './engine.js';
import { requestQmOn } from './drivers/quick-mode-queue.js';
import { rekeyMargin } from './lifecycle.js';
import { isEstablished, type Child } from './records.js';
import type { Connection, IpsecProposal, IpsecSaInfo } from './types.js';

/** We are the remote-access gateway of `conn`: XAUTH server or Mode Config server. */
export function isRemoteAccessGateway(conn: Connection): boolean {
  return conn.xauth?.role === 'server' || conn.modeConfig?.role === 'server';
}

/** The gateway rekeys the IPsec SAs it answered on `conn` (unless `rekey` or `gatewayRekey` is false). */
export function gatewayRekeys(conn: Connection, role: 'initiator' | 'responder'): boolean {
  return role === 'responder' && conn.rekey !== false && conn.gatewayRekey !== false && isRemoteAccessGateway(conn);
}

/** How long before hard expiry the gateway rekeys: half an initiator's margin (see above). */
export function gatewayRekeyMargin(x: Engine, conn: Connection, lifeMs: number): number {
  return Math.floor(rekeyMargin(x, conn, lifeMs, conn.rekeyMarginSeconds) / 2);
}

/**
 * A client's new IPsec SA `fresh` (we answered its Quick Mode): the older SAs of that client with
 * the same selectors are being replaced by the client, so the gateway does not rekey them.
 */
export function clientRekeyed(x: Engine, fresh: Child): void {
  for (const c of x.sas.childrenOfPair(fresh.pairKey)) {
    if (c === fresh || c.state !== 'installed' || c.tSoft === undefined || c.conn.name !== fresh.conn.name) continue;
    if (!sameSaSelectors(c.info, fresh.info)) continue;
    x.timers.cancel(c.tSoft);
    c.tSoft = undefined;
  }
}

/** The gateway's rekey of a client's IPsec SA: a Quick Mode of ours under the client's ISAKMP SA. */
export function gatewayRekeyChild(x: Engine, now: number, child: Child): void {
  if (child.state !== 'installed') return;
  const byId = x.sas.findP1ById(child.info.isakmpSa);
  const p1 = byId && isEstablished(byId) ? byId : x.sas.bestP1For(child.pairKey, child.conn.name);
  if (!p1 || !isEstablished(p1)) return; // the client has no ISAKMP SA with us: the SA expires
  child.state = 'rekeying';
  const conn = x.conns.current(child.conn);
  x.emit({ type: 'started', kind: 'ipsec', connection: conn.name, peer: p1.remote, role: 'initiator', rekey: true });
  requestQmOn(x, now, p1, { conn, rekeyOf: child, ipsec: negotiatedFirst(conn.ipsec, child.info) });
}

/** The connection's proposals with those matching the SA's negotiated transform and group first. */
export function negotiatedFirst(ipsec: readonly IpsecProposal[], info: IpsecSaInfo): readonly IpsecProposal[] {
  const matches = (p: IpsecProposal): boolean =>
    (p.group ?? 0) === info.group &&
    p.protocols.length === info.protocols.length &&
    p.protocols.every((s, i) => {
      const n = info.protocols[i];
      return n !== undefined && s.protocol === n.protocol && s.transformId === n.transformId && (s.authAlgorithm ?? 0) === n.authAlgorithm && (s.keyLength === undefined || s.keyLength === n.keyLength);
    });
  const first = ipsec.filter(matches);
  return first.length === 0 ? ipsec : [...first, ...ipsec.filter((p) => !matches(p))];
}
