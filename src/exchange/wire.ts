/**
 * Wire helpers of the exchanges: the ISAKMP header of a phase 1 (RFC 2408 §3.1), plain and
 * encrypted messages (RFC 2409 App. B: the body encrypted with the phase-1 key, written straight
 * after 28 bytes left for the header), decryption and in-place decoding, splicing a HASH payload
 * in front of an encoded chain, the bytes a hash covers, and the unprotected error notify that
 * answers a refused first message.
 * @module
 */
import { encodeMessage, payloadTypeOf } from '../codec/index.js';
import { decodePayloadsInPlace, encodePayloadsScratch } from '../codec/message.js';
import type { Header, Payload } from '../codec/types.js';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType, ProtocolId } from '../constants/index.js';
import * as C from './crypto.js';
import type { Engine } from './engine.js';
import { IPSEC_DOI } from './doi.js';
import { hasKeys, type KeyedP1, type P1, encKeyOf } from './records.js';
import { missing, remote } from './refusal.js';
import { checkMessage, type MessageScript } from './scripts.js';
import type { Address } from './types.js';

export const ZERO8 = new Uint8Array(8);
const EMPTY = new Uint8Array(0);

/** The ISAKMP SPI of a phase 1 in notifies and Deletes (RFC 2408 §3.14): CKY-I | CKY-R. */
export function cookiePair(p1: { readonly ic: Uint8Array; readonly rc: Uint8Array }): Uint8Array {
  return C.concatBytes(p1.ic, p1.rc);
}

/** A copy of the body of the first payload of an unencrypted message (already decoded, so well-formed). */
export function firstPayloadBody(msg: Uint8Array): Uint8Array {
  const len = ((msg[30] ?? 0) << 8) | (msg[31] ?? 0);
  return new Uint8Array(msg.subarray(32, 28 + len)); // a copy even when msg is a Buffer
}

/** The bytes of a payload chain that follow its first payload, up to the end of the last payload. */
export function afterFirstPayload(plain: Uint8Array): Uint8Array {
  let off = 0;
  let next = -1;
  let firstEnd = -1;
  while (off + 4 <= plain.length) {
    next = plain[off] ?? 0;
    const len = ((plain[off + 2] ?? 0) << 8) | (plain[off + 3] ?? 0);
    if (len < 4) break;
    off += len;
    if (firstEnd < 0) firstEnd = off;
    if (next === 0) break;
  }
  if (firstEnd < 0) return new Uint8Array(0);
  return plain.subarray(firstEnd, Math.min(off, plain.length));
}

/** A plaintext chain: a HASH payload (given value) followed by already-encoded payloads of type `restType` on. */
export function hashFirst(h: Uint8Array, restType: number, rest: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(4 + h.length + rest.length);
  out[0] = restType;
  out[2] = ((4 + h.length) >> 8) & 0xff;
  out[3] = (4 + h.length) & 0xff;
  out.set(h, 4);
  out.set(rest, 4 + h.length);
  return out;
}

/**
 * Fills in the HASH payload at the start of a chain encoded with 4 + h.length bytes of room
 * (the same bytes hashFirst(h, restType, rest) builds, without a second buffer).
 */
export function putHashFirst(plain: Uint8Array, h: Uint8Array, restType: number): void {
  if (plain.length < 4 + h.length) throw new RangeError('no room for the HASH payload');
  plain[0] = restType;
  plain[1] = 0;
  plain[2] = ((4 + h.length) >> 8) & 0xff;
  plain[3] = (4 + h.length) & 0xff;
  plain.set(h, 4);
}

/** Our own outgoing message checked against its script (a LocalProtocolError: a bug, before anything leaves). */
export function checkOut(script: MessageScript, payloads: readonly Payload[]): void {
  checkMessage(script, payloads, true);
}

/**
 * RFC 2408 §5.x: an error notify in a clear Informational: the reply to a refused first message
 * (zero responder cookie, no state kept), or a phase 1 refused before keys can be trusted (its
 * cookies `ic`, `rc`).
 */
export function sendUnprotectedNotify(x: Engine, local: Address, remoteAddr: Address, ic: Uint8Array, notify: number, rc: Uint8Array = ZERO8): void {
  const payloads: Payload[] = [{ type: 'N', doi: IPSEC_DOI.id, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: EMPTY, data: EMPTY }];
  const bytes = encodeMessage({
    header: { initiatorCookie: ic, responderCookie: rc, nextPayload: PayloadType.N, majorVersion: 1, minorVersion: 0, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0 },
    payloads,
  });
  x.send(local, remoteAddr, bytes);
}

function header(p1: P1, exchangeType: number, messageId: number): Header {
  return { initiatorCookie: p1.ic, responderCookie: p1.rc, nextPayload: 0, majorVersion: 1, minorVersion: 0, exchangeType, flags: 0, messageId };
}

/** An unencrypted message under a phase 1's cookies. */
export function encodePlain(p1: P1, exchangeType: number, messageId: number, payloads: readonly Payload[]): Uint8Array {
  return encodeMessage({ header: header(p1, exchangeType, messageId), payloads });
}

/** An encrypted message of `payloads` (encoded into the codec's scratch buffer, encrypted at once). */
export function encodeEncrypted(p1: KeyedP1, exchangeType: number, messageId: number, extraFlags: number, payloads: readonly Payload[], iv: Uint8Array): { bytes: Uint8Array; nextIv: Uint8Array } {
  const first = payloads[0] ?? missing('first payload');
  const plain = encodePayloadsScratch(payloads, 0); // scratch view, encrypted at once
  return encryptRaw(p1, exchangeType, messageId, HeaderFlag.ENCRYPTION | extraFlags, payloadTypeOf(first), plain, iv);
}

/** An encrypted message of an already-encoded chain whose first payload is of type `first`. */
export function encryptRaw(p1: KeyedP1, exchangeType: number, messageId: number, flags: number, first: number, plain: Uint8Array, iv: Uint8Array): { bytes: Uint8Array; nextIv: Uint8Array } {
  // RFC 2408 §3.1 header, then the encrypted body: the ciphertext is written once, after
  // 28 bytes left free for the header (one allocation per datagram, no copy)
  const { message: bytes, nextIv } = C.encryptMessageAt({ cipher: p1.cipher, key: encKeyOf(p1), iv, plaintext: plain }, 28);
  const n = bytes.length;
  bytes.set(p1.ic, 0);
  bytes.set(p1.rc, 8);
  bytes[16] = first;
  bytes[17] = 0x10;
  bytes[18] = exchangeType;
  bytes[19] = flags;
  bytes[20] = messageId >>> 24;
  bytes[21] = (messageId >>> 16) & 0xff;
  bytes[22] = (messageId >>> 8) & 0xff;
  bytes[23] = messageId & 0xff;
  bytes[24] = n >>> 24;
  bytes[25] = (n >>> 16) & 0xff;
  bytes[26] = (n >>> 8) & 0xff;
  bytes[27] = n & 0xff;
  return { bytes, nextIv };
}

/** Decrypts a message's body with the phase-1 key and decodes its payload chain in place. */
export function decrypt(p1: P1, iv: Uint8Array, bytes: Uint8Array): { payloads: Payload[]; plain: Uint8Array; nextIv: Uint8Array } {
  if (!hasKeys(p1)) throw remote(NotifyType.INVALID_FLAGS, 'encrypted message before keys exist');
  // the header was checked by decodeHeader (length = datagram, version, flags)
  const { plaintext, nextIv } = C.decryptMessageOwned({ cipher: p1.cipher, key: encKeyOf(p1), iv, ciphertext: bytes.subarray(28) });
  // the plaintext is a fresh buffer of our own: decode in place (no second copy)
  const payloads = decodePayloadsInPlace(bytes[16] ?? 0, plaintext, 28, true);
  return { payloads, plain: plaintext, nextIv };
}
