/**
 * What the xfrm dataplane asks of the kernel, as typed operations, and the two ways of asking:
 * the netlink channel (netlink-kernel.ts, the default) and `ip` commands (ip-kernel.ts, the
 * fallback when the native binding is not built, and the recording fake of the unit tests).
 */
import type { XfrmAcquire, XfrmDir, XfrmExpire, XfrmPolicy, XfrmSaId, XfrmSaInfo, XfrmSelector, XfrmSpiRequest, XfrmState } from './xfrm-messages.js';

export type XfrmOp =
  /** NEWSA; UPDSA when `larval` (the SPI came from ALLOCSPI and a larval SA holds it). */
  | { readonly op: 'add-sa'; readonly state: XfrmState; readonly larval?: boolean }
  /** UPDSA of an installed SA (new ESP-in-UDP ports). */
  | { readonly op: 'update-sa'; readonly state: XfrmState }
  | { readonly op: 'del-sa'; readonly id: XfrmSaId }
  /** UPDPOLICY: adds, or replaces a policy with the same selector and direction. */
  | { readonly op: 'set-policy'; readonly policy: XfrmPolicy }
  | { readonly op: 'del-policy'; readonly sel: XfrmSelector; readonly dir: XfrmDir };

/** A refusal: the kernel's words and, through netlink, its errno. */
export interface KernelError {
  readonly errno?: number;
  readonly message: string;
}

/** What the kernel reports without being asked. */
export interface KernelEvents {
  acquire?(a: XfrmAcquire): void;
  expire?(e: XfrmExpire): void;
}

export interface XfrmKernel {
  readonly name: 'netlink' | 'ip';
  /** Applies the operations (one batch through netlink, in order); one result per operation: undefined = done. */
  apply(ops: readonly XfrmOp[]): Promise<(KernelError | undefined)[]>;
  /** Every SA's identity and byte/packet counters (GETSA dump; `ip -s xfrm state`). Throws with the kernel's words. */
  counters(): Promise<XfrmSaInfo[]>;
  /** ALLOCSPI, when the kernel can be asked for SPIs: one result per request (an SPI or the refusal). */
  allocSpi?(reqs: readonly XfrmSpiRequest[]): Promise<(number | KernelError)[]>;
  /** Starts reporting acquires (and expires, where the kernel sends them). */
  listen(events: KernelEvents): void;
  /** Stops the reports (the `ip` kernel stops its monitor). */
  unlisten(): void;
  /** Releases the channel (the next call opens a new one). */
  close(): void;
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 50: 'esp', 51: 'ah', 58: 'ipv6-icmp', 132: 'sctp' };

/** The selector as `ip xfrm` writes it: "src A/P dst B/P [proto udp [sport N] [dport N]]". */
export function selectorWords(s: XfrmSelector): string[] {
  const a = ['src', `${s.src}/${s.srcPrefix}`, 'dst', `${s.dst}/${s.dstPrefix}`];
  if (s.proto !== 0) {
    a.push('proto', PROTO_NAMES[s.proto] ?? String(s.proto));
    if (s.sport !== 0) a.push('sport', String(s.sport));
    if (s.dport !== 0) a.push('dport', String(s.dport));
  }
  return a;
}

export const hexSpi = (spi: number): string => '0x' + (spi >>> 0).toString(16).padStart(8, '0');

/** What an operation is about, in an error message (never keys). */
export function describeOp(o: XfrmOp): string {
  switch (o.op) {
    case 'add-sa':
    case 'update-sa':
      return `ESP SA ${o.state.src} -> ${o.state.dst} spi ${hexSpi(o.state.spi)}`;
    case 'del-sa':
      return `ESP SA ${o.id.src} -> ${o.id.dst} spi ${hexSpi(o.id.spi)}`;
    case 'set-policy':
      return `policy ${selectorWords(o.policy.sel).join(' ')} dir ${o.policy.dir} priority ${o.policy.priority}`;
    case 'del-policy':
      return `policy ${selectorWords(o.sel).join(' ')} dir ${o.dir}`;
  }
}
