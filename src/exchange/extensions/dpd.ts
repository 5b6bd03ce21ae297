/** (split from endpoint.ts) */
import { type NotifyPayload, type Payload } from '../../codec/types.js';
import { NotifyType } from '../../constants/index.js';
import { onNotify } from '../drivers/informational.js';
import { Engine } from '../engine.js';
import { readU32 } from '../keys.js';
import { phase1Confirmed } from '../phase2.js';
import { P1 } from '../records.js';
import { Refused, remote } from '../refusal.js';
import { seqAfter } from '../replay.js';
import { authedFrom } from './nat-t.js';

export const DPD_VID = Uint8Array.from([0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00]);

/** The only payload after HASH(1) of an Informational, when it is an R-U-THERE or R-U-THERE-ACK (RFC 3706). */
export function dpdOnly(payloads: readonly Payload[]): NotifyPayload | undefined {
  if (payloads.length !== 2) return undefined;
  const n = payloads[1]!;
  if (n.type !== 'N' || n.data.length !== 4) return undefined;
  return n.notifyType === NotifyType.R_U_THERE || n.notifyType === NotifyType.R_U_THERE_ACK ? n : undefined;
}

/**
 * An Informational that carries only R-U-THERE or R-U-THERE-ACK (RFC 3706): protected by its
 * sequence number, not by the message-ID set (see replay.ts). An ACK of our outstanding probe
 * proves the peer fresh at the address it came from (the SA may move there).
 */
export function onDpd(eng: Engine, now: number, p1: P1, n: NotifyPayload, msgId: number): void {
  const seq = readU32(n.data);
  if (n.notifyType === NotifyType.R_U_THERE) {
    if (msgId === p1.dpdInMsgId) throw remote(NotifyType.INVALID_MESSAGE_ID, 'R-U-THERE message ID already used (replay)');
    if (p1.dpdIn === -1 || seqAfter(seq, p1.dpdIn)) {
      p1.dpdIn = seq;
      p1.dpdInRepeats = 0;
    } else if (seq === p1.dpdIn && p1.dpdInRepeats < 3) {
      p1.dpdInRepeats++; // a retransmission of the same probe (our ACK was lost)
    } else {
      throw new Refused('DPD_REPLAY', `R-U-THERE with an old sequence number ${seq} (replay)`);
    }
    p1.dpdInMsgId = msgId;
    authedFrom(eng, p1, false);
  } else {
    if (seq !== p1.dpdOut || p1.dpdAcked) throw new Refused('DPD_REPLAY', `R-U-THERE-ACK for sequence number ${seq}, not our outstanding probe's (replay)`);
    p1.dpdAcked = true;
    authedFrom(eng, p1, true);
  }
  phase1Confirmed(eng, p1);
  onNotify(eng, now, p1, n);
}
