/**
 * Several endpoints in memory on one virtual clock (the multi-peer sibling of pair.ts): a gateway
 * and several peers, some of them behind one NAT (each NATed node gets its own public ports, as a
 * NAT gives each inside host its own mapping). Lossless, 5 ms one way, deterministic; `knobs`
 * (pair.ts's loss, duplication, reordering, delay, from a generator seeded by `seed`) and `cut`
 * (nodes whose datagrams, sent or received, are lost) make it a bad network.
 */
import { Endpoint } from '../../src/exchange/index.js';
import type { Address, EndpointOptions, EngineEvent, Transmit } from '../../src/exchange/index.js';
import { seededRandom, type LinkKnobs } from './pair.js';

interface Node {
  readonly name: string;
  readonly ep: Endpoint;
  /** The node's own address (what its engine sees as local). */
  readonly addr: Address;
  /** Behind a NAT: the public address and the first public port of this node's mappings. */
  readonly nat?: { readonly address: string; readonly basePort: number };
  readonly events: EngineEvent[];
}

interface Packet {
  at: number;
  seq: number;
  to: Node;
  local: Address;
  remote: Address;
  data: Uint8Array;
}

export class Mesh {
  now = 0;
  private readonly nodes = new Map<string, Node>();
  private inflight: Packet[] = [];
  private seq = 0;
  /** Every datagram put on the link, with its sender's name. */
  readonly wire: Array<{ at: number; from: string; to: string | undefined; data: Uint8Array }> = [];
  knobs: LinkKnobs = {};
  /** Nodes cut off the network (an outage, or gone for good). */
  readonly cut = new Set<string>();
  private readonly rng: () => number;

  constructor(seed: string | number = 0) {
    const r = seededRandom(`mesh/link/${seed}`);
    this.rng = () => { const b = r(4); return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32; };
  }

  /** Adds (or replaces: a restarted peer) a node; `seed` varies its randomness. */
  add(name: string, addr: Address, opts: Partial<EndpointOptions> = {}, nat?: { address: string; basePort: number }, seed: string | number = 0): Endpoint {
    const ep = new Endpoint({ random: seededRandom(`mesh/${name}/${seed}`), ...opts });
    this.nodes.set(name, { name, ep, addr, nat, events: [] });
    return ep;
  }

  ep(name: string): Endpoint {
    return this.node(name).ep;
  }

  events(name: string): EngineEvent[] {
    return this.node(name).events;
  }

  ev<T extends EngineEvent['type']>(name: string, type: T): Extract<EngineEvent, { type: T }>[] {
    return this.node(name).events.filter((e) => e.type === type) as Extract<EngineEvent, { type: T }>[];
  }

  /** The public address a node is seen from (its NAT mapping of a local port, or itself). */
  publicOf(name: string, localPort = 500): Address {
    const n = this.node(name);
    if (!n.nat) return { address: n.addr.address, port: localPort };
    return { address: n.nat.address, port: n.nat.basePort + (localPort === 500 ? 0 : 1) };
  }

  /** Hands a datagram to a node as if it came from `from` (for replays and crafted messages). */
  inject(to: string, data: Uint8Array, from: Address, local?: Address): void {
    const n = this.node(to);
    n.ep.handleDatagram(this.now, local ?? n.addr, from, data);
    this.drain();
  }

  run(ms: number): void {
    const until = this.now + ms;
    this.drain();
    for (let guard = 0; guard < 1_000_000; guard++) {
      this.inflight.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const pkt = this.inflight[0];
      let next = pkt ? pkt.at : Infinity;
      for (const n of this.nodes.values()) {
        const t = n.ep.pollTimeout();
        if (t !== undefined) next = Math.min(next, t);
      }
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (pkt && pkt.at <= this.now) {
        this.inflight.shift();
        pkt.to.ep.handleDatagram(this.now, pkt.local, pkt.remote, pkt.data);
      } else {
        for (const n of this.nodes.values()) {
          const t = n.ep.pollTimeout();
          if (t !== undefined && t <= this.now) n.ep.handleTimeout(this.now);
        }
      }
      this.drain();
    }
    this.now = until;
  }

  private node(name: string): Node {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  private drain(): void {
    for (const n of this.nodes.values()) {
      for (let t = n.ep.pollTransmit(); t; t = n.ep.pollTransmit()) this.send(n, t);
      for (let e = n.ep.pollEvent(); e; e = n.ep.pollEvent()) n.events.push(e);
    }
  }

  private send(from: Node, t: Transmit): void {
    const src = this.publicOf(from.name, t.local.port);
    const to = this.route(t.remote);
    this.wire.push({ at: this.now, from: from.name, to: to?.name, data: t.data });
    if (!to || t.keepalive) return; // a NAT keepalive is dropped by the receiving transport
    const k = this.knobs;
    if (this.cut.has(from.name) || this.cut.has(to.name) || ((k.loss ?? 0) > 0 && this.rng() < k.loss!)) return;
    // a NATed receiver sees its own private address as the destination
    const local = to.nat ? { address: to.addr.address, port: t.remote.port === to.nat.basePort ? 500 : 4500 } : t.remote;
    const copies = (k.dup ?? 0) > 0 && this.rng() < k.dup! ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const extra = (k.reorder ?? 0) > 0 && this.rng() < k.reorder! ? Math.floor(this.rng() * 50) + 1 : 0;
      this.inflight.push({ at: this.now + (k.delay ?? 5) + extra + i, seq: this.seq++, to, local, remote: src, data: t.data });
    }
  }

  private route(dst: Address): Node | undefined {
    for (const n of this.nodes.values()) {
      if (n.nat) {
        if (n.nat.address === dst.address && (dst.port === n.nat.basePort || dst.port === n.nat.basePort + 1)) return n;
      } else if (n.addr.address === dst.address) {
        return n;
      }
    }
    return undefined;
  }
}
