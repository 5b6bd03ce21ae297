/**
 * What each timer does when it fires (`handleTimeout`): retransmission and the limits of a phase 1
 * (half-open timeout, soft and hard lifetime), the Quick Mode timers, the lifetimes of IPsec SAs,
 * and the liveness work of the extensions (DPD, NAT keepalives). Every entry is checked against
 * its record first: a timer replaced or cancelled in between does nothing.
 * @module
 */
import { quickModeTimer } from './drivers/quick-mode.js';
import { transactionTimer } from './drivers/transaction.js';
import type { Engine } from './engine.js';
import { fireLiveness } from './extensions/index.js';
import { xauthSettled } from './extensions/xauth.js';
import { modeConfigWaitOver } from './extensions/modecfg.js';
import { expireChild, rekeyChild, supersededChild } from './ipsec-sa.js';
import { deleteP1, failUnanswered, rekeyP1, retryOrFail, supersededP1 } from './lifecycle.js';
import { Tk, isEstablished, type EngineTimer } from './records.js';
import { traceRetransmit } from './trace.js';

/**
 * Why our phase 1 got no answer, in the operator's words: a peer that cannot decrypt our Main Mode
 * 5 (another pre-shared key gives other keys) drops it without a word, so silence after MM5 with
 * a PSK is most likely a key mismatch (unless the peer said in clear what it refused: named then).
 */
function unansweredReason(state: string, auth: string, peerError: number): string {
  if (state === 'sent-mm5' && auth === 'psk' && peerError === 0) {
    return 'retransmit limit reached, the peer does not answer our MM5: probable pre-shared key mismatch (a peer that cannot decrypt MM5 drops it silently); check that both sides use the same psk for this peer';
  }
  return 'retransmit limit reached, peer does not answer';
}

/**
 * Why a phase 1 did not complete in time. An Aggressive Mode initiator checks our HASH_R in
 * message 2 and stops there when it does not verify, without a word (vpnc, the Cisco client): so
 * silence after our message 2 with a PSK is most likely a key mismatch, or a client that gave up
 * (unless the peer said in clear what it refused: named then).
 */
function halfOpenReason(state: string, auth: string, peerError: number, am3Missing: boolean): string {
  if (state === 'sent-am2' && am3Missing) {
    return "phase 1 not completed in time: the peer's Aggressive Mode message 3 never arrived, though it went on with a Quick Mode or Transaction under this phase 1: probably a lost datagram; the peer holds phase 1 as up and must start over (its Quick Mode times out)";
  }
  if (state === 'sent-am2' && auth === 'psk' && peerError === 0) {
    return 'phase 1 not completed in time: the initiator sent no Aggressive Mode message 3 after our message 2; a client stops there when our HASH_R does not verify, so check that both sides use the same pre-shared key (group password) for this peer';
  }
  return 'phase 1 not completed in time (the peer stopped answering)';
}

export function fire(x: Engine, now: number, e: EngineTimer): void {
  switch (e.kind) {
    case Tk.P1Retransmit: {
      const p1 = e.target;
      const rtx = p1.hs?.rtx;
      if (p1.life === 'dead' || !rtx || rtx.timer !== e) return;
      if (rtx.count >= x.opt.retransmitLimit) {
        retryOrFail(x, now, p1, unansweredReason(p1.exchangeState, p1.conn.auth, p1.hs?.peerError ?? 0));
        return;
      }
      rtx.count++;
      if (p1.lastSent) {
        x.send(p1.local, p1.remote, p1.lastSent);
        traceRetransmit(x, p1.exchangeState.slice(5).toUpperCase(), p1.conn.name, p1.remote, rtx.count);
      }
      rtx.timer = x.timers.add(now + x.opt.retransmitBaseMs * 2 ** rtx.count, p1, Tk.P1Retransmit);
      return;
    }
    case Tk.P1HalfOpen: {
      const p1 = e.target;
      if (p1.life === 'negotiating' && p1.hs?.tHalf === e) failUnanswered(x, p1, halfOpenReason(p1.exchangeState, p1.conn.auth, p1.hs?.peerError ?? 0, p1.hs?.am3Missing === true));
      return;
    }
    case Tk.P1Soft: {
      const p1 = e.target;
      if (p1.life !== 'established' || p1.tSoft !== e) return;
      x.emit({ type: 'expired', kind: 'isakmp', id: x.sas.p1Id(p1), connection: p1.conn.name, hard: false });
      if (p1.conn.rekey !== false && x.conns.has(p1.conn.name) && !supersededP1(x, p1)) rekeyP1(x, now, p1);
      return;
    }
    case Tk.P1Hard: {
      const p1 = e.target;
      if (p1.life === 'dead' || p1.tHard !== e) return;
      // a Delete (when established), then gone with an `expired` event
      const id = x.sas.p1Id(p1);
      deleteP1(x, p1, { type: 'expired', kind: 'isakmp', id, connection: p1.conn.name, hard: true });
      return;
    }
    case Tk.QmRetransmit:
    case Tk.QmTimeout:
      quickModeTimer(x, now, e);
      return;
    case Tk.ChildSoft: {
      const c = e.target;
      if (c.state !== 'installed' || c.tSoft !== e) return;
      x.emit({ type: 'expired', kind: 'ipsec', id: c.info.id, connection: c.conn.name, hard: false });
      if (c.conn.rekey !== false && x.conns.has(c.conn.name) && !supersededChild(x, c)) rekeyChild(x, now, c);
      return;
    }
    case Tk.ChildHard: {
      const c = e.target;
      if (c.state !== 'dead' && c.tHard === e) expireChild(x, c, true);
      return;
    }
    case Tk.Liveness: {
      const p1 = e.target;
      if (isEstablished(p1) && p1.live?.timer === e) fireLiveness(x, now, p1);
      return;
    }
    case Tk.TxnRetransmit:
      transactionTimer(x, now, e);
      return;
    case Tk.XauthSettled:
      xauthSettled(x, now, e.target);
      return;
    case Tk.ModeCfgWait:
      modeConfigWaitOver(x, e);
      return;
  }
}
