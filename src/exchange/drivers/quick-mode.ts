/**
 * Quick Mode (IPsec DOI, exchange type 32; RFC 2409 §5.5), several at once under one ISAKMP SA,
 * each with its own message ID and IV:
 *
 *     Initiator                                        Responder
 *     HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->                                 QM1
 *                                 <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]      QM2
 *     HDR*, HASH(3)                               -->                                 QM3
 *                                 <-- HDR*, HASH(4), N(CONNECTED)   (commit bit only)  QM4
 *
 * The script rows are indexed by the Quick Mode's state; each step is named after the message it
 * takes and the one it sends. The responder chooses among the ISAKMP SA's connection and the
 * other connections for the peer, only those whose credentials and identity the peer proved in
 * that ISAKMP SA (issue 9.1). NAT-T's UDP-encapsulated modes and NAT-OA come from the extensions.
 * @module
 */
import { encodePayloads } from '../../codec/index.js';
import { encodePayloadsScratch } from '../../codec/message.js';
import type { Header, NotifyPayload, Payload } from '../../codec/types.js';
import { EncapsulationMode, ExchangeType, HeaderFlag, NotifyType, PayloadType, ProtocolId, isErrorNotify } from '../../constants/index.js';
import { readUint32be } from '../../crypto/bytes.js';
import { IsakmpError } from '../../errors.js';
import { checkNonce } from '../auth.js';
import { provedFor } from '../authorization.js';
import * as C from '../crypto.js';
import { IPSEC_DOI } from '../doi.js';
import type { Engine } from '../engine.js';
import { ipsecTransformName } from '../names.js';
import { traceMessage, traceRetransmit } from '../trace.js';
import { authenticated, expectAuthentication, natOaIn, natOaOut, quickModeProposals } from '../extensions/index.js';
import { hostSelector, idToSelector, selectorEquals, selectorPairs, selectorToId, selectorWithin, type SelectorPair } from '../ids.js';
import { ipsecRefusalText, selectorText } from '../offer-text.js';
import { deleteReplaced, installIpsecSa } from '../ipsec-sa.js';
import { keyPair } from '../key-schedule.js';
import { failedEvent, peerText, retireIfSpent, retryUnderNewPhase1 } from '../lifecycle.js';
import { checkFreshMsgId, doneFor, freshMsgId, msgIdFree, phase1Confirmed, phase2Iv, rememberDone, requireEstablished } from '../phase2.js';
import { buildIpsecAnswer, buildIpsecSa, checkIpsecAnswer, selectIpsec, type IpsecSelection } from '../proposals.js';
import { Tk, newQm, type KeyedP1, type P1, type PendingQm, type Qm, type QuickModeState, type TimerOfKind, skeyidAOf } from '../records.js';
import { Refused, errorOf, missing, refuse, remote } from '../refusal.js';
import { markSeen } from '../replay.js';
import { NOTIFIES, checkMessage, find, findAll, one, rule, type MessageScript } from '../scripts.js';
import type { Connection, FailureCause, Selector } from '../types.js';
import { afterFirstPayload, checkOut, cookiePair, decrypt, encryptRaw, hashFirst, putHashFirst } from '../wire.js';
import { sendInfo } from './informational.js';
import { startWaiting } from './quick-mode-queue.js';
import type { ExchangeDriver } from './registry.js';
import { checkPeerVirtualAddress, selectorsWithVirtualAddress, unityLocalSelectors, withVirtualAddress } from '../virtual-address.js';

/** The four messages (the fourth only with the commit bit). */
export const QM = {
  qm1: { name: 'QM1', label: 'HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->', from: 'I', encrypted: 'yes', first: 'HASH', rules: [rule('HASH', 1, 1), rule('SA', 1, 1), rule('NONCE', 1, 1), rule('KE', 0, 1), rule('ID', 0, 2), rule('NAT-OA', 0, 2), NOTIFIES] },
  qm2: { name: 'QM2', label: '<-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]', from: 'R', encrypted: 'yes', first: 'HASH', rules: [rule('HASH', 1, 1), rule('SA', 1, 1), rule('NONCE', 1, 1), rule('KE', 0, 1), rule('ID', 0, 2), rule('NAT-OA', 0, 2), NOTIFIES] },
  qm3: { name: 'QM3', label: 'HDR*, HASH(3) -->', from: 'I', encrypted: 'yes', first: 'HASH', rules: [rule('HASH', 1, 1)] },
  qm4: { name: 'QM4', label: '<-- HDR*, HASH(4), N(CONNECTED)', from: 'R', encrypted: 'yes', first: 'HASH', rules: [rule('HASH', 1, 1), rule('N', 1, 1)] },
} as const satisfies Record<string, MessageScript>;

/** RFC 2409 §5.5 Quick Mode, message by message (public: tests and tools list it). */
export const QUICK_MODE: readonly MessageScript[] = [QM.qm1, QM.qm2, QM.qm3, QM.qm4];

const TYPE = ExchangeType.QUICK_MODE;
const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// initiator

/** The selector pairs of `conn` under `p1` (a side without selectors: its address; see ids.ts). */
function pairsOf(conn: Connection, p1: P1): SelectorPair[] {
  // a Mode Config virtual address (ours as a client, the peer's as a gateway) replaces the real one
  const { localTs, remoteTs } = selectorsWithVirtualAddress(p1, conn.localTs, conn.remoteTs);
  return selectorPairs(localTs, remoteTs, p1.local.address, p1.remote.address);
}

/** Initiator: HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] --> */
/** Starts one Quick Mode of ours under an established ISAKMP SA (see quick-mode-queue.ts for when). */
export function startQuick(x: Engine, now: number, p1: KeyedP1, pending: PendingQm): void {
  const conn = x.conns.current(pending.conn);
  const ipsec = pending.ipsec ?? conn.ipsec;
  // one draw of randomness: message ID | Ni | our SPIs
  let nSpis = 0;
  for (const p of ipsec) nSpis += p.protocols.length;
  const nl = x.opt.nonceLength;
  const r = x.random(4 + nl + 4 * nSpis);
  let msgId = readUint32be(r);
  if (!msgIdFree(p1, msgId)) msgId = freshMsgId(x, p1);
  const ts = pending.rekeyOf ? { local: pending.rekeyOf.info.localTs, remote: pending.rekeyOf.info.remoteTs } : (pending.ts ? withVirtualAddress(p1, pending.ts) : pairsOf(conn, p1)[0]) ?? missing('a selector pair');
  const qm = newQm(p1, msgId, 'initiator', conn, phase2Iv(p1, msgId), 'sent-qm1', r.subarray(4, 4 + nl), ts.local, ts.remote, conn.commit === true);
  qm.rekeyOf = pending.rekeyOf;
  qm.secondTry = pending.secondTry === true;
  // a rekey keeps every selector the SA carried (the IDs name its first, as before)
  qm.localSelectors = pending.rekeyOf?.info.localSelectors;
  // a rekey names our side as the Quick Mode it replaces did (a Unity client's 0.0.0.0/0)
  qm.wireLocalTs = pending.rekeyOf?.info.wireLocalTs;
  let off = 4 + nl;
  const ourSpis = ipsec.map((p) => p.protocols.map(() => spiFrom(x, r, (off += 4) - 4, p1.local.address)));
  qm.ourSpis = ourSpis;
  const proposals = quickModeProposals(x, p1, ipsec);
  // reserve our SPIs until the SA exists or the exchange fails
  const offer = buildIpsecSa(proposals, ourSpis);
  qm.offer = offer;
  qm.offeredFrom = pending.ipsec;
  const group = ipsec[0]?.group ?? 0;
  const rest: Payload[] = [offer, { type: 'NONCE', data: qm.ni }];
  if (group) {
    const dh = keyPair(x, group);
    qm.dh = dh;
    rest.push({ type: 'KE', data: dh.publicKey });
  }
  const idci = selectorToId(qm.wireLocalTs ?? qm.localTs);
  const idcr = selectorToId(qm.remoteTs);
  rest.push(
    { type: 'ID', idType: idci.idType, protocol: idci.protocol, port: idci.port, data: idci.data },
    { type: 'ID', idType: idcr.idType, protocol: idcr.protocol, port: idcr.port, data: idcr.data },
  );
  natOaOut(x, p1, true, proposals.some((p) => p.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT), rest);
  // HASH(1) | SA ... encoded once, the hash filled in afterwards (a scratch view: used at once)
  const room = 4 + C.prfLength(p1.prf);
  const plain = encodePayloadsScratch(rest, room);
  const h1 = C.quickModeHash1({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: msgId, afterHash: plain.subarray(room) });
  const hash1: Payload = { type: 'HASH', data: h1 };
  const qm1 = [hash1, ...rest];
  checkOut(QM.qm1, qm1);
  traceMessage(x, 'out', QM.qm1.name, conn.name, p1.remote, qm1);
  putHashFirst(plain, h1, PayloadType.SA);
  const flags = HeaderFlag.ENCRYPTION | (qm.commit ? HeaderFlag.COMMIT : 0);
  const enc = encryptRaw(p1, TYPE, msgId, flags, PayloadType.HASH, plain, qm.iv);
  qm.iv = enc.nextIv;
  (p1.qms ??= new Map()).set(msgId, qm);
  qm.lastSent = enc.bytes;
  qm.rtx = { count: 0, timer: x.timers.add(now + x.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
  qm.tTimeout = x.timers.add(now + qmTimeout(x), qm, Tk.QmTimeout);
  x.send(p1.local, p1.remote, enc.bytes);
}

/**
 * An SPI for an SA to our address `local`: a reserved one from `allocateSpi` when it gives one,
 * else 4 bytes of a batch of randomness (a copy), or a fresh draw if those are unusable.
 */
function spiFrom(x: Engine, r: Uint8Array, off: number, local: string): Uint8Array {
  const k = x.allocateSpi?.(local);
  if (k !== undefined && k.length === 4 && usableSpi(x, k)) return k;
  const s = new Uint8Array(r.subarray(off, off + 4));
  return usableSpi(x, s) ? s : freshSpi(x);
}

function usableSpi(x: Engine, s: Uint8Array): boolean {
  // 0..255 reserved (RFC 2408 §3.5 / IANA); ours must be unique
  return !(s[0] === 0 && s[1] === 0 && s[2] === 0) && !x.sas.spiInUse(s);
}

function freshSpi(x: Engine): Uint8Array {
  for (;;) {
    const s = x.random(4);
    if (usableSpi(x, s)) return s;
  }
}

/** Initiator: <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] ; then HDR*, HASH(3) --> */
export function initiatorTakeQm2SendQm3(x: Engine, now: number, qm: Qm, h: Header, bytes: Uint8Array, script: MessageScript): void {
  const p1 = qm.p1;
  const { payloads, plain, nextIv } = decrypt(p1, qm.iv, bytes);
  const hash = payloads[0];
  if (hash?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'Quick Mode must start with HASH(2)');
  const expected = C.quickModeHash2({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: qm.msgId, nonceI: qm.ni, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, hash.data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(2) does not verify');
  authenticated(x, p1, true);
  let sel: IpsecSelection;
  let nr: Uint8Array;
  try {
    checkMessage(script, payloads);
    const sa = one(payloads, 'SA');
    const nonce = one(payloads, 'NONCE');
    checkNonce(nonce.data);
    sel = checkIpsecAnswer(sa, qm.offer ?? missing('our offer'), quickModeProposals(x, p1, qm.offeredFrom ?? qm.conn.ipsec), qm.conn.allowWeakGroups ?? false);
    const ke = find(payloads, 'KE');
    if (qm.dh) {
      if (!ke) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PFS answer without KE');
      qm.gxy = qm.dh.computeSharedSecret(ke.data);
    } else if (ke) throw remote(NotifyType.INVALID_KEY_INFORMATION, 'KE without PFS');
    const ids = findAll(payloads, 'ID');
    const idci = ids[0];
    const idcr = ids[1];
    if (ids.length === 2 && idci && idcr) {
      const ci = idToSelector(idci);
      const cr = idToSelector(idcr);
      if (!ci || !cr || !selectorEquals(ci, qm.wireLocalTs ?? qm.localTs) || !selectorEquals(cr, qm.remoteTs)) {
        throw remote(NotifyType.INVALID_ID_INFORMATION, 'answer changes the traffic selectors');
      }
    } else if (ids.length !== 0) throw remote(NotifyType.PAYLOAD_MALFORMED, 'one ID payload in the answer');
    let life = sel.lifetimeSeconds;
    let kb = sel.lifetimeKilobytes;
    for (const n of findAll(payloads, 'N')) {
      if (n.notifyType === NotifyType.RESPONDER_LIFETIME) {
        const l = p1.doi.parseLifetime(n.data);
        if (l.seconds) life = Math.min(life, l.seconds);
        if (l.kilobytes) kb = kb ? Math.min(kb, l.kilobytes) : l.kilobytes;
      }
    }
    qm.peerOa = natOaIn(x, payloads, true, sel.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT);
    qm.selection = sel;
    nr = new Uint8Array(nonce.data);
    qm.nr = nr;
    qm.lifeSeconds = life;
    qm.lifeKilobytes = kb;
  } catch (e) {
    const { notify, reason } = errorOf(e);
    if (isErrorNotify(notify)) sendInfo(x, p1, [errorNotify(p1, notify)]);
    failQm(x, qm, notify, reason);
    throw e;
  }
  const h3 = C.quickModeHash3({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: qm.msgId, nonceI: qm.ni, nonceR: nr });
  checkOut(QM.qm3, [{ type: 'HASH', data: h3 }]);
  if (x.observe) {
    traceMessage(x, 'in', QM.qm2.name, qm.conn.name, p1.remote, payloads, selectionText(sel));
    traceMessage(x, 'out', QM.qm3.name, qm.conn.name, p1.remote, ['HASH']);
  }
  const enc = encryptRaw(p1, TYPE, qm.msgId, HeaderFlag.ENCRYPTION | (qm.commit ? HeaderFlag.COMMIT : 0), PayloadType.HASH, hashFirst(h3, 0), nextIv);
  qm.iv = enc.nextIv;
  qm.lastRecv = x.fp(bytes);
  qm.lastSent = enc.bytes;
  x.send(p1.local, p1.remote, enc.bytes);
  // the commit bit from either side: the SA is used only after CONNECTED (RFC 2408 §3.1)
  if ((h.flags & HeaderFlag.COMMIT) !== 0) qm.commit = true;
  if (qm.commit) {
    // wait for CONNECTED; HASH(3) is resent when HASH(2) is repeated
    qm.state = 'sent-qm3';
    clearQmRetransmit(x, qm);
    qm.rtx = { count: 0, timer: x.timers.add(now + x.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
    return;
  }
  finishQm(x, now, qm, sel, nr);
}

/** Initiator with the commit bit: <-- HDR*, HASH(4), N(CONNECTED) ; SA installed. */
export function initiatorTakeQm4(x: Engine, now: number, qm: Qm, _h: Header, bytes: Uint8Array, script: MessageScript): void {
  const p1 = qm.p1;
  const { payloads, plain } = decrypt(p1, qm.iv, bytes);
  checkMessage(script, payloads);
  const hash = one(payloads, 'HASH');
  const expected = C.informationalHash({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: qm.msgId, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, hash.data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(4) does not verify');
  authenticated(x, p1, true);
  const n = one(payloads, 'N');
  if (n.notifyType !== NotifyType.CONNECTED) throw remote(NotifyType.PAYLOAD_MALFORMED, 'expected CONNECTED');
  traceMessage(x, 'in', QM.qm4.name, qm.conn.name, p1.remote, payloads);
  qm.lastRecv = x.fp(bytes);
  qm.lastSent = undefined;
  finishQm(x, now, qm, qm.selection ?? missing('selection'), qm.nr ?? missing('Nr'));
}

// ---------------------------------------------------------------------------------------------
// responder

/** Responder: HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] --> ; then <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] */
export function responderTakeQm1SendQm2(x: Engine, now: number, p1: KeyedP1, h: Header, bytes: Uint8Array): void {
  if ((p1.qms?.size ?? 0) >= x.opt.maxQuickModesPerSa) throw new Refused('QUICK_MODE_LIMIT', `too many Quick Modes in progress on this ISAKMP SA (max_quick_modes_per_sa ${x.opt.maxQuickModesPerSa})`);
  if (p1.peerKey !== undefined && x.sas.childCountOfPeer(p1.peerKey) >= x.opt.maxIpsecSasPerIdentity) {
    throw new Refused('PEER_SA_LIMIT', `peer ${peerText(p1.peerId)} holds ${x.opt.maxIpsecSasPerIdentity} IPsec SAs (max_ipsec_sas_per_identity)`);
  }
  // a post-authentication step (XAUTH / Mode Config) must finish first
  if (p1.holds > 0) throw remote(0, 'Quick Mode before the ISAKMP SA finished its post-authentication steps');
  const { payloads, plain, nextIv } = decrypt(p1, phase2Iv(p1, h.messageId), bytes);
  const hash = payloads[0];
  if (hash?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'Quick Mode must start with HASH(1)');
  const expected = C.quickModeHash1({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: h.messageId, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, hash.data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(1) does not verify');
  // authentic, but a first message proves no freshness: answered where it came from, the SA
  // moves only when HASH(3) completes the exchange
  authenticated(x, p1, false);
  // authenticated from here on: errors are answered under the ISAKMP SA
  markSeen(p1, h.messageId);
  try {
    checkMessage(QM.qm1, payloads);
    answerQm1(x, now, p1, h, bytes, payloads, nextIv);
  } catch (e) {
    const { notify } = errorOf(e);
    if (isErrorNotify(notify)) sendInfo(x, p1, [errorNotify(p1, notify)]);
    throw e;
  }
}

/** An authenticated error notify under the ISAKMP SA. */
function errorNotify(p1: KeyedP1, notify: number): NotifyPayload {
  return { type: 'N', doi: p1.doi.id, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: cookiePair(p1), data: EMPTY };
}

/** Does a selector pair of `c` contain the proposed selectors (a side without selectors: its address)? */
function pairFits(c: Connection, p1: P1, peerTs: Selector, ourTs: Selector): boolean {
  for (const pair of pairsOf(c, p1)) if (selectorWithin(ourTs, pair.local) && selectorWithin(peerTs, pair.remote)) return true;
  return false;
}

/** The selector pairs `c` allows, in words (for the refusal). */
function pairsText(c: Connection, p1: P1): string {
  return pairsOf(c, p1).map((p) => `${selectorText(p.local)} === ${selectorText(p.remote)}`).join(', ');
}

/**
 * The connection a Quick Mode responder answers for: this ISAKMP SA's connection first, then the
 * other connections for the peer whose credentials and identities it proved in this ISAKMP SA
 * (issue 9.1) — the first with a selector pair that contains the offered IDs and proposals that fit.
 */
function chooseConnection(x: Engine, p1: KeyedP1, sa: Extract<Payload, { type: 'SA' }>, peerTs: Selector, ourTs: Selector): { conn: Connection; sel: IpsecSelection } {
  const current = x.conns.current(p1.conn);
  // (the others are listed only if the current one does not fit: it nearly always does)
  let candidates: Connection[] = [current];
  let err: unknown;
  let listed = false;
  for (let i = 0; ; i++) {
    if (i === candidates.length) {
      if (listed) break;
      listed = true;
      const addrs = { local: p1.local.address, remote: p1.remote.address };
      candidates = [current, ...x.conns.forAddress(p1.remote.address).filter((o) => o.name !== p1.conn.name && provedFor(p1.conn, p1.peerId, o, addrs))];
      if (i === candidates.length) break;
    }
    const c = candidates[i];
    if (!c) break;
    if (!pairFits(c, p1, peerTs, ourTs)) {
      err ??= refuse(NotifyType.INVALID_ID_INFORMATION, 'SELECTORS_REFUSED', `traffic selectors refused: peer proposed ${selectorText(peerTs)} === ${selectorText(ourTs)}, connection ${c.name} allows ${pairsText(c, p1)} (check local_ts / remote_ts on both sides)`);
      continue;
    }
    const ours = quickModeProposals(x, p1, c.ipsec);
    try {
      return { conn: c, sel: selectIpsec(sa, ours, c.allowWeakGroups ?? false, c.preferOwnOrder ?? false) };
    } catch (e) {
      const why = e instanceof IsakmpError && e.notify === NotifyType.NO_PROPOSAL_CHOSEN
        ? refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'NO_PROPOSAL_CHOSEN', `no Quick Mode proposal chosen for connection ${c.name}: ${ipsecRefusalText(sa, ours, c.allowWeakGroups ?? false)} (check esp/ah and pfs on both sides)`)
        : e;
      if (!err || (err instanceof IsakmpError && err.notify === NotifyType.INVALID_ID_INFORMATION)) err = why;
    }
  }
  throw err ?? remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IPsec proposal');
}

function answerQm1(x: Engine, now: number, p1: KeyedP1, h: Header, bytes: Uint8Array, payloads: readonly Payload[], iv: Uint8Array): void {
  const sa = one(payloads, 'SA');
  const ni = one(payloads, 'NONCE');
  const ke = find(payloads, 'KE');
  const ids = findAll(payloads, 'ID');
  checkNonce(ni.data);
  if (ids.length === 1) throw remote(NotifyType.PAYLOAD_MALFORMED, 'Quick Mode needs both IDci and IDcr or neither');
  let peerTs: Selector;
  let ourTs: Selector;
  const idci = ids[0];
  const idcr = ids[1];
  if (idci && idcr) {
    const ci = idToSelector(idci);
    const cr = idToSelector(idcr);
    if (!ci || !cr) throw remote(NotifyType.INVALID_ID_INFORMATION, 'Quick Mode IDs must be addresses, subnets or ranges');
    peerTs = ci;
    ourTs = cr;
  } else {
    peerTs = hostSelector(p1.remote.address);
    ourTs = hostSelector(p1.local.address);
  }
  checkPeerVirtualAddress(p1, peerTs);
  // a Unity client asking for everything: the SA carries the connection's own networks instead
  const unity = unityLocalSelectors(p1, ourTs, pairsOf(x.conns.current(p1.conn), p1).map((p) => p.local));
  const asked = ourTs;
  if (unity?.[0]) ourTs = unity[0];
  const { conn, sel } = chooseConnection(x, p1, sa, peerTs, ourTs);
  if (sel.group && !ke) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PFS proposal chosen but no KE payload');
  if (!sel.group && ke) throw remote(NotifyType.INVALID_KEY_INFORMATION, 'KE payload without a PFS group');
  const qm = newQm(p1, h.messageId, 'responder', conn, iv, 'sent-qm2', new Uint8Array(ni.data), ourTs, peerTs, (h.flags & HeaderFlag.COMMIT) !== 0);
  if (x.replyVia?.p1 === p1) qm.replyTo = x.replyVia;
  // (each within a selector pair of the connection that answers, which may be another one)
  if (unity !== undefined) {
    qm.localSelectors = unity.filter((l) => pairFits(conn, p1, peerTs, l));
    qm.wireLocalTs = asked;
  }
  // one draw of randomness: Nr | our SPIs
  const nl = x.opt.nonceLength;
  const r = x.random(nl + 4 * sel.entries.length);
  const nr = r.subarray(0, nl);
  qm.nr = nr;
  qm.selection = sel;
  const respSpis = sel.entries.map((_, j) => spiFrom(x, r, nl + 4 * j, p1.local.address));
  qm.respSpis = respSpis;
  const rest: Payload[] = [buildIpsecAnswer(sel, respSpis), { type: 'NONCE', data: nr }];
  if (sel.group) {
    const dh = keyPair(x, sel.group);
    qm.dh = dh;
    qm.gxy = dh.computeSharedSecret((ke ?? missing('KE')).data); // INVALID_KEY_INFORMATION on a bad value
    rest.push({ type: 'KE', data: dh.publicKey });
  }
  if (idci && idcr) rest.push(idci, idcr);
  // RFC 3947 §5.2: the initiator's address as we see it and ours, only for UDP-encapsulated transport
  const transport = sel.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT;
  qm.peerOa = natOaIn(x, payloads, false, transport);
  natOaOut(x, p1, false, transport, rest);
  const e0 = sel.entries[0];
  if (sel.shortened && e0) {
    rest.push({ type: 'N', doi: p1.doi.id, protocol: e0.protocol, notifyType: NotifyType.RESPONDER_LIFETIME, spi: e0.peerSpi, data: p1.doi.encodeLifetime(sel.lifetimeSeconds, sel.lifetimeKilobytes) });
  }
  const room = 4 + C.prfLength(p1.prf);
  const plain = encodePayloadsScratch(rest, room); // scratch view: hashed and encrypted at once
  const h2 = C.quickModeHash2({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: qm.msgId, nonceI: qm.ni, afterHash: plain.subarray(room) });
  const hash2: Payload = { type: 'HASH', data: h2 };
  const qm2 = [hash2, ...rest];
  checkOut(QM.qm2, qm2);
  if (x.observe) {
    traceMessage(x, 'in', QM.qm1.name, conn.name, p1.remote, payloads, `${selectionText(sel)}, ${selectorText(peerTs)} === ${selectorText(ourTs)}`);
    traceMessage(x, 'out', QM.qm2.name, conn.name, p1.remote, qm2);
  }
  putHashFirst(plain, h2, PayloadType.SA);
  const enc = encryptRaw(p1, TYPE, qm.msgId, HeaderFlag.ENCRYPTION, PayloadType.HASH, plain, qm.iv);
  qm.iv = enc.nextIv;
  qm.lastRecv = x.fp(bytes);
  qm.lastSent = enc.bytes;
  (p1.qms ??= new Map()).set(qm.msgId, qm);
  // the peer is authenticated: retransmitting HASH(2) until HASH(3) arrives amplifies nothing
  qm.rtx = { count: 0, timer: x.timers.add(now + x.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
  qm.tTimeout = x.timers.add(now + qmTimeout(x), qm, Tk.QmTimeout);
  x.send(p1.local, p1.remote, enc.bytes);
  x.emit({ type: 'started', kind: 'ipsec', connection: conn.name, peer: p1.remote, role: 'responder', rekey: false });
}

/** Responder: HDR*, HASH(3) --> ; [then <-- HDR*, HASH(4), N(CONNECTED) with the commit bit] ; SA installed. */
export function responderTakeQm3(x: Engine, now: number, qm: Qm, _h: Header, bytes: Uint8Array, script: MessageScript): void {
  const p1 = qm.p1;
  const { payloads, nextIv } = decrypt(p1, qm.iv, bytes);
  checkMessage(script, payloads);
  const nr = qm.nr ?? missing('Nr');
  const sel = qm.selection ?? missing('selection');
  const expected = C.quickModeHash3({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: qm.msgId, nonceI: qm.ni, nonceR: nr });
  if (!C.verifyHash(expected, one(payloads, 'HASH').data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(3) does not verify');
  authenticated(x, p1, true);
  traceMessage(x, 'in', QM.qm3.name, qm.conn.name, p1.remote, payloads);
  qm.iv = nextIv;
  qm.lastRecv = x.fp(bytes);
  qm.lastSent = undefined;
  if (qm.commit) {
    const n: NotifyPayload = { type: 'N', doi: p1.doi.id, protocol: sel.entries[0]?.protocol ?? missing('a protocol'), notifyType: NotifyType.CONNECTED, spi: qm.respSpis?.[0] ?? missing('our SPI'), data: EMPTY };
    const restBytes = encodePayloads([n]);
    const h4 = C.informationalHash({ prf: p1.prf, skeyidA: skeyidAOf(p1), messageId: qm.msgId, afterHash: restBytes });
    checkOut(QM.qm4, [{ type: 'HASH', data: h4 }, n]);
    traceMessage(x, 'out', QM.qm4.name, qm.conn.name, p1.remote, ['HASH', 'N(CONNECTED)']);
    const enc = encryptRaw(p1, TYPE, qm.msgId, HeaderFlag.ENCRYPTION | HeaderFlag.COMMIT, PayloadType.HASH, hashFirst(h4, PayloadType.N, restBytes), qm.iv);
    qm.iv = enc.nextIv;
    qm.lastSent = enc.bytes;
    x.send(p1.local, p1.remote, enc.bytes);
  }
  finishQm(x, now, qm, sel, nr);
}

// ---------------------------------------------------------------------------------------------
// the exchange's end, timers, the runner

/** The Quick Mode leaves the table (remembered briefly for repeats), and its IPsec SA is installed. */
function finishQm(x: Engine, now: number, qm: Qm, sel: IpsecSelection, nr: Uint8Array): void {
  const p1 = qm.p1;
  clearQmRetransmit(x, qm);
  x.timers.cancel(qm.tTimeout);
  p1.qms?.delete(qm.msgId);
  if (p1.qms?.size === 0) p1.qms = undefined;
  if (qm.role === 'responder') retireIfSpent(x, now, p1);
  // a repeat of its last request gets its last response again (only when there is one: a
  // responder without the commit bit has nothing to resend)
  if (qm.lastSent) rememberDone(p1, qm.msgId, qm.lastRecv, qm.lastSent);
  else if (qm.role === 'initiator') markSeen(p1, qm.msgId);
  // our inbound SPI: initiator offered it (proposal ours), responder chose it
  const inSpis = qm.role === 'initiator' ? qm.ourSpis?.[sel.ours] : qm.respSpis;
  installIpsecSa(x, now, qm, sel, nr, inSpis ?? missing('our SPIs'));
  if (qm.role === 'initiator') nextOrDeleteReplaced(x, now, p1);
}

/** Our Quick Mode under `p1` ended: the next one waiting starts, or (none left) the Delete of the SAs our rekeys replaced goes. */
function nextOrDeleteReplaced(x: Engine, now: number, p1: KeyedP1): void {
  if (p1.pending.length > 0) startWaiting(x, now, p1);
  else deleteReplaced(x, p1);
}

/** What a Quick Mode chose, as `status` names it: `esp aes128-sha256-modp2048`. */
function selectionText(sel: IpsecSelection): string {
  return sel.entries.map((e) => ipsecTransformName({ protocol: e.protocol, transformId: e.parsed.transformId, authAlgorithm: e.parsed.authAlgorithm, ...(e.parsed.keyLength !== undefined ? { keyLength: e.parsed.keyLength } : {}) }, sel.group)).join(' + ');
}

/** A Quick Mode lives at least as long as its retransmission schedule. */
function qmTimeout(x: Engine): number {
  const schedule = x.opt.retransmitBaseMs * (2 ** (x.opt.retransmitLimit + 1) - 1);
  return Math.max(x.opt.quickModeTimeoutMs, schedule + x.opt.retransmitBaseMs);
}

/** A Quick Mode is abandoned: `failed`, and an IPsec SA it was to replace stays installed. */
export function failQm(x: Engine, qm: Qm, notify: number, reason: string, cause?: FailureCause): void {
  const p1 = qm.p1;
  clearQmRetransmit(x, qm);
  x.timers.cancel(qm.tTimeout);
  p1.qms?.delete(qm.msgId);
  if (p1.qms?.size === 0) p1.qms = undefined;
  qm.dh?.wipe();
  if (qm.rekeyOf && qm.rekeyOf.state === 'rekeying') qm.rekeyOf.state = 'installed';
  x.emit(failedEvent('ipsec', qm.conn.name, p1.remote, notify, reason, cause));
  if (qm.role === 'initiator') nextOrDeleteReplaced(x, x.lastNow, p1);
}

export function clearQmRetransmit(x: Engine, qm: Qm): void {
  x.timers.cancel(qm.rtx?.timer);
  qm.rtx = undefined;
}

/**
 * Our Quick Mode, unanswered from its first message on while nothing else from the peer verified
 * under its ISAKMP SA either (a peer that sends us DPD, Informational or Transaction messages
 * under it holds the SA: it only ignores the Quick Mode), is asked for again under a new phase 1
 * (lifecycle.ts, retryUnderNewPhase1) once, on connections we can initiate a phase 1 on by
 * ourselves: not to '%any', and not a remote-access connection, whose new phase 1 runs XAUTH and
 * Mode Config again (a client may get another address than its Quick Mode names).
 */
function mayRetryUnderNewPhase1(qm: Qm): boolean {
  const c = qm.conn;
  return qm.role === 'initiator' && qm.state === 'sent-qm1' && !qm.secondTry && qm.p1.heard === qm.heardAtStart && c.remote.address !== '%any' && c.xauth === undefined && c.modeConfig === undefined;
}

/** The Quick Mode timers: retransmission of our last message (both roles), and the exchange's timeout. */
export function quickModeTimer(x: Engine, now: number, e: TimerOfKind<typeof Tk.QmRetransmit> | TimerOfKind<typeof Tk.QmTimeout>): void {
  const qm = e.target;
  if (qm.p1.qms?.get(qm.msgId) !== qm) return;
  if (e.kind === Tk.QmTimeout) {
    if (qm.tTimeout === e) failQm(x, qm, 0, 'Quick Mode not completed in time', 'NO_ANSWER');
    return;
  }
  const rtx = qm.rtx;
  if (!rtx || rtx.timer !== e) return;
  if (rtx.count >= x.opt.retransmitLimit) {
    // not one answer to our first message: the ISAKMP SA is probably gone on the peer's side
    if (mayRetryUnderNewPhase1(qm)) retryUnderNewPhase1(x, now, qm);
    else failQm(x, qm, 0, 'retransmit limit reached, peer does not answer', 'NO_ANSWER');
    return;
  }
  rtx.count++;
  if (qm.lastSent) {
    x.send(qm.replyTo?.local ?? qm.p1.local, qm.replyTo?.remote ?? qm.p1.remote, qm.lastSent);
    traceRetransmit(x, qm.state.slice(5).toUpperCase(), qm.conn.name, qm.p1.remote, rtx.count);
  }
  rtx.timer = x.timers.add(now + x.opt.retransmitBaseMs * 2 ** rtx.count, qm, Tk.QmRetransmit);
}

type QmStep = (x: Engine, now: number, qm: Qm, h: Header, bytes: Uint8Array, script: MessageScript) => void;

/** The script rows by the state that expects them. */
const STEPS: { readonly [S in QuickModeState]: { readonly receives: MessageScript; readonly step: QmStep } } = {
  'sent-qm1': { receives: QM.qm2, step: initiatorTakeQm2SendQm3 },
  'sent-qm2': { receives: QM.qm3, step: responderTakeQm3 },
  'sent-qm3': { receives: QM.qm4, step: initiatorTakeQm4 },
};

export const quickModeDriver: ExchangeDriver = {
  name: 'Quick Mode',
  doi: IPSEC_DOI.id,
  exchangeType: TYPE,
  receive(x, m) {
    const h = m.header;
    const p1 = requireEstablished(x, m.p1, h, m.remote, 'Quick Mode');
    expectAuthentication(x, m.local, m.remote);
    phase1Confirmed(p1);
    const qm = p1.qms?.get(h.messageId);
    if (qm) {
      // a byte-identical repeat of the last request: the last answer again (responder), nothing
      // else; with nothing to answer (initiator), a harmless drop
      if (qm.lastRecv !== undefined && qm.lastRecv === x.fp(m.bytes)) {
        if (!(qm.lastSent && qm.role === 'responder')) throw new Refused('REPEATED_MESSAGE', 'byte-identical repeat of the peer\'s last Quick Mode message (already taken; nothing to answer)');
        x.send(qm.replyTo?.local ?? p1.local, qm.replyTo?.remote ?? p1.remote, qm.lastSent);
        return;
      }
      const row = STEPS[qm.state];
      if (row.receives.from === (qm.role === 'initiator' ? 'I' : 'R')) throw remote(NotifyType.INVALID_MESSAGE_ID, 'unexpected Quick Mode message');
      row.step(x, m.now, qm, h, m.bytes, row.receives);
      return;
    }
    const done = doneFor(p1, h.messageId);
    if (done) {
      if (!done.sent || done.recv !== x.fp(m.bytes)) throw new Refused('REPEATED_MESSAGE', 'message under the ID of a finished Quick Mode that is not a repeat of its last request: nothing to answer');
      x.send(p1.local, p1.remote, done.sent);
      return;
    }
    checkFreshMsgId(x, p1, h.messageId);
    responderTakeQm1SendQm2(x, m.now, p1, h, m.bytes);
  },
};
