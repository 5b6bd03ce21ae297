/**
 * A recording stand-in for the native netlink binding (src/daemon/dataplane/native.ts): it reads
 * every message the channel sends and answers as the kernel's xfrm code does (capped ACKs, errors
 * echoing the request with an extended-ACK text, ALLOCSPI replies, GETSA dumps as multipart
 * messages), so that the channel and the adapter logic run unchanged. The real kernel is in
 * test/interop/xfrm-netlink.test.ts.
 */
import type { NativeSockets } from '../../src/daemon/dataplane/native.js';
import { NLMSG_DONE, NLMSG_ERROR, NetlinkWriter, netlinkMessages, type NetlinkMessage } from '../../src/daemon/dataplane/netlink.js';
import { XFRM_MSG_ALLOCSPI, XFRM_MSG_GETSA, XFRM_MSG_NEWSA } from '../../src/daemon/dataplane/xfrm-messages.js';

export const PORT_ID = 4242;

export interface SentMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** The payload (a copy). */
  readonly payload: Uint8Array;
}

export interface FakeNetlink {
  readonly sys: NativeSockets;
  /** Every message received, in order, and each send() (batch) as the list of its message types. */
  readonly sent: SentMessage[];
  readonly batches: number[][];
  /** Refuse messages: return [errno, text] to refuse, undefined to accept. */
  refuse: (m: SentMessage) => [number, string?] | undefined;
  /** Drop the answer to these sequence numbers (a lost ACK). */
  readonly drop: Set<number>;
  /** SAs the GETSA dump reports: xfrm_usersa_info payloads. */
  dump: Uint8Array[];
  /** Queues a kernel-initiated message (pid 0) and wakes the channel as the poll would. */
  event(type: number, payload: Uint8Array): void;
  /** Makes the next recv() fail with -errno once. */
  failNextRecv: number | undefined;
  nextSpi: number;
  watching: boolean;
  closed: number;
}

function message(type: number, flags: number, seq: number, pid: number, payload: Uint8Array): Uint8Array {
  const w = new NetlinkWriter();
  w.begin(type, flags, seq, pid);
  const s = w.struct(payload.length);
  s.bytes.set(payload, s.at);
  w.end();
  return w.bytes().slice();
}

function ack(m: NetlinkMessage, raw: Uint8Array, errno: number, text?: string): Uint8Array {
  const w = new NetlinkWriter();
  const echo = errno === 0 ? raw.subarray(0, 16) : raw;
  w.begin(NLMSG_ERROR, (errno === 0 ? 0x100 : 0) | (text !== undefined ? 0x200 : 0), m.seq, PORT_ID);
  const s = w.struct(4 + echo.length);
  s.view.setInt32(s.at, -errno, true);
  s.bytes.set(echo, s.at + 4);
  if (text !== undefined) {
    const t = Buffer.from(text + '\0');
    const a = w.attr(1, t.length);
    a.bytes.set(t, a.at);
  }
  w.end();
  return w.bytes().slice();
}

export function fakeNetlink(): FakeNetlink {
  const queue: Uint8Array[] = [];
  let onReadable: ((s: number) => void) | undefined;
  const f: FakeNetlink = {
    sent: [],
    batches: [],
    refuse: () => undefined,
    drop: new Set(),
    dump: [],
    failNextRecv: undefined,
    nextSpi: 0xc0000100,
    watching: false,
    closed: 0,
    event(type, payload) {
      queue.push(message(type, 0, 0, 0, payload));
      onReadable?.(0);
    },
    sys: {
      open: () => [3, PORT_ID],
      send(_fd, bytes, length) {
        const types: number[] = [];
        let off = 0;
        for (const m of netlinkMessages(bytes.subarray(0, length))) {
          const len = 16 + m.payload.length;
          const raw = bytes.slice(off, off + len);
          off += (len + 3) & ~3;
          const s: SentMessage = { type: m.type, flags: m.flags, seq: m.seq, payload: m.payload.slice() };
          f.sent.push(s);
          types.push(m.type);
          if (f.drop.has(m.seq)) continue;
          const no = f.refuse(s);
          if (no !== undefined) queue.push(ack(m, raw, no[0], no[1]));
          else if (m.type === XFRM_MSG_ALLOCSPI) {
            const sa = m.payload.slice(0, 224);
            new DataView(sa.buffer).setUint32(72, f.nextSpi++, false);
            queue.push(message(XFRM_MSG_NEWSA, 0, m.seq, PORT_ID, sa));
          } else if (m.type === XFRM_MSG_GETSA && (m.flags & 0x300) === 0x300) {
            for (const p of f.dump) queue.push(message(XFRM_MSG_NEWSA, 2 /* MULTI */, m.seq, PORT_ID, p));
            queue.push(message(NLMSG_DONE, 2, m.seq, PORT_ID, new Uint8Array(4)));
          } else if ((m.flags & 4) !== 0) queue.push(ack(m, raw, 0));
        }
        f.batches.push(types);
        return length;
      },
      recv(_fd, buffer) {
        if (f.failNextRecv !== undefined) {
          const e = f.failNextRecv;
          f.failNextRecv = undefined;
          return -e;
        }
        const d = queue.shift();
        if (d === undefined) return 0;
        buffer.set(d);
        return d.length;
      },
      close: () => {
        f.closed++;
        return 0;
      },
      watch: (_fd, cb) => {
        onReadable = cb;
        f.watching = true;
        return {};
      },
      unwatch: () => {
        onReadable = undefined;
        f.watching = false;
      },
      setsockoptInt: () => 0,
      getsockoptInt: () => 2,
      localAddress: () => [4, 4500, 2],
      udpReusePort: () => -97, // EAFNOSUPPORT: the fake has no sockets
      attachReuseportCbpf: () => -22,
    },
  };
  return f;
}
