/**
 * A small bounded DER reader for the parts of X.509 certificates and CRLs that node:crypto does
 * not expose (extensions, Names, CRL entries). Every length is checked against its parent;
 * nothing is allocated from a claimed length; no recursion follows the input's nesting. Reading
 * never throws: a malformed element is `undefined` and the caller decides what that means.
 * @module
 */

/** One DER element: its tag, and where it starts, where its contents start and end. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag. */
  readonly start: number;
  /** Offset of the contents. */
  readonly body: number;
  /** Offset after the contents. */
  readonly end: number;
}

/** DER tags used by the readers. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * The element at `off`, which must end by `limit`. Definite lengths of at most 3 length octets
 * (16 MiB); high tag numbers never occur in what is read here and are refused.
 */
export function readTlv(b: Uint8Array, off: number, limit: number): Tlv | undefined {
  if (off < 0 || off + 2 > limit || limit > b.length) return undefined;
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const nb = len & 0x7f;
    if (nb === 0 || nb > 3 || p + nb > limit) return undefined;
    len = 0;
    for (let i = 0; i < nb; i++) len = len * 256 + b[p + i]!;
    p += nb;
  }
  if (p + len > limit) return undefined;
  return { tag, start: off, body: p, end: p + len };
}

/** The element at `off` if it has tag `tag`. */
export function expect(b: Uint8Array, off: number, limit: number, tag: number): Tlv | undefined {
  const t = readTlv(b, off, limit);
  return t !== undefined && t.tag === tag ? t : undefined;
}

/**
 * The elements inside `parent`, which must fill it exactly; at most `max` of them (the bound on
 * work per element: a CRL may list many serials, an extension few values).
 */
export function children(b: Uint8Array, parent: Tlv, max: number): Tlv[] | undefined {
  const out: Tlv[] = [];
  let p = parent.body;
  while (p < parent.end) {
    if (out.length >= max) return undefined;
    const t = readTlv(b, p, parent.end);
    if (t === undefined) return undefined;
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Lower-case hex of `b[start, end)`. */
export function hexOf(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('hex');
}

/** The dotted form of an OBJECT IDENTIFIER element ("2.5.29.19"), or undefined if malformed. */
export function oidText(b: Uint8Array, t: Tlv): string | undefined {
  if (t.tag !== Tag.OID || t.end - t.body < 1 || t.end - t.body > 64) return undefined;
  const arcs: number[] = [];
  let v = 0;
  let first = true;
  for (let i = t.body; i < t.end; i++) {
    const byte = b[i]!;
    if (v === 0 && byte === 0x80) return undefined; // non-minimal encoding
    v = v * 128 + (byte & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if ((byte & 0x80) === 0) {
      if (first) {
        const x = v < 40 ? 0 : v < 80 ? 1 : 2;
        arcs.push(x, v - 40 * x);
        first = false;
      } else arcs.push(v);
      v = 0;
    }
  }
  if ((b[t.end - 1]! & 0x80) !== 0) return undefined;
  return arcs.join('.');
}

/** The bytes of an INTEGER without leading zero octets (a serial number for comparison), as hex. */
export function integerHex(b: Uint8Array, t: Tlv): string | undefined {
  if (t.tag !== Tag.INTEGER || t.end === t.body) return undefined;
  let s = t.body;
  while (s < t.end - 1 && b[s] === 0) s++;
  return hexOf(b, s, t.end);
}

/** A small non-negative INTEGER (a version, a pathLenConstraint), or undefined. */
export function smallInteger(b: Uint8Array, t: Tlv): number | undefined {
  if (t.tag !== Tag.INTEGER || t.end === t.body || t.end - t.body > 4 || (b[t.body]! & 0x80) !== 0) return undefined;
  let v = 0;
  for (let i = t.body; i < t.end; i++) v = v * 256 + b[i]!;
  return v;
}

/** A BOOLEAN element's value (DER: 0x00 or 0xff), or undefined. */
export function booleanOf(b: Uint8Array, t: Tlv): boolean | undefined {
  if (t.tag !== Tag.BOOLEAN || t.end - t.body !== 1) return undefined;
  return b[t.body] !== 0;
}

/**
 * UTCTime (YYMMDDHHMMSSZ, years 1950-2049 per RFC 5280 §4.1.2.5.1) or GeneralizedTime
 * (YYYYMMDDHHMMSSZ) as milliseconds since the epoch; undefined for any other form.
 */
export function timeOf(b: Uint8Array, t: Tlv): number | undefined {
  const s = Buffer.from(b.buffer, b.byteOffset + t.body, t.end - t.body).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === Tag.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)) !== null) {
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (t.tag === Tag.GENERALIZED_TIME && (m = /^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)) !== null) {
    year = Number(m[1]);
  } else return undefined;
  const [mo, d, h, mi, se] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return undefined;
  return Date.UTC(year, mo - 1, d, h, mi, se);
}
