/**
 * `isakmp/codec`: the ISAKMP wire format (RFC 2408 §3, RFC 2407 §4, RFC 3947, ModeCfg/XAUTH
 * drafts, IKE fragments): every wire number (src/constants) with `nameOf` for logs, the typed
 * errors every layer throws, and bytes ⇄ plain readonly records. No crypto, no state, no I/O;
 * importing it loads nothing of the engine or the daemon. The names are listed in docs/api.md.
 * @module
 */
export * from '../constants/index.js';
export { IsakmpError, DecodeError, RemoteProtocolError, LocalProtocolError } from '../errors.js';
export type {
  DataAttribute,
  Transform,
  Proposal,
  LabeledDomain,
  SaPayload,
  DataPayload,
  IdPayload,
  CertPayload,
  CrPayload,
  NotifyPayload,
  DeletePayload,
  AttributePayload,
  NatDPayload,
  NatOaPayload,
  FragmentPayload,
  UnknownPayload,
  Payload,
  PayloadName,
  Header,
  Message,
} from './types.js';
export { decodeHeader, decodeMessage, decodePayloads, encodeMessage, encodePayloads, encodePayloadBody } from './message.js';
export { payloadTypeOf, NONCE_MIN, NONCE_MAX } from './payloads.js';
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
