// Transaction exchange messages (type 6) read and rewritten by hand, with the keys of an ISAKMP SA
// taken from an endpoint (white box, src/exchange/inspect.ts): what a SET or an ACK carries on the
// wire, and a peer that answers wrong.
import type { AttributePayload } from '../../src/codec/types.js';
import { decodeHeader, decodePayloads, encodePayloads } from '../../src/codec/index.js';
import { decryptMessage, encryptMessage, informationalHash, lastCipherBlock, phase2Iv } from '../../src/crypto/index.js';
import type { IsakmpSaKeys } from '../../src/exchange/inspect.js';

/** One Transaction message as sent: who sent it, its message ID, its Attribute payload. */
export interface TxnMessage {
  readonly from: string;
  readonly msgId: number;
  readonly attr: AttributePayload;
}

/** The IV a Transaction message is encrypted from: the request's from the phase-1 IV, the answer's from the request. */
function ivFor(keys: IsakmpSaKeys, msgId: number, request: Uint8Array | undefined): Uint8Array {
  return request === undefined ? phase2Iv(keys.prf, keys.iv, msgId, keys.cipher.blockSize) : lastCipherBlock(request.subarray(28), keys.cipher.blockSize);
}

/** Decrypts one Transaction datagram (`request`: the first message under its ID, when this is the answer). */
export function openTxn(keys: IsakmpSaKeys, data: Uint8Array, request?: Uint8Array): AttributePayload {
  const h = decodeHeader(data);
  const { plaintext } = decryptMessage({ cipher: keys.cipher, key: keys.encKey, iv: ivFor(keys, h.messageId, request), ciphertext: data.subarray(28) });
  const attr = decodePayloads(h.nextPayload, plaintext, { allowTrailing: true }).find((p) => p.type === 'ATTR');
  if (attr?.type !== 'ATTR') throw new Error('no Attribute payload');
  return attr;
}

/** Every Transaction message of a list of datagrams (retransmissions once), each under its message ID in order. */
export function txnMessages(keys: IsakmpSaKeys, wire: readonly { from: string; data: Uint8Array }[]): TxnMessage[] {
  const first = new Map<number, Uint8Array>();
  const seen = new Set<string>();
  const out: TxnMessage[] = [];
  for (const w of wire) {
    const h = decodeHeader(w.data);
    if (h.exchangeType !== 6) continue;
    const key = Buffer.from(w.data).toString('hex');
    if (seen.has(key)) continue;
    seen.add(key);
    const request = first.get(h.messageId);
    if (request === undefined) first.set(h.messageId, w.data);
    out.push({ from: w.from, msgId: h.messageId, attr: openTxn(keys, w.data, request) });
  }
  return out;
}

/** The answer `data` to `request` with its Attribute payload replaced (HASH(1) recomputed, encrypted again). */
export function resealAnswer(keys: IsakmpSaKeys, data: Uint8Array, request: Uint8Array, attr: AttributePayload): Uint8Array {
  const h = decodeHeader(data);
  const rest = encodePayloads([attr]);
  const hash = informationalHash({ prf: keys.prf, skeyidA: keys.skeyidA, messageId: h.messageId, afterHash: rest });
  const plaintext = encodePayloads([{ type: 'HASH', data: hash }, attr]);
  const { ciphertext } = encryptMessage({ cipher: keys.cipher, key: keys.encKey, iv: ivFor(keys, h.messageId, request), plaintext });
  const out = new Uint8Array(28 + ciphertext.length);
  out.set(data.subarray(0, 28));
  out.set(ciphertext, 28);
  new DataView(out.buffer).setUint32(24, out.length);
  return out;
}
