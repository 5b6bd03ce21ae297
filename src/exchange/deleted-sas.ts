/**
 * The ISAKMP SAs we deleted last, by their cookies. A Delete is sent once and never answered
 * (RFC 2408 §3.15, §4.6.3: Informational exchanges are not acknowledged), so when it is lost the
 * peer still holds the SA and goes on using it: its next Quick Mode or Transaction comes under
 * cookies we no longer know, and it repeats that until its retransmissions give up (strongSwan's
 * defaults: about 165 s) before it starts over with a new phase 1. Such a message cannot be read
 * (the keys are gone) and is dropped as any message under unknown cookies is; this memory only
 * lets the drop say why, once per SA at the default level (`deletedSaInUse`, phase2.ts).
 *
 * Bounded: the last `DELETED_SAS_KEPT` SAs (cookies, connection name, peer address), oldest
 * forgotten first; no timer (it is a name for a drop, not state anyone waits on).
 * @module
 */
import { toHexFlat } from '../crypto/bytes.js';
import type { P1 } from './records.js';

/** How many deleted ISAKMP SAs are remembered. */
export const DELETED_SAS_KEPT = 64;

/** One ISAKMP SA we deleted (and told the peer so). */
export interface DeletedSa {
  readonly connection: string;
  readonly peerAddress: string;
  /** Its cookies in hex (i | r), as the SA id reads. */
  readonly id: string;
  /** A message under it was named once already (later ones are plain drops). */
  named: boolean;
}

export class DeletedSas {
  private readonly byCookies = new Map<string, DeletedSa>();

  constructor(private readonly kept = DELETED_SAS_KEPT) {}

  /** `p1` was deleted by us, its Delete sent. */
  remember(p1: P1): void {
    const id = toHexFlat(p1.ic, p1.rc);
    this.byCookies.delete(id);
    this.byCookies.set(id, { connection: p1.conn.name, peerAddress: p1.remote.address.toLowerCase(), id, named: false });
    if (this.byCookies.size > this.kept) {
      const oldest = this.byCookies.keys().next();
      if (!oldest.done) this.byCookies.delete(oldest.value);
    }
  }

  /** The deleted SA with these cookies, when the message comes from its peer's address. */
  find(initiatorCookie: Uint8Array, responderCookie: Uint8Array, peerAddress: string): DeletedSa | undefined {
    const d = this.byCookies.get(toHexFlat(initiatorCookie, responderCookie));
    return d && d.peerAddress === peerAddress.toLowerCase() ? d : undefined;
  }
}
