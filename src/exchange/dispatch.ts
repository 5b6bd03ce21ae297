/** (split from endpoint.ts) */
import { decodeMessage } from '../codec/index.js';
import { type Header } from '../codec/types.js';
import { ExchangeType, HeaderFlag, NotifyType } from '../constants/index.js';
import { onInformational } from './drivers/informational.js';
import { onPhase1, respondFirst } from './drivers/phase1.js';
import { failQm, onQuick } from './drivers/quick-mode.js';
import { Engine } from './engine.js';
import { beginAuth } from './extensions/nat-t.js';
import { expireChild, rekeyChild } from './ipsec-sa.js';
import { bkey, bytesEqual, isZero, sameAddress } from './keys.js';
import { failP1, rekeyP1, removeP1, retryOrFail, sendDeleteP1 } from './lifecycle.js';
import { Child, P1, Qm, Target, Tk } from './records.js';
import { remote } from './refusal.js';
import { find } from './scripts.js';
import { p1Id } from './tables.js';
import { type TimerEntry } from './timers.js';
import { type Address } from './types.js';

export function fire(eng: Engine, now: number, e: TimerEntry<Target>): void {
  const t = e.target;
  switch (e.kind) {
    case Tk.P1Retransmit: {
      const p1 = t as P1;
      if (p1.state === 'dead' || !p1.rtx || p1.rtx.timer !== e) return;
      if (p1.rtx.count >= eng.opt.retransmitLimit) {
        retryOrFail(eng, now, p1, 'retransmit limit reached, peer does not answer');
        return;
      }
      p1.rtx.count++;
      if (p1.lastSent) eng.send(p1.local, p1.remote, p1.lastSent);
      p1.rtx.timer = eng.timers.add(now + eng.opt.retransmitBaseMs * 2 ** p1.rtx.count, p1, Tk.P1Retransmit);
      return;
    }
    case Tk.P1HalfOpen: {
      const p1 = t as P1;
      if (p1.state !== 'negotiating' || p1.tHalf !== e) return;
      failP1(eng, p1, 0, 'phase 1 not completed in time');
      return;
    }
    case Tk.P1Soft: {
      const p1 = t as P1;
      if (p1.state !== 'established' || p1.tSoft !== e) return;
      eng.emit({ type: 'expired', kind: 'isakmp', id: p1Id(eng, p1), connection: p1.conn.name, hard: false });
      if (p1.conn.rekey !== false && eng.conns.has(p1.conn.name)) rekeyP1(eng, now, p1);
      return;
    }
    case Tk.P1Hard: {
      const p1 = t as P1;
      if (p1.state === 'dead' || p1.tHard !== e) return;
      sendDeleteP1(eng, now, p1);
      removeP1(eng, p1, { type: 'expired', kind: 'isakmp', id: p1Id(eng, p1), connection: p1.conn.name, hard: true });
      return;
    }
    case Tk.QmRetransmit: {
      const qm = t as Qm;
      if (!qm.rtx || qm.rtx.timer !== e || qm.p1.qms?.get(qm.msgId) !== qm) return;
      if (qm.rtx.count >= eng.opt.retransmitLimit) {
        failQm(eng, qm, 0, 'retransmit limit reached');
        return;
      }
      qm.rtx.count++;
      if (qm.lastSent) eng.send(qm.replyTo?.local ?? qm.p1.local, qm.replyTo?.remote ?? qm.p1.remote, qm.lastSent);
      qm.rtx.timer = eng.timers.add(now + eng.opt.retransmitBaseMs * 2 ** qm.rtx.count, qm, Tk.QmRetransmit);
      return;
    }
    case Tk.QmTimeout: {
      const qm = t as Qm;
      if (qm.tTimeout !== e || qm.p1.qms?.get(qm.msgId) !== qm) return;
      failQm(eng, qm, 0, 'Quick Mode not completed in time');
      return;
    }
    case Tk.ChildSoft: {
      const c = t as Child;
      if (c.state !== 'installed' || c.tSoft !== e) return;
      eng.emit({ type: 'expired', kind: 'ipsec', id: c.info.id, connection: c.conn.name, hard: false });
      if (c.conn.rekey !== false && eng.conns.has(c.conn.name)) rekeyChild(eng, now, c);
      return;
    }
    case Tk.ChildHard: {
      const c = t as Child;
      if (c.state === 'dead' || c.tHard !== e) return;
      expireChild(eng, now, c, true);
      return;
    }
  }
}

export function dispatch(eng: Engine, now: number, local: Address, remoteAddr: Address, h: Header, bytes: Uint8Array): void {
  const p1 = eng.p1s.get(bkey(h.initiatorCookie));
  const rcZero = isZero(h.responderCookie);
  switch (h.exchangeType) {
    case ExchangeType.IDENTITY_PROTECTION:
    case ExchangeType.AGGRESSIVE: {
      const mode = h.exchangeType === ExchangeType.IDENTITY_PROTECTION ? 'main' : 'aggressive';
      if (h.messageId !== 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'phase-1 message with non-zero message ID');
      if (!p1) {
        if (!rcZero) throw remote(NotifyType.INVALID_COOKIE, 'unknown cookies');
        if (isZero(h.initiatorCookie)) throw remote(NotifyType.INVALID_COOKIE, 'zero initiator cookie');
        respondFirst(eng, now, local, remoteAddr, h, bytes, mode);
        return;
      }
      if (!samePeer(eng, p1, remoteAddr) || p1.mode !== mode) throw remote(NotifyType.INVALID_COOKIE, 'cookies of another peer or exchange');
      beginAuth(eng, local, remoteAddr);
      onPhase1(eng, now, p1, h, bytes, rcZero);
      return;
    }
    case ExchangeType.QUICK_MODE: {
      if (!p1 || p1.state !== 'established' || !bytesEqual(p1.rc, h.responderCookie) || !samePeer(eng, p1, remoteAddr)) {
        throw remote(NotifyType.INVALID_COOKIE, 'Quick Mode without an established ISAKMP SA');
      }
      beginAuth(eng, local, remoteAddr);
      onQuick(eng, now, p1, h, bytes);
      return;
    }
    case ExchangeType.INFORMATIONAL: {
      if (!p1 || !bytesEqual(p1.rc, h.responderCookie) || !samePeer(eng, p1, remoteAddr) || !p1.skeyidA || !(h.flags & HeaderFlag.ENCRYPTION)) {
        // RFC 2408 §4.8 informationals outside an authenticated SA are never acted upon.
        logUnauthenticatedInfo(eng, remoteAddr, bytes);
        return;
      }
      beginAuth(eng, local, remoteAddr);
      onInformational(eng, now, p1, h, bytes);
      return;
    }
    default:
      throw remote(NotifyType.INVALID_EXCHANGE_TYPE, `exchange type ${h.exchangeType} not supported`);
  }
}

export function samePeer(eng: Engine, p1: P1, r: Address): boolean {
  return sameAddress(p1.remote.address, r.address);
}

export function logUnauthenticatedInfo(eng: Engine, peer: Address, bytes: Uint8Array): void {
  let what = 'unauthenticated informational ignored';
  try {
    const m = decodeMessage(bytes);
    const n = find(m.payloads, 'N');
    if (n) what = `unauthenticated notify ${n.notifyType} ignored`;
  } catch {
    /* the reason stays generic */
  }
  eng.emit({ type: 'dropped', peer, notify: 0, code: 'UNAUTHENTICATED_INFORMATIONAL', reason: what });
}
