/**
 * Message events (issue 10): while `Endpoint.observeMessages(true)`, every message of an exchange
 * sent or received becomes a `message` event with its payload list in order
 * (`MM3 out [KE NONCE NAT-D NAT-D]`), what it settled (`MM2 in: aes128-sha256-modp2048`), and
 * retransmissions. The daemon logs them at trace level (retransmissions at debug) and streams them
 * to `isakmp up`. Off (the default) this costs one boolean test per message.
 * @module
 */
import type { Payload } from '../codec/types.js';
import { NotifyType, lookupName } from '../constants/index.js';
import type { Engine } from './engine.js';
import type { Address } from './types.js';

/** A payload as the trace shows it: its type, a notify with its name, a Delete with its protocol. */
function payloadName(p: Payload): string {
  switch (p.type) {
    case 'N':
      return `N(${lookupName(NotifyType, p.notifyType) ?? p.notifyType})`;
    case 'D':
      return `D(${p.protocol === 1 ? 'ISAKMP' : p.protocol === 2 ? 'AH' : p.protocol === 3 ? 'ESP' : p.protocol})`;
    case 'UNKNOWN':
      return `UNKNOWN(${p.payloadType})`;
    default:
      return p.type;
  }
}

/** The payload names of a message, in order. */
export function payloadNames(payloads: readonly Payload[]): string[] {
  return payloads.map(payloadName);
}

/** Payload records or their names already (a list is all of one kind: its first element tells). */
function isRecords(payloads: readonly Payload[] | readonly string[]): payloads is readonly Payload[] {
  return payloads.length > 0 && typeof payloads[0] !== 'string';
}

function namesOf(payloads: readonly Payload[] | readonly string[]): readonly string[] {
  return isRecords(payloads) ? payloadNames(payloads) : payloads;
}

/**
 * A `message` event (only while observing): `name` such as MM3, `connection` it belongs to,
 * `detail` what it settled. `payloads` are the records or their names already.
 */
export function traceMessage(x: Engine, direction: 'in' | 'out', name: string | undefined, connection: string, peer: Address, payloads: readonly Payload[] | readonly string[], detail?: string): void {
  if (!x.observe) return;
  const names = namesOf(payloads);
  x.emit(detail !== undefined ? { type: 'message', direction, name: name ?? '?', connection, peer, payloads: names, detail } : { type: 'message', direction, name: name ?? '?', connection, peer, payloads: names });
}

/** A retransmission of the last message of an exchange (`count`: 1 for the first resend). */
export function traceRetransmit(x: Engine, name: string, connection: string, peer: Address, count: number): void {
  if (!x.observe) return;
  x.emit({ type: 'message', direction: 'out', name, connection, peer, payloads: [], retransmit: count });
}
