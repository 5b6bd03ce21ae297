/**
 * Proposals in the operator's words, for the reasons of refusals (issue 10): what the peer offered
 * and what we accept, in the compact syntax of the configuration (`aes128-sha256-modp2048`,
 * `esp aes128gcm16-ecp256`), with hints where a group is refused as weak or the authentication
 * methods differ; and the phase-1 selections of proposals.ts with those words in their refusals
 * (cause NO_PROPOSAL_CHOSEN). Computed only when a negotiation is refused, never on the hot path.
 * @module
 */
import type { SaPayload } from '../codec/types.js';
import { AuthMethod, IpcompTransformId, ProtocolId } from '../constants/index.js';
import { dhGroupInfo } from './crypto.js';
import type { Selector } from './types.js';
import { groupName, ikeTransformName, ipsecTransformName } from './names.js';
import { IsakmpError } from '../errors.js';
import { NotifyType } from '../constants/index.js';
import { authMethodOf, checkIkeAnswer, parseIkeTransform, parseIpsecTransform, selectIke, type IkeSelection } from './proposals.js';
import { refuse } from './refusal.js';
import type { ChosenIke, Connection, IkeProposal, IpsecProposal } from './types.js';

/** At most this many offered transforms are named in one reason. */
const MAX_NAMED = 8;

function authName(auth: number): string {
  return auth === AuthMethod.PRE_SHARED_KEY ? 'psk' : auth === AuthMethod.RSA_SIGNATURES ? 'rsa' : `auth${auth}`;
}

function list(names: readonly string[]): string {
  const uniq = [...new Set(names)];
  return uniq.length > MAX_NAMED ? `${uniq.slice(0, MAX_NAMED).join(', ')} and ${uniq.length - MAX_NAMED} more` : uniq.join(', ');
}

/** The weak-group hint for a group a connection without the opt-in refuses, else ''. */
function weakHint(group: number, allowWeak: boolean): string {
  const g = dhGroupInfo(group);
  return g !== undefined && g.weak && !allowWeak ? ` (${groupName(group)} is weak: allow_weak_groups)` : '';
}

/**
 * Why no phase-1 transform fits, in words: `peer offered X, Y (modp1024 is weak:
 * allow_weak_groups), we accept A, B` (and the authentication methods when they differ).
 */
export function ikeRefusalText(sa: SaPayload, ours: readonly IkeProposal[], ourAuth: number, allowWeak: boolean, verb = 'offered'): string {
  const offered: string[] = [];
  const auths = new Set<number>();
  for (const p of sa.proposals) {
    for (const t of p.transforms) {
      const c = parseIkeTransform(t);
      if (c === undefined) {
        offered.push(`transform ${t.number} (attributes we do not implement)`);
        continue;
      }
      auths.add(c.auth);
      offered.push(`${ikeTransformName(c).split(' ')[0]}${weakHint(c.group, allowWeak)}`);
    }
  }
  const ourNames = ours.map((p) => ikeTransformName({ ...p, keyLength: p.keyLength ?? 0, auth: ourAuth }).split(' ')[0] ?? '');
  let text = `peer ${verb} ${list(offered) || 'nothing'}, we ${verb === 'offered' ? 'accept' : 'offered'} ${list(ourNames)}`;
  if (auths.size > 0 && !auths.has(ourAuth)) text += `; peer authenticates with ${[...auths].map(authName).join('/')}, we with ${authName(ourAuth)}`;
  return text;
}

/** One offered IPsec transform in the compact syntax (`esp aes128-sha256-modp2048`, `ipcomp deflate`). */
function ipsecTransformText(protocol: number, t: SaPayload['proposals'][number]['transforms'][number], allowWeak: boolean): string {
  if (protocol === ProtocolId.PROTO_IPCOMP) {
    const name = Object.entries(IpcompTransformId).find(([, id]) => id === t.id)?.[0];
    return `ipcomp ${name !== undefined ? name.slice('IPCOMP_'.length).toLowerCase() : `transform ${t.id}`}`;
  }
  const parsed = parseIpsecTransform(t);
  if (parsed === undefined) {
    return `${protocol === ProtocolId.PROTO_IPSEC_AH ? 'ah' : protocol === ProtocolId.PROTO_IPSEC_ESP ? 'esp' : `protocol ${protocol}`} transform ${t.id} (attributes we do not implement)`;
  }
  const spec = { protocol, transformId: parsed.transformId, authAlgorithm: parsed.authAlgorithm, ...(parsed.keyLength !== undefined ? { keyLength: parsed.keyLength } : {}) };
  return `${ipsecTransformName(spec, parsed.group)}${parsed.group ? weakHint(parsed.group, allowWeak) : ''}`;
}

/**
 * The IPsec proposals of an SA payload in the compact syntax (`esp aes128-sha256-modp2048`): the
 * protocols of one proposal number (RFC 2408 §4.2: taken together or not at all) joined by ` + `,
 * as `esp aes128-sha256 + ipcomp deflate` (at most MAX_NAMED² combinations of one proposal).
 */
function ipsecOffered(sa: SaPayload, allowWeak: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < sa.proposals.length; ) {
    let combos = [''];
    const number = sa.proposals[i]!.number;
    for (; i < sa.proposals.length && sa.proposals[i]!.number === number; i++) {
      const p = sa.proposals[i]!;
      const names = p.transforms.map((t) => ipsecTransformText(p.protocol, t, allowWeak));
      combos = combos.flatMap((c) => names.map((n) => (c === '' ? n : `${c} + ${n}`))).slice(0, MAX_NAMED * MAX_NAMED);
    }
    out.push(...combos.filter((c) => c !== ''));
  }
  return out;
}

/** Why no IPsec proposal fits, in words: `peer offered esp X, we accept esp A, esp B`. */
export function ipsecRefusalText(sa: SaPayload, ours: readonly IpsecProposal[], allowWeak: boolean): string {
  const ourNames = ours.map((p) => p.protocols.map((s) => ipsecTransformName(s, p.group ?? 0)).join(' + '));
  const pfsOffered = new Set(ipsecOffered(sa, true).map((n) => /-(modp|ecp)\d/.test(n)));
  const pfsOurs = new Set(ours.map((p) => (p.group ?? 0) !== 0));
  let text = `peer offered ${list(ipsecOffered(sa, allowWeak)) || 'nothing'}, we accept ${list(ourNames)}`;
  if (pfsOffered.size === 1 && pfsOurs.size === 1 && [...pfsOffered][0] !== [...pfsOurs][0]) text += [...pfsOurs][0] ? '; we require PFS (pfs:), the peer offers none' : '; the peer requires PFS, we have none (set pfs: or a group in esp:)';
  if (sa.proposals.length > 0 && sa.proposals.every((p) => sa.proposals.some((q) => q.number === p.number && q.protocol === ProtocolId.PROTO_IPCOMP))) {
    text += '; every proposal of the peer asks for IPComp (compression), which isakmp does not negotiate: turn it off on the peer (compress=no)';
  }
  return text;
}

/** A selector as the configuration writes it: `10.1.0.0/16`, `198.18.0.1`, `10.0.0.1-10.0.0.9`, `…[17/500]`. */
export function selectorText(s: Selector): string {
  const base = s.prefix !== undefined ? `${s.start}/${s.prefix}` : s.start === s.end ? s.start : `${s.start}-${s.end}`;
  return s.protocol !== 0 ? `${base}[${s.protocol}${s.port !== 0 ? '/' + s.port : ''}]` : base;
}

/** A NO_PROPOSAL_CHOSEN error of proposals.ts (not another refusal), as a Failure with `words`. */
function noProposal(e: unknown, words: () => string): unknown {
  return e instanceof IsakmpError && e.notify === NotifyType.NO_PROPOSAL_CHOSEN ? refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'NO_PROPOSAL_CHOSEN', words()) : e;
}

/** Responder: selectIke for connection `c`, its refusal naming the offer and what `c` accepts. */
export function selectIkeOf(c: Connection, sa: SaPayload): IkeSelection {
  const auth = authMethodOf(c, false);
  try {
    return selectIke(sa, c.ike, auth, c.allowWeakGroups ?? false, c.preferOwnOrder ?? false);
  } catch (e) {
    throw noProposal(e, () => `no proposal chosen for connection ${c.name}: ${ikeRefusalText(sa, c.ike, auth, c.allowWeakGroups ?? false)} (compare ike on both sides)`);
  }
}

/** Initiator: checkIkeAnswer for connection `c`, its refusal naming what the peer chose. */
export function checkIkeAnswerOf(c: Connection, sa: SaPayload): ChosenIke {
  const auth = authMethodOf(c, true);
  try {
    return checkIkeAnswer(sa, c.ike, auth, c.allowWeakGroups ?? false);
  } catch (e) {
    throw noProposal(e, () => `the peer's answer is not a proposal of connection ${c.name}: ${ikeRefusalText(sa, c.ike, auth, c.allowWeakGroups ?? false, 'chose')}`);
  }
}
