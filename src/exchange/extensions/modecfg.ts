/**
 * Mode Config (draft-ietf-ipsec-isakmp-mode-cfg-05 §3) after phase 1 (and after XAUTH when the
 * connection has it), pull or push, with Quick Mode held until the client has its attributes:
 *
 *   pull  client   REQUEST(INTERNAL_IP4_ADDRESS, NETMASK, DNS, NBNS, SUBNET, APPLICATION_VERSION,
 *                          Cisco Unity attributes when the gateway announced Unity) -->
 *         gateway  the caller fills the answer: `modecfg-request` → `answerModeConfig(requestId, attrs)`
 *                  <-- REPLY(attributes)
 *   push  gateway  the caller fills it the same way (`push: true`), SET(attributes) -->
 *         client   <-- ACK(the attribute types it took, no values, the SET's identifier)
 *
 * Both sides then emit `modecfg-done`, remember the virtual address (virtual-address.ts: the Quick
 * Mode that follows uses it as the client's selector) and release the held Quick Modes. A client
 * takes a SET even when it pulls (a gateway that pushes anyway); a pushing gateway answers a
 * REQUEST that comes first, or while its SET waits for the ACK (then the SET is given up), or after
 * the ACK (the same attributes again): such a client is served as a pulling one. The Cisco Unity
 * vendor ID is sent by both roles on such connections.
 *
 * Nothing is handed out or taken before XAUTH is done: a gateway keeps a client's REQUEST that
 * comes early and has it filled once the user is accepted (never: the SA is deleted on refusal); a
 * client refuses a SET that comes before the gateway's XAUTH STATUS. A client's SET must carry one
 * address (INTERNAL_IP4_ADDRESS or INTERNAL_IP6_ADDRESS) and no single-valued attribute twice,
 * else Mode Config fails and the ISAKMP SA is deleted. The gateway's SET goes unanswered (no ACK,
 * or ACKs under another identifier, refused) to the retransmit limit, a push client waits
 * PUSH_WAIT_MS for the SET, a pulling client's REQUEST goes unanswered to the limit: each fails
 * with a reason that says what to check, and the ISAKMP SA is deleted (a gateway's lease goes with it).
 * @module
 */
import type { AttributePayload, DataAttribute, Payload } from '../../codec/types.js';
import { CfgAttr, CfgType, nameOf } from '../../constants/index.js';
import { bytesEqual } from '../../crypto/bytes.js';
import { abandonTransaction, answerTransaction, startTransaction } from '../drivers/transaction.js';
import type { Engine } from '../engine.js';
import { deleteP1, holdQuickModes, releaseQuickModes } from '../lifecycle.js';
import { Tk, type KeyedP1, type P1, type TimerOfKind } from '../records.js';
import { Refused } from '../refusal.js';
import type { FailureCause } from '../types.js';
import { rememberVirtualAddress, virtualAddressOf } from '../virtual-address.js';
import type { Extension } from './index.js';

/** What a client asks for; a pushing gateway offers the same (its caller decides what it sends). */
const STANDARD = [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_NETMASK, CfgAttr.INTERNAL_IP4_DNS, CfgAttr.INTERNAL_IP4_NBNS, CfgAttr.INTERNAL_IP4_SUBNET, CfgAttr.APPLICATION_VERSION];
/** The Cisco Unity attributes, asked for (and pushed) when the peer announced Unity. */
const UNITY = [CfgAttr.UNITY_BANNER, CfgAttr.UNITY_SAVE_PASSWD, CfgAttr.UNITY_DEF_DOMAIN, CfgAttr.UNITY_SPLITDNS_NAME, CfgAttr.UNITY_SPLIT_INCLUDE, CfgAttr.UNITY_LOCAL_LAN, CfgAttr.UNITY_PFS, CfgAttr.UNITY_FW_TYPE];

/** The Cisco Unity vendor ID (version 1.0): MD5("CISCO-UNITY") with its last two bytes 01 00. */
export const UNITY_VID = Uint8Array.of(0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00);
const VIDS: readonly Payload[] = [{ type: 'VID', data: UNITY_VID }];
/** Attributes a SET carries at most once: with two, which one holds is anyone's guess. */
const SINGLE = [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_NETMASK, CfgAttr.INTERNAL_IP6_ADDRESS, CfgAttr.INTERNAL_ADDRESS_EXPIRY];

/** How long a push client waits for the gateway's SET, after phase 1 or after XAUTH. */
export const PUSH_WAIT_MS = 30_000;

type ModeCfgState =
  | { readonly phase: 'client-after-xauth' }
  | { readonly phase: 'client-asking'; readonly msgId: number }
  | { readonly phase: 'client-waiting-set'; readonly timer: TimerOfKind<typeof Tk.ModeCfgWait> }
  | { readonly phase: 'server-waiting' }
  /** `early`: the client's REQUEST that came before XAUTH was done, filled once it is. */
  | { readonly phase: 'server-after-xauth'; readonly early?: { readonly msgId: number; readonly requested: readonly number[] } }
  | { readonly phase: 'server-filling'; readonly requestId: number; readonly msgId: number | undefined }
  | { readonly phase: 'server-setting'; readonly msgId: number; readonly attributes: readonly DataAttribute[] }
  /** `attributes`: what was handed out or taken (a gateway hands the same again to a client that asks after). */
  | { readonly phase: 'done'; readonly attributes: readonly DataAttribute[] }
  | { readonly phase: 'failed' };

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
    states.set(p1, { phase: 'client-waiting-set', timer: x.timers.add(now + PUSH_WAIT_MS, p1, Tk.ModeCfgWait) });
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
  const s = states.get(p1);
  if (s?.phase === 'client-waiting-set') x.timers.cancel(s.timer);
  states.set(p1, { phase: 'done', attributes });
  rememberVirtualAddress(p1, p1.conn.modeConfig?.role === 'server' ? 'peers' : 'ours', attributes);
  x.emit({ type: 'modecfg-done', isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, attributes });
  releaseQuickModes(x, now, p1);
}

/** XAUTH succeeded on `p1` (extensions/xauth.ts): a pulling client asks now, a pushing gateway sets. */
export function modeConfigAfterXauth(x: Engine, now: number, p1: KeyedP1): void {
  const s = states.get(p1);
  if (s?.phase === 'client-after-xauth') ask(x, now, p1);
  else if (s?.phase === 'server-after-xauth') {
    if (s.early !== undefined) fill(x, p1, s.early.requested, s.early.msgId);
    else startServer(x, p1);
  }
}

/** Mode Config cannot finish on `p1`: the reason (what to check) in a `failed` event, the ISAKMP SA deleted. */
function fail(x: Engine, p1: P1, cause: FailureCause, reason: string): void {
  const s = states.get(p1);
  if (s?.phase === 'client-waiting-set') x.timers.cancel(s.timer);
  states.set(p1, { phase: 'failed' });
  x.emit({ type: 'failed', kind: 'isakmp', connection: p1.conn.name, peer: p1.remote, notify: 0, reason: `${reason}; the ISAKMP SA is deleted`, cause });
  deleteP1(x, p1);
}

/** A push client's wait for the gateway's SET is over (Tk.ModeCfgWait). */
export function modeConfigWaitOver(x: Engine, e: TimerOfKind<typeof Tk.ModeCfgWait>): void {
  const p1 = e.target;
  const s = states.get(p1);
  if (p1.life !== 'established' || s?.phase !== 'client-waiting-set' || s.timer !== e) return;
  const after = p1.conn.xauth ? 'XAUTH' : 'phase 1';
  fail(x, p1, 'NO_ANSWER', `Mode Config push: the gateway sent no Mode Config SET within ${PUSH_WAIT_MS / 1000} s of ${after}: check that it pushes (strongSwan pull = no, Libreswan modecfgpull=no), or set modecfg: pull`);
}

/**
 * A Transaction request of ours reached the retransmit limit: true when it was Mode Config's (the
 * failure is named and the ISAKMP SA deleted). `refused`: why the peer's last answer was refused.
 */
export function modeConfigGaveUp(x: Engine, p1: P1, msgId: number, sends: number, refused: string | undefined): boolean {
  const s = states.get(p1);
  const answer = refused === undefined ? '' : `; its answer was refused: ${refused}`;
  if (s?.phase === 'server-setting' && s.msgId === msgId) {
    fail(x, p1, 'NO_ANSWER', `Mode Config push: the client did not acknowledge our SET (sent ${sends} times${answer}): check that it takes pushed settings (strongSwan pull = no, Shrew "ike config push", Libreswan modecfgpull=no), or set modecfg: pull`);
    return true;
  }
  if (s?.phase === 'client-asking' && s.msgId === msgId) {
    fail(x, p1, 'NO_ANSWER', `Mode Config pull: the gateway did not answer our REQUEST (sent ${sends} times${answer}): check that it hands out Mode Config and lets the client pull, or set modecfg: push`);
    return true;
  }
  return false;
}

/** What is wrong with a gateway's SET for a client, if anything. */
function setProblem(attributes: readonly DataAttribute[]): string | undefined {
  for (const type of SINGLE) {
    const n = attributes.filter((a) => a.type === type).length;
    if (n > 1) return `carries ${nameOf(CfgAttr, type)} ${n} times`;
  }
  if (virtualAddressOf(attributes) === undefined) return 'carries no address (INTERNAL_IP4_ADDRESS of 4 bytes or INTERNAL_IP6_ADDRESS of 17)';
  return undefined;
}

/** The client's ACK: each attribute type of the SET once, without a value (mode-cfg-05 §3.3). */
function ackOf(attributes: readonly DataAttribute[]): DataAttribute[] {
  const out: DataAttribute[] = [];
  for (const t of attributes) {
    if (out.some((o) => o.type === t.type)) continue;
    out.push(t.format === 'TV' ? { format: 'TV', type: t.type, value: 0 } : { format: 'TLV', type: t.type, value: new Uint8Array(0) });
  }
  return out;
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
    const msgId = startTransaction(x, now, p1, CfgType.ISAKMP_CFG_SET, 0, attributes, true);
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
  if (s.phase === 'client-after-xauth' && !answered && a.cfgType === CfgType.ISAKMP_CFG_SET) {
    throw new Refused('TRANSACTION', 'Mode Config SET before XAUTH is done: refused unanswered (a gateway pushes once it has accepted the user)');
  }
  if ((s.phase === 'client-asking' || s.phase === 'client-waiting-set') && !answered && a.cfgType === CfgType.ISAKMP_CFG_SET) {
    const problem = setProblem(a.attributes);
    if (problem !== undefined) {
      fail(x, p1, 'POLICY_REFUSED', `Mode Config: the gateway's SET ${problem}: check its address pool and Mode Config settings`);
      return true;
    }
    answerTransaction(x, p1, msgId, ackOf(a.attributes));
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
  if (s.phase === 'done' && p1.conn.modeConfig?.role === 'server' && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
    // the client asks after it took our SET (a pulling client whose REQUEST crossed the SET and
    // came after the ACK): the same attributes again, no new lease
    answerTransaction(x, p1, msgId, s.attributes);
    return true;
  }
  if (s.phase === 'server-after-xauth' && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
    // before the user is accepted: no address leased yet; filled when XAUTH succeeds
    if (s.early !== undefined) throw new Refused('TRANSACTION', 'a second Mode Config REQUEST before XAUTH is done: refused unanswered (the first is answered once the user is accepted)');
    states.set(p1, { phase: 'server-after-xauth', early: { msgId, requested: a.attributes.map((t) => t.type) } });
    return true;
  }
  if (s.phase === 'server-waiting' && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
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
    } else if (p1.conn.xauth) states.set(p1, { phase: 'client-after-xauth' });
    else ask(x, now, p1);
  },
};
