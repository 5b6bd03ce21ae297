/**
 * Plain readonly records for ISAKMP messages (RFC 2408 §3), the IPsec DOI (RFC 2407 §4),
 * NAT-T (RFC 3947), Mode Config / XAUTH (draft-ietf-ipsec-isakmp-mode-cfg) and IKE fragments.
 *
 * Conventions
 * - Numbers are the wire values; use `nameOf(table, value)` (src/constants) to print them.
 * - Byte strings are Uint8Array (a Buffer is a Uint8Array and is accepted everywhere).
 * - `reserved` fields are present only when the wire carried a non-zero value there, so that
 *   `encode(decode(b))` reproduces peers that set them, and `verify()` can report them.
 * - The discriminant `type` of a payload is its RFC short name; `payloadType` keeps the wire
 *   number where two numbers share a name (NAT-D 20 / 130, NAT-OA 21 / 131) or none is known.
 */

/** A record type with its `readonly` removed, for building a record field by field before handing it out (internal). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A data attribute (RFC 2408 §3.3): TV ("basic", AF=1, 16-bit value) or TLV ("variable").
 * A decoded TV attribute is a frozen record shared by every decode of the same type and value.
 */
export type DataAttribute =
  | { readonly format: 'TV'; readonly type: number; readonly value: number }
  | { readonly format: 'TLV'; readonly type: number; readonly value: Uint8Array };

/** RFC 2408 §3.6 Transform payload (inside a Proposal). */
export interface Transform {
  readonly number: number;
  readonly id: number;
  readonly attributes: readonly DataAttribute[];
  /** RESERVED (1 octet after next-payload) of the generic header, when non-zero. */
  readonly reserved?: number;
  /** RESERVED2 (2 octets), when non-zero. */
  readonly reserved2?: number;
}

/** RFC 2408 §3.5 Proposal payload (inside an SA). */
export interface Proposal {
  readonly number: number;
  readonly protocol: number;
  readonly spi: Uint8Array;
  readonly transforms: readonly Transform[];
  readonly reserved?: number;
}

/** RFC 2407 §4.6.1 labeled-domain fields, present when SIT_SECRECY or SIT_INTEGRITY is set. */
export interface LabeledDomain {
  readonly labeledDomainIdentifier: number;
  readonly secrecyLevel: Uint8Array;
  readonly secrecyCategories: Uint8Array; // bitmap
  readonly integrityLevel: Uint8Array;
  readonly integrityCategories: Uint8Array; // bitmap
  /** Category bitmap length in bits when it is not 8 × the bitmap's octets (added by the codec). */
  readonly secrecyCategoryBits?: number;
  readonly integrityCategoryBits?: number;
}

interface PayloadCommon {
  /** RESERVED octet of the generic payload header (RFC 2408 §3.2), when non-zero. */
  readonly reserved?: number;
}

/** RFC 2408 §3.4 SA payload; situation per RFC 2407 §4.6.1 when DOI = 1. */
export interface SaPayload extends PayloadCommon {
  readonly type: 'SA';
  readonly doi: number;
  /** Situation: 4 octets for the IPsec DOI; for other DOIs the raw situation field. */
  readonly situation: number;
  readonly labeledDomain?: LabeledDomain;
  readonly proposals: readonly Proposal[];
  /** For a DOI other than 0/1 the body after the DOI is kept raw. */
  readonly raw?: Uint8Array;
}

/** KE (4), HASH (8), SIG (9), NONCE (10), VID (13): a header and opaque data. */
export interface DataPayload extends PayloadCommon {
  readonly type: 'KE' | 'HASH' | 'SIG' | 'NONCE' | 'VID';
  readonly data: Uint8Array;
}

/** RFC 2408 §3.8 / RFC 2407 §4.6.2 Identification payload. `data` is the raw identification data. */
export interface IdPayload extends PayloadCommon {
  readonly type: 'ID';
  readonly idType: number;
  readonly protocol: number;
  readonly port: number;
  readonly data: Uint8Array;
}

/** RFC 2408 §3.9 Certificate payload. */
export interface CertPayload extends PayloadCommon {
  readonly type: 'CERT';
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** RFC 2408 §3.10 Certificate Request payload. */
export interface CrPayload extends PayloadCommon {
  readonly type: 'CR';
  readonly certType: number;
  readonly authority: Uint8Array;
}

/** RFC 2408 §3.14 Notification payload. */
export interface NotifyPayload extends PayloadCommon {
  readonly type: 'N';
  readonly doi: number;
  readonly protocol: number;
  readonly notifyType: number;
  readonly spi: Uint8Array;
  readonly data: Uint8Array;
}

/** RFC 2408 §3.15 Delete payload. All SPIs have the same size (`spiSize`). */
export interface DeletePayload extends PayloadCommon {
  readonly type: 'D';
  readonly doi: number;
  readonly protocol: number;
  readonly spiSize: number;
  readonly spis: readonly Uint8Array[];
}

/** ModeCfg draft §3.2 Attribute payload (14). */
export interface AttributePayload extends PayloadCommon {
  readonly type: 'ATTR';
  readonly cfgType: number;
  readonly identifier: number;
  readonly attributes: readonly DataAttribute[];
  /** The RESERVED octet after Type, when non-zero. */
  readonly reserved2?: number;
  /**
   * Zero octets after the last attribute (1 to 3), when the sender padded the payload to a
   * multiple of four: Libreswan does after an attribute of odd length (CISCO_SPLIT_INC). Kept so
   * that the payload re-encodes to the same bytes.
   */
  readonly padding?: number;
}

/** RFC 3947 §3.2 NAT-D (20; 130 in the drafts): a hash. */
export interface NatDPayload extends PayloadCommon {
  readonly type: 'NAT-D';
  readonly payloadType: 20 | 130;
  readonly hash: Uint8Array;
}

/** RFC 3947 §5.2 NAT-OA (21; 131 in the drafts): ID type, reserved, address. */
export interface NatOaPayload extends PayloadCommon {
  readonly type: 'NAT-OA';
  readonly payloadType: 21 | 131;
  readonly idType: number;
  readonly address: Uint8Array;
  /** The three RESERVED octets after ID type, when non-zero (as a 24-bit number). */
  readonly reserved2?: number;
}

/** Cisco / strongSwan IKEv1 fragment (132): fragment ID, number, flags (LAST = 1), data. */
export interface FragmentPayload extends PayloadCommon {
  readonly type: 'FRAG';
  readonly fragmentId: number;
  readonly fragmentNumber: number;
  readonly flags: number;
  readonly data: Uint8Array;
}

/** A payload whose type the codec does not know (or knows but cannot use in IKEv1): kept raw. */
export interface UnknownPayload extends PayloadCommon {
  readonly type: 'UNKNOWN';
  readonly payloadType: number;
  readonly body: Uint8Array;
}

export type Payload =
  | SaPayload
  | DataPayload
  | IdPayload
  | CertPayload
  | CrPayload
  | NotifyPayload
  | DeletePayload
  | AttributePayload
  | NatDPayload
  | NatOaPayload
  | FragmentPayload
  | UnknownPayload;

export type PayloadName = Payload['type'];

/** RFC 2408 §3.1 ISAKMP header. `length` is derived on encode. */
export interface Header {
  readonly initiatorCookie: Uint8Array; // 8 octets
  readonly responderCookie: Uint8Array; // 8 octets
  /** Next Payload of the header: type of the first payload (also when the body is encrypted). */
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly exchangeType: number;
  readonly flags: number;
  readonly messageId: number;
}

/**
 * A whole message. When the E flag is set the body stays opaque (`encrypted`), and `payloads` is
 * empty; the exchange layer decrypts and then calls `decodePayloads(header.nextPayload, plain)`.
 */
export interface Message {
  readonly header: Header;
  readonly payloads: readonly Payload[];
  readonly encrypted?: Uint8Array;
  /**
   * Bytes after the last payload of an unencrypted message, inside the header length (Libreswan
   * pads some messages with zeros; tshark calls them "Extra data"). Absent when there are none.
   * Never part of a payload: no hash over payloads covers them. `verify()` reports them.
   */
  readonly trailing?: Uint8Array;
}
