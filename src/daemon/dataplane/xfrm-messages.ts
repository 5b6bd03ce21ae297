/**
 * XFRM netlink messages (linux/xfrm.h, NETLINK_XFRM): typed records ⇄ the kernel's structs.
 * Offsets are those of x86-64 and arm64 (the same there; test/daemon/xfrm-messages.test.ts holds
 * the exact bytes, checked against the kernel in test/interop/xfrm-netlink.test.ts).
 *
 *   NEWSA / UPDSA   struct xfrm_usersa_info (224) + XFRMA_ALG_* + XFRMA.ENCAP
 *   DELSA / GETSA   struct xfrm_usersa_id (24) + XFRMA.SRCADDR
 *   ALLOCSPI        struct xfrm_userspi_info (232): a larval SA with an SPI the kernel picked
 *   NEWPOLICY / UPDPOLICY  struct xfrm_userpolicy_info (168) + XFRMA.TMPL (xfrm_user_tmpl, 64)
 *   DELPOLICY       struct xfrm_userpolicy_id (64)
 *   ACQUIRE (event) struct xfrm_user_acquire (280);  EXPIRE (event) struct xfrm_user_expire (232)
 *
 * Keys travel in NEWSA/UPDSA: never log these bytes.
 */
import { readAddress, writeAddress } from './addresses.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, type NetlinkWriter } from './netlink.js';

export const XFRM_MSG_NEWSA = 0x10;
export const XFRM_MSG_DELSA = 0x11;
export const XFRM_MSG_GETSA = 0x12;
export const XFRM_MSG_NEWPOLICY = 0x13;
export const XFRM_MSG_DELPOLICY = 0x14;
export const XFRM_MSG_GETPOLICY = 0x15;
export const XFRM_MSG_ALLOCSPI = 0x16;
export const XFRM_MSG_ACQUIRE = 0x17;
export const XFRM_MSG_EXPIRE = 0x18;
export const XFRM_MSG_UPDPOLICY = 0x19;
export const XFRM_MSG_UPDSA = 0x1a;

/** Multicast groups (enum xfrm_nlgroups) and the bind() mask bit of each. */
export const XFRMNLGRP_ACQUIRE = 1;
export const XFRMNLGRP_EXPIRE = 2;
export const groupMask = (g: number): number => 1 << (g - 1);

/** Netlink attribute types (enum xfrm_attr_type_t). */
const XFRMA = { ALG_AUTH: 1, ALG_CRYPT: 2, ENCAP: 4, TMPL: 5, SRCADDR: 13, ALG_AEAD: 18, ALG_AUTH_TRUNC: 20 } as const;

const AF_INET = 2;
const AF_INET6 = 10;
export const IPPROTO_ESP = 50;
/** UDP_ENCAP_ESPINUDP (RFC 3948), for XFRMA.ENCAP and the UDP_ENCAP socket option. */
export const UDP_ENCAP_ESPINUDP = 2;

const XFRM_MODE_TRANSPORT = 0;
const XFRM_MODE_TUNNEL = 1;
const XFRM_INF = 0xffffffffffffffffn;

/** Sizes of the kernel's structures (linux/xfrm.h, 64-bit Linux). */
const SIZEOF = { SELECTOR: 56, USERSA_INFO: 224, USERSA_ID: 24, USERSPI_INFO: 232, USERPOLICY_INFO: 168, USERPOLICY_ID: 64, USER_TMPL: 64, ENCAP_TMPL: 24 } as const;
const ALG_NAME_LEN = 64;

export type XfrmMode = 'tunnel' | 'transport';
export type XfrmDir = 'in' | 'out' | 'fwd';
const DIR: Record<XfrmDir, number> = { in: 0, out: 1, fwd: 2 };
const DIR_NAME = ['in', 'out', 'fwd'] as const;

/** A traffic selector: addresses with prefix lengths, an IP protocol (0 = any) and ports (0 = any). */
export interface XfrmSelector {
  readonly family: 4 | 6;
  readonly src: string;
  readonly srcPrefix: number;
  readonly dst: string;
  readonly dstPrefix: number;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
}

export interface XfrmAlgorithm {
  /** The kernel's crypto API name, e.g. "cbc(aes)", "hmac(sha256)", "rfc4106(gcm(aes))". */
  readonly name: string;
  readonly key: Uint8Array;
}

/** The identity of a kernel SA: destination, SPI, protocol (and the source, as `ip` gives it). */
export interface XfrmSaId {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** Unsigned 32-bit SPI. */
  readonly spi: number;
  readonly proto: number;
}

export interface XfrmState extends XfrmSaId {
  readonly reqid: number;
  readonly mode: XfrmMode;
  readonly crypt?: XfrmAlgorithm;
  readonly auth?: XfrmAlgorithm & { readonly truncBits: number };
  readonly aead?: XfrmAlgorithm & { readonly icvBits: number };
  /** RFC 3948 ESP in UDP between these ports; `oa` is the original address (NAT-OA) or any. */
  readonly encap?: { readonly sport: number; readonly dport: number; readonly oa: string };
  /** Anti-replay window in packets (inbound). */
  readonly replayWindow?: number;
  /** Kernel-enforced limits (0 or absent = none): the kernel sends EXPIRE at each. */
  readonly limits?: { readonly softBytes?: number; readonly hardBytes?: number; readonly hardSeconds?: number };
}

/** A policy template: which SA (by addresses, protocol, reqid and mode) the traffic needs. */
export interface XfrmTemplate {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly reqid: number;
  readonly mode: XfrmMode;
  /** 'required' (level required) or 'use' (optional). */
  readonly level?: 'required' | 'use';
}

export interface XfrmPolicy {
  readonly sel: XfrmSelector;
  readonly dir: XfrmDir;
  readonly priority: number;
  /** No template: the traffic passes in clear (an IKE bypass). */
  readonly tmpl?: XfrmTemplate;
}

const fam = (f: 4 | 6): number => (f === 4 ? AF_INET : AF_INET6);
const famOf = (af: number): 4 | 6 => (af === AF_INET6 ? 6 : 4);
const modeNum = (m: XfrmMode): number => (m === 'tunnel' ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT);

/** Flags of a request that wants its own ACK (matched by sequence number). */
const REQ = NLM_F_REQUEST | NLM_F_ACK;

function putSelector(v: DataView, b: Uint8Array, at: number, s: XfrmSelector): void {
  writeAddress(b, at, s.dst);
  writeAddress(b, at + 16, s.src);
  if (s.dport !== 0) {
    v.setUint16(at + 32, s.dport, false);
    v.setUint16(at + 34, 0xffff, false);
  }
  if (s.sport !== 0) {
    v.setUint16(at + 36, s.sport, false);
    v.setUint16(at + 38, 0xffff, false);
  }
  v.setUint16(at + 40, fam(s.family), true);
  b[at + 42] = s.dstPrefix;
  b[at + 43] = s.srcPrefix;
  b[at + 44] = s.proto;
}

export function readSelector(b: Uint8Array, at: number): XfrmSelector {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = famOf(v.getUint16(at + 40, true));
  return {
    family,
    dst: readAddress(b, at, family),
    src: readAddress(b, at + 16, family),
    dport: v.getUint16(at + 32, false),
    sport: v.getUint16(at + 36, false),
    dstPrefix: b[at + 42] as number,
    srcPrefix: b[at + 43] as number,
    proto: b[at + 44] as number,
  };
}

/** struct xfrm_lifetime_cfg with no limit but the given ones (byte/packet limits ∞, times 0 = none). */
function putLifetimeCfg(v: DataView, at: number, limits?: XfrmState['limits']): void {
  v.setBigUint64(at, limits?.softBytes ? BigInt(limits.softBytes) : XFRM_INF, true);
  v.setBigUint64(at + 8, limits?.hardBytes ? BigInt(limits.hardBytes) : XFRM_INF, true);
  v.setBigUint64(at + 16, XFRM_INF, true);
  v.setBigUint64(at + 24, XFRM_INF, true);
  if (limits?.hardSeconds) v.setBigUint64(at + 40, BigInt(limits.hardSeconds), true);
}

function putAlgorithm(w: NetlinkWriter, type: number, a: XfrmAlgorithm, extraBits?: number): void {
  const fixed = type === XFRMA.ALG_CRYPT ? ALG_NAME_LEN + 4 : ALG_NAME_LEN + 8;
  const x = w.attr(type, fixed + a.key.length);
  const name = Buffer.from(a.name, 'latin1');
  if (name.length >= ALG_NAME_LEN) throw new Error(`xfrm algorithm name too long: ${a.name}`);
  x.bytes.set(name, x.at);
  x.view.setUint32(x.at + ALG_NAME_LEN, a.key.length * 8, true);
  if (extraBits !== undefined) x.view.setUint32(x.at + ALG_NAME_LEN + 4, extraBits, true);
  x.bytes.set(a.key, x.at + fixed);
}

/** NEWSA (or UPDSA: replaces a larval SA from ALLOCSPI, or moves an SA's encapsulation ports). */
export function writeNewSa(w: NetlinkWriter, seq: number, s: XfrmState, update = false): void {
  w.begin(update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, REQ, seq);
  const { at, view: v, bytes: b } = w.struct(SIZEOF.USERSA_INFO);
  // the SA's selector stays empty (any; the kernel gives it the SA's family), as iproute2 leaves it
  writeAddress(b, at + 56, s.dst); // id.daddr
  v.setUint32(at + 72, s.spi >>> 0, false); // id.spi (network order)
  b[at + 76] = s.proto; // id.proto
  writeAddress(b, at + 80, s.src); // saddr
  putLifetimeCfg(v, at + 96, s.limits);
  v.setUint32(at + 208, s.reqid >>> 0, true);
  v.setUint16(at + 212, fam(s.family), true);
  b[at + 214] = modeNum(s.mode);
  b[at + 215] = s.replayWindow ?? 0;
  // attributes in iproute2's order (ip xfrm state add ... enc ... auth-trunc ...): the same bytes
  if (s.aead !== undefined) putAlgorithm(w, XFRMA.ALG_AEAD, s.aead, s.aead.icvBits);
  if (s.crypt !== undefined) putAlgorithm(w, XFRMA.ALG_CRYPT, s.crypt);
  if (s.auth !== undefined) putAlgorithm(w, XFRMA.ALG_AUTH_TRUNC, s.auth, s.auth.truncBits);
  if (s.encap !== undefined) {
    const e = w.attr(XFRMA.ENCAP, SIZEOF.ENCAP_TMPL);
    e.view.setUint16(e.at, UDP_ENCAP_ESPINUDP, true);
    e.view.setUint16(e.at + 2, s.encap.sport, false);
    e.view.setUint16(e.at + 4, s.encap.dport, false);
    writeAddress(e.bytes, e.at + 8, s.encap.oa);
  }
  w.end();
}

function putSaId(w: NetlinkWriter, id: XfrmSaId): void {
  const { at, view: v, bytes: b } = w.struct(SIZEOF.USERSA_ID);
  writeAddress(b, at, id.dst);
  v.setUint32(at + 16, id.spi >>> 0, false);
  v.setUint16(at + 20, fam(id.family), true);
  b[at + 22] = id.proto;
  const src = w.attr(XFRMA.SRCADDR, 16);
  writeAddress(src.bytes, src.at, id.src);
}

export function writeDelSa(w: NetlinkWriter, seq: number, id: XfrmSaId): void {
  w.begin(XFRM_MSG_DELSA, REQ, seq);
  putSaId(w, id);
  w.end();
}

/** GETSA for one SA: the kernel answers with the SA (counters in `curlft`), or an error. */
export function writeGetSa(w: NetlinkWriter, seq: number, id: XfrmSaId): void {
  w.begin(XFRM_MSG_GETSA, NLM_F_REQUEST, seq);
  putSaId(w, id);
  w.end();
}

/** GETSA dump: every SA of the namespace, as NEWSA messages, then NLMSG_DONE. */
export function writeGetSaDump(w: NetlinkWriter, seq: number): void {
  w.begin(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.struct(SIZEOF.USERSA_INFO);
  w.end();
}

/** What ALLOCSPI reserves: an SPI in [min, max] for SAs to `dst` (our address) from `src`. */
export interface XfrmSpiRequest {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly min: number;
  readonly max: number;
  /**
   * The larval SA's reqid (default 0). The kernel hashes larval SAs by (daddr, saddr, reqid) and
   * walks that chain on every ALLOCSPI, so a pool spreads its requests over many reqids.
   */
  readonly reqid?: number;
}

/** ALLOCSPI: the kernel answers with a NEWSA message (a larval SA holding the SPI) or an error. */
export function writeAllocSpi(w: NetlinkWriter, seq: number, r: XfrmSpiRequest): void {
  w.begin(XFRM_MSG_ALLOCSPI, NLM_F_REQUEST, seq);
  const { at, view: v, bytes: b } = w.struct(SIZEOF.USERSPI_INFO);
  // as iproute2 writes it: no selector, no lifetimes (a larval SA lives net.core.xfrm_acq_expires)
  writeAddress(b, at + 56, r.dst);
  b[at + 76] = r.proto;
  writeAddress(b, at + 80, r.src);
  if (r.reqid !== undefined) v.setUint32(at + 208, r.reqid >>> 0, true);
  v.setUint16(at + 212, fam(r.family), true);
  v.setUint32(at + 224, r.min >>> 0, true);
  v.setUint32(at + 228, r.max >>> 0, true);
  w.end();
}

/** NEWPOLICY (or UPDPOLICY: add or replace) with its template, if any. */
export function writePolicy(w: NetlinkWriter, seq: number, p: XfrmPolicy, update = true): void {
  w.begin(update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY, REQ, seq);
  const { at, view: v, bytes: b } = w.struct(SIZEOF.USERPOLICY_INFO);
  putSelector(v, b, at, p.sel);
  putLifetimeCfg(v, at + 56);
  v.setUint32(at + 152, p.priority >>> 0, true);
  b[at + 160] = DIR[p.dir];
  if (p.tmpl !== undefined) {
    const t = w.attr(XFRMA.TMPL, SIZEOF.USER_TMPL);
    writeAddress(t.bytes, t.at, p.tmpl.dst); // id.daddr
    t.bytes[t.at + 20] = p.tmpl.proto; // id.proto (id.spi 0: any)
    t.view.setUint16(t.at + 24, fam(p.sel.family), true);
    writeAddress(t.bytes, t.at + 28, p.tmpl.src);
    t.view.setUint32(t.at + 44, p.tmpl.reqid >>> 0, true);
    t.bytes[t.at + 48] = modeNum(p.tmpl.mode);
    t.bytes[t.at + 50] = p.tmpl.level === 'use' ? 1 : 0; // optional
    t.view.setUint32(t.at + 52, 0xffffffff, true); // aalgos, ealgos, calgos: any
    t.view.setUint32(t.at + 56, 0xffffffff, true);
    t.view.setUint32(t.at + 60, 0xffffffff, true);
  }
  w.end();
}

export function writeDelPolicy(w: NetlinkWriter, seq: number, sel: XfrmSelector, dir: XfrmDir): void {
  w.begin(XFRM_MSG_DELPOLICY, REQ, seq);
  const { at, view: v, bytes: b } = w.struct(SIZEOF.USERPOLICY_ID);
  putSelector(v, b, at, sel);
  b[at + 60] = DIR[dir];
  w.end();
}

/** The parts of a kernel SA (xfrm_usersa_info) the daemon reads: identity and counters. */
export interface XfrmSaInfo extends XfrmSaId {
  readonly reqid: number;
  readonly mode: number;
  readonly bytes: number;
  readonly packets: number;
}

export function parseSaInfo(p: Uint8Array): XfrmSaInfo {
  if (p.length < SIZEOF.USERSA_INFO) throw new Error(`xfrm_usersa_info: ${p.length} bytes`);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const family = famOf(v.getUint16(212, true));
  return {
    family,
    dst: readAddress(p, 56, family),
    spi: v.getUint32(72, false),
    proto: p[76] as number,
    src: readAddress(p, 80, family),
    bytes: Number(v.getBigUint64(160, true)),
    packets: Number(v.getBigUint64(168, true)),
    reqid: v.getUint32(208, true),
    mode: p[214] as number,
  };
}

/** ACQUIRE: traffic hit a policy whose SA does not exist; `policy` is that policy's selector. */
export interface XfrmAcquire {
  readonly dst: string;
  readonly src: string;
  /** The packet's flow. */
  readonly flow: XfrmSelector;
  readonly policy: XfrmSelector;
  readonly dir: XfrmDir | undefined;
  readonly priority: number;
}

export function parseAcquire(p: Uint8Array): XfrmAcquire {
  if (p.length < 280) throw new Error(`xfrm_user_acquire: ${p.length} bytes`);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const policy = readSelector(p, 96);
  return {
    dst: readAddress(p, 0, policy.family),
    src: readAddress(p, 24, policy.family),
    flow: readSelector(p, 40),
    policy,
    dir: DIR_NAME[p[96 + 160] as number],
    priority: v.getUint32(96 + 152, true),
  };
}

/** EXPIRE: an SA reached a soft (rekey) or hard (gone) limit. */
export interface XfrmExpire {
  readonly sa: XfrmSaInfo;
  readonly hard: boolean;
}

export function parseExpire(p: Uint8Array): XfrmExpire {
  if (p.length < 225) throw new Error(`xfrm_user_expire: ${p.length} bytes`);
  return { sa: parseSaInfo(p), hard: p[224] !== 0 };
}
