/**
 * Exchange scripts as data (RFC 2409 §5, §5.5, RFC 2408 §4.8): for each message of each exchange,
 * who sends it, whether it is encrypted, and which payloads it must, may and must not carry, with
 * counts. `checkMessage` runs incoming messages *and our own outgoing ones* against the script.
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

const r = (type: PayloadName, min: number, max: number): PayloadRule => ({ type, min, max });
const VIDS = r('VID', 0, 16);
const NOTIFIES = r('N', 0, 8);
const NATD = r('NAT-D', 0, 4);
const CR = r('CR', 0, 4);
const CERT = r('CERT', 0, 4);

/** RFC 2409 §5 Main Mode (identity protection). Auth payload: HASH (PSK) or SIG (+CERT). */
export const MAIN_MODE: readonly MessageScript[] = [
  { label: 'HDR, SA -->', from: 'I', encrypted: 'no', first: 'SA', rules: [r('SA', 1, 1), VIDS] },
  { label: '<-- HDR, SA', from: 'R', encrypted: 'no', first: 'SA', rules: [r('SA', 1, 1), VIDS] },
  { label: 'HDR, KE, Ni -->', from: 'I', encrypted: 'no', rules: [r('KE', 1, 1), r('NONCE', 1, 1), NATD, VIDS, CR] },
  { label: '<-- HDR, KE, Nr', from: 'R', encrypted: 'no', rules: [r('KE', 1, 1), r('NONCE', 1, 1), NATD, VIDS, CR] },
  { label: 'HDR*, IDii, [CERT,] HASH_I|SIG_I -->', from: 'I', encrypted: 'yes', rules: [r('ID', 1, 1), r('HASH', 0, 1), r('SIG', 0, 1), CERT, CR, NOTIFIES, VIDS] },
  { label: '<-- HDR*, IDir, [CERT,] HASH_R|SIG_R', from: 'R', encrypted: 'yes', rules: [r('ID', 1, 1), r('HASH', 0, 1), r('SIG', 0, 1), CERT, NOTIFIES, VIDS] },
];

/** RFC 2409 §5 Aggressive Mode. */
export const AGGRESSIVE_MODE: readonly MessageScript[] = [
  { label: 'HDR, SA, KE, Ni, IDii -->', from: 'I', encrypted: 'no', first: 'SA', rules: [r('SA', 1, 1), r('KE', 1, 1), r('NONCE', 1, 1), r('ID', 1, 1), CR, VIDS] },
  { label: '<-- HDR, SA, KE, Nr, IDir, [CERT,] HASH_R|SIG_R', from: 'R', encrypted: 'no', first: 'SA', rules: [r('SA', 1, 1), r('KE', 1, 1), r('NONCE', 1, 1), r('ID', 1, 1), r('HASH', 0, 1), r('SIG', 0, 1), CERT, CR, NATD, VIDS] },
  { label: 'HDR*, [CERT,] HASH_I|SIG_I -->', from: 'I', encrypted: 'either', rules: [r('HASH', 0, 1), r('SIG', 0, 1), CERT, NATD, NOTIFIES, VIDS] },
];

/** RFC 2409 §5.5 Quick Mode (the 4th message only with the commit bit). */
export const QUICK_MODE: readonly MessageScript[] = [
  { label: 'HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->', from: 'I', encrypted: 'yes', first: 'HASH', rules: [r('HASH', 1, 1), r('SA', 1, 1), r('NONCE', 1, 1), r('KE', 0, 1), r('ID', 0, 2), r('NAT-OA', 0, 2), NOTIFIES] },
  { label: '<-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]', from: 'R', encrypted: 'yes', first: 'HASH', rules: [r('HASH', 1, 1), r('SA', 1, 1), r('NONCE', 1, 1), r('KE', 0, 1), r('ID', 0, 2), r('NAT-OA', 0, 2), NOTIFIES] },
  { label: 'HDR*, HASH(3) -->', from: 'I', encrypted: 'yes', first: 'HASH', rules: [r('HASH', 1, 1)] },
  { label: '<-- HDR*, HASH(4), N(CONNECTED)', from: 'R', encrypted: 'yes', first: 'HASH', rules: [r('HASH', 1, 1), r('N', 1, 1)] },
];

/** RFC 2408 §4.8 / RFC 2409 §5.7 Informational under an ISAKMP SA. */
export const INFORMATIONAL: MessageScript = {
  label: 'HDR*, HASH(1), N/D -->',
  from: 'I',
  encrypted: 'yes',
  first: 'HASH',
  rules: [r('HASH', 1, 1), r('N', 0, 8), r('D', 0, 8)],
};

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
  for (let k = 0; k < payloads.length; k++) {
    const p = payloads[k]!;
    if (p.type === 'UNKNOWN') scriptFail(script, outgoing, NotifyType.INVALID_PAYLOAD_TYPE, `payload type ${p.payloadType} not allowed in IKEv1`);
    let i = 0;
    while (i < nr && rules[i]!.type !== p.type) i++;
    if (i === nr) scriptFail(script, outgoing, NotifyType.INVALID_PAYLOAD_TYPE, `unexpected ${p.type} payload`);
    if (++counts[i]! > rules[i]!.max) scriptFail(script, outgoing, NotifyType.PAYLOAD_MALFORMED, `more than ${rules[i]!.max} ${p.type} payloads`);
  }
  for (let i = 0; i < nr; i++) {
    if (counts[i]! < rules[i]!.min) scriptFail(script, outgoing, NotifyType.PAYLOAD_MALFORMED, `missing ${rules[i]!.type} payload`);
  }
}

const COUNTS = new Int32Array(32);

function scriptFail(script: MessageScript, outgoing: boolean, notify: number, why: string): never {
  const text = `${script.label}: ${why}`;
  throw outgoing ? new LocalProtocolError(notify, text) : new RemoteProtocolError(notify, text);
}

export function find<T extends PayloadName>(payloads: readonly Payload[], type: T): PayloadOf<T> | undefined {
  for (const p of payloads) if (p.type === type) return p as PayloadOf<T>;
  return undefined;
}

export function findAll<T extends PayloadName>(payloads: readonly Payload[], type: T): PayloadOf<T>[] {
  return payloads.filter((p) => p.type === type) as PayloadOf<T>[];
}
