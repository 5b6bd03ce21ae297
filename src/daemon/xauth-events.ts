/**
 * The daemon's half of XAUTH on a gateway: an `xauth-request` event of the engine (a user name and
 * password the client sent) is checked by the connection's backend (users file or RADIUS, built
 * from `xauth:` of the configuration) and the verdict goes back with `answerXauth`. The engine never
 * waits: the check runs on its own and answers when done (events-log.ts logs the outcome). An
 * accepting backend's Framed-IP-Address (RADIUS) goes to Mode Config first (modecfg-events.ts: it
 * wins over the pool). The password
 * is handed to the backend only: never to a log line.
 */
import { createHash } from 'node:crypto';
import type { ConnectionConfig, XauthBackendConfig } from './config/index.js';
import type { EngineEvent } from './engine.js';
import type { Logger } from './log.js';
import { backendFromConfig } from './remote-access/index.js';
import type { XauthBackend, XauthResult } from './remote-access/index.js';

export interface XauthEventsContext {
  readonly logger: Logger;
  readonly now: () => number;
  readonly connections: () => readonly ConnectionConfig[];
  /** The engine's verdict entry; undefined when the endpoint cannot take one (a check then fails). */
  readonly answerXauth: ((now: number, requestId: number, ok: boolean) => void) | undefined;
  /** Drains what the answer made the engine send. */
  readonly pump: () => void;
  /** False once the daemon stops: late verdicts are dropped. */
  readonly running: () => boolean;
  /** A backend accepted the user of ISAKMP SA `sa` (before the engine hears it): its RADIUS address, if any. */
  readonly accepted?: (sa: string, r: Extract<XauthResult, { ok: true }>) => void;
}

/** How an XAUTH check ended: the backend accepted or refused the user, or could not answer (a refusal for the client). */
export type XauthVerdict = 'accepted' | 'refused' | 'backend_error';

/** Connections whose verdicts are counted (configured names; a reload that removes many stops at this). */
const MAX_COUNTED_CONNECTIONS = 256;

export class XauthEvents {
  /** One backend per gateway connection, rebuilt when its `xauth:` settings change on reload. */
  private readonly backends = new Map<string, { key: string; backend: XauthBackend }>();
  /** Checks running now (their verdicts are still to come). */
  private inFlight = 0;
  /** Verdicts by connection (for the metrics). */
  private readonly verdicts = new Map<string, Record<XauthVerdict, number>>();

  constructor(private readonly ctx: XauthEventsContext) {}

  get pending(): number {
    return this.inFlight;
  }

  /** The verdicts so far, by connection and verdict. */
  verdictCounts(): { connection: string; verdict: XauthVerdict; count: number }[] {
    return [...this.verdicts].flatMap(([connection, v]) => (Object.keys(v) as XauthVerdict[]).map((verdict) => ({ connection, verdict, count: v[verdict] })));
  }

  private count(connection: string, verdict: XauthVerdict): void {
    let v = this.verdicts.get(connection);
    if (v === undefined) {
      if (this.verdicts.size >= MAX_COUNTED_CONNECTIONS) return;
      v = { accepted: 0, refused: 0, backend_error: 0 };
      this.verdicts.set(connection, v);
    }
    v[verdict]++;
  }

  onEvent(e: EngineEvent): void {
    if (e.type !== 'xauth-request') return;
    const { logger } = this.ctx;
    const fields = { connection: e.connection, peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, user: e.user };
    const answer = (ok: boolean): void => {
      if (!this.ctx.running() || this.ctx.answerXauth === undefined) return;
      try {
        this.ctx.answerXauth(this.ctx.now(), e.requestId, ok);
      } catch (err) {
        logger.debug('ike', `XAUTH verdict not taken: ${(err as Error).message}`, fields);
      }
      this.ctx.pump();
    };
    if (this.ctx.answerXauth === undefined) {
      logger.error('ike', 'XAUTH: this engine cannot take XAUTH verdicts (its EndpointLike has no answerXauth): the client is not answered', fields);
      return;
    }
    const backend = this.backendFor(e.connection);
    if (backend === undefined) {
      logger.error('ike', `XAUTH: connection ${e.connection} has no xauth backend configured (xauth: backend: or radius:); user refused`, fields);
      this.count(e.connection, 'backend_error');
      answer(false);
      return;
    }
    this.inFlight++;
    void backend
      .authenticate({ user: e.user, password: e.password, connection: e.connection, peer: e.peer, peerId: e.peerId })
      .then(
        (r) => {
          if (r.ok) {
            logger.info('ike', `XAUTH: user accepted by ${r.backend}${r.framedIp !== undefined ? ` with Framed-IP-Address ${r.framedIp}` : ''}`, fields);
            if (this.ctx.running()) this.ctx.accepted?.(e.isakmpSa, r);
          } else logger.warn('ike', `XAUTH: user refused: ${r.reason}`, { ...fields, backend: r.backend });
          this.count(e.connection, r.ok ? 'accepted' : 'refused');
          answer(r.ok);
        },
        (err: unknown) => {
          logger.error('ike', `XAUTH: the backend failed: ${(err as Error).message}`, fields);
          this.count(e.connection, 'backend_error');
          answer(false);
        },
      )
      .finally(() => this.inFlight--);
  }

  private backendFor(connection: string): XauthBackend | undefined {
    const c = this.ctx.connections().find((x) => x.name === connection);
    const ra = c?.remoteAccess;
    if (ra?.role !== 'gateway' || ra.xauth === undefined) return undefined;
    const key = keyOf(ra.xauth.backend);
    const have = this.backends.get(connection);
    if (have !== undefined && have.key === key) return have.backend;
    if (have !== undefined) void have.backend.close();
    const backend = backendFromConfig(ra.xauth.backend, (level, message, f) => this.ctx.logger.log('ike', level, message, { connection, ...f }));
    this.backends.set(connection, { key, backend });
    return backend;
  }

  async close(): Promise<void> {
    const all = [...this.backends.values()];
    this.backends.clear();
    await Promise.all(all.map((b) => b.backend.close()));
  }
}

/** Which backend settings a cached backend was built from (secrets by hash only). */
function keyOf(b: XauthBackendConfig): string {
  return JSON.stringify(b, (_k, v: unknown) => (v instanceof Uint8Array ? createHash('sha256').update(v).digest('hex') : v));
}
