/**
 * The daemon's event counts: what `isakmp status --json` shows under `counters`, and what the
 * Prometheus families of metrics.ts are made of (one source for both). Label values come from
 * bounded sets: exchange names, SA kinds, notify names (at most MAX_LABELS per table, the rest
 * counted as OTHER).
 *
 * Exchanges are counted so that no exchange finishes before it started, by construction: a start
 * is counted when we begin one (a "credit" for that exchange and connection), and an
 * outcome (completed or failed) either uses up such a credit or counts its own start at that
 * moment (an exchange the peer began; a keying retry
 * is not a new exchange). So for every exchange name, started ≥ completed + failed at all times.
 * @module
 */

export type SaKind = 'isakmp' | 'ipsec';
/** The exchanges counted: phase 1 in Main or Aggressive Mode, Quick Mode. */
export type ExchangeName = 'main' | 'aggressive' | 'quick';
export const EXCHANGE_NAMES: readonly ExchangeName[] = ['main', 'aggressive', 'quick'];

/** The SA kind an exchange makes. */
export function kindOfExchange(x: ExchangeName): SaKind {
  return x === 'quick' ? 'ipsec' : 'isakmp';
}

export interface CounterSnapshot {
  readonly exchanges: {
    /** Per SA kind (isakmp = phase 1, ipsec = Quick Mode): the sums of `byExchange`. */
    readonly started: Record<SaKind, number>;
    readonly completed: Record<SaKind, number>;
    /** failed[kind][notify name] */
    readonly failed: Record<SaKind, Record<string, number>>;
    /** The same by exchange (main, aggressive, quick). */
    readonly byExchange: {
      readonly started: Record<ExchangeName, number>;
      readonly completed: Record<ExchangeName, number>;
      readonly failed: Record<ExchangeName, Record<string, number>>;
    };
  };
  /** Dropped datagrams by the notify type the engine gave as the reason. */
  readonly dropped: Record<string, number>;
  readonly rekeyed: Record<SaKind, number>;
  readonly deleted: Record<SaKind, number>;
  readonly expired: Record<SaKind, number>;
  readonly transport: Record<string, number>;
  /** Current SAs by kind and state (filled in when the snapshot is taken). */
  readonly sas: Record<string, number>;
  readonly dataplaneFailures: number;
  /** Half-open responder phase 1s now, and how many the engine evicted to make room (when it reports them). */
  readonly halfOpen?: { readonly current: number; readonly evicted: number };
}

/**
 * The label of a dropped datagram: the notify type's name, else the engine's drop code (see
 * DropCode in src/exchange/types.ts: half-open evictions and refusals, unauthenticated
 * informationals, keying tries, the Quick Mode limit, timer and internal errors), else NO_NOTIFY.
 */
export function dropLabel(notifyName: string | undefined, code: string | undefined): string {
  return notifyName ?? code ?? 'NO_NOTIFY';
}

const MAX_LABELS = 64;
/** Initiations waiting for their outcome, per exchange and connection, and keys in all (more are counted, not kept). */
const MAX_CREDITS = 64;
const MAX_CREDIT_KEYS = 4096;

const perExchange = (): Record<ExchangeName, number> => ({ main: 0, aggressive: 0, quick: 0 });

export type ExchangeOutcome = { readonly result: 'completed' } | { readonly result: 'failed'; readonly notify: string };

export class Counters {
  private readonly started = perExchange();
  private readonly completed = perExchange();
  private readonly failed: Record<ExchangeName, Record<string, number>> = { main: {}, aggressive: {}, quick: {} };
  /** Starts counted at initiation whose outcome has not come yet, by `exchange|connection`. */
  private readonly credits = new Map<string, number>();
  readonly dropped: Record<string, number> = {};
  readonly rekeyed: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  readonly deleted: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  readonly expired: Record<SaKind, number> = { isakmp: 0, ipsec: 0 };
  dataplaneFailures = 0;

  private static bump(table: Record<string, number>, key: string): void {
    if (table[key] === undefined && Object.keys(table).length >= MAX_LABELS) key = 'OTHER';
    table[key] = (table[key] ?? 0) + 1;
  }

  /** We begin an exchange (the engine's `started` event of ours: `isakmp up`, start-up, DPD restart, a rekey). */
  initiated(exchange: ExchangeName, connection: string): void {
    this.started[exchange]++;
    const k = `${exchange}|${connection}`;
    const n = this.credits.get(k) ?? 0;
    if (n < MAX_CREDITS && (n > 0 || this.credits.size < MAX_CREDIT_KEYS)) this.credits.set(k, n + 1);
  }

  /** An exchange ended: its start was counted at initiation (one credit used), or is counted now. */
  finished(exchange: ExchangeName, connection: string, outcome: ExchangeOutcome): void {
    const k = `${exchange}|${connection}`;
    const n = this.credits.get(k);
    if (n === undefined) this.started[exchange]++;
    else if (n > 1) this.credits.set(k, n - 1);
    else this.credits.delete(k);
    if (outcome.result === 'completed') this.completed[exchange]++;
    else Counters.bump(this.failed[exchange], outcome.notify);
  }

  drop(notifyName: string): void {
    Counters.bump(this.dropped, notifyName);
  }

  snapshot(transport: Record<string, number>, sas: Record<string, number>, halfOpen?: { current: number; evicted: number }): CounterSnapshot {
    const byKind = (t: Record<ExchangeName, number>): Record<SaKind, number> => ({ isakmp: t.main + t.aggressive, ipsec: t.quick });
    const failedKind = (xs: readonly ExchangeName[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const x of xs) for (const [r, v] of Object.entries(this.failed[x])) out[r] = (out[r] ?? 0) + v;
      return out;
    };
    return {
      ...(halfOpen !== undefined ? { halfOpen: { ...halfOpen } } : {}),
      exchanges: {
        started: byKind(this.started),
        completed: byKind(this.completed),
        failed: { isakmp: failedKind(['main', 'aggressive']), ipsec: failedKind(['quick']) },
        byExchange: {
          started: { ...this.started },
          completed: { ...this.completed },
          failed: { main: { ...this.failed.main }, aggressive: { ...this.failed.aggressive }, quick: { ...this.failed.quick } },
        },
      },
      dropped: { ...this.dropped },
      rekeyed: { ...this.rekeyed },
      deleted: { ...this.deleted },
      expired: { ...this.expired },
      transport: { ...transport },
      sas: { ...sas },
      dataplaneFailures: this.dataplaneFailures,
    };
  }
}
