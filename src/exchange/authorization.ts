/**
 * Authorization across connections (docs/engine.md "Authorization"): an authenticated peer is only
 * as trusted as the credentials it proved for the connection its ISAKMP SA was negotiated under.
 * A Quick Mode may pick another connection, an INITIAL-CONTACT or a Delete may act on other SAs,
 * and Main Mode message 5 may move the ISAKMP SA to another connection, only when that connection
 * asks for nothing more than what the peer proved:
 *
 *   - the same authentication method and the same secret (PSK), or the same trust anchors and
 *     CRLs or configured peer key (signatures): what the peer proved for one, it proved for the other;
 *   - a remote identity that matches the identity the peer authenticated with;
 *   - the same local identity (the peer authenticated us under that name).
 *
 * Pure functions over engine records; no state.
 */
import { IdType } from '../constants/index.js';
import { bytesEqual } from '../crypto/bytes.js';
import { dnEqual } from './crypto.js';
import { addressIdentity, identityMatches, identityToId } from './ids.js';
import type { Connection, Identity } from './types.js';

/** What the peer's ID payload said, as kept on an ISAKMP SA. */
export type PeerIdentity = Identity | { readonly type: 'other'; readonly idType: number; readonly data: Uint8Array };


/** The same certificates, as sets (order and duplicates do not matter). */
function sameDerSet(a: readonly Uint8Array[] | undefined, b: readonly Uint8Array[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x === y) return true;
  for (const c of x) if (!y.some((d) => bytesEqual(c, d))) return false;
  for (const d of y) if (!x.some((c) => bytesEqual(c, d))) return false;
  return true;
}

/**
 * Whether proving the credentials of connection `a` proves those of `b`: the same method and
 * the same PSK, or (signatures) the same configured peer key or the same set of trust anchors.
 */
export function sameCredentials(a: Connection, b: Connection): boolean {
  if (a === b) return true;
  if (a.auth === 'psk') return b.auth === 'psk' && bytesEqual(a.psk, b.psk);
  if (b.auth !== 'rsa-sig') return false;
  const ra = a.rsa;
  const rb = b.rsa;
  if (!ra || !rb) return false;
  if (ra.peerPublicKey !== undefined || rb.peerPublicKey !== undefined) {
    return ra.peerPublicKey !== undefined && rb.peerPublicKey !== undefined && ra.peerPublicKey.equals(rb.peerPublicKey);
  }
  // the same anchors and the same revocation lists: a peer not checked against b's CRLs proved nothing for b
  return sameDerSet(ra.trusted, rb.trusted) && sameDerSet(ra.crls?.map((c) => c.raw), rb.crls?.map((c) => c.raw));
}

/** The wire form (ID type and data) of a peer identity. */
export function peerIdWire(id: PeerIdentity): { idType: number; data: Uint8Array } {
  return id.type === 'other' ? { idType: id.idType, data: id.data } : identityToId(id);
}

/** Same ID type and data; DNs compared by RFC 5280 §7.1 (dnEqual), the one DN comparison. */
function sameIdWire(x: { idType: number; data: Uint8Array }, y: { idType: number; data: Uint8Array }): boolean {
  if (x.idType !== y.idType) return false;
  return x.idType === IdType.ID_DER_ASN1_DN ? dnEqual(x.data, y.data) : bytesEqual(x.data, y.data);
}

/** Two peer identities name the same peer (same ID type and data; names case-insensitively; DNs by RFC 5280). */
export function samePeerIdentity(a: PeerIdentity | undefined, b: PeerIdentity | undefined): boolean {
  if (a === b) return a !== undefined;
  if (!a || !b || a.type === 'any' || b.type === 'any') return false;
  if ((a.type === 'fqdn' || a.type === 'user-fqdn') && a.type === b.type) return a.value.toLowerCase() === b.value.toLowerCase();
  return sameIdWire(peerIdWire(a), peerIdWire(b));
}

/**
 * The identity a connection expects: configured, else the peer's address, whatever the
 * authentication (issue 9.4: with RSA, "any identity the CA certified" let any holder of a
 * certificate from the same CA pose as the gateway; the address must now be in its certificate).
 */
export function expectedPeerId(c: Connection, peerAddress: string): Identity {
  return c.remoteId ?? addressIdentity(peerAddress);
}

/** Our identity under a connection: configured, else our address. */
export function ourIdentityFor(c: Connection, localAddress: string): Identity {
  return c.localId ?? addressIdentity(localAddress);
}

/**
 * May the holder of an ISAKMP SA negotiated under `proved` (authenticated as `peer`, with us
 * authenticated as `proved`'s local identity) act under connection `c`?
 */
export function provedFor(proved: Connection, peer: PeerIdentity | undefined, c: Connection, addresses: { local: string; remote: string }): boolean {
  if (c === proved) return true;
  if (!peer || !sameCredentials(proved, c)) return false;
  if (!sameIdWire(peerIdWire(ourIdentityFor(c, addresses.local)), peerIdWire(ourIdentityFor(proved, addresses.local)))) return false;
  const id = peerIdWire(peer);
  return identityMatches(expectedPeerId(c, addresses.remote), id.idType, id.data);
}
