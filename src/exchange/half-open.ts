/** (split from endpoint.ts) */
import { Engine } from './engine.js';
import { destroyP1 } from './lifecycle.js';
import { P1 } from './records.js';
import { Refused } from './refusal.js';

/**
 * Half-open responder phase 1s that have not yet seen the peer's third message (MM3 / AM3), so the
 * peer never showed it receives at its claimed address: the entries a spoofed MM1 flood creates.
 * They sit on two intrusive doubly linked lists, oldest first: one over the endpoint, one per peer
 * address. When a half-open cap is reached the oldest entry is evicted in O(1) instead of refusing
 * the new first message (a legitimate peer answers our MM2 within one round trip; a flood must
 * push a whole table of newer entries in before that to evict it).
 */
export interface HoNode {
  readonly p1: P1;
  readonly peer: HoPeer;
  prev: HoNode | undefined;
  next: HoNode | undefined;
  peerPrev: HoNode | undefined;
  peerNext: HoNode | undefined;
}

/** Half-open accounting of one peer address: all its half-open entries, and its evictable ones. */
export interface HoPeer {
  readonly key: string;
  count: number;
  head: HoNode | undefined;
  tail: HoNode | undefined;
}

export function clearHalfOpen(eng: Engine, p1: P1): void {
  eng.timers.cancel(p1.tHalf);
  p1.tHalf = undefined;
  if (p1.halfOpen) {
    p1.halfOpen = false;
    eng.halfOpenCount--;
    const peer = eng.halfOpenPeers.get(p1.remote.address);
    if (peer) {
      unlinkEvictable(eng, p1);
      if (--peer.count <= 0) eng.halfOpenPeers.delete(peer.key);
    }
  }
}

/**
 * Makes room for one more half-open responder phase 1 from `address`: at a cap, evicts the
 * oldest entry (of this peer, then of all peers) that has not seen the peer's third message.
 * Entries past message 3, established SAs and our own initiator states are never evicted; when
 * only such entries fill the table, the new first message is refused.
 */
export function makeHalfOpenRoom(eng: Engine, address: string): HoPeer | undefined {
  const peer = eng.halfOpenPeers.get(address);
  if ((peer?.count ?? 0) >= eng.opt.halfOpenPerPeer) {
    if (!peer?.head) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit for this peer reached');
    evictHalfOpen(eng, peer.head.p1);
  }
  if (eng.halfOpenCount >= eng.opt.halfOpenTotal) {
    if (!eng.hoHead) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit reached');
    evictHalfOpen(eng, eng.hoHead.p1);
  }
  // an eviction may have removed the peer's record (its last entry)
  return peer && peer.count > 0 ? peer : undefined;
}

export function evictHalfOpen(eng: Engine, p1: P1): void {
  eng.halfOpenEvicted++;
  destroyP1(eng, p1);
  eng.emit({ type: 'dropped', peer: p1.remote, notify: 0, code: 'HALF_OPEN_EVICTED', reason: 'half-open phase 1 evicted (half-open limit reached)' });
}

/** Counts a new responder phase 1 as half-open and appends it to the eviction lists. */
export function addHalfOpen(eng: Engine, p1: P1, existing: HoPeer | undefined): void {
  let peer = existing;
  if (!peer) {
    peer = { key: p1.remote.address, count: 0, head: undefined, tail: undefined };
    eng.halfOpenPeers.set(peer.key, peer);
  }
  p1.halfOpen = true;
  eng.halfOpenCount++;
  peer.count++;
  const n: HoNode = { p1, peer, prev: eng.hoTail, next: undefined, peerPrev: peer.tail, peerNext: undefined };
  if (eng.hoTail) eng.hoTail.next = n;
  else eng.hoHead = n;
  eng.hoTail = n;
  if (peer.tail) peer.tail.peerNext = n;
  else peer.head = n;
  peer.tail = n;
  p1.ho = n;
}

/** The peer answered with message 3: this entry is no longer evictable (still half-open). */
export function unlinkEvictable(eng: Engine, p1: P1): void {
  const n = p1.ho;
  if (!n) return;
  p1.ho = undefined;
  if (n.prev) n.prev.next = n.next;
  else eng.hoHead = n.next;
  if (n.next) n.next.prev = n.prev;
  else eng.hoTail = n.prev;
  const peer = n.peer;
  if (n.peerPrev) n.peerPrev.peerNext = n.peerNext;
  else peer.head = n.peerNext;
  if (n.peerNext) n.peerNext.peerPrev = n.peerPrev;
  else peer.tail = n.peerPrev;
}
