/**
 * One long-lived NETLINK_XFRM socket for the whole daemon: requests are written into one batch
 * and sent together once per event-loop turn (or sooner when the batch grows past `maxBatchBytes`);
 * each carries a sequence number, and its ACK, error or reply is matched back to it. The same
 * socket is subscribed to the acquire and expire multicast groups; those messages go to `onEvent`.
 *
 * The kernel handles every request of a batch inside the send() call (xfrm_netlink_rcv runs in the
 * sender's context), so the answers are already queued when it returns: they are read right away,
 * without waiting for the event loop, and a request of that batch still unanswered afterwards was
 * lost (receive buffer overrun) and fails with ENOBUFS. Dumps go on as the answers are read.
 *
 * Only the last request of a batch (that is not a dump) asks for an ACK: the kernel answers a
 * failed request with its error whether or not it asked for one, and handles the batch in order,
 * so once the last request is answered, an earlier 'ack' request without an error succeeded. That
 * saves the kernel an ACK message, and the daemon a recv(), per request. When the last answer is
 * missing, or the kernel reported dropped messages while the batch was read, the requests without
 * an answer fail with ENOBUFS as before (their errors may be the ones that were dropped).
 */
import { NLM_F_ACK, NLMSG_DONE, NLMSG_ERROR, NetlinkWriter, netlinkMessages, parseAck, type NetlinkAck, type NetlinkMessage } from './netlink.js';
import type { NativeSockets } from './native.js';

const ENOBUFS = 105;
const EBADF = 9;

/** How a request completes: on its ACK (or error), on its first reply, or at the end of a dump. */
export type ReplyMode = 'ack' | 'reply' | 'dump';

export interface ChannelReply {
  /** The kernel's ACK or error (absent when a reply or a dump ended the request). */
  readonly ack?: NetlinkAck;
  /** Replies (copies of their payloads), for 'reply' requests. */
  readonly messages: readonly { readonly type: number; readonly payload: Uint8Array }[];
}

export interface ChannelStats {
  /** Netlink requests (messages) sent. */
  requests: number;
  /** send() calls (one per batch). */
  sends: number;
  /** recv() calls, including the last one that found nothing. */
  recvs: number;
  bytesOut: number;
  /** Multicast messages (acquire, expire) handed to onEvent. */
  events: number;
  /** Times the kernel reported dropped messages (ENOBUFS). */
  overruns: number;
  /** 'ack' requests sent without NLM_F_ACK (not the last of their batch): settled by the last one's answer. */
  unacked: number;
}

interface Pending {
  readonly seq: number;
  readonly mode: ReplyMode;
  /** Where the request's message starts in the batch (to clear its NLM_F_ACK), and its type. */
  readonly at: number;
  readonly type: number;
  /** Sent without NLM_F_ACK: no answer means success once the batch's last request is answered. */
  unacked: boolean;
  readonly resolve: (r: ChannelReply) => void;
  readonly onMessage: ((m: NetlinkMessage) => void) | undefined;
  readonly messages: { type: number; payload: Uint8Array }[];
}

export interface ChannelOptions {
  /** Multicast groups to join (bind mask: bit g-1 for group g). */
  readonly groups: number;
  /** Kernel-initiated messages (acquire, expire): parse synchronously, the payload is a view into a reused buffer. */
  readonly onEvent?: (m: NetlinkMessage) => void;
  /** The kernel dropped messages (receive buffer full): events may have been lost. */
  readonly onOverrun?: () => void;
  /** Send a batch as soon as it is this large (default 64 KiB). */
  readonly maxBatchBytes?: number;
}

export class NetlinkChannel {
  private fd = -1;
  private portId = 0;
  private watcher: unknown;
  private readonly writer = new NetlinkWriter(64 * 1024);
  private readonly pending = new Map<number, Pending>();
  private queued: Pending[] = [];
  private lastSeq = 0;
  private flushScheduled = false;
  private readonly rbuf = new Uint8Array(256 * 1024);
  private readonly maxBatch: number;
  readonly stats: ChannelStats = { requests: 0, sends: 0, recvs: 0, bytesOut: 0, events: 0, overruns: 0, unacked: 0 };

  constructor(
    private readonly sys: NativeSockets,
    private readonly opts: ChannelOptions,
  ) {
    this.maxBatch = opts.maxBatchBytes ?? 64 * 1024;
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Opens the socket (idempotent); throws the system's error. (Without CAP_NET_ADMIN the socket opens, and each request is refused with EPERM.) */
  open(): void {
    if (this.fd >= 0) return;
    const [fd, pid] = this.sys.open(this.opts.groups);
    this.fd = fd;
    this.portId = pid;
    this.watcher = this.sys.watch(fd, () => this.drain());
  }

  private nextSeq(): number {
    do this.lastSeq = this.lastSeq >= 0xffffffff ? 1 : this.lastSeq + 1;
    while (this.pending.has(this.lastSeq));
    return this.lastSeq;
  }

  /**
   * Queues one request; `build` writes exactly one message with the sequence number it is given.
   * `onMessage` sees each reply of a dump in place (the payload is only valid during the call).
   */
  request(mode: ReplyMode, build: (w: NetlinkWriter, seq: number) => void, onMessage?: (m: NetlinkMessage) => void): Promise<ChannelReply> {
    this.open();
    const seq = this.nextSeq();
    const at = this.writer.length;
    build(this.writer, seq);
    this.stats.requests++;
    const b = this.writer.bytes();
    const type = b[at + 4]! | (b[at + 5]! << 8);
    return new Promise((resolve) => {
      const p: Pending = { seq, mode, at, type, unacked: false, resolve, onMessage, messages: [] };
      this.pending.set(seq, p);
      this.queued.push(p);
      if (this.writer.length >= this.maxBatch) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends the queued batch now and reads the answers. */
  flush(): void {
    this.flushScheduled = false;
    if (this.writer.length === 0 || this.fd < 0) return;
    const batch = this.queued;
    this.queued = [];
    const bytes = this.writer.bytes();
    // the last request that is not a dump keeps its NLM_F_ACK; 'ack' requests before it drop theirs
    let last = batch.length - 1;
    while (last >= 0 && batch[last]!.mode === 'dump') last--;
    for (let i = 0; i < last; i++) {
      const p = batch[i]!;
      if (p.mode !== 'ack') continue;
      bytes[p.at + 6]! &= ~NLM_F_ACK; // nlmsg_flags, little-endian: the ACK bit is in its first byte
      p.unacked = true;
      this.stats.unacked++;
    }
    const n = this.sys.send(this.fd, bytes, bytes.length);
    this.stats.sends++;
    this.writer.reset();
    if (n < 0) {
      for (const p of batch) this.fail(p, -n, 'the batch could not be sent');
      return;
    }
    this.stats.bytesOut += n;
    const overruns = this.stats.overruns;
    this.drain();
    const settled = last < 0 || (!this.pending.has(batch[last]!.seq) && this.stats.overruns === overruns);
    for (const p of batch) {
      if (p.mode === 'dump' || !this.pending.has(p.seq)) continue;
      if (p.unacked && settled) this.complete(p, { ack: { seq: p.seq, errno: 0, requestType: p.type }, messages: p.messages });
      else this.fail(p, ENOBUFS, 'no answer from the kernel (receive buffer overrun)');
    }
  }

  /** Reads everything waiting (bounded per call; the poll calls again while more waits). */
  drain(): void {
    for (let i = 0; i < 4096 && this.fd >= 0; i++) {
      const n = this.sys.recv(this.fd, this.rbuf);
      this.stats.recvs++;
      if (n === 0) return;
      if (n < 0) {
        if (-n === ENOBUFS) {
          this.stats.overruns++;
          this.opts.onOverrun?.();
          continue;
        }
        if (-n === EBADF) return;
        // a truncated datagram (EMSGSIZE) or another error: the message is gone, keep reading
        continue;
      }
      for (const m of netlinkMessages(this.rbuf.subarray(0, n))) this.dispatch(m);
    }
  }

  private dispatch(m: NetlinkMessage): void {
    const p = m.pid === this.portId ? this.pending.get(m.seq) : undefined;
    if (p === undefined) {
      if (m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE) {
        this.stats.events++;
        this.opts.onEvent?.(m);
      }
      return;
    }
    if (m.type === NLMSG_ERROR) {
      this.complete(p, { ack: parseAck(m), messages: p.messages });
    } else if (m.type === NLMSG_DONE) {
      this.complete(p, { messages: p.messages });
    } else if (p.onMessage !== undefined) {
      p.onMessage(m);
    } else {
      p.messages.push({ type: m.type, payload: m.payload.slice() });
      if (p.mode === 'reply') this.complete(p, { messages: p.messages });
    }
  }

  private complete(p: Pending, r: ChannelReply): void {
    this.pending.delete(p.seq);
    p.resolve(r);
  }

  private fail(p: Pending, errno: number, message: string): void {
    this.complete(p, { ack: { seq: p.seq, errno, requestType: 0, message }, messages: p.messages });
  }

  /** Closes the socket; requests still waiting fail with EBADF. The next request opens a new one. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    this.sys.unwatch(this.watcher);
    this.sys.close(this.fd);
    this.fd = -1;
    for (const p of [...this.pending.values()]) this.fail(p, EBADF, 'the netlink channel was closed');
    this.queued = [];
  }
}
