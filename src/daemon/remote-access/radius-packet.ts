/**
 * RADIUS packets (RFC 2865 §3, §5; RFC 2866 §3; RFC 3579 §3.2), what the client side needs:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |     Code      |  Identifier   |            Length             |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                     Authenticator (16 octets)                 |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |  Attributes (Type, Length, Value) ...
 *
 * Requests are built here (User-Password hidden as §5.2 says, the Message-Authenticator of RFC 3579
 * as the first attribute, the Accounting-Request authenticator of RFC 2866 §3), responses checked
 * (length, Response Authenticator, Message-Authenticator) and their attributes read, bounded.
 * MD5 and HMAC-MD5 come from node:crypto: the protocol fixes them.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const RadiusCode = {
  ACCESS_REQUEST: 1,
  ACCESS_ACCEPT: 2,
  ACCESS_REJECT: 3,
  ACCOUNTING_REQUEST: 4,
  ACCOUNTING_RESPONSE: 5,
  ACCESS_CHALLENGE: 11,
} as const;

/** The attribute types used here (RFC 2865 §5, RFC 2866 §5, RFC 2869 §5, RFC 3579, RFC 6911). */
export const RadiusAttr = {
  USER_NAME: 1,
  USER_PASSWORD: 2,
  NAS_IP_ADDRESS: 4,
  FRAMED_IP_ADDRESS: 8,
  FRAMED_IP_NETMASK: 9,
  FILTER_ID: 11,
  REPLY_MESSAGE: 18,
  CLASS: 25,
  SESSION_TIMEOUT: 27,
  IDLE_TIMEOUT: 28,
  CALLING_STATION_ID: 31,
  NAS_IDENTIFIER: 32,
  ACCT_STATUS_TYPE: 40,
  ACCT_INPUT_OCTETS: 42,
  ACCT_OUTPUT_OCTETS: 43,
  ACCT_SESSION_ID: 44,
  ACCT_AUTHENTIC: 45,
  ACCT_SESSION_TIME: 46,
  ACCT_INPUT_GIGAWORDS: 52,
  ACCT_OUTPUT_GIGAWORDS: 53,
  EVENT_TIMESTAMP: 55,
  NAS_PORT_TYPE: 61,
  MESSAGE_AUTHENTICATOR: 80,
  FRAMED_IPV6_ADDRESS: 168,
} as const;

export const ACCT_STATUS_START = 1;
export const ACCT_STATUS_STOP = 2;
export const ACCT_AUTHENTIC_RADIUS = 1;
export const NAS_PORT_TYPE_VIRTUAL = 5;

/** RFC 2865 §3: 20 to 4096 octets. */
export const MAX_PACKET = 4096;
const HEADER = 20;
/** RFC 2865 §5.2: the password is at most 128 octets. */
export const MAX_PASSWORD = 128;

export interface RadiusAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

export class RadiusPacketError extends Error {}

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

export const u32 = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

export const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** RFC 2865 §5.2: the password padded to 16-octet blocks, each XORed with MD5(S + previous). */
export function hidePassword(password: Uint8Array, secret: Uint8Array, requestAuthenticator: Uint8Array): Uint8Array {
  if (password.length > MAX_PASSWORD) throw new RadiusPacketError(`a RADIUS password is at most ${MAX_PASSWORD} bytes`);
  const len = Math.max(16, Math.ceil(password.length / 16) * 16);
  const out = Buffer.alloc(len);
  Buffer.from(password).copy(out);
  let prev: Uint8Array = requestAuthenticator;
  for (let i = 0; i < len; i += 16) {
    const b = md5(secret, prev);
    for (let j = 0; j < 16; j++) out[i + j] = out[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

function assemble(code: number, id: number, authenticator: Uint8Array, attrs: readonly RadiusAttribute[]): Buffer {
  let len = HEADER;
  for (const a of attrs) {
    if (a.value.length > 253) throw new RadiusPacketError(`RADIUS attribute ${a.type} is longer than 253 bytes`);
    len += 2 + a.value.length;
  }
  if (len > MAX_PACKET) throw new RadiusPacketError(`the RADIUS packet would be ${len} bytes, more than ${MAX_PACKET}`);
  const p = Buffer.alloc(len);
  p[0] = code;
  p[1] = id;
  p.writeUInt16BE(len, 2);
  Buffer.from(authenticator).copy(p, 4);
  let at = HEADER;
  for (const a of attrs) {
    p[at] = a.type;
    p[at + 1] = 2 + a.value.length;
    Buffer.from(a.value).copy(p, at + 2);
    at += 2 + a.value.length;
  }
  return p;
}

/**
 * An Access-Request: Message-Authenticator first (RFC 3579 §3.2: HMAC-MD5 over the packet with
 * its own value zeroed), then `attrs`; the User-Password attribute, when given in clear in
 * `password`, is hidden with the request authenticator.
 */
export function buildAccessRequest(id: number, requestAuthenticator: Uint8Array, secret: Uint8Array, password: Uint8Array, attrs: readonly RadiusAttribute[]): Buffer {
  const all: RadiusAttribute[] = [
    { type: RadiusAttr.MESSAGE_AUTHENTICATOR, value: new Uint8Array(16) },
    ...attrs,
    { type: RadiusAttr.USER_PASSWORD, value: hidePassword(password, secret, requestAuthenticator) },
  ];
  const p = assemble(RadiusCode.ACCESS_REQUEST, id, requestAuthenticator, all);
  createHmac('md5', secret).update(p).digest().copy(p, HEADER + 2);
  return p;
}

/** An Accounting-Request (RFC 2866 §3): its authenticator is MD5 over the packet with 16 zero octets there, then the secret. */
export function buildAccountingRequest(id: number, secret: Uint8Array, attrs: readonly RadiusAttribute[]): Buffer {
  const p = assemble(RadiusCode.ACCOUNTING_REQUEST, id, new Uint8Array(16), attrs);
  md5(p, secret).copy(p, 4);
  return p;
}

export interface RadiusResponse {
  readonly code: number;
  readonly id: number;
  readonly attributes: readonly RadiusAttribute[];
  readonly hasMessageAuthenticator: boolean;
}

/** Header fields only, for matching a datagram to a request before any check; undefined when too short. */
export function peekHeader(datagram: Uint8Array): { code: number; id: number } | undefined {
  return datagram.length >= HEADER ? { code: datagram[0]!, id: datagram[1]! } : undefined;
}

/**
 * Checks a response to the request that carried `requestAuthenticator` and reads its attributes.
 * Throws a `RadiusPacketError` saying what is wrong (length, attribute framing, Response
 * Authenticator, Message-Authenticator); the caller drops the datagram.
 */
export function verifyResponse(datagram: Uint8Array, requestAuthenticator: Uint8Array, secret: Uint8Array): RadiusResponse {
  if (datagram.length < HEADER) throw new RadiusPacketError(`${datagram.length} bytes, shorter than a RADIUS header`);
  const d = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  const len = d.readUInt16BE(2);
  // RFC 2865 §3: octets past Length are padding and ignored; a Length past the datagram is an error
  if (len < HEADER || len > MAX_PACKET || len > d.length) throw new RadiusPacketError(`the Length field (${len}) does not fit the ${d.length}-byte datagram`);
  const p = d.subarray(0, len);
  const attributes: RadiusAttribute[] = [];
  let maAt = -1;
  for (let at = HEADER; at < len; ) {
    if (at + 2 > len) throw new RadiusPacketError('an attribute header runs past the packet');
    const alen = p[at + 1]!;
    if (alen < 2 || at + alen > len) throw new RadiusPacketError(`attribute ${p[at]} has a bad length (${alen})`);
    const type = p[at]!;
    if (type === RadiusAttr.MESSAGE_AUTHENTICATOR) {
      if (alen !== 18 || maAt >= 0) throw new RadiusPacketError('a malformed or repeated Message-Authenticator');
      maAt = at + 2;
    }
    attributes.push({ type, value: p.subarray(at + 2, at + alen) });
    at += alen;
  }
  const expected = md5(p.subarray(0, 4), requestAuthenticator, p.subarray(HEADER), secret);
  if (!timingSafeEqual(expected, p.subarray(4, HEADER))) throw new RadiusPacketError('the Response Authenticator does not match (a wrong shared secret, or a forged response)');
  if (maAt >= 0) {
    const copy = Buffer.from(p);
    Buffer.from(requestAuthenticator).copy(copy, 4);
    copy.fill(0, maAt, maAt + 16);
    const mac = createHmac('md5', secret).update(copy).digest();
    if (!timingSafeEqual(mac, p.subarray(maAt, maAt + 16))) throw new RadiusPacketError('the Message-Authenticator does not match (a wrong shared secret, or a forged response)');
  }
  return { code: p[0]!, id: p[1]!, attributes, hasMessageAuthenticator: maAt >= 0 };
}

/** The values of every `type` attribute. */
export function attributeValues(r: RadiusResponse, type: number): Uint8Array[] {
  return r.attributes.filter((a) => a.type === type).map((a) => a.value);
}
