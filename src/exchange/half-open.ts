/**
 * The half-open table (spoofed-MM1 floods, docs/engine.md "Half-open phase 1s"): responder phase
 * 1s not yet authenticated, capped per peer address and in total.
 *
 * Those that have not yet seen the peer's third message (MM3 / AM3) — the peer never showed it
 * receives at its claimed address: the entries a spoofed MM1 flood creates — are evictable. They
 * sit on two intrusive doubly linked lists, oldest first: one over the endpoint, one per peer
 * address. When a cap is reached an entry is evicted in O(1) instead of refusing the new first
 * message: at the per-peer cap the peer's oldest; at the total cap the oldest entry of the peer
 * address holding the most evictable entries. A flood from a few thousand addresses fills the
 * table with several entries per address, so it evicts its own entries and never the single one
 * of a legitimate peer whose MM3 was lost and comes again on the peer's retransmission seconds
 * later; only a flood from more addresses than the table holds evicts oldest first.
 *
 * Invariants: `count` is the number of phase 1s whose handshake has `halfOpen` set, and each
 * peer's `count` the number of them from its address; a node is on its peer's list exactly while its
 * phase 1's handshake `ho` points at it; a peer's `evictable` is the length of its list and the
 * peer is in `byEvictable[evictable]` while that is above 0.
 * @module
 */
import type { P1 } from './records.js';
import { Refused } from './refusal.js';

export interface HoNode {
  readonly p1: P1;
  readonly peer: HoPeer;
  peerPrev: HoNode | undefined;
  peerNext: HoNode | undefined;
}

/** Half-open accounting of one peer address: all its half-open entries, and its evictable ones. */
export interface HoPeer {
  readonly key: string;
  count: number;
  evictable: number;
  head: HoNode | undefined;
  tail: HoNode | undefined;
}

export class HalfOpenTable {
  private readonly peers = new Map<string, HoPeer>();
  /** Half-open entries in all, and how many were evicted so far (for stats()). */
  count = 0;
  evicted = 0;
  /** Peers by their number of evictable entries (index 1..perPeer), and the highest index in use. */
  private readonly byEvictable: Set<HoPeer>[] = [];
  private top = 0;

  constructor(private readonly perPeer: number, private readonly total: number) {}

  /** The peer holding the most evictable entries (undefined when none is evictable). */
  private heaviest(): HoPeer | undefined {
    while (this.top > 0) {
      const set = this.byEvictable[this.top];
      if (set && set.size > 0) return set.values().next().value;
      this.top--;
    }
    return undefined;
  }

  /** Moves `peer` from the set of its evictable count to that of `to`. */
  private regroup(peer: HoPeer, to: number): void {
    if (peer.evictable > 0) this.byEvictable[peer.evictable]?.delete(peer);
    peer.evictable = to;
    if (to > 0) {
      let set = this.byEvictable[to];
      if (!set) set = this.byEvictable[to] = new Set();
      set.add(peer);
      if (to > this.top) this.top = to;
    }
  }

  /**
   * Makes room for one more half-open responder phase 1 from `address`: at a cap, evicts (with
   * `evict`, which must release the entry) an entry that has not seen the peer's third message:
   * this peer's oldest at the per-peer cap, the oldest of the heaviest peer at the total cap. Entries past message 3, established SAs and our own
   * initiator states are never evicted; when only such entries fill the table, the new first
   * message is refused. Returns the peer's record for add().
   */
  makeRoom(address: string, evict: (p1: P1) => void): HoPeer | undefined {
    const peer = this.peers.get(address);
    if ((peer?.count ?? 0) >= this.perPeer) {
      if (!peer?.head) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit for this peer reached');
      this.evicted++;
      evict(peer.head.p1);
    }
    if (this.count >= this.total) {
      const victim = this.heaviest()?.head;
      if (!victim) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit reached');
      this.evicted++;
      evict(victim.p1);
    }
    // an eviction may have removed the peer's record (its last entry)
    return peer && peer.count > 0 ? peer : undefined;
  }

  /** Counts a new responder phase 1 as half-open and appends it to the eviction lists. */
  add(p1: P1, existing: HoPeer | undefined): void {
    const hs = p1.hs;
    if (!hs) return;
    let peer = existing;
    if (!peer) {
      peer = { key: p1.remote.address, count: 0, evictable: 0, head: undefined, tail: undefined };
      this.peers.set(peer.key, peer);
    }
    hs.halfOpen = true;
    this.count++;
    peer.count++;
    const n: HoNode = { p1, peer, peerPrev: peer.tail, peerNext: undefined };
    if (peer.tail) peer.tail.peerNext = n;
    else peer.head = n;
    peer.tail = n;
    hs.ho = n;
    this.regroup(peer, peer.evictable + 1);
  }

  /** The peer answered with message 3: this entry is no longer evictable (still half-open). */
  unlinkEvictable(p1: P1): void {
    const hs = p1.hs;
    const n = hs?.ho;
    if (!hs || !n) return;
    hs.ho = undefined;
    const peer = n.peer;
    if (n.peerPrev) n.peerPrev.peerNext = n.peerNext;
    else peer.head = n.peerNext;
    if (n.peerNext) n.peerNext.peerPrev = n.peerPrev;
    else peer.tail = n.peerPrev;
    this.regroup(peer, peer.evictable - 1);
  }

  /** The phase 1 is no longer half-open (established or gone). */
  release(p1: P1): void {
    const hs = p1.hs;
    if (!hs?.halfOpen) return;
    hs.halfOpen = false;
    this.count--;
    const peer = this.peers.get(p1.remote.address);
    if (peer) {
      this.unlinkEvictable(p1);
      if (--peer.count <= 0) this.peers.delete(peer.key);
    }
  }
}
