/**
 * Event subscriber: the waiters of control commands. `isakmp up NAME` waits until an IPsec SA of
 * the connection is established or its negotiation fails, or until its timeout; a timeout says
 * the last problem seen with the peer (kept here, bounded, from drops, failures and notifies), in
 * the operator's words.
 */
import { nameOf, NotifyType } from '../constants/index.js';
import type { ConnectionConfig } from './config/index.js';
import type { ControlResponse } from './control.js';
import type { EngineEvent, IpsecSaInfo } from './engine.js';
import { dropLabel } from './counters.js';
import type { IpsecSaStatus } from './status.js';

type Waiter = { connection: string; resolve: (r: ControlResponse) => void; timer: NodeJS.Timeout };

/** At most this many peer addresses keep their last problem. */
const MAX_PROBLEMS = 1024;

export class Waiters {
  private readonly waiting = new Set<Waiter>();
  /** The last problem seen with each peer address (bounded), for `up` to say why it timed out. */
  private readonly problems = new Map<string, string>();

  /** `statusOf` renders the SA in the answer of a successful `up`. */
  constructor(private readonly statusOf: (sa: IpsecSaInfo) => IpsecSaStatus) {}

  onEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'ipsec-sa-established':
        this.settle(e.sa.connection, { ok: true, message: `connection '${e.sa.connection}' established`, data: this.statusOf(e.sa) });
        break;
      case 'dropped':
        // a flood's first messages are no peer's problem worth remembering
        if (e.code === 'FIRST_MESSAGE_LIMITED') break;
        this.noteProblem(e.peer.address, `${e.reason} (${dropLabel(e.notify === 0 ? undefined : nameOf(NotifyType, e.notify), e.code)})`);
        break;
      case 'failed': {
        const notify = e.notify === 0 ? undefined : nameOf(NotifyType, e.notify);
        const what = `${e.reason}${notify !== undefined ? ` (${notify})` : ''}`;
        this.noteProblem(e.peer.address, what);
        this.settle(e.connection, { ok: false, error: `connection '${e.connection}' failed: ${what}` });
        break;
      }
      case 'peer-dead':
        this.noteProblem(e.peer.address, `dead peer (${e.reason})`);
        break;
      case 'notify':
        if (e.notify < 8192) this.noteProblem(e.peer.address, `the peer sent ${nameOf(NotifyType, e.notify)}`);
        break;
      default:
        break;
    }
  }

  noteProblem(address: string, what: string): void {
    this.problems.delete(address);
    this.problems.set(address, what);
    if (this.problems.size > MAX_PROBLEMS) this.problems.delete(this.problems.keys().next().value as string);
  }

  /**
   * Waits for connection `name` (`conn` finds its configuration when the timeout's message is
   * written): `start` begins the negotiation and may throw (the answer is then its message).
   */
  wait(name: string, conn: () => ConnectionConfig | undefined, timeoutMs: number, start: () => void): Promise<ControlResponse> {
    return new Promise<ControlResponse>((resolve) => {
      const w: Waiter = {
        connection: name,
        resolve,
        timer: setTimeout(() => {
          this.waiting.delete(w);
          resolve({ ok: false, error: this.timeoutMessage(name, conn(), timeoutMs) });
        }, timeoutMs),
      };
      this.waiting.add(w);
      try {
        start();
      } catch (err) {
        clearTimeout(w.timer);
        this.waiting.delete(w);
        resolve({ ok: false, error: (err as Error).message });
      }
    });
  }

  private timeoutMessage(name: string, conn: ConnectionConfig | undefined, timeoutMs: number): string {
    const peer = conn?.remote.address ?? '';
    let last = this.problems.get(peer);
    // Garbage after decryption or a wrong hash in phase 1 is what a PSK mismatch looks like.
    if (last !== undefined && conn?.auth === 'psk' && /PAYLOAD_MALFORMED|INVALID_HASH_INFORMATION|AUTHENTICATION_FAILED/.test(last)) {
      last += '; check that both sides use the same pre-shared key';
    }
    return `connection '${name}' not established within ${Math.round(timeoutMs / 1000)} s (${last !== undefined ? `last problem with ${peer}: ${last}` : `no answer from ${peer}: is the peer up, and do the PSK and proposals match?`})`;
  }

  private settle(connection: string, r: ControlResponse): void {
    for (const w of [...this.waiting]) {
      if (w.connection !== connection) continue;
      clearTimeout(w.timer);
      this.waiting.delete(w);
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
  }
}
