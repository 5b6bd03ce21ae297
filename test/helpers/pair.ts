/**
 * Two endpoints in memory with a virtual clock and a link with knobs for loss, duplication,
 * reordering and delay (DESIGN.md "Tests, from fast to real", level 3). Deterministic: every
 * random choice comes from a seeded generator.
 */
import { createHash } from 'node:crypto';
import { Endpoint } from '../../src/exchange/index.js';
import type { DataAttribute } from '../../src/codec/types.js';
import type { Address, Connection, EndpointOptions, EngineEvent, PskConnection, RsaCredentials, Transmit } from '../../src/exchange/index.js';

/** A deterministic `random(n)` (SHA-256 in counter mode over a seed). */
export function seededRandom(seed: string | number): (n: number) => Uint8Array {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n: number) => {
    while (pool.length < n) {
      const h = createHash('sha256').update(`${seed}/${counter++}`).digest();
      pool = Buffer.concat([pool, h]);
    }
    const out = Uint8Array.from(pool.subarray(0, n));
    pool = pool.subarray(n);
    return out;
  };
}

/** A seeded uniform [0,1) generator for the link's choices. */
function linkRng(seed: string | number): () => number {
  const r = seededRandom(`link/${seed}`);
  return () => {
    const b = r(4);
    return (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) / 2 ** 32;
  };
}

export interface LinkKnobs {
  /** Probability a datagram is lost. */
  loss?: number;
  /** Probability a datagram is delivered twice. */
  dup?: number;
  /** Probability a datagram is held back by an extra random delay (reordering). */
  reorder?: number;
  /** Base one-way delay in ms (default 5). */
  delay?: number;
}

export type Side = 'a' | 'b';

interface InFlight {
  at: number;
  seq: number;
  to: Side;
  t: Transmit;
}

export interface WireRecord {
  readonly at: number;
  readonly from: Side;
  readonly data: Uint8Array;
  readonly delivered: boolean;
  /** The sender's transmit addresses (before any NAT rewrite). */
  readonly local?: Address;
  readonly remote?: Address;
  /** A NAT keepalive (RFC 3948 §2.3): on the wire, but the receiving transport drops it before the engine. */
  readonly keepalive?: true;
}

export class Pair {
  now = 0;
  /** Replaceable: a test may swap in a fresh endpoint (a restarted peer) on the same address. */
  a: Endpoint;
  b: Endpoint;
  readonly addrA: Address;
  readonly addrB: Address;
  knobs: LinkKnobs;
  readonly events: Record<Side, EngineEvent[]> = { a: [], b: [] };
  readonly wire: WireRecord[] = [];
  /**
   * A NAT in front of side a: a's source address/port is rewritten on the way to b (each private
   * port gets its own public port, from `basePort` up) and b's answers are mapped back.
   */
  nat: { address: string; basePort: number } | undefined;
  private natMap = new Map<number, number>();
  /** Rewrite or drop (return null) a datagram before the link sees it. */
  tap: ((from: Side, data: Uint8Array) => Uint8Array | null) | undefined;
  private inflight: InFlight[] = [];
  private seq = 0;
  private rng: () => number;

  constructor(opts: {
    a?: Partial<EndpointOptions>;
    b?: Partial<EndpointOptions>;
    addrA?: Address;
    addrB?: Address;
    knobs?: LinkKnobs;
    seed?: string | number;
  } = {}) {
    const seed = opts.seed ?? 1;
    this.addrA = opts.addrA ?? { address: '192.0.2.1', port: 500 };
    this.addrB = opts.addrB ?? { address: '192.0.2.2', port: 500 };
    this.a = new Endpoint({ random: seededRandom(`a/${seed}`), ...opts.a });
    this.b = new Endpoint({ random: seededRandom(`b/${seed}`), ...opts.b });
    this.knobs = opts.knobs ?? {};
    this.rng = linkRng(seed);
  }

  ep(side: Side): Endpoint {
    return side === 'a' ? this.a : this.b;
  }

  /** Moves transmits and events out of both endpoints onto the link / into `events`. */
  private drain(): void {
    for (const side of ['a', 'b'] as const) {
      const ep = this.ep(side);
      for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) this.send(side, t);
      for (let e = ep.pollEvent(); e; e = ep.pollEvent()) this.events[side].push(e);
    }
  }

  /** The NAT forgets its mappings and uses new public ports (a NAT mapping change). */
  natRebind(basePort: number): void {
    if (this.nat) this.nat = { ...this.nat, basePort };
    this.natMap.clear();
  }

  /** The public address the NAT maps a's private port to. */
  natPublic(privatePort: number): Address {
    const n = this.nat!;
    let p = this.natMap.get(privatePort);
    if (p === undefined) {
      p = n.basePort + this.natMap.size;
      this.natMap.set(privatePort, p);
    }
    return { address: n.address, port: p };
  }

  private natRewrite(from: Side, t: Transmit): Transmit | null {
    if (!this.nat) return t;
    if (from === 'a') return { ...t, local: this.natPublic(t.local.port) };
    if (t.remote.address !== this.nat.address) return t;
    for (const [priv, pub] of this.natMap) if (pub === t.remote.port) return { ...t, remote: { address: this.addrA.address, port: priv } };
    return null; // no mapping: the NAT drops it
  }

  private send(from: Side, t0: Transmit): void {
    if (t0.keepalive) {
      this.wire.push({ at: this.now, from, data: t0.data, delivered: true, local: t0.local, remote: t0.remote, keepalive: true });
      return;
    }
    const t = this.natRewrite(from, t0);
    if (t === null) {
      this.wire.push({ at: this.now, from, data: t0.data, delivered: false, local: t0.local, remote: t0.remote });
      return;
    }
    let data: Uint8Array | null = t.data;
    if (this.tap) data = this.tap(from, data);
    if (data === null) {
      this.wire.push({ at: this.now, from, data: t.data, delivered: false, local: t0.local, remote: t0.remote });
      return;
    }
    const k = this.knobs;
    const lost = (k.loss ?? 0) > 0 && this.rng() < (k.loss ?? 0);
    this.wire.push({ at: this.now, from, data, delivered: !lost, local: t0.local, remote: t0.remote });
    if (lost) return;
    const to: Side = from === 'a' ? 'b' : 'a';
    const base = k.delay ?? 5;
    const copies = (k.dup ?? 0) > 0 && this.rng() < (k.dup ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const extra = (k.reorder ?? 0) > 0 && this.rng() < (k.reorder ?? 0) ? Math.floor(this.rng() * 50) + 1 : 0;
      this.inflight.push({ at: this.now + base + extra + i, seq: this.seq++, to, t: { ...t, data } });
    }
  }

  /** Puts a datagram on the link as if `from` had sent it (for hand-built attack messages). */
  inject(to: Side, data: Uint8Array, from?: Address): void {
    const src = from ?? (to === 'a' ? this.addrB : this.addrA);
    const dst = to === 'a' ? this.addrA : this.addrB;
    this.ep(to).handleDatagram(this.now, dst, src, data);
    this.drain();
  }

  /** Delivers packets and fires timers in time order until `now + ms`. */
  run(ms: number): void {
    const until = this.now + ms;
    this.drain();
    for (let guard = 0; guard < 1_000_000; guard++) {
      this.inflight.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const pkt = this.inflight[0];
      const ta = this.a.pollTimeout();
      const tb = this.b.pollTimeout();
      let next = Infinity;
      if (pkt) next = pkt.at;
      if (ta !== undefined) next = Math.min(next, ta);
      if (tb !== undefined) next = Math.min(next, tb);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (pkt && pkt.at <= this.now) {
        this.inflight.shift();
        const ep = this.ep(pkt.to);
        ep.handleDatagram(this.now, pkt.t.remote, pkt.t.local, pkt.t.data);
      } else {
        if (ta !== undefined && ta <= this.now) this.a.handleTimeout(this.now);
        if (tb !== undefined && tb <= this.now) this.b.handleTimeout(this.now);
      }
      this.drain();
    }
    this.now = until;
  }

  /** Events of one side of a given type. */
  ev<T extends EngineEvent['type']>(side: Side, type: T): Extract<EngineEvent, { type: T }>[] {
    return this.events[side].filter((e) => e.type === type) as Extract<EngineEvent, { type: T }>[];
  }

  clearEvents(): void {
    this.events.a.length = 0;
    this.events.b.length = 0;
  }

  /** Datagrams sent by one side (delivered or not). */
  sentBy(side: Side): WireRecord[] {
    return this.wire.filter((w) => w.from === side);
  }
}

/** What a test may override in conn(): any field, the authentication method and its credentials included. */
export type ConnOverrides = Omit<Partial<PskConnection>, 'auth'> & { auth?: Connection['auth']; rsa?: RsaCredentials };

/** A connection between the pair's two addresses, seen from `side` (PSK unless `over` says rsa-sig). */
export function conn(pair: Pair, side: Side, over: ConnOverrides = {}): Connection {
  const local = side === 'a' ? pair.addrA : pair.addrB;
  const remote = side === 'a' ? pair.addrB : pair.addrA;
  const { auth, psk, rsa, ...rest } = over;
  const base = {
    name: 'c',
    local,
    remote,
    ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }],
    ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 }],
    ...rest,
  };
  if (auth === 'rsa-sig') {
    if (!rsa) throw new Error('conn(): rsa-sig needs rsa credentials');
    return { ...base, auth, rsa };
  }
  return { ...base, auth: 'psk', psk: psk ?? new TextEncoder().encode('correct horse battery staple') };
}

/**
 * A pair with connection `c` on both sides (`aOver` for a's), brought up by a: one ISAKMP SA and
 * one IPsec SA each; events cleared, and the wire record too unless `keepWire`.
 */
export function establishedPair(seed: string, aOver: ConnOverrides = {}, keepWire = false): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', aOver));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  if (pair.a.ipsecSas().length !== 1 || pair.b.ipsecSas().length !== 1) throw new Error(`establishedPair(${seed}): not up`);
  pair.clearEvents();
  if (!keepWire) pair.wire.length = 0;
  return pair;
}

/** Both ends established exactly one ISAKMP SA and one IPsec SA each, with mirrored keys. */
export function assertMirrored(pair: Pair, assert: { equal: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }): void {
  const a1 = pair.ev('a', 'phase1-established');
  const b1 = pair.ev('b', 'phase1-established');
  assert.equal(a1.length, 1, 'a: one phase 1');
  assert.equal(b1.length, 1, 'b: one phase 1');
  assert.deepEqual(a1[0]!.keyLog.encryptionKey, b1[0]!.keyLog.encryptionKey, 'same phase-1 encryption key');
  assert.deepEqual(a1[0]!.transform, b1[0]!.transform, 'same phase-1 transform');
  const a2 = pair.ev('a', 'ipsec-sa-established');
  const b2 = pair.ev('b', 'ipsec-sa-established');
  assert.equal(a2.length, 1, 'a: one IPsec SA');
  assert.equal(b2.length, 1, 'b: one IPsec SA');
  const pa = a2[0]!.sa.protocols;
  const pb = b2[0]!.sa.protocols;
  assert.equal(pa.length, pb.length);
  for (let i = 0; i < pa.length; i++) {
    assert.deepEqual(pa[i]!.inbound.spi, pb[i]!.outbound.spi);
    assert.deepEqual(pa[i]!.outbound.spi, pb[i]!.inbound.spi);
    assert.deepEqual(pa[i]!.inbound.keymat, pb[i]!.outbound.keymat);
    assert.deepEqual(pa[i]!.outbound.keymat, pb[i]!.inbound.keymat);
  }
}

let extraQuickModes = 0;

/**
 * One more Quick Mode from `side` under the ISAKMP SA it holds with the peer: `initiate()` is
 * idempotent (a connection that is up starts nothing), so this initiates a copy of connection
 * `name` under a fresh name (same policy: it shares the ISAKMP SA; the peer answers under its own
 * connection, whose selectors contain it). Returns the copy's name.
 */
export function anotherQuickMode(pair: Pair, side: Side, name = 'c'): string {
  const ep = pair.ep(side);
  const base = ep.connections().find((c) => c.name === name);
  if (!base) throw new Error(`anotherQuickMode: no connection ${name}`);
  const copy = `${name}#${++extraQuickModes}`;
  ep.setConnection({ ...base, name: copy });
  ep.initiate(pair.now, copy);
  return copy;
}

/**
 * After a's `initiate()` towards a remote-access gateway b (XAUTH server, Mode Config server):
 * b accepts the XAUTH user and answers Mode Config with `reply`, 2 s of exchanges each step.
 */
export function serveRemoteAccess(pair: Pair, reply: readonly DataAttribute[]): void {
  pair.run(2000);
  for (const e of pair.ev('b', 'xauth-request')) pair.b.answerXauth(pair.now, e.requestId, true);
  pair.run(2000);
  for (const e of pair.ev('b', 'modecfg-request')) pair.b.answerModeConfig(pair.now, e.requestId, [...reply]);
  pair.run(2000);
}

/** The SPI pairs of an endpoint's IPsec SAs (protocol:inbound>outbound) and their mirror image, sorted: equal to the peer's mirror when both hold the same SAs. */
export function childKeys(ep: Endpoint): { inOut: string[]; outIn: string[] } {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const inOut: string[] = [];
  const outIn: string[] = [];
  for (const s of ep.ipsecSas()) for (const p of s.protocols) {
    inOut.push(`${p.protocol}:${hex(p.inbound.spi)}>${hex(p.outbound.spi)}`);
    outIn.push(`${p.protocol}:${hex(p.outbound.spi)}>${hex(p.inbound.spi)}`);
  }
  return { inOut: inOut.sort(), outIn: outIn.sort() };
}
