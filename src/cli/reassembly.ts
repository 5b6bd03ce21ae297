/**
 * IKEv1 fragment reassembly for `isakmp decode` (Cisco/strongSwan payload 132): the fragments of
 * one message share the initiator cookie and Fragment ID, are numbered from 1, and the last one
 * has flag LAST (0x01). Bounded as SHAPES.md #2–#4 ask: at most MAX_FRAGMENTS per message and
 * MAX_TOTAL bytes, duplicates ignored, a new Fragment ID for the same SA resets the queue, and the
 * message is put together only from bytes actually received.
 * @module
 */
import type { FragmentPayload, Message } from '../codec/index.js';
import { toHex } from '../crypto/bytes.js';

export const MAX_FRAGMENTS = 64;
export const MAX_TOTAL = 65535;

interface Queue {
  id: number;
  parts: Map<number, Uint8Array>;
  bytes: number;
  last: number | undefined;
}

export type ReassemblyOutcome =
  | { readonly complete: true; readonly data: Uint8Array; readonly count: number }
  | { readonly complete: false; readonly note?: string };

export class Reassembler {
  private readonly queues = new Map<string, Queue>();

  /** Feed a decoded message; returns the reassembled inner message bytes once complete. */
  add(m: Message): ReassemblyOutcome | undefined {
    const frags = m.payloads.filter((p): p is FragmentPayload => p.type === 'FRAG');
    if (frags.length === 0) return undefined;
    let out: ReassemblyOutcome = { complete: false };
    for (const f of frags) out = this.one(toHex(m.header.initiatorCookie), f);
    return out;
  }

  private one(sa: string, f: FragmentPayload): ReassemblyOutcome {
    let q = this.queues.get(sa);
    if (q === undefined || q.id !== f.fragmentId) {
      q = { id: f.fragmentId, parts: new Map(), bytes: 0, last: undefined };
      this.queues.set(sa, q);
    }
    if (f.fragmentNumber > MAX_FRAGMENTS) return { complete: false, note: `fragment number ${f.fragmentNumber} above ${MAX_FRAGMENTS}: ignored` };
    if (q.parts.has(f.fragmentNumber)) return { complete: false, note: `duplicate fragment ${f.fragmentNumber}: ignored` };
    if (f.flags & 1) {
      if (q.last !== undefined) return { complete: false, note: 'second LAST fragment: ignored' };
      q.last = f.fragmentNumber;
    }
    if (q.bytes + f.data.length > MAX_TOTAL) {
      this.queues.delete(sa);
      return { complete: false, note: `fragments exceed ${MAX_TOTAL} bytes: queue dropped` };
    }
    q.parts.set(f.fragmentNumber, f.data);
    q.bytes += f.data.length;
    if (q.last === undefined || q.parts.size < q.last) return { complete: false };
    for (let i = 1; i <= q.last; i++) if (!q.parts.has(i)) return { complete: false };
    if (q.parts.size !== q.last) {
      this.queues.delete(sa);
      return { complete: false, note: 'fragments numbered beyond LAST: queue dropped' };
    }
    const data = new Uint8Array(q.bytes);
    let at = 0;
    for (let i = 1; i <= q.last; i++) { const p = q.parts.get(i)!; data.set(p, at); at += p.length; }
    this.queues.delete(sa);
    return { complete: true, data, count: q.last };
  }
}
