/**
 * Proposal construction and selection (RFC 2408 §4.2, RFC 2409 App. A, RFC 2407 §4.5).
 *
 * The responder picks one proposal and one transform from the initiator's offer and answers with
 * exactly that (the transform echoed as received). Every attribute has to match one of our
 * configured proposals, including key length; an attribute class we do not know refuses the
 * transform. The initiator checks that the answer is one it offered.
 */
import { IPSEC_DOI } from './doi.js';
import {
  AuthAlgorithm,
  AuthMethod,
  EncapsulationMode,
  EncryptionAlgorithm,
  EspTransformId,
  AhTransformId,
  GroupDescription,
  HashAlgorithm,
  IkeAttr,
  IpsecAttr,
  IsakmpTransformId,
  LifeType,
  NotifyType,
  ProtocolId,
} from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import type { DataAttribute, Mutable, Proposal, SaPayload, Transform } from '../codec/types.js';
import type { ChosenIke, IkeProposal, IpsecProposal, IpsecProtocolSpec } from './types.js';
import { dhGroupInfo } from './crypto.js';
import { espKeyLengthOf, keymatBytes } from './ipsec-keys.js';

export { AEAD_SALT_BYTES, ESP_AEAD_ICV_BYTES, ahTransformFor, authKeyBytes, espCipherKeyBytes, espKeyLengthOf, isAeadTransform, keymatBytes } from './ipsec-keys.js';

export const DEFAULT_IKE_LIFETIME = 10800;
export const DEFAULT_IPSEC_LIFETIME = 3600;
/** RFC 2407 §4.5: with no lifetime attribute the SA lives 28800 seconds. */
const RFC_DEFAULT_LIFETIME = 28800;

/**
 * Whether the engine may negotiate `group` for a connection: one the registry (`DH_GROUPS`,
 * src/crypto/dh.ts) marks negotiable and, when it is weak, only with the connection's opt-in.
 */
export function groupAllowed(group: number, allowWeak: boolean): boolean {
  const g = dhGroupInfo(group);
  return g !== undefined && g.negotiable && (allowWeak || !g.weak);
}

/** Phase-1 cipher: key length in bytes (undefined when unsupported / bad key length). */
export function ikeCipherKeyBytes(enc: number, keyLengthBits: number | undefined): number | undefined {
  if (enc === EncryptionAlgorithm['3DES_CBC']) return keyLengthBits === undefined || keyLengthBits === 192 ? 24 : undefined;
  if (enc === EncryptionAlgorithm.AES_CBC) {
    if (keyLengthBits === 128 || keyLengthBits === 192 || keyLengthBits === 256) return keyLengthBits / 8;
    return undefined;
  }
  return undefined;
}

const SUPPORTED_HASHES: ReadonlySet<number> = new Set([
  HashAlgorithm.MD5,
  HashAlgorithm.SHA,
  HashAlgorithm.SHA2_256,
  HashAlgorithm.SHA2_384,
  HashAlgorithm.SHA2_512,
]);

// ---------------------------------------------------------------------------------------------
// attribute helpers

export function tvAttr(type: number, value: number): DataAttribute {
  return { format: 'TV', type, value };
}

/** A lifetime duration: TV when it fits 16 bits, else a 4-octet TLV. */
export function durationAttr(type: number, value: number): DataAttribute {
  if (value <= 0xffff) return tvAttr(type, value);
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, value >>> 0);
  return { format: 'TLV', type, value: v };
}

/** The numeric value of an attribute; undefined for a TLV longer than 4 octets or empty. */
export function attrNumber(a: DataAttribute): number | undefined {
  if (a.format === 'TV') return a.value;
  const v = a.value;
  if (v.length === 0 || v.length > 8) return undefined;
  let n = 0;
  for (const b of v) n = n * 256 + b;
  // lifetimes beyond 2^32 are clamped (never allocate or loop on them)
  return Math.min(n, 0xffffffff);
}

// ---------------------------------------------------------------------------------------------
// phase 1

/** Phase-1 method; XAUTH/Hybrid "Init" forms: the initiator is the XAUTH client ("Resp": the responder is). */
export function authMethodOf(c: { readonly auth: 'psk' | 'rsa-sig'; readonly xauth?: { readonly role: 'server' | 'client'; readonly hybrid?: boolean } }, weInitiate: boolean): number {
  const x = c.xauth;
  if (!x) return c.auth === 'psk' ? AuthMethod.PRE_SHARED_KEY : AuthMethod.RSA_SIGNATURES;
  const init = (x.role === 'client') === weInitiate;
  if (x.hybrid) return init ? AuthMethod.HYBRID_INIT_RSA : AuthMethod.HYBRID_RESP_RSA;
  if (c.auth === 'psk') return init ? AuthMethod.XAUTH_INIT_PRESHARED : AuthMethod.XAUTH_RESP_PRESHARED;
  return init ? AuthMethod.XAUTH_INIT_RSA : AuthMethod.XAUTH_RESP_RSA;
}

/** The transform attributes for one of our phase-1 proposals. */
export function ikeTransformAttributes(p: IkeProposal, auth: number): DataAttribute[] {
  const attrs: DataAttribute[] = [tvAttr(IkeAttr.ENCRYPTION_ALGORITHM, p.encryption)];
  if (p.encryption === EncryptionAlgorithm.AES_CBC) attrs.push(tvAttr(IkeAttr.KEY_LENGTH, p.keyLength ?? 128));
  attrs.push(
    tvAttr(IkeAttr.HASH_ALGORITHM, p.hash),
    tvAttr(IkeAttr.AUTHENTICATION_METHOD, auth),
    tvAttr(IkeAttr.GROUP_DESCRIPTION, p.group),
    tvAttr(IkeAttr.LIFE_TYPE, LifeType.SECONDS),
    durationAttr(IkeAttr.LIFE_DURATION, p.lifetimeSeconds ?? DEFAULT_IKE_LIFETIME),
  );
  return attrs;
}

/** Our phase-1 SA payload: one ISAKMP proposal, one transform per configured proposal. */
export function buildIkeSa(props: readonly IkeProposal[], auth: number): SaPayload {
  const transforms: Transform[] = props.map((p, i) => ({
    number: i + 1,
    id: IsakmpTransformId.KEY_IKE,
    attributes: ikeTransformAttributes(p, auth),
  }));
  return {
    type: 'SA',
    doi: IPSEC_DOI.id,
    situation: IPSEC_DOI.situation,
    proposals: [{ number: 1, protocol: ProtocolId.PROTO_ISAKMP, spi: new Uint8Array(0), transforms }],
  };
}

/**
 * What scanAttributes() found, read at once by its caller (synchronous, reused: no allocation
 * per transform): the value of each class below 32 (NaN: absent) and the lifetimes.
 */
const SCAN = { values: new Float64Array(32), seconds: NaN, kilobytes: NaN };

/**
 * One pass over a transform's attributes for the phase-1 and phase-2 parsers: every attribute a
 * number, every class in `accepted` (a bit set over classes below 32) and present at most once,
 * except the lifetime pairs: each duration right after its own type, seconds (1) or kilobytes (2).
 * False when anything else is seen.
 */
function scanAttributes(t: Transform, lifeTypeClass: number, lifeDurationClass: number, accepted: number): boolean {
  const values = SCAN.values;
  values.fill(NaN);
  SCAN.seconds = NaN;
  SCAN.kilobytes = NaN;
  let lifeType = 0;
  for (const a of t.attributes) {
    const cls = a.type;
    if (cls >= 32 || !(accepted & (1 << cls))) return false;
    const v = attrNumber(a);
    if (v === undefined) return false;
    if (cls === lifeTypeClass) {
      if (lifeType !== 0 || (v !== LifeType.SECONDS && v !== LifeType.KILOBYTES)) return false; // two types in a row
      lifeType = v;
    } else if (cls === lifeDurationClass) {
      if (lifeType === 0) return false;
      if (lifeType === LifeType.SECONDS) SCAN.seconds = v;
      else SCAN.kilobytes = v;
      lifeType = 0;
    } else {
      if (!Number.isNaN(values[cls]!)) return false; // a class twice
      values[cls] = v;
    }
  }
  return lifeType === 0;
}

const bit = (...classes: number[]): number => classes.reduce((m, c) => m | (1 << c), 0);

/** The phase-1 classes we act on; group type / prime / generators / curve / order (private groups), PRF and field size are refused. */
const IKE_ACCEPTED = bit(IkeAttr.ENCRYPTION_ALGORITHM, IkeAttr.HASH_ALGORITHM, IkeAttr.AUTHENTICATION_METHOD, IkeAttr.GROUP_DESCRIPTION, IkeAttr.KEY_LENGTH, IkeAttr.LIFE_TYPE, IkeAttr.LIFE_DURATION);

/** Parsed phase-1 transform (undefined: malformed, unknown class, private group, ...). */
export function parseIkeTransform(t: Transform): ChosenIke | undefined {
  if (t.id !== IsakmpTransformId.KEY_IKE) return undefined;
  if (!scanAttributes(t, IkeAttr.LIFE_TYPE, IkeAttr.LIFE_DURATION, IKE_ACCEPTED)) return undefined;
  const v = SCAN.values;
  const enc = v[IkeAttr.ENCRYPTION_ALGORITHM]!;
  const hash = v[IkeAttr.HASH_ALGORITHM]!;
  const auth = v[IkeAttr.AUTHENTICATION_METHOD]!;
  const group = v[IkeAttr.GROUP_DESCRIPTION]!;
  if (Number.isNaN(enc) || Number.isNaN(hash) || Number.isNaN(auth) || Number.isNaN(group)) return undefined;
  const keyLength = v[IkeAttr.KEY_LENGTH]!;
  const keyBytes = ikeCipherKeyBytes(enc, Number.isNaN(keyLength) ? undefined : keyLength);
  if (keyBytes === undefined) return undefined;
  const c: Mutable<ChosenIke> = {
    encryption: enc,
    keyLength: keyBytes * 8,
    hash,
    prf: hash,
    auth,
    group,
    lifetimeSeconds: Number.isNaN(SCAN.seconds) ? RFC_DEFAULT_LIFETIME : SCAN.seconds,
  };
  if (!Number.isNaN(SCAN.kilobytes)) c.lifetimeKilobytes = SCAN.kilobytes;
  return c;
}

function ikeMatches(c: ChosenIke, p: IkeProposal, auth: number, allowWeak: boolean): boolean {
  const ourKey = (ikeCipherKeyBytes(p.encryption, p.encryption === EncryptionAlgorithm.AES_CBC ? (p.keyLength ?? 128) : undefined) ?? 0) * 8;
  return c.encryption === p.encryption && c.keyLength === ourKey && c.hash === p.hash &&
    c.auth === auth && c.group === p.group && SUPPORTED_HASHES.has(c.hash) && groupAllowed(c.group, allowWeak);
}

/**
 * Whether a phase-1 transform chosen earlier is one of `ours` under the group policy: used when the
 * identity moves an ISAKMP SA to another connection (Main Mode message 5), whose list must allow it.
 */
export function ikeChosenAllowed(c: ChosenIke, ours: readonly IkeProposal[], authMethod: number, allowWeak: boolean): boolean {
  for (const p of ours) if (ikeMatches(c, p, authMethod, allowWeak)) return true;
  return false;
}

function checkSaHeader(sa: SaPayload): void {
  if (sa.doi !== IPSEC_DOI.id) throw new RemoteProtocolError(NotifyType.DOI_NOT_SUPPORTED, `DOI ${sa.doi >>> 0} not supported`);
  if (sa.situation !== IPSEC_DOI.situation) {
    throw new RemoteProtocolError(NotifyType.SITUATION_NOT_SUPPORTED, `situation 0x${(sa.situation >>> 0).toString(16)} not supported`);
  }
}

export interface IkeSelection {
  /** The reply SA: the chosen proposal with the one chosen transform, as received. */
  readonly reply: SaPayload;
  readonly chosen: ChosenIke;
  /** Index in our configured list. */
  readonly ours: number;
}

/**
 * Responder: choose a phase-1 transform from the initiator's SA. Throws NO_PROPOSAL_CHOSEN (or
 * the SA-level notify) when nothing fits.
 */
export function selectIke(sa: SaPayload, ours: readonly IkeProposal[], authMethod: number, allowWeak: boolean, preferOwn = false): IkeSelection {
  checkSaHeader(sa);
  if (sa.proposals.length !== 1) {
    throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'phase-1 SA must carry exactly one proposal');
  }
  const prop = sa.proposals[0]!;
  if (prop.protocol !== ProtocolId.PROTO_ISAKMP) {
    throw new RemoteProtocolError(NotifyType.INVALID_PROTOCOL_ID, `phase-1 proposal protocol ${prop.protocol}`);
  }
  if (prop.spi.length !== 0 && prop.spi.length !== 16) {
    throw new RemoteProtocolError(NotifyType.INVALID_SPI, 'phase-1 SPI must be empty or the cookies');
  }
  if (prop.transforms.length === 0) throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'proposal without transforms');
  const parsed = prop.transforms.map((t) => ({ t, c: parseIkeTransform(t) }));
  const pick = (t: Transform, c: ChosenIke, i: number, our: IkeProposal): IkeSelection => {
    const life = Math.min(c.lifetimeSeconds, our.lifetimeSeconds ?? DEFAULT_IKE_LIFETIME);
    return {
      reply: { type: 'SA', doi: sa.doi, situation: sa.situation, proposals: [{ number: prop.number, protocol: prop.protocol, spi: prop.spi, transforms: [t] }] },
      chosen: { ...c, lifetimeSeconds: life },
      ours: i,
    };
  };
  if (preferOwn) {
    for (let i = 0; i < ours.length; i++) {
      const our = ours[i];
      if (our !== undefined) for (const { t, c } of parsed) if (c && ikeMatches(c, our, authMethod, allowWeak)) return pick(t, c, i, our);
    }
  } else {
    for (const { t, c } of parsed) {
      if (!c) continue;
      for (let i = 0; i < ours.length; i++) {
        const our = ours[i];
        if (our !== undefined && ikeMatches(c, our, authMethod, allowWeak)) return pick(t, c, i, our);
      }
    }
  }
  throw new RemoteProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable phase-1 transform');
}

/** Initiator: check the responder's answer is exactly one proposal/transform we offered. */
export function checkIkeAnswer(sa: SaPayload, offered: readonly IkeProposal[], authMethod: number, allowWeak: boolean): ChosenIke {
  checkSaHeader(sa);
  const prop = sa.proposals[0];
  const transform = prop?.transforms[0];
  if (sa.proposals.length !== 1 || prop === undefined || prop.transforms.length !== 1 || transform === undefined) {
    throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'answer must carry one proposal with one transform');
  }
  if (prop.protocol !== ProtocolId.PROTO_ISAKMP) throw new RemoteProtocolError(NotifyType.INVALID_PROTOCOL_ID, 'answer protocol');
  const c = parseIkeTransform(transform);
  if (c) {
    for (const p of offered) {
      if (ikeMatches(c, p, authMethod, allowWeak)) {
        return { ...c, lifetimeSeconds: Math.min(c.lifetimeSeconds, p.lifetimeSeconds ?? DEFAULT_IKE_LIFETIME) };
      }
    }
  }
  throw new RemoteProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'answer is not a transform we offered');
}

// ---------------------------------------------------------------------------------------------
// phase 2 (IPsec DOI)

export interface ParsedIpsecTransform {
  readonly transformId: number;
  readonly keyLength?: number;
  readonly authAlgorithm: number;
  readonly mode: number;
  readonly group: number;
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes: number;
}

/** The phase-2 classes we act on (key rounds and compression: refused). */
const IPSEC_ACCEPTED = bit(
  IpsecAttr.SA_LIFE_TYPE, IpsecAttr.SA_LIFE_DURATION, IpsecAttr.GROUP_DESCRIPTION, IpsecAttr.ENCAPSULATION_MODE,
  IpsecAttr.AUTHENTICATION_ALGORITHM, IpsecAttr.KEY_LENGTH, IpsecAttr.ECN_TUNNEL, IpsecAttr.EXTENDED_SEQUENCE_NUMBER,
);

/** Parse an AH/ESP transform's attributes; undefined when malformed or carrying an unknown class. */
export function parseIpsecTransform(t: Transform): ParsedIpsecTransform | undefined {
  if (!scanAttributes(t, IpsecAttr.SA_LIFE_TYPE, IpsecAttr.SA_LIFE_DURATION, IPSEC_ACCEPTED)) return undefined;
  const v = SCAN.values;
  const esn = v[IpsecAttr.EXTENDED_SEQUENCE_NUMBER]!;
  if (!Number.isNaN(esn) && esn !== 0) return undefined;
  // RFC 3168 §9.2.1: ECN_TUNNEL is informational for the dataplane; 1 allowed, 2 forbidden
  const ecn = v[IpsecAttr.ECN_TUNNEL]!;
  if (!Number.isNaN(ecn) && ecn !== 1 && ecn !== 2) return undefined;
  const or = (x: number, d: number): number => (Number.isNaN(x) ? d : x);
  let mode = or(v[IpsecAttr.ENCAPSULATION_MODE]!, EncapsulationMode.TUNNEL);
  // RFC 3947 §5.1 UDP-encapsulated modes; the draft numbers are read as the RFC ones
  if (mode === EncapsulationMode.UDP_ENCAPSULATED_TUNNEL_DRAFT) mode = EncapsulationMode.UDP_ENCAPSULATED_TUNNEL;
  else if (mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT_DRAFT) mode = EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT;
  if (mode !== EncapsulationMode.TUNNEL && mode !== EncapsulationMode.TRANSPORT && mode !== EncapsulationMode.UDP_ENCAPSULATED_TUNNEL && mode !== EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT) return undefined;
  const seconds = SCAN.seconds;
  const kilobytes = SCAN.kilobytes;
  const parsed: Mutable<ParsedIpsecTransform> = {
    transformId: t.id,
    authAlgorithm: or(v[IpsecAttr.AUTHENTICATION_ALGORITHM]!, 0),
    mode,
    group: or(v[IpsecAttr.GROUP_DESCRIPTION]!, 0),
    lifetimeSeconds: !Number.isNaN(seconds) ? seconds : Number.isNaN(kilobytes) ? RFC_DEFAULT_LIFETIME : 0,
    lifetimeKilobytes: or(kilobytes, 0),
  };
  const keyLength = v[IpsecAttr.KEY_LENGTH]!;
  if (!Number.isNaN(keyLength)) parsed.keyLength = keyLength;
  return parsed;
}

function ipsecTransformAttributes(spec: IpsecProtocolSpec, p: IpsecProposal): DataAttribute[] {
  const attrs: DataAttribute[] = [
    tvAttr(IpsecAttr.SA_LIFE_TYPE, 1),
    durationAttr(IpsecAttr.SA_LIFE_DURATION, p.lifetimeSeconds ?? DEFAULT_IPSEC_LIFETIME),
  ];
  if (p.lifetimeKilobytes) {
    attrs.push(tvAttr(IpsecAttr.SA_LIFE_TYPE, 2), durationAttr(IpsecAttr.SA_LIFE_DURATION, p.lifetimeKilobytes));
  }
  if (p.group) attrs.push(tvAttr(IpsecAttr.GROUP_DESCRIPTION, p.group));
  attrs.push(tvAttr(IpsecAttr.ENCAPSULATION_MODE, p.mode));
  if (spec.authAlgorithm) attrs.push(tvAttr(IpsecAttr.AUTHENTICATION_ALGORITHM, spec.authAlgorithm));
  const keyLength = espKeyLengthOf(spec);
  if (keyLength !== undefined) attrs.push(tvAttr(IpsecAttr.KEY_LENGTH, keyLength));
  return attrs;
}

/**
 * Our Quick Mode SA offer. `spis[i][j]` is our inbound SPI for protocol j of proposal i.
 * AND-ed protocols share the proposal number.
 */
export function buildIpsecSa(props: readonly IpsecProposal[], spis: readonly (readonly Uint8Array[])[]): SaPayload {
  const proposals: Proposal[] = [];
  props.forEach((p, i) => {
    p.protocols.forEach((spec, j) => {
      proposals.push({
        number: i + 1,
        protocol: spec.protocol,
        spi: spis[i]![j]!,
        transforms: [{ number: 1, id: spec.transformId, attributes: ipsecTransformAttributes(spec, p) }],
      });
    });
  });
  return { type: 'SA', doi: IPSEC_DOI.id, situation: IPSEC_DOI.situation, proposals };
}

export interface IpsecChoiceEntry {
  readonly protocol: number;
  readonly transform: Transform;
  readonly parsed: ParsedIpsecTransform;
  readonly peerSpi: Uint8Array;
  readonly keys: { enc: number; auth: number };
}

export interface IpsecSelection {
  readonly proposalNumber: number;
  readonly entries: readonly IpsecChoiceEntry[];
  readonly mode: number;
  readonly group: number;
  /** Lifetimes we will use (the shorter of theirs and ours). */
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes: number;
  /** True when we shortened the offered lifetime (send RESPONDER-LIFETIME). */
  readonly shortened: boolean;
  readonly ours: number;
}

function ipsecSpecMatches(t: ParsedIpsecTransform, spec: IpsecProtocolSpec, p: IpsecProposal, allowWeak: boolean): { enc: number; auth: number } | undefined {
  if (t.transformId !== spec.transformId) return undefined;
  if ((t.authAlgorithm ?? 0) !== (spec.authAlgorithm ?? 0)) return undefined;
  if (t.keyLength !== espKeyLengthOf(spec)) return undefined;
  if (t.mode !== p.mode) return undefined;
  if (t.group !== (p.group ?? 0)) return undefined;
  if (t.group !== 0 && !groupAllowed(t.group, allowWeak)) return undefined;
  return keymatBytes({ protocol: spec.protocol, transformId: t.transformId, keyLength: t.keyLength, authAlgorithm: t.authAlgorithm });
}

function lifetimeMin(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/** SPI values 0..255 are reserved (RFC 2408 §2.4 / IANA): never accepted from a peer. */
function spiReserved(spi: Uint8Array): boolean {
  return spi[0] === 0 && spi[1] === 0 && spi[2] === 0;
}

/** AND-ed proposals: one or more with one proposal number. */
type ProposalGroup = [Proposal, ...Proposal[]];

/** Group the proposals of an SA by proposal number (AND-ed proposals share one). */
function proposalGroups(sa: SaPayload): ProposalGroup[] {
  const groups: ProposalGroup[] = [];
  let cur: ProposalGroup | undefined;
  for (const p of sa.proposals) {
    if (cur !== undefined && p.number === cur[0].number) cur.push(p);
    else {
      if (cur !== undefined && p.number < cur[0].number) throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'proposal numbers must increase');
      cur = [p];
      groups.push(cur);
    }
  }
  return groups;
}

/** Responder: choose an IPsec proposal (one transform per AND-ed protocol). */
export function selectIpsec(sa: SaPayload, ours: readonly IpsecProposal[], allowWeak: boolean, preferOwn = false): IpsecSelection {
  checkSaHeader(sa);
  if (sa.proposals.length === 0) throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'SA without proposals');
  const groups = proposalGroups(sa);
  const tryGroup = (g: ProposalGroup, i: number): IpsecSelection | undefined => {
    const p = ours[i];
    if (p === undefined || g.length !== p.protocols.length) return undefined;
    const entries: IpsecChoiceEntry[] = [];
    for (let j = 0; j < g.length; j++) {
      const prop = g[j];
      const spec = p.protocols[j];
      if (prop === undefined || spec === undefined || prop.protocol !== spec.protocol) return undefined;
      if (prop.spi.length !== 4 || spiReserved(prop.spi)) return undefined;
      let found: IpsecChoiceEntry | undefined;
      for (const t of prop.transforms) {
        const parsed = parseIpsecTransform(t);
        if (!parsed) continue;
        const keys = ipsecSpecMatches(parsed, spec, p, allowWeak);
        if (keys) {
          found = { protocol: prop.protocol, transform: t, parsed, peerSpi: prop.spi, keys };
          break;
        }
      }
      if (!found) return undefined;
      entries.push(found);
    }
    const first = entries[0]?.parsed;
    if (first === undefined) return undefined;
    for (const e of entries) {
      if (e.parsed.lifetimeSeconds !== first.lifetimeSeconds || e.parsed.lifetimeKilobytes !== first.lifetimeKilobytes) return undefined;
    }
    const ourSec = p.lifetimeSeconds ?? DEFAULT_IPSEC_LIFETIME;
    const ourKb = p.lifetimeKilobytes ?? 0;
    const sec = lifetimeMin(first.lifetimeSeconds, ourSec);
    const kb = lifetimeMin(first.lifetimeKilobytes, ourKb);
    return {
      proposalNumber: g[0].number,
      entries,
      mode: first.mode,
      group: first.group,
      lifetimeSeconds: sec,
      lifetimeKilobytes: kb,
      shortened: sec !== first.lifetimeSeconds || kb !== first.lifetimeKilobytes,
      ours: i,
    };
  };
  if (preferOwn) {
    for (let i = 0; i < ours.length; i++) for (const g of groups) { const r = tryGroup(g, i); if (r) return r; }
  } else {
    for (const g of groups) for (let i = 0; i < ours.length; i++) { const r = tryGroup(g, i); if (r) return r; }
  }
  throw new RemoteProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IPsec proposal');
}

/** Responder's answer SA: the chosen proposal(s) with our SPIs and the one transform each. */
export function buildIpsecAnswer(sel: IpsecSelection, ourSpis: readonly Uint8Array[]): SaPayload {
  return {
    type: 'SA',
    doi: IPSEC_DOI.id,
    situation: IPSEC_DOI.situation,
    proposals: sel.entries.map((e, j) => ({ number: sel.proposalNumber, protocol: e.protocol, spi: ourSpis[j]!, transforms: [e.transform] })),
  };
}

/**
 * Initiator: check the answer is one of our proposals (same number, protocols, one transform each
 * identical to one we sent) and return the selection (with the peer's SPIs).
 */
export function checkIpsecAnswer(sa: SaPayload, ourOffer: SaPayload, ours: readonly IpsecProposal[], allowWeak: boolean): IpsecSelection {
  checkSaHeader(sa);
  const groups = proposalGroups(sa);
  if (groups.length !== 1) throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'answer must carry one proposal');
  const g = groups[0];
  if (g === undefined) throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'answer must carry one proposal');
  const idx = g[0].number - 1;
  const p = ours[idx];
  if (!p || p.protocols.length !== g.length) throw new RemoteProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'answer is not a proposal we offered');
  const entries: IpsecChoiceEntry[] = [];
  for (let j = 0; j < g.length; j++) {
    const prop = g[j];
    const spec = p.protocols[j];
    const t = prop?.transforms[0];
    if (prop === undefined || spec === undefined || t === undefined || prop.transforms.length !== 1 || prop.protocol !== spec.protocol || prop.spi.length !== 4 || spiReserved(prop.spi)) {
      throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'answer proposal malformed');
    }
    const parsed = parseIpsecTransform(t);
    const keys = parsed && ipsecSpecMatches(parsed, spec, p, allowWeak);
    if (!parsed || !keys) throw new RemoteProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'answer transform not offered');
    entries.push({ protocol: prop.protocol, transform: t, parsed, peerSpi: prop.spi, keys });
  }
  void ourOffer;
  const first = entries[0]?.parsed;
  if (first === undefined) throw new RemoteProtocolError(NotifyType.BAD_PROPOSAL_SYNTAX, 'answer must carry one proposal');
  const sec = lifetimeMin(first.lifetimeSeconds, p.lifetimeSeconds ?? DEFAULT_IPSEC_LIFETIME);
  const kb = lifetimeMin(first.lifetimeKilobytes, p.lifetimeKilobytes ?? 0);
  return { proposalNumber: g[0].number, entries, mode: first.mode, group: first.group, lifetimeSeconds: sec, lifetimeKilobytes: kb, shortened: false, ours: idx };
}

/** A lifetime we can put in a Life Duration attribute: absent, or a whole number 1 to 2^32-1. */
function lifetimeOk(v: number | undefined): boolean {
  return v === undefined || (Number.isInteger(v) && v >= 1 && v <= 0xffffffff);
}

/** Validate a connection's proposals (LocalProtocolError-free: returns a problem text or undefined). */
export function checkConnectionProposals(ike: readonly IkeProposal[], ipsec: readonly IpsecProposal[], allowWeak: boolean): string | undefined {
  if (ike.length === 0 || ike.length > 64) return 'ike: between 1 and 64 proposals';
  for (const p of ike) {
    if (ikeCipherKeyBytes(p.encryption, p.encryption === EncryptionAlgorithm.AES_CBC ? (p.keyLength ?? 128) : undefined) === undefined) return `ike: cipher ${p.encryption}/${p.keyLength ?? ''} not supported`;
    if (!SUPPORTED_HASHES.has(p.hash)) return `ike: hash ${p.hash} not supported`;
    if (!groupAllowed(p.group, allowWeak)) return `ike: group ${p.group} not allowed`;
    if (!lifetimeOk(p.lifetimeSeconds)) return `ike: lifetime ${p.lifetimeSeconds} s (a whole number of seconds, 1 to 2^32-1)`;
  }
  if (ipsec.length === 0 || ipsec.length > 64) return 'ipsec: between 1 and 64 proposals';
  for (const p of ipsec) {
    if (p.protocols.length === 0 || p.protocols.length > 3) return 'ipsec: 1 to 3 protocols per proposal';
    if (p.group && !groupAllowed(p.group, allowWeak)) return `ipsec: PFS group ${p.group} not allowed`;
    if (p.mode !== EncapsulationMode.TUNNEL && p.mode !== EncapsulationMode.TRANSPORT) return `ipsec: mode ${p.mode}`;
    if (!lifetimeOk(p.lifetimeSeconds)) return `ipsec: lifetime ${p.lifetimeSeconds} s (a whole number of seconds, 1 to 2^32-1)`;
    if (!lifetimeOk(p.lifetimeKilobytes)) return `ipsec: lifetime ${p.lifetimeKilobytes} KB (a whole number, 1 to 2^32-1)`;
    for (const s of p.protocols) {
      const k = keymatBytes({ protocol: s.protocol, transformId: s.transformId, keyLength: espKeyLengthOf(s) ?? s.keyLength, authAlgorithm: s.authAlgorithm });
      if (!k) return `ipsec: protocol ${s.protocol} transform ${s.transformId} not supported`;
    }
  }
  return undefined;
}

export { GroupDescription };
