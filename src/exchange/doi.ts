/** (split from endpoint.ts) */
import { encodeAttributes } from '../codec/attributes.js';
import { type DataAttribute } from '../codec/types.js';
import { Writer } from '../codec/writer.js';

export function encodeAttrs(attrs: readonly DataAttribute[]): Uint8Array {
  const w = new Writer(4 * attrs.length + 16);
  encodeAttributes(w, attrs);
  return w.finishCopy();
}

/** RESPONDER-LIFETIME notification data: SA life type/duration attributes (RFC 2407 §4.6.3.1). */
export function parseLifetimeData(d: Uint8Array): { seconds?: number; kilobytes?: number } {
  const out: { seconds?: number; kilobytes?: number } = {};
  let off = 0;
  let type: number | undefined;
  for (let guard = 0; guard < 16 && off + 4 <= d.length; guard++) {
    const af = d[off]! & 0x80;
    const cls = ((d[off]! & 0x7f) << 8) | d[off + 1]!;
    let value: number;
    if (af) {
      value = (d[off + 2]! << 8) | d[off + 3]!;
      off += 4;
    } else {
      const len = (d[off + 2]! << 8) | d[off + 3]!;
      if (len === 0 || len > 8 || off + 4 + len > d.length) break;
      value = 0;
      for (let i = 0; i < len; i++) value = value * 256 + d[off + 4 + i]!;
      off += 4 + len;
    }
    if (cls === 1) type = value;
    else if (cls === 2 && type !== undefined) {
      if (type === 1) out.seconds = value;
      else if (type === 2) out.kilobytes = value;
      type = undefined;
    }
  }
  return out;
}
