/**
 * IKE fragmentation for IKEv1 (the Cisco / strongSwan form: payload 132, FRAGMENTATION vendor ID)
 * as an extension: the vendor ID out (first phase-1 messages, and our answer when the peer sent
 * it) and in, reassembly of the peer's fragments into the normal receive path, and our own large
 * phase-1 messages sent in fragments.
 *
 * Receive: a datagram whose header names payload 132 first is taken here (endpoint.ts). It is
 * accepted only for a phase 1 we already hold (cookie known, so admitted under the half-open caps)
 * that is still negotiating (SHAPES.md #20: a fragment with no prior state, or under an established
 * SA, is dropped), whose connection does not say `fragmentation: no`, for Main or Aggressive Mode.
 * The pieces go to the bounded reassembly of codec/fragments.ts (SHAPES.md #2–#4); the whole
 * message is then handled as if it had arrived in one datagram, so its flags (E for MM5/MM6) are
 * judged on the reassembled message, never on a fragment's header.
 *
 * Send: Engine.send passes every datagram through fragmentsOut: a Main or Aggressive Mode message
 * under a phase 1 whose connection says `fragmentation: force`, or `yes` and the peer announced it,
 * and longer than `fragmentSize`, is cut into pieces of at most fragmentSize bytes (datagram size).
 * Never the first message (MM1 / AM1, responder cookie zero), even with `force`: a responder holds
 * no state for it yet, and fragments without prior state are refused, by this receive side as by
 * Cisco's (a forced MM1 or AM1 longer than the fragment size, e.g. an AM1 with a MODP-8192 KE,
 * never got an answer from us). It goes whole; IP fragments it when it must.
 * The pieces of the last cut message are kept, so a retransmission sends the same pieces (same
 * Fragment ID) together.
 * @module
 */
import { decodeHeaderView, decodeMessage } from '../../codec/message.js';
import { fragmentMessage } from '../../codec/fragments.js';
import type { FragmentPayload, Payload } from '../../codec/types.js';
import { ExchangeType, NotifyType } from '../../constants/index.js';
import { bytesEqual, isZero, prefixEqual } from '../../crypto/bytes.js';
import type { Engine } from '../engine.js';
import type { P1 } from '../records.js';
import { remote } from '../refusal.js';
import type { Address, Connection } from '../types.js';
import type { Extension } from './index.js';

/** The FRAGMENTATION vendor ID: MD5("FRAGMENTATION"), as Cisco and strongSwan send it. */
export const FRAGMENTATION_VID = Uint8Array.of(0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3);
const VID: readonly Payload[] = [{ type: 'VID', data: FRAGMENTATION_VID }];
const NONE: readonly Payload[] = [];

/** The default size of our fragment datagrams: 576 (IPv4 minimum MTU) − 20 (IP) − 8 (UDP). */
export const DEFAULT_FRAGMENT_SIZE = 548;
/** The smallest fragment size accepted in configuration (a header and a payload header, and data). */
export const MIN_FRAGMENT_SIZE = 68;

export type FragmentationMode = 'yes' | 'no' | 'force';

const modeOf = (conn: Connection): FragmentationMode => conn.fragmentation ?? 'yes';
/** Cisco sends the MD5 with its last 4 bytes varying (capability bits): compare the first 12. */
export const isFragmentationVid = (data: Uint8Array): boolean =>
  data.length >= 12 && data.length <= 20 && prefixEqual(data, FRAGMENTATION_VID, 12);

export const fragmentation: Extension = {
  name: 'fragmentation',
  vendorIdsOut: (_x, conn) => (modeOf(conn) === 'no' ? NONE : VID),
  vendorIdsAnswer: (_x, p1) => (p1.fragPeer && modeOf(p1.conn) !== 'no' ? VID : NONE),
  vendorIdIn(_x, p1, data) {
    if (isFragmentationVid(data)) p1.fragPeer = true;
  },
};

const phase1Exchange = (t: number): boolean => t === ExchangeType.IDENTITY_PROTECTION || t === ExchangeType.AGGRESSIVE;

/**
 * One datagram that starts with a FRAG payload: returns the reassembled message once complete.
 * Throws a typed refusal (the caller logs it as a drop) for fragments not taken.
 */
export function fragmentIn(x: Engine, now: number, remoteAddr: Address, bytes: Uint8Array): Uint8Array | undefined {
  const m = decodeMessage(bytes);
  const p1 = x.sas.p1ByCookie(m.header.initiatorCookie);
  if (p1 === undefined) throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'IKE fragment for no known phase 1: dropped');
  if (p1.life !== 'negotiating' || !phase1Exchange(m.header.exchangeType)) throw remote(NotifyType.INVALID_PAYLOAD_TYPE, 'IKE fragment outside a Main or Aggressive Mode being negotiated: dropped');
  if (modeOf(p1.conn) === 'no') throw remote(NotifyType.INVALID_PAYLOAD_TYPE, `IKE fragment refused: connection ${p1.conn.name} says fragmentation: no`);
  if (m.header.flags !== 0) throw remote(NotifyType.INVALID_FLAGS, `IKE fragment with header flags ${m.header.flags} (fragments are sent in clear, the whole message carries its own flags)`);
  const f = m.payloads[0];
  if (m.payloads.length !== 1 || f === undefined || f.type !== 'FRAG') throw remote(NotifyType.PAYLOAD_MALFORMED, 'an IKE fragment datagram must hold exactly one fragment payload');
  const r = x.fragments.add(now, `${remoteAddr.address}|${remoteAddr.port}`, m.header.initiatorCookie, f);
  if (r.kind === 'refused') throw remote(r.notify, `IKE fragment ${f.fragmentNumber} (id ${f.fragmentId}): ${r.reason}`);
  if (r.kind === 'pending') return undefined;
  return r.data;
}

/** The last message we cut into pieces (a retransmission re-sends the same pieces). */
const lastCut = new WeakMap<P1, { readonly of: Uint8Array; readonly pieces: readonly Uint8Array[] }>();

/**
 * The fragments to send instead of `data` (see the module comment), or undefined when `data`
 * goes whole (the common case: no array is built for it).
 */
export function fragmentsOut(x: Engine, data: Uint8Array): readonly Uint8Array[] | undefined {
  if (data.length < 28 || !phase1Exchange(data[18] ?? 0) || isZero(data.subarray(8, 16))) return undefined;
  const p1 = x.sas.p1ByCookie(data.subarray(0, 8));
  if (p1 === undefined) return undefined;
  const mode = modeOf(p1.conn);
  const size = p1.conn.fragmentSize ?? x.opt.fragmentSize;
  if (mode === 'no' || (mode === 'yes' && !p1.fragPeer) || data.length <= size) return undefined;
  const prev = lastCut.get(p1);
  if (prev !== undefined && (prev.of === data || bytesEqual(prev.of, data))) return prev.pieces;
  const m = decodeHeaderView(data);
  const fragmentId = (prevId.get(p1) ?? 0) + 1;
  prevId.set(p1, fragmentId & 0xffff);
  const pieces = fragmentMessage(m, data, fragmentId & 0xffff, size - 28 - 8);
  lastCut.set(p1, { of: data, pieces });
  return pieces;
}
const prevId = new WeakMap<P1, number>();
