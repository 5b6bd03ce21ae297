/**
 * What the phase-1 drivers (Main Mode, Aggressive Mode) share: the driver shape, where a phase 1
 * starts (initiator: a new record and the driver's first message; responder: the checks of a
 * first message, the half-open table, the connection and transform chosen, then the driver's
 * answer) and the runner of the following messages, which looks the expected message up by the
 * exchange state in the driver's script rows, checks it, and runs the row's step.
 * @module
 */
import { decodePayloads } from '../../codec/index.js';
import { decodeDatagramPayloadsInPlace } from '../../codec/message.js';
import type { Header, Payload, SaPayload } from '../../codec/types.js';
import { HeaderFlag, NotifyType, isErrorNotify } from '../../constants/index.js';
import { bytesEqual, isZero } from '../../crypto/bytes.js';
import { IsakmpError, LocalProtocolError } from '../../errors.js';
import { IPSEC_DOI } from '../doi.js';
import type { Engine } from '../engine.js';
import { expectAuthentication } from '../extensions/index.js';
import { bkey, pairKeyFlat } from '../keys.js';
import { setChosen } from '../key-schedule.js';
import { abandonP1, destroyP1, sendP1 } from '../lifecycle.js';
import { samePeer } from '../phase2.js';
import { selectIkeOf } from '../offer-text.js';
import { parseIkeTransform, type IkeSelection } from '../proposals.js';
import { idToIdentity, identityText } from '../ids.js';
import { ikeTransformName } from '../names.js';
import { traceMessage } from '../trace.js';
import { NO_PENDING, Tk, expectHandshake, hasKeys, ivOf, newHandshake, type ChosenP1, type P1, type Phase1State, type PendingQm } from '../records.js';
import { Failure, Refused, errorOf, refuse, remote } from '../refusal.js';
import { checkMessage, find, one, type MessageScript } from '../scripts.js';
import type { Address, Connection } from '../types.js';
import { checkOut, decrypt, encodePlain, firstPayloadBody, sendUnprotectedNotify } from '../wire.js';
import { phase1DriverFor } from './index.js';
import type { ExchangeDriver, Inbound } from './registry.js';

/** A phase-1 message received and checked against its script row. */
export interface Phase1Message {
  readonly header: Header;
  readonly bytes: Uint8Array;
  readonly payloads: readonly Payload[];
  /** The IV after this message when it was encrypted (RFC 2409 App. B), else undefined. */
  readonly nextIv: Uint8Array | undefined;
}

/** A script row: in this state the driver expects `receives`, then runs `step`. */
export interface Phase1Step {
  readonly receives: MessageScript;
  /** The initiator's first answer: it carries the responder cookie we learn (not yet ours to check). */
  readonly learnsResponderCookie?: true;
  readonly step: (x: Engine, now: number, p1: P1, m: Phase1Message) => void;
}

export interface Phase1Driver extends ExchangeDriver {
  readonly mode: 'main' | 'aggressive';
  /** The script of the initiator's first message (what a responder expects with no state). */
  readonly first: MessageScript;
  /** Unencrypted messages are decoded as views of the datagram (the steps copy what they keep). */
  readonly decodeInPlace: boolean;
  /** The script rows, by the state that expects them. */
  readonly steps: { readonly [S in Phase1State]?: Phase1Step };
  /** Initiator: the first message of the exchange. */
  start(x: Engine, now: number, p1: P1): void;
  /** Responder: may refuse a first message before any of it is decoded (a rate, issue 9.7). */
  admit?(x: Engine, now: number, m: Inbound): void;
  /** Responder: narrows the candidate connections of a first message (may refuse it). */
  screen?(x: Engine, now: number, m: Inbound, payloads: readonly Payload[], candidates: readonly Connection[]): Connection[];
  /** Responder: takes the first message and sends the answer (`reply`: our SA payload). */
  answer(x: Engine, now: number, p1: ChosenP1, payloads: readonly Payload[], reply: SaPayload): void;
}

/**
 * A phase-1 driver of `mode` for exchange type `exchangeType` whose first message follows
 * `first`: an ISAKMP exchange (every DOI), its datagrams to the shared runner below.
 */
export function phase1Driver(mode: 'main' | 'aggressive', exchangeType: number, first: MessageScript, parts: Pick<Phase1Driver, 'decodeInPlace' | 'steps' | 'start' | 'admit' | 'screen' | 'answer'>): Phase1Driver {
  const name = mode === 'main' ? 'Main Mode' : 'Aggressive Mode';
  const driver: Phase1Driver = { name, doi: undefined, exchangeType, mode, first, ...parts, receive: (x, m) => receivePhase1(x, m, driver) };
  return driver;
}

/**
 * Sends our unencrypted phase-1 message `out` (Main Mode 2 to 4, Aggressive Mode 2): checked
 * against its `script`, traced, the exchange moved to `state`, then sent under the phase 1's
 * cookies, retransmitted on a timer only when `retransmit` (never a responder's answer).
 */
export function sendPlainPhase1(x: Engine, now: number, p1: P1, exchangeType: number, script: MessageScript, out: readonly Payload[], state: Phase1State, retransmit: boolean): void {
  checkOut(script, out);
  traceMessage(x, 'out', script.name, p1.conn.name, p1.remote, out);
  p1.exchangeState = state;
  sendP1(x, now, p1, encodePlain(p1, exchangeType, 0, out), retransmit);
}

/** A phase 1 record with every field present (one hidden class for all phase 1s), in the tables. */
export function newP1(x: Engine, role: 'initiator' | 'responder', mode: 'main' | 'aggressive', state: Phase1State, conn: Connection, local: Address, remoteAddr: Address, ic: Uint8Array, rc: Uint8Array, icKey = bkey(ic), pairKey = pairKeyFlat(local, remoteAddr)): P1 {
  const p1: P1 = {
    role,
    mode,
    doi: IPSEC_DOI,
    conn,
    local,
    remote: remoteAddr,
    pairKey,
    ic,
    rc,
    // every field present from the start: one hidden class for all phase 1s (monomorphic
    // property access on the hot path, fields stored in the object itself)
    replacedBy: undefined,
    exchangeState: state,
    life: 'negotiating',
    hs: newHandshake(),
    chosen: undefined,
    prf: undefined,
    cipher: undefined,
    keys: undefined,
    peerId: undefined,
    lastRecv: undefined,
    lastSent: undefined,
    tSoft: undefined,
    tHard: undefined,
    establishedAt: undefined,
    expiresAt: undefined,
    qms: undefined,
    done: undefined,
    doneId: 0,
    doneRecv: undefined,
    doneSent: undefined,
    seen1: 0,
    seenRest: undefined,
    seenCount: 0,
    recentInfo: undefined,
    candidate: undefined,
    pending: NO_PENDING,
    rekeyOf: undefined,
    id: undefined,
    nattPeer: false,
    nat: undefined,
    dpdPeer: false,
    fragPeer: false,
    dpd: undefined,
    live: undefined,
    holds: 0,
    heard: 0,
    peerKey: undefined,
  };
  x.sas.addP1(p1, icKey);
  return p1;
}

/** A fresh non-zero cookie that no phase 1 uses as its initiator cookie, with its map key. */
function freshCookie(x: Engine): { cookie: Uint8Array; key: string } {
  for (;;) {
    const cookie = x.random(8);
    x.cookieTag?.(cookie);
    if (isZero(cookie)) continue;
    const key = bkey(cookie);
    if (!x.sas.p1s.has(key)) return { cookie, key };
  }
}

/**
 * Initiator: a new phase 1 for `conn` with the driver of its `exchange`, its first message sent.
 * `pairKey`: pairKeyFlat(conn.local, conn.remote) when the caller has it already. `announce`: a
 * `started` event (not for a keying retry: the same negotiation starting over).
 */
export function startPhase1(x: Engine, now: number, conn: Connection, pending: PendingQm[], rekeyOf?: P1, pairKey?: string, announce = true): P1 {
  const driver = phase1DriverFor(conn.exchange ?? 'main');
  if (conn.remote.address === '%any') throw new LocalProtocolError(0, `connection ${conn.name}: cannot initiate to %any`);
  if (announce) x.emit({ type: 'started', kind: 'isakmp', connection: conn.name, peer: conn.remote, role: 'initiator', rekey: rekeyOf !== undefined });
  const ic = freshCookie(x);
  const state: Phase1State = driver.mode === 'main' ? 'sent-mm1' : 'sent-am1';
  const p1 = newP1(x, 'initiator', driver.mode, state, conn, conn.local, conn.remote, ic.cookie, new Uint8Array(8), ic.key, pairKey);
  p1.pending = pending;
  if (rekeyOf) p1.rekeyOf = rekeyOf;
  driver.start(x, now, p1);
  return p1;
}

/** A datagram of a phase-1 exchange: a first message (no state yet), or one of a phase 1 we hold. */
export function receivePhase1(x: Engine, m: Inbound, driver: Phase1Driver): void {
  const h = m.header;
  if (h.messageId !== 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'phase-1 message with non-zero message ID');
  const p1 = m.p1;
  const rcZero = isZero(h.responderCookie);
  if (!p1) {
    if (!rcZero) throw remote(NotifyType.INVALID_COOKIE, 'unknown cookies');
    if (isZero(h.initiatorCookie)) throw remote(NotifyType.INVALID_COOKIE, 'zero initiator cookie');
    respondFirst(x, m, driver);
    return;
  }
  if (!samePeer(p1, m.remote) || p1.mode !== driver.mode) throw remote(NotifyType.INVALID_COOKIE, 'cookies of another peer or exchange');
  expectAuthentication(x, m.local, m.remote);
  receiveNext(x, m.now, p1, h, m.bytes, rcZero, driver);
}

/** Responder: the initiator's first message. Refusals are answered with an unprotected notify (policy permitting), no state kept. */
function respondFirst(x: Engine, m: Inbound, driver: Phase1Driver): void {
  const { now, local, remote: remoteAddr, header: h, bytes } = m;
  try {
    if (h.flags & HeaderFlag.ENCRYPTION) throw remote(NotifyType.INVALID_FLAGS, 'first phase-1 message encrypted');
    driver.admit?.(x, now, m);
    // the header was checked by decodeHeader: decode the payload chain only (same checks and
    // offsets); in place when the driver's steps copy what they keep (Main Mode: SAi_b is copied
    // from `bytes` below and the chosen transform is numbers; the reply is encoded at once)
    const payloads = decodeClear(driver, h, bytes);
    checkMessage(driver.first, payloads);
    const sa = one(payloads, 'SA');
    let candidates = x.conns.candidates(local, remoteAddr, driver.mode);
    if (candidates.length === 0) throw refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'POLICY_REFUSED', `no ${driver.name} connection for peer ${remoteAddr.address} to ${local.address} (check remote.address, local.address and mode of the connections)`);
    if (x.sas.countOfAddress(remoteAddr.address) >= x.opt.maxIsakmpSasPerAddress) {
      throw new Refused('PEER_SA_LIMIT', `address ${remoteAddr.address} holds ${x.opt.maxIsakmpSasPerAddress} ISAKMP SAs (max_isakmp_sas_per_address)`);
    }
    if (driver.screen) candidates = driver.screen(x, now, m, payloads, candidates);
    let chosen: { conn: Connection; sel: IkeSelection } | undefined;
    let firstErr: unknown;
    for (const c of candidates) {
      try {
        chosen = { conn: c, sel: selectIkeOf(c, sa) };
        break;
      } catch (e) {
        firstErr ??= e;
      }
    }
    if (!chosen) throw firstErr ?? remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable proposal');
    if (x.observe) traceMessage(x, 'in', driver.first.name, chosen.conn.name, remoteAddr, payloads, ikeTransformName(chosen.sel.chosen).split(' ')[0]);
    // a well-formed, acceptable first message: room for it in the half-open table
    const peer = x.halfOpen.makeRoom(remoteAddr.address, (old) => {
      destroyP1(x, old);
      x.emit({ type: 'dropped', peer: old.remote, notify: 0, code: 'HALF_OPEN_EVICTED', reason: 'half-open phase 1 evicted (half-open limit reached)' });
      x.emit({ type: 'failed', kind: 'isakmp', connection: old.conn.name, peer: old.remote, notify: 0, reason: 'half-open phase 1 evicted to make room (max_half_open)' });
    });
    const state: Phase1State = driver.mode === 'main' ? 'sent-mm2' : 'sent-am2';
    const p1 = newP1(x, 'responder', driver.mode, state, chosen.conn, local, remoteAddr, new Uint8Array(h.initiatorCookie), freshCookie(x).cookie);
    const hs = expectHandshake(p1);
    x.halfOpen.add(p1, peer);
    hs.tHalf = x.timers.add(now + x.opt.halfOpenTimeoutMs, p1, Tk.P1HalfOpen);
    p1.lastRecv = x.fp(bytes);
    const cp1 = setChosen(p1, chosen.sel.chosen);
    // SAi_b: the body of the initiator's SA payload as received (the first payload, checked above)
    hs.saiB = firstPayloadBody(bytes);
    hs.candidates = candidates;
    try {
      driver.answer(x, now, cp1, payloads, chosen.sel.reply);
    } catch (e) {
      destroyP1(x, p1);
      throw e;
    }
    x.emit({ type: 'started', kind: 'isakmp', connection: p1.conn.name, peer: remoteAddr, role: 'responder', rekey: false });
  } catch (e) {
    const { notify } = errorOf(e);
    if (x.opt.sendErrorNotifies && isErrorNotify(notify)) sendUnprotectedNotify(x, local, remoteAddr, h.initiatorCookie, notify);
    throw e;
  }
}

/**
 * The runner of the following messages: a byte-identical repeat of the last request gets the last
 * response again (responder) and nothing else, a repeat with nothing to answer (initiator) is a
 * `REPEATED_MESSAGE` drop; otherwise the row of the current state says which
 * message is expected (sender, encryption, payloads) and which step handles it.
 */
function receiveNext(x: Engine, now: number, p1: P1, h: Header, bytes: Uint8Array, rcZero: boolean, driver: Phase1Driver): void {
  if (p1.lastRecv !== undefined && p1.lastRecv === x.fp(bytes)) {
    if (p1.lastSent && p1.role === 'responder') {
      x.send(p1.local, p1.remote, p1.lastSent);
      return;
    }
    // ours is the initiator's side (or nothing to repeat): refused, as a harmless repeat
    throw new Refused('REPEATED_MESSAGE', `byte-identical repeat of the peer's last ${driver.name} message (already taken; nothing to answer)`);
  }
  if (p1.life !== 'negotiating') throw remote(NotifyType.INVALID_EXCHANGE_TYPE, 'phase-1 message for a finished exchange');
  const row = driver.steps[p1.exchangeState];
  const script = row?.receives;
  if (!row || !script || script.from !== (p1.role === 'initiator' ? 'R' : 'I')) throw remote(NotifyType.INVALID_EXCHANGE_TYPE, 'unexpected phase-1 message');
  if (row.learnsResponderCookie) {
    if (rcZero) throw remote(NotifyType.INVALID_COOKIE, 'reply with zero responder cookie');
  } else if (!bytesEqual(p1.rc, h.responderCookie)) {
    throw remote(NotifyType.INVALID_COOKIE, 'responder cookie mismatch');
  }
  const enc = (h.flags & HeaderFlag.ENCRYPTION) !== 0;
  if (script.encrypted === 'yes' && !enc) throw remote(NotifyType.INVALID_FLAGS, `${script.label}: must be encrypted`);
  if (script.encrypted === 'no' && enc) throw remote(NotifyType.INVALID_FLAGS, `${script.label}: must not be encrypted`);
  let payloads: readonly Payload[];
  let nextIv: Uint8Array | undefined;
  if (enc) {
    try {
      const r = decrypt(p1, hasKeys(p1) ? ivOf(p1) : EMPTY, bytes);
      payloads = r.payloads;
      nextIv = r.nextIv;
      checkMessage(script, payloads);
    } catch (e) {
      throw keyMismatch(x, p1, script, e);
    }
  } else {
    // e.g. Main Mode MM2-MM4 (SA, KE, Nr, CR, VID): the steps copy every byte field they keep
    // (nonces, KE data; the SA answer becomes numbers), so the records may alias `bytes`
    payloads = decodeClear(driver, h, bytes);
    checkMessage(script, payloads);
  }
  if (x.observe) traceMessage(x, 'in', script.name, p1.conn.name, p1.remote, payloads, settled(row, payloads));
  row.step(x, now, p1, { header: h, bytes, payloads, nextIv });
}

const EMPTY = new Uint8Array(0);

/** What a phase-1 message settles, for its trace: the transform the responder chose, the peer's identity. */
function settled(row: Phase1Step, payloads: readonly Payload[]): string | undefined {
  if (row.learnsResponderCookie) {
    const sa = find(payloads, 'SA');
    const t = sa?.proposals[0]?.transforms[0];
    const c = t !== undefined ? parseIkeTransform(t) : undefined;
    return c !== undefined ? ikeTransformName(c).split(' ')[0] : undefined;
  }
  const id = find(payloads, 'ID');
  return id !== undefined ? `peer id ${identityText(idToIdentity(id.idType, id.data))}` : undefined;
}

/**
 * The first encrypted message of the peer (Main Mode 5, Aggressive Mode 3 to a responder) does not
 * decrypt to a valid payload chain: with a pre-shared key that is what different keys look like
 * (RFC 2409 §5: SKEYID comes from the key), so the phase 1 is abandoned with PSK_MISMATCH and the
 * peer told (in clear: it cannot read ours either). Any other error is returned as it is.
 */
function keyMismatch(x: Engine, p1: P1, script: MessageScript, e: unknown): unknown {
  if (p1.role !== 'responder' || p1.conn.auth !== 'psk' || !(e instanceof IsakmpError) || e instanceof Failure) return e;
  const name = script.name ?? script.label;
  return abandonP1(x, p1, refuse(e.notify || NotifyType.PAYLOAD_MALFORMED, 'PSK_MISMATCH', `probable pre-shared key mismatch: ${name} from the peer does not decrypt to a valid payload chain (${e.reason}); check that both sides use the same psk for this peer`));
}

/**
 * The payload chain of an unencrypted phase-1 message (the header already checked), as views of
 * the datagram when the driver's steps copy what they keep. Bytes after the last payload, inside
 * the header's length, are tolerated (Libreswan pads AM1/AM2/MM4; issue 10).
 */
function decodeClear(driver: Phase1Driver, h: Header, bytes: Uint8Array): Payload[] {
  return driver.decodeInPlace ? decodeDatagramPayloadsInPlace(h.nextPayload, bytes, true) : decodePayloads(h.nextPayload, bytes.subarray(28), { baseOffset: 28, allowTrailing: true });
}
