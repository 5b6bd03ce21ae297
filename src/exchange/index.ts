/**
 * The sans-IO IKEv1 engine: Endpoint, connection/event records, proposal selection, selectors,
 * exchange scripts. See docs/engine.md.
 * @module
 */
export { Endpoint, parseLifetimeData } from './endpoint.js';
export type * from './types.js';
export {
  hostSelector,
  subnetSelector,
  selectorToId,
  idToSelector,
  selectorWithin,
  identityToId,
  idToIdentity,
  identityMatches,
  addressIdentity,
  parseAddress,
  formatAddress,
} from './ids.js';
export {
  buildIkeSa,
  selectIke,
  checkIkeAnswer,
  buildIpsecSa,
  selectIpsec,
  checkIpsecAnswer,
  buildIpsecAnswer,
  parseIkeTransform,
  parseIpsecTransform,
  keymatBytes,
  groupAllowed,
  WEAK_GROUPS,
  SUPPORTED_GROUPS,
  DEFAULT_IKE_LIFETIME,
  DEFAULT_IPSEC_LIFETIME,
  type IkeSelection,
  type IpsecSelection,
} from './proposals.js';
export { checkMessage, type MessageScript, type PayloadRule } from './scripts.js';
export { MAIN_MODE } from './drivers/main-mode.js';
export { AGGRESSIVE_MODE } from './drivers/aggressive-mode.js';
export { QUICK_MODE } from './drivers/quick-mode.js';
export { INFORMATIONAL } from './drivers/informational.js';
export { TimerQueue } from './timers.js';
export { parseIkeProposal, parseIpsecProposal, parseIkeProposalSpec, parseEspProposalSpec, parseAhProposalSpec, groupName, type Parsed, type IkeProposalSpec, type EspProposalSpec, type AhProposalSpec } from './names.js';
export { NATT_RFC3947_VID, NATT_DRAFT_VIDS, nattVidKind, natdHash, natdHashLength, encapsulatedMode, encapsulatedProposals, modeName } from './natt.js';
