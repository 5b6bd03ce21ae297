// Test helpers for the codec suites: hex in/out, and an assertion on the exact notify type.
import assert from 'node:assert/strict';
import { DecodeError } from '../../src/errors.js';
import { NotifyType } from '../../src/constants/index.js';

export const hex = (s: string): Uint8Array => {
  const t = s.replace(/[\s|]/g, '');
  assert.equal(t.length % 2, 0, 'even hex');
  return Uint8Array.from(Buffer.from(t, 'hex'));
};
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** Asserts that `fn` throws a DecodeError with `notify` (by RFC name) and, when given, `offset`. */
export function throwsNotify(fn: () => unknown, notify: keyof typeof NotifyType, offset?: number): DecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DecodeError, `expected DecodeError ${notify}, got ${caught === undefined ? 'a value' : String(caught)}`);
  assert.equal(caught.notifyName, notify, caught.message);
  if (offset !== undefined) assert.equal(caught.offset, offset, caught.message);
  return caught;
}

/** A 28-byte ISAKMP header (RFC 2408 §3.1) followed by `body`, with the length filled in. */
export function withHeader(body: Uint8Array, opts: { next?: number; version?: number; exch?: number; flags?: number; msgid?: number; icookie?: string; rcookie?: string; length?: number } = {}): Uint8Array {
  const h = new Uint8Array(28 + body.length);
  h.set(hex(opts.icookie ?? '0102030405060708'), 0);
  h.set(hex(opts.rcookie ?? '0000000000000000'), 8);
  h[16] = opts.next ?? 0;
  h[17] = opts.version ?? 0x10;
  h[18] = opts.exch ?? 2;
  h[19] = opts.flags ?? 0;
  new DataView(h.buffer).setUint32(20, opts.msgid ?? 0);
  new DataView(h.buffer).setUint32(24, opts.length ?? h.length);
  h.set(body, 28);
  return h;
}

/** A generic payload header (RFC 2408 §3.2) + body, as hex. */
export function gen(next: number, body: string, reserved = 0): string {
  const len = 4 + body.replace(/\s/g, '').length / 2;
  return next.toString(16).padStart(2, '0') + reserved.toString(16).padStart(2, '0') + len.toString(16).padStart(4, '0') + body.replace(/\s/g, '');
}
