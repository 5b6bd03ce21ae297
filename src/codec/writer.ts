/**
 * A growable write buffer with big-endian helpers and length back-patching.
 * Values out of a field's range are refused with a `DecodeError` (PAYLOAD_MALFORMED): the codec
 * never silently truncates a number.
 * @module
 */
import { NotifyType } from '../constants/index.js';
import { DecodeError } from '../errors.js';

export class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 512) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes (callers may then write `buf` directly). */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
  }

  static refuse(what: string, value: unknown): never {
    throw new DecodeError(NotifyType.PAYLOAD_MALFORMED, `cannot encode ${what} = ${String(value)}`);
  }

  u8(v: number, what = 'u8'): void {
    if (!(v >= 0 && v <= 0xff && Number.isInteger(v))) Writer.refuse(what, v);
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number, what = 'u16'): void {
    if (!(v >= 0 && v <= 0xffff && Number.isInteger(v))) Writer.refuse(what, v);
    if (this.pos + 2 > this.buf.length) this.grow(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
  }

  u24(v: number, what = 'u24'): void {
    if (!(v >= 0 && v <= 0xffffff && Number.isInteger(v))) Writer.refuse(what, v);
    if (this.pos + 3 > this.buf.length) this.grow(3);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 16;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = v & 0xff;
    this.pos = p + 3;
  }

  u32(v: number, what = 'u32'): void {
    if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) Writer.refuse(what, v);
    if (this.pos + 4 > this.buf.length) this.grow(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }

  bytes(v: Uint8Array): void {
    const n = v.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.set(v, this.pos);
    this.pos += n;
  }

  /** Overwrite a 16-bit field written earlier (payload lengths). */
  patch16(at: number, v: number, what = 'length'): void {
    if (v > 0xffff) Writer.refuse(what, v);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }

  patch32(at: number, v: number): void {
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
  }

  patch8(at: number, v: number): void {
    this.buf[at] = v;
  }

  /** The written bytes. The buffer belongs to this writer only, so a view is safe to hand out. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Starts over (a reused writer). */
  reset(): void {
    this.pos = 0;
  }

  /** A right-sized copy of the written bytes (for a reused writer, whose buffer is overwritten later). */
  finishCopy(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
