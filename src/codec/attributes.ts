/**
 * RFC 2408 §3.3 Data Attributes, and typed views of them: RFC 2409 Appendix A (IKE phase-1 SA
 * classes) and RFC 2407 §4.5 (IPsec SA classes).
 *
 * ```
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !A!       Attribute Type        !    AF=0  Attribute Length     !
 * !F!                             !    AF=1  Attribute Value      !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * .                   AF=0  Attribute Value                       .
 * .                   AF=1  Not Transmitted                       .
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * @module
 */
import {
  AuthAlgorithm,
  AuthMethod,
  EncapsulationMode,
  EncryptionAlgorithm,
  GroupDescription,
  GroupType,
  HashAlgorithm,
  IkeAttr,
  IpsecAttr,
  LifeType,
  NotifyType,
  SaLifeType,
  lookupName,
  type NumberTable,
} from '../constants/index.js';
import type { DataAttribute, Mutable, Transform } from './types.js';
import type { Reader } from './reader.js';
import { Writer } from './writer.js';

/** A TV (basic) attribute: AF=1, 15-bit type, 16-bit value. */
export function tv(type: number, value: number): DataAttribute {
  return { format: 'TV', type, value };
}

/** A TLV (variable) attribute: AF=0, 15-bit type, 16-bit length, value. */
export function tlv(type: number, value: Uint8Array): DataAttribute {
  return { format: 'TLV', type, value };
}

/**
 * A TLV value as an unsigned big-endian number, for values up to 6 octets after leading zeros
 * (life durations, RFC 2409 App. A "variable" classes that carry numbers). A TV value is returned
 * as is. `undefined` when the value is too long or empty.
 */
export function attrValueAsNumber(attr: DataAttribute): number | undefined {
  if (attr.format === 'TV') return attr.value;
  const v = attr.value;
  let i = 0;
  while (i < v.length && v[i] === 0) i++;
  if (v.length === 0 || v.length - i > 6) return undefined;
  let n = 0;
  for (; i < v.length; i++) n = n * 256 + v[i]!;
  return n;
}

/**
 * TV attributes are small immutable records and every handshake decodes the same few dozen
 * (cipher, hash, group, life type...): one frozen record per (type, value) is shared by all
 * decodes instead of a new object each time. The table is bounded: emptied when full, so a peer
 * that sends many distinct attributes costs a refill, nothing that lasts.
 */
const TV_RECORDS = new Map<number, DataAttribute>();
const TV_RECORDS_MAX = 4096;

function tvRecord(type: number, value: number): DataAttribute {
  const key = (type << 16) | value; // 15 + 16 bits: a non-negative small integer
  let a = TV_RECORDS.get(key);
  if (a === undefined) {
    if (TV_RECORDS.size >= TV_RECORDS_MAX) TV_RECORDS.clear();
    a = Object.freeze<DataAttribute>({ format: 'TV', type, value });
    TV_RECORDS.set(key, a);
  }
  return a;
}

/**
 * How many attributes b[p, end) holds when well formed (stops early on a malformed one, which the
 * decoder refuses): the exact size of the decoder's array, allocated once.
 */
function attributeCount(b: Uint8Array, p: number, end: number): number {
  let n = 0;
  while (end - p >= 4) {
    n++;
    p += b[p]! & 0x80 ? 4 : 4 + ((b[p + 2]! << 8) | b[p + 3]!);
  }
  return n;
}

/**
 * Reads attributes until the reader's window is exhausted. With `zeroTail`, a tail too short for
 * an attribute header (1 to 3 bytes) that is all zero is padding, not an error: its length goes
 * into `zeroTail.pad` (the Transaction payload, which some peers pad to a multiple of four).
 */
export function decodeAttributes(r: Reader, zeroTail?: { pad: number }): DataAttribute[] {
  const out: DataAttribute[] = new Array(attributeCount(r.buf, r.pos, r.end));
  let count = 0;
  const b = r.buf;
  while (r.pos < r.end) {
    const p = r.pos;
    if (r.end - p < 4) {
      if (zeroTail && isZeroTail(b, p, r.end)) {
        zeroTail.pad = r.end - p;
        r.pos = r.end;
        break;
      }
      r.fail(NotifyType.PAYLOAD_MALFORMED, `data attribute header needs 4 bytes, ${r.end - p} left`);
    }
    const t = (b[p]! << 8) | b[p + 1]!;
    const v = (b[p + 2]! << 8) | b[p + 3]!;
    if (t & 0x8000) {
      r.pos = p + 4;
      out[count++] = tvRecord(t & 0x7fff, v);
    } else {
      if (r.end - p - 4 < v) r.fail(NotifyType.PAYLOAD_MALFORMED, `attribute ${t} length ${v} exceeds the ${r.end - p - 4} bytes left`);
      r.pos = p + 4 + v;
      out[count++] = { format: 'TLV', type: t, value: b.subarray(p + 4, p + 4 + v) };
    }
  }
  if (count !== out.length) out.length = count; // never for attributes that decoded (same walk)
  return out;
}

function isZeroTail(b: Uint8Array, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

export function encodeAttributes(w: Writer, attrs: readonly DataAttribute[]): void {
  // Hot path (an MM1 carries dozens of attributes): one capacity check per attribute, direct writes.
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    const t = a.type;
    if (!(t >= 0 && t <= 0x7fff && (t | 0) === t)) Writer.refuse('attribute type', t);
    if (a.format === 'TV') {
      const v = a.value;
      if (!(v >= 0 && v <= 0xffff && (v | 0) === v)) Writer.refuse(`attribute ${t} TV value`, v);
      w.ensure(4);
      const b = w.buf;
      const p = w.pos;
      b[p] = (t >>> 8) | 0x80; b[p + 1] = t & 0xff; b[p + 2] = v >>> 8; b[p + 3] = v & 0xff;
      w.pos = p + 4;
    } else {
      const n = a.value.length;
      if (n > 0xffff) Writer.refuse(`attribute ${t} TLV length`, n);
      w.ensure(4 + n);
      const b = w.buf;
      const p = w.pos;
      b[p] = t >>> 8; b[p + 1] = t & 0xff; b[p + 2] = n >>> 8; b[p + 3] = n & 0xff;
      b.set(a.value, p + 4);
      w.pos = p + 4 + n;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Typed views

/** A wire number with its RFC name when one is known. */
export interface NamedValue {
  readonly value: number;
  readonly name: string | undefined;
}

/** A life type followed by its duration (RFC 2409 App. A / RFC 2407 §4.5 pairing rule). */
export interface LifePair {
  readonly type: NamedValue;
  /** Duration as a number (TV, or TLV up to 6 octets); `undefined` when absent or too long. */
  readonly duration: number | undefined;
  /** The duration attribute as sent (TV or TLV), when present. */
  readonly raw?: DataAttribute;
}

/** RFC 2409 Appendix A classes of one IKE (phase-1) transform. */
export interface IkeAttributes {
  readonly encryptionAlgorithm?: NamedValue;
  readonly hashAlgorithm?: NamedValue;
  readonly authMethod?: NamedValue;
  readonly groupDescription?: NamedValue;
  readonly groupType?: NamedValue;
  readonly lifetimes: readonly LifePair[];
  readonly prf?: NamedValue;
  readonly keyLength?: number;
  readonly fieldSize?: number;
  /** Private-group classes 6–10 and 16 (prime, generators, curve a/b, order) kept as bytes. */
  readonly privateGroup: readonly { readonly type: number; readonly name: string | undefined; readonly value: Uint8Array }[];
  /** Attributes of unknown classes, or of known classes in the wrong form, kept as sent. */
  readonly unknown: readonly DataAttribute[];
  /** Second and later occurrences of a single-valued class, kept as sent. */
  readonly duplicates: readonly DataAttribute[];
}

/** RFC 2407 §4.5 classes of one IPsec (phase-2) transform. */
export interface IpsecAttributes {
  readonly lifetimes: readonly LifePair[];
  readonly groupDescription?: NamedValue;
  readonly encapsulationMode?: NamedValue;
  readonly authenticationAlgorithm?: NamedValue;
  readonly keyLength?: number;
  readonly keyRounds?: number;
  readonly compressDictionarySize?: number;
  readonly compressPrivateAlgorithm?: Uint8Array;
  readonly ecnTunnel?: NamedValue;
  readonly extendedSequenceNumber?: NamedValue;
  readonly unknown: readonly DataAttribute[];
  readonly duplicates: readonly DataAttribute[];
}

/** RFC 3168 §9.2 ECN Tunnel attribute values. */
export const EcnTunnel = { ALLOWED: 1, FORBIDDEN: 2 } as const;
/** RFC 4304 §2 Extended (64-bit) Sequence Number attribute value. */
export const ExtendedSequenceNumber = { ESN_64_BIT: 1 } as const;

function named(table: NumberTable, value: number): NamedValue {
  return { value, name: lookupName(table, value) };
}

/** A number out of a basic class: TV, or a TLV that holds a short number (tolerated). */
function basicNumber(a: DataAttribute): number | undefined {
  return a.format === 'TV' ? a.value : a.value.length <= 2 ? attrValueAsNumber(a) : undefined;
}

/**
 * Typed view of an IKE phase-1 transform's attributes (RFC 2409 App. A). Never throws: what the
 * view cannot place lands in `unknown` or `duplicates`. Life durations pair with the Life Type
 * before them; a duration with no type before it lands in `unknown`.
 */
export function ikeAttributes(t: Transform): IkeAttributes {
  const out: Mutable<IkeAttributes> = { lifetimes: [], privateGroup: [], unknown: [], duplicates: [] };
  const lifetimes = out.lifetimes as LifePair[];
  const unknown = out.unknown as DataAttribute[];
  const dups = out.duplicates as DataAttribute[];
  const priv = out.privateGroup as Mutable<IkeAttributes['privateGroup'][number]>[];
  const setNamed = (a: DataAttribute, key: keyof IkeAttributes, table: NumberTable): void => {
    const n = basicNumber(a);
    if (n === undefined) unknown.push(a);
    else if (out[key] !== undefined) dups.push(a);
    else (out as Record<string, unknown>)[key] = named(table, n);
  };
  const setNumber = (a: DataAttribute, key: 'keyLength' | 'fieldSize'): void => {
    const n = basicNumber(a);
    if (n === undefined) unknown.push(a);
    else if (out[key] !== undefined) dups.push(a);
    else out[key] = n;
  };
  for (const a of t.attributes) {
    switch (a.type) {
      case IkeAttr.ENCRYPTION_ALGORITHM: setNamed(a, 'encryptionAlgorithm', EncryptionAlgorithm); break;
      case IkeAttr.HASH_ALGORITHM: setNamed(a, 'hashAlgorithm', HashAlgorithm); break;
      case IkeAttr.AUTHENTICATION_METHOD: setNamed(a, 'authMethod', AuthMethod); break;
      case IkeAttr.GROUP_DESCRIPTION: setNamed(a, 'groupDescription', GroupDescription); break;
      case IkeAttr.GROUP_TYPE: setNamed(a, 'groupType', GroupType); break;
      case IkeAttr.PRF: setNamed(a, 'prf', {}); break;
      case IkeAttr.KEY_LENGTH: setNumber(a, 'keyLength'); break;
      case IkeAttr.FIELD_SIZE: setNumber(a, 'fieldSize'); break;
      case IkeAttr.LIFE_TYPE: {
        const n = basicNumber(a);
        if (n === undefined) unknown.push(a);
        else lifetimes.push({ type: named(LifeType, n), duration: undefined });
        break;
      }
      case IkeAttr.LIFE_DURATION: {
        const last = lifetimes[lifetimes.length - 1];
        if (last === undefined || last.raw !== undefined) unknown.push(a);
        else lifetimes[lifetimes.length - 1] = { type: last.type, duration: attrValueAsNumber(a), raw: a };
        break;
      }
      case IkeAttr.GROUP_PRIME:
      case IkeAttr.GROUP_GENERATOR_ONE:
      case IkeAttr.GROUP_GENERATOR_TWO:
      case IkeAttr.GROUP_CURVE_A:
      case IkeAttr.GROUP_CURVE_B:
      case IkeAttr.GROUP_ORDER:
        if (a.format === 'TLV') priv.push({ type: a.type, name: lookupName(IkeAttr, a.type), value: a.value });
        else unknown.push(a);
        break;
      default:
        unknown.push(a);
    }
  }
  return out;
}

/**
 * Typed view of an IPsec phase-2 transform's attributes (RFC 2407 §4.5). Never throws.
 */
export function ipsecAttributes(t: Transform): IpsecAttributes {
  const out: Mutable<IpsecAttributes> = { lifetimes: [], unknown: [], duplicates: [] };
  const lifetimes = out.lifetimes as LifePair[];
  const unknown = out.unknown as DataAttribute[];
  const dups = out.duplicates as DataAttribute[];
  const setNamed = (a: DataAttribute, key: keyof IpsecAttributes, table: NumberTable): void => {
    const n = basicNumber(a);
    if (n === undefined) unknown.push(a);
    else if (out[key] !== undefined) dups.push(a);
    else (out as Record<string, unknown>)[key] = named(table, n);
  };
  const setNumber = (a: DataAttribute, key: 'keyLength' | 'keyRounds' | 'compressDictionarySize'): void => {
    const n = basicNumber(a);
    if (n === undefined) unknown.push(a);
    else if (out[key] !== undefined) dups.push(a);
    else out[key] = n;
  };
  for (const a of t.attributes) {
    switch (a.type) {
      case IpsecAttr.SA_LIFE_TYPE: {
        const n = basicNumber(a);
        if (n === undefined) unknown.push(a);
        else lifetimes.push({ type: named(SaLifeType, n), duration: undefined });
        break;
      }
      case IpsecAttr.SA_LIFE_DURATION: {
        const last = lifetimes[lifetimes.length - 1];
        if (last === undefined || last.raw !== undefined) unknown.push(a);
        else lifetimes[lifetimes.length - 1] = { type: last.type, duration: attrValueAsNumber(a), raw: a };
        break;
      }
      case IpsecAttr.GROUP_DESCRIPTION: setNamed(a, 'groupDescription', GroupDescription); break;
      case IpsecAttr.ENCAPSULATION_MODE: setNamed(a, 'encapsulationMode', EncapsulationMode); break;
      case IpsecAttr.AUTHENTICATION_ALGORITHM: setNamed(a, 'authenticationAlgorithm', AuthAlgorithm); break;
      case IpsecAttr.KEY_LENGTH: setNumber(a, 'keyLength'); break;
      case IpsecAttr.KEY_ROUNDS: setNumber(a, 'keyRounds'); break;
      case IpsecAttr.COMPRESS_DICTIONARY_SIZE: setNumber(a, 'compressDictionarySize'); break;
      case IpsecAttr.COMPRESS_PRIVATE_ALGORITHM:
        if (a.format !== 'TLV') unknown.push(a);
        else if (out.compressPrivateAlgorithm !== undefined) dups.push(a);
        else out.compressPrivateAlgorithm = a.value;
        break;
      case IpsecAttr.ECN_TUNNEL: setNamed(a, 'ecnTunnel', EcnTunnel); break;
      case IpsecAttr.EXTENDED_SEQUENCE_NUMBER: setNamed(a, 'extendedSequenceNumber', ExtendedSequenceNumber); break;
      default:
        unknown.push(a);
    }
  }
  return out;
}
