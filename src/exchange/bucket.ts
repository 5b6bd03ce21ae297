/**
 * Multimap buckets for the SA indexes: one value is stored as itself, several as an
 * insertion-ordered Set (most keys — address pairs — hold one SA: no Set per SA; a key with
 * thousands, e.g. one peer address with many SAs, still adds and removes in O(1)).
 * @module
 */
export type Bucket<V> = V | Set<V>;

export function addTo<K, V extends object>(m: Map<K, Bucket<V>>, k: K, v: V): void {
  const b = m.get(k);
  if (b === undefined) m.set(k, v);
  else if (b instanceof Set) b.add(v);
  else if (b !== v) m.set(k, new Set([b, v]));
}

export function removeFrom<K, V extends object>(m: Map<K, Bucket<V>>, k: K, v: V): void {
  const b = m.get(k);
  if (b === undefined) return;
  if (!(b instanceof Set)) {
    if (b === v) m.delete(k);
    return;
  }
  b.delete(v);
  if (b.size === 0) m.delete(k);
  else if (b.size === 1) for (const only of b) m.set(k, only);
}

/** Whether `v` is in the bucket of `k`. */
export function inBucket<K, V extends object>(m: Map<K, Bucket<V>>, k: K, v: V): boolean {
  const b = m.get(k);
  return b === v || (b instanceof Set && b.has(v));
}

/** The values of a bucket as a fresh array (safe to iterate while the map changes). */
export function bucket<K, V extends object>(m: Map<K, Bucket<V>>, k: K): V[] {
  const b = m.get(k);
  return b === undefined ? [] : b instanceof Set ? [...b] : [b];
}

export function bucketSize<K, V extends object>(m: Map<K, Bucket<V>>, k: K): number {
  const b = m.get(k);
  return b === undefined ? 0 : b instanceof Set ? b.size : 1;
}

/** The values of a bucket, not copied: only for loops that change nothing in the map. */
export function bucketView<K, V extends object>(m: Map<K, Bucket<V>>, k: K): Iterable<V> {
  const b = m.get(k);
  return b === undefined ? [] : b instanceof Set ? b : [b];
}

/** A counter map: one less for `k` (the key goes at zero). */
export function decrement<K>(m: Map<K, number>, k: K): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** A counter map: one more for `k`. */
export function increment<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
