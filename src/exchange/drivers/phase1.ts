/** (split from endpoint.ts) */
import { decodePayloads, encodeMessage, encodePayloadBody } from '../../codec/index.js';
import { decodePayloadsInPlace } from '../../codec/message.js';
import { type Header, type IdPayload, type Payload } from '../../codec/types.js';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType, isErrorNotify } from '../../constants/index.js';
import { LocalProtocolError } from '../../errors.js';
import { checkPhase1IdPayload } from '../auth.js';
import { expectedPeerId } from '../authorization.js';
import { bucketView } from '../bucket.js';
import { Engine } from '../engine.js';
import { DPD_VID } from '../extensions/dpd.js';
import { nattEnabled } from '../extensions/nat-t.js';
import { peerVendorIds } from '../extensions/vendor-ids.js';
import { addHalfOpen, makeHalfOpenRoom } from '../half-open.js';
import { addressIdentity, identityMatches, identityToId } from '../ids.js';
import { keAndNonce, setChosen } from '../key-schedule.js';
import { bytesEqual, pairKeyFlat, sameAddress } from '../keys.js';
import { destroyP1, sendP1 } from '../lifecycle.js';
import { NATT_RFC3947_VID } from '../natt.js';
import { authMethodOf, buildIkeSa, selectIke } from '../proposals.js';
import { NO_PENDING, P1, PendingQm, Tk } from '../records.js';
import { Refused, errorOf, remote } from '../refusal.js';
import { AGGRESSIVE_MODE, MAIN_MODE, checkMessage, find } from '../scripts.js';
import { freshCookie, freshCookieKeyed, newP1, sharesIsakmpSa } from '../tables.js';
import { type Address, type Connection, type Identity } from '../types.js';
import { ZERO8, checkOut, decrypt, encodePlain, firstPayloadBody, header, sendUnprotectedNotify } from '../wire.js';
import { aggressiveRespond, amI2, amR3 } from './aggressive-mode.js';
import { mmI2, mmI4, mmI6, mmR3, mmR5 } from './main-mode.js';
import { startQuick } from './quick-mode.js';

export function requestQm(eng: Engine, now: number, pending: PendingQm): void {
  const conn = pending.conn;
  // an established ISAKMP SA for this connection with this peer?
  let negotiating: P1 | undefined;
  let best: P1 | undefined;
  const pairKey = pairKeyFlat(conn.local, conn.remote); // kept by a new phase 1 (see newP1)
  for (const p1 of bucketView(eng.p1ByPair, pairKey)) {
    if ((p1.state !== 'established' && (p1.state !== 'negotiating' || p1.role !== 'initiator')) || !sharesIsakmpSa(p1.conn, conn)) continue;
    if (p1.state === 'established' && (!best || (p1.establishedAt ?? 0) > (best.establishedAt ?? 0))) best = p1;
    if (p1.state === 'negotiating' && p1.role === 'initiator') negotiating = p1;
  }
  if (best) {
    startQuick(eng, now, best, pending);
    return;
  }
  if (negotiating) {
    if (negotiating.pending === NO_PENDING) negotiating.pending = [pending];
    else negotiating.pending.push(pending);
    return;
  }
  startPhase1(eng, now, conn, [pending], undefined, pairKey);
}

/** `pairKey`: pairKeyFlat(conn.local, conn.remote) when the caller has it already. */
export function startPhase1(eng: Engine, now: number, conn: Connection, pending: PendingQm[], rekeyOf?: P1, pairKey?: string): P1 {
  const mode = conn.exchange ?? 'main';
  const local = conn.local;
  const remoteAddr = conn.remote;
  if (remoteAddr.address === '%any') throw new LocalProtocolError(0, `connection ${conn.name}: cannot initiate to %any`);
  const ic = freshCookieKeyed(eng);
  const p1 = newP1(eng, 'initiator', mode, conn, local, remoteAddr, ic.cookie, new Uint8Array(8), ic.key, pairKey);
  p1.pending = pending;
  if (rekeyOf) p1.rekeyOf = rekeyOf;
  const hs = p1.hs!;
  if (mode === 'main') {
    // MM1 is the same for every exchange of a connection but for the initiator cookie
    const t = mm1Template(eng, conn);
    const bytes = t.message.slice();
    bytes.set(p1.ic, 0);
    hs.saiB = t.saiB; // shared, read-only (hashed, never wiped: it is no secret)
    p1.step = 1;
    sendP1(eng, now, p1, bytes, true);
    return p1;
  }
  const sa = buildIkeSa(conn.ike, authMethodOf(conn.auth));
  // Aggressive Mode: the group is fixed by the first proposal (one KE only).
  const group = conn.ike[0]!.group;
  if (conn.ike.some((p) => p.group !== group)) throw new LocalProtocolError(0, 'aggressive mode: all proposals must use one group');
  const kn = keAndNonce(eng, group);
  hs.dh = kn.dh;
  hs.gxi = hs.dh.publicKey;
  hs.ni = kn.nonce;
  const id = ourIdentity(eng, p1);
  hs.ourId = identityToId(id);
  const idp: IdPayload = { type: 'ID', idType: hs.ourId.idType, protocol: 0, port: 0, data: hs.ourId.data };
  hs.ourIdB = encodePayloadBody(idp);
  const payloads: Payload[] = [sa, { type: 'KE', data: hs.gxi }, { type: 'NONCE', data: hs.ni }, idp, { type: 'VID', data: DPD_VID }];
  if (nattEnabled(eng, conn)) payloads.push({ type: 'VID', data: NATT_RFC3947_VID });
  checkOut(eng, AGGRESSIVE_MODE[0]!, payloads);
  const bytes = encodePlain(eng, p1, ExchangeType.AGGRESSIVE, 0, payloads);
  // SAi_b: the SA payload body exactly as sent (the first payload; no second encoding)
  hs.saiB = firstPayloadBody(bytes);
  p1.step = 1;
  sendP1(eng, now, p1, bytes, true);
  return p1;
}

/**
 * MM1 with zero cookies, and its SA payload body (SAi_b): they depend only on the offered
 * transforms, the authentication method and NAT-T, so they are encoded once per distinct offer
 * (many connections share one) and kept in a small bounded table.
 */
export function mm1Template(eng: Engine, conn: Connection): { message: Uint8Array; saiB: Uint8Array } {
  const natt = nattEnabled(eng, conn);
  const auth = authMethodOf(conn.auth);
  let key = natt ? `${auth}n` : `${auth}`;
  for (const p of conn.ike) key += `|${p.encryption},${p.keyLength ?? ''},${p.hash},${p.group},${p.lifetimeSeconds ?? ''}`;
  const cached = eng.mm1Cache.get(key);
  if (cached) return cached;
  const payloads: Payload[] = [buildIkeSa(conn.ike, auth), { type: 'VID', data: DPD_VID }];
  if (natt) payloads.push({ type: 'VID', data: NATT_RFC3947_VID });
  checkOut(eng, MAIN_MODE[0]!, payloads);
  const message = encodeMessage({
    header: { initiatorCookie: ZERO8, responderCookie: ZERO8, nextPayload: PayloadType.SA, majorVersion: 1, minorVersion: 0, exchangeType: ExchangeType.IDENTITY_PROTECTION, flags: 0, messageId: 0 },
    payloads,
  });
  const t = { message, saiB: firstPayloadBody(message) };
  if (eng.mm1Cache.size >= 64) eng.mm1Cache.clear(); // local configuration only: a handful of distinct offers
  eng.mm1Cache.set(key, t);
  return t;
}

/** Our phase-1 identity: configured, else the address the exchange actually uses. */
export function ourIdentity(eng: Engine, p1: P1): Identity {
  return p1.conn.localId ?? addressIdentity(p1.local.address);
}

export function candidateConns(eng: Engine, local: Address, remoteAddr: Address, mode: 'main' | 'aggressive'): Connection[] {
  const out: Connection[] = [];
  // exact remote matches first, then '%any' (no intermediate arrays: this runs for every MM1/AM1)
  for (const key of [remoteAddr.address.toLowerCase(), '%any']) {
    for (const c of bucketView(eng.connsByRemote, key)) {
      if ((c.exchange ?? 'main') !== mode) continue;
      const l = c.local.address;
      if (l !== '%any' && l !== '0.0.0.0' && l !== '::' && !sameAddress(l, local.address)) continue;
      out.push(c);
    }
  }
  return out;
}

export function respondFirst(eng: Engine, now: number, local: Address, remoteAddr: Address, h: Header, bytes: Uint8Array, mode: 'main' | 'aggressive'): void {
  try {
    if (h.flags & HeaderFlag.ENCRYPTION) throw remote(NotifyType.INVALID_FLAGS, 'first phase-1 message encrypted');
    // the header was checked by decodeHeader: decode the payload chain only (same checks and offsets)
    // (Main Mode: in place, nothing of MM1's records is kept — SAi_b is copied from `bytes`
    // below and the chosen transform is numbers; the reply is encoded at once)
    const body = bytes.subarray(28);
    const msg = { payloads: mode === 'main' ? decodePayloadsInPlace(h.nextPayload, body, 28, false) : decodePayloads(h.nextPayload, body, { baseOffset: 28 }) };
    const script = mode === 'main' ? MAIN_MODE[0]! : AGGRESSIVE_MODE[0]!;
    checkMessage(script, msg.payloads);
    const sa = find(msg.payloads, 'SA')!;
    let candidates = candidateConns(eng, local, remoteAddr, mode);
    if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no connection for this peer');
    if ((eng.p1sOfAddress.get(remoteAddr.address) ?? 0) >= eng.opt.maxIsakmpSasPerAddress) {
      throw new Refused('PEER_SA_LIMIT', `address ${remoteAddr.address} holds ${eng.opt.maxIsakmpSasPerAddress} ISAKMP SAs (max_isakmp_sas_per_address)`);
    }
    if (mode === 'aggressive') {
      const id = find(msg.payloads, 'ID')!;
      checkPhase1IdPayload(eng, id);
      // an unknown identity and a known one we refuse get the same answer (NO_PROPOSAL_CHOSEN),
      // so that a scanner cannot enumerate group names (issue 9.10); the reasons differ in the log
      candidates = candidates.filter((c) => identityMatches(expectedPeerId(c, remoteAddr.address), id.idType, id.data));
      if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no Aggressive Mode connection for this identity');
      candidates = candidates.filter((c) => c.auth !== 'psk' || c.allowAggressivePsk === true);
      if (candidates.length === 0) throw remote(NotifyType.NO_PROPOSAL_CHOSEN, 'aggressive mode with PSK refused as responder (allow_aggressive_psk is off)');
      // the expensive answer (Diffie-Hellman, HASH_R or a signature) only within the rate
      const known = (eng.p1sOfAddress.get(remoteAddr.address) ?? 0) > 0;
      if (!eng.aggressiveLimiter.take(now, remoteAddr.address, known)) throw new Refused('RATE_LIMITED', 'Aggressive Mode first message over the rate limit (aggressive_rate): not answered');
    }
    let chosen: { conn: Connection; sel: ReturnType<typeof selectIke> } | undefined;
    let firstErr: unknown;
    for (const c of candidates) {
      try {
        chosen = { conn: c, sel: selectIke(sa, c.ike, authMethodOf(c.auth), c.allowWeakGroups ?? false, c.preferOwnOrder ?? false) };
        break;
      } catch (e) {
        firstErr ??= e;
      }
    }
    if (!chosen) throw firstErr ?? remote(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable proposal');
    // a well-formed, acceptable first message: room for it in the half-open table
    const peer = makeHalfOpenRoom(eng, remoteAddr.address);
    const p1 = newP1(eng, 'responder', mode, chosen.conn, local, remoteAddr, new Uint8Array(h.initiatorCookie), freshCookie(eng));
    addHalfOpen(eng, p1, peer);
    p1.tHalf = eng.timers.add(now + eng.opt.halfOpenTimeoutMs, p1, Tk.P1HalfOpen);
    p1.lastRecv = eng.fp(bytes);
    setChosen(eng, p1, chosen.sel.chosen);
    const hs = p1.hs!;
    // SAi_b: the body of the initiator's SA payload as received (the first payload, checked above)
    hs.saiB = firstPayloadBody(bytes);
    hs.candidates = candidates;
    try {
      if (mode === 'main') {
        const vids = peerVendorIds(msg.payloads);
        p1.dpdPeer = vids.dpd;
        const payloads: Payload[] = [chosen.sel.reply, { type: 'VID', data: DPD_VID }];
        if (nattEnabled(eng, chosen.conn) && vids.rfc3947) {
          p1.nattPeer = true;
          payloads.push({ type: 'VID', data: NATT_RFC3947_VID });
        }
        checkOut(eng, MAIN_MODE[1]!, payloads);
        p1.step = 2;
        // RFC 2409 has no rule, but CVE-2016-5361: never retransmit this reply on a timer.
        sendP1(eng, now, p1, encodePlain(eng, p1, ExchangeType.IDENTITY_PROTECTION, 0, payloads), false);
      } else {
        aggressiveRespond(eng, now, p1, msg.payloads, chosen.sel.reply);
      }
    } catch (e) {
      destroyP1(eng, p1);
      throw e;
    }
  } catch (e) {
    const { notify } = errorOf(e);
    if (eng.opt.sendErrorNotifies && isErrorNotify(notify)) sendUnprotectedNotify(eng, local, remoteAddr, h.initiatorCookie, notify);
    throw e;
  }
}

export function onPhase1(eng: Engine, now: number, p1: P1, h: Header, bytes: Uint8Array, rcZero: boolean): void {
  // byte-identical repeat of the last request: the last response again, nothing else
  if (p1.lastRecv !== undefined && p1.lastRecv === eng.fp(bytes)) {
    if (p1.lastSent && p1.role === 'responder') eng.send(p1.local, p1.remote, p1.lastSent);
    return;
  }
  if (p1.state !== 'negotiating') throw remote(NotifyType.INVALID_EXCHANGE_TYPE, 'phase-1 message for a finished exchange');
  const script = p1.mode === 'main' ? MAIN_MODE : AGGRESSIVE_MODE;
  const m = script[p1.step];
  const peerRole = p1.role === 'initiator' ? 'R' : 'I';
  if (!m || m.from !== peerRole) throw remote(NotifyType.INVALID_EXCHANGE_TYPE, 'unexpected phase-1 message');
  if (p1.role === 'initiator' && p1.step === 1) {
    if (rcZero) throw remote(NotifyType.INVALID_COOKIE, 'reply with zero responder cookie');
  } else if (!bytesEqual(p1.rc, h.responderCookie)) {
    throw remote(NotifyType.INVALID_COOKIE, 'responder cookie mismatch');
  }
  const enc = (h.flags & HeaderFlag.ENCRYPTION) !== 0;
  if (m.encrypted === 'yes' && !enc) throw remote(NotifyType.INVALID_FLAGS, `${m.label}: must be encrypted`);
  if (m.encrypted === 'no' && enc) throw remote(NotifyType.INVALID_FLAGS, `${m.label}: must not be encrypted`);
  let payloads: readonly Payload[];
  let nextIv: Uint8Array | undefined;
  if (enc) {
    const r = decrypt(eng, p1, p1.iv!, bytes);
    payloads = r.payloads;
    nextIv = r.nextIv;
  } else {
    // Main Mode MM2-MM4 (SA, KE, Nr, CR, VID): the handlers copy every byte field they keep
    // (nonces, KE data; the SA answer becomes numbers), so the records may alias `bytes`
    payloads = p1.mode === 'main' ? decodePayloadsInPlace(h.nextPayload, bytes.subarray(28), 28, false) : decodePayloads(h.nextPayload, bytes.subarray(28), { baseOffset: 28 });
  }
  checkMessage(m, payloads);
  const mm = p1.mode === 'main';
  if (p1.role === 'initiator') {
    if (mm && p1.step === 1) mmI2(eng, now, p1, h, payloads);
    else if (mm && p1.step === 3) mmI4(eng, now, p1, payloads);
    else if (mm && p1.step === 5) mmI6(eng, now, p1, payloads, nextIv!, bytes);
    else if (!mm && p1.step === 1) amI2(eng, now, p1, h, payloads, bytes);
    // an exact repeat of this answer is then ignored silently (see the top of onPhase1)
    if (mm && p1.state === 'negotiating' && p1.step > 1) p1.lastRecv = eng.fp(bytes);
  } else {
    if (mm && p1.step === 2) mmR3(eng, now, p1, payloads, bytes);
    else if (mm && p1.step === 4) mmR5(eng, now, p1, payloads, nextIv!, bytes);
    else if (!mm && p1.step === 2) amR3(eng, now, p1, payloads, nextIv, bytes);
  }
}
