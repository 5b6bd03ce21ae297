/**
 * The ISAKMP wire codec (RFC 2408 §3, RFC 2407 §4, RFC 3947, ModeCfg/XAUTH drafts, IKE
 * fragments): bytes ⇄ plain readonly records. No crypto, no state, no I/O.
 * @module
 */
export * from './types.js';
export {
  decodeHeader,
  decodeMessage,
  decodePayloads,
  encodeMessage,
  encodePayloads,
  encodePayloadBody,
} from './message.js';
export { payloadTypeOf, spiSizeOk, NONCE_MIN, NONCE_MAX, ID_DATA_LENGTH } from './payloads.js';
export {
  tv,
  tlv,
  attrValueAsNumber,
  ikeAttributes,
  ipsecAttributes,
  EcnTunnel,
  ExtendedSequenceNumber,
  type NamedValue,
  type LifePair,
  type IkeAttributes,
  type IpsecAttributes,
} from './attributes.js';
export { decodeIdentification, encodeIdentification, type Identification } from './identification.js';
export { verify, verifyFindings, type VerifyFinding } from './verify.js';
