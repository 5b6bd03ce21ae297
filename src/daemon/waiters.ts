/**
 * Event subscriber: the waiters of control commands. `isakmp up NAME` brings a connection up (the
 * engine starts nothing for one that is up: the answer says so at once) and waits until an IPsec
 * SA of every selector pair it started is established, or the negotiation fails, or its timeout;
 * meanwhile it hears the exchange's progress (`MM1 sent`, `MM2 received: aes128-sha256-modp2048`,
 * …, `Quick Mode done`). A failure ends with the cause line the log has too, and the cause
 * (FailureCause) for the exit code. A timeout says the last problem seen with the peer (kept
 * here, bounded, from drops, failures and notifies), in the operator's words.
 */
import { nameOf, NotifyType } from '../constants/index.js';
import type { ConnectionConfig } from './config/index.js';
import type { ControlResponse } from './control.js';
import type { EngineEvent, InitiateResult, IpsecSaInfo } from './engine.js';
import type { FailureCause } from '../exchange/types.js';
import { dropLabel } from './counters.js';
import type { IpsecSaStatus } from './status.js';

type Waiter = {
  connection: string;
  resolve: (r: ControlResponse) => void;
  timer: NodeJS.Timeout;
  /** IPsec SAs still expected (one per selector pair started or being negotiated). */
  expected: number;
  progress: ((line: string) => void) | undefined;
  /** An ISAKMP SA of this connection was established while waiting: the keys (and the PSK) match. */
  phase1Up: boolean;
};

/** At most this many peer addresses keep their last problem. */
const MAX_PROBLEMS = 1024;

/** The progress line of a message event: `MM1 sent`, `MM2 received: aes128-sha256-modp2048`, `MM1 sent again (3)`. */
export function progressLine(e: Extract<EngineEvent, { type: 'message' }>): string {
  if (e.retransmit !== undefined) return `${e.name} sent again (no answer yet, retransmission ${e.retransmit})`;
  return `${e.name} ${e.direction === 'out' ? 'sent' : 'received'}${e.detail !== undefined ? `: ${e.detail}` : ''}`;
}

export class Waiters {
  private readonly waiting = new Set<Waiter>();
  /** The last problem seen with each peer address (bounded), for `up` to say why it timed out. */
  private readonly problems = new Map<string, { text: string; cause: FailureCause | undefined }>();

  /** `statusOf` renders the SA in the answer of a successful `up`; `changed` is told when waiters come and go. */
  constructor(
    private readonly statusOf: (sa: IpsecSaInfo) => IpsecSaStatus,
    private readonly changed: () => void = () => {},
  ) {}

  /** Whether anyone waits (the daemon asks the engine for message events meanwhile). */
  get active(): boolean {
    return this.waiting.size > 0;
  }

  onEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'message':
        this.tell(e.connection, progressLine(e));
        break;
      case 'phase1-established':
        for (const w of this.waiting) if (w.connection === e.sa.connection) w.phase1Up = true;
        this.tell(e.sa.connection, `ISAKMP SA established with ${e.sa.remote.address} (${e.sa.exchange === 'main' ? 'Main Mode' : 'Aggressive Mode'})`);
        break;
      case 'ipsec-sa-established':
        if (e.rekeyOf === undefined) this.established(e.sa);
        break;
      case 'dropped':
        // a flood's first messages, and a harmless repeat, are no peer's problem worth remembering
        if (e.code === 'FIRST_MESSAGE_LIMITED' || e.code === 'REPEATED_MESSAGE') break;
        this.noteProblem(e.peer.address, `${e.reason} (${dropLabel(e.notify === 0 ? undefined : nameOf(NotifyType, e.notify), e.code)})`, e.cause);
        // the peer said in clear that it refuses: not acted upon by the engine, but `up` says so now
        if (e.cause === 'PEER_REFUSED' && e.connection !== undefined) this.settle(e.connection, { ok: false, error: `connection '${e.connection}' refused by the peer: ${e.reason}`, cause: e.cause });
        break;
      case 'failed': {
        const notify = e.notify === 0 ? undefined : nameOf(NotifyType, e.notify);
        const what = `${e.reason}${notify !== undefined && !e.reason.includes(notify) ? ` (${notify})` : ''}`;
        this.noteProblem(e.peer.address, what, e.cause);
        if (e.retrying) break; // the engine negotiates it again: `up` waits for that outcome
        this.settle(e.connection, { ok: false, error: `connection '${e.connection}' ${e.cause === 'PEER_REFUSED' ? 'refused by the peer' : 'failed'}: ${what}`, ...(e.cause !== undefined ? { cause: e.cause } : {}) });
        break;
      }
      case 'peer-dead':
        this.noteProblem(e.peer.address, `dead peer (${e.reason})`, 'NO_ANSWER');
        break;
      case 'notify':
        if (e.notify < 8192) this.noteProblem(e.peer.address, `the peer sent ${nameOf(NotifyType, e.notify)}`, 'PEER_REFUSED');
        break;
      default:
        break;
    }
  }

  noteProblem(address: string, what: string, cause?: FailureCause): void {
    this.problems.delete(address);
    this.problems.set(address, { text: what, cause });
    if (this.problems.size > MAX_PROBLEMS) this.problems.delete(this.problems.keys().next().value as string);
  }

  /**
   * Brings connection `name` up and waits (`conn` finds its configuration when the timeout's
   * message is written): `start` begins the negotiation and may throw (the answer is then its
   * message); `progress` hears the exchange as it goes.
   */
  wait(name: string, conn: () => ConnectionConfig | undefined, timeoutMs: number, start: () => InitiateResult, progress?: (line: string) => void): Promise<ControlResponse> {
    return new Promise<ControlResponse>((resolve) => {
      const w: Waiter = {
        connection: name,
        resolve,
        expected: 1,
        progress,
        phase1Up: false,
        timer: setTimeout(() => {
          this.waiting.delete(w);
          this.changed();
          resolve(this.timeoutAnswer(name, conn(), timeoutMs, w.phase1Up));
        }, timeoutMs),
      };
      this.waiting.add(w);
      this.changed();
      let r: InitiateResult;
      try {
        r = start();
      } catch (err) {
        this.drop(w);
        resolve({ ok: false, error: (err as Error).message });
        return;
      }
      if (r.started + r.negotiating === 0) {
        // up already: nothing was started (`rekey` gives new keys)
        this.drop(w);
        resolve({ ok: true, message: `connection '${name}' is already up (${r.established} IPsec SA${r.established === 1 ? '' : 's'}; 'isakmp rekey ${name}' negotiates new keys)` });
        return;
      }
      w.expected = r.started + r.negotiating;
      if (r.started === 0) progress?.('already being negotiated: waiting for it');
    });
  }

  private drop(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiting.delete(w);
    this.changed();
  }

  private tell(connection: string, line: string): void {
    for (const w of this.waiting) if (w.connection === connection) w.progress?.(line);
  }

  private established(sa: IpsecSaInfo): void {
    for (const w of [...this.waiting]) {
      if (w.connection !== sa.connection) continue;
      w.progress?.(`Quick Mode done: IPsec SA ${sa.id} established`);
      if (--w.expected > 0) continue;
      this.drop(w);
      w.resolve({ ok: true, message: `connection '${sa.connection}' established`, data: this.statusOf(sa) });
    }
  }

  private timeoutAnswer(name: string, conn: ConnectionConfig | undefined, timeoutMs: number, phase1Up: boolean): ControlResponse {
    const peer = conn?.remote.address ?? '';
    const last = this.problems.get(peer);
    let text = last?.text;
    if (text !== undefined && conn?.auth === 'psk' && last?.cause === undefined && /PAYLOAD_MALFORMED|INVALID_HASH_INFORMATION|AUTHENTICATION_FAILED/.test(text)) {
      // Garbage after decryption or a wrong hash in phase 1 is what a PSK mismatch looks like;
      // once the ISAKMP SA is up the keys are proven, and it is the peer's message we cannot read
      text += phase1Up
        ? `; the ISAKMP SA was established (the pre-shared keys match): a message of the peer after it could not be read (run with log level debug, or capture it and read it with 'isakmp decode')`
        : '; check that both sides use the same pre-shared key';
    }
    const error = `connection '${name}' not established within ${Math.round(timeoutMs / 1000)} s (${text !== undefined ? `last problem with ${peer}: ${text}` : `no answer from ${peer}: is the peer up, and do the PSK and proposals match?`})`;
    return { ok: false, error, cause: last?.cause ?? 'NO_ANSWER' };
  }

  private settle(connection: string, r: ControlResponse): void {
    for (const w of [...this.waiting]) {
      if (w.connection !== connection) continue;
      this.drop(w);
      w.resolve(r);
    }
  }

  /** Shutdown: every waiter is told. */
  close(): void {
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.resolve({ ok: false, error: 'the daemon is shutting down' });
    }
    this.waiting.clear();
    this.changed();
  }
}
