/**
 * Dead Peer Detection (RFC 3706) as an extension: its vendor ID out and in, the R-U-THERE probe,
 * the answer to the peer's, the ACK of ours, and the dead peer — liveness work on the SA's timer,
 * driven by the last authenticated message from the peer (or IPsec traffic reported).
 *
 * Sequence numbers (RFC 3706 §7): ours start at a random value per ISAKMP SA and go up by one per
 * new probe; a retransmission of an unanswered probe keeps its number; an ACK counts only when it
 * carries the number of our outstanding probe. The peer's probes are answered with the number
 * they carry, when it is not older than the last one answered (a retransmission of the same one a
 * few times at most). DPD messages are protected by these numbers, not by the message-ID set.
 *
 * Liveness (a connection with `dpd`, a peer that announced DPD): silent for `delaySeconds` → an
 * R-U-THERE; unanswered → the same again every `delaySeconds`; no answer `timeoutSeconds` after
 * the first → `peer-dead`, and the SAs of that peer are deleted. A silent peer is therefore dead
 * exactly delay + timeout after its last message; anything authenticated from it (an ACK, a Quick
 * Mode, traffic) starts the count again, and an SA that just heard from the peer sends nothing —
 * except when it came from an address the SA has not moved to (NAT-T, P1.candidate): then an
 * R-U-THERE goes there at once (at most once per delay), and its ACK moves the SA.
 * No probe either while a Quick Mode with the peer is in progress (under any of its ISAKMP SAs),
 * or when the peer spoke under another of its ISAKMP SAs within the delay: the count starts again.
 * @module
 */
import type { NotifyPayload, Payload } from '../../codec/types.js';
import { NotifyType, ProtocolId } from '../../constants/index.js';
import { bytesEqual, prefixEqual, readUint32be } from '../../crypto/bytes.js';
import { notifyIn, sendInfo } from '../drivers/informational.js';
import type { Engine } from '../engine.js';
import { deleteChildren } from '../ipsec-sa.js';
import { sameAddressPort, u32 } from '../keys.js';
import { deleteP1 } from '../lifecycle.js';
import { phase1Confirmed } from '../phase2.js';
import type { DpdSequence, KeyedP1, Liveness, P1 } from '../records.js';
import { Refused, remote } from '../refusal.js';
import { seqAfter } from '../replay.js';
import type { DpdPolicy } from '../types.js';
import { cookiePair } from '../wire.js';
import { armLiveness, authenticated, liveOf, type Extension } from './index.js';

/** RFC 3706 vendor ID (major version 1; the last byte, the minor version, is not compared). */
export const DPD_VID = Uint8Array.of(0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00);
const VID: readonly Payload[] = [{ type: 'VID', data: DPD_VID }];

function isDpdVid(data: Uint8Array): boolean {
  return data.length === 16 && prefixEqual(data, DPD_VID, 15);
}

/** The only payload after HASH(1) of an Informational, when it is an R-U-THERE or R-U-THERE-ACK. */
function dpdOnly(payloads: readonly Payload[]): NotifyPayload | undefined {
  if (payloads.length !== 2) return undefined;
  const n = payloads[1];
  if (n?.type !== 'N' || n.data.length !== 4) return undefined;
  return n.notifyType === NotifyType.R_U_THERE || n.notifyType === NotifyType.R_U_THERE_ACK ? n : undefined;
}

function sequenceOf(p1: P1): DpdSequence {
  return (p1.dpd ??= { out: -1, acked: false, in: -1, inRepeats: 0, inMsgId: 0 });
}

/**
 * Probe: an R-U-THERE under the ISAKMP SA; a new sequence number (random start, then +1), or the
 * outstanding one again for a retransmission. A responder whose peer was last heard from another
 * address (NAT-T, not yet proved fresh) probes there too: the ACK is the proof that moves the SA.
 */
export function probe(x: Engine, p1: KeyedP1, retransmission: boolean): number {
  const s = sequenceOf(p1);
  if (!retransmission || s.out === -1) {
    s.out = s.out === -1 ? readUint32be(x.random(4)) & 0x7fffffff : (s.out + 1) >>> 0;
    s.acked = false;
  }
  const bytes = sendInfo(x, p1, [{ type: 'N', doi: p1.doi.id, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.R_U_THERE, spi: cookiePair(p1), data: u32(s.out) }]);
  if (bytes && p1.candidate) x.send(p1.candidate.local, p1.candidate.remote, bytes);
  return s.out;
}

/** A probe from the liveness timer: when it was sent, and when it also went to a candidate address. */
function probeNow(x: Engine, now: number, p1: KeyedP1, live: Liveness, retransmission: boolean): void {
  probe(x, p1, retransmission);
  live.probeSentAt = now;
  if (p1.candidate) live.candidateProbedAt = now;
}

/** Answer: R-U-THERE-ACK with the sequence number received. */
export function answer(x: Engine, p1: P1, n: NotifyPayload): void {
  if (n.data.length === 4 && p1.life === 'established') {
    sendInfo(x, p1, [{ type: 'N', doi: p1.doi.id, protocol: ProtocolId.PROTO_ISAKMP, notifyType: NotifyType.R_U_THERE_ACK, spi: cookiePair(p1), data: new Uint8Array(n.data) }]);
  }
}

/** The DPD policy in force for an SA: its connection's as configured now, when the peer announced DPD. */
function policy(x: Engine, p1: P1): DpdPolicy | undefined {
  const d = x.conns.current(p1.conn).dpd;
  return d !== undefined && d.delaySeconds > 0 && p1.dpdPeer ? d : undefined;
}

/** Dead: `peer-dead`, then the peer's IPsec SAs and the ISAKMP SA are deleted (Deletes sent anyway). */
function dead(x: Engine, now: number, p1: KeyedP1, d: DpdPolicy): void {
  const id = x.sas.p1Id(p1);
  x.emit({ type: 'peer-dead', isakmpSa: id, connection: p1.conn.name, peer: p1.remote, reason: `no answer to R-U-THERE for ${d.timeoutSeconds}s (after ${d.delaySeconds}s without a message)` });
  // its IPsec SAs: those of this ISAKMP SA, and those an earlier ISAKMP SA of the same peer (the
  // same address and port: clients behind one NAT share the address) negotiated on the connection
  const kids = [];
  for (const c of x.sas.childrenOfPair(p1.pairKey)) {
    if (c.state !== 'dead' && (c.info.isakmpSa === id || (c.conn.name === p1.conn.name && sameAddressPort(c.info.remote, p1.remote)))) kids.push(c);
  }
  deleteChildren(x, kids);
  deleteP1(x, p1);
}

/**
 * When the peer of `p1` was last active with us outside this SA's own count: `now` while a Quick
 * Mode with it is in progress under any of its ISAKMP SAs, else the latest authenticated message
 * under another of them; undefined when neither.
 */
function busyOrHeard(x: Engine, now: number, p1: KeyedP1): number | undefined {
  let heard: number | undefined;
  // the same peer: its address and port (clients behind one NAT share the address, not the
  // port), read from the index of that address and port (not every SA behind the NAT)
  for (const o of x.sas.p1sOfPeerPort(p1)) {
    if (o.life !== 'established' || !sameAddressPort(o.remote, p1.remote)) continue;
    if (o.qms !== undefined && o.qms.size > 0) return now;
    const at = o.live?.lastInbound;
    if (o !== p1 && at !== undefined && (heard === undefined || at > heard)) heard = at;
  }
  return heard;
}

export const dpd: Extension = {
  name: 'dpd',

  vendorIdsOut: () => VID,

  vendorIdsAnswer: () => VID,

  vendorIdIn(_x, p1, data) {
    if (isDpdVid(data)) p1.dpdPeer = true;
  },

  informationalIn(x, now, p1, payloads, msgId) {
    const n = dpdOnly(payloads);
    if (!n) return false;
    const seq = readUint32be(n.data);
    const s = sequenceOf(p1);
    if (n.notifyType === NotifyType.R_U_THERE) {
      if (msgId === s.inMsgId) throw remote(NotifyType.INVALID_MESSAGE_ID, 'R-U-THERE message ID already used (replay)');
      if (s.in === -1 || seqAfter(seq, s.in)) {
        s.in = seq;
        s.inRepeats = 0;
      } else if (seq === s.in && s.inRepeats < 3) {
        s.inRepeats++; // a retransmission of the same probe (our ACK was lost)
      } else {
        throw new Refused('DPD_REPLAY', `R-U-THERE with an old sequence number ${seq} (replay)`);
      }
      s.inMsgId = msgId;
      authenticated(x, p1, false);
    } else {
      if (seq !== s.out || s.acked) throw new Refused('DPD_REPLAY', `R-U-THERE-ACK for sequence number ${seq}, not our outstanding probe's (replay)`);
      s.acked = true;
      authenticated(x, p1, true);
    }
    phase1Confirmed(p1);
    notifyIn(x, p1, n);
    return true;
  },

  established(x, now, p1) {
    if (policy(x, p1)) liveOf(p1, now);
  },

  inbound(x, now, p1) {
    const live = p1.live;
    if (!live) return;
    if (now > live.lastInbound) live.lastInbound = now;
    live.probeSince = -1;
    // heard from an address it has not proved (its NAT mapping changed, or a replay): the peer is
    // alive but what we send may go nowhere, and its own probes alone would never move the SA:
    // ask there at once (once per delay), after this datagram; the ACK moves it (nat-t.ts)
    const d = p1.candidate ? policy(x, p1) : undefined;
    if (d && live.proveAt < 0 && !(live.candidateProbedAt >= 0 && now < live.candidateProbedAt + d.delaySeconds * 1000)) {
      live.proveAt = now;
      armLiveness(x, p1);
    }
  },

  due(x, p1) {
    const d = policy(x, p1);
    const live = p1.live;
    if (!d || !live) return undefined;
    if (live.proveAt >= 0) return live.proveAt;
    const delay = d.delaySeconds * 1000;
    if (live.probeSince < 0) return live.lastInbound + delay;
    return Math.min(live.probeSentAt + delay, live.probeSince + d.timeoutSeconds * 1000);
  },

  fire(x, now, p1) {
    const d = policy(x, p1);
    const live = p1.live;
    if (!d || !live) return;
    const delay = d.delaySeconds * 1000;
    if (live.proveAt >= 0 && now >= live.proveAt) {
      live.proveAt = -1;
      // a Quick Mode in progress proves the address itself with its last message (and a probe in
      // the middle of it makes vpnc give up its tunnel, see below)
      if (p1.candidate && !(p1.qms !== undefined && p1.qms.size > 0)) {
        probeNow(x, now, p1, live, false);
        live.probeSince = now;
        return;
      }
    }
    if (live.probeSince >= 0) {
      if (now >= live.probeSince + d.timeoutSeconds * 1000) dead(x, now, p1, d);
      else if (now >= live.probeSentAt + delay) probeNow(x, now, p1, live, true);
      return;
    }
    if (now >= live.lastInbound + delay) {
      // the peer is busy with us elsewhere: a Quick Mode in progress (a client such as vpnc gives
      // up its tunnel when a probe comes while it waits for the answer to its own Quick Mode), or
      // a recent message under another of its ISAKMP SAs: no probe, the count starts again
      const heard = busyOrHeard(x, now, p1);
      if (heard !== undefined && heard + delay > now) {
        live.lastInbound = heard;
        return;
      }
      probeNow(x, now, p1, live, false);
      live.probeSince = now;
    }
  },
};
