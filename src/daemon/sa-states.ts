/**
 * What the daemon knows about SAs beyond the engine's lists: each IPsec SA's record and state as
 * `status` shows it (installing, established, failed-install, expiring, rekeyed), its byte count
 * from the dataplane, and the ISAKMP SAs the engine still lists as established that were rekeyed
 * or reached their soft lifetime. Bounded: entries go with their SA, marks beyond a cap oldest first.
 */
import type { IpsecSaInfo } from './engine.js';
import { ipsecSaStatus, MAX_STATUS_SAS, type IpsecSaState, type IpsecSaStatus } from './status.js';

export class SaStates {
  private readonly ipsecById = new Map<string, IpsecSaInfo>();
  private readonly ipsecStates = new Map<string, IpsecSaState>();
  /** Last byte count per IPsec SA from the dataplane. */
  private readonly bytesById = new Map<string, number>();
  private readonly isakmpMarks = new Map<string, 'rekeyed' | 'expiring'>();

  /** IPsec SAs the daemon tracks (installed or being installed). */
  get ipsecCount(): number {
    return this.ipsecById.size;
  }

  has(id: string): boolean {
    return this.ipsecById.has(id);
  }

  ipsecRecords(): IterableIterator<IpsecSaInfo> {
    return this.ipsecById.values();
  }

  ipsecState(id: string): IpsecSaState {
    return this.ipsecStates.get(id) ?? 'established';
  }

  isakmpState(id: string): 'rekeyed' | 'expiring' | undefined {
    return this.isakmpMarks.get(id);
  }

  statusOf(sa: IpsecSaInfo, now: number): IpsecSaStatus {
    return ipsecSaStatus(sa, now, this.ipsecState(sa.id), this.bytesById.get(sa.id) ?? null);
  }

  /** Quick Mode done: the SA is being installed; the one it replaces (if known) is rekeyed. */
  established(sa: IpsecSaInfo, rekeyOf: string | undefined): void {
    this.ipsecById.set(sa.id, sa);
    this.ipsecStates.set(sa.id, 'installing');
    if (rekeyOf !== undefined && this.ipsecById.has(rekeyOf)) this.ipsecStates.set(rekeyOf, 'rekeyed');
  }

  /** The dataplane finished installing (unless the SA moved on meanwhile). */
  installed(id: string, failed: boolean): void {
    if (this.ipsecStates.get(id) === 'installing') this.ipsecStates.set(id, failed ? 'failed-install' : 'established');
  }

  /** The SA's addresses changed (NAT mapping); false when the daemon does not track it. */
  updated(sa: IpsecSaInfo): boolean {
    if (!this.ipsecById.has(sa.id)) return false;
    this.ipsecById.set(sa.id, sa);
    return true;
  }

  rekeyedIpsec(old: string): void {
    if (this.ipsecById.has(old)) this.ipsecStates.set(old, 'rekeyed');
  }

  /** Soft lifetime reached: an SA in use is now expiring. */
  expiringIpsec(id: string): void {
    const st = this.ipsecStates.get(id);
    if (this.ipsecById.has(id) && (st === 'established' || st === 'installing')) this.ipsecStates.set(id, 'expiring');
  }

  /** Marks an ISAKMP SA as rekeyed / expiring (a rekeyed mark stays). */
  markIsakmp(id: string, state: 'rekeyed' | 'expiring'): void {
    if (this.isakmpMarks.get(id) === 'rekeyed') return;
    this.isakmpMarks.set(id, state);
    if (this.isakmpMarks.size > 2 * MAX_STATUS_SAS) this.isakmpMarks.delete(this.isakmpMarks.keys().next().value as string);
  }

  isakmpGone(id: string): void {
    this.isakmpMarks.delete(id);
  }

  setBytes(id: string, bytes: number): boolean {
    if (!this.ipsecById.has(id)) return false;
    this.bytesById.set(id, bytes);
    return true;
  }

  /** Forgets an IPsec SA; returns its record when it was tracked. */
  ipsecGone(id: string): IpsecSaInfo | undefined {
    const sa = this.ipsecById.get(id);
    this.ipsecById.delete(id);
    this.ipsecStates.delete(id);
    this.bytesById.delete(id);
    return sa;
  }

  clear(): void {
    this.ipsecById.clear();
    this.ipsecStates.clear();
    this.bytesById.clear();
    this.isakmpMarks.clear();
  }
}
