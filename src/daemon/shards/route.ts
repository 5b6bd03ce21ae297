/**
 * Which engine shard a datagram goes to (docs/scale.md). Every cookie our shards draw carries the
 * shard's number and a keyed check value (`tagCookie`):
 *
 *     byte 0       shard number
 *     bytes 1..5   random (from the engine's randomness)
 *     bytes 6..7   SHA-256(routing key ‖ bytes 0..5), first two bytes
 *
 * so a message of an SA we hold names its shard in one of its cookies, and the router needs no
 * table: an initiator cookie with a valid check value is ours (we initiated, or the peer's random
 * cookie happened to pass, and then its first message went there too: consistent either way);
 * otherwise a responder cookie with a valid check value is ours (we answered); otherwise the
 * message is a first message (or not ours at all), spread by a keyed hash of its source address:
 * every SA of one peer address lives in one shard, so what the engine does across a peer's SAs
 * (INITIAL-CONTACT, the caps per address and identity, Deletes under the newest SA, a dead peer's
 * cleanup) works as in one engine, and the peer's retransmissions reach the same shard. Quick
 * Mode and Informational messages carry the cookies of their ISAKMP SA and follow it.
 *
 * The routing key is secret (random per start, or derived from the HA cluster key so that a
 * standby routes the SAs it takes over the same way): without it a peer cannot aim its first
 * messages at one shard. The keyed hashes are SHA-256 over the key followed by a fixed-length
 * input (6 cookie bytes), one call of `crypto.hash` each: the secret-prefix construction is
 * sound for inputs of one fixed length (no length extension applies), and it costs a third of
 * an HMAC object per datagram (the main thread checks up to two cookies per datagram).
 */
import { hash } from 'node:crypto';
import type { Address } from '../engine.js';

/** At most this many shards (the number lives in one cookie byte). */
export const MAX_SHARDS = 256;

/** Per routing key, a buffer holding the key and room for the 6 cookie bytes after it. */
const scratch = new WeakMap<Uint8Array, Buffer>();

function check(key: Uint8Array, cookie: Uint8Array): Buffer {
  let b = scratch.get(key);
  if (b === undefined) {
    b = Buffer.alloc(key.length + 6);
    b.set(key, 0);
    scratch.set(key, b);
  }
  b.set(cookie.subarray(0, 6), key.length);
  return hash('sha256', b, 'buffer');
}

/** Marks a freshly drawn cookie (8 bytes, in place) as shard `shard`'s. */
export function tagCookie(key: Uint8Array, shard: number, cookie: Uint8Array): void {
  cookie[0] = shard;
  const h = check(key, cookie);
  cookie[6] = h[0]!;
  cookie[7] = h[1]!;
}

/** The shard number in a cookie of ours, or -1 when the cookie is not one of ours. */
export function taggedShard(key: Uint8Array, cookie: Uint8Array): number {
  let zero = true;
  for (let i = 0; i < 8; i++) if (cookie[i] !== 0) zero = false;
  if (zero) return -1;
  const h = check(key, cookie);
  return h[0] === cookie[6] && h[1] === cookie[7] ? cookie[0]! : -1;
}

/** The keyed hash that spreads first messages: by source address (see the module comment). */
export function spreadShard(key: Uint8Array, remote: Address, shards: number): number {
  // a length byte first: the key is followed by an input of a length it states (no extension)
  const a = Buffer.from(remote.address.toLowerCase());
  const h = hash('sha256', Buffer.concat([key, Buffer.of(a.length & 0xff), a]), 'buffer');
  return h.readUInt32BE(0) % shards;
}

/**
 * The shard of an ISAKMP message (`data` starts with its header) from `remote`, among `shards`.
 * Shorter than a header: shard 0 (its engine drops it).
 */
export function shardOfMessage(key: Uint8Array, data: Uint8Array, remote: Address, shards: number): number {
  if (shards <= 1 || data.length < 16) return 0;
  const ic = data.subarray(0, 8);
  const byIc = taggedShard(key, ic);
  if (byIc >= 0) return byIc % shards;
  const byRc = taggedShard(key, data.subarray(8, 16));
  if (byRc >= 0) return byRc % shards;
  return spreadShard(key, remote, shards);
}

/** The shard of an ISAKMP SA by its id (hex cookies) and peer: where its messages are routed. */
export function shardOfSa(key: Uint8Array, id: string, remote: Address, shards: number): number {
  return shardOfMessage(key, Buffer.from(id, 'hex'), remote, shards);
}
