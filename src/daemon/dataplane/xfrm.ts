/**
 * The `xfrm` dataplane: programs the Linux kernel's IPsec tables. SAs are added first (one batch:
 * outbound, inbound); policies only once both SAs are in (a second batch), so a refused SA never
 * leaves a black-holing policy behind. A refusal names the SA and gives the kernel's own words
 * (its errno through netlink); the IKE side is not affected.
 *
 * The kernel is reached through an `XfrmKernel`: the netlink channel (default) or `ip` commands
 * (fallback; and the recording fake of the tests, given as an `IpRunner`).
 */
import { channel } from 'node:diagnostics_channel';
import type { IpsecSaInfo } from '../engine.js';
import { canonicalAddress } from './addresses.js';
import { IpKernel, spawnAcquireMonitor, spawnIp, type IpRunner, type MonitorFactory } from './ip-kernel.js';
import { describeOp, type KernelError, type XfrmKernel, type XfrmOp } from './kernel.js';
import { bypassPolicies, saRecords, trapPolicy, xfrmSelector } from './sa-records.js';
import { PolicyOwners } from './policy-owners.js';
import { SpiPool } from './spi-pool.js';
import type { Dataplane, DataplaneRecord, TrapSpec } from './types.js';
import { IPPROTO_ESP, type XfrmAcquire, type XfrmExpire, type XfrmSelector } from './xfrm-messages.js';

interface Installed {
  record: DataplaneRecord;
  /** What removes it again, in order (policies first, then SAs). */
  undo: XfrmOp[];
  /** The reqid its states and policies share. */
  reqid: number;
  /** The kernel SAs of this IPsec SA (see stateKey), for the traffic counters. */
  states: string[];
}

const stateKey = (dst: string, proto: number, spi: number): string => `${canonicalAddress(dst)}|${proto}|${spi >>> 0}`;
const selectorKey = (s: XfrmSelector): string => `${canonicalAddress(s.src)}/${s.srcPrefix}>${canonicalAddress(s.dst)}/${s.dstPrefix}`;

function undoOf(o: XfrmOp): XfrmOp {
  switch (o.op) {
    case 'add-sa':
    case 'update-sa': {
      // the identity only: the undo list lives as long as the SA and must not hold its keys
      const { family, src, dst, spi, proto } = o.state;
      return { op: 'del-sa', id: { family, src, dst, spi, proto } };
    }
    case 'set-policy':
      return { op: 'del-policy', sel: o.policy.sel, dir: o.policy.dir };
    default:
      throw new Error(`no undo for ${o.op}`);
  }
}

/**
 * Published after every install (only when someone subscribes, e.g. the load benchmark's probe):
 * `{ id, ms, ok, dataplane }`, `ms` from the install request (the Quick Mode's last message, in the
 * same event-loop turn) to the SAs and policies being in the kernel.
 */
export const installChannel = channel('isakmp:xfrm-install');

export interface XfrmDataplaneOptions {
  /** Keep a pool of kernel-reserved SPIs (ALLOCSPI) for `allocateSpi` (default: when the kernel can). */
  readonly spiPool?: boolean;
}

export class XfrmDataplane implements Dataplane {
  readonly name = 'xfrm' as const;
  readonly kernel: XfrmKernel;
  private readonly table = new Map<string, Installed>();
  /** Installed kernel SA → the IPsec SA id it belongs to (for expire messages). */
  private readonly byState = new Map<string, string>();
  /** Which SA's policies are in the kernel for each selector (a rekey's SA takes over the old one's). */
  private readonly owners = new PolicyOwners();
  private nextReqid = 1;
  /** On-demand traps by connection: one per selector pair of the connection. */
  private readonly traps = new Map<string, { spec: TrapSpec; key: string }[]>();
  private listening = false;
  private bypassed = false;
  private readonly spis: SpiPool | undefined;
  onAcquire?: (name: string) => void;
  onExpire?: (id: string, hard: boolean) => void;
  /** Set when the kernel can take ESP off the NAT-T socket (the native binding is there). */
  encapsulateSocket?: (fd: number, port: number) => string | undefined;

  /**
   * `kernel`: an `XfrmKernel`, or an `IpRunner` for the `ip` kernel (tests record its calls;
   * `monitorFactory` then stands in for `ip xfrm monitor acquire`).
   */
  constructor(
    kernel: XfrmKernel | IpRunner = spawnIp,
    private readonly log: (message: string) => void = () => {},
    monitorFactory: MonitorFactory = spawnAcquireMonitor,
    o: XfrmDataplaneOptions = {},
  ) {
    this.kernel = typeof kernel === 'function' ? new IpKernel(kernel, monitorFactory) : kernel;
    const k = this.kernel;
    this.spis = o.spiPool !== false && k.allocSpi !== undefined ? new SpiPool((r) => k.allocSpi!(r), log) : undefined;
  }

  /**
   * Start-up check: one harmless read (the SA counters: a GETSA dump, or `ip -s xfrm state`). A
   * kernel that refuses it (no CAP_NET_ADMIN, no XFRM) would refuse every SA: the daemon stops.
   */
  async start(): Promise<string | undefined> {
    try {
      await this.kernel.counters();
      return undefined;
    } catch (err) {
      const m = (err as Error).message.trim().split('\n')[0] ?? '';
      const perm = /EPERM|not permitted/i.test(m);
      return `the kernel refuses xfrm requests (${this.kernel.name}): ${m}${perm ? ' (the xfrm dataplane needs root or CAP_NET_ADMIN; or set global.dataplane: none)' : ''}`;
    }
  }

  /** ALLOCSPI requests so far (kernel calls, for the benchmark). */
  get spiRequests(): number {
    return this.spis?.requested ?? 0;
  }

  allocateSpi(local: string): Uint8Array | undefined {
    if (local === '0.0.0.0' || local === '::') return undefined; // a wildcard listener: no address to reserve for
    const s = this.spis?.take(local);
    if (s === undefined) return undefined;
    return Uint8Array.of(s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff);
  }

  private async ensureBypass(): Promise<string | undefined> {
    if (this.bypassed) return undefined;
    const ops: XfrmOp[] = bypassPolicies([500, 4500]).map((policy) => ({ op: 'set-policy', policy }));
    const r = await this.kernel.apply(ops);
    const i = r.findIndex((e) => e !== undefined);
    if (i >= 0) return `IKE bypass ${describeOp(ops[i]!)}: ${r[i]!.message}`;
    this.bypassed = true;
    return undefined;
  }

  private startListening(): void {
    if (this.listening) return;
    this.listening = true;
    this.kernel.listen({ acquire: (a) => this.acquired(a), expire: (e) => this.expired(e) });
  }

  async trap(t: TrapSpec): Promise<string | undefined> {
    const by = await this.ensureBypass();
    if (by !== undefined) return by;
    const [e] = await this.kernel.apply([{ op: 'set-policy', policy: trapPolicy(t) }]);
    if (e !== undefined) return `trap policy for ${t.name}: ${e.message}`;
    const key = selectorKey(xfrmSelector(t.localTs, t.remoteTs));
    const list = (this.traps.get(t.name) ?? []).filter((x) => x.key !== key);
    list.push({ spec: t, key });
    this.traps.set(t.name, list);
    this.startListening();
    return undefined;
  }

  /** The kernel saw outbound traffic for a policy without an SA: the trap of which connection? */
  private acquired(a: XfrmAcquire): void {
    const key = selectorKey(a.policy);
    for (const [name, list] of this.traps) if (list.some((t) => t.key === key)) this.onAcquire?.(name);
  }

  private expired(e: XfrmExpire): void {
    const id = this.byState.get(stateKey(e.sa.dst, e.sa.proto, e.sa.spi));
    if (id !== undefined) this.onExpire?.(id, e.hard);
  }

  async untrap(name: string): Promise<void> {
    const list = this.traps.get(name);
    if (list === undefined) return;
    this.traps.delete(name);
    await this.kernel.apply(list.map((t) => ({ op: 'del-policy' as const, sel: xfrmSelector(t.spec.localTs, t.spec.remoteTs), dir: 'out' as const })));
    if (this.traps.size === 0 && this.listening && this.kernel.name === 'ip') {
      this.kernel.unlisten();
      this.listening = false;
    }
  }

  /** The kernel operations that install an SA pair, in order: SAs, then policies. Keys are in them: never log. */
  operations(sa: IpsecSaInfo, reqid: number): { states: XfrmOp[]; policies: XfrmOp[] } {
    const r = saRecords(sa, reqid);
    return {
      // inbound ESP SAs take over the larval state the pool reserved their SPI with (AH: a new state)
      states: r.states.map((state, i) => ({ op: 'add-sa', state, ...(i % 2 === 1 && state.proto === IPPROTO_ESP && this.spis?.claim(state.spi) === true ? { larval: true } : {}) })),
      policies: r.policies.map((policy) => ({ op: 'set-policy', policy })),
    };
  }

  /** UPDSA of both ESP SAs with the new ESP-in-UDP ports (policies keep their addresses). */
  async update(sa: IpsecSaInfo): Promise<string | undefined> {
    const t = this.table.get(sa.id);
    if (t === undefined || t.record.status !== 'installed') return undefined;
    const ops: XfrmOp[] = saRecords(sa, t.reqid).states.map((state) => ({ op: 'update-sa', state }));
    const r = await this.kernel.apply(ops);
    const i = r.findIndex((e) => e !== undefined);
    if (i < 0) return undefined;
    const err = `kernel refused the new ESP-in-UDP ports of SA ${sa.id}: ${r[i]!.message}`;
    this.log(`xfrm: ${err}`);
    return err;
  }

  /** Applies `ops`; on any refusal undoes what succeeded and returns the first refusal. */
  private async applyAll(ops: XfrmOp[], done: XfrmOp[]): Promise<{ op: XfrmOp; error: KernelError } | undefined> {
    let r = await this.kernel.apply(ops);
    // a larval SA from ALLOCSPI that expired before the SA came: install it as a new SA
    const retry = ops.map((o, i) => (o.op === 'add-sa' && o.larval === true && r[i]?.errno === 3 /* ESRCH */ ? i : -1)).filter((i) => i >= 0);
    if (retry.length > 0) {
      const again = await this.kernel.apply(retry.map((i) => ({ ...(ops[i] as Extract<XfrmOp, { op: 'add-sa' }>), larval: false })));
      r = r.map((e, i) => (retry.includes(i) ? again[retry.indexOf(i)] : e));
    }
    let first: { op: XfrmOp; error: KernelError } | undefined;
    ops.forEach((o, i) => {
      const e = r[i];
      if (e === undefined) done.push(o);
      else first ??= { op: o, error: e };
    });
    return first;
  }

  async install(sa: IpsecSaInfo): Promise<DataplaneRecord> {
    if (!installChannel.hasSubscribers) return this.installPair(sa);
    const t0 = performance.now();
    const r = await this.installPair(sa);
    installChannel.publish({ id: sa.id, ms: performance.now() - t0, ok: r.status === 'installed', dataplane: this });
    return r;
  }

  private async installPair(sa: IpsecSaInfo): Promise<DataplaneRecord> {
    const by = await this.ensureBypass();
    if (by !== undefined) this.log(`xfrm: ${by}`);
    const reqid = this.nextReqid++;
    const { states, policies } = this.operations(sa, reqid);
    const record: DataplaneRecord = { id: sa.id, connection: sa.connection, status: 'installed' };
    const done: XfrmOp[] = [];
    const refused = (await this.applyAll(states, done)) ?? (await this.applyAll(policies, done));
    if (refused !== undefined) {
      record.status = `failed: kernel refused ${describeOp(refused.op)}: ${refused.error.message}`;
      this.log(`xfrm: ${record.status} (connection ${sa.connection}; the IKE SAs stay up, no traffic is protected)`);
      if (done.length > 0) await this.kernel.apply(this.undoing(sa.id, done.reverse().map(undoOf)));
      this.table.set(sa.id, { record, undo: [], states: [], reqid });
      return record;
    }
    const keys = states.map((o) => (o.op === 'add-sa' ? stateKey(o.state.dst, o.state.proto, o.state.spi) : ''));
    for (const k of keys) this.byState.set(k, sa.id);
    this.owners.claim(sa.id, policies.flatMap((o) => (o.op === 'set-policy' ? [o.policy] : [])));
    this.table.set(sa.id, { record, undo: done.reverse().map(undoOf), states: keys, reqid });
    return record;
  }

  /**
   * Reads the kernel's byte counters (one GETSA dump, or one `ip -s xfrm state list`, for all SAs)
   * and sums them per installed IPsec SA (inbound + outbound). The answer holds keys: it is parsed
   * and dropped, never logged.
   */
  async traffic(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const installed = [...this.table.values()].filter((e) => e.states.length > 0);
    if (installed.length === 0) return out;
    let list;
    try {
      list = await this.kernel.counters();
    } catch (err) {
      this.log(`xfrm: reading the SA byte counters: ${(err as Error).message}`);
      return out;
    }
    const bytes = new Map<string, number>();
    for (const s of list) bytes.set(stateKey(s.dst, s.proto, s.spi), s.bytes);
    for (const e of installed) {
      let total = 0;
      let found = false;
      for (const k of e.states) {
        const b = bytes.get(k);
        if (b === undefined) continue;
        total += b;
        found = true;
      }
      if (found) out.set(e.record.id, total);
    }
    return out;
  }

  async remove(id: string): Promise<void> {
    const e = this.table.get(id);
    if (e === undefined) return;
    this.table.delete(id);
    for (const k of e.states) this.byState.delete(k);
    const undo = this.undoing(id, e.undo);
    if (undo.length > 0) {
      const r = await this.kernel.apply(undo);
      r.forEach((x, i) => {
        if (x !== undefined) this.log(`xfrm: removing ${describeOp(undo[i]!)} for ${id}: ${x.message}`);
      });
    }
    // An on-demand connection gets its trap back once its SA is gone (and no other SA has its policies).
    const list = this.traps.get(e.record.connection);
    if (list !== undefined && undo.some((u) => u.op === 'del-policy')) {
      // the trap of the SA's own selector pair (the SA's policies replaced it)
      const outKeys = new Set(undo.flatMap((u) => (u.op === 'del-policy' && u.dir === 'out' ? [selectorKey(u.sel)] : [])));
      const mine = list.filter((t) => outKeys.has(t.key));
      for (const t of mine.length > 0 ? mine : list) await this.kernel.apply([{ op: 'set-policy', policy: trapPolicy(t.spec) }]);
    }
  }

  /**
   * The undo list of SA `id` as the kernel must get it: its policies deleted only where no other
   * SA holds the same selector (else set back to the newest other holder's, or left), then its SAs.
   */
  private undoing(id: string, undo: readonly XfrmOp[]): XfrmOp[] {
    const policies = undo.flatMap((u) => (u.op === 'del-policy' ? [{ sel: u.sel, dir: u.dir }] : []));
    return [...this.owners.release(id, policies), ...undo.filter((u) => u.op !== 'del-policy')];
  }

  records(): DataplaneRecord[] {
    return [...this.table.values()].map((e) => e.record);
  }

  async flush(): Promise<void> {
    for (const name of [...this.traps.keys()]) await this.untrap(name);
    // through netlink every removal goes into one batch; `ip` runs one command at a time anyway
    if (this.kernel.name === 'netlink') await Promise.all([...this.table.keys()].map((id) => this.remove(id)));
    else for (const id of [...this.table.keys()]) await this.remove(id);
    if (this.bypassed) {
      await this.kernel.apply(bypassPolicies([500, 4500]).map((p) => ({ op: 'del-policy', sel: p.sel, dir: p.dir })));
      this.bypassed = false;
    }
    this.kernel.unlisten();
    this.listening = false;
    this.kernel.close();
  }
}
