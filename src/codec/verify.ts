/**
 * Checks a decoded message for what decoding tolerates because real peers send it: non-zero
 * RESERVED fields (RFC 2408 §3.1/§3.2: "MUST be set to zero"; RFC 2408 §5.2 says the receiver
 * "SHOULD" drop — the engine decides), payload types this codec keeps raw, nonce sizes, and bytes
 * after the last payload of an unencrypted message (`Message.trailing`).
 * @module
 */
import { NotifyType, PayloadType } from '../constants/index.js';
import { NONCE_MAX, NONCE_MIN, payloadTypeOf } from './payloads.js';
import type { Message } from './types.js';

export interface VerifyFinding {
  /** The notify type the finding maps to (RFC 2408 §3.14.1). */
  readonly notify: number;
  /** Where: "payload[2]", "payload[0].proposal[0].transform[3]". */
  readonly where: string;
  readonly message: string;
}

/** Typed findings for `msg`; empty when nothing is wrong. Never throws. */
export function verifyFindings(msg: Message): VerifyFinding[] {
  const out: VerifyFinding[] = [];
  const add = (notify: number, where: string, message: string): void => { out.push({ notify, where, message }); };
  msg.payloads.forEach((p, i) => {
    const at = `payload[${i}]`;
    if (p.reserved !== undefined && p.reserved !== 0) add(NotifyType.PAYLOAD_MALFORMED, at, `generic header RESERVED = ${p.reserved}`);
    switch (p.type) {
      case 'SA':
        p.proposals.forEach((pr, j) => {
          const pat = `${at}.proposal[${j}]`;
          if (pr.reserved) add(NotifyType.PAYLOAD_MALFORMED, pat, `proposal RESERVED = ${pr.reserved}`);
          pr.transforms.forEach((t, k) => {
            const tat = `${pat}.transform[${k}]`;
            if (t.reserved) add(NotifyType.PAYLOAD_MALFORMED, tat, `transform RESERVED = ${t.reserved}`);
            if (t.reserved2) add(NotifyType.PAYLOAD_MALFORMED, tat, `transform RESERVED2 = ${t.reserved2}`);
          });
        });
        break;
      case 'ATTR':
        if (p.reserved2) add(NotifyType.PAYLOAD_MALFORMED, at, `attribute payload RESERVED = ${p.reserved2}`);
        break;
      case 'NAT-OA':
        if (p.reserved2) add(NotifyType.PAYLOAD_MALFORMED, at, `NAT-OA RESERVED = ${p.reserved2}`);
        break;
      case 'NONCE':
        if (p.data.length < NONCE_MIN || p.data.length > NONCE_MAX) add(NotifyType.PAYLOAD_MALFORMED, at, `nonce of ${p.data.length} bytes (8..256)`);
        break;
      case 'UNKNOWN':
        add(NotifyType.INVALID_PAYLOAD_TYPE, at, `payload type ${payloadTypeOf(p)} is not an IKEv1 payload this codec knows`);
        break;
      default:
        break;
    }
  });
  const tr = msg.trailing;
  if (tr !== undefined && tr.length > 0) {
    const zeros = tr.every((b) => b === 0);
    add(NotifyType.UNEQUAL_PAYLOAD_LENGTHS, 'message', `${tr.length} bytes after the last payload (${zeros ? 'zeros' : 'not zeros'}), inside the header length`);
  }
  if (msg.payloads.length > 0 && msg.header.nextPayload !== payloadTypeOf(msg.payloads[0]!) && msg.header.nextPayload !== PayloadType.NONE) {
    add(NotifyType.INVALID_PAYLOAD_TYPE, 'header', `header next payload ${msg.header.nextPayload} differs from the first payload`);
  }
  return out;
}

/** The findings of `verifyFindings` as text lines ("payload[0]: generic header RESERVED = 1"). */
export function verify(msg: Message): string[] {
  return verifyFindings(msg).map((f) => `${f.where}: ${f.message}`);
}
