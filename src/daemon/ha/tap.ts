/**
 * What a shard replicates after each batch of work: the SAs the batch touched, exported as
 * snapshot records (src/exchange/snapshot.ts) when what the store holds for them changed, and
 * the SAs that went away. Runs beside the engine (in its worker), never inside it.
 *
 * Touched: the ISAKMP SA named by the cookies of every datagram in and out (a Quick Mode, an
 * Informational, a retransmission), and every SA an event names. Changed: the record differs
 * from the last one handed out in anything but the RFC 3706 sequence numbers and the IPsec SA
 * byte count: those move with every probe and every traffic poll, and a node that takes over
 * copes with older values (docs/ha.md), so they are written along with other changes only. At
 * most one record per SA per batch, whatever the batch held.
 */
import { createHash } from 'node:crypto';
import { exportIpsecSa, exportIsakmpSa, type IpsecSaRecord, type IsakmpSaRecord, type SaRecord } from '../../exchange/snapshot.js';
import type { Endpoint } from '../../exchange/index.js';
import type { EngineEvent } from '../engine.js';
import type { SaRemoval } from '../shards/protocol.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The hex SA id (initiator + responder cookie) at the start of an ISAKMP message. */
function idOfMessage(data: Uint8Array): string | undefined {
  if (data.length < 28) return undefined;
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[data[i]!];
  return s;
}

/** What decides whether a record must be written again (see the module comment). */
function digestOf(r: SaRecord): string {
  const stable = r.kind === 'isakmp' ? ({ ...r, dpd: undefined } as IsakmpSaRecord) : ({ ...r, bytes: 0 } as IpsecSaRecord);
  return createHash('sha256').update(JSON.stringify(stable)).digest('base64');
}

export class SnapshotTap {
  private readonly isakmp = new Set<string>();
  private readonly ipsec = new Set<string>();
  private removed: SaRemoval[] = [];
  /** The digest of the last record handed out per SA id. */
  private readonly written = new Map<string, string>();

  noteMessage(data: Uint8Array): void {
    const id = idOfMessage(data);
    if (id !== undefined) this.isakmp.add(id);
  }

  noteEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'phase1-established':
        this.isakmp.add(e.sa.id);
        break;
      case 'ipsec-sa-established':
      case 'ipsec-sa-updated':
        this.ipsec.add(e.sa.id);
        this.isakmp.add(e.sa.isakmpSa);
        break;
      case 'deleted':
        this.gone(e.kind, e.id);
        break;
      case 'expired':
        if (e.hard) this.gone(e.kind, e.id);
        break;
      default:
        break;
    }
  }

  /** A record taken over from the store: what the store holds already. */
  noteImported(r: SaRecord): void {
    this.written.set(r.id, digestOf(r));
  }

  private gone(kind: 'isakmp' | 'ipsec', id: string): void {
    this.isakmp.delete(id);
    this.ipsec.delete(id);
    if (this.written.delete(id)) this.removed.push({ kind, id });
  }

  /** The records to write and the SAs to remove since the last flush. */
  flush(ep: Endpoint): { put: SaRecord[]; removed: SaRemoval[] } {
    const put: SaRecord[] = [];
    const take = (r: SaRecord | undefined): void => {
      if (r === undefined) return;
      const d = digestOf(r);
      if (this.written.get(r.id) === d) return;
      this.written.set(r.id, d);
      put.push(r);
    };
    for (const id of this.isakmp) take(exportIsakmpSa(ep, id));
    for (const id of this.ipsec) take(exportIpsecSa(ep, id));
    this.isakmp.clear();
    this.ipsec.clear();
    const removed = this.removed;
    this.removed = [];
    return { put, removed };
  }

  /** Every SA the endpoint holds, as records (a full resynchronisation). */
  all(ep: Endpoint): SaRecord[] {
    const out: SaRecord[] = [];
    for (const s of ep.isakmpSas()) {
      const r = exportIsakmpSa(ep, s.id);
      if (r) out.push(r);
    }
    for (const s of ep.ipsecSas()) {
      const r = exportIpsecSa(ep, s.id);
      if (r) out.push(r);
    }
    return out;
  }
}
