/**
 * Mode Config pull (draft-ietf-ipsec-isakmp-mode-cfg-05 §3) after phase 1 (and after XAUTH when
 * the connection has it), with Quick Mode held until the client has its attributes:
 *
 *   client   REQUEST(INTERNAL_IP4_ADDRESS, NETMASK, DNS, NBNS, SUBNET, APPLICATION_VERSION) -->
 *   gateway  the caller fills the answer: `modecfg-request` → `answerModeConfig(requestId, attrs)`
 *            <-- REPLY(attributes)                    both sides: `modecfg-done`; Quick Mode released
 *
 * Push (SET / ACK) and the virtual address as the Quick Mode selector are not done yet.
 * @module
 */
import type { AttributePayload, DataAttribute } from '../../codec/types.js';
import { CfgAttr, CfgType } from '../../constants/index.js';
import { answerTransaction, startTransaction } from '../drivers/transaction.js';
import type { Engine } from '../engine.js';
import { holdQuickModes, releaseQuickModes } from '../lifecycle.js';
import type { KeyedP1, P1 } from '../records.js';
import { Refused } from '../refusal.js';
import type { Extension } from './index.js';

/** What a pulling client asks for. */
const ASKED = [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_NETMASK, CfgAttr.INTERNAL_IP4_DNS, CfgAttr.INTERNAL_IP4_NBNS, CfgAttr.INTERNAL_IP4_SUBNET, CfgAttr.APPLICATION_VERSION];

type ModeCfgState =
  | { readonly phase: 'client-after-xauth' }
  | { readonly phase: 'client-asking'; readonly msgId: number }
  | { readonly phase: 'server-waiting' }
  | { readonly phase: 'server-filling'; readonly requestId: number; readonly msgId: number }
  | { readonly phase: 'done' };

const states = new WeakMap<P1, ModeCfgState>();
const fills = new WeakMap<Engine, { next: number; readonly byId: Map<number, KeyedP1> }>();

function fillsOf(x: Engine): { next: number; readonly byId: Map<number, KeyedP1> } {
  let f = fills.get(x);
  if (!f) fills.set(x, (f = { next: 1, byId: new Map() }));
  return f;
}

function ask(x: Engine, now: number, p1: KeyedP1): void {
  const attrs: DataAttribute[] = ASKED.map((type) => ({ format: 'TLV', type, value: new Uint8Array(0) }));
  states.set(p1, { phase: 'client-asking', msgId: startTransaction(x, now, p1, CfgType.ISAKMP_CFG_REQUEST, 0, attrs) });
}

function done(x: Engine, now: number, p1: KeyedP1, attributes: readonly DataAttribute[]): void {
  states.set(p1, { phase: 'done' });
  x.emit({ type: 'modecfg-done', isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, attributes });
  releaseQuickModes(x, now, p1);
}

/** XAUTH succeeded on `p1` (extensions/xauth.ts): a pulling client asks now. */
export function modeConfigAfterXauth(x: Engine, now: number, p1: KeyedP1): void {
  if (states.get(p1)?.phase === 'client-after-xauth') ask(x, now, p1);
}

/** The gateway's answer to a `modecfg-request`: the REPLY, then Quick Mode may follow. */
export function answerModeConfig(x: Engine, now: number, requestId: number, attributes: readonly DataAttribute[]): void {
  const f = fillsOf(x);
  const p1 = f.byId.get(requestId);
  if (!p1) throw new Refused('TRANSACTION', `no Mode Config request ${requestId} waits for an answer`);
  f.byId.delete(requestId);
  const s = states.get(p1);
  if (p1.life !== 'established' || s?.phase !== 'server-filling' || s.requestId !== requestId) return;
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
  if (s.phase === 'server-waiting' && !answered && a.cfgType === CfgType.ISAKMP_CFG_REQUEST) {
    const f = fillsOf(x);
    const requestId = f.next++;
    f.byId.set(requestId, p1);
    states.set(p1, { phase: 'server-filling', requestId, msgId });
    x.emit({ type: 'modecfg-request', requestId, isakmpSa: x.sas.p1Id(p1), connection: p1.conn.name, peer: p1.remote, requested: a.attributes.map((t) => t.type) });
    return true;
  }
  return false;
}

export const modeConfig: Extension = {
  name: 'modecfg',
  established(x, now, p1) {
    const policy = p1.conn.modeConfig;
    if (!policy) return;
    holdQuickModes(p1);
    if (policy.role === 'server') states.set(p1, { phase: 'server-waiting' });
    else if (p1.conn.xauth) states.set(p1, { phase: 'client-after-xauth' });
    else ask(x, now, p1);
  },
};
