/**
 * Exchange scripts as data (RFC 2409 §5, §5.5, RFC 2408 §4.8): for each message of an exchange,
 * who sends it, whether it is encrypted, and which payloads it must, may and must not carry, with
 * counts. The scripts themselves live with their drivers (drivers/*.ts), indexed by the exchange
 * state that expects them; `checkMessage` runs incoming messages *and our own outgoing ones*
 * against them.
 * @module
 */
import { NotifyType } from '../constants/index.js';
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import type { DataPayload, Payload, PayloadName } from '../codec/types.js';

/** The record type of a payload name (KE, HASH, SIG, NONCE, VID share DataPayload). */
export type PayloadOf<T extends PayloadName> = T extends DataPayload['type'] ? DataPayload : Extract<Payload, { type: T }>;

export interface PayloadRule {
  readonly type: PayloadName;
  readonly min: number;
  readonly max: number;
}

export interface MessageScript {
  /** RFC arrow notation of the message, for logs and test names. */
  readonly label: string;
  readonly from: 'I' | 'R';
  /** 'yes' | 'no' | 'either' (AM3 may be sent either way). */
  readonly encrypted: 'yes' | 'no' | 'either';
  readonly rules: readonly PayloadRule[];
  /** The first payload must be of this type (HASH in Quick Mode / Informational, SA in phase 1 #1). */
  readonly first?: PayloadName;
}

export const rule = (type: PayloadName, min: number, max: number): PayloadRule => ({ type, min, max });
export const VIDS = rule('VID', 0, 16);
export const NOTIFIES = rule('N', 0, 8);
export const NATD = rule('NAT-D', 0, 4);
export const CR = rule('CR', 0, 4);
export const CERT = rule('CERT', 0, 4);

/**
 * Checks the payloads of a message against its script. Incoming violations are
 * RemoteProtocolError (INVALID_PAYLOAD_TYPE / PAYLOAD_MALFORMED); our own outgoing violations are
 * LocalProtocolError (a bug, caught before anything is sent).
 */
export function checkMessage(script: MessageScript, payloads: readonly Payload[], outgoing = false): void {
  if (script.first !== undefined && payloads[0]?.type !== script.first) {
    scriptFail(script, outgoing, NotifyType.INVALID_PAYLOAD_TYPE, `first payload must be ${script.first}, is ${payloads[0]?.type ?? 'none'}`);
  }
  // count per rule in a scratch array (scripts have at most a dozen rules): no allocation
  const rules = script.rules;
  const nr = rules.length;
  const counts = COUNTS;
  counts.fill(0, 0, nr);
  for (const p of payloads) {
    if (p.type === 'UNKNOWN') scriptFail(script, outgoing, NotifyType.INVALID_PAYLOAD_TYPE, `payload type ${p.payloadType} not allowed in IKEv1`);
    let i = 0;
    let r: PayloadRule | undefined;
    for (; i < nr; i++) {
      r = rules[i];
      if (r?.type === p.type) break;
    }
    if (i === nr || r === undefined) scriptFail(script, outgoing, NotifyType.INVALID_PAYLOAD_TYPE, `unexpected ${p.type} payload`);
    const n = (counts[i] ?? 0) + 1;
    counts[i] = n;
    if (n > r.max) scriptFail(script, outgoing, NotifyType.PAYLOAD_MALFORMED, `more than ${r.max} ${p.type} payloads`);
  }
  for (let i = 0; i < nr; i++) {
    const r = rules[i];
    if (r && (counts[i] ?? 0) < r.min) scriptFail(script, outgoing, NotifyType.PAYLOAD_MALFORMED, `missing ${r.type} payload`);
  }
}

const COUNTS = new Int32Array(32);

function scriptFail(script: MessageScript, outgoing: boolean, notify: number, why: string): never {
  const text = `${script.label}: ${why}`;
  throw outgoing ? new LocalProtocolError(notify, text) : new RemoteProtocolError(notify, text);
}

function isOfType<T extends PayloadName>(p: Payload, type: T): p is PayloadOf<T> & Payload {
  return p.type === type;
}

export function find<T extends PayloadName>(payloads: readonly Payload[], type: T): PayloadOf<T> | undefined {
  for (const p of payloads) if (isOfType(p, type)) return p;
  return undefined;
}

export function findAll<T extends PayloadName>(payloads: readonly Payload[], type: T): PayloadOf<T>[] {
  return payloads.filter((p): p is PayloadOf<T> & Payload => isOfType(p, type));
}

/**
 * The payload of a type the message's script requires (checked before): PAYLOAD_MALFORMED if it
 * is missing all the same.
 */
export function one<T extends PayloadName>(payloads: readonly Payload[], type: T): PayloadOf<T> {
  const p = find(payloads, type);
  if (p === undefined) throw new RemoteProtocolError(NotifyType.PAYLOAD_MALFORMED, `missing ${type} payload`);
  return p;
}
