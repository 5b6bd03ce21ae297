/**
 * Error hierarchy (see docs/design.md). Every failure caused by peer input carries the RFC 2408
 * §3.14.1 notify type that best describes it. The notify is a hint: the endpoint decides whether
 * anything is sent back.
 */
import { NotifyType, nameOf } from './constants/index.js';

export abstract class IsakmpError extends Error {
  /** RFC 2408 §3.14.1 notify message type (1..30) describing the failure. */
  readonly notify: number;
  /** Short human-readable reason, safe to log (never contains secrets). */
  readonly reason: string;
  /** Byte offset in the datagram where the problem was found, when known. */
  readonly offset: number | undefined;
  /** Payload type being processed when the problem was found, when known. */
  readonly payload: number | undefined;

  constructor(notify: number, reason: string, opts: { offset?: number; payload?: number } = {}) {
    const where = opts.offset !== undefined ? ` at offset ${opts.offset}` : '';
    super(`${nameOf(NotifyType, notify)}: ${reason}${where}`);
    this.name = new.target.name;
    this.notify = notify;
    this.reason = reason;
    this.offset = opts.offset;
    this.payload = opts.payload;
  }

  /** RFC name of the notify type, e.g. "PAYLOAD_MALFORMED". */
  get notifyName(): string {
    return nameOf(NotifyType, this.notify);
  }
}

/** The codec could not decode (or refused to encode) a message. */
export class DecodeError extends IsakmpError {}

/** The peer broke a protocol rule (wrong payloads, bad hash, unacceptable proposal, ...). */
export class RemoteProtocolError extends IsakmpError {}

/** Our own caller broke a rule (bad configuration, invalid command); never caused by the network. */
export class LocalProtocolError extends IsakmpError {}

/** Errors of the daemon and CLI: a stable code and a message saying what to fix. */
export class UsageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
  }
}
