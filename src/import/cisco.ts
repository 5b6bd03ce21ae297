/**
 * `isakmp import cisco FILE [--local-address ADDRESS]`: the crypto part of a Cisco IOS
 * configuration (`show running-config`) to an isakmp configuration, from Cisco's documented
 * command syntax: `crypto isakmp policy` (with IOS's defaults for what a policy leaves out),
 * `crypto isakmp key` and `crypto keyring` pre-shared keys, `crypto ipsec transform-set`,
 * `crypto map` entries (peer, transform sets, PFS, lifetimes, `match address`), numbered and
 * named `access-list`s, and the interfaces that carry a crypto map (our local address). One
 * connection per crypto map entry with every permit line of its ACL as selector lists (or, when
 * the lines are not every source × destination combination, one per source, sharing the ISAKMP
 * SA); AH-only transform sets become `ah:`.
 * @module
 */
import { isIP } from 'node:net';
import { checkIdentity, trafficSelector } from './common.js';
import { connectionName, dpdSettings, type ImportResult, type ImportedConnection } from './model.js';
import { GROUPS, WEAK_GROUPS, groupByNumber, onePfsGroup, type ProposalList } from './proposals.js';

interface Block {
  readonly words: readonly string[];
  readonly line: number;
  readonly children: { readonly words: readonly string[]; readonly line: number }[];
}

/** Top-level commands with their indented sub-commands; `!` lines end a block. */
function blocks(text: string): Block[] {
  const out: Block[] = [];
  let cur: Block | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    if (line.trim() === '' || line.trim().startsWith('!')) {
      if (line.startsWith('!')) cur = undefined;
      return;
    }
    const words = line.trim().split(/\s+/);
    if (/^\s/.test(line) && cur !== undefined) cur.children.push({ words, line: i + 1 });
    else {
      cur = { words, line: i + 1, children: [] };
      out.push(cur);
    }
  });
  return out;
}

const starts = (w: readonly string[], ...p: string[]): boolean => p.every((x, i) => w[i] === x);

/** Dotted mask → prefix length, undefined for a non-contiguous mask. */
function prefixOf(mask: string, wildcard: boolean): number | undefined {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  let bits = (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
  if (wildcard) bits = ~bits >>> 0;
  let n = 0;
  while (n < 32 && (bits & (0x80000000 >>> n)) !== 0) n++;
  return ((bits << n) >>> 0) === 0 || n === 32 ? n : undefined;
}

interface Policy { priority: number; encr: string; hash: string; auth: string; group: number; lifetime: number; line: number }

const IOS_DEFAULTS = { encr: 'des', hash: 'sha', auth: 'rsa-sig', group: 1, lifetime: 86400 };

function policyName(p: Policy): { name?: string; why?: string } {
  const enc = p.encr === '3des' ? '3des' : p.encr.startsWith('aes') ? `aes${p.encr.split(' ')[1] ?? '128'}` : undefined;
  if (enc === undefined) return { why: `encr ${p.encr}: isakmp offers AES and 3DES` };
  const hash = ({ md5: 'md5', sha: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' } as Record<string, string>)[p.hash];
  if (hash === undefined) return { why: `hash ${p.hash}: not an IKEv1 hash isakmp offers` };
  const group = groupByNumber(p.group);
  if (group === undefined) return { why: `group ${p.group}: not a group isakmp offers` };
  return { name: `${enc}-${hash}-${group}` };
}

const HMAC: Readonly<Record<string, string>> = { md5: 'md5', sha: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/** `esp-aes 256 esp-sha256-hmac` → ESP `aes256-sha256`; `ah-sha256-hmac` → AH `sha256`. */
function transformSetName(words: readonly string[]): { name?: string; kind?: 'esp' | 'ah'; why?: string } {
  let enc: string | undefined;
  let integ: string | undefined;
  let ah: string | undefined;
  let aead = false;
  const why: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const size = /^\d+$/.test(words[i + 1] ?? '') ? words[++i] : undefined;
    const hmac = /^(esp|ah)-(md5|sha|sha256|sha384|sha512)-hmac$/.exec(w);
    if (w === 'esp-aes') enc = `aes${size ?? '128'}`;
    else if (w === 'esp-3des') enc = '3des';
    else if (w === 'esp-gcm') { enc = `aes${size ?? '128'}gcm16`; aead = true; }
    else if (hmac !== null && hmac[1] === 'esp') integ = HMAC[hmac[2]!];
    else if (hmac !== null) ah = HMAC[hmac[2]!];
    else if (w === 'comp-lzs') why.push('comp-lzs: isakmp negotiates no IPComp');
    else why.push(`${w}${size !== undefined ? ` ${size}` : ''}: not an ${w.startsWith('ah-') ? 'AH' : 'ESP'} algorithm isakmp offers`);
  }
  if (ah !== undefined && (enc !== undefined || integ !== undefined)) return { why: [...why, 'AH and ESP together: a bundle, which isakmp does not negotiate (AH alone or ESP alone)'].join('; ') };
  if (ah !== undefined) return why.length > 0 ? { name: ah, kind: 'ah', why: why.join('; ') } : { name: ah, kind: 'ah' };
  if (enc === undefined) return { why: why.join('; ') || 'no ESP encryption' };
  if (!aead && integ === undefined) return { why: 'ESP without integrity: isakmp needs an HMAC (or AES-GCM)' };
  const name = aead ? enc : `${enc}-${integ}`;
  return why.length > 0 ? { name, kind: 'esp', why: why.join('; ') } : { name, kind: 'esp' };
}

interface AclEntry { readonly text: string; readonly line: number }

/** A source/destination operand of an extended ACL line: `host A`, `any`, `A WILDCARD`, with an optional `eq PORT`. */
function operand(w: readonly string[], at: number): { sel?: string; why?: string; next: number; port?: string } {
  let sel: string | undefined;
  let next = at;
  if (w[at] === 'any') { sel = '0.0.0.0/0'; next = at + 1; }
  else if (w[at] === 'host' && w[at + 1] !== undefined) { sel = `${w[at + 1]}/32`; next = at + 2; }
  else if (w[at] !== undefined && w[at + 1] !== undefined && isIP(w[at]!) === 4) {
    const p = prefixOf(w[at + 1]!, true);
    if (p === undefined) return { why: `wildcard ${w[at + 1]} is not a prefix`, next: at + 2 };
    sel = `${w[at]}/${p}`;
    next = at + 2;
  } else return { why: `cannot read '${w.slice(at).join(' ')}'`, next: at };
  if (w[next] === 'eq' && w[next + 1] !== undefined) return { sel, next: next + 2, port: w[next + 1]! };
  if (w[next] !== undefined && ['gt', 'lt', 'range', 'neq'].includes(w[next]!)) return { sel, why: `port match '${w[next]}' (only 'eq' carries over)`, next: next + 2 };
  return { sel, next };
}

/** `permit PROTO SRC DST` → the two selectors. */
function aclSelectors(w: readonly string[]): { local?: string; remote?: string; why?: string } {
  const proto = w[1]!;
  const protoName = proto === 'ip' ? undefined : ['tcp', 'udp', 'icmp', 'gre'].includes(proto) ? proto : /^\d+$/.test(proto) ? proto : undefined;
  if (proto !== 'ip' && protoName === undefined) return { why: `protocol ${proto}` };
  const src = operand(w, 2);
  if (src.why !== undefined) return { why: src.why };
  const dst = operand(w, src.next);
  if (dst.why !== undefined) return { why: dst.why };
  const fmt = (sel: string, port: string | undefined): string => (protoName === undefined ? sel : `${sel}[${protoName}${port !== undefined ? `/${port}` : ''}]`);
  return { local: fmt(src.sel!, src.port), remote: fmt(dst.sel!, dst.port) };
}

export function importCisco(text: string, file: string, opts: { localAddress?: string } = {}): ImportResult {
  const bs = blocks(text);
  const notes: string[] = [];
  const global: { key: string; value: string; note?: string }[] = [];
  const policies: Policy[] = [];
  const keys: { address: string; mask?: string; key: string; line: number; encrypted: boolean }[] = [];
  const transformSets = new Map<string, { name?: string; kind?: 'esp' | 'ah'; why?: string; mode: string }>();
  const acls = new Map<string, AclEntry[]>();
  const maps: { map: string; seq: number; block: Block }[] = [];
  const ifaceOfMap = new Map<string, string>();
  const ifaceAddress = new Map<string, string>();
  const mapLocalIface = new Map<string, string>();
  let hostname: string | undefined;
  let domain: string | undefined;
  let identity = 'address';
  let keepalive: { delay: number; retry: number } | undefined;
  let saLifetime = 3600;
  let aggressiveDisabled = false;
  const acl = (name: string): AclEntry[] => acls.get(name) ?? (acls.set(name, []), acls.get(name)!);
  for (const b of bs) {
    const w = b.words;
    if (starts(w, 'hostname') && w[1] !== undefined) hostname = w[1];
    else if ((starts(w, 'ip', 'domain', 'name') || starts(w, 'ip', 'domain-name')) && w[w.length - 1] !== undefined) domain = w[w.length - 1];
    else if (starts(w, 'crypto', 'isakmp', 'policy')) {
      const p: Policy = { priority: Number(w[3]), ...IOS_DEFAULTS, line: b.line };
      for (const c of b.children) {
        const cw = c.words;
        if (cw[0] === 'encr' || cw[0] === 'encryption') p.encr = cw.slice(1).join(' ');
        else if (cw[0] === 'hash') p.hash = cw[1] ?? p.hash;
        else if (cw[0] === 'authentication') p.auth = cw[1] ?? p.auth;
        else if (cw[0] === 'group') p.group = Number(cw[1]);
        else if (cw[0] === 'lifetime') p.lifetime = Number(cw[1]);
        else notes.push(`crypto isakmp policy ${w[3]}: '${cw.join(' ')}' not carried`);
      }
      policies.push(p);
    } else if (starts(w, 'crypto', 'isakmp', 'key')) {
      // crypto isakmp key [0|6] KEY address A [MASK] [no-xauth] | hostname H
      let i = 3;
      let encrypted = false;
      if ((w[i] === '0' || w[i] === '6') && w[i + 2] !== undefined && (w[i + 2] === 'address' || w[i + 2] === 'hostname' || w[i + 2] === 'ipv6')) { encrypted = w[i] === '6'; i++; }
      const key = w[i]!;
      if (w[i + 1] === 'address' && w[i + 2] !== undefined) keys.push({ address: w[i + 2]!, ...(w[i + 3] !== undefined && w[i + 3] !== 'no-xauth' ? { mask: w[i + 3] } : {}), key, line: b.line, encrypted });
      else notes.push(`line ${b.line}: crypto isakmp key … ${w.slice(i + 1).join(' ')}: only keys by peer address are carried`);
    } else if (starts(w, 'crypto', 'keyring')) {
      for (const c of b.children) {
        const cw = c.words;
        if (cw[0] === 'pre-shared-key' && cw[1] === 'address' && cw[2] !== undefined) {
          const k = cw.indexOf('key');
          if (k < 0 || cw[k + 1] === undefined) continue;
          let key = cw[k + 1]!;
          let encrypted = false;
          if ((key === '0' || key === '6') && cw[k + 2] !== undefined) { encrypted = key === '6'; key = cw[k + 2]!; }
          const mask = cw[3] !== undefined && cw[3] !== 'key' ? cw[3] : undefined;
          keys.push({ address: cw[2]!, ...(mask !== undefined ? { mask } : {}), key, line: c.line, encrypted });
        } else notes.push(`crypto keyring ${w[2]}: '${cw.join(' ')}' not carried`);
      }
    } else if (starts(w, 'crypto', 'isakmp', 'identity')) identity = w[3] ?? 'address';
    else if (starts(w, 'crypto', 'isakmp', 'keepalive')) keepalive = { delay: Number(w[3]), retry: Number(w[4] ?? 2) };
    else if (starts(w, 'crypto', 'isakmp', 'nat', 'keepalive')) global.push({ key: 'nat_keepalive', value: `${Number(w[4])}s`, note: `from crypto isakmp nat keepalive ${w[4]}` });
    else if (starts(w, 'crypto', 'isakmp', 'aggressive-mode', 'disable')) aggressiveDisabled = true;
    else if (starts(w, 'crypto', 'ipsec', 'security-association', 'lifetime', 'seconds')) saLifetime = Number(w[5]);
    else if (starts(w, 'crypto', 'ipsec', 'transform-set') && w[3] !== undefined) {
      const t = transformSetName(w.slice(4));
      const mode = b.children.find((c) => c.words[0] === 'mode')?.words[1] ?? 'tunnel';
      transformSets.set(w[3], { ...t, mode });
    } else if (starts(w, 'crypto', 'map') && w[3] !== undefined && /^\d+$/.test(w[3])) {
      if (w[4] === 'ipsec-isakmp' && w[5] === undefined) maps.push({ map: w[2]!, seq: Number(w[3]), block: b });
      else notes.push(`line ${b.line}: crypto map ${w.slice(2).join(' ')}: ${w[5] === 'dynamic' ? 'dynamic crypto maps (any peer) are not carried: write a connection with remote address %any' : 'only ipsec-isakmp entries are carried'}`);
    } else if (starts(w, 'crypto', 'map') && w[3] === 'local-address' && w[4] !== undefined) mapLocalIface.set(w[2]!, w[4]);
    else if (starts(w, 'access-list') && w[1] !== undefined && (w[2] === 'permit' || w[2] === 'deny')) acl(w[1]).push({ text: w.slice(2).join(' '), line: b.line });
    else if (starts(w, 'ip', 'access-list', 'extended') && w[3] !== undefined) {
      for (const c of b.children) if (c.words[0] === 'permit' || c.words[0] === 'deny') acl(w[3]).push({ text: c.words.join(' '), line: c.line });
      else if (/^\d+$/.test(c.words[0] ?? '') && (c.words[1] === 'permit' || c.words[1] === 'deny')) acl(w[3]).push({ text: c.words.slice(1).join(' '), line: c.line });
    } else if (starts(w, 'interface') && w[1] !== undefined) {
      for (const c of b.children) {
        if (c.words[0] === 'ip' && c.words[1] === 'address' && isIP(c.words[2] ?? '') === 4) ifaceAddress.set(w[1], c.words[2]!);
        if (c.words[0] === 'crypto' && c.words[1] === 'map' && c.words[2] !== undefined) ifaceOfMap.set(c.words[2], w[1]);
      }
    } else if (starts(w, 'crypto') && !starts(w, 'crypto', 'pki') && !starts(w, 'crypto', 'key')) notes.push(`line ${b.line}: '${w.join(' ')}' not carried`);
  }

  // phase 1: the policies for pre-shared keys, in priority order (IOS offers them all to every peer)
  const ikeNotes: string[] = [];
  const ikeNames: string[] = [];
  let firstCarried: Policy | undefined;
  for (const p of [...policies].sort((a, b) => a.priority - b.priority)) {
    if (p.auth !== 'pre-share') {
      ikeNotes.push(`not carried: policy ${p.priority} (authentication ${p.auth}${p.auth === 'rsa-sig' ? ': certificates from IOS trustpoints do not carry over' : p.auth === 'rsa-encr' ? ': the RSA-encryption mode is not implemented (Bleichenbacher oracle)' : ''})`);
      continue;
    }
    const n = policyName(p);
    if (n.name === undefined) ikeNotes.push(`not carried: policy ${p.priority}: ${n.why}${p.encr === 'des' && !text.includes(`encr`) ? ' (IOS default)' : ''}`);
    else {
      ikeNames.push(n.name);
      firstCarried ??= p;
    }
  }
  const strong = ikeNames.filter((n) => !WEAK_GROUPS.has(GROUPS[n.split('-')[2]!]!));
  if (strong.length > 0 && strong.length < ikeNames.length) ikeNotes.push(`not carried: ${ikeNames.filter((n) => !strong.includes(n)).join(', ')}: weak Diffie-Hellman groups, refused by isakmp's defaults; the stronger policies remain`);
  const ike = [...new Set(strong.length > 0 ? strong : ikeNames)];
  const ikeWeak = strong.length === 0 && ikeNames.length > 0;
  // one ISAKMP SA lifetime per connection in isakmp: the first (preferred) policy's
  const ikeLifetime = firstCarried?.lifetime ?? IOS_DEFAULTS.lifetime;
  if (policies.some((p) => firstCarried !== undefined && p.lifetime !== firstCarried.lifetime && p.auth === 'pre-share')) ikeNotes.push(`one ISAKMP SA lifetime for all proposals: ${firstCarried!.lifetime}s, policy ${firstCarried!.priority}'s`);

  const connections: ImportedConnection[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const taken = new Set<string>();
  for (const m of maps.sort((a, b) => (a.map === b.map ? a.seq - b.seq : 0))) {
    const label = `crypto map ${m.map} ${m.seq}`;
    const cn: string[] = [];
    let peers: string[] = [];
    let sets: string[] = [];
    let pfs: string | undefined;
    let lifetime = saLifetime;
    let lifetimeKb: number | undefined;
    let aclName: string | undefined;
    for (const c of m.block.children) {
      const cw = c.words;
      if (starts(cw, 'set', 'peer') && cw[2] !== undefined) peers.push(cw[2]);
      else if (starts(cw, 'set', 'transform-set')) sets = [...cw.slice(2)];
      else if (starts(cw, 'set', 'pfs')) pfs = cw[2] ?? 'group1';
      else if (starts(cw, 'set', 'security-association', 'lifetime', 'seconds')) lifetime = Number(cw[4]);
      else if (starts(cw, 'set', 'security-association', 'lifetime', 'kilobytes')) lifetimeKb = Number(cw[4]);
      else if (starts(cw, 'match', 'address') && cw[2] !== undefined) aclName = cw[2];
      else if (cw[0] === 'description') cn.push(`description: ${cw.slice(1).join(' ')}`);
      else cn.push(`not carried: '${cw.join(' ')}': no isakmp equivalent`);
    }
    if (peers.length === 0) { skipped.push({ name: label, reason: 'no set peer' }); continue; }
    peers = peers.filter((p) => isIP(p) !== 0);
    if (peers.length === 0) { skipped.push({ name: label, reason: 'set peer names a host name: isakmp needs the peer\'s IP address' }); continue; }
    if (peers.length > 1) cn.push(`not carried: backup peers ${peers.slice(1).join(', ')}: one peer per connection (${peers[0]} kept)`);
    const peer = peers[0]!;
    const key = keys.find((k) => k.address === peer) ?? keys.find((k) => k.address === '0.0.0.0');
    if (key === undefined) { skipped.push({ name: label, reason: `no pre-shared key for ${peer} (crypto isakmp key … address ${peer}, or a keyring)` }); continue; }
    if (key.encrypted) { skipped.push({ name: label, reason: `the key for ${peer} is stored encrypted (type 6, line ${key.line}): write it in clear in secrets by hand` }); continue; }
    if (ike.length === 0) { skipped.push({ name: label, reason: `no crypto isakmp policy with authentication pre-share that isakmp can offer${ikeNotes.length ? ` (${ikeNotes.join('; ')})` : ''}` }); continue; }
    // local address: the interface that carries the map (or its local-address interface)
    const iface = mapLocalIface.get(m.map) ?? ifaceOfMap.get(m.map);
    const localAddress = opts.localAddress ?? (iface !== undefined ? ifaceAddress.get(iface) : undefined);
    if (localAddress === undefined) { skipped.push({ name: label, reason: `no local address: crypto map ${m.map} is on no interface with an ip address; give --local-address ADDRESS` }); continue; }
    // phase 2: ESP or AH alone, the kind of the first set isakmp can carry
    const espNames: string[] = [];
    let kind: 'esp' | 'ah' | undefined;
    let mode = 'tunnel';
    for (const s of sets) {
      const t = transformSets.get(s);
      if (t === undefined) { cn.push(`not carried: transform-set ${s}: not defined`); continue; }
      if (t.name !== undefined && kind !== undefined && t.kind !== kind) { cn.push(`not carried: transform-set ${s}: ${t.kind === 'ah' ? 'AH' : 'ESP'}, but the connection negotiates ${kind === 'ah' ? 'AH' : 'ESP'} (the first set's); isakmp offers one of the two per connection`); continue; }
      if (t.name !== undefined) { espNames.push(t.name); mode = t.mode; kind = t.kind; }
      if (t.why !== undefined) cn.push(`${t.name === undefined ? 'not carried' : 'partly carried'}: transform-set ${s}: ${t.why}`);
    }
    if (espNames.length === 0) { skipped.push({ name: label, reason: `no transform set isakmp can offer (${sets.join(', ') || 'none set'})` }); continue; }
    const pfsGroup = pfs !== undefined ? groupByNumber(Number(pfs.replace(/^group/, ''))) : undefined;
    if (pfs !== undefined && pfsGroup === undefined) cn.push(`not carried: set pfs ${pfs}: not a group isakmp offers (no PFS)`);
    const esp: ProposalList = onePfsGroup({ proposals: espNames.map((n) => (pfsGroup !== undefined ? `${n}-${pfsGroup}` : n)), notes: [], weak: pfsGroup !== undefined && WEAK_GROUPS.has(GROUPS[pfsGroup]!) });
    // traffic selectors: every permit line of the ACL is a pair
    if (aclName === undefined) { skipped.push({ name: label, reason: 'no match address: no traffic to protect' }); continue; }
    const entries = acls.get(aclName) ?? [];
    const permits = entries.filter((e) => e.text.startsWith('permit'));
    if (permits.length === 0) { skipped.push({ name: label, reason: `access-list ${aclName} has no permit line` }); continue; }
    const pairs: { local: string; remote: string }[] = [];
    const unread: string[] = [];
    for (const p of permits) {
      const sel = aclSelectors(p.text.split(/\s+/));
      const lts = sel.why === undefined ? trafficSelector(sel.local!) : undefined;
      const rts = sel.why === undefined ? trafficSelector(sel.remote!) : undefined;
      if (lts?.ok === true && rts?.ok === true) {
        if (!pairs.some((q) => q.local === lts.ts && q.remote === rts.ts)) pairs.push({ local: lts.ts, remote: rts.ts });
      } else unread.push(`line ${p.line} '${p.text}': ${sel.why ?? (lts?.ok === false ? lts.reason : rts?.ok === false ? rts.reason : '')}`);
    }
    if (pairs.length === 0) { skipped.push({ name: label, reason: `access-list ${aclName} ${unread.join('; ')}` }); continue; }
    if (unread.length > 0) cn.push(`not carried: access-list ${aclName} ${unread.join('; ')}`);
    const denies = entries.filter((e) => e.text.startsWith('deny'));
    if (denies.length > 0) cn.push(`not carried: access-list ${aclName} deny lines (${denies.map((d) => `'${d.text}'`).join(', ')}): isakmp has no exclusions`);
    // one connection with lists when the lines are every local × remote combination; else one
    // per local selector (with its remotes), all sharing one ISAKMP SA with the peer
    const locals = [...new Set(pairs.map((p) => p.local))];
    const remotes = [...new Set(pairs.map((p) => p.remote))];
    const groups = locals.length * remotes.length === pairs.length ? [{ localTs: locals, remoteTs: remotes }] : locals.map((l) => ({ localTs: [l], remoteTs: pairs.filter((p) => p.local === l).map((p) => p.remote) }));
    if (groups.some((g) => g.localTs.length > 16 || g.remoteTs.length > 16)) { skipped.push({ name: label, reason: `access-list ${aclName}: more than 16 subnets on one side; isakmp takes at most 16 per side (split the ACL)` }); continue; }
    if (groups.length > 1) cn.push(`access-list ${aclName}: ${pairs.length} permit lines that are not every combination of their sources and destinations: one connection per source (${groups.length}), sharing one ISAKMP SA with ${peer}`);
    let localId: string | undefined;
    if (identity === 'hostname' && hostname !== undefined) {
      const id = domain !== undefined ? `${hostname}.${domain}` : hostname;
      if (checkIdentity(id).ok) localId = id;
    } else if (identity !== 'address') cn.push(`not carried: crypto isakmp identity ${identity}`);
    const dpd = dpdSettings(keepalive?.delay, keepalive !== undefined ? keepalive.delay + 5 * keepalive.retry : undefined, cn);
    cn.push('IOS negotiates when traffic matches the access list; carried as start: start (isakmp\'s on-demand needs global.dataplane: xfrm)');
    groups.forEach((g, i) => {
      const conn: ImportedConnection = {
        name: connectionName(`${m.map}-${m.seq}`, taken),
        origin: `from ${label} (peer ${peer}, match address ${aclName})${groups.length > 1 ? `, source ${g.localTs[0]}` : ''}`,
        mode: 'main',
        auth: 'psk',
        secret: { kind: 'psk', psk: new TextEncoder().encode(key.key), from: `from line ${key.line} (key for ${key.address}${key.mask !== undefined ? ` ${key.mask}` : ''})` },
        local: { address: localAddress, ...(localId !== undefined ? { id: localId } : {}) },
        remote: { address: peer },
        ike,
        esp: kind === 'ah' ? [] : esp.proposals,
        ...(kind === 'ah' ? { ah: esp.proposals } : {}),
        ...(pfsGroup === undefined ? { pfs: 'none' } : {}),
        ipsecMode: mode === 'transport' ? 'transport' : 'tunnel',
        localTs: g.localTs,
        remoteTs: g.remoteTs,
        ...(ikeLifetime >= 60 ? { ikeLifetime } : {}),
        ...(lifetime >= 30 ? { lifetime } : {}),
        ...(lifetimeKb !== undefined && lifetimeKb >= 1 ? { lifetimeKb } : {}),
        start: 'start',
        ...(ikeWeak || esp.weak ? { allowWeakGroups: true } : {}),
        ...dpd,
        notes: i === 0 ? [...ikeNotes, ...esp.notes, ...cn] : [`shares the ISAKMP SA of ${connections[connections.length - i]!.name}; see its notes`],
      };
      taken.add(conn.name);
      connections.push(conn);
    });
  }
  if (!aggressiveDisabled && maps.length > 0) notes.push('IOS answers Aggressive Mode unless crypto isakmp aggressive-mode disable; isakmp refuses it as responder by default (allow_aggressive_psk_responder)');
  if (maps.length === 0) notes.push('no crypto map ipsec-isakmp entry: nothing to import');
  return { format: 'Cisco IOS', source: file, global, connections, skipped, notes };
}
