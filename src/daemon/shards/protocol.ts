/**
 * The messages between the daemon's main thread and its engine shards (worker threads or child
 * processes: the same messages, structured clone or V8 serialization). Each
 * post is an array of messages: the main thread gathers what one shard gets in one turn of the
 * event loop, a shard answers each array with at most one `out` (its transmits, events and SA
 * snapshots for replication). Plain data only (structured clone): byte arrays, no classes.
 */
import type { DataAttribute } from '../../codec/types.js';
import type { Connection, EngineEvent, IpsecSaInfo, IsakmpSaInfo } from '../engine.js';
import type { EndpointFactoryOptions } from '../engine.js';
import type { IpsecSaRecord, IsakmpSaRecord, SaRecord } from '../../exchange/snapshot.js';
import type { DatagramBlock } from './datagram-block.js';
import type { ReceivingTable } from './receiving.js';
import type { TransportCounters } from '../udp.js';

/** The engine options a shard is started with (functions stay in the main thread). */
export type ShardEngineOptions = Omit<EndpointFactoryOptions, 'random' | 'allocateSpi' | 'connections' | 'cookieTag'>;

export interface ShardInit {
  readonly shard: number;
  readonly shards: number;
  /** The routing key (route.ts): the shard marks its cookies with it. */
  readonly routingKey: Uint8Array;
  readonly options: ShardEngineOptions;
  readonly connections: readonly Connection[];
  /** Export SA snapshots after each batch (HA replication). */
  readonly replicate: boolean;
  /**
   * Answers to `dpd` requests (an Int32Array of DPD_SLOTS over it): the shard writes the sequence
   * number and the outcome, then the request's number, and wakes the main thread waiting on it
   * (Atomics).
   */
  readonly dpdAnswers?: SharedArrayBuffer;
  /** A shard process with its own sockets: where wildcard sockets' datagrams are addressed (receiving.ts). */
  readonly receiving?: ReceivingTable;
  /**
   * Benchmarks only (bench/shards.bench.ts): randomness derived from this seed and the initiator
   * cookie of the datagram being handled, so that a recorded conversation can be replayed.
   * Every key is predictable: never set by the daemon.
   */
  readonly benchSeed?: string;
}

/** An SA gone from a shard: its record is removed from the store. */
export interface SaRemoval {
  readonly kind: 'isakmp' | 'ipsec';
  readonly id: string;
}

export type ToShard =
  /** Datagrams received, in order (datagram-block.ts; its buffer is transferred). */
  | { readonly t: 'in'; readonly block: DatagramBlock }
  | { readonly t: 'initiate'; readonly connection: string }
  | { readonly t: 'rekey' | 'delete'; readonly sa: string }
  | { readonly t: 'traffic'; readonly sa: string; readonly bytes: number }
  | { readonly t: 'set-connection'; readonly connection: Connection }
  | { readonly t: 'remove-connection'; readonly name: string }
  | { readonly t: 'spis'; readonly local: string; readonly spis: readonly Uint8Array[] }
  /** `message` events on or off (every shard). */
  | { readonly t: 'observe'; readonly on: boolean }
  /** The daemon's answers to an `xauth-request` / `modecfg-request` of this shard (its own request id). */
  | { readonly t: 'xauth'; readonly req: number; readonly ok: boolean }
  | { readonly t: 'modecfg'; readonly req: number; readonly attributes: readonly DataAttribute[] }
  /** RFC 3706 R-U-THERE now under an ISAKMP SA; the answer goes to `dpdAnswers` (request `req`). */
  | { readonly t: 'dpd'; readonly req: number; readonly sa: string }
  | { readonly t: 'import'; readonly req: number; readonly isakmp: readonly IsakmpSaRecord[]; readonly ipsec: readonly IpsecSaRecord[] }
  | { readonly t: 'export-all'; readonly req: number }
  /** The connections' receiving table changed (a reload; shard processes with sockets). */
  | { readonly t: 'receiving'; readonly table: ReceivingTable };

/** `dpdAnswers`: [request answered last, sequence number sent (as uint32), outcome (DPD_SENT, DPD_NO_SA, DPD_FAILED)]. */
export const DPD_SLOTS = 3;
export const DPD_SENT = 1;
/** No established ISAKMP SA by that id in the shard. */
export const DPD_NO_SA = 2;
/** Anything else (the shard reports it as a problem). */
export const DPD_FAILED = 3;

export interface ShardStats {
  readonly isakmp: number;
  readonly established: number;
  readonly halfOpen: number;
  readonly halfOpenEvicted: number;
  readonly firstMessagesRefused: number;
  readonly ipsec: number;
  readonly timers: number;
  /** Datagrams this shard's socket received for another shard, and forwarded (processes). */
  readonly forwards?: number;
  /** The shard's own sockets' counters (processes with sockets). */
  readonly transport?: TransportCounters;
}

export type FromShard =
  | {
      readonly t: 'out';
      /** Datagrams to send, in order (datagram-block.ts; its buffer is transferred). */
      readonly tx: DatagramBlock | undefined;
      readonly events: readonly EngineEvent[];
      /** When the shard will rekey the SAs established in this batch (`rekeyAt`; absent: it will not). */
      readonly rekeys: readonly (readonly [id: string, at: number])[];
      /** Replication: records changed by this batch, and SAs gone. */
      readonly put: readonly SaRecord[];
      readonly removed: readonly SaRemoval[];
    }
  | { readonly t: 'stats'; readonly stats: ShardStats }
  | { readonly t: 'spi-need'; readonly local: string }
  /** For the operator's log: at error level, or `warn` (a send that failed on a shard's socket). */
  | { readonly t: 'problem'; readonly message: string; readonly level?: 'warn' }
  /** SAs taken over (HA), with when the shard will rekey them (`rekeyAt`, as in `out`). */
  | { readonly t: 'imported'; readonly req: number; readonly isakmp: readonly IsakmpSaInfo[]; readonly ipsec: readonly IpsecSaInfo[]; readonly rekeys: readonly (readonly [id: string, at: number])[]; readonly errors: readonly string[] }
  | { readonly t: 'exported'; readonly req: number; readonly records: readonly SaRecord[] }
  /** Datagrams for shard `to` that reached this shard's socket (the main process passes them on as `in`). */
  | { readonly t: 'forward'; readonly to: number; readonly block: DatagramBlock }
  /** The outcome of a `dpd` request, for a shard process (threads answer in `dpdAnswers`). */
  | { readonly t: 'dpd-answer'; readonly req: number; readonly seq: number; readonly outcome: number };
