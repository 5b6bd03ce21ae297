/**
 * RFC 2408 §3.4–§3.15, RFC 2407 §4.6, RFC 3947 §3.2/§5.2, draft-ietf-ipsec-isakmp-mode-cfg §3.2
 * and the Cisco/strongSwan IKEv1 fragment: payload bodies (everything after the 4-octet generic
 * header) to records and back.
 *
 * Generic payload header (RFC 2408 §3.2), handled by message.ts:
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Each decoder receives a Reader bounded to the payload body and must consume it exactly.
 * Decoders validate layout only (lengths, SPI sizes per protocol, ID data lengths, nonce size);
 * policy (which payloads an exchange allows, which algorithms are acceptable) is the engine's.
 * Encoders are permissive (the engine's tests build bad messages with them): they refuse only
 * what the wire cannot carry (a number wider than its field, a payload longer than 65535).
 * @module
 */
import { Doi, IdType, NotifyType, PayloadType, ProtocolId, SITUATION_DEFINED_BITS, Situation } from '../constants/index.js';
import { decodeAttributes, encodeAttributes } from './attributes.js';
import { Reader } from './reader.js';
import type {
  AttributePayload,
  DataPayload,
  LabeledDomain,
  Payload,
  Proposal,
  SaPayload,
  Transform,
} from './types.js';
import { Writer } from './writer.js';

const { PAYLOAD_MALFORMED, BAD_PROPOSAL_SYNTAX, INVALID_SPI, INVALID_ID_INFORMATION, SITUATION_NOT_SUPPORTED } = NotifyType;

/** Minimum body length (after the generic header) per payload type. */
export const MIN_BODY: Readonly<Record<number, number>> = {
  [PayloadType.SA]: 4, // DOI; situation is DOI-specific
  [PayloadType.KE]: 0,
  [PayloadType.ID]: 4,
  [PayloadType.CERT]: 1,
  [PayloadType.CR]: 1,
  [PayloadType.HASH]: 0,
  [PayloadType.SIG]: 0,
  [PayloadType.NONCE]: 8,
  [PayloadType.N]: 8,
  [PayloadType.D]: 8,
  [PayloadType.VID]: 0,
  [PayloadType.ATTR]: 4,
  [PayloadType.NAT_D]: 0,
  [PayloadType.NAT_OA]: 4,
  [PayloadType.NAT_D_DRAFT]: 0,
  [PayloadType.NAT_OA_DRAFT]: 4,
  [PayloadType.FRAGMENT]: 4,
};

/** RFC 2409 §5: "The length of nonce payload MUST be between 8 and 256 bytes inclusive." */
export const NONCE_MIN = 8;
export const NONCE_MAX = 256;

/** RFC 2407 §4.6.2.1: exact ID data lengths of the address types. */
export const ID_DATA_LENGTH: Readonly<Record<number, number>> = {
  [IdType.ID_IPV4_ADDR]: 4,
  [IdType.ID_IPV4_ADDR_SUBNET]: 8,
  [IdType.ID_IPV4_ADDR_RANGE]: 8,
  [IdType.ID_IPV6_ADDR]: 16,
  [IdType.ID_IPV6_ADDR_SUBNET]: 32,
  [IdType.ID_IPV6_ADDR_RANGE]: 32,
};

/**
 * SPI sizes accepted per protocol (RFC 2408 §2.4, RFC 2407 §4.4.1 / §4.6.3). ISAKMP SPIs are the
 * cookie pair (16), one cookie (8) or absent (0, the usual phase-1 proposal); AH/ESP 4; IPCOMP a
 * 2-octet CPI, also seen 4 octets wide. `allowZero` adds 0 for Notify.
 */
export function spiSizeOk(protocol: number, size: number, allowZero: boolean): boolean {
  switch (protocol) {
    case ProtocolId.PROTO_ISAKMP: return size === 0 || size === 8 || size === 16;
    case ProtocolId.PROTO_IPSEC_AH:
    case ProtocolId.PROTO_IPSEC_ESP: return size === 4 || (allowZero && size === 0);
    case ProtocolId.PROTO_IPCOMP: return size === 2 || size === 4 || (allowZero && size === 0);
    default: return true;
  }
}

/** RFC 2408 §3.15 / SHAPES #31: Delete SPI size per protocol (ISAKMP 16, AH/ESP 4, IPCOMP 2). */
function deleteSpiSizeOk(protocol: number, size: number): boolean {
  switch (protocol) {
    case ProtocolId.PROTO_ISAKMP: return size === 16;
    case ProtocolId.PROTO_IPSEC_AH:
    case ProtocolId.PROTO_IPSEC_ESP: return size === 4;
    case ProtocolId.PROTO_IPCOMP: return size === 2 || size === 4;
    default: return size > 0;
  }
}

// ---------------------------------------------------------------------------------------------
// SA / Proposal / Transform (RFC 2408 §3.4–§3.6), nested by hand.

/*
 * SA payload body:     DOI (4) | Situation (4, IPsec DOI) [| labeled domain] | Proposals...
 * Proposal:  generic hdr | Proposal # (1) | Protocol-Id (1) | SPI Size (1) | # of Transforms (1) | SPI | Transforms
 * Transform: generic hdr | Transform # (1) | Transform-Id (1) | RESERVED2 (2) | SA Attributes
 */

function decodeLabeledDomain(r: Reader): LabeledDomain & { secrecyCategoryBits?: number; integrityCategoryBits?: number } {
  // RFC 2407 §4.6.1: lengths of the levels are in octets, of the category bitmaps in bits.
  const labeledDomainIdentifier = r.u32();
  const sl = r.u16(); r.u16();
  const secrecyLevel = r.bytes(sl, 'secrecy level');
  const scBits = r.u16(); r.u16();
  const secrecyCategories = r.bytes((scBits + 7) >>> 3, 'secrecy category bitmap');
  const il = r.u16(); r.u16();
  const integrityLevel = r.bytes(il, 'integrity level');
  const icBits = r.u16(); r.u16();
  const integrityCategories = r.bytes((icBits + 7) >>> 3, 'integrity category bitmap');
  const ld: LabeledDomain & { secrecyCategoryBits?: number; integrityCategoryBits?: number } = {
    labeledDomainIdentifier, secrecyLevel, secrecyCategories, integrityLevel, integrityCategories,
  };
  if (scBits !== secrecyCategories.length * 8) ld.secrecyCategoryBits = scBits;
  if (icBits !== integrityCategories.length * 8) ld.integrityCategoryBits = icBits;
  return ld;
}

function encodeLabeledDomain(w: Writer, ld: LabeledDomain & { secrecyCategoryBits?: number; integrityCategoryBits?: number }): void {
  w.u32(ld.labeledDomainIdentifier, 'labeled domain identifier');
  w.u16(ld.secrecyLevel.length, 'secrecy length'); w.u16(0);
  w.bytes(ld.secrecyLevel);
  w.u16(ld.secrecyCategoryBits ?? ld.secrecyCategories.length * 8, 'secrecy category length'); w.u16(0);
  w.bytes(ld.secrecyCategories);
  w.u16(ld.integrityLevel.length, 'integrity length'); w.u16(0);
  w.bytes(ld.integrityLevel);
  w.u16(ld.integrityCategoryBits ?? ld.integrityCategories.length * 8, 'integrity category length'); w.u16(0);
  w.bytes(ld.integrityCategories);
}

function decodeTransform(r: Reader): Transform {
  const number = r.u8();
  const id = r.u8();
  const reserved2 = r.u16();
  const attributes = decodeAttributes(r);
  return reserved2 === 0 ? { number, id, attributes } : { number, id, attributes, reserved2 };
}

function decodeProposal(r: Reader): Proposal {
  const start = r.pos;
  const number = r.u8();
  const protocol = r.u8();
  const spiSize = r.u8();
  const count = r.u8();
  if (!spiSizeOk(protocol, spiSize, false)) r.fail(INVALID_SPI, `SPI size ${spiSize} is invalid for protocol ${protocol}`, start + 2);
  const spi = r.bytes(spiSize, 'proposal SPI');
  const transforms: Transform[] = new Array(r.pos < r.end ? r.chainLength(PayloadType.T) : 0);
  let found = 0;
  const b = r.buf;
  const end = r.end;
  let next = PayloadType.T as number;
  while (r.pos < end) {
    if (next !== PayloadType.T) r.fail(BAD_PROPOSAL_SYNTAX, 'bytes after the last transform');
    const p = r.pos;
    if (end - p < 8) r.fail(PAYLOAD_MALFORMED, `transform needs 8 bytes, ${end - p} left`);
    next = b[p]!;
    const reserved = b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (next !== PayloadType.T && next !== PayloadType.NONE) r.fail(BAD_PROPOSAL_SYNTAX, `transform next payload ${next} (must be 3 or 0)`, p);
    if (len < 8) r.fail(PAYLOAD_MALFORMED, `transform length ${len} < 8`, p + 2);
    if (len > end - p) r.fail(PAYLOAD_MALFORMED, `transform length ${len} exceeds the ${end - p} bytes left in the proposal`, p + 2);
    // the transform is decoded on `r` itself, its window narrowed to the transform (no sub-reader)
    r.pos = p + 4;
    r.end = p + len;
    const t = decodeTransform(r);
    r.end = end;
    r.pos = p + len;
    transforms[found++] = reserved === 0 ? t : { ...t, reserved };
  }
  if (found === 0) r.fail(BAD_PROPOSAL_SYNTAX, 'proposal without a transform', start);
  if (next !== PayloadType.NONE) r.fail(BAD_PROPOSAL_SYNTAX, 'last transform does not end the chain (next payload 3)');
  if (found !== count) r.fail(BAD_PROPOSAL_SYNTAX, `# of transforms says ${count}, found ${found}`, start + 3);
  if (found !== transforms.length) transforms.length = found; // never for a proposal that decoded (same walk)
  return { number, protocol, spi, transforms };
}

function decodeSa(r: Reader): SaPayload {
  const doi = r.u32();
  if (doi !== Doi.IPSEC && doi !== Doi.ISAKMP) {
    return { type: 'SA', doi, situation: 0, proposals: [], raw: r.rest() };
  }
  r.need(4, 'SA situation');
  const sitAt = r.pos;
  const situation = r.u32();
  if ((situation & ~SITUATION_DEFINED_BITS) !== 0) r.fail(SITUATION_NOT_SUPPORTED, `situation 0x${situation.toString(16)} has unassigned bits`, sitAt);
  let labeledDomain: LabeledDomain | undefined;
  if (situation & (Situation.SIT_SECRECY | Situation.SIT_INTEGRITY)) labeledDomain = decodeLabeledDomain(r);
  const proposals: Proposal[] = new Array(r.pos < r.end ? r.chainLength(PayloadType.P) : 0);
  let found = 0;
  const b = r.buf;
  const end = r.end;
  let next = PayloadType.P as number;
  while (r.pos < end) {
    if (next !== PayloadType.P) r.fail(BAD_PROPOSAL_SYNTAX, 'bytes after the last proposal');
    const p = r.pos;
    if (end - p < 8) r.fail(PAYLOAD_MALFORMED, `proposal needs 8 bytes, ${end - p} left`);
    next = b[p]!;
    const reserved = b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (next !== PayloadType.P && next !== PayloadType.NONE) r.fail(BAD_PROPOSAL_SYNTAX, `proposal next payload ${next} (must be 2 or 0)`, p);
    if (len < 8) r.fail(PAYLOAD_MALFORMED, `proposal length ${len} < 8`, p + 2);
    if (len > end - p) r.fail(PAYLOAD_MALFORMED, `proposal length ${len} exceeds the ${end - p} bytes left in the SA`, p + 2);
    r.pos = p + 4;
    r.end = p + len;
    const prop = decodeProposal(r); // on `r` narrowed to the proposal, as transforms are
    r.end = end;
    r.pos = p + len;
    proposals[found++] = reserved === 0 ? prop : { ...prop, reserved };
  }
  if (found === 0) r.fail(BAD_PROPOSAL_SYNTAX, 'SA payload without a proposal');
  if (next !== PayloadType.NONE) r.fail(BAD_PROPOSAL_SYNTAX, 'last proposal does not end the chain (next payload 2)');
  if (found !== proposals.length) proposals.length = found; // never for an SA that decoded (same walk)
  return labeledDomain === undefined
    ? { type: 'SA', doi, situation, proposals }
    : { type: 'SA', doi, situation, labeledDomain, proposals };
}

function encodeTransform(w: Writer, t: Transform, last: boolean): void {
  const at = w.pos;
  w.u8(last ? PayloadType.NONE : PayloadType.T);
  w.u8(t.reserved ?? 0, 'transform RESERVED');
  w.u16(0);
  w.u8(t.number, 'transform number');
  w.u8(t.id, 'transform id');
  w.u16(t.reserved2 ?? 0, 'transform RESERVED2');
  encodeAttributes(w, t.attributes);
  w.patch16(at + 2, w.pos - at, 'transform length');
}

function encodeProposal(w: Writer, p: Proposal, last: boolean): void {
  const at = w.pos;
  w.u8(last ? PayloadType.NONE : PayloadType.P);
  w.u8(p.reserved ?? 0, 'proposal RESERVED');
  w.u16(0);
  w.u8(p.number, 'proposal number');
  w.u8(p.protocol, 'protocol id');
  w.u8(p.spi.length, 'SPI size');
  w.u8(p.transforms.length, '# of transforms');
  w.bytes(p.spi);
  const n = p.transforms.length;
  for (let i = 0; i < n; i++) encodeTransform(w, p.transforms[i]!, i === n - 1);
  w.patch16(at + 2, w.pos - at, 'proposal length');
}

function encodeSa(w: Writer, p: SaPayload): void {
  w.u32(p.doi, 'DOI');
  if (p.raw !== undefined) {
    w.bytes(p.raw);
    return;
  }
  w.u32(p.situation, 'situation');
  if (p.labeledDomain !== undefined) encodeLabeledDomain(w, p.labeledDomain);
  const n = p.proposals.length;
  for (let i = 0; i < n; i++) encodeProposal(w, p.proposals[i]!, i === n - 1);
}

// ---------------------------------------------------------------------------------------------
// The other payloads. Layouts after the generic header (RFC 2408 §3.7–§3.16 and friends):
//
//  KE (4) §3.7, HASH (8) §3.11, SIG (9) §3.12, NONCE (10) §3.13, VID (13) §3.16:
//    ! Key Exchange / Hash / Signature / Nonce / Vendor ID Data ~
//  ID (5) §3.8, RFC 2407 §4.6.2:
//    ! ID Type (1) ! Protocol ID (1) !          Port (2)           !
//    ~                     Identification Data                      ~
//  CERT (6) §3.9:  ! Cert Encoding (1) ! Certificate Data ~
//  CR (7) §3.10:   ! Cert. Type (1)    ! Certificate Authority ~
//  N (11) §3.14:
//    !              Domain of Interpretation (DOI) (4)              !
//    ! Protocol-ID (1) ! SPI Size (1) !   Notify Message Type (2)    !
//    ~ Security Parameter Index (SPI) ~ Notification Data ~
//  D (12) §3.15:
//    !              Domain of Interpretation (DOI) (4)              !
//    ! Protocol-Id (1) ! SPI Size (1) !        # of SPIs (2)         !
//    ~ Security Parameter Index(es) (SPI), # of SPIs × SPI Size octets ~
//  ATTR (14) ModeCfg draft §3.2:
//    ! Type (1) ! RESERVED (1) !         Identifier (2)             !
//    ~                        Attributes                            ~
//  NAT-D (20, draft 130) RFC 3947 §3.2:  ~ HASH of the address and port ~
//  NAT-OA (21, draft 131) RFC 3947 §5.2:
//    ! ID Type (1) !                 RESERVED (3)                    !
//    ~ IPv4 (4 octets) or IPv6 (16 octets) address ~
//  FRAG (132) Cisco/strongSwan IKEv1 fragmentation:
//    !      Fragment ID (2)      ! Fragment Number (1) ! Flags (1) ! (LAST = 0x01)
//    ~                       Fragment Data                          ~

/** ID data checks per RFC 2407 §4.6.2.1 (shared with identification.ts). */
export function checkIdData(r: Reader | undefined, idType: number, len: number, at: number): string | undefined {
  const exact = ID_DATA_LENGTH[idType];
  let why: string | undefined;
  if (exact !== undefined) {
    if (len !== exact) why = `ID type ${idType} needs ${exact} bytes of data, has ${len}`;
  } else if (idType >= IdType.ID_FQDN && idType <= IdType.ID_KEY_ID && len === 0) {
    why = `ID type ${idType} with empty data`;
  }
  if (why !== undefined && r !== undefined) r.fail(INVALID_ID_INFORMATION, why, at);
  return why;
}

/** Decodes one payload body. `r` is bounded to the body; the result must consume all of it. */
export function decodeBody(type: number, r: Reader): Payload {
  const start = r.pos;
  const min = MIN_BODY[type];
  if (min !== undefined && r.end - start < min) {
    r.fail(PAYLOAD_MALFORMED, `payload ${type} body is ${r.end - start} bytes, minimum ${min}`, start - 2);
  }
  switch (type) {
    case PayloadType.SA:
      return decodeSa(r);
    case PayloadType.KE:
      return { type: 'KE', data: r.rest() };
    case PayloadType.HASH:
      return { type: 'HASH', data: r.rest() };
    case PayloadType.SIG:
      return { type: 'SIG', data: r.rest() };
    case PayloadType.VID:
      return { type: 'VID', data: r.rest() };
    case PayloadType.NONCE: {
      const n = r.end - start;
      if (n > NONCE_MAX) r.fail(PAYLOAD_MALFORMED, `nonce of ${n} bytes (RFC 2409 §5: 8..256)`, start - 2);
      return { type: 'NONCE', data: r.rest() };
    }
    case PayloadType.ID: {
      const idType = r.u8();
      const protocol = r.u8();
      const port = r.u16();
      checkIdData(r, idType, r.end - r.pos, r.pos);
      return { type: 'ID', idType, protocol, port, data: r.rest() };
    }
    case PayloadType.CERT:
      return { type: 'CERT', encoding: r.u8(), data: r.rest() };
    case PayloadType.CR:
      return { type: 'CR', certType: r.u8(), authority: r.rest() };
    case PayloadType.N: {
      const doi = r.u32();
      const protocol = r.u8();
      const spiSize = r.u8();
      const notifyType = r.u16();
      if (!spiSizeOk(protocol, spiSize, true)) r.fail(INVALID_SPI, `SPI size ${spiSize} is invalid for protocol ${protocol}`, start + 5);
      const spi = r.bytes(spiSize, 'notification SPI');
      return { type: 'N', doi, protocol, notifyType, spi, data: r.rest() };
    }
    case PayloadType.D: {
      const doi = r.u32();
      const protocol = r.u8();
      const spiSize = r.u8();
      const count = r.u16();
      if (!deleteSpiSizeOk(protocol, spiSize)) r.fail(PAYLOAD_MALFORMED, `Delete SPI size ${spiSize} is invalid for protocol ${protocol}`, start + 5);
      if (count === 0) r.fail(PAYLOAD_MALFORMED, 'Delete payload with # of SPIs 0', start + 6);
      const have = r.end - r.pos;
      // RFC 2408 §3.15: payload length = 12 + # of SPIs × SPI size, exactly.
      if (count * spiSize !== have) r.fail(PAYLOAD_MALFORMED, `Delete: ${count} SPIs of ${spiSize} bytes need ${count * spiSize}, payload has ${have}`, start + 6);
      const spis: Uint8Array[] = new Array(count);
      for (let i = 0; i < count; i++) spis[i] = r.bytes(spiSize);
      return { type: 'D', doi, protocol, spiSize, spis };
    }
    case PayloadType.ATTR: {
      const cfgType = r.u8();
      const reserved2 = r.u8();
      const identifier = r.u16();
      const tail = { pad: 0 };
      const attributes = decodeAttributes(r, tail);
      const p: AttributePayload = { type: 'ATTR', cfgType, identifier, attributes };
      if (reserved2 === 0 && tail.pad === 0) return p;
      return { ...p, ...(reserved2 !== 0 ? { reserved2 } : {}), ...(tail.pad !== 0 ? { padding: tail.pad } : {}) };
    }
    case PayloadType.NAT_D:
    case PayloadType.NAT_D_DRAFT:
      return { type: 'NAT-D', payloadType: type, hash: r.rest() };
    case PayloadType.NAT_OA:
    case PayloadType.NAT_OA_DRAFT: {
      const idType = r.u8();
      const reserved2 = r.u24();
      const n = r.end - r.pos;
      if ((idType === IdType.ID_IPV4_ADDR && n !== 4) || (idType === IdType.ID_IPV6_ADDR && n !== 16)) {
        r.fail(PAYLOAD_MALFORMED, `NAT-OA ID type ${idType} with ${n} address bytes`, r.pos);
      }
      const address = r.rest();
      return reserved2 === 0
        ? { type: 'NAT-OA', payloadType: type, idType, address }
        : { type: 'NAT-OA', payloadType: type, idType, address, reserved2 };
    }
    case PayloadType.FRAGMENT: {
      const fragmentId = r.u16();
      const fragmentNumber = r.u8();
      const flags = r.u8();
      if (fragmentNumber === 0) r.fail(PAYLOAD_MALFORMED, 'fragment number 0 (numbers start at 1)', start + 2);
      return { type: 'FRAG', fragmentId, fragmentNumber, flags, data: r.rest() };
    }
    default:
      return { type: 'UNKNOWN', payloadType: type, body: r.rest() };
  }
}

/** The wire payload type of a record. */
export function payloadTypeOf(p: Payload): number {
  switch (p.type) {
    case 'SA': return PayloadType.SA;
    case 'KE': return PayloadType.KE;
    case 'ID': return PayloadType.ID;
    case 'CERT': return PayloadType.CERT;
    case 'CR': return PayloadType.CR;
    case 'HASH': return PayloadType.HASH;
    case 'SIG': return PayloadType.SIG;
    case 'NONCE': return PayloadType.NONCE;
    case 'N': return PayloadType.N;
    case 'D': return PayloadType.D;
    case 'VID': return PayloadType.VID;
    case 'ATTR': return PayloadType.ATTR;
    case 'NAT-D': return p.payloadType ?? PayloadType.NAT_D;
    case 'NAT-OA': return p.payloadType ?? PayloadType.NAT_OA;
    case 'FRAG': return PayloadType.FRAGMENT;
    case 'UNKNOWN': return p.payloadType;
  }
}

const ZERO_PAD = new Uint8Array(3);

/** Writes one payload body (no generic header). */
export function encodeBody(w: Writer, p: Payload): void {
  switch (p.type) {
    case 'SA': encodeSa(w, p); return;
    case 'KE': case 'HASH': case 'SIG': case 'NONCE': case 'VID': w.bytes((p as DataPayload).data); return;
    case 'ID':
      w.u8(p.idType, 'ID type'); w.u8(p.protocol, 'ID protocol'); w.u16(p.port, 'ID port'); w.bytes(p.data); return;
    case 'CERT': w.u8(p.encoding, 'cert encoding'); w.bytes(p.data); return;
    case 'CR': w.u8(p.certType, 'cert type'); w.bytes(p.authority); return;
    case 'N':
      w.u32(p.doi, 'DOI'); w.u8(p.protocol, 'protocol id'); w.u8(p.spi.length, 'SPI size');
      w.u16(p.notifyType, 'notify type'); w.bytes(p.spi); w.bytes(p.data); return;
    case 'D': {
      w.u32(p.doi, 'DOI'); w.u8(p.protocol, 'protocol id'); w.u8(p.spiSize, 'SPI size');
      w.u16(p.spis.length, '# of SPIs');
      for (const s of p.spis) {
        if (s.length !== p.spiSize) Writer.refuse('Delete SPI length (must equal spiSize)', s.length);
        w.bytes(s);
      }
      return;
    }
    case 'ATTR':
      w.u8(p.cfgType, 'cfg type'); w.u8(p.reserved2 ?? 0, 'ATTR RESERVED'); w.u16(p.identifier, 'identifier');
      encodeAttributes(w, p.attributes);
      if (p.padding !== undefined && p.padding !== 0) {
        if (!(p.padding === 1 || p.padding === 2 || p.padding === 3)) Writer.refuse('ATTR padding (1 to 3 zero bytes)', p.padding);
        w.bytes(ZERO_PAD.subarray(0, p.padding));
      }
      return;
    case 'NAT-D': w.bytes(p.hash); return;
    case 'NAT-OA': w.u8(p.idType, 'ID type'); w.u24(p.reserved2 ?? 0, 'NAT-OA RESERVED'); w.bytes(p.address); return;
    case 'FRAG':
      w.u16(p.fragmentId, 'fragment id'); w.u8(p.fragmentNumber, 'fragment number'); w.u8(p.flags, 'fragment flags');
      w.bytes(p.data); return;
    case 'UNKNOWN': w.bytes(p.body); return;
  }
}
