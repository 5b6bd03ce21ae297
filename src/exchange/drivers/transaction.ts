/**
 * The Transaction exchange (type 6; draft-ietf-ipsec-isakmp-mode-cfg-05 §3): two messages under an
 * established ISAKMP SA, each HDR*, HASH, ATTR, with their own message ID and IV chain (RFC 2409
 * App. B: the first IV is hash(last phase-1 block | M-ID), the answer's IV is the request's last
 * cipher block). Both HASHes are prf(SKEYID_a, M-ID | ATTR), as for Informational.
 *
 *   REQUEST --> <-- REPLY        (Mode Config pull, XAUTH challenge)
 *   SET     --> <-- ACK          (Mode Config push, XAUTH status)
 *
 * This driver is the transport only: a request we start is retransmitted until its answer comes
 * (or the retransmit limit fails it); a request from the peer is checked (HASH first, then a
 * fresh message ID: replay.ts) and handed to the caller as a `transaction` event, answered later
 * with `answerTransaction` (the engine never waits: the daemon may ask a backend first). An answer
 * already sent is sent again for a byte-identical repeat of its request; a request the extension
 * refuses is dropped unanswered, and its repeats (like any repeat with nothing to answer) are
 * `REPEATED_MESSAGE` drops. A request started with `echoIdentifier`
 * takes only an answer under its identifier (mode-cfg-05 §3.2); at the retransmit limit Mode Config
 * is asked first (`modeConfigGaveUp`: its failure named, the SA deleted). Attribute values are not
 * interpreted here (XAUTH passwords travel through: the event printers show attribute types only).
 * @module
 */
import type { DataAttribute as Attribute, AttributePayload } from '../../codec/types.js';
import { CfgType, ExchangeType, NotifyType, nameOf } from '../../constants/index.js';
import type { Engine } from '../engine.js';
import { modeConfigGaveUp, modeConfigTransaction } from '../extensions/modecfg.js';
import { xauthTransaction } from '../extensions/xauth.js';
import { checkFreshMsgId, doneFor, freshMsgId, msgIdFree, openHashed, phase1Confirmed, phase2Iv, rememberDone, repeatOf, requireEstablished, sealHashed } from '../phase2.js';
import { Tk, type KeyedP1, type P1, type TimerOfKind } from '../records.js';
import { Refused, remote } from '../refusal.js';
import { markSeen } from '../replay.js';
import { one, rule, type MessageScript } from '../scripts.js';
import type { ExchangeDriver, Inbound } from './registry.js';

const TYPE = ExchangeType.TRANSACTION;

/** Either message of the exchange: HDR*, HASH, ATTR. */
export const TRANSACTION: MessageScript = {
  label: 'HDR*, HASH, ATTR <-->',
  from: 'I',
  encrypted: 'yes',
  first: 'HASH',
  rules: [rule('HASH', 1, 1), rule('ATTR', 1, 1)],
};

/** The answer each request type takes. */
const ANSWER_TO: ReadonlyMap<number, number> = new Map([
  [CfgType.ISAKMP_CFG_REQUEST, CfgType.ISAKMP_CFG_REPLY],
  [CfgType.ISAKMP_CFG_SET, CfgType.ISAKMP_CFG_ACK],
]);

/** A request we sent, waiting for its answer. */
interface Outgoing {
  readonly msgId: number;
  readonly cfgType: number;
  readonly identifier: number;
  readonly sent: Uint8Array;
  /** The IV the answer is encrypted from (the last cipher block of `sent`). */
  readonly answerIv: Uint8Array;
  /** The answer must carry our identifier (mode-cfg-05 §3.2); one that does not is refused and the request goes on. */
  readonly echoIdentifier: boolean;
  /** Why the peer's last answer was refused, for the reason of a give-up. */
  refusedAnswer: string | undefined;
  count: number;
  timer: TimerOfKind<typeof Tk.TxnRetransmit> | undefined;
}

/** A request from the peer, checked, waiting for our answer. */
interface Incoming {
  readonly msgId: number;
  readonly cfgType: number;
  readonly identifier: number;
  readonly recv: number;
  /** The IV our answer is encrypted from. */
  readonly answerIv: Uint8Array;
}

interface Transactions {
  readonly out: Map<number, Outgoing>;
  readonly in: Map<number, Incoming>;
  /** Our last answered requests: a late repeat of their answer is a REPEATED_MESSAGE drop. */
  readonly finished: number[];
}

/** Open transactions per ISAKMP SA (bounded: at most MAX_OPEN each way). */
const open = new WeakMap<P1, Transactions>();
const MAX_OPEN = 4;

function tx(p1: P1): Transactions {
  let t = open.get(p1);
  if (!t) open.set(p1, (t = { out: new Map(), in: new Map(), finished: [] }));
  return t;
}

/** `msgId` is over: a late repeat under it is a REPEATED_MESSAGE drop (the last MAX_OPEN are kept). */
function closed(t: Transactions, msgId: number): void {
  t.finished.push(msgId);
  if (t.finished.length > MAX_OPEN) t.finished.shift();
}

function attr(cfgType: number, identifier: number, attributes: readonly Attribute[]): AttributePayload {
  return { type: 'ATTR', cfgType, identifier, attributes: [...attributes] };
}

/**
 * Starts a transaction: REQUEST or SET under an established ISAKMP SA. Returns its message ID.
 * `echoIdentifier`: an answer under another identifier is refused (the request is sent again).
 */
export function startTransaction(x: Engine, now: number, p1: KeyedP1, cfgType: number, identifier: number, attributes: readonly Attribute[], echoIdentifier = false): number {
  if (!ANSWER_TO.has(cfgType)) throw new Refused('TRANSACTION', `a transaction starts with REQUEST or SET, not ${nameOf(CfgType, cfgType)}`);
  const t = tx(p1);
  if (t.out.size >= MAX_OPEN) throw new Refused('TRANSACTION', `${MAX_OPEN} transactions already wait for the peer`);
  let msgId = freshMsgId(x, p1);
  while (t.out.has(msgId) || t.in.has(msgId) || !msgIdFree(p1, msgId)) msgId = freshMsgId(x, p1);
  const { bytes, nextIv } = sealHashed(p1, TYPE, msgId, 0, [attr(cfgType, identifier, attributes)], phase2Iv(p1, msgId), TRANSACTION);
  const o: Outgoing = { msgId, cfgType, identifier, sent: bytes, answerIv: nextIv, echoIdentifier, refusedAnswer: undefined, count: 0, timer: undefined };
  o.timer = x.timers.add(now + x.opt.retransmitBaseMs, p1, Tk.TxnRetransmit);
  t.out.set(msgId, o);
  x.send(p1.local, p1.remote, bytes);
  return msgId;
}

/**
 * Gives up a request of ours without waiting for its answer (its retransmission stops; a late
 * answer is ignored quietly): the peer got what it carried another way.
 */
export function abandonTransaction(x: Engine, p1: KeyedP1, msgId: number): void {
  const t = open.get(p1);
  const o = t?.out.get(msgId);
  if (!t || !o) return;
  if (o.timer) x.timers.cancel(o.timer);
  t.out.delete(msgId);
  closed(t, msgId);
}

/** Answers a request the peer sent (a `transaction` event with `answered: false`): REPLY or ACK. */
export function answerTransaction(x: Engine, p1: KeyedP1, msgId: number, attributes: readonly Attribute[]): void {
  const t = open.get(p1);
  const i = t?.in.get(msgId);
  if (!t || !i) throw new Refused('TRANSACTION', `no transaction ${msgId >>> 0} waits for an answer`);
  t.in.delete(msgId);
  const answerType = ANSWER_TO.get(i.cfgType) ?? CfgType.ISAKMP_CFG_ACK; // only REQUEST / SET are kept
  const { bytes } = sealHashed(p1, TYPE, msgId, 0, [attr(answerType, i.identifier, attributes)], i.answerIv, TRANSACTION);
  rememberDone(p1, msgId, i.recv, bytes);
  x.send(p1.local, p1.remote, bytes);
}

/** Retransmission of a request of ours; at the limit the transaction fails (a `failed` event). */
export function transactionTimer(x: Engine, now: number, e: TimerOfKind<typeof Tk.TxnRetransmit>): void {
  const p1 = e.target;
  const t = open.get(p1);
  if (!t || p1.life === 'dead') return;
  for (const o of t.out.values()) {
    if (o.timer !== e) continue;
    if (o.count >= x.opt.retransmitLimit) {
      t.out.delete(o.msgId);
      if (modeConfigGaveUp(x, p1, o.msgId, o.count + 1, o.refusedAnswer)) return; // it named the failure and deleted the SA
      x.emit({ type: 'failed', kind: 'isakmp', connection: p1.conn.name, peer: p1.remote, notify: 0, reason: `transaction ${nameOf(CfgType, o.cfgType)}: retransmit limit reached, peer does not answer` });
      continue;
    }
    o.count++;
    x.send(p1.local, p1.remote, o.sent);
    o.timer = x.timers.add(now + x.opt.retransmitBaseMs * 2 ** o.count, p1, Tk.TxnRetransmit);
  }
}

function receiveTransaction(x: Engine, m: Inbound): void {
  const { header: h, bytes } = m;
  const p1 = requireEstablished(x, m.p1, h, m.remote, 'transaction');
  const t = tx(p1);
  const o = t.out.get(h.messageId);
  if (o) {
    // the answer to a request of ours: encrypted from the last block of our request
    const { payloads } = openHashed(p1, o.answerIv, bytes, h.messageId, 'transaction', TRANSACTION);
    const a = one(payloads, 'ATTR');
    if (a.cfgType !== ANSWER_TO.get(o.cfgType)) {
      throw remote(NotifyType.INVALID_PAYLOAD_TYPE, `transaction answered ${nameOf(CfgType, o.cfgType)} with ${nameOf(CfgType, a.cfgType)}`);
    }
    if (o.echoIdentifier && a.identifier !== o.identifier) {
      // still ours to retransmit: a peer that answers right later is taken
      o.refusedAnswer = `its ${nameOf(CfgType, a.cfgType)} carries identifier ${a.identifier}, not ${o.identifier} of our ${nameOf(CfgType, o.cfgType)}`;
      throw remote(NotifyType.INVALID_PAYLOAD_TYPE, `transaction ${o.refusedAnswer}`);
    }
    t.out.delete(h.messageId);
    closed(t, h.messageId);
    phase1Confirmed(p1);
    if (!xauthTransaction(x, m.now, p1, h.messageId, a, true) && !modeConfigTransaction(x, m.now, p1, h.messageId, a, true)) emitTransaction(x, p1, h.messageId, a, true);
    return;
  }
  // a repeat: being answered, or answered
  if (t.in.has(h.messageId) || t.finished.includes(h.messageId)) throw new Refused('REPEATED_MESSAGE', 'repeat of a transaction request being answered or answered');
  // The message ID of an exchange of the peer's that just finished: a repeat of its last request
  // gets our answer again; a different message is a new transaction under the same ID, which
  // Libreswan sends (the Mode Config SET it pushes after XAUTH reuses the ID of its XAUTH STATUS).
  // It is authenticated by its HASH like any other (openHashed), and a replay of an earlier
  // message under that ID is one of the repeats.
  const before = doneFor(p1, h.messageId);
  const reused = before !== undefined;
  if (reused) {
    const repeat = repeatOf(p1, h.messageId, x.fp(bytes));
    if (repeat) {
      if (!repeat.sent) throw new Refused('REPEATED_MESSAGE', 'repeat of a finished transaction request with no answer of ours to repeat');
      x.send(p1.local, p1.remote, repeat.sent);
      return;
    }
  } else checkFreshMsgId(x, p1, h.messageId);
  const { payloads, nextIv } = openTransaction(p1, bytes, h.messageId, before?.sent);
  const a = one(payloads, 'ATTR');
  if (!ANSWER_TO.has(a.cfgType)) {
    throw remote(NotifyType.INVALID_PAYLOAD_TYPE, `transaction starts with ${nameOf(CfgType, a.cfgType)}, not REQUEST or SET`);
  }
  if (t.in.size >= MAX_OPEN) throw new Refused('TRANSACTION', `${MAX_OPEN} transactions of the peer already wait for an answer`);
  if (!reused) markSeen(p1, h.messageId);
  phase1Confirmed(p1);
  t.in.set(h.messageId, { msgId: h.messageId, cfgType: a.cfgType, identifier: a.identifier, recv: x.fp(bytes), answerIv: nextIv });
  try {
    if (!xauthTransaction(x, m.now, p1, h.messageId, a, false) && !modeConfigTransaction(x, m.now, p1, h.messageId, a, false)) emitTransaction(x, p1, h.messageId, a, false);
  } catch (e) {
    // refused unanswered: its slot is freed, and each of its retransmissions is a REPEATED_MESSAGE
    // drop (a debug line; the refusal itself is this `dropped` event)
    if (t.in.delete(h.messageId)) closed(t, h.messageId);
    throw e;
  }
}

/**
 * Decrypts and authenticates a transaction the peer starts. Under a reused message ID (see above)
 * Libreswan continues the CBC chain of the exchange before: its IV is the last ciphertext block of
 * our last message under that ID (`after`); the IV of a fresh ID (RFC 2409 §5.5) is tried second.
 * Only the IV that yields a message whose HASH verifies is taken.
 */
function openTransaction(p1: KeyedP1, bytes: Uint8Array, msgId: number, after: Uint8Array | undefined): ReturnType<typeof openHashed> {
  if (after !== undefined && after.length >= 28 + p1.cipher.blockSize) {
    try {
      return openHashed(p1, after.slice(after.length - p1.cipher.blockSize), bytes, msgId, 'transaction', TRANSACTION);
    } catch {
      /* not chained: the IV of a fresh message ID below */
    }
  }
  return openHashed(p1, phase2Iv(p1, msgId), bytes, msgId, 'transaction', TRANSACTION);
}

function emitTransaction(x: Engine, p1: KeyedP1, msgId: number, a: AttributePayload, answered: boolean): void {
  x.emit({
    type: 'transaction',
    isakmpSa: x.sas.p1Id(p1),
    connection: p1.conn.name,
    peer: p1.remote,
    messageId: msgId >>> 0,
    cfgType: a.cfgType,
    identifier: a.identifier,
    attributes: a.attributes,
    answered,
  });
}

export const transactionDriver: ExchangeDriver = {
  name: 'Transaction',
  doi: undefined,
  exchangeType: TYPE,
  receive: receiveTransaction,
};
