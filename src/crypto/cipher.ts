/**
 * RFC 2409 App. A / RFC 3602 / RFC 2451: the ISAKMP SA ciphers (CBC mode) and message
 * encryption as RFC 2408 §3.1/§5 and RFC 2409 App. B use it: the body after the fixed header is
 * encrypted in CBC mode, padded to the block size; the IV chains across messages (see iv.ts).
 *
 * Decryption returns every decrypted byte and never looks at the padding: the payload chain's
 * own lengths say where the payloads end, so there is nothing a peer can learn from padding
 * (no padding oracle).
 * @module
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import { copyBytes } from './bytes.js';

/** A usable ISAKMP SA cipher. */
export interface CipherInfo {
  /** IKE Encryption Algorithm attribute value (RFC 2409 App. A). */
  readonly id: number;
  /** Human name, e.g. "AES-CBC-256". */
  readonly name: string;
  /** node:crypto cipher name. */
  readonly nodeName: string;
  /** Key length in bytes. */
  readonly keyLength: number;
  /** Block (and IV) length in bytes. */
  readonly blockSize: number;
}

interface Candidate {
  id: number;
  label: string;
  blockSize: number;
  /** Allowed key lengths in bits; the first is the default when no Key Length attribute is sent. */
  keyBits: readonly number[];
  /** True if a Key Length attribute is mandatory (RFC 3602 §5.3 for AES). */
  keyLengthRequired: boolean;
  /** true if the key length is fixed: a Key Length attribute must be absent or equal. */
  fixed: boolean;
  node: (bits: number) => string;
}

const CANDIDATES: ReadonlyMap<number, Candidate> = new Map<number, Candidate>([
  [1, { id: 1, label: 'DES-CBC', blockSize: 8, keyBits: [64], keyLengthRequired: false, fixed: true, node: () => 'des-cbc' }],
  [3, { id: 3, label: 'BLOWFISH-CBC', blockSize: 8, keyBits: [128, 40, 448], keyLengthRequired: false, fixed: false, node: () => 'bf-cbc' }],
  [5, { id: 5, label: '3DES-CBC', blockSize: 8, keyBits: [192], keyLengthRequired: false, fixed: true, node: () => 'des-ede3-cbc' }],
  [6, { id: 6, label: 'CAST-CBC', blockSize: 8, keyBits: [128, 40], keyLengthRequired: false, fixed: false, node: () => 'cast5-cbc' }],
  [7, { id: 7, label: 'AES-CBC', blockSize: 16, keyBits: [128, 192, 256], keyLengthRequired: true, fixed: false, node: (b) => `aes-${b}-cbc` }],
]);

const availability = new Map<string, boolean>();

/** True if this node/OpenSSL build offers cipher `nodeName` (DES, Blowfish, CAST need the legacy provider in OpenSSL 3). */
function nodeHasCipher(nodeName: string, keyLength: number, blockSize: number): boolean {
  let ok = availability.get(nodeName);
  if (ok === undefined) {
    try {
      createCipheriv(nodeName, new Uint8Array(keyLength), new Uint8Array(blockSize));
      ok = true;
    } catch {
      ok = false;
    }
    availability.set(nodeName, ok);
  }
  return ok;
}

function resolve(encId: number, keyLengthBits: number | undefined): CipherInfo | string {
  const c = CANDIDATES.get(encId);
  if (!c) {
    if (encId === 2) return 'IDEA-CBC is not offered by OpenSSL 3 and is not implemented';
    if (encId === 4) return 'RC5-R16-B64-CBC is not offered by OpenSSL 3 and is not implemented';
    if (encId === 8) return 'CAMELLIA-CBC is not implemented';
    return `encryption algorithm ${encId} is unknown`;
  }
  let bits: number;
  if (keyLengthBits === undefined) {
    if (c.keyLengthRequired) return `${c.label} needs a Key Length attribute (RFC 3602 §5.3)`;
    bits = c.keyBits[0]!;
  } else {
    bits = keyLengthBits;
    if (c.fixed && bits !== c.keyBits[0]) return `${c.label} has a fixed key length of ${c.keyBits[0]} bits, got ${bits}`;
    if (!c.fixed && c.id === 7 && !c.keyBits.includes(bits)) return `AES-CBC key length must be 128, 192 or 256 bits, got ${bits}`;
    if (!c.fixed && c.id !== 7 && (bits % 8 !== 0 || bits < c.keyBits[1]! || bits > (c.keyBits[2] ?? c.keyBits[0]!))) {
      return `${c.label} key length ${bits} bits out of range`;
    }
  }
  const nodeName = c.node(bits);
  const keyLength = bits / 8;
  if (!nodeHasCipher(nodeName, keyLength, c.blockSize)) {
    return `${c.label} is refused: OpenSSL 3 offers it only through the legacy provider, which is not loaded (and it is too weak to enable by default)`;
  }
  return Object.freeze({ id: encId, name: c.id === 7 ? `AES-CBC-${bits}` : c.label, nodeName, keyLength, blockSize: c.blockSize });
}

/**
 * Why the IKE Encryption Algorithm `encId` with Key Length attribute `keyLengthBits` (undefined
 * when the attribute is absent) cannot be used, or undefined if it can.
 */
export function cipherRefusal(encId: number, keyLengthBits?: number): string | undefined {
  const r = resolve(encId, keyLengthBits);
  return typeof r === 'string' ? r : undefined;
}

/**
 * The cipher for IKE Encryption Algorithm `encId` (5 3DES-CBC; 7 AES-CBC with Key Length 128,
 * 192, 256; 1 DES, 3 Blowfish, 6 CAST only when OpenSSL offers them without the legacy provider).
 * Throws RemoteProtocolError(ATTRIBUTES_NOT_SUPPORTED) with the reason otherwise.
 */
export function cipherFor(encId: number, keyLengthBits?: number): CipherInfo {
  const r = resolve(encId, keyLengthBits);
  if (typeof r === 'string') throw new RemoteProtocolError(NotifyType.ATTRIBUTES_NOT_SUPPORTED, r);
  return r;
}

export interface EncryptInput {
  cipher: CipherInfo;
  key: Uint8Array;
  /** The IV for this message (see phase1Iv / phase2Iv / the previous message's nextIv). */
  iv: Uint8Array;
  /** The message body after the 28-byte ISAKMP header: the payload chain in clear. */
  plaintext: Uint8Array;
}

export interface EncryptResult {
  /** Encrypted body, a multiple of the block size. */
  ciphertext: Uint8Array;
  /** Last ciphertext block: the IV of the next message in the same exchange. */
  nextIv: Uint8Array;
}

/** Number of zero bytes `encryptMessage` appends to a body of `length` bytes: 1..blockSize. */
export function paddingLength(length: number, blockSize: number): number {
  return blockSize - (length % blockSize);
}

function checkKeyIv(cipher: CipherInfo, key: Uint8Array, iv: Uint8Array): void {
  if (key.byteLength !== cipher.keyLength) throw new RangeError(`${cipher.name}: key must be ${cipher.keyLength} bytes, got ${key.byteLength}`);
  if (iv.byteLength !== cipher.blockSize) throw new RangeError(`${cipher.name}: IV must be ${cipher.blockSize} bytes, got ${iv.byteLength}`);
}

/**
 * Encrypt an ISAKMP message body (RFC 2408 §3.1 / RFC 2409 App. B): append 1..blockSize zero
 * bytes so the length is a multiple of the block size (a whole block when already aligned, which
 * is what strongSwan's IKEv1 encryption sends; the payload lengths delimit the real content),
 * then CBC-encrypt. The caller sets the header length to 28 + ciphertext.length.
 */
export function encryptMessage(input: EncryptInput): EncryptResult {
  // one implementation: the engine's, with no room before the ciphertext (a fresh buffer of its own)
  const { message, nextIv } = encryptMessageAt(input, 0);
  return { ciphertext: message, nextIv };
}

/**
 * Internal (not re-exported by the crypto index): `encryptMessage`'s ciphertext written at offset
 * `room` of a fresh buffer whose first `room` bytes are left zero for the caller (the engine's
 * 28-byte ISAKMP header). The padded body (the plaintext, then its 1..blockSize zero bytes) is
 * laid out in that buffer first and enciphered with ONE update call: the input is whole blocks,
 * so OpenSSL keeps nothing back and there is no final block to ask for (no padding array, no
 * second call, no concatenation). `nextIv` is a fresh copy of the last block.
 */
export function encryptMessageAt(input: EncryptInput, room: number): { message: Uint8Array; nextIv: Uint8Array } {
  const { cipher, key, iv, plaintext } = input;
  checkKeyIv(cipher, key, iv);
  const bs = cipher.blockSize;
  const n = plaintext.byteLength + paddingLength(plaintext.byteLength, bs);
  const message = new Uint8Array(room + n);
  const body = message.subarray(room);
  body.set(plaintext);
  const c = createCipheriv(cipher.nodeName, key, iv);
  c.setAutoPadding(false);
  const out = c.update(body);
  if (out.byteLength !== n) throw new RangeError(`${cipher.name}: ${out.byteLength} bytes enciphered of ${n}`);
  body.set(out);
  return { message, nextIv: copyBytes(message, message.byteLength - bs) };
}

export interface DecryptInput {
  cipher: CipherInfo;
  key: Uint8Array;
  iv: Uint8Array;
  /** The message body after the 28-byte ISAKMP header, as received. */
  ciphertext: Uint8Array;
}

export interface DecryptResult {
  /** Every decrypted byte (payload chain plus whatever padding); padding is never interpreted. */
  plaintext: Uint8Array;
  /** Last ciphertext block: the IV of the next message in the same exchange. */
  nextIv: Uint8Array;
}

/** The checks of a decryption (key, IV, a body of whole blocks); returns the block size. */
function checkDecryptInput(input: DecryptInput): number {
  const { cipher, key, iv, ciphertext } = input;
  checkKeyIv(cipher, key, iv);
  const bs = cipher.blockSize;
  if (ciphertext.byteLength === 0 || ciphertext.byteLength % bs !== 0) {
    throw new RemoteProtocolError(NotifyType.PAYLOAD_MALFORMED, `encrypted body of ${ciphertext.byteLength} bytes is not a positive multiple of the ${bs}-byte block`);
  }
  return bs;
}

/**
 * Decrypt an ISAKMP message body. Throws RemoteProtocolError(PAYLOAD_MALFORMED) if the body is
 * empty or not a multiple of the block size (checked before any decryption); otherwise returns
 * all plaintext bytes. Padding is not checked or stripped: no padding oracle.
 */
export function decryptMessage(input: DecryptInput): DecryptResult {
  // one implementation: the engine's; the plaintext is handed out as a Uint8Array of its own
  // (offset 0, a buffer of exactly its length), copied (and OpenSSL's output wiped) only if not
  const r = decryptMessageOwned(input);
  const p = r.plaintext;
  if (p.byteOffset === 0 && p.buffer.byteLength === p.byteLength) return r;
  const plaintext = copyBytes(p, 0);
  p.fill(0);
  return { plaintext, nextIv: r.nextIv };
}

/**
 * Internal (not re-exported by the crypto index): `decryptMessage` with the same checks and the
 * same result, in ONE update call (the body is whole blocks: OpenSSL keeps nothing back, there
 * is no final block) whose output buffer is the plaintext itself, not a copy of it: OpenSSL's
 * output is a fresh buffer of its own (never the Buffer pool), handed out as a plain Uint8Array.
 */
export function decryptMessageOwned(input: DecryptInput): DecryptResult {
  const { cipher, key, iv, ciphertext } = input;
  const bs = checkDecryptInput(input);
  const d = createDecipheriv(cipher.nodeName, key, iv);
  d.setAutoPadding(false);
  const out = d.update(ciphertext);
  if (out.byteLength !== ciphertext.byteLength) throw new RangeError(`${cipher.name}: ${out.byteLength} bytes deciphered of ${ciphertext.byteLength}`);
  return { plaintext: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), nextIv: copyBytes(ciphertext, ciphertext.byteLength - bs) };
}
