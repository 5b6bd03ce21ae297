/**
 * The daemon's UDP transport when engine shard processes own the sockets (docs/scale.md): it opens
 * the socket groups (socket-group.ts: one socket per shard for every listen address and port,
 * steered by the kernel), grows their receive buffers, starts the shard processes with them, and
 * keeps its own copies of the descriptors (never read: they hold each group's order while a shard
 * ends, and let the dataplane set UDP_ENCAP on them). It sends nothing itself: the shards send
 * from their sockets. Its counters are the shards' (as of their last report).
 */
import type { NativeSockets } from '../dataplane/native.js';
import type { TransportCounters, TransportOptions } from '../udp.js';
import type { Address } from '../engine.js';
import type { ReceivingTable } from './receiving.js';
import type { ShardedEndpoint } from './sharded-endpoint.js';
import { closeSocketGroups, openSocketGroups, type SocketGroup } from './socket-group.js';

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;

export class ShardSocketsTransport {
  private groups: SocketGroup[] = [];
  private readonly granted = new Map<SocketGroup, number>();

  constructor(
    private readonly sys: NativeSockets,
    private readonly ep: ShardedEndpoint,
    private readonly opts: Omit<TransportOptions, 'onDatagram'>,
    private readonly receiving: () => ReceivingTable,
  ) {}

  get counters(): TransportCounters {
    return this.ep.transportCounters();
  }

  async start(): Promise<void> {
    this.groups = openSocketGroups(this.sys, this.opts.listen, this.opts.port, this.opts.nattPort, this.ep.shards);
    const want = this.opts.receiveBuffer ?? 0;
    if (want > 0) {
      for (const g of this.groups) {
        for (const fd of g.fds) {
          if (this.sys.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, want) !== 0) this.sys.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, want);
        }
        const got = this.sys.getsockoptInt(g.fds[0]!, SOL_SOCKET, SO_RCVBUF);
        if (got >= 0) this.granted.set(g, Math.floor(got / 2)); // Linux reports twice the request
      }
    }
    this.ep.attachSockets(this.groups, this.receiving());
  }

  /** Every NAT-T socket of every shard (UDP_ENCAP is per socket). */
  nattSockets(): { fd: number | undefined; port: number }[] {
    return this.groups.filter((g) => g.natt).flatMap((g) => g.fds.map((fd) => ({ fd, port: g.port })));
  }

  addresses(): { address: string; port: number; natt: boolean; receiveBuffer?: number }[] {
    return this.groups.map((g) => {
      const rb = this.granted.get(g);
      return { address: g.address, port: g.port, natt: g.natt, ...(rb !== undefined ? { receiveBuffer: rb } : {}) };
    });
  }

  /** The shards send from their own sockets: nothing is queued here for the daemon to send. */
  send(local: Address, remote: Address, _data: Uint8Array): boolean {
    this.opts.onError(`no socket in the main process for ${local.address}:${local.port} -> ${remote.address}:${remote.port} (the engine shards send)`);
    return false;
  }

  sendKeepalive(_local: Address, _remote: Address): boolean {
    return false;
  }

  /** Closes the main process' copies, and ends the shard processes (a start that failed later on has them running). */
  async close(): Promise<void> {
    closeSocketGroups(this.sys, this.groups);
    this.groups = [];
    await this.ep.close();
  }
}
