/**
 * RFC 2409 §5 arrow notation for one message: `HDR, SA, KE, Ni`, `HDR*, IDii, HASH_I`,
 * `HDR*, HASH(1), SA, Ni, KE, IDci, IDcr`. Who is "i" and who is "r" depends on the exchange: in
 * phase 1 the ISAKMP SA's initiator, in Quick Mode and Transaction the sender of the exchange's
 * first message. Pure: payload records in, text out.
 * @module
 */
import { ExchangeType, NotifyType, lookupName } from '../../constants/index.js';
import type { Payload } from '../../codec/index.js';
import { vendorIdText } from '../vendor-ids.js';

export interface NotationContext {
  readonly exchangeType: number;
  /** The message comes from the side that began this exchange (i), not the other (r). */
  readonly fromExchangeInitiator: boolean;
  /** 1-based position of the message in its exchange (retransmissions not counted). */
  readonly position: number;
}

/** Short exchange names for labels: MM, AM, QM, INFO, TRANS. */
export function exchangeShortName(t: number): string {
  switch (t) {
    case ExchangeType.IDENTITY_PROTECTION: return 'MM';
    case ExchangeType.AGGRESSIVE: return 'AM';
    case ExchangeType.QUICK_MODE: return 'QM';
    case ExchangeType.INFORMATIONAL: return 'INFO';
    case ExchangeType.TRANSACTION: return 'TRANS';
    case ExchangeType.NEW_GROUP_MODE: return 'NGM';
    default: return `EXCH${t}`;
  }
}

export function exchangeLongName(t: number): string {
  switch (t) {
    case ExchangeType.IDENTITY_PROTECTION: return 'Main Mode';
    case ExchangeType.AGGRESSIVE: return 'Aggressive Mode';
    case ExchangeType.QUICK_MODE: return 'Quick Mode';
    case ExchangeType.INFORMATIONAL: return 'Informational';
    case ExchangeType.TRANSACTION: return 'Transaction (Mode Config / XAUTH)';
    case ExchangeType.NEW_GROUP_MODE: return 'New Group Mode';
    default: return lookupName(ExchangeType, t) ?? `exchange type ${t}`;
  }
}

/** How many messages the exchange has when it completes (0: one-way or open-ended). */
export function exchangeLength(t: number): number {
  switch (t) {
    case ExchangeType.IDENTITY_PROTECTION: return 6;
    case ExchangeType.AGGRESSIVE: return 3;
    case ExchangeType.QUICK_MODE: return 3;
    default: return 0;
  }
}

const isPhase1 = (t: number): boolean => t === ExchangeType.IDENTITY_PROTECTION || t === ExchangeType.AGGRESSIVE || t === ExchangeType.BASE || t === ExchangeType.AUTHENTICATION_ONLY;

/** The notify's RFC name with dashes, as RFC texts write them (INITIAL-CONTACT). */
export function notifyName(type: number): string {
  return (lookupName(NotifyType, type) ?? String(type)).replace(/_/g, '-');
}

/** Error notifies (RFC 2408 §3.14.1: 1-8191) as opposed to status ones (16384 and up). */
export const isErrorNotify = (type: number): boolean => type >= 1 && type < 16384;

/** One payload as an RFC token; `idIndex` counts ID payloads already seen in the message. */
function token(p: Payload, ctx: NotationContext, idIndex: number): string {
  const side = ctx.fromExchangeInitiator ? 'i' : 'r';
  const SIDE = ctx.fromExchangeInitiator ? 'I' : 'R';
  const p1 = isPhase1(ctx.exchangeType);
  switch (p.type) {
    case 'SA': return 'SA';
    case 'KE': return 'KE';
    case 'NONCE': return `N${side}`;
    case 'ID':
      if (p1) return `IDi${side}`;
      return idIndex === 0 ? 'IDci' : 'IDcr';
    case 'HASH':
      if (p1) return `HASH_${SIDE}`;
      if (ctx.exchangeType === ExchangeType.QUICK_MODE) return `HASH(${Math.min(ctx.position, 3)})`;
      if (ctx.exchangeType === ExchangeType.INFORMATIONAL) return 'HASH(1)';
      return 'HASH';
    case 'SIG': return p1 ? `SIG_${SIDE}` : 'SIG';
    case 'CERT': return 'CERT';
    case 'CR': return 'CERT_REQ';
    case 'N': return `N(${notifyName(p.notifyType)})`;
    case 'D': return 'D';
    case 'VID': return 'VID';
    case 'ATTR': return 'ATTR';
    case 'NAT-D': return 'NAT-D';
    case 'NAT-OA': return 'NAT-OA';
    case 'FRAG': return `FRAG(${p.fragmentNumber}${p.flags & 1 ? ', last' : ''})`;
    case 'UNKNOWN': return `PAYLOAD(${p.payloadType})`;
  }
}

/** Consecutive repeats shown once with a count: VID, VID, VID → VID×3. */
function collapse(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    let j = i + 1;
    while (j < tokens.length && tokens[j] === tokens[i]) j++;
    out.push(j - i > 1 ? `${tokens[i]}×${j - i}` : tokens[i]!);
    i = j;
  }
  return out;
}

/** The tokens of a payload list, without the header. */
export function payloadTokens(payloads: readonly Payload[], ctx: NotationContext): string[] {
  let ids = 0;
  const out: string[] = [];
  for (const p of payloads) {
    out.push(token(p, ctx, ids));
    if (p.type === 'ID') ids++;
  }
  return collapse(out);
}

/**
 * The arrow label: `HDR` (or `HDR*` when encrypted) and the payload tokens. An encrypted message
 * that was not decrypted shows the first payload (the header names it) and an ellipsis.
 */
export function arrowLabel(ctx: NotationContext, payloads: readonly Payload[], encrypted: boolean, decrypted: boolean, firstPayloadType: number): string {
  const hdr = encrypted ? 'HDR*' : 'HDR';
  if (encrypted && !decrypted) {
    const empty = new Uint8Array(0);
    const t =
      firstPayloadType === 8 ? token({ type: 'HASH', data: empty }, ctx, 0)
        : firstPayloadType === 5 ? token({ type: 'ID', idType: 1, protocol: 0, port: 0, data: empty }, ctx, 0)
          : firstPayloadType === 9 ? token({ type: 'SIG', data: empty }, ctx, 0)
            : firstPayloadType === 10 ? token({ type: 'NONCE', data: empty }, ctx, 0)
              : FIRST_NAMES[firstPayloadType];
    return t !== undefined ? `${hdr}, ${t}, …` : `${hdr}, …`;
  }
  const tokens = payloadTokens(payloads, ctx);
  return tokens.length > 0 ? `${hdr}, ${tokens.join(', ')}` : hdr;
}

const FIRST_NAMES: Readonly<Record<number, string>> = {
  1: 'SA', 4: 'KE', 6: 'CERT', 7: 'CERT_REQ', 11: 'N', 12: 'D', 13: 'VID', 14: 'ATTR', 20: 'NAT-D', 21: 'NAT-OA', 130: 'NAT-D', 131: 'NAT-OA', 132: 'FRAG',
};

/** Extra facts for the line under an arrow: vendor IDs by name, notifies, Delete, ID values. */
export function payloadNotes(payloads: readonly Payload[]): string[] {
  const notes: string[] = [];
  const vids = payloads.filter((p) => p.type === 'VID').map((p) => (p.type === 'VID' ? vendorIdText(p.data) ?? 'unknown vendor ID' : ''));
  if (vids.length > 0) notes.push(`VID: ${vids.join('; ')}`);
  for (const p of payloads) {
    if (p.type === 'D') notes.push(`Delete ${lookupName({ ISAKMP: 1, AH: 2, ESP: 3, IPCOMP: 4 }, p.protocol) ?? `protocol ${p.protocol}`} ×${p.spis.length}`);
  }
  return notes;
}
