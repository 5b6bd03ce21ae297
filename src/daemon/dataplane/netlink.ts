/**
 * Netlink framing (RFC 3549; linux/netlink.h): the 16-byte message header, attributes (TLVs
 * aligned to 4 bytes), error and ACK messages with their extended-ACK text. Little-endian (host
 * order on every Linux this runs on: x86-64, arm64). Pure functions over bytes; no socket here.
 *
 *   struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
 *   struct nlattr   { u16 len; u16 type; }  + payload, padded to 4
 *   struct nlmsgerr { s32 error; struct nlmsghdr msg; } + the request's payload (no CAP_ACK)
 *                                                       + attributes (NLM_F_ACK_TLVS)
 */

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
/** GET requests: the whole table (NLM_F_ROOT | NLM_F_MATCH). */
export const NLM_F_DUMP = 0x300;
/** In an error/ACK message: the request was capped (only its header is echoed). */
export const NLM_F_CAPPED = 0x100;
/** In an error/ACK message: extended-ACK attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** Extended-ACK attribute types (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export const align4 = (n: number): number => (n + 3) & ~3;

/** One message as found in a received datagram: a view, valid until the buffer is reused. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** The payload after the header (a view into the received bytes). */
  readonly payload: Uint8Array;
}

/** The kernel's answer to one request carrying NLM_F_ACK: `errno` 0 is success. */
export interface NetlinkAck {
  readonly seq: number;
  /** Positive errno (0 = ACK). */
  readonly errno: number;
  /** The request's type, from the echoed header. */
  readonly requestType: number;
  /** The kernel's extended-ACK text (e.g. "Requested type not found"), when it gave one. */
  readonly message?: string;
  /** The request as the kernel echoed it (header and payload), unless the kernel capped it. */
  readonly echoed?: Uint8Array;
}

/** Builds netlink messages into one growing buffer: a batch for a single send. */
export class NetlinkWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;
  private msgStart = -1;
  private readonly nests: number[] = [];

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  /** The bytes written so far (a view; copy before reusing the writer). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  reset(): void {
    this.len = 0;
    this.msgStart = -1;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.buf.fill(0, at, need); // padding and reserved fields are zero
    this.len = need;
    return at;
  }

  /** Opens a message; `end()` writes its length. */
  begin(type: number, flags: number, seq: number, pid = 0): void {
    if (this.msgStart >= 0) throw new Error('netlink: message already open');
    const at = this.reserve(NLMSG_HDRLEN);
    this.msgStart = at;
    this.view.setUint16(at + 4, type, true);
    this.view.setUint16(at + 6, flags, true);
    this.view.setUint32(at + 8, seq >>> 0, true);
    this.view.setUint32(at + 12, pid >>> 0, true);
  }

  end(): void {
    if (this.msgStart < 0) throw new Error('netlink: no message open');
    this.len = align4(this.len);
    this.view.setUint32(this.msgStart, this.len - this.msgStart, true);
    this.msgStart = -1;
  }

  /** Reserves `n` zeroed bytes (a fixed struct) and returns its offset and a view to fill it. */
  struct(n: number): { at: number; view: DataView; bytes: Uint8Array } {
    const at = this.reserve(align4(n));
    return { at, view: this.view, bytes: this.buf };
  }

  /** An attribute whose payload is `n` zeroed bytes, filled by the caller through the returned offset. */
  attr(type: number, n: number): { at: number; view: DataView; bytes: Uint8Array } {
    const at = this.reserve(align4(NLA_HDRLEN + n));
    this.view.setUint16(at, NLA_HDRLEN + n, true);
    this.view.setUint16(at + 2, type, true);
    return { at: at + NLA_HDRLEN, view: this.view, bytes: this.buf };
  }

  attrU32(type: number, v: number): void {
    const a = this.attr(type, 4);
    a.view.setUint32(a.at, v >>> 0, true);
  }

  attrU8(type: number, v: number): void {
    const a = this.attr(type, 1);
    a.bytes[a.at] = v;
  }
}

/**
 * Splits received bytes into messages. Bounded: throws at the first header whose length does not
 * fit (a truncated datagram).
 */
export function* netlinkMessages(data: Uint8Array): Generator<NetlinkMessage> {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= data.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > data.length) throw new Error(`netlink: message of length ${len} at offset ${off} does not fit in ${data.length} bytes`);
    yield {
      type: v.getUint16(off + 4, true),
      flags: v.getUint16(off + 6, true),
      seq: v.getUint32(off + 8, true),
      pid: v.getUint32(off + 12, true),
      payload: data.subarray(off + NLMSG_HDRLEN, off + len),
    };
    off += align4(len);
  }
}

/** Attributes in `data` (after a message's fixed struct): type → payload view (the last of a type wins). */
export function netlinkAttributes(data: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off + NLA_HDRLEN <= data.length) {
    const len = v.getUint16(off, true);
    if (len < NLA_HDRLEN || off + len > data.length) break;
    out.set(v.getUint16(off + 2, true) & 0x3fff, data.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** Reads an NLMSG_ERROR message (an ACK when errno is 0). */
export function parseAck(m: NetlinkMessage): NetlinkAck {
  if (m.payload.length < 4 + NLMSG_HDRLEN) return { seq: m.seq, errno: 71 /* EPROTO */, requestType: 0, message: 'short netlink error message' };
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const errno = 0 - v.getInt32(0, true);
  const reqLen = v.getUint32(4, true);
  const requestType = v.getUint16(8, true);
  // A real ACK is capped (header only); an error echoes the whole request, and so does an error
  // that an LD_PRELOAD shim turned into an ACK (fake-xfrm): the kernel's copy of what it got.
  const capped = (m.flags & NLM_F_CAPPED) !== 0;
  const echoedLen = capped ? NLMSG_HDRLEN : Math.min(reqLen, m.payload.length - 4);
  const echoed = !capped && echoedLen > NLMSG_HDRLEN ? m.payload.slice(4, 4 + echoedLen) : undefined;
  let message: string | undefined;
  if ((m.flags & NLM_F_ACK_TLVS) !== 0) {
    const attrs = netlinkAttributes(m.payload.subarray(4 + align4(echoedLen)));
    const msg = attrs.get(NLMSGERR_ATTR_MSG);
    if (msg !== undefined) {
      const nul = msg.indexOf(0);
      message = Buffer.from(msg.subarray(0, nul < 0 ? msg.length : nul)).toString('utf8');
    }
  }
  return { seq: m.seq, errno, requestType, ...(message !== undefined ? { message } : {}), ...(echoed !== undefined ? { echoed } : {}) };
}

/** errno names for the values the xfrm code can return (Linux x86-64/arm64 numbering). */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 7: 'E2BIG', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM',
  13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 28: 'ENOSPC', 34: 'ERANGE',
  38: 'ENOSYS', 61: 'ENODATA', 71: 'EPROTO', 75: 'EOVERFLOW', 90: 'EMSGSIZE', 92: 'ENOPROTOOPT',
  93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 105: 'ENOBUFS', 110: 'ETIMEDOUT',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** What an errno means for an xfrm request, when the kernel gave no text of its own. */
const ERRNO_TEXT: Readonly<Record<number, string>> = {
  1: 'not permitted (the daemon needs CAP_NET_ADMIN)', 2: 'no such entry', 3: 'no such SA or policy', 17: 'already exists',
  22: 'invalid argument', 12: 'out of memory', 93: 'protocol not supported', 105: 'no buffer space', 9: 'channel closed',
};

/** "Requested type not found (errno 93 EPROTONOSUPPORT)": the kernel's text (or the errno's meaning), and always the errno. */
export function describeErrno(errno: number, message?: string): string {
  return `${message !== undefined && message !== '' ? message : ERRNO_TEXT[errno] ?? 'kernel error'} (errno ${errno} ${errnoName(errno)})`;
}
