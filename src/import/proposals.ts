/**
 * Algorithm lists of the three sources turned into isakmp's compact proposals (the syntax of
 * src/exchange/names.ts): strongSwan's `aes128-aes256-sha256-modp2048-ecp256` (every
 * combination), Libreswan's `aes256-sha2_256;modp2048`, and Cisco IOS policies and transform
 * sets. Whatever isakmp cannot offer is left out with a note saying which algorithm and why;
 * weak Diffie-Hellman groups are dropped when stronger ones remain, else kept and flagged.
 * @module
 */
import { DH_GROUPS } from '../crypto/index.js';
import { parseAhProposalSpec, parseEspProposalSpec, parseIkeProposalSpec } from '../exchange/names.js';

/** The configuration's group names and numbers, and the weak ones: the crypto registry's. */
export const GROUPS: Readonly<Record<string, number>> = Object.fromEntries(DH_GROUPS.filter((g) => g.negotiable).map((g) => [g.shortName, g.id]));
export const WEAK_GROUPS: ReadonlySet<number> = new Set(DH_GROUPS.filter((g) => g.weak).map((g) => g.id));

export interface ProposalList {
  readonly proposals: readonly string[];
  readonly notes: readonly string[];
  /** A kept proposal uses a weak group (allow_weak_groups is needed). */
  readonly weak: boolean;
}

const IKE_CIPHERS: Readonly<Record<string, string>> = { aes: 'aes128', aes128: 'aes128', aes192: 'aes192', aes256: 'aes256', '3des': '3des' };
const ESP_CIPHERS: Readonly<Record<string, string>> = { ...IKE_CIPHERS, aes128gcm16: 'aes128gcm16', aes192gcm16: 'aes192gcm16', aes256gcm16: 'aes256gcm16', aes128gcm: 'aes128gcm16', aes192gcm: 'aes192gcm16', aes256gcm: 'aes256gcm16' };
const HASHES: Readonly<Record<string, string>> = { md5: 'md5', sha: 'sha1', sha1: 'sha1', sha256: 'sha256', sha2_256: 'sha256', sha384: 'sha384', sha2_384: 'sha384', sha512: 'sha512', sha2_512: 'sha512' };
/** strongSwan's and Libreswan's group names; dhN by IKE group number. */
const GROUP_ALIASES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.keys(GROUPS).map((g) => [g, g])),
  ...Object.fromEntries(Object.entries(GROUPS).map(([name, n]) => [`dh${n}`, name])),
};

/** What a strongSwan token is. */
function classify(t: string): 'enc' | 'integ' | 'prf' | 'dh' | 'esn' | 'unknown' {
  if (/^(aes|3des|des|blowfish|cast|camellia|chacha20|null|twofish|serpent|idea|rc5)/.test(t)) return 'enc';
  if (/^prf/.test(t)) return 'prf';
  if (/^(md5|sha|aesxcbc|aescmac|aes.*gmac)/.test(t)) return 'integ';
  if (/^(modp|ecp|curve|x25519|x448|ntru|newhope|dh\d|mlkem|ke\d)/.test(t)) return 'dh';
  if (t === 'esn' || t === 'noesn') return 'esn';
  return 'unknown';
}

/** Weak groups out when stronger proposals remain. */
function finish(kept: string[], notes: string[], groupOf: (p: string) => string | undefined): ProposalList {
  const uniq = [...new Set(kept)];
  const isWeak = (p: string): boolean => {
    const g = groupOf(p);
    return g !== undefined && WEAK_GROUPS.has(GROUPS[g]!);
  };
  const strong = uniq.filter((p) => !isWeak(p));
  if (strong.length > 0 && strong.length < uniq.length) {
    notes.push(`not carried: ${uniq.filter(isWeak).join(', ')}: weak Diffie-Hellman groups (below 2048-bit MODP), refused by isakmp's defaults; the stronger proposals remain`);
    return { proposals: strong, notes, weak: false };
  }
  return { proposals: uniq, notes, weak: strong.length === 0 && uniq.length > 0 };
}

const ikeGroupOf = (p: string): string | undefined => p.split('-')[2];
const espGroupOf = (p: string): string | undefined => {
  const parts = p.split('-');
  const g = parts[parts.length - 1]!;
  return GROUPS[g] !== undefined ? g : undefined;
};

interface Split { enc: string[]; integ: string[]; prf: string[]; dh: string[]; dropped: string[] }

function splitTokens(tokens: readonly string[]): Split {
  const s: Split = { enc: [], integ: [], prf: [], dh: [], dropped: [] };
  for (const t of tokens) {
    switch (classify(t)) {
      case 'enc': s.enc.push(t); break;
      case 'integ': s.integ.push(t); break;
      case 'prf': s.prf.push(t); break;
      case 'dh': s.dh.push(t); break;
      case 'esn': break;
      default: s.dropped.push(t);
    }
  }
  return s;
}

/** A strongSwan proposal list: comma-separated, lower case, the strict-mode `!` dropped. */
function strongswanItems(text: string): string[] {
  return text.split(',').map((p) => p.trim().toLowerCase().replace(/!$/, '')).filter(Boolean);
}

/** The PFS groups of a phase-2 proposal as isakmp names them (none: one `undefined`); unknown ones noted in `unsupported`. */
function pfsGroups(dh: readonly string[], unsupported: Set<string>): (string | undefined)[] {
  if (dh.length === 0) return [undefined];
  return dh.map((g) => GROUP_ALIASES[g] ?? (unsupported.add(g), undefined)).filter((g) => g !== undefined);
}

/** strongSwan IKE proposals (`proposals =` / `ike=`): every combination of their algorithms. */
export function strongswanIke(text: string): ProposalList {
  const kept: string[] = [];
  const notes: string[] = [];
  const unsupported = new Set<string>();
  for (const raw of strongswanItems(text)) {
    if (raw === 'default') {
      notes.push("strongSwan's built-in default IKE proposals replaced by aes128-sha256-modp2048, aes256-sha256-modp2048, aes128-sha256-ecp256 (IKEv1 subset)");
      kept.push('aes128-sha256-modp2048', 'aes256-sha256-modp2048', 'aes128-sha256-ecp256');
      continue;
    }
    const s = splitTokens(raw.split('-'));
    for (const t of s.dropped) unsupported.add(t);
    // IKEv1 has no separate PRF: the hash is the PRF. A prf-only proposal names the hash through it.
    const hashes = s.integ.length > 0 ? s.integ : s.prf.map((p) => p.slice(3));
    for (const e of s.enc) for (const h of hashes) for (const g of s.dh) {
      const enc = IKE_CIPHERS[e];
      const hash = HASHES[h];
      const group = GROUP_ALIASES[g];
      if (enc === undefined) unsupported.add(e);
      if (hash === undefined) unsupported.add(h);
      if (group === undefined) unsupported.add(g);
      if (enc !== undefined && hash !== undefined && group !== undefined) kept.push(`${enc}-${hash}-${group}`);
    }
    if (s.enc.length === 0 || hashes.length === 0 || s.dh.length === 0) notes.push(`not carried: IKE proposal '${raw}' lacks an encryption, hash or DH group isakmp can use`);
  }
  if (unsupported.size > 0) notes.push(`not carried: ${[...unsupported].join(', ')}: not an IKEv1 algorithm isakmp offers (IKE: aes128/192/256, 3des; md5, sha1, sha256/384/512; MODP and ECP groups)`);
  return finish(kept.filter((p) => parseIkeProposalSpec(p, { allowWeakGroups: true }).ok), notes, ikeGroupOf);
}

/** strongSwan ESP proposals (`esp_proposals =` / `esp=`); a DH group in a proposal is its PFS group. */
export function strongswanEsp(text: string): ProposalList {
  const kept: string[] = [];
  const notes: string[] = [];
  const unsupported = new Set<string>();
  for (const raw of strongswanItems(text)) {
    if (raw === 'default') {
      notes.push("strongSwan's built-in default ESP proposals replaced by aes128-sha256, aes256-sha256");
      kept.push('aes128-sha256', 'aes256-sha256');
      continue;
    }
    const s = splitTokens(raw.split('-'));
    for (const t of [...s.dropped, ...s.prf]) unsupported.add(t);
    const groups = pfsGroups(s.dh, unsupported);
    for (const e of s.enc) {
      const enc = ESP_CIPHERS[e];
      if (enc === undefined) {
        unsupported.add(e);
        continue;
      }
      const aead = enc.includes('gcm');
      const integs = aead ? [undefined] : s.integ.map((i) => HASHES[i] ?? (unsupported.add(i), undefined)).filter((i) => i !== undefined);
      for (const i of integs) for (const g of groups) kept.push([enc, i, g].filter((x) => x !== undefined).join('-'));
    }
  }
  if (unsupported.size > 0) notes.push(`not carried: ${[...unsupported].join(', ')}: not an ESP algorithm isakmp offers (aes128/192/256, 3des, aes*gcm16; md5, sha1, sha256/384/512)`);
  return finish(kept.filter((p) => parseEspProposalSpec(p, { allowWeakGroups: true }).ok), notes, espGroupOf);
}

/**
 * strongSwan's `ah=` / `ah_proposals`: `INTEG[-INTEG…][-GROUP…]`, comma-separated, every
 * combination → isakmp's `ah:` proposals (`sha256`, `sha256-modp2048`).
 */
export function strongswanAh(text: string): ProposalList {
  const kept: string[] = [];
  const notes: string[] = [];
  const unsupported = new Set<string>();
  for (const raw of strongswanItems(text)) {
    if (raw === 'default') {
      notes.push("strongSwan's built-in default AH proposals replaced by sha256, sha1");
      kept.push('sha256', 'sha1');
      continue;
    }
    const s = splitTokens(raw.split('-'));
    for (const t of [...s.dropped, ...s.prf, ...s.enc]) unsupported.add(t);
    const groups = pfsGroups(s.dh, unsupported);
    for (const i of s.integ) {
      const integ = HASHES[i];
      if (integ === undefined) {
        unsupported.add(i);
        continue;
      }
      for (const g of groups) kept.push([integ, g].filter((x) => x !== undefined).join('-'));
    }
  }
  if (unsupported.size > 0) notes.push(`not carried: ${[...unsupported].join(', ')}: not an AH algorithm isakmp offers (md5, sha1, sha256/384/512)`);
  return finish(kept.filter((p) => parseAhProposalSpec(p, { allowWeakGroups: true }).ok), notes, espGroupOf);
}

/** Libreswan's AH `phase2alg=` (with `phase2=ah`): `HASH[;GROUP]`, comma-separated. */
export function libreswanAh(text: string): ProposalList {
  const rewritten = text.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean).map((raw) => {
    const [algs, dhs] = raw.split(';') as [string, string | undefined];
    return [...algs.split('-').map(libreswanHash), ...(dhs ?? '').split(/[-+]/).filter(Boolean)].join('-');
  });
  return strongswanAh(rewritten.join(','));
}

/** Libreswan's cipher spelling: aes_cbc256, aes_cbc_256, aes256, aes_gcm256, aes_gcm_c_256 … → strongSwan's. */
function libreswanCipher(t: string): string {
  const m = /^(aes|3des)(?:_cbc)?(?:_?(128|192|256))?$/.exec(t);
  if (m) return `${m[1]}${m[2] ?? ''}`;
  const g = /^aes_?gcm(?:_?[abc])?(?:_?(128|192|256))?$/.exec(t);
  if (g) return `aes${g[1] ?? '128'}gcm16`;
  return t;
}

function libreswanHash(t: string): string {
  return t === 'sha2' ? 'sha256' : t === 'sha' ? 'sha1' : t;
}

/** Libreswan `ike=` / `esp=` / `phase2alg=`: `ENC-HASH[;GROUP[-GROUP]]`, comma-separated. */
export function libreswanProposals(text: string, kind: 'ike' | 'esp', defaultGroup?: string): ProposalList {
  const rewritten: string[] = [];
  const notes: string[] = [];
  for (const raw of text.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean)) {
    const [algs, dhs] = raw.split(';') as [string, string | undefined];
    const parts = algs.split('-');
    const out: string[] = [];
    for (const p of parts) {
      const c = libreswanCipher(p);
      if (classify(c) === 'enc') out.push(c === 'aes' ? 'aes128' : c);
      else if (p === 'null' || p === 'none') continue;
      else out.push(libreswanHash(p));
    }
    const groups = (dhs ?? '').split(/[-+]/).filter(Boolean);
    if (groups.length === 0 && kind === 'ike') {
      const g = defaultGroup ?? 'modp2048';
      notes.push(`IKE proposal '${raw}' names no DH group: ${g} used (Libreswan would offer its default list)`);
      groups.push(g);
    }
    rewritten.push([...out, ...groups].join('-'));
  }
  const r = kind === 'ike' ? strongswanIke(rewritten.join(',')) : strongswanEsp(rewritten.join(','));
  return { ...r, notes: [...notes, ...r.notes] };
}

/** IKE group numbers (Cisco's `group N`, `set pfs groupN`) → names. */
export function groupByNumber(n: number): string | undefined {
  return GROUP_ALIASES[`dh${n}`];
}

/** Keeps the proposals whose PFS group is the first one's; says what it dropped. */
export function onePfsGroup(esp: ProposalList): ProposalList {
  if (esp.proposals.length === 0) return esp;
  const first = espGroupOf(esp.proposals[0]!);
  const keep = esp.proposals.filter((p) => espGroupOf(p) === first);
  if (keep.length === esp.proposals.length) return esp;
  const dropped = esp.proposals.filter((p) => espGroupOf(p) !== first);
  return {
    ...esp,
    proposals: keep,
    notes: [...esp.notes, `not carried: ${dropped.join(', ')}: a Quick Mode sends one KE, so isakmp gives all ESP proposals of a connection the same PFS group (kept: ${first ?? 'no PFS'}, the first one's)`],
  };
}

/** The same DH group in all proposals (Aggressive Mode sends its KE in message 1). */
export function oneIkeGroup(ike: ProposalList): ProposalList {
  if (ike.proposals.length === 0) return ike;
  const first = ikeGroupOf(ike.proposals[0]!);
  const keep = ike.proposals.filter((p) => ikeGroupOf(p) === first);
  if (keep.length === ike.proposals.length) return ike;
  return {
    ...ike,
    proposals: keep,
    notes: [...ike.notes, `not carried: ${ike.proposals.filter((p) => ikeGroupOf(p) !== first).join(', ')}: Aggressive Mode sends its KE in the first message, so all proposals use one DH group (kept: ${first})`],
  };
}
