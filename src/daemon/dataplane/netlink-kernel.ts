/**
 * The xfrm operations over the netlink channel: each operation one message of one batch, the
 * answers matched by sequence number, refusals with the kernel's extended-ACK text and errno.
 * Acquire and expire messages arrive on the same socket (multicast groups joined at open).
 */
import { NetlinkChannel, type ChannelReply, type ChannelStats } from './channel.js';
import type { KernelError, KernelEvents, XfrmKernel, XfrmOp } from './kernel.js';
import { describeErrno } from './netlink.js';
import type { NativeSockets } from './native.js';
import {
  XFRMNLGRP_ACQUIRE,
  XFRMNLGRP_EXPIRE,
  XFRM_MSG_ACQUIRE,
  XFRM_MSG_EXPIRE,
  XFRM_MSG_NEWSA,
  groupMask,
  parseAcquire,
  parseExpire,
  parseSaInfo,
  writeAllocSpi,
  writeDelPolicy,
  writeDelSa,
  writeGetSaDump,
  writeNewSa,
  writePolicy,
  type XfrmSaInfo,
  type XfrmSpiRequest,
} from './xfrm-messages.js';

const refusal = (r: ChannelReply): KernelError | undefined =>
  r.ack !== undefined && r.ack.errno !== 0 ? { errno: r.ack.errno, message: describeErrno(r.ack.errno, r.ack.message) } : undefined;

export class NetlinkKernel implements XfrmKernel {
  readonly name = 'netlink' as const;
  readonly channel: NetlinkChannel;
  private events: KernelEvents | undefined;
  /** Every request's echo as the kernel returned it in an error (or a faked ACK): tests read it. */
  onEcho?: (seq: number, echoed: Uint8Array) => void;

  constructor(sys: NativeSockets, private readonly log: (message: string) => void = () => {}) {
    this.channel = new NetlinkChannel(sys, {
      groups: groupMask(XFRMNLGRP_ACQUIRE) | groupMask(XFRMNLGRP_EXPIRE),
      onEvent: (m) => {
        try {
          if (m.type === XFRM_MSG_ACQUIRE) this.events?.acquire?.(parseAcquire(m.payload));
          else if (m.type === XFRM_MSG_EXPIRE) this.events?.expire?.(parseExpire(m.payload));
        } catch (err) {
          this.log(`xfrm: unreadable kernel message type ${m.type}: ${(err as Error).message}`);
        }
      },
      onOverrun: () => this.log('xfrm: the kernel dropped netlink messages (receive buffer full); acquires or expires may have been lost'),
    });
  }

  get stats(): ChannelStats {
    return this.channel.stats;
  }

  private one(o: XfrmOp): Promise<ChannelReply> {
    return this.channel.request('ack', (w, seq) => {
      switch (o.op) {
        case 'add-sa':
          return writeNewSa(w, seq, o.state, o.larval === true);
        case 'update-sa':
          return writeNewSa(w, seq, o.state, true);
        case 'del-sa':
          return writeDelSa(w, seq, o.id);
        case 'set-policy':
          return writePolicy(w, seq, o.policy, true);
        case 'del-policy':
          return writeDelPolicy(w, seq, o.sel, o.dir);
      }
    });
  }

  async apply(ops: readonly XfrmOp[]): Promise<(KernelError | undefined)[]> {
    let replies: ChannelReply[];
    try {
      replies = await Promise.all(ops.map((o) => this.one(o)));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return ops.map(() => ({ message: `cannot open the netlink channel: ${e.message}` }));
    }
    if (this.onEcho !== undefined) for (const r of replies) if (r.ack?.echoed !== undefined) this.onEcho(r.ack.seq, r.ack.echoed);
    return replies.map(refusal);
  }

  async counters(): Promise<XfrmSaInfo[]> {
    const out: XfrmSaInfo[] = [];
    const r = await this.channel.request('dump', (w, seq) => writeGetSaDump(w, seq), (m) => {
      if (m.type === XFRM_MSG_NEWSA) out.push(parseSaInfo(m.payload));
    });
    const e = refusal(r);
    if (e !== undefined) throw new Error(`GETSA dump: ${e.message}`);
    return out;
  }

  async allocSpi(reqs: readonly XfrmSpiRequest[]): Promise<(number | KernelError)[]> {
    let replies: ChannelReply[];
    try {
      replies = await Promise.all(reqs.map((q) => this.channel.request('reply', (w, seq) => writeAllocSpi(w, seq, q))));
    } catch (err) {
      return reqs.map(() => ({ message: `cannot open the netlink channel: ${(err as Error).message}` }));
    }
    return replies.map((r) => {
      const e = refusal(r);
      if (e !== undefined) return e;
      const m = r.messages.find((x) => x.type === XFRM_MSG_NEWSA);
      return m !== undefined ? parseSaInfo(m.payload).spi : { message: 'ALLOCSPI: no SA in the answer' };
    });
  }

  listen(events: KernelEvents): void {
    this.events = events;
    try {
      this.channel.open();
    } catch (err) {
      this.log(`xfrm: cannot open the netlink channel for acquires: ${(err as Error).message}`);
    }
  }

  unlisten(): void {
    this.events = undefined;
  }

  close(): void {
    this.channel.close();
  }
}
