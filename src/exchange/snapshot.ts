/**
 * SA snapshots: the state of one established ISAKMP SA, and of one IPsec SA, as plain versioned
 * records, and back into an endpoint. A daemon replicates them (encrypted) so that another node
 * can take the SAs over and answer the peer under the same ISAKMP SA (docs/ha.md). Pure: no I/O;
 * the records are JSON-ready (bytes as lower-case hex, times in the engine's clock, `now`).
 *
 * What an ISAKMP SA record holds: cookies, role, mode, addresses, the chosen transform, SKEYID_d,
 * SKEYID_a, the encryption key, the last phase-1 IV (from which every Quick Mode and
 * Informational IV derives: it does not change once phase 1 is done), the peer's identity, the
 * lifetimes and the rekey deadline, every message ID the peer used (replay.ts), the RFC 3706
 * sequence numbers, NAT-T and DPD flags, our last phase-1 message (answered again when the
 * peer repeats its last one), and the IPsec SAs our rekeys under it replaced whose one Delete it
 * still holds (ipsec-sa.ts deleteReplaced): the importer sends that Delete once their records are
 * imported too (the Quick Mode of ours it waited for did not travel). What it does not hold:
 * exchanges in progress (a phase 1 still negotiating, a Quick Mode in flight: the peer retries
 * them), the few recently finished Quick Modes kept for repeats, and the liveness clock (it starts
 * again at import).
 *
 * An IPsec SA record holds the SA summary with both directions' SPIs and KEYMAT, the peer's
 * identity, the byte count and the soft (rekey) deadline; it is imported on its own (IPsec SAs
 * outlive the ISAKMP SA they were negotiated under).
 *
 * Import refuses a record of another version or of a connection the endpoint does not have
 * (LocalProtocolError); an SA with the same cookies or SPI already there is replaced, silently.
 * @module
 */
import { IdType } from '../constants/index.js';
import { fromHex, toHex } from '../crypto/bytes.js';
import { LocalProtocolError } from '../errors.js';
import type { PeerIdentity } from './authorization.js';
import { IPSEC_DOI } from './doi.js';
import { newP1 } from './drivers/phase1.js';
import { engineOf, type Endpoint } from './endpoint.js';
import type { Engine } from './engine.js';
import { established as livenessEstablished } from './extensions/index.js';
import { deleteReplaced, heldDeletes, holdDelete, removeChild } from './ipsec-sa.js';
import { destroyP1, p1Info } from './lifecycle.js';
import { bkey, pairKeyFlat, smi, spiKey } from './keys.js';
import { setChosen } from './key-schedule.js';
import { markSeen } from './replay.js';
import { Tk, encKeyOf, hasKeys, isEstablished, ivOf, skeyidAOf, skeyidDOf, type Child, type DpdSequence, type P1 } from './records.js';
import type { Address, ChosenIke, Connection, DirectionKeys, IpsecSaInfo, IsakmpSaInfo, Selector } from './types.js';
import { PRF_OUTPUT_LENGTH } from '../crypto/prf.js';

/** The version of the records this engine writes and reads. */
export const SNAPSHOT_VERSION = 1;

/**
 * The longest an overdue rekey of an imported SA waits (ms). A standby that takes over SAs whose
 * rekey time passed while the store was its only copy (a long failover, an old snapshot) would
 * otherwise rekey them all in its first turn: one Diffie-Hellman per ISAKMP SA (and per IPsec SA
 * with PFS) in the moment the survivor is busiest, the reconnect storm HA exists to avoid.
 */
export const OVERDUE_REKEY_SPREAD_MS = 300_000;

/**
 * When an imported SA whose rekey time is `rekeyAt` rekeys, taken over at `now`, with its hard
 * expiry at `hardAt`: on time when still ahead; when overdue, at a random point of a window from
 * `now` that is at most `OVERDUE_REKEY_SPREAD_MS` and at most half of what is left of its
 * lifetime (so the rekey, and its retransmissions, still finish before the SA expires).
 */
function importedRekeyAt(x: Engine, now: number, rekeyAt: number, hardAt: number | undefined): number {
  if (rekeyAt > now) return rekeyAt;
  const left = hardAt !== undefined ? Math.max(0, hardAt - now) : OVERDUE_REKEY_SPREAD_MS * 2;
  const window = Math.min(OVERDUE_REKEY_SPREAD_MS, Math.floor(left / 2));
  const r = x.random(3);
  const u = (((r[0] ?? 0) << 16) | ((r[1] ?? 0) << 8) | (r[2] ?? 0)) / 0x1000000;
  return now + Math.floor(window * u);
}

/** A peer identity in a record: bytes as hex. */
export type PeerIdRecord =
  | { readonly type: 'ipv4' | 'ipv6' | 'fqdn' | 'user-fqdn'; readonly value: string }
  | { readonly type: 'der-asn1-dn'; readonly hex: string }
  | { readonly type: 'key-id'; readonly hex: string }
  | { readonly type: 'any' }
  | { readonly type: 'other'; readonly idType: number; readonly hex: string };

/** One established ISAKMP SA. */
export interface IsakmpSaRecord {
  readonly v: typeof SNAPSHOT_VERSION;
  readonly kind: 'isakmp';
  /** The SA id: hex initiator cookie + hex responder cookie. */
  readonly id: string;
  readonly connection: string;
  readonly role: 'initiator' | 'responder';
  readonly mode: 'main' | 'aggressive';
  readonly doi: number;
  readonly local: Address;
  readonly remote: Address;
  readonly transform: ChosenIke;
  readonly skeyidD: string;
  readonly skeyidA: string;
  readonly encKey: string;
  /** The last CBC block of phase 1 (RFC 2409 App. B). */
  readonly iv: string;
  readonly peerId?: PeerIdRecord;
  /** The per-peer caps' key (connection + identity, issue 9.6). */
  readonly peerKey?: string;
  readonly establishedAt: number;
  readonly expiresAt: number;
  /** When the initiator rekeys it (absent: the responder, or no rekey). */
  readonly rekeyAt?: number;
  /** Message IDs the peer used (signed 32-bit, as replay.ts keeps them). */
  readonly seen: readonly number[];
  readonly nattPeer: boolean;
  readonly nat?: { readonly local: boolean; readonly remote: boolean; readonly encapsulation: boolean };
  readonly dpdPeer: boolean;
  readonly dpd?: Readonly<DpdSequence>;
  /** Our last phase-1 message and the fingerprint of the peer's, while phase 1 is not confirmed. */
  readonly lastRecv?: number;
  readonly lastSent?: string;
  /**
   * The IPsec SAs (ids) that our rekeys under this SA replaced, their one Delete held until no
   * Quick Mode of ours waits on it (absent: none). Optional, so records stay version 1: an
   * engine that does not know the field ignores it (and those Deletes are not sent, as before).
   */
  readonly replaced?: readonly string[];
}

/** One protocol of an IPsec SA: SPIs and KEYMAT of both directions. */
export interface IpsecProtocolRecord {
  readonly protocol: number;
  readonly transformId: number;
  readonly keyLength: number;
  readonly authAlgorithm: number;
  /** Bytes of KEYMAT that are the encryption key (the rest is the integrity key). */
  readonly encLength: number;
  readonly inSpi: string;
  readonly inKeymat: string;
  readonly outSpi: string;
  readonly outKeymat: string;
}

/** What an IPsec SA's record shares with its summary (`IpsecSaInfo`): all but the protocols. */
type IpsecSaFields = Omit<IpsecSaInfo, 'protocols'>;

/** One IPsec SA: its summary's fields, its keys, and what the engine keeps beside them. */
export interface IpsecSaRecord extends IpsecSaFields {
  readonly v: typeof SNAPSHOT_VERSION;
  readonly kind: 'ipsec';
  readonly protocols: readonly IpsecProtocolRecord[];
  readonly peerId?: PeerIdRecord;
  readonly peerKey?: string;
  readonly bytes: number;
  /** When the initiator rekeys it (absent: none armed). */
  readonly rekeyAt?: number;
}

/** A copy of the summary fields of an IPsec SA (from its summary on export, from a record on import). */
function copyIpsecSaFields(i: IpsecSaFields): IpsecSaFields {
  return {
    id: i.id,
    isakmpSa: i.isakmpSa,
    connection: i.connection,
    role: i.role,
    mode: i.mode,
    group: i.group,
    local: { address: i.local.address, port: i.local.port },
    remote: { address: i.remote.address, port: i.remote.port },
    localTs: { ...i.localTs },
    remoteTs: { ...i.remoteTs },
    ...(i.localSelectors !== undefined ? { localSelectors: i.localSelectors.map((t) => ({ ...t })) } : {}),
    ...(i.wireLocalTs !== undefined ? { wireLocalTs: { ...i.wireLocalTs } } : {}),
    lifetimeSeconds: i.lifetimeSeconds,
    lifetimeKilobytes: i.lifetimeKilobytes,
    establishedAt: i.establishedAt,
    ...(i.udpEncapsulation ? { udpEncapsulation: true as const } : {}),
    ...(i.peerOriginalAddress !== undefined ? { peerOriginalAddress: i.peerOriginalAddress } : {}),
  };
}

export type SaRecord = IsakmpSaRecord | IpsecSaRecord;

// ---------------------------------------------------------------------------------------------
// export

function peerIdRecord(id: PeerIdentity | undefined): PeerIdRecord | undefined {
  if (id === undefined) return undefined;
  if (id.type === 'der-asn1-dn' || id.type === 'key-id') return { type: id.type, hex: toHex(id.value) };
  if (id.type === 'other') return { type: 'other', idType: id.idType, hex: toHex(id.data) };
  return id;
}

function peerIdentity(r: PeerIdRecord | undefined): PeerIdentity | undefined {
  if (r === undefined) return undefined;
  if (r.type === 'der-asn1-dn') return { type: r.type, value: fromHex(r.hex) };
  if (r.type === 'key-id') return { type: r.type, value: fromHex(r.hex) };
  if (r.type === 'other') return { type: 'other', idType: r.idType, data: fromHex(r.hex) };
  if (r.type === 'any') return { type: 'any' };
  return { type: r.type, value: r.value };
}

function seenIds(p1: P1): number[] {
  const out: number[] = [];
  if (p1.seen1 !== 0) out.push(p1.seen1);
  const rest = p1.seenRest;
  if (rest !== undefined) for (const id of rest.subarray(0, p1.seenCount)) out.push(id);
  return out;
}

/** The record of an established ISAKMP SA (by its id, hex cookies), or undefined. */
export function exportIsakmpSa(ep: Endpoint, id: string): IsakmpSaRecord | undefined {
  const x = engineOf(ep);
  const p1 = x.sas.findP1ById(id);
  if (!isEstablished(p1)) return undefined;
  const soft = p1.tSoft?.live === true ? p1.tSoft.at : undefined;
  const r: IsakmpSaRecord = {
    v: SNAPSHOT_VERSION,
    kind: 'isakmp',
    id: x.sas.p1Id(p1),
    connection: p1.conn.name,
    role: p1.role,
    mode: p1.mode,
    doi: p1.doi.id,
    local: { address: p1.local.address, port: p1.local.port },
    remote: { address: p1.remote.address, port: p1.remote.port },
    transform: { ...p1.chosen },
    skeyidD: toHex(skeyidDOf(p1)),
    skeyidA: toHex(skeyidAOf(p1)),
    encKey: toHex(encKeyOf(p1)),
    iv: toHex(ivOf(p1)),
    ...(p1.peerId !== undefined ? { peerId: peerIdRecord(p1.peerId)! } : {}),
    ...(p1.peerKey !== undefined ? { peerKey: p1.peerKey } : {}),
    establishedAt: p1.establishedAt ?? 0,
    expiresAt: p1.expiresAt ?? 0,
    ...(soft !== undefined ? { rekeyAt: soft } : {}),
    seen: seenIds(p1),
    nattPeer: p1.nattPeer,
    ...(p1.nat !== undefined ? { nat: { local: p1.nat.local, remote: p1.nat.remote, encapsulation: p1.nat.encapsulation } } : {}),
    dpdPeer: p1.dpdPeer,
    ...(p1.dpd !== undefined ? { dpd: { ...p1.dpd } } : {}),
    ...(p1.lastRecv !== undefined ? { lastRecv: p1.lastRecv } : {}),
    ...(p1.lastSent !== undefined ? { lastSent: toHex(p1.lastSent) } : {}),
  };
  const replaced = heldDeletes(x, p1);
  return replaced.length > 0 ? { ...r, replaced } : r;
}

function protocolRecord(p: { protocol: number; transformId: number; keyLength: number; authAlgorithm: number; inbound: DirectionKeys; outbound: DirectionKeys }): IpsecProtocolRecord {
  return {
    protocol: p.protocol,
    transformId: p.transformId,
    keyLength: p.keyLength,
    authAlgorithm: p.authAlgorithm,
    encLength: p.inbound.encryptionKey.length,
    inSpi: toHex(p.inbound.spi),
    inKeymat: toHex(p.inbound.keymat),
    outSpi: toHex(p.outbound.spi),
    outKeymat: toHex(p.outbound.keymat),
  };
}

/** The record of a live IPsec SA (by its id, 'q' + hex inbound SPI), or undefined. */
export function exportIpsecSa(ep: Endpoint, id: string): IpsecSaRecord | undefined {
  const x = engineOf(ep);
  const c = x.sas.children.get(id);
  if (!c || c.state === 'dead') return undefined;
  const i = c.info;
  const soft = c.tSoft?.live === true ? c.tSoft.at : undefined;
  return {
    v: SNAPSHOT_VERSION,
    kind: 'ipsec',
    ...copyIpsecSaFields(i),
    connection: c.conn.name,
    protocols: i.protocols.map(protocolRecord),
    ...(c.peer !== undefined ? { peerId: peerIdRecord(c.peer)! } : {}),
    ...(c.peerKey !== undefined ? { peerKey: c.peerKey } : {}),
    bytes: c.bytes,
    ...(soft !== undefined ? { rekeyAt: soft } : {}),
  };
}

/** An ISAKMP SA and the IPsec SAs negotiated under it (by the ISAKMP SA's id). */
export function exportSa(ep: Endpoint, id: string): { isakmp: IsakmpSaRecord; ipsec: IpsecSaRecord[] } | undefined {
  const isakmp = exportIsakmpSa(ep, id);
  if (!isakmp) return undefined;
  const x = engineOf(ep);
  const ipsec: IpsecSaRecord[] = [];
  for (const c of x.sas.childrenOfPair(pairKeyFlat(isakmp.local, isakmp.remote))) {
    if (c.info.isakmpSa !== id) continue;
    const r = exportIpsecSa(ep, c.info.id);
    if (r) ipsec.push(r);
  }
  return { isakmp, ipsec };
}

// ---------------------------------------------------------------------------------------------
// import

function refuse(reason: string): never {
  throw new LocalProtocolError(0, `snapshot: ${reason}`);
}

function checkRecord(x: Engine, r: { v: number; connection: string }): Connection {
  if (r.v !== SNAPSHOT_VERSION) refuse(`record version ${String(r.v)}, this engine reads version ${SNAPSHOT_VERSION}`);
  return x.conns.get(r.connection) ?? refuse(`no connection ${r.connection}`);
}

function cookiesOf(id: string): { ic: Uint8Array; rc: Uint8Array } {
  if (!/^[0-9a-f]{32}$/.test(id)) refuse(`'${id}' is not an ISAKMP SA id`);
  const b = fromHex(id);
  return { ic: b.subarray(0, 8), rc: b.subarray(8, 16) };
}

/**
 * Takes an established ISAKMP SA into the endpoint at `now`: its tables, its lifetime and rekey
 * timers, its liveness (DPD counts from `now`). Returns its summary.
 */
export function importIsakmpSa(ep: Endpoint, now: number, r: IsakmpSaRecord): IsakmpSaInfo {
  const x = engineOf(ep);
  const conn = checkRecord(x, r);
  if (r.kind !== 'isakmp') refuse(`a ${String(r.kind)} record is not an ISAKMP SA`);
  if (r.doi !== IPSEC_DOI.id) refuse(`DOI ${r.doi} is not supported`);
  const { ic, rc } = cookiesOf(r.id);
  const old = x.sas.p1ByCookie(ic);
  if (old) destroyP1(x, old);
  const block = fromHex(r.id + r.skeyidD + r.skeyidA + r.encKey + r.iv);
  let o = 0;
  const take = (n: number): Uint8Array => block.subarray(o, (o += n));
  const p1 = newP1(x, r.role, r.mode, 'done', conn, { ...r.local }, { ...r.remote }, take(8), take(8), bkey(ic));
  void rc;
  p1.hs = undefined;
  const chosen = setChosen(p1, r.transform);
  if (r.skeyidD.length !== r.skeyidA.length || r.skeyidD.length / 2 !== PRF_OUTPUT_LENGTH[chosen.prf]) refuse('SKEYID_d / SKEYID_a of the wrong length for the prf');
  if (r.iv.length / 2 !== chosen.cipher.blockSize) refuse('IV of the wrong length for the cipher');
  chosen.keys = block;
  o += (r.skeyidD.length + r.skeyidA.length + r.encKey.length) / 2;
  if (!hasKeys(chosen)) refuse('keys missing');
  p1.life = 'established';
  p1.peerId = peerIdentity(r.peerId);
  p1.establishedAt = smi(r.establishedAt);
  p1.expiresAt = smi(r.expiresAt);
  p1.id = r.id;
  for (const m of r.seen) markSeen(p1, m);
  p1.nattPeer = r.nattPeer;
  p1.nat = r.nat !== undefined ? Object.freeze({ ...r.nat }) : undefined;
  p1.dpdPeer = r.dpdPeer;
  p1.dpd = r.dpd !== undefined ? { ...r.dpd } : undefined;
  p1.lastRecv = r.lastRecv;
  p1.lastSent = r.lastSent !== undefined ? fromHex(r.lastSent) : undefined;
  if (r.peerKey !== undefined) x.sas.admit(p1, r.peerKey);
  x.sas.p1sChanged();
  p1.tHard = x.timers.add(Math.max(now, r.expiresAt), p1, Tk.P1Hard);
  if (r.rekeyAt !== undefined) p1.tSoft = x.timers.add(importedRekeyAt(x, now, r.rekeyAt, r.expiresAt), p1, Tk.P1Soft);
  livenessEstablished(x, now, chosen);
  if (r.replaced !== undefined && r.replaced.length > 0) holdImported(x, p1, r.replaced);
  return p1Info(x, p1);
}

/**
 * Per engine: an IPsec SA id whose record is still to come → the imported ISAKMP SA holding its
 * Delete (an id whose record never comes stays: a few per takeover at most).
 */
const heldFor = new WeakMap<Engine, Map<string, P1>>();
/** Per imported ISAKMP SA: the held IPsec SAs whose records are still to come. */
const toCome = new WeakMap<P1, Set<string>>();

/**
 * The Deletes an imported ISAKMP SA holds: for the IPsec SAs imported already, held again; the
 * others when their records come (importIpsecSa). With none to come, the Delete goes now (no
 * Quick Mode of ours waits on a freshly imported SA).
 */
function holdImported(x: Engine, p1: P1, ids: readonly string[]): void {
  const waiting = new Set<string>();
  for (const id of ids) {
    const c = x.sas.children.get(id);
    if (c !== undefined) {
      if (c.state !== 'dead') holdDelete(x, p1, c);
      continue;
    }
    waiting.add(id);
    let m = heldFor.get(x);
    if (m === undefined) heldFor.set(x, (m = new Map()));
    m.set(id, p1);
  }
  if (waiting.size > 0) toCome.set(p1, waiting);
  else deleteWhenIdle(x, p1);
}

/**
 * The held Delete goes now unless a Quick Mode of ours runs or waits on `p1` (one the importer
 * began meanwhile, an overdue rekey): then at its end, as on the node that held it first.
 */
function deleteWhenIdle(x: Engine, p1: P1): void {
  if (p1.pending.length > 0) return;
  if (p1.qms !== undefined) for (const qm of p1.qms.values()) if (qm.role === 'initiator') return;
  deleteReplaced(x, p1);
}

/** An imported IPsec SA whose Delete an imported ISAKMP SA holds: held there; the Delete goes once none is still to come. */
function heldOnImport(x: Engine, child: Child): void {
  const m = heldFor.get(x);
  const p1 = m?.get(child.info.id);
  if (m === undefined || p1 === undefined) return;
  m.delete(child.info.id);
  holdDelete(x, p1, child);
  const waiting = toCome.get(p1);
  waiting?.delete(child.info.id);
  if (waiting === undefined || waiting.size === 0) {
    toCome.delete(p1);
    deleteWhenIdle(x, p1);
  }
}

function directionKeys(spiHex: string, keymatHex: string, encLength: number): DirectionKeys {
  const spi = fromHex(spiHex);
  const keymat = fromHex(keymatHex);
  return { spi, keymat, encryptionKey: keymat.subarray(0, encLength), integrityKey: keymat.subarray(encLength) };
}

/** Takes an IPsec SA into the endpoint at `now` (its lifetime and rekey timers). Returns its summary. */
export function importIpsecSa(ep: Endpoint, now: number, r: IpsecSaRecord): IpsecSaInfo {
  const x = engineOf(ep);
  const conn = checkRecord(x, r);
  if (r.kind !== 'ipsec') refuse(`a ${String(r.kind)} record is not an IPsec SA`);
  if (r.protocols.length === 0) refuse('an IPsec SA without a protocol');
  const old = x.sas.children.get(r.id);
  if (old) removeChild(x, old, undefined);
  const protocols = r.protocols.map((p) => ({
    protocol: p.protocol,
    transformId: p.transformId,
    keyLength: p.keyLength,
    authAlgorithm: p.authAlgorithm,
    inbound: directionKeys(p.inSpi, p.inKeymat, p.encLength),
    outbound: directionKeys(p.outSpi, p.outKeymat, p.encLength),
  }));
  if ('q' + toHex(protocols[0]!.inbound.spi) !== r.id) refuse(`IPsec SA id ${r.id} does not match its first inbound SPI`);
  const info: IpsecSaInfo = {
    ...copyIpsecSaFields(r),
    protocols,
  };
  const peer = peerIdentity(r.peerId);
  const child: Child = { info, pairKey: pairKeyFlat(info.local, info.remote), conn, peer, peerKey: r.peerKey, bytes: r.bytes, state: 'installed', tSoft: undefined, tHard: undefined };
  const spiKeys: number[] = [];
  for (const p of protocols) spiKeys.push(spiKey(p.inbound.spi), spiKey(p.outbound.spi));
  x.sas.addChild(child, spiKeys);
  const hardAt = r.lifetimeSeconds ? r.establishedAt + r.lifetimeSeconds * 1000 : undefined;
  if (hardAt !== undefined) child.tHard = x.timers.add(Math.max(now, hardAt), child, Tk.ChildHard);
  if (r.rekeyAt !== undefined) child.tSoft = x.timers.add(importedRekeyAt(x, now, r.rekeyAt, hardAt), child, Tk.ChildSoft);
  heldOnImport(x, child);
  return info;
}

/** Imports an ISAKMP SA, then its IPsec SAs. */
export function importSa(ep: Endpoint, now: number, s: { isakmp: IsakmpSaRecord; ipsec: readonly IpsecSaRecord[] }): { isakmp: IsakmpSaInfo; ipsec: IpsecSaInfo[] } {
  const isakmp = importIsakmpSa(ep, now, s.isakmp);
  return { isakmp, ipsec: s.ipsec.map((r) => importIpsecSa(ep, now, r)) };
}
