/**
 * The protected Informational exchange (type 5; RFC 2408 §4.8, RFC 2409 §5.7): one message,
 * HDR*, HASH(1), N/D, under an ISAKMP SA whose keys exist, with its own message ID and IV.
 *
 * Received: nothing happens before HASH(1) verifies; an extension may take the message (DPD's
 * R-U-THERE / R-U-THERE-ACK, protected by sequence numbers); otherwise its message ID must be new
 * (replays refused), and each payload acts within what the peer proved (issue 9.1/9.2): a Delete
 * removes the SAs it names, INITIAL-CONTACT the older SAs of the same sender, an error notify our
 * Quick Modes still waiting for HASH(2). Once a message deletes its own ISAKMP SA the rest is
 * ignored. Informationals outside an authenticated SA are never acted upon.
 * @module
 */
import { decodeMessage } from '../../codec/index.js';
import type { NotifyPayload, Payload } from '../../codec/types.js';
import { ExchangeType, HeaderFlag, NotifyType, ProtocolId, isErrorNotify, nameOf } from '../../constants/index.js';
import { bytesEqual } from '../../crypto/bytes.js';
import { sameCredentials, samePeerIdentity } from '../authorization.js';
import type { Engine } from '../engine.js';
import { answer } from '../extensions/dpd.js';
import { authenticated, expectAuthentication, informationalIn } from '../extensions/index.js';
import { clearOlderSas } from '../extensions/initial-contact.js';
import { removeChild } from '../ipsec-sa.js';
import { removeP1, retireIfSpent } from '../lifecycle.js';
import { checkFreshMsgId, freshMsgId, openHashed, phase1Confirmed, phase2Iv, samePeer, sealHashed } from '../phase2.js';
import { hasKeys, type Child, type KeyedP1, type P1 } from '../records.js';
import { remote } from '../refusal.js';
import { markSeen } from '../replay.js';
import { find, rule, type MessageScript } from '../scripts.js';
import type { Address } from '../types.js';
import { failQm } from './quick-mode.js';
import type { ExchangeDriver, Inbound } from './registry.js';

/** RFC 2408 §4.8 / RFC 2409 §5.7 Informational under an ISAKMP SA. */
export const INFORMATIONAL: MessageScript = {
  label: 'HDR*, HASH(1), N/D -->',
  from: 'I',
  encrypted: 'yes',
  first: 'HASH',
  rules: [rule('HASH', 1, 1), rule('N', 0, 8), rule('D', 0, 8)],
};

const TYPE = ExchangeType.INFORMATIONAL;

/** HDR*, HASH(1), N/D --> under an ISAKMP SA whose keys exist (else nothing), fresh message ID and IV. Returns the datagram. */
export function sendInfo(x: Engine, p1: P1, payloads: readonly Payload[]): Uint8Array | undefined {
  if (!hasKeys(p1)) return undefined;
  const msgId = freshMsgId(x, p1);
  const { bytes } = sealHashed(p1, TYPE, msgId, 0, payloads, phase2Iv(p1, msgId), INFORMATIONAL);
  x.send(p1.local, p1.remote, bytes);
  return bytes;
}

/** A refused informational outside an authenticated SA: a `dropped` event naming what it carried. */
function logUnauthenticated(x: Engine, peer: Address, bytes: Uint8Array): void {
  let what = 'unauthenticated informational ignored';
  try {
    const n = find(decodeMessage(bytes).payloads, 'N');
    if (n) what = `unauthenticated notify ${n.notifyType} ignored`;
  } catch {
    /* the reason stays generic */
  }
  x.emit({ type: 'dropped', peer, notify: 0, code: 'UNAUTHENTICATED_INFORMATIONAL', reason: what });
}

/** Received: HDR*, HASH(1), N/D --> under the ISAKMP SA of its cookies. */
function receiveInformational(x: Engine, m: Inbound): void {
  const { header: h, bytes, now } = m;
  const p1 = m.p1;
  if (!p1 || !hasKeys(p1) || !bytesEqual(p1.rc, h.responderCookie) || !samePeer(p1, m.remote) || !(h.flags & HeaderFlag.ENCRYPTION)) {
    // RFC 2408 §4.8 informationals outside an authenticated SA are never acted upon.
    logUnauthenticated(x, m.remote, bytes);
    return;
  }
  expectAuthentication(x, m.local, m.remote);
  if (h.messageId === 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'protected informational with message ID 0');
  const { payloads } = openHashed(p1, phase2Iv(p1, h.messageId), bytes, h.messageId, 'informational', INFORMATIONAL);
  if (informationalIn(x, now, p1, payloads, h.messageId)) return;
  checkFreshMsgId(x, p1, h.messageId);
  authenticated(x, p1, false);
  markSeen(p1, h.messageId);
  phase1Confirmed(p1);
  // verified: act, payload by payload; once our ISAKMP SA is gone, ignore the rest
  for (const p of payloads) {
    if (p1.life === 'dead') break;
    if (p.type === 'D') deleteIn(x, p1, p);
    else if (p.type === 'N') notifyIn(x, p1, p);
  }
  retireIfSpent(x, now, p1);
}

/** A Delete from the peer: its ISAKMP SA (by its cookies), or IPsec SAs it may delete (by SPI). */
function deleteIn(x: Engine, p1: KeyedP1, d: Extract<Payload, { type: 'D' }>): void {
  if (d.protocol === ProtocolId.PROTO_ISAKMP) {
    for (const spi of d.spis) {
      if (spi.length === 16 && bytesEqual(spi.subarray(0, 8), p1.ic) && bytesEqual(spi.subarray(8), p1.rc)) {
        removeP1(x, p1, { type: 'deleted', kind: 'isakmp', id: x.sas.p1Id(p1), connection: p1.conn.name, by: 'peer' });
        return;
      }
    }
    return;
  }
  if (d.protocol !== ProtocolId.PROTO_IPSEC_ESP && d.protocol !== ProtocolId.PROTO_IPSEC_AH) return;
  // an IPsec SA the peer of `p1` may delete: named by SPI (its inbound, our outbound; or ours),
  // between the same addresses, negotiated with the same identity and credentials
  const may = (c: Child): boolean => sameCredentials(p1.conn, c.conn) && samePeerIdentity(p1.peerId, c.peer);
  for (const spi of d.spis) {
    const child = x.sas.childBySpi(p1.pairKey, spi, may);
    if (child) removeChild(x, child, 'peer');
  }
}

/** An authenticated notify from the peer: acted upon where it calls for it, then a `notify` event. */
export function notifyIn(x: Engine, p1: KeyedP1, n: NotifyPayload): void {
  switch (n.notifyType) {
    case NotifyType.R_U_THERE:
      answer(x, p1, n);
      break;
    case NotifyType.INITIAL_CONTACT:
      clearOlderSas(x, p1);
      break;
    default:
      // an authenticated error answers a Quick Mode of ours still waiting for HASH(2)
      if (isErrorNotify(n.notifyType)) {
        for (const qm of [...(p1.qms?.values() ?? [])]) {
          if (qm.role === 'initiator' && qm.state === 'sent-qm1') failQm(x, qm, n.notifyType, `peer refused the Quick Mode: ${nameOf(NotifyType, n.notifyType)}`);
        }
      }
      break;
  }
  x.emit({ type: 'notify', peer: p1.remote, isakmpSa: x.sas.p1Id(p1), notify: n.notifyType, spi: new Uint8Array(n.spi), data: new Uint8Array(n.data) });
}

export const informationalDriver: ExchangeDriver = {
  name: 'Informational',
  doi: undefined,
  exchangeType: TYPE,
  receive: receiveInformational,
};
