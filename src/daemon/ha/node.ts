/**
 * Failover through etcd (docs/ha.md): one node of a cluster is active, the others stand by.
 *
 *   ownership  the key `/isakmp/<cluster>/owner`, holding the active node's name, is attached to
 *              that node's lease (kept alive every lease/3); when the node dies, etcd drops the
 *              key at the lease's end, and a standby, which tries to create it every lease/20,
 *              becomes the owner;
 *   state      every SA the active node holds is a record under `/isakmp/<cluster>/sa/ID`
 *              (ISAKMP) or `/isakmp/<cluster>/ipsec/ID` (IPsec), sealed with the cluster key
 *              (seal.ts), written after the engine batch that changed it (ha/tap.ts), in
 *              transactions that hold only while the owner key still names this node (fencing);
 *   takeover   the new owner reads every record, imports them into its shards, adds the
 *              virtual address, announces it, and installs the IPsec SAs in its dataplane; the
 *              peers see the same ISAKMP SAs answer from the same address.
 */
import type { HaConfig } from '../config/index.js';
import type { IpsecSaInfo } from '../engine.js';
import type { Logger } from '../log.js';
import type { SaRecord } from '../../exchange/snapshot.js';
import type { SaRemoval } from '../shards/protocol.js';
import type { ShardedEndpoint } from '../shards/sharded-endpoint.js';
import { Etcd } from './etcd.js';
import { Sealer } from './seal.js';
import { addVirtualIp, announce, removeVirtualIp, runCommand, type CommandRunner } from './vip.js';

export type HaState = 'standby' | 'taking-over' | 'active' | 'stopped';

export interface HaHooks {
  readonly endpoint: ShardedEndpoint;
  readonly logger: Logger;
  /** An IPsec SA taken over: into the dataplane, as one established here. */
  readonly installTakenOver: (sa: IpsecSaInfo) => void;
  /** This node is active now (start the connections an active node starts). */
  readonly onActive: () => void;
  /** Another node owns the cluster now: this one must stop answering. */
  readonly onLost: (why: string) => void;
  readonly run?: CommandRunner;
}

/** Transactions carry at most this many writes (etcd's default limit is 128 operations). */
const OPS_PER_TXN = 100;
/** Our RFC 3706 sequence numbers jump this far at a takeover: the peer never sees one twice. */
const DPD_JUMP = 65536;

export interface HaCounters {
  writes: number;
  records: number;
  failedWrites: number;
  takeovers: number;
}

export class HaNode {
  state: HaState = 'standby';
  readonly counters: HaCounters = { writes: 0, records: 0, failedWrites: 0, takeovers: 0 };
  private readonly etcd: Etcd;
  private readonly sealer: Sealer;
  private readonly run: CommandRunner;
  private readonly prefix: string;
  private readonly ownerKey: string;
  private lease: string | undefined;
  private keepTimer: NodeJS.Timeout | undefined;
  /** When a keep-alive last succeeded (Date.now()). */
  private keptAt = 0;
  private tryTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Buffer | null>();
  private writing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly c: HaConfig,
    private readonly h: HaHooks,
  ) {
    this.etcd = new Etcd(c.store, Math.max(500, (c.lease * 1000) / 2));
    this.sealer = new Sealer(c.clusterKey);
    this.run = h.run ?? runCommand;
    this.prefix = `/isakmp/${c.cluster}/`;
    this.ownerKey = `${this.prefix}owner`;
    h.endpoint.setReplicationSink((put, removed) => this.write(put, removed));
  }

  private keyOf(kind: 'isakmp' | 'ipsec', id: string): string {
    return `${this.prefix}${kind === 'isakmp' ? 'sa' : 'ipsec'}/${id}`;
  }

  /** Joins the cluster: a lease, then the first try for ownership. */
  async start(): Promise<void> {
    try {
      this.lease = await this.etcd.grant(this.c.lease);
      this.keptAt = Date.now();
    } catch (err) {
      throw new Error(`ha: the store at ${this.c.store.join(', ')} does not answer (${(err as Error).message}): check that etcd runs there`);
    }
    this.h.logger.info('daemon', 'ha: joined the cluster', { cluster: this.c.cluster, node: this.c.node, lease: this.c.lease, store: this.c.store.join(',') });
    this.keepTimer = setInterval(() => void this.keepAlive(), (this.c.lease * 1000) / 3);
    await this.tryOwn();
  }

  private async keepAlive(): Promise<void> {
    if (this.lease === undefined || this.state === 'stopped') return;
    try {
      if (await this.etcd.keepAlive(this.lease)) {
        this.keptAt = Date.now();
        return;
      }
      this.h.logger.warn('daemon', 'ha: our lease expired in the store; a new one is taken', { node: this.c.node });
      this.lease = await this.etcd.grant(this.c.lease);
      if (this.state === 'active' || this.state === 'taking-over') this.lost('our lease expired (this node was cut off from the store for longer than the lease)');
    } catch (err) {
      this.h.logger.warn('daemon', `ha: keep-alive failed: ${(err as Error).message}`);
      // cut off from the store for a whole lease: another node may own the cluster by now
      if (Date.now() - this.keptAt > this.c.lease * 1000) this.lost(`no answer from the store for ${this.c.lease}s (the lease may have run out and another node taken over)`);
    }
  }

  /** Standby: tries to create the owner key; on success, takes over. */
  private async tryOwn(): Promise<void> {
    this.tryTimer = undefined;
    if (this.state !== 'standby' || this.lease === undefined) return;
    let won = false;
    try {
      won = await this.etcd.txn([{ key: this.ownerKey, target: 'CREATE', createRevision: 0 }], [{ put: this.ownerKey, value: this.c.node, lease: this.lease }]);
    } catch (err) {
      this.h.logger.warn('daemon', `ha: the store does not answer: ${(err as Error).message}`);
    }
    if (won) {
      await this.takeOver();
      return;
    }
    if (this.state === 'standby') this.tryTimer = setTimeout(() => void this.tryOwn(), Math.max(50, (this.c.lease * 1000) / 20));
  }

  /** The records under `prefix`, opened (those that do not open are counted in `unreadable`). */
  private async readRecords(prefix: string, count: { unreadable: number }): Promise<SaRecord[]> {
    const records: SaRecord[] = [];
    try {
      for (const kv of await this.etcd.prefix(prefix)) {
        const plain = this.sealer.open(kv.key, kv.value);
        if (plain === undefined) {
          count.unreadable++;
          continue;
        }
        const r = JSON.parse(plain.toString('utf8')) as SaRecord;
        if (r.kind === 'isakmp' && r.dpd !== undefined && r.dpd.out !== -1) records.push({ ...r, dpd: { ...r.dpd, out: (r.dpd.out + DPD_JUMP) >>> 0, acked: true } });
        else records.push(r);
      }
    } catch (err) {
      this.h.logger.error('daemon', `ha: reading the SA records under ${prefix} failed: ${(err as Error).message}; starting without them (their peers renegotiate)`);
    }
    return records;
  }

  /**
   * Takes the cluster over: the ISAKMP SAs first (what the peers' next messages need), then the
   * virtual address (answers start), then the IPsec SAs and their dataplane installs.
   */
  private async takeOver(): Promise<void> {
    const t0 = Date.now();
    this.state = 'taking-over';
    this.counters.takeovers++;
    this.h.logger.info('daemon', 'ha: this node owns the cluster now, taking over', { node: this.c.node, at: t0 });
    const count = { unreadable: 0 };
    const isakmp = await this.readRecords(this.keyOf('isakmp', ''), count);
    const tRead = Date.now();
    const got = await this.h.endpoint.importRecords(isakmp);
    const tImported = Date.now();
    const err = await addVirtualIp(this.run, this.c.virtualIp, this.c.interface);
    if (err !== undefined) this.h.logger.error('daemon', `ha: cannot add the virtual address: ${err}`);
    if ((this.state as HaState) === 'stopped') return;
    this.state = 'active';
    // gratuitous ARP: the neighbours move to us (its first packet leaves at once; it runs on)
    if (this.c.garp) void announce(this.run, this.c.virtualIp, this.c.interface).then((a) => a !== undefined && this.h.logger.warn('daemon', `ha: ${a}`));
    const tVip = Date.now();
    const ipsecRecords = await this.readRecords(this.keyOf('ipsec', ''), count);
    const kids = await this.h.endpoint.importRecords(ipsecRecords);
    this.installLater(kids.ipsec);
    if (count.unreadable > 0) this.h.logger.error('daemon', `ha: ${count.unreadable} records do not open with our cluster key: check that ha.cluster_key is the same file on every node`);
    for (const e of [...got.errors, ...kids.errors].slice(0, 10)) this.h.logger.warn('daemon', `ha: record not taken over: ${e}`);
    this.h.logger.info('daemon', 'ha: active', {
      node: this.c.node,
      address: this.c.virtualIp.address,
      isakmp: got.isakmp.length,
      ipsec: kids.ipsec.length,
      refused: got.errors.length + kids.errors.length,
      readMs: tRead - t0,
      importMs: tImported - tRead,
      answeringMs: tVip - t0,
      ms: Date.now() - t0,
      at: tVip,
    });
    this.h.onActive();
    this.flushSoon();
  }

  /**
   * The dataplane installs of the SAs taken over, 100 per turn of the event loop (answers go
   * first). One deleted meanwhile is not installed: the replaced SAs whose held Delete came with
   * their ISAKMP SA's record go at their import (its `deleted` event may come before their turn).
   */
  private installLater(sas: readonly IpsecSaInfo[], from = 0): void {
    if (from >= sas.length || this.state !== 'active') return;
    setImmediate(() => {
      for (const sa of sas.slice(from, from + 100)) if (this.h.endpoint.holdsIpsecSa(sa.id)) this.h.installTakenOver(sa);
      this.installLater(sas, from + 100);
    });
  }

  private lost(why: string): void {
    if (this.state === 'stopped' || this.state === 'standby') return;
    this.h.logger.error('daemon', `ha: this node no longer owns the cluster: ${why}; it stops answering`);
    this.state = 'standby';
    this.pending.clear();
    void removeVirtualIp(this.run, this.c.virtualIp, this.c.interface);
    this.h.onLost(why);
  }

  /** Records and removals from the shards: written in the next transaction (latest value per key). */
  write(put: readonly SaRecord[], removed: readonly SaRemoval[]): void {
    if (this.state === 'stopped' || this.state === 'standby') return;
    for (const r of put) {
      const key = this.keyOf(r.kind, r.id);
      this.pending.set(key, this.sealer.seal(key, Buffer.from(JSON.stringify(r))));
    }
    for (const r of removed) this.pending.set(this.keyOf(r.kind, r.id), null);
    this.flushSoon();
  }

  private flushSoon(): void {
    if (this.writing === undefined && this.retryTimer === undefined && this.pending.size > 0 && this.state === 'active') this.writing = this.flush().finally(() => (this.writing = undefined));
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0 && this.state === 'active') {
      const batch: [string, Buffer | null][] = [];
      for (const e of this.pending) {
        batch.push(e);
        if (batch.length >= OPS_PER_TXN) break;
      }
      for (const [k] of batch) this.pending.delete(k);
      let ok: boolean;
      try {
        ok = await this.etcd.txn(
          [{ key: this.ownerKey, target: 'VALUE', value: this.c.node }],
          batch.map(([k, v]) => (v === null ? { del: k } : { put: k, value: v })),
        );
      } catch (err) {
        // the store is unreachable: keep the writes (newer values win) and try again shortly
        this.counters.failedWrites++;
        for (const [k, v] of batch) if (!this.pending.has(k)) this.pending.set(k, v);
        this.h.logger.warn('daemon', `ha: writing ${batch.length} records failed: ${(err as Error).message}; retrying`);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.flushSoon();
        }, 250);
        return;
      }
      if (!ok) {
        this.lost('the owner key names another node');
        return;
      }
      this.counters.writes++;
      this.counters.records += batch.length;
    }
  }

  /** Waits (bounded) until the pending records are written. */
  async drain(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while ((this.pending.size > 0 || this.writing !== undefined) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Leaves the cluster: the records written, the lease revoked (a standby takes over at once,
   * without waiting for the lease to run out), the virtual address removed.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasActive = this.state === 'active';
    if (wasActive) await this.drain(2000);
    this.state = 'stopped';
    if (this.keepTimer !== undefined) clearInterval(this.keepTimer);
    if (this.tryTimer !== undefined) clearTimeout(this.tryTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (wasActive) {
      const err = await removeVirtualIp(this.run, this.c.virtualIp, this.c.interface);
      if (err !== undefined) this.h.logger.warn('daemon', `ha: ${err}`);
    }
    if (this.lease !== undefined) await this.etcd.revoke(this.lease).catch(() => undefined);
    this.etcd.close();
    this.h.logger.info('daemon', 'ha: left the cluster', { node: this.c.node, writes: this.counters.writes, records: this.counters.records });
  }
}
