/**
 * Extensions: cross-cutting payloads and behaviours kept out of the exchange drivers. The drivers
 * call the named hooks below at fixed points of their exchanges; each extension implements the
 * hooks it needs (NAT traversal, RFC 3947: vendor IDs, NAT-D, floating, address changes, NAT-OA,
 * NAT keepalives; Dead Peer Detection, RFC 3706: its vendor ID, probes, answers, dead peers;
 * INITIAL-CONTACT, RFC 2407 §4.6.3.3).
 *
 * The order of extensions() is the order of their payloads in a message (DPD's vendor ID before
 * NAT-T's, as the engine always sent them).
 * @module
 */
import type { Payload } from '../../codec/types.js';
import type { Engine } from '../engine.js';
import { Tk, type ChosenP1, type KeyedP1, type Liveness, type P1 } from '../records.js';
import type { Address, Connection, IpsecProposal } from '../types.js';
import { dpd } from './dpd.js';
import { fragmentation } from './fragmentation.js';
import { initialContact } from './initial-contact.js';
import { natTraversal } from './nat-t.js';
import { modeConfig } from './modecfg.js';
import { xauth } from './xauth.js';

/** The hooks an extension may implement (all optional). */
export interface Extension {
  readonly name: string;
  /** VID out: vendor IDs for our first phase-1 message (MM1, AM1) under a connection. */
  vendorIdsOut?(x: Engine, conn: Connection): readonly Payload[];
  /** VID out: vendor IDs for our answer (MM2, AM2), once the peer's were read. */
  vendorIdsAnswer?(x: Engine, p1: P1): readonly Payload[];
  /** VID in: one vendor ID of the peer's MM1, MM2, AM1 or AM2. */
  vendorIdIn?(x: Engine, p1: P1, data: Uint8Array): void;
  /** NAT-D out: payloads for our key-exchange message (MM3, AM2; `answering`: MM4, AM3). */
  natdOut?(x: Engine, p1: ChosenP1, answering: boolean): readonly Payload[];
  /** NAT-D in: the peer's key-exchange message (MM3, MM4, AM2, AM3). */
  natdIn?(x: Engine, p1: ChosenP1, payloads: readonly Payload[]): void;
  /** Payloads for our authentication message (MM5, MM6, AM3), after HASH / SIG. */
  authOut?(x: Engine, p1: P1): readonly Payload[];
  /** The peer's authenticated final phase-1 message, once the SA is established. */
  authIn?(x: Engine, p1: KeyedP1, payloads: readonly Payload[]): void;
  /** Float: the initiator is about to send its authentication (MM5, AM3). */
  float?(x: Engine, p1: P1): void;
  /**
   * Address change: a message under this SA proved authentic, from `local` ← `remote`. `fresh`:
   * it could not have been sent before (a replay cannot have caused it).
   */
  addressChange?(x: Engine, p1: P1, local: Address, remote: Address, fresh: boolean): void;
  /** Inbound: the peer proved alive (an authenticated message, or IPsec traffic reported). */
  inbound?(x: Engine, now: number, p1: P1): void;
  /** The IPsec proposals a Quick Mode under this SA offers or accepts. */
  quickModeProposals?(x: Engine, p1: P1, proposals: readonly IpsecProposal[]): readonly IpsecProposal[];
  /** NAT-OA out: payloads for QM1 (initiator) / QM2 (responder); `transport`: UDP-encapsulated transport offered / chosen. */
  natOaOut?(x: Engine, p1: KeyedP1, initiator: boolean, transport: boolean): readonly Payload[];
  /** NAT-OA in: the peer's QM1 / QM2 payloads; returns the peer's original address when it applies. */
  natOaIn?(x: Engine, payloads: readonly Payload[], initiator: boolean, transport: boolean): string | undefined;
  /** An authenticated Informational under `p1`: true when the extension took it (the driver does nothing more). */
  informationalIn?(x: Engine, now: number, p1: KeyedP1, payloads: readonly Payload[], msgId: number): boolean;
  /** Phase 1 established: set up liveness state (see liveness below). */
  established?(x: Engine, now: number, p1: KeyedP1): void;
  /** Liveness: when this extension next has work on the SA (undefined: none). */
  due?(x: Engine, p1: P1): number | undefined;
  /** Liveness: the SA's liveness timer fired; do what is due. */
  fire?(x: Engine, now: number, p1: KeyedP1): void;
}

let list: readonly Extension[] | undefined;

/** The extensions in payload order (built on first use: the modules import each other). */
export function extensions(): readonly Extension[] {
  return (list ??= [dpd, natTraversal, fragmentation, initialContact, xauth, modeConfig]);
}

/** Appends `ps` to `out`. */
function append(out: Payload[], ps: readonly Payload[] | undefined): void {
  if (ps) for (const p of ps) out.push(p);
}

/** VID out: the extensions' vendor IDs for our first phase-1 message, appended to `out`. */
export function vendorIdsOut(x: Engine, conn: Connection, out: Payload[]): void {
  for (const e of extensions()) if (e.vendorIdsOut) append(out, e.vendorIdsOut(x, conn));
}

/** VID out: the extensions' vendor IDs for our answer (MM2, AM2), appended to `out`. */
export function vendorIdsAnswer(x: Engine, p1: P1, out: Payload[]): void {
  for (const e of extensions()) if (e.vendorIdsAnswer) append(out, e.vendorIdsAnswer(x, p1));
}

/** NAT-D out: appended to `out` (MM3, AM2; `answering`: MM4, AM3). */
export function natdOut(x: Engine, p1: ChosenP1, answering: boolean, out: Payload[]): void {
  for (const e of extensions()) if (e.natdOut) append(out, e.natdOut(x, p1, answering));
}

/** Payloads after our HASH / SIG (MM5, MM6, AM3), appended to `out`. */
export function authOut(x: Engine, p1: P1, out: Payload[]): void {
  for (const e of extensions()) if (e.authOut) append(out, e.authOut(x, p1));
}

/** The peer's vendor IDs, each offered to every extension. */
export function vendorIdsIn(x: Engine, p1: P1, payloads: readonly Payload[]): void {
  for (const p of payloads) {
    if (p.type !== 'VID') continue;
    for (const e of extensions()) e.vendorIdIn?.(x, p1, p.data);
  }
}

export function natdIn(x: Engine, p1: ChosenP1, payloads: readonly Payload[]): void {
  for (const e of extensions()) e.natdIn?.(x, p1, payloads);
}

export function authIn(x: Engine, p1: KeyedP1, payloads: readonly Payload[]): void {
  for (const e of extensions()) e.authIn?.(x, p1, payloads);
}

export function float(x: Engine, p1: P1): void {
  for (const e of extensions()) e.float?.(x, p1);
}

/** Before handling a datagram under a known SA: where it came from (see authenticated()). */
export function expectAuthentication(x: Engine, local: Address, remoteAddr: Address): void {
  x.rxLocal = local;
  x.rxRemote = remoteAddr;
  x.rxMark = x.tx.length;
}

/**
 * Called by the drivers once the datagram proved to come from the peer (hash or signature
 * verified, not a replay): the address-change and inbound hooks run, once per datagram. `fresh`:
 * it could not have been sent before (a handshake message, a Quick Mode completed with HASH(3) or
 * answering ours, an ACK of our outstanding DPD probe); otherwise (a first Quick Mode message, an
 * R-U-THERE, a Delete) a replay could have caused it.
 */
export function authenticated(x: Engine, p1: P1, fresh: boolean): void {
  p1.heard++;
  const l = x.rxLocal;
  const r = x.rxRemote;
  x.rxLocal = x.rxRemote = undefined;
  if (!l || !r) return;
  for (const e of extensions()) e.addressChange?.(x, p1, l, r, fresh);
  inbound(x, x.lastNow, p1);
}

/** The peer of `p1` proved alive (see Extension.inbound). */
export function inbound(x: Engine, now: number, p1: P1): void {
  for (const e of extensions()) e.inbound?.(x, now, p1);
}

export function quickModeProposals(x: Engine, p1: P1, proposals: readonly IpsecProposal[]): readonly IpsecProposal[] {
  let ps = proposals;
  for (const e of extensions()) if (e.quickModeProposals) ps = e.quickModeProposals(x, p1, ps);
  return ps;
}

/** NAT-OA out: appended to `out` (QM1, QM2). */
export function natOaOut(x: Engine, p1: KeyedP1, initiator: boolean, transport: boolean, out: Payload[]): void {
  for (const e of extensions()) if (e.natOaOut) append(out, e.natOaOut(x, p1, initiator, transport));
}

export function natOaIn(x: Engine, payloads: readonly Payload[], initiator: boolean, transport: boolean): string | undefined {
  let oa: string | undefined;
  for (const e of extensions()) oa = e.natOaIn?.(x, payloads, initiator, transport) ?? oa;
  return oa;
}

export function informationalIn(x: Engine, now: number, p1: KeyedP1, payloads: readonly Payload[], msgId: number): boolean {
  for (const e of extensions()) if (e.informationalIn?.(x, now, p1, payloads, msgId)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// liveness: one timer per established SA that needs one, at the earliest of the extensions' dues

/** The liveness record of an SA, created on first use (only SAs with liveness work have one). */
export function liveOf(p1: P1, now: number): Liveness {
  return (p1.live ??= { lastInbound: now, probeSince: -1, probeSentAt: -1, keepaliveAt: -1, inboundBytes: undefined, timer: undefined });
}

/** Phase 1 established: the extensions set up their liveness state, and the timer is armed. */
export function established(x: Engine, now: number, p1: KeyedP1): void {
  for (const e of extensions()) e.established?.(x, now, p1);
  armLiveness(x, p1);
}

/**
 * (Re)arms the SA's liveness timer at the earliest due of the extensions. Inbound traffic does not
 * re-arm it: when it fires early, the extensions find nothing due and it is armed again later.
 */
export function armLiveness(x: Engine, p1: P1): void {
  const live = p1.live;
  if (!live) return;
  let at = Infinity;
  for (const e of extensions()) {
    const d = e.due?.(x, p1);
    if (d !== undefined && d < at) at = d;
  }
  const t = live.timer;
  if (t && t.live && t.at === at) return;
  x.timers.cancel(t);
  live.timer = at === Infinity ? undefined : x.timers.add(at, p1, Tk.Liveness);
}

/** The liveness timer of an established SA fired. */
export function fireLiveness(x: Engine, now: number, p1: KeyedP1): void {
  for (const e of extensions()) {
    if (p1.life !== 'established') return;
    e.fire?.(x, now, p1);
  }
  if (p1.life === 'established') armLiveness(x, p1);
}
