/**
 * What the remote-access chaos tests share: the gateway's daemon half (its XAUTH check for users
 * alice, bob, carol, dave with passwords pw-of-NAME, and the daemon's own ModeConfigEvents with a
 * pool of 8 addresses) fed with the gateway engine's events, and the checks after calm.
 */
import { Endpoint, type EngineEvent } from '../../src/exchange/index.js';
import type { ConnectionConfig } from '../../src/daemon/config/index.js';
import { Logger } from '../../src/daemon/log.js';
import { ModeConfigEvents } from '../../src/daemon/modecfg-events.js';
import { LocalProtocolError } from '../../src/errors.js';
import { seededRandom } from './pair.js';

/**
 * The gateway's rekey command on a client's IPsec SA: refused in words (a LocalProtocolError,
 * nothing changed) when the client holds no ISAKMP SA with us to carry it, since a connection to
 * '%any' cannot initiate one; the refusal goes to `log`, anything else thrown is a failure.
 */
export function gatewayRekey(gateway: Endpoint, now: number, id: string, log: string[]): void {
  log.push(`${now} gateway rekey ${id}`);
  try {
    gateway.rekey(now, id);
  } catch (e) {
    if (!(e instanceof LocalProtocolError) || !/cannot initiate one to %any/.test(e.message)) throw e;
    log.push(`${now} refused: ${e.message}`);
  }
}

export const USERS = ['alice', 'bob', 'carol', 'dave'] as const;
export const passwordOf = (user: string): string => `pw-of-${user}`;

/** A seeded uniform [0,1) generator. */
export function uniform(seed: string): () => number {
  const r = seededRandom(seed);
  return () => { const b = r(4); return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32; };
}

/** Drops that are the engine's own fault: an internal error, or an exception a timer threw (caught at its boundary). */
export const internalErrors = (events: readonly EngineEvent[]): string[] =>
  events.filter((e) => e.type === 'dropped' && (e.code === 'INTERNAL_ERROR' || e.code === 'TIMER_ERROR' || /^internal/.test(e.reason))).map((e) => (e as { reason: string }).reason);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Established ISAKMP SAs by cookies. */
export const p1Cookies = (ep: Endpoint): string[] => ep.isakmpSas().filter((s) => s.state === 'established').map((s) => hex(s.initiatorCookie) + hex(s.responderCookie)).sort();

/**
 * The gateway's daemon half: `serve()` takes the gateway's new events, as the daemon would; the
 * XAUTH backend's verdict comes `backendDelayMs` after the request (a RADIUS server's round trip),
 * given at the first `serve()` after that.
 */
export class GatewayDaemon {
  readonly modeConfig: ModeConfigEvents;
  private seen = 0;
  private readonly verdicts: { at: number; requestId: number; ok: boolean }[] = [];

  constructor(private readonly gw: () => Endpoint, private readonly now: () => number, private readonly events: readonly EngineEvent[], push: boolean, private readonly log: string[], private readonly backendDelayMs = 0) {
    const remoteAccess = { role: 'gateway', xauth: undefined, pool: ['10.10.0.0/29'], dns: ['10.1.0.53'], splitInclude: [], banner: undefined, modecfg: push ? 'push' : 'pull', nbns: [], localLan: [], defaultDomain: undefined, splitDns: [], savePassword: undefined };
    const config = { name: 'c', esp: [], remoteAccess } as unknown as ConnectionConfig;
    this.modeConfig = new ModeConfigEvents({
      logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => undefined }),
      now,
      connections: () => [config],
      answerModeConfig: (at, id, attrs) => gw().answerModeConfig(at, id, attrs),
      deleteSa: (sa) => gw().delete(now(), sa),
      pump: () => undefined,
    });
  }

  serve(): void {
    for (; this.seen < this.events.length; this.seen++) {
      const e = this.events[this.seen]!;
      this.modeConfig.onEvent(e);
      if (e.type === 'xauth-request') this.verdicts.push({ at: this.now() + this.backendDelayMs, requestId: e.requestId, ok: (USERS as readonly string[]).includes(e.user) && e.password === passwordOf(e.user) });
    }
    while (this.verdicts.length > 0 && this.verdicts[0]!.at <= this.now()) {
      const v = this.verdicts.shift()!;
      try {
        this.gw().answerXauth(this.now(), v.requestId, v.ok);
      } catch (err) {
        this.log.push(`${this.now()} answerXauth refused: ${(err as Error).message}`);
      }
    }
    // a verdict given now may bring Mode Config requests at once
    if (this.seen < this.events.length) this.serve();
  }

  /** Every Mode Config session belongs to an ISAKMP SA or IPsec SAs the gateway still holds. */
  staleSessions(): string[] {
    const gw = this.gw();
    const p1s = new Set(gw.isakmpSas().map((s) => s.id));
    const kids = new Set(gw.ipsecSas().map((s) => s.id));
    const last = (id: string) => this.events.filter((e) => (e as { id?: string }).id === id).map((e) => `${e.type}${'hard' in e ? (e.hard ? ' hard' : ' soft') : ''}`).pop();
    const out: string[] = [];
    for (const [sa, s] of this.modeConfig.sessions) {
      const stale = [...(s.isakmpGone || p1s.has(sa) ? [] : [sa]), ...[...s.children].filter((c) => !kids.has(c))];
      if (stale.length) out.push(`gateway: Mode Config session ${sa} (${s.address}) holds SAs the engine no longer has: ${stale.map((x) => `${x} (its last event: ${last(x)})`).join(' ')}`);
    }
    return out;
  }
}

/** One line per event, for a seed's story. */
export const showEvent = (e: EngineEvent): string => {
  const r = e as unknown as Record<string, unknown>;
  return `${r.type} ${r.kind ?? ''} ${r.code ?? ''} ${r.reason ?? ''} ${r.id ?? ''}`.slice(0, 200);
};
