/**
 * Mode Config (draft-ietf-ipsec-isakmp-mode-cfg-05 §3) after phase 1 (and after XAUTH when the
 * connection has it), pull or push, with Quick Mode held until the client has its attributes:
 *
 *   pull  client   REQUEST(INTERNAL_IP4_ADDRESS, NETMASK, DNS, NBNS, SUBNET, APPLICATION_VERSION,
 *                          Cisco Unity attributes when the gateway announced Unity) -->
 *         gateway  the caller fills the answer: `modecfg-request` → `answerModeConfig(requestId, attrs)`
 *                  <-- REPLY(attributes)
 *   push  gateway  the caller fills it the same way (`push: true`), SET(attributes) -->
 *         client   <-- ACK(the attribute types it took)
 *
 * Both sides then emit `modecfg-done`, remember the virtual address (virtual-address.ts: the Quick
 * Mode that follows uses it as the client's selector) and release the held Quick Modes. A client
 * takes a SET even when it pulls (a gateway that pushes anyway); a pushing gateway answers a
 * REQUEST that comes first, or while its SET waits for the ACK (then the SET is given up). The Cisco Unity vendor ID is sent by both roles on such connections.
 * @module
 */
import type { AttributePayload, DataAttribute, Payload } from '../../codec/types.js';
import { CfgAttr, CfgType } from '../../constants/index.js';
import { bytesEqual } from '../../crypto/bytes.js';
import { abandonTransaction, answerTransaction, startTransaction } from '../drivers/transaction.js';
import type { Engine } from '../engine.js';
import { holdQuickModes, releaseQuickModes } from '../lifecycle.js';
import type { KeyedP1, P1 } from '../records.js';
import { Refused } from '../refusal.js';
import { rememberVirtualAddress } from '../virtual-address.js';
import type { Extension } from './index.js';

/** What a client asks for; a pushing gateway offers the same (its caller decides what it sends). */
const STANDARD = [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_NETMASK, CfgAttr.INTERNAL_IP4_DNS, CfgAttr.INTERNAL_IP4_NBNS, CfgAttr.INTERNAL_IP4_SUBNET, CfgAttr.APPLICATION_VERSION];
/** The Cisco Unity attributes, asked for (and pushed) when the peer announced Unity. */
const UNITY = [CfgAttr.UNITY_BANNER, CfgAttr.UNITY_SAVE_PASSWD, CfgAttr.UNITY_DEF_DOMAIN, CfgAttr.UNITY_SPLITDNS_NAME, CfgAttr.UNITY_SPLIT_INCLUDE, CfgAttr.UNITY_LOCAL_LAN, CfgAttr.UNITY_PFS, CfgAttr.UNITY_FW_TYPE];

/** The Cisco Unity vendor ID (version 1.0): MD5("CISCO-UNITY") with its last two bytes 01 00. */
export const UNITY_VID = Uint8Array.of(0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00);
const VIDS: readonly Payload[] = [{ type: 'VID', data: UNITY_VID }];

type ModeCfgState =
  | { readonly phase: 'client-after-xauth' }
  | { readonly phase: 'client-asking'; readonly msgId: number }
  | { readonly phase: 'client-waiting-set' }
  | { readonly phase: 'server-waiting' }
  | { readonly phase: 'server-after-xauth' }
  | { readonly phase: 'server-filling'; readonly requestId: number; readonly msgId: number | undefined }
  | { readonly phase: 'server-setting'; readonly msgId: number; readonly attributes: readonly DataAttribute[] }
  | { readonly phase: 'done' };

const states = new WeakMap<P1, ModeCfgState>();
/** ISAKMP SAs whose peer sent the Cisco Unity vendor ID. */
const unityPeers = new WeakSet<P1>();
const fills = new WeakMap<Engine, { next: number; readonly byId: Map<number, KeyedP1> }>();

function fillsOf(x: Engine): { next: number; readonly byId: Map<number, KeyedP1> } {
  let f = fills.get(x);
  if (!f) fills.set(x, (f = { next: 1, byId: new Map() }));
  return f;
}

const isPush = (p1: P1): boolean => p1.conn.modeConfig?.push === true;

function ask(x: Engine, now: number, p1: KeyedP1): void {
  if (isPush(p1)) {
    states.set(p1, { phase: 'client-waiting-set' });
    return;
  }
  const types = unityPeers.has(p1) ? [...STANDARD, ...UNITY] : STANDARD;
  const attrs: DataAttribute[] = types.map((type) => ({ format: 'TLV', type, value: new Uint8Array(0) }));
  states.set(p1, { phase: 'client-asking', msgId: startTransaction(x, now, p1, CfgType.ISAKMP_CFG_REQUEST, 0, attrs) });
}

/** The gateway's caller is asked to fill attributes: for a client's REQUEST (`msgId`), or to push. */
function fill(x: Engine, p1: KeyedP1, requested: readonly number[], msgId: number | undefined): void {
  const f = fillsOf(x);
  const requestId = f.next++;
  f.byId.set(requestId, p1);
  states.set(p1, { phase: 'server-filling', requestId, msgId });
  x.emit({ type: 'modecfg-request', requestId, isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, requested, push: msgId === undefined });
}

function startServer(x: Engine, p1: KeyedP1): void {
  if (isPush(p1)) fill(x, p1, unityPeers.has(p1) ? [...STANDARD, ...UNITY] : STANDARD, undefined);
  else states.set(p1, { phase: 'server-waiting' });
}

function done(x: Engine, now: number, p1: KeyedP1, attributes: readonly DataAttribute[]): void {
  states.set(p1, { phase: 'done' });
  rememberVirtualAddress(p1, p1.conn.modeConfig?.role === 'server' ? 'peers' : 'ours', attributes);
  x.emit({ type: 'modecfg-done', isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, attributes });
  releaseQuickModes(x, now, p1);
}

/** XAUTH succeeded on `p1` (extensions/xauth.ts): a pulling client asks now, a pushing gateway sets. */
export function modeConfigAfterXauth(x: Engine, now: number, p1: KeyedP1): void {
  const phase = states.get(p1)?.phase;
  if (phase === 'client-after-xauth') ask(x, now, p1);
  else if (phase === 'server-after-xauth') startServer(x, p1);
}

/** The gateway's answer to a `modecfg-request`: the REPLY (pull) or the SET (push). */
export function answerModeConfig(x: Engine, now: number, requestId: number, attributes: readonly DataAttribute[]): void {
  const f = fillsOf(x);
  const p1 = f.byId.get(requestId);
  if (!p1) throw new Refused('TRANSACTION', `no Mode Config request ${requestId} waits for an answer`);
  f.byId.delete(requestId);
  const s = states.get(p1);
  if (p1.life !== 'established' || s?.phase !== 'server-filling' || s.requestId !== requestId) return;
  if (s.msgId === undefined) {
    const msgId = startTransaction(x, now, p1, CfgType.ISAKMP_CFG_SET, 0, attributes);
    states.set(p1, { phase: 'server-setting', msgId, attributes });
    return;
  }
  answerTransaction(x, p1, s.msgId, attributes);
  done(x, now, p1, attributes);
}

/** A Transaction message under `p1`: true when Mode Config took it. */
export function modeConfigTransaction(x: Engine, now: number, p1: KeyedP1, msgId: number, a: AttributePayload, answered: boolean): boolean {
  const s = states.get(p1);
  if (!s) return false;
  if (s.phase === 'client-asking' && answered && s.msgId === msgId && a.cfgType === CfgType.ISAKMP_CFG_REPLY) {
    done(x, now, p1, a.attributes);
    return true;
  }
  if ((s.phase === 'client-asking' || s.phase === 'client-waiting-set' || s.phase === 'client-after-xauth') && !answered && a.cfgType === CfgType.ISAKMP_CFG_SET) {
    // ACK: the types we take, without values (mode-cfg-05 §3.3)
    answerTransaction(x, p1, msgId, a.attributes.map((t): DataAttribute => (t.format === 'TV' ? { format: 'TV', type: t.type, value: 0 } : { format: 'TLV', type: t.type, value: new Uint8Array(0) })));
    done(x, now, p1, a.attributes);
    return true;
  }
  if (s.phase === 'server-setting' && answered && s.msgId === msgId && a.cfgType === CfgType.ISAKMP_CFG_ACK) {
    done(x, now, p1, s.attributes);
    return true;
  }
  if (s.phase === 'server-filling' && s.msgId === undefined && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
    // the client asks while our caller fills what we push: the caller's answer goes as its REPLY
    states.set(p1, { phase: 'server-filling', requestId: s.requestId, msgId });
    return true;
  }
  if (s.phase === 'server-setting' && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
    // the client asks although we push (Libreswan's does so even with modecfgpull=no, and ignores
    // our SET): it gets the same attributes as the REPLY, and our SET is given up
    abandonTransaction(x, p1, s.msgId);
    answerTransaction(x, p1, msgId, s.attributes);
    done(x, now, p1, s.attributes);
    return true;
  }
  if ((s.phase === 'server-waiting' || s.phase === 'server-after-xauth') && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
    fill(x, p1, a.attributes.map((t) => t.type), msgId);
    return true;
  }
  return false;
}

export const modeConfig: Extension = {
  name: 'modecfg',
  vendorIdsOut: (_x, conn) => (conn.modeConfig ? VIDS : []),
  vendorIdsAnswer: (_x, p1) => (p1.conn.modeConfig ? VIDS : []),
  vendorIdIn(_x, p1, data) {
    if (data.length === UNITY_VID.length && bytesEqual(data, UNITY_VID)) unityPeers.add(p1);
  },
  established(x, now, p1) {
    const policy = p1.conn.modeConfig;
    if (!policy) return;
    holdQuickModes(p1);
    if (policy.role === 'server') {
      if (p1.conn.xauth) states.set(p1, { phase: 'server-after-xauth' });
      else startServer(x, p1);
    } else if (p1.conn.xauth && !policy.push) states.set(p1, { phase: 'client-after-xauth' });
    else ask(x, now, p1);
  },
};
