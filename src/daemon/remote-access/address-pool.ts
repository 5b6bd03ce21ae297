/**
 * Address pools for Mode Config (docs/remote-access.md): one pool per connection, built from
 * subnets and ranges of one family. Leases are keyed by the peer's identity and the XAUTH user:
 *
 * - the same identity+user asking again while its lease lives gets the same address, and the
 *   lease counts one more holder (a phase-1 rekey re-runs Mode Config before the old SA goes):
 *   every `lease()` is paired with one `release()`, and the address is free after the last;
 * - a released address is remembered with its last holder, who gets it back if still free;
 * - new holders get never-used addresses first, then the longest-released ones;
 * - a full pool answers `undefined` (the caller refuses the client and logs why).
 *
 * Work per call is bounded by the number of live leases, never by the size of the pool (an IPv6
 * /64 is fine). `snapshot()`/`adopt()` carry the leases across `isakmp reload`: a lease whose
 * address the new pool no longer holds stays listed (its SA still uses it) until released.
 */
import { UsageError } from '../../errors.js';
import { addressToBig, bigToAddress, canonicalAddress, parseRangeSpec, type AddressRange } from './address-range.js';
import type { AddressPool, Lease } from './types.js';

interface LiveLease {
  readonly address: string;
  readonly identity: string;
  readonly user: string | undefined;
  readonly since: number;
  holders: number;
}

interface Released {
  readonly identity: string;
  readonly user: string | undefined;
  readonly at: number;
}

/** The shape `snapshot()` returns (JSON-ready; versioned so an old daemon's snapshot is recognised). */
interface PoolSnapshotV1 {
  readonly version: 1;
  readonly specs: readonly string[];
  readonly fresh: string;
  readonly leases: readonly { address: string; identity: string; user?: string; since: number; holders: number }[];
  readonly released: readonly { address: string; identity: string; user?: string; at: number }[];
}

/** Released addresses remembered for stickiness (beyond this, the oldest are forgotten, not lost). */
const MAX_REMEMBERED = 65_536;

const keyOf = (identity: string, user: string | undefined): string => `${identity}\u0000${user === undefined ? '-' : `+${user}`}`;

class Pool implements AddressPool {
  readonly size: number;
  private readonly family: 4 | 6;
  private readonly total: bigint;
  private readonly live = new Map<string, LiveLease>(); // by address
  private readonly byKey = new Map<string, string>(); // identity+user → address
  private readonly released = new Map<string, Released>(); // by address, oldest first
  private readonly releasedByKey = new Map<string, string>(); // identity+user → its last address
  /** Offsets below this were handed out at least once; above it, never. */
  private fresh = 0n;

  constructor(
    readonly name: string,
    private readonly specs: readonly string[],
    private readonly ranges: readonly AddressRange[],
  ) {
    this.family = ranges[0]!.family;
    this.total = ranges.reduce((n, r) => n + (r.last - r.first + 1n), 0n);
    this.size = Number(this.total);
  }

  private addressAt(offset: bigint): string {
    let o = offset;
    for (const r of this.ranges) {
      const n = r.last - r.first + 1n;
      if (o < n) return bigToAddress(this.family, r.first + o);
      o -= n;
    }
    throw new RangeError(`offset ${offset} outside pool ${this.name}`);
  }

  /** The canonical text of `address` when the pool holds it, else undefined. */
  private inPool(address: string): string | undefined {
    const a = addressToBig(address);
    if (a === undefined || a.family !== this.family) return undefined;
    return this.ranges.some((r) => a.value >= r.first && a.value <= r.last) ? bigToAddress(a.family, a.value) : undefined;
  }

  /** Forgets that `address` was released (it is taken again, or remembered too long). */
  private unremember(address: string): void {
    const r = this.released.get(address);
    if (r === undefined) return;
    this.released.delete(address);
    const key = keyOf(r.identity, r.user);
    if (this.releasedByKey.get(key) === address) this.releasedByKey.delete(key);
  }

  private remember(address: string, r: Released): void {
    this.unremember(address);
    this.released.set(address, r);
    this.releasedByKey.set(keyOf(r.identity, r.user), address);
    if (this.released.size > MAX_REMEMBERED) this.unremember(this.released.keys().next().value!);
  }

  private grant(address: string, identity: string, user: string | undefined, now: number): string {
    this.unremember(address);
    this.live.set(address, { address, identity, user, since: now, holders: 1 });
    this.byKey.set(keyOf(identity, user), address);
    return address;
  }

  lease(identity: string, user: string | undefined, now: number, wanted?: string): string | undefined {
    const key = keyOf(identity, user);
    const held = this.byKey.get(key);
    if (held !== undefined) {
      this.live.get(held)!.holders++;
      return held;
    }
    // The address the client asked for, when the pool holds it and nobody else does.
    if (wanted !== undefined) {
      const w = this.inPool(wanted);
      if (w !== undefined && !this.live.has(w)) return this.grant(w, identity, user, now);
    }
    // Its previous address, when still free.
    const previous = this.releasedByKey.get(key);
    if (previous !== undefined) return this.grant(previous, identity, user, now);
    // A never-used address.
    while (this.fresh < this.total) {
      const address = this.addressAt(this.fresh++);
      if (!this.live.has(address)) return this.grant(address, identity, user, now);
    }
    // The longest-released address.
    for (const address of this.released.keys()) return this.grant(address, identity, user, now);
    // Any free one (released addresses forgotten past MAX_REMEMBERED): at most live.size + 1 steps.
    if (this.live.size >= this.size) return undefined;
    for (let o = 0n; o < this.total; o++) {
      const address = this.addressAt(o);
      if (!this.live.has(address)) return this.grant(address, identity, user, now);
    }
    return undefined;
  }

  release(address: string, now: number): boolean {
    const a = canonicalAddress(address) ?? address;
    const l = this.live.get(a);
    if (l === undefined) return false;
    if (--l.holders > 0) return false;
    this.live.delete(a);
    this.byKey.delete(keyOf(l.identity, l.user));
    if (this.inPool(a) === undefined) return true; // adopted from an older configuration
    this.remember(a, { identity: l.identity, user: l.user, at: now });
    return true;
  }

  leases(): readonly Lease[] {
    const out = [...this.live.values()].map((l): Lease => ({ address: l.address, identity: l.identity, ...(l.user !== undefined ? { user: l.user } : {}), since: l.since }));
    const num = (s: string): bigint => addressToBig(s)?.value ?? 0n;
    return out.sort((x, y) => (num(x.address) < num(y.address) ? -1 : num(x.address) > num(y.address) ? 1 : 0));
  }

  snapshot(): PoolSnapshotV1 {
    return {
      version: 1,
      specs: [...this.specs],
      fresh: this.fresh.toString(),
      leases: [...this.live.values()].map((l) => ({ address: l.address, identity: l.identity, ...(l.user !== undefined ? { user: l.user } : {}), since: l.since, holders: l.holders })),
      released: [...this.released].map(([address, r]) => ({ address, identity: r.identity, ...(r.user !== undefined ? { user: r.user } : {}), at: r.at })),
    };
  }

  adopt(snapshot: unknown): void {
    const s = snapshot as Partial<PoolSnapshotV1> | undefined;
    if (s === null || typeof s !== 'object' || s.version !== 1) return;
    const str = (v: unknown): v is string => typeof v === 'string';
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    for (const l of Array.isArray(s.leases) ? s.leases : []) {
      if (!str(l?.address) || !str(l.identity) || !num(l.since) || (l.user !== undefined && !str(l.user))) continue;
      const address = canonicalAddress(l.address);
      if (address === undefined || this.live.has(address)) continue;
      const key = keyOf(l.identity, l.user);
      if (this.byKey.has(key)) continue;
      this.unremember(address);
      this.live.set(address, { address, identity: l.identity, user: l.user, since: l.since, holders: num(l.holders) && l.holders >= 1 ? Math.floor(l.holders) : 1 });
      this.byKey.set(key, address);
    }
    for (const r of Array.isArray(s.released) ? s.released : []) {
      if (!str(r?.address) || !str(r.identity) || !num(r.at) || (r.user !== undefined && !str(r.user))) continue;
      const address = this.inPool(r.address);
      if (address === undefined || this.live.has(address)) continue;
      this.remember(address, { identity: r.identity, user: r.user, at: r.at });
    }
    // The same ranges: continue where the old pool stopped handing out never-used addresses.
    if (Array.isArray(s.specs) && s.specs.join(',') === this.specs.join(',') && str(s.fresh) && /^\d+$/.test(s.fresh)) {
      const f = BigInt(s.fresh);
      if (f <= this.total && f > this.fresh) this.fresh = f;
    }
  }
}

/**
 * A pool from specs like `10.10.0.0/24` or `10.10.0.10-10.10.0.200` (IPv4 or IPv6, one family per
 * pool, no overlaps). Throws a `UsageError` naming the pool and the spec that is wrong.
 */
export function createAddressPool(name: string, specs: readonly string[]): AddressPool {
  if (specs.length === 0) throw new UsageError('pool', `pool '${name}': give at least one subnet or range`);
  const ranges: AddressRange[] = [];
  for (const spec of specs) {
    const r = parseRangeSpec(spec);
    if (!r.ok) throw new UsageError('pool', `pool '${name}': ${r.error}`);
    if (r.range.first > r.range.last) throw new UsageError('pool', `pool '${name}': '${spec}' holds no usable address`);
    if (ranges.length > 0 && ranges[0]!.family !== r.range.family) {
      throw new UsageError('pool', `pool '${name}': '${spec}' is IPv${r.range.family} but '${ranges[0]!.spec}' is IPv${ranges[0]!.family}: one family per pool`);
    }
    const other = ranges.find((o) => r.range.first <= o.last && o.first <= r.range.last);
    if (other !== undefined) throw new UsageError('pool', `pool '${name}': '${spec}' overlaps '${other.spec}'`);
    ranges.push(r.range);
  }
  return new Pool(name, specs.map((s) => s.trim()), ranges);
}
