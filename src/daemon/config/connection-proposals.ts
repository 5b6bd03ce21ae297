/**
 * A connection's proposals in the compact syntax of src/exchange/names.ts: `ike` (phase 1),
 * `pfs` and `esp` or `ah` (Quick Mode), with the rules that span proposals (one DH group in
 * Aggressive Mode, one PFS group for all IPsec proposals; ESP or AH, not both).
 */
import type { Node } from 'yaml';
import { groupName, parseAhProposalSpec, parseEspProposalSpec, parseIkeProposalSpec, type AhProposalSpec, type EspProposalSpec, type IkeProposalSpec } from '../../exchange/names.js';
import { scalarString, stringList, type Section } from './yaml.js';

/** The ESP proposals of a connection without `esp:`. */
const DEFAULT_ESP = ['aes128-sha256', 'aes256-sha256'];

/**
 * `before`: the number of problems before this connection, so that "give at least one proposal"
 * is said only when no other problem explains an empty list.
 */
export function parseProposals(
  s: Section,
  exchange: 'main' | 'aggressive',
  allowWeakGroups: boolean,
  before: number,
): { ike: IkeProposalSpec[]; esp: EspProposalSpec[]; ah: AhProposalSpec[] } {
  const { ctx, path } = s;
  const ike: IkeProposalSpec[] = [];
  const ikeNode = s.req('ike');
  if (ikeNode !== undefined) {
    for (const item of stringList(ctx, ikeNode.value, `${path}.ike`) ?? []) {
      const r = parseIkeProposalSpec(item.text, { allowWeakGroups });
      if (r.ok) ike.push(r.value);
      else ctx.error(item.node, `${path}.ike`, r.error);
    }
    if (ike.length === 0 && ctx.problems.length === before) ctx.error(ikeNode.value, `${path}.ike`, 'give at least one proposal, e.g. aes128-sha256-modp2048');
  }
  if (exchange === 'aggressive' && new Set(ike.map((p) => p.group)).size > 1) {
    ctx.error(ikeNode?.value, `${path}.ike`, 'aggressive mode sends its KE in the first message, so all proposals must use the same DH group');
  }
  const pfsGroup = parsePfs(s, allowWeakGroups);
  const esp: EspProposalSpec[] = [];
  const espNode = s.entries.get('esp');
  const ahNode = s.entries.get('ah');
  if (ahNode !== undefined) {
    if (espNode !== undefined) ctx.error(ahNode.value, `${path}.ah`, 'give esp: or ah:, not both (AH + ESP bundles are not supported; AH alone authenticates without encrypting)');
    return { ike, esp, ah: parseAh(s, ahNode.value, allowWeakGroups, pfsGroup) };
  }
  const espItems = espNode !== undefined ? stringList(ctx, espNode.value, `${path}.esp`) ?? [] : DEFAULT_ESP.map((text) => ({ text, node: s.node as Node }));
  esp.push(...phase2Specs(s, 'esp', espItems, (text) => parseEspProposalSpec(text, { allowWeakGroups }), pfsGroup));
  if (espNode !== undefined && esp.length === 0 && espItems.length === 0) ctx.error(espNode.value, `${path}.esp`, 'give at least one proposal, e.g. aes128-sha256');
  if (new Set(esp.map((p) => p.group ?? 0)).size > 1) {
    ctx.error(s.at('esp'), `${path}.esp`, 'all ESP proposals must agree on the PFS group (Quick Mode sends one KE)');
  }
  return { ike, esp, ah: [] };
}

/** `ah:` INTEG[-GROUP] proposals (AH alone, instead of ESP), with `pfs:` filled in as for ESP. */
function parseAh(s: Section, node: Node | null, allowWeakGroups: boolean, pfsGroup: number | undefined | null): AhProposalSpec[] {
  const { ctx, path } = s;
  const items = stringList(ctx, node, `${path}.ah`) ?? [];
  const ah = phase2Specs(s, 'ah', items, (text) => parseAhProposalSpec(text, { allowWeakGroups }), pfsGroup);
  if (items.length === 0) ctx.error(node, `${path}.ah`, 'give at least one proposal, e.g. sha256');
  if (new Set(ah.map((p) => p.group ?? 0)).size > 1) ctx.error(node, `${path}.ah`, 'all AH proposals must agree on the PFS group (Quick Mode sends one KE)');
  return ah;
}

/**
 * The `esp:` or `ah:` proposals of `items`, each parsed by `parse`, with `pfs:` applied: a proposal
 * without a group takes the `pfs:` group (its text then names it), one with a different group is
 * an error; `pfsGroup` null (no `pfs:`) leaves the proposals as written.
 */
function phase2Specs<T extends { readonly text: string; readonly group?: number | undefined }>(
  s: Section,
  key: 'esp' | 'ah',
  items: readonly { readonly text: string; readonly node: Node }[],
  parse: (text: string) => { ok: true; value: T } | { ok: false; error: string },
  pfsGroup: number | undefined | null,
): T[] {
  const { ctx, path } = s;
  const out: T[] = [];
  for (const item of items) {
    const r = parse(item.text);
    if (!r.ok) {
      ctx.error(item.node, `${path}.${key}`, r.error);
      continue;
    }
    let p = r.value;
    if (pfsGroup !== null) {
      if (p.group !== undefined && p.group !== pfsGroup) {
        ctx.error(item.node, `${path}.${key}`, `'${item.text}' names a PFS group that differs from pfs: (drop the group here, or make them agree)`);
        continue;
      }
      if (p.group === undefined && pfsGroup !== undefined) p = { ...p, group: pfsGroup, text: `${p.text}-${groupName(pfsGroup)}` };
    }
    out.push(p);
  }
  return out;
}

/** `pfs:` a group, or none/no/false; `null` when not given (the ESP proposals decide). */
function parsePfs(s: Section, allowWeakGroups: boolean): number | undefined | null {
  const { ctx, path } = s;
  const pfsNode = s.entries.get('pfs');
  if (pfsNode === undefined) return null;
  const text = scalarString(ctx, pfsNode.value, `${path}.pfs`);
  if (text === undefined) return null;
  if (text === 'none' || text === 'no' || text === 'false') return undefined;
  const r = parseEspProposalSpec(`aes128-sha1-${text}`, { allowWeakGroups });
  if (r.ok) return r.value.group;
  ctx.error(pfsNode.value, `${path}.pfs`, `'${text}' is not a DH group (write none, modp2048, ecp256, ...)` + (r.error.includes('weak') ? ': ' + r.error : ''));
  return null;
}
