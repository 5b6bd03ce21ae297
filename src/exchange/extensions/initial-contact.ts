/** (split from endpoint.ts) */
import { type NotifyPayload } from '../../codec/types.js';
import { NotifyType, ProtocolId } from '../../constants/index.js';
import { type PeerIdentity, sameCredentials, samePeerIdentity } from '../authorization.js';
import { bucket } from '../bucket.js';
import { Engine } from '../engine.js';
import { removeChild } from '../ipsec-sa.js';
import { removeP1 } from '../lifecycle.js';
import { P1 } from '../records.js';
import { p1Id } from '../tables.js';
import { type Address, type Connection } from '../types.js';
import { cookiePair } from '../wire.js';

/** INITIAL-CONTACT only when we hold nothing else with this peer (never on a rekey). */
export function wantInitialContact(eng: Engine, p1: P1): boolean {
  // sent by the initiator only (as strongSwan does), never on a rekey
  if (p1.role !== 'initiator' || p1.conn.initialContact === false || p1.rekeyOf) return false;
  for (const o of bucket(eng.p1ByPair, p1.pairKey)) if (o !== p1 && o.state === 'established') return false;
  if (eng.childByPair.has(p1.pairKey)) return false;
  return true;
}

export function initialContactNotify(eng: Engine, p1: P1): NotifyPayload {
  return { type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.INITIAL_CONTACT, spi: cookiePair(p1), data: new Uint8Array(0) };
}

/**
 * INITIAL-CONTACT (RFC 2407 §4.6.3.3) deletes the SAs "with the sender": between the same
 * addresses, of the same authenticated identity proved with the same credentials, and behind a
 * NAT (UDP encapsulation) of the same port only: two users behind one NAT, or a peer holding
 * weaker credentials, never tear down each other's SAs (issue 9.2).
 */
export function initialContact(eng: Engine, p1: P1): void {
  for (const other of bucket(eng.p1ByPair, p1.pairKey)) {
    if (other === p1 || other.state !== 'established' || !sameSender(eng, p1, other.conn, other.peerId, other.remote)) continue;
    removeP1(eng, other, { type: 'deleted', kind: 'isakmp', id: p1Id(eng, other), connection: other.conn.name, by: 'peer' });
  }
  for (const c of bucket(eng.childByPair, p1.pairKey)) {
    if (sameSender(eng, p1, c.conn, c.peer, c.info.remote)) removeChild(eng, c, 'peer');
  }
}

/** An SA (its connection, the peer identity it was negotiated with, its peer address) belongs to the peer of `p1`. */
export function sameSender(eng: Engine, p1: P1, conn: Connection, peer: PeerIdentity | undefined, remoteAddr: Address): boolean {
  if (!sameCredentials(p1.conn, conn) || !samePeerIdentity(p1.peerId, peer)) return false;
  return !p1.natt || remoteAddr.port === p1.remote.port;
}
