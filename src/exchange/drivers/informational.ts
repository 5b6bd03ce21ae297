/** (split from endpoint.ts) */
import * as C from '../crypto.js';
import { encodePayloads, payloadTypeOf } from '../../codec/index.js';
import { type Header, type NotifyPayload, type Payload } from '../../codec/types.js';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType, ProtocolId, isErrorNotify, nameOf } from '../../constants/index.js';
import { Engine } from '../engine.js';
import { dpdOnly, onDpd } from '../extensions/dpd.js';
import { initialContact } from '../extensions/initial-contact.js';
import { authedFrom } from '../extensions/nat-t.js';
import { removeChild } from '../ipsec-sa.js';
import { bytesEqual } from '../keys.js';
import { removeP1, retireIfSpent } from '../lifecycle.js';
import { checkFreshMsgId, freshMsgId, phase1Confirmed } from '../phase2.js';
import { P1 } from '../records.js';
import { remote } from '../refusal.js';
import { markSeen } from '../replay.js';
import { INFORMATIONAL, checkMessage } from '../scripts.js';
import { findChildBySpi, p1Id } from '../tables.js';
import { afterFirstPayload, checkOut, cookiePair, decrypt, encryptRaw, hashFirst } from '../wire.js';
import { failQm } from './quick-mode.js';

/** HDR*, HASH(1), N/D --> under an established ISAKMP SA, fresh message ID and IV. */
export function sendInfo(eng: Engine, now: number, p1: P1, payloads: Payload[]): Uint8Array | undefined {
  void now;
  if (!p1.skeyidA || !p1.iv) return undefined;
  const msgId = freshMsgId(eng, p1);
  const restBytes = encodePayloads(payloads);
  const h = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA, messageId: msgId, afterHash: restBytes });
  checkOut(eng, INFORMATIONAL, [{ type: 'HASH', data: h }, ...payloads]);
  const iv = C.phase2Iv(p1.prf!, p1.iv, msgId, p1.cipher!.blockSize);
  const enc = encryptRaw(eng, p1, ExchangeType.INFORMATIONAL, msgId, HeaderFlag.ENCRYPTION, PayloadType.HASH, hashFirst(h, payloadTypeOf(payloads[0]!), restBytes), iv);
  eng.send(p1.local, p1.remote, enc.bytes);
  return enc.bytes;
}

export function onInformational(eng: Engine, now: number, p1: P1, h: Header, bytes: Uint8Array): void {
  if (h.messageId === 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'protected informational with message ID 0');
  const iv = C.phase2Iv(p1.prf!, p1.iv!, h.messageId, p1.cipher!.blockSize);
  const { payloads, plain } = decrypt(eng, p1, iv, bytes);
  if (payloads[0]?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'informational must start with HASH(1)');
  const expected = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: h.messageId, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, payloads[0].data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'informational HASH(1) does not verify');
  checkMessage(INFORMATIONAL, payloads);
  const dpd = dpdOnly(payloads);
  if (dpd) {
    onDpd(eng, now, p1, dpd, h.messageId);
    return;
  }
  checkFreshMsgId(eng, p1, h.messageId);
  authedFrom(eng, p1, false);
  markSeen(p1, h.messageId);
  phase1Confirmed(eng, p1);
  // verified: act, payload by payload; once our ISAKMP SA is gone, ignore the rest
  for (const p of payloads) {
    if (p1.state === 'dead') break;
    if (p.type === 'D') onDelete(eng, now, p1, p);
    else if (p.type === 'N') onNotify(eng, now, p1, p);
  }
  retireIfSpent(eng, now, p1);
}

export function onDelete(eng: Engine, now: number, p1: P1, d: Extract<Payload, { type: 'D' }>): void {
  void now;
  if (d.protocol === ProtocolId.PROTO_ISAKMP) {
    for (const spi of d.spis) {
      if (spi.length === 16 && bytesEqual(spi.subarray(0, 8), p1.ic) && bytesEqual(spi.subarray(8), p1.rc)) {
        removeP1(eng, p1, { type: 'deleted', kind: 'isakmp', id: p1Id(eng, p1), connection: p1.conn.name, by: 'peer' });
        return;
      }
    }
    return;
  }
  if (d.protocol !== ProtocolId.PROTO_IPSEC_ESP && d.protocol !== ProtocolId.PROTO_IPSEC_AH) return;
  for (const spi of d.spis) {
    // the peer names its inbound SPI (our outbound); accept our inbound too
    const child = findChildBySpi(eng, p1, spi);
    if (child) removeChild(eng, child, 'peer');
  }
}

export function onNotify(eng: Engine, now: number, p1: P1, n: NotifyPayload): void {
  switch (n.notifyType) {
    case NotifyType.R_U_THERE:
      if (n.data.length === 4 && p1.state === 'established') {
        sendInfo(eng, now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.R_U_THERE_ACK, spi: cookiePair(p1), data: new Uint8Array(n.data) }]);
      }
      break;
    case NotifyType.INITIAL_CONTACT:
      initialContact(eng, p1);
      break;
    default:
      // an authenticated error answers a Quick Mode of ours still waiting for HASH(2)
      if (isErrorNotify(n.notifyType)) {
        for (const qm of [...(p1.qms?.values() ?? [])]) {
          if (qm.role === 'initiator' && qm.step === 1) failQm(eng, qm, n.notifyType, `peer refused the Quick Mode: ${nameOf(NotifyType, n.notifyType)}`);
        }
      }
      break;
  }
  eng.emit({ type: 'notify', peer: p1.remote, isakmpSa: p1Id(eng, p1), notify: n.notifyType, spi: new Uint8Array(n.spi), data: new Uint8Array(n.data) });
}
