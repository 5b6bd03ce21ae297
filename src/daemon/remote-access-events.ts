/**
 * The remote-access subscribers of a gateway's events, built together: XAUTH verdicts
 * (xauth-events.ts) and Mode Config answers (modecfg-events.ts), with what they share (the logger,
 * the clock, the configured connections, the loop) given once; a user the XAUTH backend accepts
 * is handed to Mode Config (its RADIUS address).
 * @module
 */
import type { ConnectionConfig } from './config/index.js';
import type { EndpointLike } from './engine.js';
import type { Logger } from './log.js';
import { ModeConfigEvents } from './modecfg-events.js';
import { XauthEvents } from './xauth-events.js';

export interface RemoteAccessContext {
  readonly logger: Logger;
  readonly now: () => number;
  readonly connections: () => readonly ConnectionConfig[];
  readonly pump: () => void;
  /** False once the daemon stops: late XAUTH verdicts are dropped. */
  readonly running: () => boolean;
  /** Deletes an ISAKMP SA (a Mode Config client that cannot be given an address). */
  readonly deleteSa: (sa: string) => void;
}

export function remoteAccessEvents(endpoint: EndpointLike, ctx: RemoteAccessContext): { xauth: XauthEvents; modeConfig: ModeConfigEvents } {
  const { logger, now, connections, pump } = ctx;
  const shared = { logger, now, connections, pump };
  const answerModeConfig = endpoint.answerModeConfig;
  const modeConfig = new ModeConfigEvents({
    ...shared,
    answerModeConfig: answerModeConfig === undefined ? undefined : (at, id, attrs) => answerModeConfig.call(endpoint, at, id, attrs),
    deleteSa: ctx.deleteSa,
  });
  const answerXauth = endpoint.answerXauth;
  const xauth = new XauthEvents({
    ...shared,
    answerXauth: answerXauth === undefined ? undefined : (at, id, ok) => answerXauth.call(endpoint, at, id, ok),
    running: ctx.running,
    accepted: (sa, r) => modeConfig.accepted(sa, r),
  });
  return { xauth, modeConfig };
}
