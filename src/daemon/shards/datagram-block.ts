/**
 * Datagrams crossing the thread boundary in blocks (docs/scale.md, "The hand-off"): the bytes of
 * every datagram of a batch back to back in one buffer (transferred, not cloned), their addresses
 * and lengths in one typed array, each address string once. A block costs the structured clone
 * three values, where a datagram as an object with two address objects cost it seven, per
 * datagram.
 */
import type { Address } from '../engine.js';

/** Per datagram in `meta`: local address (index into `addrs`), local port, remote address, remote port, length, flags. */
const FIELDS = 6;
/** `flags`: a NAT-T keepalive (RFC 3948), for transmits. */
export const KEEPALIVE = 1;

export interface DatagramBlock {
  readonly addrs: readonly string[];
  readonly meta: Uint32Array;
  readonly bytes: Uint8Array;
}

/** Gathers datagrams into a block. */
export class BlockBuilder {
  private addrs: string[] = [];
  private index = new Map<string, number>();
  private meta: number[] = [];
  private buf = new Uint8Array(4096);
  private size = 0;
  private n = 0;

  get count(): number {
    return this.n;
  }

  private addr(a: string): number {
    let i = this.index.get(a);
    if (i === undefined) {
      i = this.addrs.length;
      this.addrs.push(a);
      this.index.set(a, i);
    }
    return i;
  }

  /** Adds a datagram (its bytes are copied now: the caller may reuse its buffer). */
  add(local: Address, remote: Address, data: Uint8Array, flags = 0): void {
    this.meta.push(this.addr(local.address), local.port, this.addr(remote.address), remote.port, data.length, flags);
    if (this.size + data.length > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.size + data.length));
      bigger.set(this.buf.subarray(0, this.size));
      this.buf = bigger;
    }
    this.buf.set(data, this.size);
    this.size += data.length;
    this.n++;
  }

  /** The block of what was added (the builder starts empty again), and the buffer to transfer. */
  take(): { block: DatagramBlock; transfer: ArrayBuffer } {
    const bytes = this.buf.subarray(0, this.size);
    const block: DatagramBlock = { addrs: this.addrs, meta: Uint32Array.from(this.meta), bytes };
    this.addrs = [];
    this.index = new Map();
    this.meta = [];
    this.buf = new Uint8Array(Math.min(65536, Math.max(4096, this.size)));
    this.size = 0;
    this.n = 0;
    return { block, transfer: bytes.buffer as ArrayBuffer };
  }
}

/**
 * Calls `f` for each datagram of a block, in order. `data` is a view into the block's buffer
 * (copy it to keep it: a view keeps the whole block alive); the address objects are shared by
 * the datagrams of the block with the same address and port.
 */
export function forEachDatagram(block: DatagramBlock, f: (local: Address, remote: Address, data: Uint8Array, flags: number) => void): void {
  const { addrs, meta, bytes } = block;
  const cache = new Map<number, Address>();
  const address = (i: number, port: number): Address => {
    const k = i * 65536 + port;
    let a = cache.get(k);
    if (a === undefined) cache.set(k, (a = { address: addrs[i]!, port }));
    return a;
  };
  let o = 0;
  for (let k = 0; k + FIELDS <= meta.length; k += FIELDS) {
    const len = meta[k + 4]!;
    if (o + len > bytes.length) throw new RangeError('datagram block: lengths past its bytes');
    f(address(meta[k]!, meta[k + 1]!), address(meta[k + 2]!, meta[k + 3]!), bytes.subarray(o, o + len), meta[k + 5]!);
    o += len;
  }
}
