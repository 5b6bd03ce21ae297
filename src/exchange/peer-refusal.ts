/**
 * What an error notify from the peer means for an exchange of ours, in the operator's words
 * (issue 10): the notify named (NO_PROPOSAL_CHOSEN, not "notify 14"), whether it was
 * authenticated, and the probable cause with what to check, from the notify type and where our
 * exchange stood when it came (a refused Main Mode message 5 is what a pre-shared key mismatch
 * looks like from the initiator).
 * @module
 */
import { NotifyType, ProtocolId, nameOf } from '../constants/index.js';
import type { NotifyPayload } from '../codec/types.js';
import { isZero, toHex } from '../crypto/bytes.js';
import { identityText } from './ids.js';
import { ikeTransformName, ipsecTransformName } from './names.js';
import { selectorText } from './offer-text.js';
import type { P1, Qm } from './records.js';
import type { Connection } from './types.js';

/** Where our exchange stood: before the peer saw our authentication, after, or in a Quick Mode. */
type Stage = 'proposal' | 'authentication' | 'quick-mode';

function stageOf(p1: P1): Stage {
  switch (p1.exchangeState) {
    case 'sent-mm1':
    case 'sent-mm2':
    case 'sent-am1':
      return 'proposal';
    default:
      return 'authentication';
  }
}

function ikeOffer(conn: Connection): string {
  const auth = conn.auth === 'psk' ? 1 : 3;
  return conn.ike.map((p) => ikeTransformName({ ...p, keyLength: p.keyLength ?? 0, auth }).split(' ')[0]).join(', ');
}

function ipsecOffer(conn: Connection): string {
  return conn.ipsec.map((p) => p.protocols.map((s) => ipsecTransformName(s, p.group ?? 0)).join(' + ')).join(', ');
}

/** The probable cause of an error notify and what to check, for an exchange at `stage`. */
function hint(notify: number, stage: Stage, conn: Connection, qm: Qm | undefined): string {
  switch (notify) {
    case NotifyType.NO_PROPOSAL_CHOSEN:
      return stage === 'quick-mode'
        ? `the peer accepts none of our Quick Mode proposals (we offered ${ipsecOffer(conn)}): compare esp/ah and pfs on both sides`
        : stage === 'proposal'
          ? `the peer accepts none of our phase-1 proposals (we offered ${ikeOffer(conn)}) or has no connection for us: compare ike and the peer's address on both sides`
          : `the peer has no connection that accepts this exchange: compare ike, identities and the authentication method on both sides`;
    case NotifyType.AUTHENTICATION_FAILED:
    case NotifyType.INVALID_HASH_INFORMATION:
    case NotifyType.PAYLOAD_MALFORMED:
    case NotifyType.INVALID_PAYLOAD_TYPE:
      if (stage === 'authentication') {
        return conn.auth === 'psk'
          ? 'probable pre-shared key mismatch: the peer could not decrypt or verify our authentication; check that both sides use the same psk for this peer'
          : 'the peer refused our authentication: check our certificate, its chain and the peer\'s CA';
      }
      return 'the peer could not parse our message';
    case NotifyType.INVALID_ID_INFORMATION:
      return stage === 'quick-mode'
        ? `the peer refused our traffic selectors${qm ? ` ${selectorText(qm.localTs)} === ${selectorText(qm.remoteTs)}` : ''}: compare local_ts / remote_ts on both sides`
        : `the peer does not accept our identity ${identityText(conn.localId)}: compare our local.id with the peer's remote id for us`;
    case NotifyType.INVALID_CERTIFICATE:
    case NotifyType.INVALID_SIGNATURE:
    case NotifyType.INVALID_CERT_AUTHORITY:
    case NotifyType.CERT_TYPE_UNSUPPORTED:
    case NotifyType.INVALID_CERT_ENCODING:
    case NotifyType.CERTIFICATE_UNAVAILABLE:
      return 'the peer refused our certificate: check our certificate and its chain (chain:), and the CA the peer trusts';
    case NotifyType.INVALID_KEY_INFORMATION:
      return 'the peer refused our Diffie-Hellman value or PFS group: compare the groups on both sides';
    default:
      return 'see the peer\'s log for the cause';
  }
}

/**
 * The reason of a failure caused by an error notify from the peer: `the peer refused the phase 1:
 * NO_PROPOSAL_CHOSEN (unauthenticated notify): the peer accepts none of …`.
 */
export function peerRefusalText(notify: number, authenticated: boolean, p1: P1, qm?: Qm): string {
  const stage: Stage = qm ? 'quick-mode' : stageOf(p1);
  const what = qm ? 'the Quick Mode' : 'the phase 1';
  return `the peer refused ${what}: ${nameOf(NotifyType, notify)} (${authenticated ? 'authenticated' : 'unauthenticated'} notify): ${hint(notify, stage, qm?.conn ?? p1.conn, qm)}`;
}

/** What an error notify that answers no exchange of ours probably means, and what to check. */
function strayHint(notify: number): string {
  switch (notify) {
    case NotifyType.INVALID_SPI:
      return 'the peer does not know that SPI (it restarted, or deleted the SA while traffic still uses it): check the peer\'s log; if traffic stops, bring the connection up again';
    case NotifyType.INVALID_COOKIE:
    case NotifyType.INVALID_MESSAGE_ID:
      return 'the peer does not know this ISAKMP SA or message (it restarted, or deleted the SA): check the peer\'s log; if traffic stops, bring the connection up again';
    case NotifyType.NO_PROPOSAL_CHOSEN:
      return 'the peer accepts none of the proposals of an exchange it refused late (a rekey, a retransmission): compare ike, esp/ah and pfs on both sides';
    case NotifyType.INVALID_ID_INFORMATION:
      return 'the peer refused an identity or traffic selectors of an exchange already over (a rekey, a retransmission): compare local.id / remote.id and local_ts / remote_ts on both sides';
    default:
      return 'see the peer\'s log for the cause';
  }
}

const SPI_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [ProtocolId.PROTO_IPSEC_AH, 'AH'],
  [ProtocolId.PROTO_IPSEC_ESP, 'ESP'],
]);

/**
 * The reason of a `peer-error` event: an error notify that ended no exchange of ours, `the peer
 * sent INVALID_SPI (ESP SPI c0ffee01; authenticated notify) under ISAKMP SA 3, answering no
 * exchange of ours: the peer does not know …`.
 */
export function peerErrorText(n: NotifyPayload, authenticated: boolean, isakmpSa: string): string {
  const proto = SPI_PROTOCOLS.get(n.protocol);
  const spi = proto !== undefined && n.spi.length === 4 && !isZero(n.spi) ? `${proto} SPI ${toHex(n.spi)}; ` : '';
  const how = authenticated ? 'authenticated notify' : 'unauthenticated notify, not acted upon: anyone on the path can send one';
  return `the peer sent ${nameOf(NotifyType, n.notifyType)} (${spi}${how}) under ISAKMP SA ${isakmpSa}, answering no exchange of ours: ${strayHint(n.notifyType)}`;
}
