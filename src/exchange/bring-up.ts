/**
 * Bringing a connection up (`Endpoint.initiate`): one Quick Mode per selector pair of the
 * connection (local × remote traffic selectors) that has neither an IPsec SA nor an exchange in
 * progress, all under one ISAKMP SA with the peer (a new phase 1 first when there is none). A
 * connection that is up stays as it is: initiating it again starts nothing (`rekey` is for new
 * keys), and a pair being negotiated is not negotiated twice.
 * @module
 */
import { requestQm } from './drivers/quick-mode-queue.js';
import type { Engine } from './engine.js';
import { hostSelector, localSelectorsOf, selectorEquals, selectorList, selectorPairs, selectorWithin, subnetSelector, type SelectorPair } from './ids.js';
import { pairKeyFlat } from './keys.js';
import type { Connection, InitiateResult } from './types.js';

/** Is there a live IPsec SA of connection `name` for `pair` (ours, or one the peer negotiated within it)? */
function hasIpsecSa(x: Engine, pairKey: string, name: string, pair: SelectorPair): boolean {
  for (const c of x.sas.childrenOfPair(pairKey)) {
    if (c.state === 'dead' || c.conn.name !== name) continue;
    if (localSelectorsOf(c.info).some((l) => selectorWithin(l, pair.local)) && selectorWithin(c.info.remoteTs, pair.remote)) return true;
  }
  return false;
}

/** Is a Quick Mode of ours for `pair` of connection `name` in progress, or waiting for its phase 1? */
function negotiating(x: Engine, pairKey: string, name: string, pair: SelectorPair): boolean {
  const same = (conn: Connection, ts: SelectorPair | undefined): boolean => conn.name === name && ts !== undefined && selectorEquals(ts.local, pair.local) && selectorEquals(ts.remote, pair.remote);
  for (const p1 of x.sas.p1sOfPair(pairKey)) {
    if (p1.life === 'dead') continue;
    for (const q of p1.pending) if (q.rekeyOf === undefined && same(q.conn, q.ts)) return true;
    if (p1.qms === undefined) continue;
    for (const qm of p1.qms.values()) {
      if (qm.role === 'initiator' && qm.rekeyOf === undefined && same(qm.conn, { local: qm.localTs, remote: qm.remoteTs })) return true;
    }
  }
  return false;
}

/**
 * The selector pairs to bring up. A Mode Config client's own side is the address the gateway will
 * assign (virtual-address.ts puts it in when the Quick Mode starts): until then any address of the
 * remote network's IP version stands for it, so an IPv6 network pairs with an IPv6 virtual address
 * over an IPv4 phase 1, and an IPsec SA on the virtual address counts as up.
 */
function pairsToBringUp(conn: Connection): SelectorPair[] {
  if (conn.modeConfig?.role !== 'client') return selectorPairs(conn.localTs, conn.remoteTs, conn.local.address, conn.remote.address);
  const remotes = conn.remoteTs === undefined ? [hostSelector(conn.remote.address)] : selectorList(conn.remoteTs);
  return remotes.map((remote) => ({ local: remote.family === 4 ? subnetSelector('0.0.0.0', 0) : subnetSelector('::', 0), remote }));
}

/** Starts what connection `conn` still lacks; see the module comment. */
export function bringUp(x: Engine, now: number, conn: Connection): InitiateResult {
  const pairKey = pairKeyFlat(conn.local, conn.remote);
  let started = 0;
  let inProgress = 0;
  let established = 0;
  for (const ts of pairsToBringUp(conn)) {
    if (hasIpsecSa(x, pairKey, conn.name, ts)) established++;
    else if (negotiating(x, pairKey, conn.name, ts)) inProgress++;
    else {
      requestQm(x, now, { conn, ts });
      started++;
    }
  }
  return { started, negotiating: inProgress, established };
}
