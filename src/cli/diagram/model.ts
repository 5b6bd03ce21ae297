/**
 * The ladder model of decoded messages: one ladder per ISAKMP SA (messages grouped by initiator
 * cookie), two lanes (initiator and responder, told apart by address and port, NAT-T floating
 * included), one arrow per message with its RFC 2409 label, whether it was encrypted and
 * decrypted, retransmissions (the same bytes again from the same side), notifies, and the
 * failing message (a malformed message, an error notify, or the last message of an exchange
 * that never completed). Pure: decoded items in, a plain record out; svg.ts and html.ts draw it.
 * @module
 */
import { ExchangeType } from '../../constants/index.js';
import type { DecodedItem } from '../decode-pipeline.js';
import { errorLine, messageTree } from '../format.js';
import { arrowLabel, exchangeLength, exchangeLongName, exchangeShortName, isErrorNotify, notifyName, payloadNotes } from './notation.js';
import { toHex } from '../../crypto/bytes.js';

export type Direction = 'i2r' | 'r2i';

export interface Arrow {
  /** Index in the decoded input (0-based), for the HTML page's trees. */
  readonly index: number;
  readonly frame?: number;
  /** Seconds since the first message of the input. */
  readonly time: number;
  readonly direction: Direction;
  /** `HDR*, IDii, HASH_I` */
  readonly label: string;
  /** `MM5`, `QM1`, `INFO` */
  readonly step: string;
  readonly exchange: string;
  readonly messageId: number;
  readonly bytes: number;
  readonly encrypted: boolean;
  readonly decrypted: boolean;
  /** The index (in this ladder's arrows) of the message this one repeats. */
  readonly retransmissionOf?: number;
  readonly notifies: readonly { readonly name: string; readonly error: boolean }[];
  readonly failing: boolean;
  /** Why the message is highlighted as failing, or other facts worth a line under the arrow. */
  readonly notes: readonly string[];
  /** The message's tree (format.ts), for the HTML page. */
  readonly tree: readonly string[];
}

export interface Lane {
  readonly role: 'Initiator' | 'Responder';
  /** Addresses with ports this side used, in order of appearance. */
  readonly endpoints: readonly string[];
  readonly cookie: string;
}

export interface Ladder {
  readonly initiatorCookie: string;
  readonly responderCookie: string;
  readonly initiator: Lane;
  readonly responder: Lane;
  readonly arrows: readonly Arrow[];
  /** One line: exchanges seen and how phase 1 ended. */
  readonly summary: string;
  /** The initiator could not be told from a first message (the capture starts later). */
  readonly rolesGuessed: boolean;
}


interface Building {
  icookie: string;
  rcookie: string;
  iEnds: string[];
  rEnds: string[];
  iAddr?: string;
  rAddr?: string;
  rolesGuessed: boolean;
  items: { d: DecodedItem; index: number }[];
}

const endpointOf = (addr: string | undefined, port: number | undefined): string | undefined => (addr === undefined ? undefined : port === undefined ? addr : `${addr.includes(':') ? `[${addr}]` : addr}:${port}`);

/** Which side sent `d`, learning new endpoints (NAT-T port float) as it goes. */
function directionOf(b: Building, d: DecodedItem): Direction {
  const src = endpointOf(d.input.src, d.input.srcPort);
  const dst = endpointOf(d.input.dst, d.input.dstPort);
  const learn = (dir: Direction): Direction => {
    const [from, to] = dir === 'i2r' ? [b.iEnds, b.rEnds] : [b.rEnds, b.iEnds];
    if (src !== undefined && !from.includes(src)) from.push(src);
    if (dst !== undefined && !to.includes(dst)) to.push(dst);
    return dir;
  };
  if (src === undefined) {
    // No addresses (hex input): a zero responder cookie marks the initiator's first message.
    return d.message !== undefined && d.message.header.responderCookie.every((x) => x === 0) ? 'i2r' : b.items.length === 0 ? 'i2r' : 'r2i';
  }
  if (b.iEnds.includes(src) || (dst !== undefined && b.rEnds.includes(dst))) return learn('i2r');
  if (b.rEnds.includes(src) || (dst !== undefined && b.iEnds.includes(dst))) return learn('r2i');
  // A port not seen yet (floating to 4500): the address decides when the two sides differ.
  if (b.iAddr !== undefined && b.iAddr !== b.rAddr) {
    if (d.input.src === b.iAddr) return learn('i2r');
    if (d.input.src === b.rAddr) return learn('r2i');
  }
  if (b.iEnds.length === 0) {
    b.iAddr = d.input.src;
    b.rAddr = d.input.dst;
    return learn('i2r');
  }
  return learn('i2r');
}

/** Builds one ladder per ISAKMP SA, in the order their first message appears. */
export function buildLadders(decoded: readonly DecodedItem[]): Ladder[] {
  const byCookie = new Map<string, Building>();
  const order: Building[] = [];
  decoded.forEach((d, index) => {
    const data = d.message !== undefined ? undefined : d.input.data;
    const icookie = d.message !== undefined ? toHex(d.message.header.initiatorCookie) : data!.length >= 8 ? toHex(data!.subarray(0, 8)) : '(no header)';
    let b = byCookie.get(icookie);
    if (b === undefined) {
      const firstIsInitiator = d.message === undefined || d.message.header.responderCookie.every((x) => x === 0);
      b = { icookie, rcookie: '0000000000000000', iEnds: [], rEnds: [], rolesGuessed: !firstIsInitiator, items: [] };
      byCookie.set(icookie, b);
      order.push(b);
    }
    if (d.message !== undefined && b.rcookie === '0000000000000000') {
      const r = toHex(d.message.header.responderCookie);
      if (r !== '0000000000000000') b.rcookie = r;
    }
    b.items.push({ d, index });
  });
  const t0 = decoded.find((d) => d.input.time !== undefined)?.input.time ?? 0;
  return order.map((b) => finish(b, t0));
}

function finish(b: Building, t0: number): Ladder {
  const arrows: Arrow[] = [];
  /** Per exchange instance (message ID + type): who began it and how many distinct messages. */
  const exchanges = new Map<string, { starter: Direction; count: number; type: number; lastArrow: number }>();
  const seen = new Map<string, number>();
  /** Each arrow's position in its exchange. */
  const positions: number[] = [];
  let phase1Done = false;
  for (const { d, index } of b.items) {
    const dir = directionOf(b, d);
    const time = (d.input.time ?? t0) - t0;
    const bytes = d.input.data.length;
    const key = `${dir}:${toHex(d.input.data)}`;
    const earlier = seen.get(key);
    if (d.error !== undefined || d.message === undefined) {
      positions.push(0);
      arrows.push({
        index, ...(d.input.frame !== undefined ? { frame: d.input.frame } : {}), time, direction: dir, label: 'malformed message', step: '?', exchange: 'unknown',
        messageId: 0, bytes, encrypted: d.encrypted, decrypted: false, notifies: [], failing: true,
        notes: [d.error !== undefined ? errorLine(d.error) : 'not decodable'], tree: d.error !== undefined ? [errorLine(d.error)] : [],
      });
      continue;
    }
    const m = d.message;
    const h = m.header;
    const exKey = `${h.exchangeType}:${h.messageId}`;
    let ex = exchanges.get(exKey);
    const retransmission = earlier !== undefined;
    if (ex === undefined) {
      // Phase 1 always starts with the SA's initiator; other exchanges with whoever sent first.
      const phase1 = h.messageId === 0 && (h.exchangeType === ExchangeType.IDENTITY_PROTECTION || h.exchangeType === ExchangeType.AGGRESSIVE);
      ex = { starter: phase1 ? 'i2r' : dir, count: 0, type: h.exchangeType, lastArrow: arrows.length };
      exchanges.set(exKey, ex);
    }
    if (!retransmission) ex.count++;
    ex.lastArrow = arrows.length;
    const position = retransmission ? positions[earlier]! : ex.count;
    positions.push(position);
    const ctx = { exchangeType: h.exchangeType, fromExchangeInitiator: dir === ex.starter, position };
    const label = arrowLabel(ctx, m.payloads, d.encrypted, d.decrypted || !d.encrypted, h.nextPayload);
    const len = exchangeLength(h.exchangeType);
    const step = len > 0 ? `${exchangeShortName(h.exchangeType)}${position}` : exchangeShortName(h.exchangeType);
    const notifies = m.payloads.flatMap((p) => (p.type === 'N' ? [{ name: notifyName(p.notifyType), error: isErrorNotify(p.notifyType) }] : []));
    const notes: string[] = [];
    if (retransmission) notes.push(`retransmission of ${arrows[earlier]!.step} (#${earlier + 1})`);
    if (d.encrypted && !d.decrypted) notes.push(d.decryptError !== undefined ? `encrypted, not decrypted: ${d.decryptError}` : 'encrypted (give --keylog to see the payloads)');
    if (d.decrypted) notes.push('decrypted with the key log');
    if (d.reassembledFrom !== undefined) notes.push(`reassembled from ${d.reassembledFrom} fragments`);
    notes.push(...payloadNotes(m.payloads));
    const failing = notifies.some((n) => n.error);
    if (failing) notes.push(`error notify: ${notifies.filter((n) => n.error).map((n) => n.name).join(', ')}`);
    if ((h.exchangeType === ExchangeType.IDENTITY_PROTECTION || h.exchangeType === ExchangeType.AGGRESSIVE) && h.messageId === 0 && ex.count >= len) phase1Done = true;
    arrows.push({
      index, ...(d.input.frame !== undefined ? { frame: d.input.frame } : {}), time, direction: dir, label, step, exchange: exchangeLongName(h.exchangeType),
      messageId: h.messageId, bytes, encrypted: d.encrypted, decrypted: d.decrypted, ...(retransmission ? { retransmissionOf: earlier } : {}),
      notifies, failing, notes, tree: messageTree(m, bytes),
    });
    if (!retransmission) seen.set(key, arrows.length - 1);
  }
  // An exchange that stopped before its last message: its last arrow is where it failed.
  const incomplete: string[] = [];
  for (const ex of exchanges.values()) {
    const len = exchangeLength(ex.type);
    if (len === 0 || ex.count >= len) continue;
    const a = arrows[ex.lastArrow]!;
    incomplete.push(`${exchangeLongName(ex.type)} stopped after ${a.step}`);
    arrows[ex.lastArrow] = { ...a, failing: true, notes: [...a.notes, `${exchangeLongName(ex.type)} incomplete: no ${exchangeShortName(ex.type)}${ex.count + 1} after this message`] };
  }
  const kinds = [...new Set([...exchanges.values()].map((e) => exchangeLongName(e.type)))];
  const failed = arrows.some((a) => a.failing);
  const summary = `${kinds.join(', ') || 'no decodable message'}; phase 1 ${phase1Done ? 'completed' : 'not completed'}${incomplete.length ? `; ${incomplete.join('; ')}` : ''}${failed && incomplete.length === 0 ? '; errors reported' : ''}`;
  return {
    initiatorCookie: b.icookie,
    responderCookie: b.rcookie,
    initiator: { role: 'Initiator', endpoints: b.iEnds, cookie: b.icookie },
    responder: { role: 'Responder', endpoints: b.rEnds, cookie: b.rcookie },
    arrows,
    summary,
    rolesGuessed: b.rolesGuessed,
  };
}
