/**
 * How the engine refuses: a peer's message that breaks a rule is a RemoteProtocolError carrying
 * the notify type it maps to (`remote()`); a refusal without a notify type carries a stable drop
 * code (`Refused`); either becomes one `dropped` event (`droppedEvent`). `missing()` stands where
 * the state machine guarantees a value (a bug, never peer input, if it ever throws).
 * @module
 */
import { IsakmpError, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import type { Address, DropCode, EngineEvent } from './types.js';

/** A refusal that maps to no notify type: its drop code travels with it to the `dropped` event. */
export class Refused extends RemoteProtocolError {
  constructor(readonly code: DropCode, reason: string) {
    super(0, reason);
  }
}

export function errorOf(e: unknown): { notify: number; code?: DropCode; reason: string } {
  if (e instanceof Refused) return { notify: 0, code: e.code, reason: e.reason };
  if (e instanceof IsakmpError) return { notify: e.notify, reason: e.reason };
  if (e instanceof Error) return { notify: 0, code: 'INTERNAL_ERROR', reason: `internal: ${e.message.slice(0, 200)}` };
  return { notify: 0, code: 'INTERNAL_ERROR', reason: 'internal error' };
}

/** The `dropped` event of a caught error. */
export function droppedEvent(peer: Address, e: unknown): EngineEvent {
  const { notify, code, reason } = errorOf(e);
  return code === undefined ? { type: 'dropped', peer, notify, reason } : { type: 'dropped', peer, notify, code, reason };
}

/** The peer broke a rule: `notify` is the type it maps to (a hint; policy decides what is sent). */
export function remote(notify: number, reason: string): RemoteProtocolError {
  return new RemoteProtocolError(notify, reason);
}

/** A value the state machine guarantees is absent: an internal error (caught as INTERNAL_ERROR). */
export function missing(what: string): never {
  throw new LocalProtocolError(0, `internal: ${what} missing`);
}
