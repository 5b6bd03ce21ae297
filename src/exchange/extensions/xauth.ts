/**
 * XAUTH (draft-ietf-ipsec-isakmp-xauth-06) after phase 1, in Transaction exchanges
 * (drivers/transaction.ts), both roles, with Quick Mode held on the ISAKMP SA until it is done:
 *
 *   gateway  REQUEST(XAUTH_TYPE, USER_NAME, USER_PASSWORD) -->
 *            <-- REPLY(USER_NAME=u, USER_PASSWORD=p)      the caller checks: `xauth-request`
 *            SET(STATUS=1|0) -->                           `answerXauth(requestId, ok)`
 *            <-- ACK(STATUS)                               `xauth-done`; Quick Mode released
 *
 * A wrong password is asked again (a new REQUEST) up to the connection's `retries` (default 3)
 * per ISAKMP SA; then STATUS=0 and the ISAKMP SA is deleted (on the client's ACK, or at once when
 * the client deletes it instead of acknowledging, as Libreswan does). The client answers with its
 * configured user and password; told STATUS=0, it acknowledges and deletes the ISAKMP SA itself. The password travels only in the `xauth-request` event (the
 * caller's backend needs it); the engine keeps no copy.
 *
 * XAUTH_TYPE: only generic (a user name and a password) is done. A client asked for another type
 * (RADIUS-CHAP, OTP, S/KEY) answers with that type echoed and no credentials, so that the gateway
 * fails the attempt at once; a gateway answered with another type, or without the user name or
 * the password, counts a failed attempt without asking its backend. The XAUTH vendor ID (8 bytes
 * of MD5("draft-ietf-ipsra-isakmp-xauth-06.txt"), what Cisco and strongSwan send) goes out with
 * our first phase-1 message of an XAUTH connection and our answer; the peer's is recorded.
 * @module
 */
import type { AttributePayload, DataAttribute, Payload } from '../../codec/types.js';
import { bytesEqual } from '../../crypto/bytes.js';
import { CfgAttr, CfgType, ProtocolId, XauthType } from '../../constants/index.js';
import { answerTransaction, startTransaction } from '../drivers/transaction.js';
import type { Engine } from '../engine.js';
import { deleteP1, holdQuickModes, peerText, releaseQuickModes } from '../lifecycle.js';
import { Tk, isEstablished, type KeyedP1, type P1 } from '../records.js';
import { Refused } from '../refusal.js';
import type { Extension } from './index.js';
import { modeConfigAfterXauth } from './modecfg.js';

const DEFAULT_RETRIES = 3;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Where XAUTH stands on one ISAKMP SA. */
type XauthState =
  | { readonly phase: 'asking'; readonly attempt: number; readonly msgId: number }
  | { readonly phase: 'checking'; readonly attempt: number; readonly user: string; readonly requestId: number }
  | { readonly phase: 'status-sent'; readonly ok: boolean; readonly user: string; readonly msgId: number; readonly attempt: number; readonly why?: string }
  | { readonly phase: 'client-waiting'; readonly unsupportedType?: number }
  | { readonly phase: 'done'; readonly ok: boolean; readonly user: string };

const states = new WeakMap<P1, XauthState>();
/** ISAKMP SAs whose peer sent the XAUTH vendor ID. */
const peersWithVid = new WeakSet<P1>();

/** The XAUTH vendor ID: the first 8 bytes of MD5("draft-ietf-ipsra-isakmp-xauth-06.txt"). */
export const XAUTH_VID = Uint8Array.of(0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12);
const VID: readonly Payload[] = [{ type: 'VID', data: XAUTH_VID }];
const NONE: readonly Payload[] = [];

/** Whether the peer of `p1` announced XAUTH with its vendor ID. */
export const peerAnnouncedXauth = (p1: P1): boolean => peersWithVid.has(p1);

const TYPE_NAMES: Readonly<Record<number, string>> = { [XauthType.GENERIC]: 'generic', [XauthType.RADIUS_CHAP]: 'RADIUS-CHAP', [XauthType.OTP]: 'OTP', [XauthType.SKEY]: 'S/KEY' };
const typeName = (t: number): string => `${t} (${TYPE_NAMES[t] ?? 'unknown'})`;
/** Open checks of an engine's gateway: request id → the ISAKMP SA. */
const checks = new WeakMap<Engine, { next: number; readonly byId: Map<number, KeyedP1> }>();

function checksOf(x: Engine): { next: number; readonly byId: Map<number, KeyedP1> } {
  let c = checks.get(x);
  if (!c) checks.set(x, (c = { next: 1, byId: new Map() }));
  return c;
}

const tv = (type: number, value: number): DataAttribute => ({ format: 'TV', type, value });
const tlv = (type: number, value: Uint8Array): DataAttribute => ({ format: 'TLV', type, value });
const EMPTY = new Uint8Array(0);

function attrText(a: AttributePayload, type: number): string | undefined {
  const v = a.attributes.find((t) => t.type === type);
  return v && v.format === 'TLV' ? dec.decode(v.value) : undefined;
}

function attrNumber(a: AttributePayload, type: number): number | undefined {
  const v = a.attributes.find((t) => t.type === type);
  if (!v) return undefined;
  if (v.format === 'TV') return v.value;
  let n = 0;
  for (const b of v.value) n = n * 256 + b;
  return n;
}

/** The gateway asks (again): REQUEST(XAUTH_TYPE generic, USER_NAME, USER_PASSWORD). */
function ask(x: Engine, now: number, p1: KeyedP1, attempt: number): void {
  const msgId = startTransaction(x, now, p1, CfgType.ISAKMP_CFG_REQUEST, attempt, [
    tv(CfgAttr.XAUTH_TYPE, XauthType.GENERIC),
    tlv(CfgAttr.XAUTH_USER_NAME, EMPTY),
    tlv(CfgAttr.XAUTH_USER_PASSWORD, EMPTY),
  ]);
  states.set(p1, { phase: 'asking', attempt, msgId });
}

function finish(x: Engine, now: number, p1: KeyedP1, ok: boolean, user: string, reason: string): void {
  states.set(p1, { phase: 'done', ok, user });
  x.emit({ type: 'xauth-done', isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, user, ok, reason });
  if (ok) {
    if (p1.conn.xauth?.role === 'client') x.timers.add(now + XAUTH_SETTLE_MS, p1, Tk.XauthSettled);
    else releaseQuickModes(x, now, p1);
    modeConfigAfterXauth(x, now, p1);
  }
}

/**
 * How long an XAUTH client waits after its ACK of the gateway's STATUS before its Quick Modes
 * start. A gateway that handles the datagrams of one ISAKMP SA on several threads (strongSwan's
 * charon) may take a Quick Mode that arrives right behind the ACK first, while XAUTH still runs:
 * charon then drops the whole ISAKMP SA ("received quick mode request for unestablished IKE_SA").
 * A Mode Config exchange after XAUTH orders the two by itself (its answer comes first).
 */
export const XAUTH_SETTLE_MS = 200;

/** The settle time after an XAUTH client's ACK is over: the held Quick Modes start. */
export function xauthSettled(x: Engine, now: number, p1: P1): void {
  if (isEstablished(p1)) releaseQuickModes(x, now, p1);
}

/** The gateway's end of a refused client: `xauth-done` with ok false, how many attempts and what to check. */
function finishRefused(x: Engine, now: number, p1: KeyedP1, s: Extract<XauthState, { phase: 'status-sent' }>): void {
  finish(x, now, p1, false, s.user, `user "${s.user}" failed XAUTH ${s.attempt} time(s): ${s.why !== undefined ? `${s.why}` : 'check the user name and password (users file or RADIUS)'}; the ISAKMP SA is deleted`);
}

/** The caller's verdict on an `xauth-request`: STATUS to the client, or another REQUEST while attempts remain. */
export function answerXauth(x: Engine, now: number, requestId: number, ok: boolean): void {
  const c = checksOf(x);
  const p1 = c.byId.get(requestId);
  if (!p1) throw new Refused('TRANSACTION', `no XAUTH request ${requestId} waits for an answer`);
  c.byId.delete(requestId);
  const s = states.get(p1);
  if (p1.life !== 'established' || s?.phase !== 'checking' || s.requestId !== requestId) return; // SA gone meanwhile
  verdict(x, now, p1, s.attempt, s.user, ok);
}

/** After one attempt: another REQUEST while attempts remain, else STATUS to the client. */
function verdict(x: Engine, now: number, p1: KeyedP1, attempt: number, user: string, ok: boolean, why?: string): void {
  const retries = p1.conn.xauth?.role === 'server' ? (p1.conn.xauth.retries ?? DEFAULT_RETRIES) : DEFAULT_RETRIES;
  if (!ok && attempt < retries) {
    ask(x, now, p1, attempt + 1);
    return;
  }
  const msgId = startTransaction(x, now, p1, CfgType.ISAKMP_CFG_SET, attempt, [tv(CfgAttr.XAUTH_STATUS, ok ? 1 : 0)]);
  states.set(p1, { phase: 'status-sent', ok, user, msgId, attempt, ...(why !== undefined ? { why } : {}) });
}

/** A Transaction message under `p1`: true when XAUTH took it (no `transaction` event then). */
export function xauthTransaction(x: Engine, now: number, p1: KeyedP1, msgId: number, a: AttributePayload, answered: boolean): boolean {
  const policy = p1.conn.xauth;
  const s = states.get(p1);
  if (!policy || !s) return false;
  if (policy.role === 'server') {
    if (!answered) return false;
    if (s.phase === 'asking' && s.msgId === msgId && a.cfgType === CfgType.ISAKMP_CFG_REPLY) {
      const user = attrText(a, CfgAttr.XAUTH_USER_NAME) ?? '';
      const password = attrText(a, CfgAttr.XAUTH_USER_PASSWORD);
      const type = attrNumber(a, CfgAttr.XAUTH_TYPE) ?? XauthType.GENERIC;
      if (type !== XauthType.GENERIC || password === undefined || !a.attributes.some((t) => t.type === CfgAttr.XAUTH_USER_NAME)) {
        // nothing a backend could check: a failed attempt (the password, if any, is dropped here)
        const why = type !== XauthType.GENERIC ? `the client answered XAUTH type ${typeName(type)}; this gateway does generic (user name and password) only` : 'the client sent no user name or no password';
        verdict(x, now, p1, s.attempt, user, false, why);
        return true;
      }
      const c = checksOf(x);
      const requestId = c.next++;
      c.byId.set(requestId, p1);
      states.set(p1, { phase: 'checking', attempt: s.attempt, user, requestId });
      x.emit({ type: 'xauth-request', requestId, isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, peerId: peerText(p1.peerId), user, password });
      return true;
    }
    if (s.phase === 'status-sent' && s.msgId === msgId) {
      if (s.ok) {
        finish(x, now, p1, true, s.user, `user "${s.user}" authenticated`);
      } else {
        finishRefused(x, now, p1, s);
        deleteP1(x, p1);
      }
      return true;
    }
    return false;
  }
  // client
  if (answered) return false;
  if (a.cfgType === CfgType.ISAKMP_CFG_REQUEST && a.attributes.some((t) => t.type === CfgAttr.XAUTH_USER_NAME || t.type === CfgAttr.XAUTH_USER_PASSWORD)) {
    const out: DataAttribute[] = [];
    const type = attrNumber(a, CfgAttr.XAUTH_TYPE);
    if (type !== undefined) out.push(tv(CfgAttr.XAUTH_TYPE, type));
    if (type !== undefined && type !== XauthType.GENERIC) {
      // a type we cannot do: no credentials; the gateway's STATUS=0 then names it (see finish)
      answerTransaction(x, p1, msgId, out);
      if (s.phase === 'client-waiting') states.set(p1, { phase: 'client-waiting', unsupportedType: type });
      return true;
    }
    out.push(tlv(CfgAttr.XAUTH_USER_NAME, enc.encode(policy.user)));
    out.push(tlv(CfgAttr.XAUTH_USER_PASSWORD, policy.password));
    answerTransaction(x, p1, msgId, out);
    return true;
  }
  const status = attrNumber(a, CfgAttr.XAUTH_STATUS);
  if (a.cfgType === CfgType.ISAKMP_CFG_SET && status !== undefined) {
    answerTransaction(x, p1, msgId, [tv(CfgAttr.XAUTH_STATUS, status)]);
    if (s.phase === 'client-waiting') {
      const refused = s.unsupportedType !== undefined
        ? `gateway refused user "${policy.user}": it asked for XAUTH type ${typeName(s.unsupportedType)}, and this client does generic (user name and password) only`
        : `gateway refused user "${policy.user}": check the XAUTH user and password`;
      finish(x, now, p1, status === 1, policy.user, status === 1 ? `gateway accepted user "${policy.user}"` : refused);
      // refused: the ISAKMP SA is of no use; we delete it after our ACK rather than wait for the
      // gateway's Delete (Libreswan's pluto as the gateway sends none: it reads our ACK as a
      // REPLY without credentials and asks again, and the two would go round until the
      // message IDs run out)
      if (status !== 1) deleteP1(x, p1);
    }
    return true;
  }
  return false;
}

export const xauth: Extension = {
  name: 'xauth',
  vendorIdsOut: (_x, conn) => (conn.xauth ? VID : NONE),
  vendorIdsAnswer: (_x, p1) => (p1.conn.xauth ? VID : NONE),
  vendorIdIn(_x, p1, data) {
    if (bytesEqual(data, XAUTH_VID)) peersWithVid.add(p1);
  },
  informationalIn(x, now, p1, payloads) {
    // a client told STATUS=0 may delete the ISAKMP SA instead of acknowledging (Libreswan's pluto
    // aborts the exchange at once): the refusal ends there all the same; the driver then acts on
    // the Delete
    const s = states.get(p1);
    const ofThisSa = (p: Payload): boolean => p.type === 'D' && p.protocol === ProtocolId.PROTO_ISAKMP && p.spis.some((c) => c.length === 16 && bytesEqual(c.subarray(0, 8), p1.ic) && bytesEqual(c.subarray(8), p1.rc));
    if (p1.conn.xauth?.role === 'server' && s?.phase === 'status-sent' && !s.ok && payloads.some(ofThisSa)) finishRefused(x, now, p1, s);
    return false;
  },
  established(x, now, p1) {
    const policy = p1.conn.xauth;
    if (!policy) return;
    holdQuickModes(p1);
    if (policy.role === 'server') ask(x, now, p1, 1);
    else states.set(p1, { phase: 'client-waiting' });
  },
};
