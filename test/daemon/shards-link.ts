/**
 * A sharded endpoint (src/daemon/shards/) wired in memory to plain engines as its peers, in real
 * time (the shards run their own timers on the wall clock): what the shards transmit goes to the
 * peer at its remote address, what a peer transmits goes to the shards, the peers' timers run
 * every 10 ms. For tests of what crosses the thread boundary with real handshakes and no sockets.
 */
import type { Address, Endpoint, EngineEvent } from '../../src/exchange/index.js';
import type { ShardedEndpoint } from '../../src/daemon/shards/index.js';

export class ShardLink {
  /** What the sharded endpoint emitted, and what each peer did (by its address). */
  readonly events: EngineEvent[] = [];
  readonly peerEvents = new Map<string, EngineEvent[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly shards: ShardedEndpoint,
    readonly peers: ReadonlyMap<string, Endpoint>,
  ) {
    for (const a of peers.keys()) this.peerEvents.set(a, []);
    shards.setWakeup(() => this.pump());
    this.timer = setInterval(() => this.pump(), 10);
  }

  pump(): void {
    const now = Date.now();
    for (let t = this.shards.pollTransmit(); t; t = this.shards.pollTransmit()) this.peers.get(t.remote.address)?.handleDatagram(now, t.remote, t.local, t.data);
    for (let e = this.shards.pollEvent(); e; e = this.shards.pollEvent()) this.events.push(e);
    for (const [address, p] of this.peers) {
      const at = p.pollTimeout();
      if (at !== undefined && at <= now) p.handleTimeout(now);
      for (let t = p.pollTransmit(); t; t = p.pollTransmit()) this.shards.handleDatagram(now, t.remote, t.local, t.data);
      for (let e = p.pollEvent(); e; e = p.pollEvent()) this.peerEvents.get(address)!.push(e);
    }
  }

  /** Waits (up to `ms`) until `f` holds, pumping meanwhile. */
  async until(f: () => boolean, what: string, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    for (this.pump(); !f(); this.pump()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.shards.close();
  }
}

/** The address a peer sends from. */
export function at(address: string, port = 500): Address {
  return { address, port };
}
