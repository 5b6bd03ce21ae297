/**
 * RFC 2408 §3.1 ISAKMP header and §3.2 payload chain: whole messages to records and back.
 *
 * ```
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Initiator                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Responder                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Message ID                           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                            Length                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Buffer ownership: `decodeMessage` and `decodePayloads` copy their input once, then every
 * byte-string field of the result is a view into that private copy. The records therefore never
 * alias a buffer the caller may reuse (a socket receive buffer), and decoding allocates one copy
 * per message instead of one per field. A record's byte fields may share one ArrayBuffer: treat
 * them as read-only. A TV data attribute is a frozen record shared by all decodes (attributes.ts).
 *
 * Allocation: the decoders build the result records and views and little else: one reader for
 * every chain (its window narrowed per payload, proposal and transform), each array allocated at
 * its final size, no object or text per payload that the result does not hold.
 * @module
 */
import { HeaderFlag, ISAKMP_HEADER_LENGTH, ISAKMP_MAJOR_VERSION, ISAKMP_MINOR_VERSION, NotifyType, PayloadType } from '../constants/index.js';
import { DecodeError } from '../errors.js';
import { decodeBody, encodeBody, payloadTypeOf } from './payloads.js';
import { Reader } from './reader.js';
import type { Header, Message, Payload } from './types.js';
import { Writer } from './writer.js';

const FLAGS_DEFINED = HeaderFlag.ENCRYPTION | HeaderFlag.COMMIT | HeaderFlag.AUTHENTICATION_ONLY;

/** Payload types that only appear nested inside an SA: Proposal (2) and Transform (3). */
function isNestedOnly(t: number): boolean {
  return t === PayloadType.P || t === PayloadType.T;
}

/**
 * Checks the fixed header of a datagram and returns it (RFC 2408 §5.1 order: length, then
 * version, then flags). Cheap enough for demultiplexing by cookies; copies the two cookies.
 */
export function decodeHeader(bytes: Uint8Array): Header {
  return headerRecord(checkHeader(bytes), copyOf(bytes, 0, 8), copyOf(bytes, 8, 16));
}

/**
 * Internal (not re-exported by the codec's index): `decodeHeader` with the two cookies as VIEWS
 * of `bytes`, not copies: same checks and errors. For a caller that handles the datagram at once
 * and copies any cookie it keeps (the engine's demultiplexer: one datagram, no copies).
 */
export function decodeHeaderView(bytes: Uint8Array): Header {
  return headerRecord(checkHeader(bytes), bytes.subarray(0, 8), bytes.subarray(8, 16));
}

/** The header record of a checked datagram, with the cookies as the caller made them. */
function headerRecord(b: Uint8Array, ic: Uint8Array, rc: Uint8Array): Header {
  return {
    initiatorCookie: ic,
    responderCookie: rc,
    nextPayload: b[16]!,
    majorVersion: b[17]! >>> 4,
    minorVersion: b[17]! & 0x0f,
    exchangeType: b[18]!,
    flags: b[19]!,
    messageId: ((b[20]! << 24) >>> 0) + ((b[21]! << 16) | (b[22]! << 8) | b[23]!),
  };
}

/** Checks the fixed header in RFC 2408 §5.1 order; throws, or returns the datagram itself (no record built). */
function checkHeader(b: Uint8Array): Uint8Array {
  const n = b.length;
  if (n < ISAKMP_HEADER_LENGTH) {
    throw new DecodeError(NotifyType.UNEQUAL_PAYLOAD_LENGTHS, `datagram of ${n} bytes is shorter than the 28-byte ISAKMP header`, { offset: 0 });
  }
  const length = ((b[24]! << 24) >>> 0) + ((b[25]! << 16) | (b[26]! << 8) | b[27]!);
  if (length !== n) {
    throw new DecodeError(NotifyType.UNEQUAL_PAYLOAD_LENGTHS, `header length ${length} differs from the ${n}-byte datagram`, { offset: 24 });
  }
  const ver = b[17]!;
  if (ver >>> 4 !== ISAKMP_MAJOR_VERSION) {
    throw new DecodeError(NotifyType.INVALID_MAJOR_VERSION, `major version ${ver >>> 4}`, { offset: 17 });
  }
  if ((ver & 0x0f) !== ISAKMP_MINOR_VERSION) {
    throw new DecodeError(NotifyType.INVALID_MINOR_VERSION, `minor version ${ver & 0x0f}`, { offset: 17 });
  }
  const flags = b[19]!;
  if ((flags & ~FLAGS_DEFINED) !== 0) {
    throw new DecodeError(NotifyType.INVALID_FLAGS, `flags 0x${flags.toString(16)} set undefined bits`, { offset: 19 });
  }
  return b;
}

/**
 * Decodes one datagram. Throws only `DecodeError` (with notify type and offset).
 * With the E flag the body stays opaque in `encrypted` and `payloads` is empty. Bytes after the
 * payload whose Next Payload is 0 (inside the header length) are returned in `trailing`.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  checkHeader(bytes);
  const buf = copyOf(bytes, 0, bytes.length); // private copy: see "Buffer ownership" above
  const header = headerRecord(buf, buf.subarray(0, 8), buf.subarray(8, 16));
  if (header.flags & HeaderFlag.ENCRYPTION) {
    return { header, payloads: [], encrypted: buf.subarray(ISAKMP_HEADER_LENGTH) };
  }
  const r = CHAIN.reset(buf, ISAKMP_HEADER_LENGTH, buf.length, 0);
  let payloads: Payload[];
  let chainEnd: number;
  try {
    payloads = walkChain(header.nextPayload, r, true);
    chainEnd = r.pos;
  } finally {
    release(r);
  }
  // Bytes after the last payload, inside the header length (checked equal to the datagram):
  // kept apart (never in a payload), reported by verify() and re-encoded by encodeMessage.
  if (chainEnd === buf.length) return { header, payloads };
  return { header, payloads, trailing: buf.subarray(chainEnd) };
}

/**
 * The one reader of the chain decoders: they never nest and call nothing outside the codec, so
 * each call resets it (no reader allocated per datagram) and `release` empties it after, so that
 * it keeps no datagram (nor decrypted plaintext) alive.
 */
const CHAIN = new Reader(new Uint8Array(0));
const NO_BYTES = CHAIN.buf;

function release(r: Reader): void {
  r.reset(NO_BYTES, 0, 0, 0);
}

/** `walkChain` over buf[pos..] on the shared reader, errors at offset `base` + index. */
function decodeChain(first: number, buf: Uint8Array, pos: number, base: number, allowTrailing: boolean): Payload[] {
  const r = CHAIN.reset(buf, pos, buf.length, base);
  try {
    return walkChain(first, r, allowTrailing);
  } finally {
    release(r);
  }
}

/**
 * Decodes a payload chain that starts with a payload of type `firstPayload`: the plaintext of an
 * encrypted body, after the exchange layer decrypted it. `baseOffset` is added to error offsets
 * (28 for a body that followed the header). `allowTrailing` tolerates bytes after the payload
 * whose Next Payload is 0 (the CBC padding RFC 2408 §3.1 allows after the last payload).
 */
export function decodePayloads(
  firstPayload: number,
  body: Uint8Array,
  opts: { baseOffset?: number; allowTrailing?: boolean } = {},
): Payload[] {
  return decodeChain(firstPayload, copyOf(body, 0, body.length), 0, opts.baseOffset ?? 0, opts.allowTrailing ?? false);
}

/**
 * Internal (not re-exported by the codec's index): `decodePayloads` WITHOUT the private copy.
 * The records are views into `body` itself, so the caller must either own `body` alone (a fresh
 * decryption output) or use the records only before returning and copy every byte field it
 * keeps (the engine's Main Mode handlers do). Same checks, offsets and errors as `decodePayloads`.
 */
export function decodePayloadsInPlace(firstPayload: number, body: Uint8Array, baseOffset: number, allowTrailing: boolean): Payload[] {
  return decodeChain(firstPayload, body, 0, baseOffset, allowTrailing);
}

/**
 * Internal: `decodePayloadsInPlace(firstPayload, datagram.subarray(28), 28, allowTrailing)` read
 * through offsets: the chain of an unencrypted datagram (header checked by `decodeHeaderView`),
 * decoded in place with the same checks, offsets and errors, without a view of the body.
 */
export function decodeDatagramPayloadsInPlace(firstPayload: number, datagram: Uint8Array, allowTrailing: boolean): Payload[] {
  return decodeChain(firstPayload, datagram, ISAKMP_HEADER_LENGTH, 0, allowTrailing);
}

/**
 * Decodes the chain on `r` (whose window is the chain). Each payload body is decoded on `r`
 * itself, its window narrowed to the body and restored after (no reader per payload).
 */
function walkChain(first: number, r: Reader, allowTrailing: boolean): Payload[] {
  const out: Payload[] = new Array(first === PayloadType.NONE ? 0 : r.chainLength(-1));
  let count = 0;
  const b = r.buf;
  const end = r.end;
  const outerPayload = r.payload;
  let next = first;
  // Every payload is at least 4 bytes and the cursor only moves forward: the loop is bounded by
  // length / 4 and a "looping" chain cannot exist.
  while (next !== PayloadType.NONE) {
    const p = r.pos;
    const type = next;
    if (isNestedOnly(type)) {
      throw new DecodeError(NotifyType.INVALID_PAYLOAD_TYPE, `payload type ${type} outside an SA payload`, { offset: r.base + p, payload: type });
    }
    if (end - p < 4) {
      throw new DecodeError(NotifyType.PAYLOAD_MALFORMED, `payload ${type} generic header needs 4 bytes, ${end - p} left`, { offset: r.base + p, payload: type });
    }
    next = b[p]!;
    const reserved = b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (len < 4) {
      throw new DecodeError(NotifyType.PAYLOAD_MALFORMED, `payload ${type} length ${len} < 4`, { offset: r.base + p + 2, payload: type });
    }
    if (len > end - p) {
      throw new DecodeError(NotifyType.PAYLOAD_MALFORMED, `payload ${type} length ${len} exceeds the ${end - p} bytes left`, { offset: r.base + p + 2, payload: type });
    }
    r.pos = p + 4;
    r.end = p + len;
    r.payload = type;
    const payload = decodeBody(type, r);
    if (r.pos !== r.end) r.fail(NotifyType.PAYLOAD_MALFORMED, `payload ${type} has ${r.end - r.pos} unparsed bytes`);
    r.payload = outerPayload;
    r.end = end;
    r.pos = p + len;
    out[count++] = reserved === 0 ? payload : { ...payload, reserved };
  }
  if (r.pos !== end && !allowTrailing) {
    throw new DecodeError(NotifyType.UNEQUAL_PAYLOAD_LENGTHS, `${end - r.pos} bytes after the last payload`, { offset: r.base + r.pos });
  }
  if (count !== out.length) out.length = count; // never for a chain that decoded (same walk)
  return out;
}

function writeChain(w: Writer, payloads: readonly Payload[]): void {
  const n = payloads.length;
  for (let i = 0; i < n; i++) {
    const p = payloads[i]!;
    const at = w.pos;
    const nx = payloads[i + 1];
    w.u8(nx === undefined ? PayloadType.NONE : payloadTypeOf(nx), 'next payload');
    w.u8(p.reserved ?? 0, 'payload RESERVED');
    w.u16(0);
    encodeBody(w, p);
    const len = w.pos - at;
    if (len > 0xffff) Writer.refuse(`payload ${payloadTypeOf(p)} length`, len); // the text only when refused
    w.patch16(at + 2, len);
  }
}

/**
 * One writer reused by the encoders (they never nest): each encoding returns a right-sized copy,
 * so no scratch buffer is allocated per message and none is kept alive by a short result.
 */
const SCRATCH = new Writer(2048);
function scratchWriter(): Writer {
  SCRATCH.reset();
  return SCRATCH;
}

/** The chained payloads (generic headers included, Next Payload fields filled), e.g. to encrypt. */
export function encodePayloads(payloads: readonly Payload[]): Uint8Array {
  const w = scratchWriter();
  writeChain(w, payloads);
  return w.finishCopy();
}

/**
 * Internal (not re-exported by the codec's index): `encodePayloads` written after `room` zero
 * bytes into the codec's scratch buffer, returned as a VIEW of that buffer. It is valid only
 * until the next encode call of this module: the caller must consume it at once (hash and
 * encrypt it) and never keep it. Saves the right-sized copy for a body that is encrypted anyway.
 */
export function encodePayloadsScratch(payloads: readonly Payload[], room: number): Uint8Array {
  const w = scratchWriter();
  w.ensure(room);
  w.buf.fill(0, 0, room);
  w.pos = room;
  writeChain(w, payloads);
  return w.finish();
}

/** One payload without its 4-byte generic header (SAi_b, IDii_b of RFC 2409 §5). */
export function encodePayloadBody(p: Payload): Uint8Array {
  const w = scratchWriter();
  encodeBody(w, p);
  return w.finishCopy();
}

/**
 * Encodes a whole message, filling every length and Next Payload field. The header's Next
 * Payload is the first payload's type when payloads are given (0 when there are none), and is
 * kept as given when the body is `encrypted` (which is then written as is).
 */
export function encodeMessage(msg: Message): Uint8Array {
  const h = msg.header;
  if (h.initiatorCookie.length !== 8) Writer.refuse('initiator cookie length', h.initiatorCookie.length);
  if (h.responderCookie.length !== 8) Writer.refuse('responder cookie length', h.responderCookie.length);
  if (msg.encrypted !== undefined && msg.payloads.length > 0) Writer.refuse('a message with both encrypted body and payloads', msg.payloads.length);
  const w = scratchWriter();
  w.bytes(h.initiatorCookie);
  w.bytes(h.responderCookie);
  const first = msg.payloads[0];
  w.u8(msg.encrypted !== undefined ? h.nextPayload : first === undefined ? PayloadType.NONE : payloadTypeOf(first), 'next payload');
  if (h.majorVersion > 15 || h.minorVersion > 15 || h.majorVersion < 0 || h.minorVersion < 0) Writer.refuse('version', `${h.majorVersion}.${h.minorVersion}`);
  w.u8((h.majorVersion << 4) | h.minorVersion, 'version');
  w.u8(h.exchangeType, 'exchange type');
  w.u8(h.flags, 'flags');
  w.u32(h.messageId, 'message id');
  w.u32(0);
  if (msg.encrypted !== undefined) w.bytes(msg.encrypted);
  else writeChain(w, msg.payloads);
  if (msg.trailing !== undefined && msg.trailing.length > 0) {
    if (msg.encrypted !== undefined) Writer.refuse('trailing bytes after an encrypted body', msg.trailing.length);
    w.bytes(msg.trailing);
  }
  w.patch32(24, w.pos);
  return w.finishCopy();
}

/**
 * A real copy of `bytes[start, end)`. `Buffer.prototype.slice` returns a view (not a copy), so
 * `slice` cannot be trusted on input that may be a Buffer (the daemon passes dgram Buffers); the
 * copy is a plain Uint8Array whatever the input's class.
 */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}
