/**
 * An IPsec SA pair from the engine as kernel records: two ESP states (outbound, inbound) and the
 * policies that send traffic through them (out, in, and fwd in tunnel mode; for each local
 * selector); the on-demand trap policy; the IKE bypass policies. One table of algorithm names
 * (RFC 2407 numbers → the kernel's crypto API names).
 */
import { AuthAlgorithm, EspTransformId, ProtocolId } from '../../constants/index.js';
import { localSelectorsOf } from '../../exchange/ids.js';
import { modeName } from '../../exchange/natt.js';
import type { IpsecSaInfo, Selector } from '../engine.js';
import type { TrapSpec } from './types.js';
import { familyOf } from './addresses.js';
import { IPPROTO_AH, IPPROTO_ESP, type XfrmDir, type XfrmPolicy, type XfrmSelector, type XfrmState } from './xfrm-messages.js';

/** Priority of our IPsec/trap policies; IKE bypass policies get a lower number (= preferred). */
export const POLICY_PRIORITY = 2000;
export const BYPASS_PRIORITY = 100;
/** Anti-replay window of our inbound SAs (packets). */
export const REPLAY_WINDOW = 32;

/** ESP ciphers; AES-GCM (RFC 4106) is one AEAD algorithm whose ICV length is given with the key (key | 4-byte salt). */
const ENCRYPTION: Readonly<Record<number, { readonly kind: 'crypt'; readonly name: string } | { readonly kind: 'aead'; readonly name: string; readonly icvBits: number }>> = {
  [EspTransformId.ESP_AES_CBC]: { kind: 'crypt', name: 'cbc(aes)' },
  [EspTransformId.ESP_3DES]: { kind: 'crypt', name: 'cbc(des3_ede)' },
  [EspTransformId.ESP_AES_GCM_8]: { kind: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 64 },
  [EspTransformId.ESP_AES_GCM_12]: { kind: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 96 },
  [EspTransformId.ESP_AES_GCM_16]: { kind: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 128 },
  [EspTransformId.ESP_NULL]: { kind: 'crypt', name: 'ecb(cipher_null)' },
};

const INTEGRITY: Readonly<Record<number, { readonly name: string; readonly truncBits: number }>> = {
  [AuthAlgorithm.HMAC_MD5]: { name: 'hmac(md5)', truncBits: 96 },
  [AuthAlgorithm.HMAC_SHA]: { name: 'hmac(sha1)', truncBits: 96 },
  [AuthAlgorithm.HMAC_SHA2_256]: { name: 'hmac(sha256)', truncBits: 128 },
  [AuthAlgorithm.HMAC_SHA2_384]: { name: 'hmac(sha384)', truncBits: 192 },
  [AuthAlgorithm.HMAC_SHA2_512]: { name: 'hmac(sha512)', truncBits: 256 },
};

const prefixOf = (s: Selector): number => s.prefix ?? (s.family === 4 ? 32 : 128);

/** The kernel selector for traffic from `src` to `dst` (ports only for TCP and UDP). */
export function xfrmSelector(src: Selector, dst: Selector): XfrmSelector {
  const proto = src.protocol || dst.protocol;
  const ports = proto === 6 || proto === 17;
  return {
    family: src.family,
    src: src.start,
    srcPrefix: prefixOf(src),
    dst: dst.start,
    dstPrefix: prefixOf(dst),
    proto,
    sport: ports ? src.port : 0,
    dport: ports ? dst.port : 0,
  };
}

export const spiNumber = (b: Uint8Array): number => (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;

export interface SaRecords {
  /** [outbound, inbound] states for each protocol of the SA (ESP, AH). */
  readonly states: XfrmState[];
  readonly policies: XfrmPolicy[];
}

/** The kernel records of an SA pair; `reqid` ties the states to the policies. Keys are in them: never log. */
export function saRecords(sa: IpsecSaInfo, reqid: number): SaRecords {
  const L = sa.local.address;
  const R = sa.remote.address;
  const family = familyOf(L);
  const mode = modeName(sa.mode);
  const states: XfrmState[] = [];
  for (const p of sa.protocols) {
    if (p.protocol !== ProtocolId.PROTO_IPSEC_ESP && p.protocol !== ProtocolId.PROTO_IPSEC_AH) continue;
    const ah = p.protocol === ProtocolId.PROTO_IPSEC_AH;
    const enc = ah ? undefined : ENCRYPTION[p.transformId];
    const auth = INTEGRITY[p.authAlgorithm];
    for (const [src, dst, k, sport, dport, inbound] of [
      [L, R, p.outbound, sa.local.port, sa.remote.port, false],
      [R, L, p.inbound, sa.remote.port, sa.local.port, true],
    ] as const) {
      states.push({
        family,
        src,
        dst,
        spi: spiNumber(k.spi),
        proto: ah ? IPPROTO_AH : IPPROTO_ESP,
        reqid,
        mode,
        ...(enc?.kind === 'aead' ? { aead: { name: enc.name, key: k.encryptionKey, icvBits: enc.icvBits } } : {}),
        ...(enc?.kind === 'crypt' ? { crypt: { name: enc.name, key: k.encryptionKey } } : {}),
        ...(enc?.kind !== 'aead' && auth !== undefined ? { auth: { name: auth.name, key: k.integrityKey, truncBits: auth.truncBits } } : {}),
        // RFC 3948 ESP in UDP between the NAT-T ports the ISAKMP SA floated to; the original
        // address is the peer's own (its NAT-OA, transport mode) for the checksum fix-up
        ...(sa.udpEncapsulation === true && !ah ? { encap: { sport, dport, oa: sa.peerOriginalAddress ?? (family === 6 ? '::' : '0.0.0.0') } } : {}),
        ...(inbound ? { replayWindow: REPLAY_WINDOW } : {}),
        ...(sa.lifetimeKilobytes > 0 ? { limits: { hardBytes: sa.lifetimeKilobytes * 1024 } } : {}),
      });
    }
  }
  // one template: ESP when the SA has it (an AH + ESP bundle is programmed as its ESP SA), else AH
  const proto = sa.protocols.some((p) => p.protocol === ProtocolId.PROTO_IPSEC_ESP) ? IPPROTO_ESP : IPPROTO_AH;
  const tmpl = (src: string, dst: string) => ({ src, dst, proto, reqid, mode });
  // a policy pair (out, in, and fwd in tunnel mode) per local selector the SA carries: one for
  // most SAs, one per local_ts for a Unity client's (IpsecSaInfo.localSelectors)
  const dirs: [XfrmSelector, XfrmDir, string, string][] = [];
  for (const local of localSelectorsOf(sa)) {
    const out = xfrmSelector(local, sa.remoteTs);
    const inn = xfrmSelector(sa.remoteTs, local);
    dirs.push([out, 'out', L, R], [inn, 'in', R, L]);
    if (mode === 'tunnel') dirs.push([inn, 'fwd', R, L]);
  }
  const policies = dirs.map(([sel, dir, src, dst]) => ({ sel, dir, priority: POLICY_PRIORITY, tmpl: tmpl(src, dst) }));
  return { states, policies };
}

/** An on-demand connection's outbound trap: a policy needing an SA that does not exist yet (so the kernel asks). */
export function trapPolicy(t: TrapSpec): XfrmPolicy {
  return { sel: xfrmSelector(t.localTs, t.remoteTs), dir: 'out', priority: POLICY_PRIORITY, tmpl: { src: t.local, dst: t.remote, proto: IPPROTO_ESP, reqid: 0, mode: t.mode, level: 'required' } };
}

/** IKE itself must never be caught by our policies: UDP `ports` pass both ways, IPv4 and IPv6. */
export function bypassPolicies(ports: readonly number[]): XfrmPolicy[] {
  const out: XfrmPolicy[] = [];
  for (const [family, any] of [
    [4, '0.0.0.0'],
    [6, '::'],
  ] as const) {
    for (const port of ports) {
      for (const [dir, side] of [
        ['out', 'sport'],
        ['out', 'dport'],
        ['in', 'sport'],
        ['in', 'dport'],
      ] as const) {
        const sel: XfrmSelector = { family, src: any, srcPrefix: 0, dst: any, dstPrefix: 0, proto: 17, sport: side === 'sport' ? port : 0, dport: side === 'dport' ? port : 0 };
        out.push({ sel, dir, priority: BYPASS_PRIORITY });
      }
    }
  }
  return out;
}
