/** (split from endpoint.ts) */
import * as C from '../crypto.js';
import { encodePayloads } from '../../codec/index.js';
import { encodePayloadsScratch } from '../../codec/message.js';
import { type Header, type NotifyPayload, type Payload } from '../../codec/types.js';
import { EncapsulationMode, ExchangeType, HeaderFlag, NotifyType, PayloadType, ProtocolId, isErrorNotify } from '../../constants/index.js';
import { IsakmpError } from '../../errors.js';
import { checkNonce } from '../auth.js';
import { provedFor } from '../authorization.js';
import { encodeAttrs, parseLifetimeData } from '../doi.js';
import { Engine } from '../engine.js';
import { authedFrom, ipsecOf } from '../extensions/nat-t.js';
import { hostSelector, idToSelector, selectorEquals, selectorToId, selectorWithin } from '../ids.js';
import { qmDone } from '../ipsec-sa.js';
import { keyPair } from '../key-schedule.js';
import { readU32 } from '../keys.js';
import { natOaPayloads, readNatOa } from '../natt.js';
import { checkFreshMsgId, doneFor, freshMsgId, msgIdFree, phase1Confirmed } from '../phase2.js';
import { type IpsecSelection, buildIpsecAnswer, buildIpsecSa, checkIpsecAnswer, durationAttr, selectIpsec, tvAttr } from '../proposals.js';
import { P1, PendingQm, Qm, Tk, newQm } from '../records.js';
import { Refused, errorOf, remote } from '../refusal.js';
import { markSeen } from '../replay.js';
import { QUICK_MODE, checkMessage, find, findAll } from '../scripts.js';
import { connsFor, peerText, spiFrom } from '../tables.js';
import { type Connection, type Selector } from '../types.js';
import { afterFirstPayload, checkOut, cookiePair, decrypt, encryptRaw, hashFirst, putHashFirst } from '../wire.js';
import { sendInfo } from './informational.js';

export function defaultTs(eng: Engine, conn: Connection, p1: P1): { local: Selector; remote: Selector } {
  return {
    local: conn.localTs ?? hostSelector(p1.local.address),
    remote: conn.remoteTs ?? hostSelector(p1.remote.address),
  };
}

/** Initiator: HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] --> */
export function startQuick(eng: Engine, now: number, p1: P1, pending: PendingQm): void {
  const conn = eng.conns.get(pending.conn.name) ?? pending.conn;
  // one draw of randomness: message ID | Ni | our SPIs
  let nSpis = 0;
  for (const p of conn.ipsec) nSpis += p.protocols.length;
  const nl = eng.opt.nonceLength;
  const r = eng.random(4 + nl + 4 * nSpis);
  let msgId = readU32(r);
  if (!msgIdFree(eng, p1, msgId)) msgId = freshMsgId(eng, p1);
  const ts = pending.rekeyOf ? { local: pending.rekeyOf.info.localTs, remote: pending.rekeyOf.info.remoteTs } : defaultTs(eng, conn, p1);
  const qm = newQm(p1, msgId, 'initiator', conn, C.phase2Iv(p1.prf!, p1.iv!, msgId, p1.cipher!.blockSize), 1, r.subarray(4, 4 + nl), ts.local, ts.remote, conn.commit === true);
  qm.rekeyOf = pending.rekeyOf;
  let off = 4 + nl;
  qm.ourSpis = conn.ipsec.map((p) => p.protocols.map(() => spiFrom(eng, r, (off += 4) - 4)));
  // reserve our SPIs until the SA exists or the exchange fails
  qm.offer = buildIpsecSa(ipsecOf(eng, p1, conn), qm.ourSpis);
  const group = conn.ipsec[0]!.group ?? 0;
  const rest: Payload[] = [qm.offer, { type: 'NONCE', data: qm.ni }];
  if (group) {
    qm.dh = keyPair(eng, group);
    rest.push({ type: 'KE', data: qm.dh.publicKey });
  }
  const idci = selectorToId(qm.localTs);
  const idcr = selectorToId(qm.remoteTs);
  rest.push(
    { type: 'ID', idType: idci.idType, protocol: idci.protocol, port: idci.port, data: idci.data },
    { type: 'ID', idType: idcr.idType, protocol: idcr.protocol, port: idcr.port, data: idcr.data },
  );
  // RFC 3947 §5.2: the original addresses when UDP-encapsulated transport mode is offered
  if (p1.natt && ipsecOf(eng, p1, conn).some((p) => p.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT)) {
    rest.push(...natOaPayloads(p1.local.address, p1.remote.address));
  }
  // HASH(1) | SA ... encoded once, the hash filled in afterwards (a scratch view: used at once)
  const room = 4 + C.prfLength(p1.prf!);
  const plain = encodePayloadsScratch(rest, room);
  const h1 = C.quickModeHash1({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: msgId, afterHash: plain.subarray(room) });
  checkOut(eng, QUICK_MODE[0]!, [{ type: 'HASH', data: h1 }, ...rest]);
  putHashFirst(plain, h1, PayloadType.SA);
  const flags = HeaderFlag.ENCRYPTION | (qm.commit ? HeaderFlag.COMMIT : 0);
  const enc = encryptRaw(eng, p1, ExchangeType.QUICK_MODE, msgId, flags, PayloadType.HASH, plain, qm.iv);
  qm.iv = enc.nextIv;
  (p1.qms ??= new Map()).set(msgId, qm);
  qm.lastSent = enc.bytes;
  qm.rtx = { count: 0, timer: eng.timers.add(now + eng.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
  qm.tTimeout = eng.timers.add(now + qmTimeout(eng), qm, Tk.QmTimeout);
  eng.send(p1.local, p1.remote, enc.bytes);
}

export function onQuick(eng: Engine, now: number, p1: P1, h: Header, bytes: Uint8Array): void {
  if (!(h.flags & HeaderFlag.ENCRYPTION)) throw remote(NotifyType.INVALID_FLAGS, 'Quick Mode must be encrypted');
  if (h.messageId === 0) throw remote(NotifyType.INVALID_MESSAGE_ID, 'Quick Mode with message ID 0');
  phase1Confirmed(eng, p1);
  const qm = p1.qms?.get(h.messageId);
  if (qm) {
    if (qm.lastRecv !== undefined && qm.lastRecv === eng.fp(bytes)) {
      if (qm.lastSent && qm.role === 'responder') eng.send(qm.replyTo?.local ?? p1.local, qm.replyTo?.remote ?? p1.remote, qm.lastSent);
      return;
    }
    if (qm.role === 'initiator') {
      if (qm.step === 1) qmI2(eng, now, qm, h, bytes);
      else if (qm.step === 3) qmI4(eng, now, qm, bytes);
      else throw remote(NotifyType.INVALID_MESSAGE_ID, 'unexpected Quick Mode message');
    } else {
      if (qm.step === 2) qmR3(eng, now, qm, bytes);
      else throw remote(NotifyType.INVALID_MESSAGE_ID, 'unexpected Quick Mode message');
    }
    return;
  }
  const done = doneFor(eng, p1, h.messageId);
  if (done) {
    if (done.sent && done.recv === eng.fp(bytes)) eng.send(p1.local, p1.remote, done.sent);
    return;
  }
  checkFreshMsgId(eng, p1, h.messageId);
  qmR1(eng, now, p1, h, bytes);
}

/** Responder: HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] --> ; then <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] */
export function qmR1(eng: Engine, now: number, p1: P1, h: Header, bytes: Uint8Array): void {
  if ((p1.qms?.size ?? 0) >= eng.opt.maxQuickModesPerSa) throw new Refused('QUICK_MODE_LIMIT', `too many Quick Modes in progress on this ISAKMP SA (max_quick_modes_per_sa ${eng.opt.maxQuickModesPerSa})`);
  if (p1.peerKey !== undefined && (eng.childrenOfPeer.get(p1.peerKey) ?? 0) >= eng.opt.maxIpsecSasPerIdentity) {
    throw new Refused('PEER_SA_LIMIT', `peer ${peerText(p1.peerId)} holds ${eng.opt.maxIpsecSasPerIdentity} IPsec SAs (max_ipsec_sas_per_identity)`);
  }
  const iv = C.phase2Iv(p1.prf!, p1.iv!, h.messageId, p1.cipher!.blockSize);
  const { payloads, plain, nextIv } = decrypt(eng, p1, iv, bytes);
  if (payloads[0]?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'Quick Mode must start with HASH(1)');
  const expected = C.quickModeHash1({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: h.messageId, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, payloads[0].data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(1) does not verify');
  // authentic, but a first message proves no freshness: answered where it came from, the SA
  // moves only when HASH(3) completes the exchange (qmR3)
  authedFrom(eng, p1, false);
  // authenticated from here on: errors are answered under the ISAKMP SA
  markSeen(p1, h.messageId);
  try {
    checkMessage(QUICK_MODE[0]!, payloads);
    qmRespond(eng, now, p1, h, bytes, payloads, nextIv);
  } catch (e) {
    const { notify } = errorOf(e);
    if (isErrorNotify(notify)) sendInfo(eng, now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: cookiePair(p1), data: new Uint8Array(0) }]);
    throw e;
  }
}

export function qmRespond(eng: Engine, now: number, p1: P1, h: Header, bytes: Uint8Array, payloads: readonly Payload[], iv: Uint8Array): void {
  const sa = find(payloads, 'SA')!;
  const ni = find(payloads, 'NONCE')!;
  const ke = find(payloads, 'KE');
  const ids = findAll(payloads, 'ID');
  checkNonce(eng, ni.data);
  if (ids.length === 1) throw remote(NotifyType.PAYLOAD_MALFORMED, 'Quick Mode needs both IDci and IDcr or neither');
  // candidate connections: this ISAKMP SA's connection first, then others for the same peer
  const current = eng.conns.get(p1.conn.name) ?? p1.conn;
  // (the others are listed only if the current one does not fit: it nearly always does)
  let candidates = [current];
  let peerTs: Selector;
  let ourTs: Selector;
  if (ids.length === 2) {
    const ci = idToSelector(ids[0]!);
    const cr = idToSelector(ids[1]!);
    if (!ci || !cr) throw remote(NotifyType.INVALID_ID_INFORMATION, 'Quick Mode IDs must be addresses, subnets or ranges');
    peerTs = ci;
    ourTs = cr;
  } else {
    peerTs = hostSelector(p1.remote.address);
    ourTs = hostSelector(p1.local.address);
  }
  let conn: Connection | undefined;
  let sel: IpsecSelection | undefined;
  let err: unknown;
  let listed = false;
  for (let i = 0; ; i++) {
    if (i === candidates.length) {
      if (listed) break;
      listed = true;
      // only connections whose credentials and identities the peer proved in this ISAKMP SA (issue 9.1)
      const addrs = { local: p1.local.address, remote: p1.remote.address };
      candidates = [current, ...connsFor(eng, p1.remote.address).filter((o) => o.name !== p1.conn.name && provedFor(p1.conn, p1.peerId, o, addrs))];
      if (i === candidates.length) break;
    }
    const c = candidates[i]!;
    const ts = defaultTs(eng, c, p1);
    if (!selectorWithin(peerTs, ts.remote) || !selectorWithin(ourTs, ts.local)) {
      err ??= remote(NotifyType.INVALID_ID_INFORMATION, 'traffic selectors outside the connection');
      continue;
    }
    try {
      sel = selectIpsec(sa, ipsecOf(eng, p1, c), c.allowWeakGroups ?? false, c.preferOwnOrder ?? false);
      conn = c;
      break;
    } catch (e) {
      if (!err || (err instanceof IsakmpError && err.notify === NotifyType.INVALID_ID_INFORMATION)) err = e;
    }
  }
  if (!conn || !sel) throw err ?? remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IPsec proposal');
  if (sel.group && !ke) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PFS proposal chosen but no KE payload');
  if (!sel.group && ke) throw remote(NotifyType.INVALID_KEY_INFORMATION, 'KE payload without a PFS group');
  const qm = newQm(p1, h.messageId, 'responder', conn, iv, 2, new Uint8Array(ni.data), ourTs, peerTs, (h.flags & HeaderFlag.COMMIT) !== 0);
  if (eng.replyVia?.p1 === p1) qm.replyTo = eng.replyVia;
  // one draw of randomness: Nr | our SPIs
  const nl = eng.opt.nonceLength;
  const r = eng.random(nl + 4 * sel.entries.length);
  qm.nr = r.subarray(0, nl);
  qm.selection = sel;
  const rest: Payload[] = [];
  qm.respSpis = sel.entries.map((_, j) => spiFrom(eng, r, nl + 4 * j));
  rest.push(buildIpsecAnswer(sel, qm.respSpis), { type: 'NONCE', data: qm.nr! });
  if (sel.group) {
    qm.dh = keyPair(eng, sel.group);
    qm.gxy = qm.dh.computeSharedSecret(ke!.data); // INVALID_KEY_INFORMATION on a bad value
    rest.push({ type: 'KE', data: qm.dh.publicKey });
  }
  if (ids.length === 2) rest.push(ids[0]!, ids[1]!);
  // RFC 3947 §5.2: the initiator's address as we see it and ours, only for UDP-encapsulated transport
  const oa = readNatOa(findAll(payloads, 'NAT-OA'));
  if (sel.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT) {
    qm.peerOa = oa?.initiator;
    rest.push(...natOaPayloads(p1.remote.address, p1.local.address));
  }
  if (sel.shortened) {
    const attrs = [tvAttr(1, 1), durationAttr(2, sel.lifetimeSeconds)];
    if (sel.lifetimeKilobytes) attrs.push(tvAttr(1, 2), durationAttr(2, sel.lifetimeKilobytes));
    const data = encodeAttrs(attrs);
    const e0 = sel.entries[0]!;
    rest.push({ type: 'N', doi: 1, protocol: e0.protocol, notifyType: NotifyType.RESPONDER_LIFETIME, spi: e0.peerSpi, data });
  }
  const room = 4 + C.prfLength(p1.prf!);
  const plain = encodePayloadsScratch(rest, room); // scratch view: hashed and encrypted at once
  const h2 = C.quickModeHash2({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, afterHash: plain.subarray(room) });
  checkOut(eng, QUICK_MODE[1]!, [{ type: 'HASH', data: h2 }, ...rest]);
  putHashFirst(plain, h2, PayloadType.SA);
  const enc = encryptRaw(eng, p1, ExchangeType.QUICK_MODE, qm.msgId, HeaderFlag.ENCRYPTION, PayloadType.HASH, plain, qm.iv);
  qm.iv = enc.nextIv;
  qm.lastRecv = eng.fp(bytes);
  qm.lastSent = enc.bytes;
  (p1.qms ??= new Map()).set(qm.msgId, qm);
  // the peer is authenticated: retransmitting HASH(2) until HASH(3) arrives amplifies nothing
  qm.rtx = { count: 0, timer: eng.timers.add(now + eng.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
  qm.tTimeout = eng.timers.add(now + qmTimeout(eng), qm, Tk.QmTimeout);
  eng.send(p1.local, p1.remote, enc.bytes);
}

/** Initiator: <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] ; then HDR*, HASH(3) --> */
export function qmI2(eng: Engine, now: number, qm: Qm, h: Header, bytes: Uint8Array): void {
  const p1 = qm.p1;
  const { payloads, plain, nextIv } = decrypt(eng, p1, qm.iv, bytes);
  if (payloads[0]?.type !== 'HASH') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'Quick Mode must start with HASH(2)');
  const expected = C.quickModeHash2({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, payloads[0].data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(2) does not verify');
  authedFrom(eng, qm.p1, true);
  try {
    checkMessage(QUICK_MODE[1]!, payloads);
    const sa = find(payloads, 'SA')!;
    const nr = find(payloads, 'NONCE')!;
    checkNonce(eng, nr.data);
    const sel = checkIpsecAnswer(sa, qm.offer!, ipsecOf(eng, qm.p1, qm.conn), qm.conn.allowWeakGroups ?? false);
    const ke = find(payloads, 'KE');
    if (qm.dh) {
      if (!ke) throw remote(NotifyType.PAYLOAD_MALFORMED, 'PFS answer without KE');
      qm.gxy = qm.dh.computeSharedSecret(ke.data);
    } else if (ke) throw remote(NotifyType.INVALID_KEY_INFORMATION, 'KE without PFS');
    const ids = findAll(payloads, 'ID');
    if (ids.length === 2) {
      const ci = idToSelector(ids[0]!);
      const cr = idToSelector(ids[1]!);
      if (!ci || !cr || !selectorEquals(ci, qm.localTs) || !selectorEquals(cr, qm.remoteTs)) {
        throw remote(NotifyType.INVALID_ID_INFORMATION, 'answer changes the traffic selectors');
      }
    } else if (ids.length !== 0) throw remote(NotifyType.PAYLOAD_MALFORMED, 'one ID payload in the answer');
    let life = sel.lifetimeSeconds;
    let kb = sel.lifetimeKilobytes;
    for (const n of findAll(payloads, 'N')) {
      if (n.notifyType === NotifyType.RESPONDER_LIFETIME) {
        const l = parseLifetimeData(n.data);
        if (l.seconds) life = Math.min(life, l.seconds);
        if (l.kilobytes) kb = kb ? Math.min(kb, l.kilobytes) : l.kilobytes;
      }
    }
    const oa = readNatOa(findAll(payloads, 'NAT-OA'));
    if (sel.mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT) qm.peerOa = oa?.responder;
    qm.selection = sel;
    qm.nr = new Uint8Array(nr.data);
    qm.lifeSeconds = life;
    qm.lifeKilobytes = kb;
  } catch (e) {
    const { notify, reason } = errorOf(e);
    if (isErrorNotify(notify)) sendInfo(eng, now, p1, [{ type: 'N', doi: 1, protocol: ProtocolId.PROTO_ISAKMP, notifyType: notify, spi: cookiePair(p1), data: new Uint8Array(0) }]);
    failQm(eng, qm, notify, reason);
    throw e;
  }
  const h3 = C.quickModeHash3({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, nonceR: qm.nr });
  checkOut(eng, QUICK_MODE[2]!, [{ type: 'HASH', data: h3 }]);
  const enc = encryptRaw(eng, p1, ExchangeType.QUICK_MODE, qm.msgId, HeaderFlag.ENCRYPTION | (qm.commit ? HeaderFlag.COMMIT : 0), PayloadType.HASH, hashFirst(h3, 0, new Uint8Array(0)), nextIv);
  qm.iv = enc.nextIv;
  qm.lastRecv = eng.fp(bytes);
  qm.lastSent = enc.bytes;
  eng.send(p1.local, p1.remote, enc.bytes);
  // the commit bit from either side: the SA is used only after CONNECTED (RFC 2408 §3.1)
  if ((h.flags & HeaderFlag.COMMIT) !== 0) qm.commit = true;
  if (qm.commit) {
    // wait for CONNECTED; HASH(3) is resent when HASH(2) is repeated
    qm.step = 3;
    clearQmRetransmit(eng, qm);
    qm.rtx = { count: 0, timer: eng.timers.add(now + eng.opt.retransmitBaseMs, qm, Tk.QmRetransmit) };
    return;
  }
  qmDone(eng, now, qm);
}

/** Responder: HDR*, HASH(3) --> ; [then <-- HDR*, HASH(4), N(CONNECTED)] ; SA installed. */
export function qmR3(eng: Engine, now: number, qm: Qm, bytes: Uint8Array): void {
  const p1 = qm.p1;
  const { payloads, nextIv } = decrypt(eng, p1, qm.iv, bytes);
  checkMessage(QUICK_MODE[2]!, payloads);
  const expected = C.quickModeHash3({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, nonceI: qm.ni, nonceR: qm.nr! });
  if (!C.verifyHash(expected, (payloads[0] as { data: Uint8Array }).data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(3) does not verify');
  authedFrom(eng, qm.p1, true);
  qm.iv = nextIv;
  qm.lastRecv = eng.fp(bytes);
  qm.lastSent = undefined;
  if (qm.commit) {
    const n: NotifyPayload = { type: 'N', doi: 1, protocol: qm.selection!.entries[0]!.protocol, notifyType: NotifyType.CONNECTED, spi: qm.respSpis![0]!, data: new Uint8Array(0) };
    const restBytes = encodePayloads([n]);
    const h4 = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, afterHash: restBytes });
    checkOut(eng, QUICK_MODE[3]!, [{ type: 'HASH', data: h4 }, n]);
    const enc = encryptRaw(eng, p1, ExchangeType.QUICK_MODE, qm.msgId, HeaderFlag.ENCRYPTION | HeaderFlag.COMMIT, PayloadType.HASH, hashFirst(h4, PayloadType.N, restBytes), qm.iv);
    qm.iv = enc.nextIv;
    qm.lastSent = enc.bytes;
    eng.send(p1.local, p1.remote, enc.bytes);
  }
  qmDone(eng, now, qm);
}

/** Initiator with the commit bit: <-- HDR*, HASH(4), N(CONNECTED) */
export function qmI4(eng: Engine, now: number, qm: Qm, bytes: Uint8Array): void {
  const p1 = qm.p1;
  const { payloads, plain } = decrypt(eng, p1, qm.iv, bytes);
  checkMessage(QUICK_MODE[3]!, payloads);
  const expected = C.informationalHash({ prf: p1.prf!, skeyidA: p1.skeyidA!, messageId: qm.msgId, afterHash: afterFirstPayload(plain) });
  if (!C.verifyHash(expected, (payloads[0] as { data: Uint8Array }).data)) throw remote(NotifyType.INVALID_HASH_INFORMATION, 'HASH(4) does not verify');
  authedFrom(eng, qm.p1, true);
  const n = find(payloads, 'N')!;
  if (n.notifyType !== NotifyType.CONNECTED) throw remote(NotifyType.PAYLOAD_MALFORMED, 'expected CONNECTED');
  qm.lastRecv = eng.fp(bytes);
  qm.lastSent = undefined;
  qmDone(eng, now, qm);
}

/** A Quick Mode lives at least as long as its retransmission schedule. */
export function qmTimeout(eng: Engine): number {
  const schedule = eng.opt.retransmitBaseMs * (2 ** (eng.opt.retransmitLimit + 1) - 1);
  return Math.max(eng.opt.quickModeTimeoutMs, schedule + eng.opt.retransmitBaseMs);
}

export function failQm(eng: Engine, qm: Qm, notify: number, reason: string): void {
  const p1 = qm.p1;
  clearQmRetransmit(eng, qm);
  eng.timers.cancel(qm.tTimeout);
  p1.qms?.delete(qm.msgId);
  if (p1.qms && p1.qms.size === 0) p1.qms = undefined;
  qm.dh?.wipe();
  if (qm.rekeyOf && qm.rekeyOf.state === 'rekeying') qm.rekeyOf.state = 'installed';
  eng.emit({ type: 'failed', kind: 'ipsec', connection: qm.conn.name, peer: p1.remote, notify, reason });
}

export function clearQmRetransmit(eng: Engine, qm: Qm): void {
  eng.timers.cancel(qm.rtx?.timer);
  qm.rtx = undefined;
}
