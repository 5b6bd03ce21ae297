/** (split from endpoint.ts) */
import { NotifyType } from '../constants/index.js';
import { Engine } from './engine.js';
import { readU32 } from './keys.js';
import { P1 } from './records.js';
import { Refused, remote } from './refusal.js';
import { seenTotal, wasSeen } from './replay.js';

export function freshMsgId(eng: Engine, p1: P1): number {
  for (;;) {
    const id = readU32(eng.random(4));
    if (msgIdFree(eng, p1, id)) return id;
  }
}

export function msgIdFree(eng: Engine, p1: P1, id: number): boolean {
  return id !== 0 && !p1.qms?.has(id) && doneFor(eng, p1, id) === undefined;
}

/** A recently finished Quick Mode of this SA (see P1.done / doneId). */
export function doneFor(eng: Engine, p1: P1, msgId: number): { recv?: number; sent?: Uint8Array } | undefined {
  if (p1.doneId === msgId) return { recv: p1.doneRecv, sent: p1.doneSent };
  return p1.done?.find((d) => d.msgId === msgId);
}

/** Refuses a message ID the peer used before under this SA, or one past the SA's budget. */
export function checkFreshMsgId(eng: Engine, p1: P1, msgId: number): void {
  if (wasSeen(p1, msgId)) throw remote(NotifyType.INVALID_MESSAGE_ID, 'message ID already used (replay)');
  if (seenTotal(p1) >= eng.opt.messageIdBudget) throw new Refused('MESSAGE_ID_BUDGET', 'message-ID budget of this ISAKMP SA used up (it is being replaced)');
}

/**
 * A message under the ISAKMP SA from the peer shows that phase 1 is complete on its side too:
 * the last phase-1 message need not be kept for retransmission any longer.
 */
export function phase1Confirmed(eng: Engine, p1: P1): void {
  if (p1.lastRecv !== undefined && p1.state === 'established') {
    p1.lastRecv = undefined;
    p1.lastSent = undefined;
  }
}
