/**
 * The dataplane contract: what the daemon hands an adapter once Quick Mode finished, and what it
 * asks of it (records for `status`, traffic counters, on-demand traps, NAT-T port updates).
 */
import type { IpsecSaInfo, Selector } from '../engine.js';

export interface DataplaneRecord {
  readonly id: string;
  readonly connection: string;
  /** 'installed', 'recorded' (none adapter) or 'failed: <kernel error>'. */
  status: string;
}

export interface Dataplane {
  readonly name: 'none' | 'xfrm';
  /**
   * Start-up check (optional): whether the dataplane can be used at all, asked once before the
   * daemon opens anything else. Resolves to why not (the daemon then does not start), or undefined.
   */
  start?(): Promise<string | undefined>;
  /** Installs an SA pair; resolves to its record (never rejects: a failure is in `status`). */
  install(sa: IpsecSaInfo): Promise<DataplaneRecord>;
  remove(id: string): Promise<void>;
  records(): DataplaneRecord[];
  /** Removes everything installed (shutdown). */
  flush(): Promise<void>;
  /**
   * On-demand (optional): installs a trap for a connection's selectors; the kernel then reports
   * matching traffic, which the adapter hands to `onAcquire(name)`. Resolves to an error text or
   * undefined.
   */
  trap?(t: TrapSpec): Promise<string | undefined>;
  /**
   * Traffic counters (optional): total bytes so far (both directions) of each installed IPsec SA,
   * by SA id. SAs the dataplane has no counter for are absent.
   */
  traffic?(): Promise<Map<string, number>>;
  untrap?(name: string): Promise<void>;
  onAcquire?: (name: string) => void;
  /**
   * Kernel-enforced limits (optional): an installed SA reached a soft or hard byte or time limit
   * (the kernel's expire message). The daemon reads the counters then, so that the engine rekeys
   * or expires the SA at once instead of at the next traffic poll.
   */
  onExpire?: (id: string, hard: boolean) => void;
  /**
   * NAT traversal (optional): an installed UDP-encapsulated SA moved to new ports (the peer's NAT
   * mapping changed); same SPIs, keys and addresses. Resolves to an error text or undefined.
   */
  update?(sa: IpsecSaInfo): Promise<string | undefined>;
  /**
   * SPIs the kernel reserved (optional, ALLOCSPI): an inbound SPI for an SA to `local`, taken from
   * a pool the adapter keeps filled, or undefined (the engine then draws a random one).
   */
  allocateSpi?(local: string): Uint8Array | undefined;
  /**
   * ESP in UDP (optional): tells the kernel to take ESP off the NAT-T socket with this file
   * descriptor (UDP_ENCAP_ESPINUDP). Resolves to an error text or undefined.
   */
  encapsulateSocket?(fd: number, port: number): string | undefined;
}

/** What an on-demand trap needs: the connection's IKE addresses, selectors and mode. */
export interface TrapSpec {
  readonly name: string;
  readonly local: string;
  readonly remote: string;
  readonly localTs: Selector;
  readonly remoteTs: Selector;
  readonly mode: 'tunnel' | 'transport';
}
