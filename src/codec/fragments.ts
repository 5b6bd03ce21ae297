/**
 * IKEv1 fragments (the Cisco / strongSwan form, payload 132): reassembly and splitting, shared by
 * the engine (extensions/fragmentation.ts) and `isakmp decode` (cli/reassembly.ts).
 *
 * A message too large for one datagram is cut into pieces; each piece travels in its own datagram
 * whose ISAKMP header copies the original's cookies, exchange type and message ID, with Next Payload
 * 132 and no flags, and one FRAG payload: Fragment ID (the same for all pieces of one message),
 * Fragment Number from 1, Flags (LAST = 0x01 on the final piece), data.
 *
 * Reassembly follows SHAPES.md rows #2, #3, #4 and #20: at most `maxFragments` numbered pieces and
 * `maxBytes` bytes per message, fragment number 0 refused by the decoder, duplicates ignored, a
 * second LAST or a piece numbered above LAST drops the queue, a new Fragment ID for the same SA
 * replaces the old queue, at most `perPeer` queues per peer and `total` in all, each queue lives
 * at most `timeoutMs`. Work per fragment is O(1) (a map indexed by number, a completeness count),
 * and the message is put together only from bytes actually received (no length from the peer).
 * Sans-IO: time is the caller's `now`.
 * @module
 */
import { NotifyType, PayloadType } from '../constants/index.js';
import { toHex } from '../crypto/bytes.js';
import { encodeMessage } from './message.js';
import type { FragmentPayload, Header } from './types.js';

/** The flag of the final fragment. */
export const FRAGMENT_LAST = 0x01;

export interface ReassemblyLimits {
  /** Fragments per message (numbers above are refused). */
  readonly maxFragments: number;
  /** Bytes of fragment data per message. */
  readonly maxBytes: number;
  /** Reassembly queues per peer (key `peer`). */
  readonly perPeer: number;
  /** Reassembly queues in all. */
  readonly total: number;
  /** Lifetime of a queue from its first fragment. */
  readonly timeoutMs: number;
}

/** strongSwan's caps: 10000 bytes per message (charon.max_packet); 16 pieces as charon sends at most. */
export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxFragments: 16, maxBytes: 10000, perPeer: 2, total: 64, timeoutMs: 30_000 };

interface Queue {
  readonly key: string;
  readonly peer: string;
  readonly id: number;
  readonly born: number;
  readonly parts: Map<number, Uint8Array>;
  bytes: number;
  last: number | undefined;
}

export type FragmentOutcome =
  | { readonly kind: 'complete'; readonly data: Uint8Array; readonly count: number }
  | { readonly kind: 'pending'; readonly duplicate?: true }
  /** The fragment was not taken; `reason` in operator words, `notify` for the log line. */
  | { readonly kind: 'refused'; readonly reason: string; readonly notify: number };

const PENDING: FragmentOutcome = { kind: 'pending' };
const DUPLICATE: FragmentOutcome = { kind: 'pending', duplicate: true };
const refused = (reason: string, notify: number = NotifyType.PAYLOAD_MALFORMED): FragmentOutcome => ({ kind: 'refused', reason, notify });

const BEYOND_LAST = 'fragments numbered beyond LAST: queue dropped';

/** Bounded reassembly queues keyed by (peer, initiator cookie). */
export class FragmentReassembly {
  private readonly queues = new Map<string, Queue>();
  private readonly perPeer = new Map<string, number>();

  constructor(readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) {}

  /** Queues held now (tests, status). */
  get size(): number {
    return this.queues.size;
  }

  /** Drops queues older than the timeout; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const q of this.queues.values()) if (now - q.born >= this.limits.timeoutMs) { this.drop(q); n++; }
    return n;
  }

  /** The earliest time a queue expires (undefined: none held). */
  nextExpiry(): number | undefined {
    let t: number | undefined;
    for (const q of this.queues.values()) if (t === undefined || q.born + this.limits.timeoutMs < t) t = q.born + this.limits.timeoutMs;
    return t;
  }

  /** Feeds one fragment from `peer` for the SA of `icookie`. */
  add(now: number, peer: string, icookie: Uint8Array, f: FragmentPayload): FragmentOutcome {
    this.expire(now);
    const L = this.limits;
    if (f.fragmentNumber < 1) return refused('fragment number 0 (numbers start at 1)');
    if (f.fragmentNumber > L.maxFragments) return refused(`fragment number ${f.fragmentNumber} above ${L.maxFragments}: ignored`);
    const key = `${peer}|${toHex(icookie)}`;
    let q = this.queues.get(key);
    if (q !== undefined && q.id !== f.fragmentId) { this.drop(q); q = undefined; }
    if (q === undefined) {
      if ((this.perPeer.get(peer) ?? 0) >= L.perPeer) return refused(`${L.perPeer} fragmented messages already in reassembly from this peer`, NotifyType.INVALID_PAYLOAD_TYPE);
      if (this.queues.size >= L.total) return refused(`${L.total} fragmented messages already in reassembly in all`, NotifyType.INVALID_PAYLOAD_TYPE);
      q = { key, peer, id: f.fragmentId, born: now, parts: new Map(), bytes: 0, last: undefined };
      this.queues.set(key, q);
      this.perPeer.set(peer, (this.perPeer.get(peer) ?? 0) + 1);
    }
    if (q.parts.has(f.fragmentNumber)) return DUPLICATE; // a retransmission: ignored
    if (f.flags & FRAGMENT_LAST) {
      if (q.last !== undefined) { this.drop(q); return refused('a second LAST fragment: queue dropped'); }
      for (const n of q.parts.keys()) if (n > f.fragmentNumber) { this.drop(q); return refused(BEYOND_LAST); }
      q.last = f.fragmentNumber;
    } else if (q.last !== undefined && f.fragmentNumber > q.last) {
      this.drop(q);
      return refused(BEYOND_LAST);
    }
    if (q.bytes + f.data.length > L.maxBytes) { this.drop(q); return refused(`fragments exceed ${L.maxBytes} bytes: queue dropped`); }
    q.parts.set(f.fragmentNumber, f.data);
    q.bytes += f.data.length;
    if (q.last === undefined || q.parts.size !== q.last) return PENDING;
    const data = new Uint8Array(q.bytes);
    let at = 0;
    for (let i = 1; i <= q.last; i++) { const p = q.parts.get(i)!; data.set(p, at); at += p.length; }
    this.drop(q);
    return { kind: 'complete', data, count: q.last };
  }

  private drop(q: Queue): void {
    if (this.queues.get(q.key) !== q) return;
    this.queues.delete(q.key);
    const n = (this.perPeer.get(q.peer) ?? 1) - 1;
    if (n <= 0) this.perPeer.delete(q.peer); else this.perPeer.set(q.peer, n);
  }
}

/**
 * Cuts the whole encoded message `message` (header included) into datagrams of FRAG payloads with
 * at most `dataSize` bytes of data each; `header` is the original's header (cookies, exchange,
 * message ID are copied; flags cleared, as the fragment itself is not encrypted).
 */
export function fragmentMessage(header: Header, message: Uint8Array, fragmentId: number, dataSize: number): Uint8Array[] {
  if (dataSize < 1) throw new RangeError('fragment size must be at least 1 byte');
  const count = Math.ceil(message.length / dataSize);
  if (count > 255) throw new RangeError(`message of ${message.length} bytes needs ${count} fragments (at most 255)`);
  const out: Uint8Array[] = [];
  const h: Header = { ...header, flags: 0 };
  for (let i = 0; i < count; i++) {
    const data = message.subarray(i * dataSize, Math.min(message.length, (i + 1) * dataSize));
    const f: FragmentPayload = { type: 'FRAG', fragmentId, fragmentNumber: i + 1, flags: i === count - 1 ? FRAGMENT_LAST : 0, data };
    out.push(encodeMessage({ header: h, payloads: [f] }));
  }
  return out;
}

/** The payload type number of a fragment (the Next Payload of a fragment's header). */
export const FRAGMENT_PAYLOAD = PayloadType.FRAGMENT;
