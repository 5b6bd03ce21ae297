/**
 * Which ISAKMP SA carries a Quick Mode of ours, and when it starts: at once under the newest
 * established ISAKMP SA with the peer that may carry it, queued on it while its post-authentication
 * steps run or one of ours is in progress (QUICK_MODES_IN_FLIGHT), queued on our phase 1 in
 * negotiation, else after a new phase 1. The queue is the phase 1's `pending` list; the Quick Mode
 * itself is drivers/quick-mode.ts.
 * @module
 */
import type { Engine } from '../engine.js';
import { sharesIsakmpSa } from '../connections.js';
import { pairKeyFlat } from '../keys.js';
import { NO_PENDING, isEstablished, type KeyedP1, type P1, type PendingQm } from '../records.js';
import { startPhase1 } from './phase1.js';
import { startQuick } from './quick-mode.js';

/**
 * Brings a connection up (or rekeys an IPsec SA): a Quick Mode under the newest established ISAKMP
 * SA with the peer that may carry it, else queued on our phase 1 in progress, else a new phase 1.
 */
export function requestQm(x: Engine, now: number, pending: PendingQm, announce = true): void {
  const conn = pending.conn;
  // one `started` per Quick Mode we want (a rekey too); a re-issue after a phase-1 rekey is the same one
  if (announce) x.emit({ type: 'started', kind: 'ipsec', connection: conn.name, peer: conn.remote, role: 'initiator', rekey: pending.rekeyOf !== undefined });
  let negotiating: P1 | undefined;
  let best: KeyedP1 | undefined;
  // a rekey: the pair of the SA it replaces (a connection to '%any' names no peer address)
  const pairKey = pending.rekeyOf?.pairKey ?? pairKeyFlat(conn.local, conn.remote); // kept by a new phase 1
  for (const p1 of x.sas.p1sOfPair(pairKey)) {
    if ((p1.life !== 'established' && (p1.life !== 'negotiating' || p1.role !== 'initiator')) || !sharesIsakmpSa(p1.conn, conn)) continue;
    if (isEstablished(p1) && (!best || (p1.establishedAt ?? 0) > (best.establishedAt ?? 0))) best = p1;
    if (p1.life === 'negotiating' && p1.role === 'initiator') negotiating = p1;
  }
  if (best) {
    // an SA being replaced leaves the Quick Mode to its successor (see successorOf)
    const successor = successorOf(best);
    if (successor) enqueue(successor, pending);
    else requestQmOn(x, now, best, pending);
    return;
  }
  if (negotiating) enqueue(negotiating, pending);
  else startPhase1(x, now, conn, [pending], undefined, pairKey);
}

/** Queues a Quick Mode of ours on a phase 1: started when it may carry one (see startWaiting). */
function enqueue(p1: P1, pending: PendingQm): void {
  if (p1.pending === NO_PENDING) p1.pending = [pending];
  else p1.pending.push(pending);
}

/**
 * The phase 1 in negotiation that replaces an ISAKMP SA (our rekey), if any: our Quick Modes wait
 * for it instead of starting under the SA it replaces. A peer may tie each IPsec SA to the ISAKMP
 * SA it was negotiated under and drop it with that one: strongSwan moves its IPsec SAs to the new
 * ISAKMP SA as soon as that is established on its side (at our MM5), so one whose Quick Mode ends
 * under the old SA after that moment was deleted with the old SA by our Delete, while we kept it
 * (seen with `isakmp rekey NAME` and four selector pairs: one of four new IPsec SAs lost).
 */
export function successorOf(p1: P1): P1 | undefined {
  const next = p1.replacedBy;
  return next && next.life === 'negotiating' ? next : undefined;
}

/**
 * A Quick Mode of ours under a given established ISAKMP SA (the one requestQm chose, or the
 * client's for the gateway's rekey of its IPsec SA): at once, or queued on it while its
 * post-authentication steps run or QUICK_MODES_IN_FLIGHT of ours are in progress.
 */
export function requestQmOn(x: Engine, now: number, p1: KeyedP1, pending: PendingQm): void {
  if (p1.holds > 0 || inFlight(p1) >= QUICK_MODES_IN_FLIGHT) enqueue(p1, pending);
  else startQuick(x, now, p1, pending);
}

/**
 * Our Quick Modes in progress at once on one ISAKMP SA at most; more wait their turn. A peer keeps
 * the IVs of a few exchanges per ISAKMP SA only, finished ones included: strongSwan three by default
 * (its max_ikev1_exchanges), the most recently used kept. Its threads may also take our QM1 of the
 * next Quick Mode before the QM3 we sent just before it. With two of ours in flight, the QM3 of the
 * second then found its IV forgotten (a finished exchange, the first's, being more recent), and
 * strongSwan could not decrypt it (seen with four selector pairs: one CHILD_SA of four). With one,
 * the IVs a peer needs are at most the exchange's own, the next one's and one informational
 * exchange's (a DPD probe) meanwhile.
 */
export const QUICK_MODES_IN_FLIGHT = 1;

/** Our Quick Modes in progress on an ISAKMP SA. */
function inFlight(p1: P1): number {
  let n = 0;
  if (p1.qms) for (const qm of p1.qms.values()) if (qm.role === 'initiator') n++;
  return n;
}

/**
 * Starts the Quick Modes waiting on an established ISAKMP SA (its post-authentication steps done,
 * or one of ours finished), QUICK_MODES_IN_FLIGHT at most at a time.
 */
export function startWaiting(x: Engine, now: number, p1: KeyedP1): void {
  if (p1.holds > 0 || p1.life !== 'established') return;
  while (p1.pending.length > 0 && inFlight(p1) < QUICK_MODES_IN_FLIGHT) {
    const q = p1.pending.shift();
    if (p1.pending.length === 0) p1.pending = NO_PENDING;
    if (q === undefined) break;
    startQuick(x, now, p1, q);
  }
}
