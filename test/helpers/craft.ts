/**
 * Hand-built protected messages for attack-shape tests: reads one endpoint's ISAKMP SA keys
 * (white box) and builds Quick Mode / Informational messages with any payloads, a good, wrong,
 * missing or truncated HASH, encrypted as RFC 2409 App. B says.
 */
import { encodeMessage, encodePayloads, payloadTypeOf } from '../../src/codec/index.js';
import type { Payload } from '../../src/codec/index.js';
import { encryptMessage, phase2Iv, prf as prfFn } from '../../src/crypto/index.js';
import type { Endpoint } from '../../src/exchange/index.js';
import { inspect, type IsakmpSaKeys } from '../../src/exchange/inspect.js';

export function p1Keys(ep: Endpoint, saId: string): IsakmpSaKeys {
  return inspect(ep).isakmpSaKeys(saId);
}

export type HashMode = 'good' | 'wrong' | 'missing' | 'truncated' | 'not-first';

/**
 * A protected message (exchange 5 or 32) under `ep`'s ISAKMP SA `saId`: HDR*, HASH(1), payloads.
 * HASH(1) = prf(SKEYID_a, M-ID | payloads) for both (QM HASH(1) and informational HASH(1) share it).
 */
export function craftProtected(ep: Endpoint, saId: string, exchangeType: number, messageId: number, payloads: Payload[], mode: HashMode = 'good', flags = 1): Uint8Array {
  const k = p1Keys(ep, saId);
  const mid = Uint8Array.of(messageId >>> 24, (messageId >>> 16) & 0xff, (messageId >>> 8) & 0xff, messageId & 0xff);
  const rest = encodePayloads(payloads);
  let h = prfFn(k.prf, k.skeyidA, mid, rest);
  if (mode === 'wrong') h = h.map((b, i) => (i === 0 ? b ^ 1 : b));
  if (mode === 'truncated') h = h.subarray(0, 12);
  let chain: Payload[];
  if (mode === 'missing') chain = payloads;
  else if (mode === 'not-first') chain = [...payloads, { type: 'HASH', data: h }];
  else chain = [{ type: 'HASH', data: h }, ...payloads];
  const plain = encodePayloads(chain);
  const iv = phase2Iv(k.prf, k.iv, messageId, k.cipher.blockSize);
  const { ciphertext } = encryptMessage({ cipher: k.cipher, key: k.encKey, iv, plaintext: plain });
  return encodeMessage({
    header: { initiatorCookie: k.ic, responderCookie: k.rc, nextPayload: payloadTypeOf(chain[0]!), majorVersion: 1, minorVersion: 0, exchangeType, flags, messageId },
    payloads: [],
    encrypted: ciphertext,
  });
}
