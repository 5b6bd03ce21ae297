/**
 * IKEv1 fragment reassembly for `isakmp decode` (Cisco/strongSwan payload 132), on the shared
 * bounded reassembly of codec/fragments.ts (the engine uses the same code): fragments of one
 * message share the initiator cookie and Fragment ID. A capture is one "peer" here, with room for
 * as many messages in reassembly as a capture holds SAs, and no timeout (captures are read at once).
 * @module
 */
import type { FragmentPayload, Message } from '../codec/index.js';
import { FragmentReassembly } from '../codec/fragments.js';

export const MAX_FRAGMENTS = 64;
export const MAX_TOTAL = 65535;

export type ReassemblyOutcome =
  | { readonly complete: true; readonly data: Uint8Array; readonly count: number }
  | { readonly complete: false; readonly note?: string };

export class Reassembler {
  private readonly queues = new FragmentReassembly({ maxFragments: MAX_FRAGMENTS, maxBytes: MAX_TOTAL, perPeer: 4096, total: 4096, timeoutMs: Number.POSITIVE_INFINITY });

  /** Feed a decoded message; returns the reassembled inner message bytes once complete. */
  add(m: Message): ReassemblyOutcome | undefined {
    const frags = m.payloads.filter((p): p is FragmentPayload => p.type === 'FRAG');
    if (frags.length === 0) return undefined;
    let out: ReassemblyOutcome = { complete: false };
    for (const f of frags) {
      const r = this.queues.add(0, '', m.header.initiatorCookie, f);
      out = r.kind === 'complete' ? { complete: true, data: r.data, count: r.count }
        : r.kind === 'refused' ? { complete: false, note: r.reason }
        : r.duplicate ? { complete: false, note: `duplicate fragment ${f.fragmentNumber}: ignored` } : { complete: false };
    }
    return out;
  }
}
