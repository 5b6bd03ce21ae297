/**
 * RFC 2408 (ISAKMP) wire numbers, in the RFC's own spelling.
 * Every table is `as const` so that values are literal types; use `nameOf` to print one.
 */

/** RFC 2408 §3.1: the only major version ISAKMP defines. */
export const ISAKMP_MAJOR_VERSION = 1;
export const ISAKMP_MINOR_VERSION = 0;
/** RFC 2408 §3.1: fixed header is 28 octets; §3.2: generic payload header 4 octets. */
export const ISAKMP_HEADER_LENGTH = 28;
export const GENERIC_HEADER_LENGTH = 4;
/** RFC 3947 §4: UDP port 4500 carries ISAKMP behind a 4-octet zero "non-ESP marker". */
export const NON_ESP_MARKER_LENGTH = 4;
export const IKE_PORT = 500;
export const NATT_PORT = 4500;

/** RFC 2408 §3.1 Exchange Type (plus RFC 2409 §5.5/§6 and the ModeCfg draft's Transaction). */
export const ExchangeType = {
  NONE: 0,
  BASE: 1,
  IDENTITY_PROTECTION: 2, // IKE Main Mode
  AUTHENTICATION_ONLY: 3,
  AGGRESSIVE: 4,
  INFORMATIONAL: 5,
  TRANSACTION: 6, // draft-ietf-ipsec-isakmp-mode-cfg
  QUICK_MODE: 32, // RFC 2409 §5.5
  NEW_GROUP_MODE: 33, // RFC 2409 §6
} as const;

/** RFC 2408 §3.1 Flags. */
export const HeaderFlag = {
  ENCRYPTION: 0x01,
  COMMIT: 0x02,
  AUTHENTICATION_ONLY: 0x04,
} as const;

/**
 * RFC 2408 §3.1 Next Payload types, plus RFC 3947 (NAT-T), the NAT-T drafts' private numbers,
 * the ModeCfg draft's Attribute payload and the Cisco/strongSwan IKE fragment payload.
 */
export const PayloadType = {
  NONE: 0,
  SA: 1,
  P: 2, // Proposal
  T: 3, // Transform
  KE: 4,
  ID: 5,
  CERT: 6,
  CR: 7,
  HASH: 8,
  SIG: 9,
  NONCE: 10,
  N: 11, // Notification
  D: 12, // Delete
  VID: 13,
  ATTR: 14, // draft-ietf-ipsec-isakmp-mode-cfg
  SAK: 15, // RFC 3547 (GDOI) — not an IKEv1 payload
  NAT_D: 20, // RFC 3947
  NAT_OA: 21, // RFC 3947
  NAT_D_DRAFT: 130, // draft-ietf-ipsec-nat-t-ike-02/03
  NAT_OA_DRAFT: 131,
  FRAGMENT: 132, // Cisco / strongSwan IKEv1 fragmentation
} as const;

/** RFC 2408 §3.14.1 Notify Message Types: errors 1..30, status 16384.. */
export const NotifyType = {
  INVALID_PAYLOAD_TYPE: 1,
  DOI_NOT_SUPPORTED: 2,
  SITUATION_NOT_SUPPORTED: 3,
  INVALID_COOKIE: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_MINOR_VERSION: 6,
  INVALID_EXCHANGE_TYPE: 7,
  INVALID_FLAGS: 8,
  INVALID_MESSAGE_ID: 9,
  INVALID_PROTOCOL_ID: 10,
  INVALID_SPI: 11,
  INVALID_TRANSFORM_ID: 12,
  ATTRIBUTES_NOT_SUPPORTED: 13,
  NO_PROPOSAL_CHOSEN: 14,
  BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16,
  INVALID_KEY_INFORMATION: 17,
  INVALID_ID_INFORMATION: 18,
  INVALID_CERT_ENCODING: 19,
  INVALID_CERTIFICATE: 20,
  CERT_TYPE_UNSUPPORTED: 21,
  INVALID_CERT_AUTHORITY: 22,
  INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24,
  INVALID_SIGNATURE: 25,
  ADDRESS_NOTIFICATION: 26,
  NOTIFY_SA_LIFETIME: 27,
  CERTIFICATE_UNAVAILABLE: 28,
  UNSUPPORTED_EXCHANGE_TYPE: 29,
  UNEQUAL_PAYLOAD_LENGTHS: 30,
  CONNECTED: 16384,
  /** RFC 2407 §4.6.3 IPsec DOI status notifies. */
  RESPONDER_LIFETIME: 24576,
  REPLAY_STATUS: 24577,
  INITIAL_CONTACT: 24578,
  /** RFC 3706 Dead Peer Detection. */
  R_U_THERE: 36136,
  R_U_THERE_ACK: 36137,
} as const;

/** RFC 2408 §3.14.1: error types are 1..16383; status types are 16384..65535. */
export function isErrorNotify(type: number): boolean {
  return type >= 1 && type < 16384;
}

/** RFC 2408 §3.4 Domain of Interpretation. 0 = generic ISAKMP, 1 = IPsec (RFC 2407), 2 = GDOI. */
export const Doi = {
  ISAKMP: 0,
  IPSEC: 1,
  GDOI: 2,
} as const;

/** RFC 2408 §3.5 / RFC 2407 §4.4.1 Protocol identifiers. */
export const ProtocolId = {
  RESERVED: 0,
  PROTO_ISAKMP: 1,
  PROTO_IPSEC_AH: 2,
  PROTO_IPSEC_ESP: 3,
  PROTO_IPCOMP: 4,
} as const;

/** RFC 2407 §4.4.2 ISAKMP transform identifiers. */
export const IsakmpTransformId = {
  RESERVED: 0,
  KEY_IKE: 1,
} as const;

/** Numeric lookup tables are `{ NAME: number }`. */
export type NumberTable = Readonly<Record<string, number>>;

const reverseCache = new WeakMap<NumberTable, Map<number, string>>();

/**
 * The RFC name of `value` in `table`, or `undefined` when the table has none.
 * Reverse maps are built once per table and cached.
 */
export function lookupName(table: NumberTable, value: number): string | undefined {
  let rev = reverseCache.get(table);
  if (rev === undefined) {
    rev = new Map();
    for (const [k, v] of Object.entries(table)) if (!rev.has(v)) rev.set(v, k);
    reverseCache.set(table, rev);
  }
  return rev.get(value);
}

/** The RFC name of `value`, or `UNKNOWN(<value>)`: safe for logs (bounded, never throws). */
export function nameOf(table: NumberTable, value: number): string {
  return lookupName(table, value) ?? `UNKNOWN(${value >>> 0})`;
}
