/**
 * What an error notify from the peer means for an exchange of ours, in the operator's words
 * (issue 10): the notify named (NO_PROPOSAL_CHOSEN, not "notify 14"), whether it was
 * authenticated, and the probable cause with what to check, from the notify type and where our
 * exchange stood when it came (a refused Main Mode message 5 is what a pre-shared key mismatch
 * looks like from the initiator).
 * @module
 */
import { NotifyType, nameOf } from '../constants/index.js';
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
