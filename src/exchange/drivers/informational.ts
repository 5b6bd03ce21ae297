/**
 * The protected Informational exchange (type 5; RFC 2408 §4.8, RFC 2409 §5.7): one message,
 * HDR*, HASH(1), N/D, under an ISAKMP SA whose keys exist, with its own message ID and IV.
 *
 * Received: nothing happens before HASH(1) verifies; an extension may take the message (DPD's
 * R-U-THERE / R-U-THERE-ACK, protected by sequence numbers); otherwise its message ID must be new
 * (replays refused), and each payload acts within what the peer proved (issue 9.1/9.2): a Delete
 * removes the SAs it names, INITIAL-CONTACT the older SAs of the same sender, an error notify our
 * Quick Modes still waiting for HASH(2) (an error that ends nothing of ours is a `peer-error`
 * event). Once a message deletes its own ISAKMP SA the rest is
 * ignored. Informationals outside an authenticated SA are never acted upon.
 * @module
 */
import { decodeMessage } from '../../codec/index.js';
import type { NotifyPayload, Payload } from '../../codec/types.js';
import { ExchangeType, HeaderFlag, NotifyType, ProtocolId, isErrorNotify, nameOf } from '../../constants/index.js';
import { bytesEqual, isZero } from '../../crypto/bytes.js';
import { sameCredentials, samePeerIdentity } from '../authorization.js';
import type { Engine } from '../engine.js';
import { payloadNames, traceMessage } from '../trace.js';
import { answer } from '../extensions/dpd.js';
import { authenticated, expectAuthentication, informationalIn } from '../extensions/index.js';
import { clearOlderSas } from '../extensions/initial-contact.js';
import { removeChild } from '../ipsec-sa.js';
import { failP1, removeP1, retireIfSpent } from '../lifecycle.js';
import { peerErrorText, peerRefusalText } from '../peer-refusal.js';
import { checkFreshMsgId, freshMsgId, openHashed, phase1Confirmed, phase2Iv, samePeer, sealHashed } from '../phase2.js';
import { hasKeys, type Child, type KeyedP1, type P1, type Qm } from '../records.js';
import { remote } from '../refusal.js';
import { markSeen, takeInformational, wasSeen } from '../replay.js';
import { find, rule, type MessageScript } from '../scripts.js';
import type { Address } from '../types.js';
import { failQm } from './quick-mode.js';
import type { ExchangeDriver, Inbound } from './registry.js';

/** RFC 2408 §4.8 / RFC 2409 §5.7 Informational under an ISAKMP SA. */
export const INFORMATIONAL: MessageScript = {
  name: 'INFO',
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
  if (x.observe) traceMessage(x, 'out', INFORMATIONAL.name, p1.conn.name, p1.remote, ['HASH', ...payloadNames(payloads)]);
  return bytes;
}

/**
 * An informational outside an authenticated SA: never acted upon (RFC 2408 §4.8: anyone can send
 * one), but named (NO_PROPOSAL_CHOSEN, not "notify 14") in a `dropped` event. An error notify in
 * clear with the cookies of a phase 1 we still negotiate is what a peer that refuses our
 * proposals, or could not decrypt or verify our authentication, sends (it has no keys to protect
 * it with): the event then says what it probably means (cause PEER_REFUSED, marked
 * unauthenticated), and the phase 1 remembers it, so that its failure, when our retransmissions
 * run out or its half-open time ends, names it.
 */
function unauthenticated(x: Engine, m: Inbound): void {
  let n: NotifyPayload | undefined;
  try {
    n = find(decodeMessage(m.bytes).payloads, 'N');
  } catch {
    /* not decodable: named generically below */
  }
  const p1 = m.p1;
  const h = m.header;
  const hs = p1?.hs;
  // its cookies: both; or, to us as initiator, ours with a zero responder cookie (a peer that kept
  // no state), or any responder cookie while we have none yet (a refusal of MM1/AM1: charon puts
  // the cookie it picked for its side in its NO_PROPOSAL_CHOSEN)
  const cookies = p1 !== undefined && (bytesEqual(h.responderCookie, p1.rc) || (p1.role === 'initiator' && (isZero(h.responderCookie) || isZero(p1.rc))));
  if (n && isErrorNotify(n.notifyType) && !(h.flags & HeaderFlag.ENCRYPTION) && p1 && hs && cookies && p1.life === 'negotiating' && samePeer(p1, m.remote)) {
    hs.peerError = n.notifyType;
    x.emit({ type: 'dropped', peer: m.remote, notify: 0, code: 'UNAUTHENTICATED_INFORMATIONAL', cause: 'PEER_REFUSED', connection: p1.conn.name, reason: `${peerRefusalText(n.notifyType, false, p1)} (not acted upon: the negotiation goes on until it completes or times out)` });
    return;
  }
  // an error in clear with the cookies of an established SA of ours, from its peer's address (a
  // peer that restarted and lost the SA sends those): never acted upon, but named
  if (n && isErrorNotify(n.notifyType) && p1 && p1.life === 'established' && bytesEqual(h.responderCookie, p1.rc) && samePeer(p1, m.remote)) peerError(x, p1, n, false);
  const what = n ? `unauthenticated notify ${nameOf(NotifyType, n.notifyType)} from the peer ignored (not protected: not acted upon)` : 'unauthenticated informational ignored';
  x.emit({ type: 'dropped', peer: m.remote, notify: 0, code: 'UNAUTHENTICATED_INFORMATIONAL', reason: what });
}

/** Received: HDR*, HASH(1), N/D --> under the ISAKMP SA of its cookies. */
function receiveInformational(x: Engine, m: Inbound): void {
  const { header: h, bytes, now } = m;
  const p1 = m.p1;
  if (!p1 || !hasKeys(p1) || !bytesEqual(p1.rc, h.responderCookie) || !samePeer(p1, m.remote) || !(h.flags & HeaderFlag.ENCRYPTION)) {
    // RFC 2408 §4.8 informationals outside an authenticated SA are never acted upon.
    unauthenticated(x, m);
    return;
  }
  expectAuthentication(x, m.local, m.remote);
  // message ID 0 too (vpnc's Deletes, see replay.ts): HASH(1) decides, as for any other ID
  const { payloads } = openHashed(p1, phase2Iv(p1, h.messageId), bytes, h.messageId, 'informational', INFORMATIONAL);
  traceMessage(x, 'in', INFORMATIONAL.name, p1.conn.name, m.remote, payloads);
  if (informationalIn(x, now, p1, payloads, h.messageId)) return;
  const fresh = h.messageId !== 0 && !wasSeen(p1, h.messageId);
  if (fresh) checkFreshMsgId(x, p1, h.messageId);
  if (!takeInformational(p1, h.messageId, x.fp(bytes), fresh)) throw remote(NotifyType.INVALID_MESSAGE_ID, 'message ID already used (replay)');
  if (fresh) markSeen(p1, h.messageId);
  authenticated(x, p1, false);
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

/** Error notifies that refuse a phase-1 authentication (an identity, a signature, a certificate). */
const PHASE1_REFUSALS: ReadonlySet<number> = new Set([
  NotifyType.INVALID_ID_INFORMATION,
  NotifyType.AUTHENTICATION_FAILED,
  NotifyType.INVALID_SIGNATURE,
  NotifyType.INVALID_CERTIFICATE,
  NotifyType.INVALID_CERT_AUTHORITY,
  NotifyType.INVALID_CERT_ENCODING,
  NotifyType.CERT_TYPE_UNSUPPORTED,
  NotifyType.CERTIFICATE_UNAVAILABLE,
]);

/** Whether an IPsec SA was negotiated under this ISAKMP SA. */
function hasIpsecSas(x: Engine, p1: KeyedP1): boolean {
  const id = x.sas.p1Id(p1);
  for (const c of x.sas.childrenOfPair(p1.pairKey)) if (c.info.isakmpSa === id) return true;
  return false;
}

/**
 * Whether an error notify may be the peer's answer to our Quick Mode `qm`: any notify without an
 * AH/ESP SPI (a refusal names the ISAKMP SA or nothing; strongSwan names ESP with SPI 0 when it
 * refuses before choosing a proposal, e.g. INVALID_ID_INFORMATION), or one naming an SPI we
 * offered in it.
 */
function concernsQm(n: NotifyPayload, qm: Qm): boolean {
  if ((n.protocol !== ProtocolId.PROTO_IPSEC_AH && n.protocol !== ProtocolId.PROTO_IPSEC_ESP) || n.spi.length !== 4 || isZero(n.spi)) return true;
  for (const spis of qm.ourSpis ?? []) for (const spi of spis) if (bytesEqual(spi, n.spi)) return true;
  return false;
}

/** The `peer-error` event of an error notify from the peer of `p1` that ended no exchange of ours. */
function peerError(x: Engine, p1: P1, n: NotifyPayload, authenticated: boolean): void {
  const isakmpSa = x.sas.p1Id(p1);
  x.emit({ type: 'peer-error', peer: p1.remote, connection: p1.conn.name, isakmpSa, notify: n.notifyType, authenticated, reason: peerErrorText(n, authenticated, isakmpSa) });
}

/** An authenticated notify from the peer: acted upon where it calls for it, then a `notify` event. */
export function notifyIn(x: Engine, p1: KeyedP1, n: NotifyPayload): void {
  // an error under the keys of a phase 1 still negotiating (the responder refused our message 5
  // for our identity or certificate; the initiator refused its message 6): that negotiation ends
  if (p1.life === 'negotiating') {
    if (isErrorNotify(n.notifyType)) failP1(x, p1, n.notifyType, peerRefusalText(n.notifyType, true, p1), 'PEER_REFUSED');
    return;
  }
  // the initiator refused our message 6 (our identity, signature or certificate) after we had
  // completed the ISAKMP SA: it will never use it, so it goes, said why. Only a fresh SA of ours
  // as responder (no Quick Mode and no IPsec SA under it yet) and only for such a refusal: an
  // error about a Quick Mode carries the same SPI
  if (PHASE1_REFUSALS.has(n.notifyType) && p1.role === 'responder' && p1.qms === undefined && n.protocol === ProtocolId.PROTO_ISAKMP && n.spi.length === 16 && bytesEqual(n.spi.subarray(0, 8), p1.ic) && bytesEqual(n.spi.subarray(8), p1.rc) && !hasIpsecSas(x, p1)) {
    x.emit({ type: 'dropped', peer: p1.remote, notify: 0, cause: 'PEER_REFUSED', connection: p1.conn.name, reason: `${peerRefusalText(n.notifyType, true, p1)}; the ISAKMP SA is deleted` });
    removeP1(x, p1, { type: 'deleted', kind: 'isakmp', id: x.sas.p1Id(p1), connection: p1.conn.name, by: 'peer' });
    return;
  }
  switch (n.notifyType) {
    case NotifyType.R_U_THERE:
      answer(x, p1, n);
      break;
    case NotifyType.INITIAL_CONTACT:
      clearOlderSas(x, p1);
      break;
    default:
      // an authenticated error answers a Quick Mode of ours still waiting for HASH(2), unless it
      // names an AH/ESP SPI we did not offer in it (Cisco's INVALID_SPI for stray ESP traffic)
      if (isErrorNotify(n.notifyType)) {
        let answered = false;
        for (const qm of [...(p1.qms?.values() ?? [])]) {
          if (qm.role === 'initiator' && qm.state === 'sent-qm1' && concernsQm(n, qm)) {
            failQm(x, qm, n.notifyType, peerRefusalText(n.notifyType, true, p1, qm), 'PEER_REFUSED');
            answered = true;
          }
        }
        // an error that ended nothing of ours (a late refusal, a stray INVALID_SPI): named on its own
        if (!answered) peerError(x, p1, n, true);
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
