/**
 * `isakmp/engine`: the sans-IO IKEv1 engine. The `Endpoint` (inputs `handleDatagram`,
 * `handleTimeout`; commands `initiate`, `rekey`, `delete`; outputs `pollTransmit`, `pollEvent`,
 * `pollTimeout`), its records (connections, events, SA summaries), the helpers that build
 * selectors and identities, and the compact proposal syntax. See docs/engine.md; the names are
 * listed in docs/api.md. The exchange drivers, scripts, proposal selection and timers are internal.
 * @module
 */
export { Endpoint } from './endpoint.js';
export type * from './types.js';
export {
  hostSelector,
  subnetSelector,
  selectorToId,
  idToSelector,
  selectorWithin,
  localSelectorsOf,
  identityToId,
  idToIdentity,
  identityMatches,
  addressIdentity,
  parseAddress,
  formatAddress,
} from './ids.js';
export { DEFAULT_IKE_LIFETIME, DEFAULT_IPSEC_LIFETIME } from './proposals.js';
export {
  parseIkeProposal,
  parseIpsecProposal,
  parseIkeProposalSpec,
  parseEspProposalSpec,
  parseAhProposalSpec,
  groupName,
  ikeTransformName,
  ipsecTransformName,
  type Parsed,
  type IkeProposalSpec,
  type EspProposalSpec,
  type AhProposalSpec,
} from './names.js';
export {
  SNAPSHOT_VERSION,
  exportSa,
  exportIsakmpSa,
  exportIpsecSa,
  importSa,
  importIsakmpSa,
  importIpsecSa,
  type SaRecord,
  type IsakmpSaRecord,
  type IpsecSaRecord,
  type IpsecProtocolRecord,
  type PeerIdRecord,
} from './snapshot.js';
