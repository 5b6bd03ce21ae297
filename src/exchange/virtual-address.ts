/**
 * The virtual address Mode Config handed out on an ISAKMP SA, and what it does to the Quick Modes
 * that follow (draft-ietf-ipsec-isakmp-mode-cfg-05 §1: the client then talks from its internal
 * address):
 *
 * - a client's Quick Mode proposes IDci = the address it was given (/32, /128), not its real one;
 * - a gateway takes a Quick Mode whose initiator selector is the address it assigned to that
 *   ISAKMP SA's peer, with that address as the remote selector, and refuses any other (a peer may
 *   not claim another user's address: INVALID_ID_INFORMATION, the reason names both addresses).
 *
 * - Cisco Unity: a client given split-include networks proposes IDcr = 0.0.0.0/0 (and narrows to
 *   the split networks itself, as strongSwan's unity plugin does); the gateway echoes the IDs but
 *   the IPsec SA carries only the connection's own local selectors (every `local_ts` of that IP
 *   version, one kernel policy pair each), so it never reaches past the connection's networks.
 *
 * The address is read from the attributes themselves (INTERNAL_IP4_ADDRESS, INTERNAL_IP6_ADDRESS),
 * the ones received by a client and the ones sent by a gateway (a pool, RADIUS: the caller decides).
 * @module
 */
import type { DataAttribute } from '../codec/types.js';
import { CfgAttr } from '../constants/index.js';
import { formatAddress, hostSelector, selectorEquals } from './ids.js';
import type { P1 } from './records.js';
import { remote } from './refusal.js';
import { NotifyType } from '../constants/index.js';
import type { Selector } from './types.js';

/** Per ISAKMP SA: `ours` = the address we were given (client), `peers` = the one we assigned (gateway). */
type VirtualAddress = { readonly side: 'ours' | 'peers'; readonly address: string; readonly splitInclude: boolean };

const byP1 = new WeakMap<P1, VirtualAddress>();

/** How the reason of that refusal starts (the daemon logs it at warn: an authenticated client tried it). */
export const NOT_ITS_ADDRESS = "the client's Quick Mode selector";

/** The internal address in Mode Config attributes (the first IPv4 one, else the first IPv6 one). */
export function virtualAddressOf(attributes: readonly DataAttribute[]): string | undefined {
  for (const type of [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP6_ADDRESS]) {
    const a = attributes.find((t) => t.type === type && t.format === 'TLV');
    if (a === undefined || a.format !== 'TLV') continue;
    if (type === CfgAttr.INTERNAL_IP4_ADDRESS && a.value.length === 4) return formatAddress(a.value);
    // INTERNAL_IP6_ADDRESS: 16 bytes of address and one of prefix length (mode-cfg-05 §3.3)
    if (type === CfgAttr.INTERNAL_IP6_ADDRESS && (a.value.length === 16 || a.value.length === 17)) return formatAddress(a.value.subarray(0, 16));
  }
  return undefined;
}

/** Mode Config finished on `p1`: remember the address (a client's own, or the one a gateway gave). */
export function rememberVirtualAddress(p1: P1, side: 'ours' | 'peers', attributes: readonly DataAttribute[]): void {
  const address = virtualAddressOf(attributes);
  if (address !== undefined) byP1.set(p1, { side, address, splitInclude: attributes.some((a) => a.type === CfgAttr.UNITY_SPLIT_INCLUDE) });
}

/** The selectors a Quick Mode under `p1` starts from: the virtual address replaces the real one. */
export function withVirtualAddress(p1: P1, ts: { local: Selector; remote: Selector }): { local: Selector; remote: Selector } {
  const v = byP1.get(p1);
  if (v === undefined) return ts;
  return v.side === 'ours' ? { local: hostSelector(v.address), remote: ts.remote } : { local: ts.local, remote: hostSelector(v.address) };
}

/**
 * A connection's selector lists under `p1`, the virtual address in place of that side's (before the
 * sides are paired by IP version: an IPv6 virtual address over an IPv4 ISAKMP SA pairs with IPv6 networks).
 */
export function selectorsWithVirtualAddress<T>(p1: P1, localTs: T | undefined, remoteTs: T | undefined): { localTs: T | Selector | undefined; remoteTs: T | Selector | undefined } {
  const v = byP1.get(p1);
  if (v === undefined) return { localTs, remoteTs };
  return v.side === 'ours' ? { localTs: hostSelector(v.address), remoteTs } : { localTs, remoteTs: hostSelector(v.address) };
}

/** Gateway: the initiator's selector must be the address assigned to this peer, and only that. */
export function checkPeerVirtualAddress(p1: P1, peerTs: Selector): void {
  const v = byP1.get(p1);
  if (v?.side !== 'peers') return;
  if (!selectorEquals(peerTs, hostSelector(v.address))) {
    const claimed = peerTs.start === peerTs.end ? peerTs.start : `${peerTs.start}-${peerTs.end}`;
    throw remote(NotifyType.INVALID_ID_INFORMATION, `${NOT_ITS_ADDRESS} ${claimed} is not the virtual address ${v.address} assigned to it on this ISAKMP SA`);
  }
}

/**
 * Gateway: the local selectors a Quick Mode under `p1` installs when a Unity client that was sent
 * split includes asks for 0.0.0.0/0 (::/0): the connection's own local selectors of that IP
 * version (`locals`, duplicates dropped), in their configured order; undefined when the Quick
 * Mode is not such a request (its IDcr is then taken as it is). The IDs are still echoed as
 * received (RFC 2409 §5.5; the Cisco and racoon-based clients check them): only what the SA
 * carries is narrowed, one kernel policy pair per selector.
 */
export function unityLocalSelectors(p1: P1, ourTs: Selector, locals: readonly Selector[]): readonly Selector[] | undefined {
  const v = byP1.get(p1);
  if (v?.side !== 'peers' || !v.splitInclude || ourTs.protocol !== 0 || ourTs.port !== 0) return undefined;
  const any = ourTs.family === 4 ? hostSelector('0.0.0.0') : hostSelector('::');
  const whole = ourTs.family === 4 ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  if (!selectorEquals({ ...any, end: whole }, { ...ourTs, prefix: undefined })) return undefined;
  const out: Selector[] = [];
  for (const l of locals) if (l.family === ourTs.family && !out.some((o) => selectorEquals(o, l))) out.push(l);
  return out.length > 0 ? out : undefined;
}
