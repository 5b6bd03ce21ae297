/**
 * The configuration file's compact proposal syntax: the parser lives in src/exchange/names.ts
 * (one parser for the library and the config loader); these are the names the daemon uses.
 */
export {
  GROUPS,
  WEAK_GROUPS,
  groupName,
  parseIkeProposalSpec as parseIkeProposal,
  parseEspProposalSpec as parseEspProposal,
  parseAhProposalSpec as parseAhProposal,
  type IkeProposalSpec as IkeProposal,
  type EspProposalSpec as EspProposal,
  type AhProposalSpec as AhProposal,
  type Parsed,
} from '../exchange/names.js';
