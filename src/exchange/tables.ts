/**
 * The SA tables and their indexes: phase 1s by initiator cookie, IPsec SAs by id and by SPI (ours
 * and the peer's), both per address pair, established ISAKMP SAs per peer key (connection +
 * authenticated identity) and counted per peer address (the caps of issue 9.6), phase 1s per
 * address pair and peer port (a client behind a NAT: DPD's view of one peer), and the memo of
 * the newest ISAKMP SA per address pair. Every lookup the engine makes on a datagram or a timer is
 * O(1) in the number of SAs; nothing here scans all SAs.
 *
 * Invariants: a phase 1 is in `p1s` and `p1ByPair` from creation until destroyed, and in
 * `p1ByPeerPort` under its current peer address and port (moveP1 when they change); in `p1ByPeerKey`
 * and counted in `p1sOfAddress` exactly while `peerKey` is set (admitted at establishment); an
 * IPsec SA is in every child index from installation until removed.
 * @module
 */
import { toHexFlat } from '../crypto/bytes.js';
import { addTo, bucketSize, bucketView, decrement, inBucket, increment, removeFrom, type Bucket } from './bucket.js';
import { bkey, spiKey } from './keys.js';
import type { Child, P1 } from './records.js';
import type { Address } from './types.js';

/** The key of `p1ByPeerPort`: the address pair, and the peer's current address (lower case) and port. */
function peerPortKey(p1: P1): string {
  return `${p1.pairKey}|${p1.remote.address.toLowerCase()}|${p1.remote.port}`;
}

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
  /**
   * Per address pair and the peer's current address and port: its phase 1s. Many clients behind
   * one NAT share an address pair but not a port, so DPD's look at one client reads its own SAs
   * only, not those of every client behind the same address.
   */
  readonly p1ByPeerPort = new Map<string, Bucket<P1>>();
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
    addTo(this.p1ByPeerPort, peerPortKey(p1), p1);
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
    removeFrom(this.p1ByPeerPort, peerPortKey(p1), p1);
  }

  /** The peer of a phase 1 is now at `remote` (NAT-T float, a new NAT mapping): it moves in `p1ByPeerPort`. */
  moveP1(p1: P1, remote: Address): void {
    const key = peerPortKey(p1);
    const indexed = inBucket(this.p1ByPeerPort, key, p1);
    if (indexed) removeFrom(this.p1ByPeerPort, key, p1);
    p1.remote = remote;
    if (indexed) addTo(this.p1ByPeerPort, peerPortKey(p1), p1);
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

  /**
   * The phase 1s between the address pair of `p1` whose peer is at its address and port (`p1`
   * among them), not copied (change nothing while iterating).
   */
  p1sOfPeerPort(p1: P1): Iterable<P1> {
    return bucketView(this.p1ByPeerPort, peerPortKey(p1));
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
