/**
 * INITIAL-CONTACT (RFC 2407 §4.6.3.3) as an extension: we send it in our authentication message
 * as phase-1 initiator when we hold nothing with the peer (never on a rekey, as strongSwan does);
 * the peer's, inside its authenticated final phase-1 message or a protected Informational, deletes
 * the older SAs "with the sender" — within what the peer proved (issue 9.2, see clearOlderSas).
 * @module
 */
import type { Payload } from '../../codec/types.js';
import { NotifyType, ProtocolId } from '../../constants/index.js';
import type { PeerIdentity } from '../authorization.js';
import { sameCredentials, samePeerIdentity } from '../authorization.js';
import type { Engine } from '../engine.js';
import { removeChild } from '../ipsec-sa.js';
import { removeP1 } from '../lifecycle.js';
import type { P1 } from '../records.js';
import type { Address, Connection } from '../types.js';
import { cookiePair } from '../wire.js';
import type { Extension } from './index.js';
import { natt } from './nat-t.js';

const NONE: readonly Payload[] = [];
const EMPTY = new Uint8Array(0);

/** INITIAL-CONTACT only as initiator, when we hold nothing else with this peer (never on a rekey). */
function wanted(x: Engine, p1: P1): boolean {
  if (p1.role !== 'initiator' || p1.conn.initialContact === false || p1.rekeyOf) return false;
  for (const o of x.sas.p1sOfPair(p1.pairKey)) if (o !== p1 && o.life === 'established') return false;
  return !x.sas.hasChildren(p1.pairKey);
}

/** An SA (its connection, the peer identity it was negotiated with, its peer address) belongs to the peer of `p1`. */
function sameSender(p1: P1, conn: Connection, peer: PeerIdentity | undefined, remoteAddr: Address): boolean {
  if (!sameCredentials(p1.conn, conn) || !samePeerIdentity(p1.peerId, peer)) return false;
  return !natt(p1) || remoteAddr.port === p1.remote.port;
}

/**
 * INITIAL-CONTACT deletes the SAs "with the sender": between the same addresses, of the same
 * authenticated identity proved with the same credentials, and behind a NAT (UDP encapsulation)
 * of the same port only: two users behind one NAT, or a peer holding weaker credentials, never
 * tear down each other's SAs (issue 9.2).
 */
export function clearOlderSas(x: Engine, p1: P1): void {
  for (const other of [...x.sas.p1sOfPair(p1.pairKey)]) {
    if (other === p1 || other.life !== 'established' || !sameSender(p1, other.conn, other.peerId, other.remote)) continue;
    removeP1(x, other, { type: 'deleted', kind: 'isakmp', id: x.sas.p1Id(other), connection: other.conn.name, by: 'peer' });
  }
  for (const c of [...x.sas.childrenOfPair(p1.pairKey)]) {
    if (sameSender(p1, c.conn, c.peer, c.info.remote)) removeChild(x, c, 'peer');
  }
}

export const initialContact: Extension = {
  name: 'initial-contact',

  authOut(x, p1) {
    if (!wanted(x, p1)) return NONE;
    return [{ type: 'N', doi: p1.doi.id, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.INITIAL_CONTACT, spi: cookiePair(p1), data: EMPTY }];
  },

  authIn(x, p1, payloads) {
    // inside the authenticated exchange: forget older SAs with this peer (not when rekeying)
    if (p1.rekeyOf) return;
    if (payloads.some((n) => n.type === 'N' && n.notifyType === NotifyType.INITIAL_CONTACT)) clearOlderSas(x, p1);
  },
};
