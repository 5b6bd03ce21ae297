/** (split from endpoint.ts) */
import { type Mutable } from '../codec/types.js';
import { type PeerIdentity, peerIdWire, sameCredentials, samePeerIdentity } from './authorization.js';
import { addTo, bucket, bucketView } from './bucket.js';
import { Engine } from './engine.js';
import { bkey, bytesEqual, flat, hex, hexFlat, isZero, pairKeyFlat, spiKey } from './keys.js';
import { Child, NO_PENDING, P1, newHandshake } from './records.js';
import { remote } from './refusal.js';
import { type Address, type Connection, type IsakmpSaInfo } from './types.js';

/** The phase-1 policy of a connection as text (identities first: they differ most), computed once per connection object. */
export const policyKeys = new WeakMap<Connection, string>();

export function policyKey(c: Connection): string {
  let k = policyKeys.get(c);
  if (k === undefined) {
    k = JSON.stringify([c.localId ?? null, c.remoteId ?? null, c.auth, c.exchange ?? 'main', c.ike]);
    policyKeys.set(c, k);
  }
  return k;
}

/** May a Quick Mode for `b` run under an ISAKMP SA negotiated for `a` (same peer policy)? */
export function sharesIsakmpSa(a: Connection, b: Connection): boolean {
  if (a === b || a.name === b.name) return true;
  if (a.auth !== b.auth || policyKey(a) !== policyKey(b)) return false;
  if (a.auth === 'psk' && !bytesEqual(a.psk, b.psk)) return false;
  if (a.auth === 'rsa-sig' && a.rsa?.privateKey !== b.rsa?.privateKey) return false;
  return true;
}

/** Connection + authenticated identity: whose SAs the per-peer caps count together. */
export function peerKeyOf(p1: P1): string {
  const id = p1.peerId ? peerIdWire(p1.peerId) : { idType: 0, data: new Uint8Array(0) };
  return flat(p1.conn.name + '\0' + id.idType + ':' + hex(id.data));
}

/** A peer identity in words, for reasons (non-printable characters escaped by the loggers). */
export function peerText(id: PeerIdentity | undefined): string {
  if (!id) return '(unknown)';
  if (id.type === 'any') return '%any';
  if (id.type === 'other') return `ID type ${id.idType}`;
  return typeof id.value === 'string' ? id.value : `DN ${hex(id.value)}`;
}

/** Connections that may serve a peer address: those naming it, then the '%any' ones. */
export function connsFor(eng: Engine, address: string): Connection[] {
  return [...bucket(eng.connsByRemote, address.toLowerCase()), ...bucket(eng.connsByRemote, '%any')];
}

export function newP1(eng: Engine, role: 'initiator' | 'responder', mode: 'main' | 'aggressive', conn: Connection, local: Address, remoteAddr: Address, ic: Uint8Array, rc: Uint8Array, icKey = bkey(ic), pairKey = pairKeyFlat(local, remoteAddr)): P1 {
  const p1: P1 = {
    kind: 'p1',
    icKey,
    role,
    mode,
    conn,
    local,
    remote: remoteAddr,
    pairKey,
    ic,
    rc,
    // every field present from the start: one hidden class for all phase 1s (monomorphic
    // property access on the hot path, fields stored in the object itself)
    replacedBy: undefined,
    step: 0,
    state: 'negotiating',
    hs: newHandshake(),
    chosen: undefined,
    prf: undefined,
    cipher: undefined,
    skeyidD: undefined,
    skeyidA: undefined,
    encKey: undefined,
    iv: undefined,
    peerId: undefined,
    lastRecv: undefined,
    lastSent: undefined,
    rtx: undefined,
    tHalf: undefined,
    tSoft: undefined,
    tHard: undefined,
    establishedAt: undefined,
    expiresAt: undefined,
    qms: undefined,
    done: undefined,
    doneId: 0,
    doneRecv: undefined,
    doneSent: undefined,
    seen1: 0,
    seenRest: undefined,
    seenCount: 0,
    dpdOut: -1,
    dpdAcked: false,
    dpdIn: -1,
    dpdInRepeats: 0,
    dpdInMsgId: 0,
    candidate: undefined,
    pending: NO_PENDING,
    rekeyOf: undefined,
    halfOpen: false,
    id: undefined,
    ho: undefined,
    tries: 0,
    nattPeer: false,
    natLocal: undefined,
    natRemote: undefined,
    natt: false,
    dpdPeer: false,
    peerKey: undefined,
  };
  eng.p1s.set(p1.icKey, p1);
  addTo(eng.p1ByPair, p1.pairKey, p1);
  return p1;
}

export function freshCookie(eng: Engine): Uint8Array {
  return freshCookieKeyed(eng).cookie;
}

/** A fresh non-zero cookie that no phase 1 uses as its initiator cookie, with its map key. */
export function freshCookieKeyed(eng: Engine): { cookie: Uint8Array; key: string } {
  for (;;) {
    const cookie = eng.random(8);
    if (isZero(cookie)) continue;
    const key = bkey(cookie);
    if (!eng.p1s.has(key)) return { cookie, key };
  }
}

export function freshSpi(eng: Engine): Uint8Array {
  for (;;) {
    const s = eng.random(4);
    if (s[0] === 0 && s[1] === 0 && s[2] === 0) continue; // 0..255 reserved (RFC 2408 §3.5 / IANA)
    if (!eng.bySpi.has(spiKey(s))) return s;
  }
}

/** An SPI from 4 bytes of a batch of randomness (a copy), or a fresh draw if those are unusable. */
export function spiFrom(eng: Engine, r: Uint8Array, off: number): Uint8Array {
  const s = new Uint8Array(r.subarray(off, off + 4));
  if ((s[0] === 0 && s[1] === 0 && s[2] === 0) || eng.bySpi.has(spiKey(s))) return freshSpi(eng);
  return s;
}

/** An IPsec SA the peer of `p1` may delete: named by SPI, between the same addresses, negotiated with the same identity and credentials. */
export function findChildBySpi(eng: Engine, p1: P1, spi: Uint8Array): Child | undefined {
  const h = spiKey(spi);
  let peer: Child | undefined;
  for (const c of bucketView(eng.byPeerSpi, h)) if (c.pairKey === p1.pairKey && c.state !== 'dead' && mayAct(eng, p1, c)) peer = c; // the newest
  if (peer) return peer;
  const own = eng.bySpi.get(h);
  if (own && own.state !== 'dead' && own.pairKey === p1.pairKey && mayAct(eng, p1, own)) return own;
  return undefined;
}

export function mayAct(eng: Engine, p1: P1, c: Child): boolean {
  return sameCredentials(p1.conn, c.conn) && samePeerIdentity(p1.peerId, c.peer);
}

/**
 * The newest established phase 1 between an address pair (of one connection, if named). One scan
 * of the pair fills a memo for every connection name, kept until a phase 1 is established or
 * removed anywhere: deleting n IPsec SAs of one peer costs O(n), not O(n²).
 */
export function bestP1For(eng: Engine, pairKey: string, connName?: string): P1 | undefined {
  let m = eng.bestP1Memo.get(pairKey);
  if (!m) {
    let any: P1 | undefined;
    const byConn = new Map<string, P1>();
    for (const p1 of bucketView(eng.p1ByPair, pairKey)) {
      if (p1.state !== 'established') continue;
      const at = p1.establishedAt ?? 0;
      if (!any || at > (any.establishedAt ?? 0)) any = p1;
      const c = byConn.get(p1.conn.name);
      if (!c || at > (c.establishedAt ?? 0)) byConn.set(p1.conn.name, p1);
    }
    m = { any, byConn };
    eng.bestP1Memo.set(pairKey, m);
  }
  return connName ? m.byConn.get(connName) : m.any;
}

export function p1Id(eng: Engine, p1: P1): string {
  if (p1.id !== undefined) return p1.id;
  const id = hexFlat(p1.ic, p1.rc);
  if (p1.state === 'established') p1.id = id;
  return id;
}

export function findP1ById(eng: Engine, id: string): P1 | undefined {
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
  const ic = new Uint8Array(8);
  for (let i = 0; i < 8; i++) ic[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
  const p1 = eng.p1s.get(bkey(ic));
  return p1 && p1Id(eng, p1) === id ? p1 : undefined;
}

export function p1Info(eng: Engine, p1: P1): IsakmpSaInfo {
  // optional fields assigned in place (object spreads of conditional literals cost a clone each)
  const info: Mutable<IsakmpSaInfo> = {
    id: p1Id(eng, p1),
    connection: p1.conn.name,
    role: p1.role,
    exchange: p1.mode,
    state: p1.state === 'established' ? 'established' : p1.state === 'negotiating' ? 'negotiating' : 'deleting',
    local: p1.local,
    remote: p1.remote,
    initiatorCookie: p1.ic,
    responderCookie: p1.rc,
  };
  if (p1.peerId) info.peerId = p1.peerId;
  if (p1.chosen) info.transform = p1.chosen;
  if (p1.establishedAt !== undefined) info.establishedAt = p1.establishedAt;
  if (p1.expiresAt !== undefined) info.expiresAt = p1.expiresAt;
  if (p1.natLocal !== undefined || p1.natt) info.nat = { local: p1.natLocal ?? false, remote: p1.natRemote ?? false, encapsulation: p1.natt };
  if (p1.dpdPeer) info.dpd = true;
  return info;
}
