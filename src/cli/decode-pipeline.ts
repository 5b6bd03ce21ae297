/**
 * The decode pipeline shared by the tree/JSON printer and the exchange diagrams: every input
 * datagram is decoded, decrypted when a key log allows it, and IKE fragments are put back
 * together (the reassembled message follows its last fragment). Nothing is printed here.
 * @module
 */
import { HeaderFlag } from '../constants/index.js';
import { decodeMessage, type Message } from '../codec/index.js';
import { IsakmpError } from '../errors.js';
import type { InputItem } from './decode-input.js';
import type { Ikev1Decryptor } from './keylog-decrypt.js';
import { Reassembler } from './reassembly.js';

export interface DecodedItem {
  readonly input: InputItem;
  /** The message, with its decrypted payloads when a key log decrypted it. */
  readonly message?: Message;
  /** The Encryption flag was set. */
  readonly encrypted: boolean;
  /** The payloads were decrypted with the key log. */
  readonly decrypted: boolean;
  /** Why an encrypted message could not be decrypted (only with a key log). */
  readonly decryptError?: string;
  /** The datagram is not a valid ISAKMP message. */
  readonly error?: IsakmpError;
  /** This item is a message reassembled from that many fragments. */
  readonly reassembledFrom?: number;
}

/** Decodes every item in order. Throws only on a bug (a non-IsakmpError). */
export function decodeItems(items: readonly InputItem[], decryptor?: Ikev1Decryptor): DecodedItem[] {
  const out: DecodedItem[] = [];
  const reassembler = new Reassembler();
  const queue: { input: InputItem; reassembledFrom?: number }[] = items.map((input) => ({ input }));
  for (let qi = 0; qi < queue.length; qi++) {
    const { input, reassembledFrom } = queue[qi]!;
    const extra = reassembledFrom !== undefined ? { reassembledFrom } : {};
    let m: Message;
    try {
      m = decodeMessage(input.data);
    } catch (e) {
      if (!(e instanceof IsakmpError)) throw e;
      out.push({ input, encrypted: input.data.length > 19 && (input.data[19]! & HeaderFlag.ENCRYPTION) !== 0, decrypted: false, error: e, ...extra });
      continue;
    }
    const encrypted = (m.header.flags & HeaderFlag.ENCRYPTION) !== 0;
    const d = decryptor?.observe(m);
    let decrypted = false;
    if (d !== undefined && d.ok) {
      m = { ...m, payloads: d.payloads };
      decrypted = true;
    }
    // IKE fragments (payload 132): once a message is complete, decode it right after this one.
    const r = reassembler.add(m);
    if (r !== undefined && r.complete) {
      queue.splice(qi + 1, 0, {
        input: { ...input, data: r.data, label: `${input.label ?? 'Message'}: reassembled from ${r.count} fragment(s)`, meta: { ...(input.meta ?? {}), reassembledFrom: r.count } },
        reassembledFrom: r.count,
      });
    }
    out.push({ input, message: m, encrypted, decrypted, ...(d !== undefined && !d.ok ? { decryptError: d.reason } : {}), ...extra });
  }
  return out;
}
