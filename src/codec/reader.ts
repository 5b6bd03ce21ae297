/**
 * A bounded read cursor over one datagram (the rustls `Reader` idea): every read checks the
 * remaining length first and throws a `DecodeError` carrying the notify type the caller chose,
 * never a RangeError. Offsets are absolute within the datagram (plus `base`).
 *
 * Allocation: the decoders walk nested structures (payload, proposal, transform) on ONE reader by
 * narrowing its window (`end`) and restoring it after, instead of a sub-reader per structure;
 * `sub` stays for callers that want a separate cursor. The chain decoders reuse one reader for
 * every datagram (`reset`).
 * @module
 */
import { NotifyType } from '../constants/index.js';
import { DecodeError } from '../errors.js';

export class Reader {
  /** The bytes being read (never written). */
  buf: Uint8Array;
  /** Current absolute index into `buf`. */
  pos: number;
  /** One past the last readable index (a sub-reader, or a narrowed window, has a smaller end). */
  end: number;
  /** Added to `pos` when reporting offsets (the datagram offset of `buf[0]`). */
  base: number;
  /** Payload type being decoded, for error reports (set while a payload body is decoded). */
  payload: number | undefined;

  constructor(buf: Uint8Array, pos = 0, end = buf.length, base = 0, payload?: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.base = base;
    this.payload = payload;
  }

  /** Points this reader at other bytes, as a new one would be (a reader reused per datagram). */
  reset(buf: Uint8Array, pos: number, end: number, base: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.base = base;
    this.payload = undefined;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Offset of the cursor as reported in errors. */
  get offset(): number {
    return this.base + this.pos;
  }

  fail(notify: number, reason: string, at: number = this.pos): never {
    throw new DecodeError(notify, reason, this.payload === undefined ? { offset: this.base + at } : { offset: this.base + at, payload: this.payload });
  }

  /** Throws (PAYLOAD_MALFORMED unless told otherwise) when fewer than `n` bytes remain. */
  need(n: number, what: string, notify: number = NotifyType.PAYLOAD_MALFORMED): void {
    if (this.end - this.pos < n) this.fail(notify, `${what}: needs ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail(NotifyType.PAYLOAD_MALFORMED, 'truncated');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const p = this.pos;
    if (this.end - p < 2) this.fail(NotifyType.PAYLOAD_MALFORMED, 'truncated');
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u24(): number {
    const p = this.pos;
    if (this.end - p < 3) this.fail(NotifyType.PAYLOAD_MALFORMED, 'truncated');
    this.pos = p + 3;
    return (this.buf[p]! << 16) | (this.buf[p + 1]! << 8) | this.buf[p + 2]!;
  }

  u32(): number {
    const p = this.pos;
    if (this.end - p < 4) this.fail(NotifyType.PAYLOAD_MALFORMED, 'truncated');
    this.pos = p + 4;
    const b = this.buf;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /**
   * `n` bytes as a view (no copy). Callers hand the codec a private copy of the datagram, so the
   * view never aliases a buffer the caller reuses (see message.ts).
   */
  bytes(n: number, what = 'field'): Uint8Array {
    const p = this.pos;
    if (n < 0 || this.end - p < n) this.fail(NotifyType.PAYLOAD_MALFORMED, `${what}: needs ${n} bytes, ${this.end - p} left`);
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** The rest of this reader's window. */
  rest(): Uint8Array {
    const p = this.pos;
    this.pos = this.end;
    return this.buf.subarray(p, this.end);
  }

  /**
   * How many items a chain of generic headers (Next Payload, RESERVED, Length) holds from the
   * cursor to `end`: payloads (`more` -1: any non-zero Next Payload continues), proposals (`more`
   * 2) or transforms (`more` 3). Moves nothing. It follows the same lengths the decoders do, so it
   * is the exact size of their result array when the chain is well formed; on a malformed chain it
   * stops early and the decoder refuses the chain anyway. Lets the decoders allocate each array
   * once, at its size (an array grown by `push` reserves 17 slots at its first element).
   */
  chainLength(more: number): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    let n = 0;
    while (end - p >= 4) {
      n++;
      const next = b[p]!;
      const len = (b[p + 2]! << 8) | b[p + 3]!;
      if (next === 0 || (more >= 0 && next !== more) || len < 4 || len > end - p) break;
      p += len;
    }
    return n;
  }

  /** A sub-reader over the next `n` bytes; this reader skips past them. */
  sub(n: number, what = 'field', notify: number = NotifyType.PAYLOAD_MALFORMED): Reader {
    const p = this.pos;
    if (n < 0 || this.end - p < n) this.fail(notify, `${what}: length ${n} exceeds the ${this.end - p} bytes left`);
    this.pos = p + n;
    return new Reader(this.buf, p, p + n, this.base, this.payload);
  }
}
