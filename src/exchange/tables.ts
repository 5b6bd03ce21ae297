/**
 * The SA tables and their indexes: phase 1s by initiator cookie, IPsec SAs by id and by SPI (ours
 * and the peer's), both per address pair, established ISAKMP SAs per peer key (connection +
 * authenticated identity) and counted per peer address (the caps of issue 9.6), and the memo of
 * the newest ISAKMP SA per address pair. Every lookup the engine makes on a datagram or a timer is
 * O(1) in the number of SAs; nothing here scans all SAs.
 *
 * Invariants: a phase 1 is in `p1s` and `p1ByPair` from creation until destroyed; in `p1ByPeerKey`
 * and counted in `p1sOfAddress` exactly while `peerKey` is set (admitted at establishment); an
 * IPsec SA is in every child index from installation until removed.
 * @module
 */
import { toHexFlat } from '../crypto/bytes.js';
import { addTo, bucketSize, bucketView, decrement, increment, removeFrom, type Bucket } from './bucket.js';
import { bkey, spiKey } from './keys.js';
import type { Child, P1 } from './records.js';

export class SaTables {
  /** Phase 1s by initiator cookie (bkey). */
  readonly p1s = new Map<string, P1>();
  /** IPsec SAs by id ('q' + hex inbound SPI). */
  readonly children = new Map<string, Child>();
  /** Our inbound SPI (spiKey) → IPsec SA, for Delete and uniqueness. */
  readonly bySpi = new Map<number, Child>();
  /** The peer's inbound SPI (spiKey) → IPsec SAs (of any address pair; nearly always one), for the peer's Delete. */
  readonly byPeerSpi = new Map<number, Bucket<Child>>();
  /** Per address pair: its phase 1s and IPsec SAs. */
  readonly p1ByPair = new Map<string, Bucket<P1>>();
  readonly childByPair = new Map<string, Bucket<Child>>();
  /** Established ISAKMP SAs by peer key, IPsec SAs counted by it, ISAKMP SAs counted by peer address (issue 9.6). */
  readonly p1ByPeerKey = new Map<string, Bucket<P1>>();
  readonly childrenOfPeer = new Map<string, number>();
  readonly p1sOfAddress = new Map<string, number>();
  /** See bestP1For(): cleared whenever a phase 1 becomes established or is removed. */
  private readonly bestP1Memo = new Map<string, { any: P1 | undefined; byConn: Map<string, P1> }>();

  // ------------------------------------------------------------------------------ phase 1

  /** `key`: bkey(p1.ic) when the caller has it already. */
  addP1(p1: P1, key = bkey(p1.ic)): void {
    this.p1s.set(key, p1);
    addTo(this.p1ByPair, p1.pairKey, p1);
  }

  /** Takes a phase 1 out of every index (it is dead). */
  removeP1(p1: P1): void {
    this.p1sChanged();
    if (p1.peerKey !== undefined) {
      removeFrom(this.p1ByPeerKey, p1.peerKey, p1);
      decrement(this.p1sOfAddress, p1.remote.address);
    }
    const key = bkey(p1.ic);
    if (this.p1s.get(key) === p1) this.p1s.delete(key);
    removeFrom(this.p1ByPair, p1.pairKey, p1);
  }

  /** A phase 1 became established or was removed: the memo of bestP1For() is stale. */
  p1sChanged(): void {
    if (this.bestP1Memo.size !== 0) this.bestP1Memo.clear();
  }

  /** Counts an established ISAKMP SA under its peer key (issue 9.6). */
  admit(p1: P1, peerKey: string): void {
    p1.peerKey = peerKey;
    addTo(this.p1ByPeerKey, peerKey, p1);
    increment(this.p1sOfAddress, p1.remote.address);
  }

  /** Established ISAKMP SAs of a peer key, not copied (change nothing while iterating). */
  p1sOfPeer(peerKey: string): Iterable<P1> {
    return bucketView(this.p1ByPeerKey, peerKey);
  }

  countOfPeer(peerKey: string): number {
    return bucketSize(this.p1ByPeerKey, peerKey);
  }

  /** Established ISAKMP SAs with a peer address. */
  countOfAddress(address: string): number {
    return this.p1sOfAddress.get(address) ?? 0;
  }

  /** The phase 1s of an address pair, not copied (change nothing while iterating). */
  p1sOfPair(pairKey: string): Iterable<P1> {
    return bucketView(this.p1ByPair, pairKey);
  }

  /** The phase 1 whose initiator cookie is `ic`. */
  p1ByCookie(ic: Uint8Array): P1 | undefined {
    return this.p1s.get(bkey(ic));
  }

  /** The SA id of a phase 1: hex cookies, kept once established (the cookies no longer change). */
  p1Id(p1: P1): string {
    if (p1.id !== undefined) return p1.id;
    const id = toHexFlat(p1.ic, p1.rc);
    if (p1.life === 'established') p1.id = id;
    return id;
  }

  findP1ById(id: string): P1 | undefined {
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    const ic = new Uint8Array(8);
    for (let i = 0; i < 8; i++) ic[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
    const p1 = this.p1s.get(bkey(ic));
    return p1 && this.p1Id(p1) === id ? p1 : undefined;
  }

  /**
   * The newest established phase 1 between an address pair (of one connection, if named). One scan
   * of the pair fills a memo for every connection name, kept until a phase 1 is established or
   * removed anywhere: deleting n IPsec SAs of one peer costs O(n), not O(n²).
   */
  bestP1For(pairKey: string, connName?: string): P1 | undefined {
    let m = this.bestP1Memo.get(pairKey);
    if (!m) {
      let any: P1 | undefined;
      const byConn = new Map<string, P1>();
      for (const p1 of bucketView(this.p1ByPair, pairKey)) {
        if (p1.life !== 'established') continue;
        const at = p1.establishedAt ?? 0;
        if (!any || at > (any.establishedAt ?? 0)) any = p1;
        const c = byConn.get(p1.conn.name);
        if (!c || at > (c.establishedAt ?? 0)) byConn.set(p1.conn.name, p1);
      }
      m = { any, byConn };
      this.bestP1Memo.set(pairKey, m);
    }
    return connName ? m.byConn.get(connName) : m.any;
  }

  // ------------------------------------------------------------------------------ IPsec SAs

  /** `spiKeys`: [our inbound, the peer's inbound] per protocol. */
  addChild(child: Child, spiKeys: readonly number[]): void {
    this.children.set(child.info.id, child);
    addTo(this.childByPair, child.pairKey, child);
    if (child.peerKey !== undefined) increment(this.childrenOfPeer, child.peerKey);
    for (let j = 0; j + 1 < spiKeys.length; j += 2) {
      const ours = spiKeys[j];
      const theirs = spiKeys[j + 1];
      if (ours === undefined || theirs === undefined) continue;
      this.bySpi.set(ours, child);
      addTo(this.byPeerSpi, theirs, child);
    }
  }

  removeChild(c: Child): void {
    this.children.delete(c.info.id);
    removeFrom(this.childByPair, c.pairKey, c);
    if (c.peerKey !== undefined) decrement(this.childrenOfPeer, c.peerKey);
    for (const p of c.info.protocols) {
      const k = spiKey(p.inbound.spi);
      if (this.bySpi.get(k) === c) this.bySpi.delete(k);
      removeFrom(this.byPeerSpi, spiKey(p.outbound.spi), c);
    }
  }

  /** The IPsec SAs of an address pair, not copied (change nothing while iterating). */
  childrenOfPair(pairKey: string): Iterable<Child> {
    return bucketView(this.childByPair, pairKey);
  }

  hasChildren(pairKey: string): boolean {
    return this.childByPair.has(pairKey);
  }

  /** IPsec SAs negotiated with a peer key (issue 9.6). */
  childCountOfPeer(peerKey: string): number {
    return this.childrenOfPeer.get(peerKey) ?? 0;
  }

  /** Is this SPI (4 bytes) one of our inbound SPIs? */
  spiInUse(spi: Uint8Array): boolean {
    return this.bySpi.has(spiKey(spi));
  }

  /**
   * The newest live IPsec SA between an address pair whose peer's inbound SPI is `spi`, else the
   * one whose inbound SPI (ours) it is, when `may(child)` allows it.
   */
  childBySpi(pairKey: string, spi: Uint8Array, may: (c: Child) => boolean): Child | undefined {
    const h = spiKey(spi);
    let peer: Child | undefined;
    for (const c of bucketView(this.byPeerSpi, h)) if (c.pairKey === pairKey && c.state !== 'dead' && may(c)) peer = c; // the newest
    if (peer) return peer;
    const own = this.bySpi.get(h);
    if (own && own.state !== 'dead' && own.pairKey === pairKey && may(own)) return own;
    return undefined;
  }
}
