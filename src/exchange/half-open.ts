/**
 * The half-open table (spoofed-MM1 floods, docs/engine.md "Half-open phase 1s"): responder phase
 * 1s not yet authenticated, capped per peer address and in total.
 *
 * Those that have not yet seen the peer's third message (MM3 / AM3) — the peer never showed it
 * receives at its claimed address: the entries a spoofed MM1 flood creates — sit on two intrusive
 * doubly linked lists, oldest first: one over the endpoint, one per peer address. When a cap is
 * reached the oldest such entry is evicted in O(1) instead of refusing the new first message (a
 * legitimate peer answers our MM2 within one round trip; a flood must push a whole table of newer
 * entries in before that to evict it).
 *
 * Invariants: `count` is the number of phase 1s whose handshake has `halfOpen` set, and each
 * peer's `count` the number of them from its address; a node is on both lists exactly while its
 * phase 1's handshake `ho` points at it.
 * @module
 */
import type { P1 } from './records.js';
import { Refused } from './refusal.js';

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

export class HalfOpenTable {
  private readonly peers = new Map<string, HoPeer>();
  /** Half-open entries in all, and how many were evicted so far (for stats()). */
  count = 0;
  evicted = 0;
  /** All evictable entries, oldest first. */
  private head: HoNode | undefined;
  private tail: HoNode | undefined;

  constructor(private readonly perPeer: number, private readonly total: number) {}

  /**
   * Makes room for one more half-open responder phase 1 from `address`: at a cap, evicts (with
   * `evict`, which must release the entry) the oldest entry, of this peer, then of all peers, that
   * has not seen the peer's third message. Entries past message 3, established SAs and our own
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
      if (!this.head) throw new Refused('HALF_OPEN_REFUSED', 'half-open limit reached');
      this.evicted++;
      evict(this.head.p1);
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
      peer = { key: p1.remote.address, count: 0, head: undefined, tail: undefined };
      this.peers.set(peer.key, peer);
    }
    hs.halfOpen = true;
    this.count++;
    peer.count++;
    const n: HoNode = { p1, peer, prev: this.tail, next: undefined, peerPrev: peer.tail, peerNext: undefined };
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
    if (peer.tail) peer.tail.peerNext = n;
    else peer.head = n;
    peer.tail = n;
    hs.ho = n;
  }

  /** The peer answered with message 3: this entry is no longer evictable (still half-open). */
  unlinkEvictable(p1: P1): void {
    const hs = p1.hs;
    const n = hs?.ho;
    if (!hs || !n) return;
    hs.ho = undefined;
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    const peer = n.peer;
    if (n.peerPrev) n.peerPrev.peerNext = n.peerNext;
    else peer.head = n.peerNext;
    if (n.peerNext) n.peerNext.peerPrev = n.peerPrev;
    else peer.tail = n.peerPrev;
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
