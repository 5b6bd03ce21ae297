/**
 * Replay protection under an ISAKMP SA (issue 9.3): every message ID the peer used for a Quick Mode
 * or a non-DPD Informational exchange is kept for the life of the SA, so a message captured and
 * replayed hours later is refused however much traffic came in between. The set is bounded by a
 * per-SA budget; near it the SA is rekeyed (or retired), at it new message IDs are refused.
 *
 * Dead Peer Detection messages (an Informational carrying only R-U-THERE or R-U-THERE-ACK) are
 * protected by their RFC 3706 sequence numbers instead, so liveness traffic does not fill the set:
 * an R-U-THERE is answered only when its number is not older than the last one answered (a
 * retransmission of the same probe, same number, is answered a few times at most), and an ACK
 * counts only when it carries the number of our outstanding probe.
 *
 * The IDs live in a sorted Int32Array (4 bytes each, binary search), the first one in a field of
 * its own so that an SA with one Quick Mode needs no array.
 *
 * A replay is byte-identical to a message taken before. So an authenticated Informational under a
 * message ID already used, whose bytes differ from every message taken under that ID, is not a
 * replay: the peer reused the ID. vpnc does: each of the two Deletes it sends when it disconnects
 * draws its message ID from one random byte, so they share an ID once in 256 disconnects, and use
 * ID 0 as often. The fingerprints of the messages under the peer's latest Informational IDs
 * (`recentInfo`) tell the two apart; a message under an older used ID is refused as a replay, as
 * is a fifth message under one ID. ID 0 (never a Quick Mode's) keeps its fingerprints for the life
 * of the SA.
 */

/** The fields of an ISAKMP SA that hold the message IDs seen (P1 has them). */
export interface SeenIds {
  /** The first message ID seen, as a signed 32-bit integer (0: none; message IDs under an SA are never 0). */
  seen1: number;
  /** The others, sorted as signed 32-bit integers, in `seenRest[0 .. seenCount)`. */
  seenRest: Int32Array | undefined;
  seenCount: number;
  /** Fingerprints of the messages under the peer's latest Informational message IDs (see above). */
  recentInfo: RecentInformational[] | undefined;
}

/** The messages (fingerprints) the peer sent under one Informational message ID. */
export interface RecentInformational {
  /** The message ID, signed 32-bit. */
  readonly id: number;
  readonly fps: number[];
}

/** How many of the peer's latest Informational message IDs keep their messages' fingerprints. */
const RECENT_INFORMATIONAL_IDS = 4;
/** How many different messages the peer may send under one Informational message ID. */
const MESSAGES_PER_ID = 4;

/**
 * Records an authenticated Informational (fingerprint `fp`) under `msgId`; `fresh`: the ID was not
 * used before (and is now marked seen). False: a replay (or one reuse too many), to refuse.
 */
export function takeInformational(s: SeenIds, msgId: number, fp: number, fresh: boolean): boolean {
  const id = msgId | 0;
  const list = (s.recentInfo ??= []);
  const entry = list.find((r) => r.id === id);
  if (entry === undefined) {
    if (!fresh && id !== 0) return false;
    list.push({ id, fps: [fp] });
    // the oldest non-zero ID goes (ID 0 stays: nothing else would refuse its replays)
    if (list.filter((r) => r.id !== 0).length > RECENT_INFORMATIONAL_IDS) list.splice(list.findIndex((r) => r.id !== 0), 1);
    return true;
  }
  if (entry.fps.includes(fp) || entry.fps.length >= MESSAGES_PER_ID) return false;
  entry.fps.push(fp);
  return true;
}

/** How many message IDs an SA holds: the first plus the array's. */
export function seenTotal(s: SeenIds): number {
  return (s.seen1 === 0 ? 0 : 1) + s.seenCount;
}

function search(a: Int32Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function wasSeen(s: SeenIds, msgId: number): boolean {
  if (s.seen1 === (msgId | 0)) return true;
  const a = s.seenRest;
  if (!a) return false;
  const v = msgId | 0;
  const i = search(a, s.seenCount, v);
  return i < s.seenCount && a[i] === v;
}

/** Records a message ID (not yet seen: check first). */
export function markSeen(s: SeenIds, msgId: number): void {
  if (s.seen1 === 0) {
    s.seen1 = msgId | 0; // signed: a small integer for V8, not a boxed number kept per SA
    return;
  }
  const v = msgId | 0;
  let a = s.seenRest;
  const n = s.seenCount;
  if (!a || n === a.length) {
    const grown = new Int32Array(a ? a.length * 2 : 8);
    if (a) grown.set(a);
    a = s.seenRest = grown;
  }
  const i = search(a, n, v);
  a.copyWithin(i + 1, i, n);
  a[i] = v;
  s.seenCount = n + 1;
}

/** RFC 1982 serial-number order of 32-bit DPD sequence numbers: is `a` after `b`? */
export function seqAfter(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}
