/**
 * `isakmp import swanctl FILE`: strongSwan's swanctl.conf (connections, children, secrets) to an
 * isakmp configuration, from the documented meaning of each setting (swanctl.conf(5)). One
 * isakmp connection per child (the first named after the swanctl connection, the others
 * `CONN-CHILD`; they share one ISAKMP SA with the peer), with every selector of `local_ts` /
 * `remote_ts` (one IPsec SA per pair) and `ah_proposals` as `ah:`; IKEv2-only connections
 * (version = 2) and those needing XAUTH, EAP or virtual IPs are skipped with the reason. Certificates are looked up in swanctl's folders beside FILE.
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { certificatesIn, checkIdentity, firstAddress, keyForCertificate, sameIdentity, secretBytes, trafficSelector } from './common.js';
import { connectionName, dpdSettings, parseDuration, type ImportResult, type ImportedConnection, type ImportedSecret } from './model.js';
import { onePfsGroup, oneIkeGroup, strongswanAh, strongswanEsp, strongswanIke } from './proposals.js';
import { parseSettings, type Section } from './settings-parser.js';

/** Connection keys with a meaning here (the others are reported as not carried). */
const CONN_HANDLED = new Set(['version', 'local_addrs', 'remote_addrs', 'local_port', 'remote_port', 'proposals', 'aggressive', 'encap', 'dpd_delay', 'dpd_timeout', 'rekey_time', 'reauth_time', 'over_time', 'rand_time', 'vips', 'pools', 'pull']);
const CHILD_HANDLED = new Set(['local_ts', 'remote_ts', 'mode', 'esp_proposals', 'ah_proposals', 'rekey_time', 'life_time', 'rand_time', 'start_action', 'dpd_action']);
/** Settings with no meaning for IKEv1 or for isakmp's design, said once and briefly. */
const WHY: Readonly<Record<string, string>> = {
  mobike: 'MOBIKE is IKEv2 only',
  fragmentation: 'isakmp sends no IKE fragments (it reads them)',
  send_cert: 'isakmp sends its certificate with RSA authentication',
  send_certreq: 'isakmp sends certificate requests with RSA authentication',
  unique: 'isakmp replaces an older ISAKMP SA of the same connection on INITIAL-CONTACT',
  keyingtries: 'isakmp retransmits on its own schedule',
  childless: 'IKEv2 only',
  ppk_id: 'IKEv2 only',
  ppk_required: 'IKEv2 only',
  updown: 'isakmp runs one global updown script (global.updown)',
  hostaccess: 'no equivalent',
  ipcomp: 'isakmp negotiates no IPComp',
  close_action: 'no equivalent',
  inactivity: 'no equivalent',
  mark_in: 'no equivalent', mark_out: 'no equivalent', reqid: 'no equivalent', policies: 'no equivalent',
};

function why(key: string, value: string): string {
  return `not carried: ${key} = ${value}: ${WHY[key] ?? 'no isakmp equivalent'}`;
}

/** Auth rounds of one side: `local`, `local-xauth`, `local2`, … in order. */
function rounds(c: Section, side: 'local' | 'remote'): Section[] {
  return [...c.sections.values()].filter((s) => s.name === side || s.name.startsWith(`${side}-`) || new RegExp(`^${side}\\d`).test(s.name));
}

type Mapped = { ok: true; conns: ImportedConnection[] } | { ok: false; reason: string };

function mapConnection(name: string, c: Section, secrets: Section | undefined, dir: string, taken: Set<string>): Mapped {
  const v = (k: string): string | undefined => c.values.get(k);
  const notes: string[] = [];
  const version = v('version') ?? '0';
  if (version === '2') return { ok: false, reason: 'IKEv2-only (version = 2): isakmp speaks IKEv1' };
  if (version !== '1') notes.push(`version = ${version === '0' ? '0 (or not set): charon would initiate IKEv2' : version}: imported as IKEv1, the only version isakmp speaks; the peer must speak IKEv1 too`);
  const locals = rounds(c, 'local');
  const remotes = rounds(c, 'remote');
  if (locals.length > 1 || remotes.length > 1) {
    const extra = [...locals.slice(1), ...remotes.slice(1)].map((s) => `${s.name} (auth = ${s.values.get('auth') ?? 'pubkey'})`).join(', ');
    return { ok: false, reason: `a second authentication round (${extra}): isakmp does not do XAUTH or EAP` };
  }
  if (v('vips') !== undefined || v('pools') !== undefined) return { ok: false, reason: `virtual IPs (${v('vips') !== undefined ? `vips = ${v('vips')}` : `pools = ${v('pools')}`}) need Mode Config, which isakmp does not do` };
  const local = locals[0];
  const remote = remotes[0];
  const lauth = local?.values.get('auth') ?? 'pubkey';
  const rauth = remote?.values.get('auth') ?? 'pubkey';
  const kind = (a: string): 'psk' | 'rsa' | undefined => (a === 'psk' ? 'psk' : a === 'pubkey' || a === 'rsa' || a.startsWith('rsa') ? 'rsa' : undefined);
  if (kind(lauth) === undefined || kind(rauth) === undefined) return { ok: false, reason: `authentication ${lauth}/${rauth}: isakmp authenticates with pre-shared keys or RSA signatures` };
  if (kind(lauth) !== kind(rauth)) return { ok: false, reason: `local auth = ${lauth} but remote auth = ${rauth}: IKEv1 uses one method for both sides` };
  const auth = kind(lauth)!;

  // addresses
  const la = firstAddress(v('local_addrs') ?? '%any');
  const ra = firstAddress(v('remote_addrs') ?? '%any');
  if (la.others.filter((o) => o !== '%any').length > 0) notes.push(`not carried: local_addrs ${la.others.join(', ')}: isakmp binds global.listen; the connection uses ${la.address ?? 'no fixed local address'}`);
  let remoteAddress = ra.address;
  if (remoteAddress === undefined) {
    const isRange = (n: string): boolean => n.includes('/') || /^[0-9a-f.:]+-[0-9a-f.:]+$/i.test(n);
    if (ra.names.length > 0 && !ra.names.every(isRange)) return { ok: false, reason: `remote_addrs = ${v('remote_addrs')}: a host name; isakmp needs the peer's IP address (resolve it and import again, or write the connection by hand)` };
    if (ra.names.length > 0) notes.push(`remote_addrs = ${v('remote_addrs')}: a range or subnet of peers; carried as %any (a responder for any address)`);
    remoteAddress = '%any';
  } else if (ra.others.length > 0) notes.push(`not carried: remote_addrs ${ra.others.join(', ')}: isakmp has one peer address per connection (kept ${remoteAddress})`);
  const remotePort = v('remote_port') !== undefined ? Number(v('remote_port')) : undefined;
  if (v('local_port') !== undefined && v('local_port') !== '500') notes.push(`not carried: local_port = ${v('local_port')}: the IKE port is global (global.port)`);

  // identities
  const ids: { local?: string; remote?: string } = {};
  for (const [side, sec] of [['local', local], ['remote', remote]] as const) {
    const id = sec?.values.get('id');
    if (id === undefined) continue;
    const r = checkIdentity(id);
    if (!r.ok) return { ok: false, reason: `${side}.id = ${id}: ${r.reason}` };
    ids[side] = id;
  }
  if (remoteAddress === '%any' && ids.remote === undefined) {
    ids.remote = '%any';
    notes.push('remote.id not set with a wildcard peer address: any identity is accepted (id: "%any")');
  }
  if (auth === 'psk' && la.address === undefined && ids.local === undefined) return { ok: false, reason: 'no local address and no local.id: isakmp needs one of them to pick the identity it shows (add local_addrs)' };

  // secret
  let secret: ImportedSecret;
  if (auth === 'psk') {
    const mine = ids.local ?? la.address;
    const theirs = ids.remote !== '%any' ? ids.remote ?? ra.address : undefined;
    const found = findPsk(secrets, mine, theirs);
    if (found === undefined) return { ok: false, reason: `no secrets { ike… } entry for ${[mine, theirs].filter(Boolean).join(' and ')}` };
    secret = { kind: 'psk', psk: found.psk, from: `from secrets { ${found.name} }` };
  } else {
    const r = rsaSecret(local!, remote, dir);
    if (!r.ok) return r;
    secret = r.secret;
  }

  // phase 1
  let ike = strongswanIke(v('proposals') ?? 'default');
  const aggressive = v('aggressive') === 'yes';
  if (aggressive) ike = oneIkeGroup(ike);
  notes.push(...ike.notes);
  if (ike.proposals.length === 0) return { ok: false, reason: `no IKE proposal isakmp can offer in proposals = ${v('proposals')}` };
  const reauth = v('reauth_time') ?? v('rekey_time');
  const ikeLifetime = reauth !== undefined ? parseDuration(reauth) : undefined;
  if (v('reauth_time') === undefined && v('rekey_time') !== undefined) notes.push(`rekey_time = ${v('rekey_time')} taken as the ISAKMP SA lifetime (IKEv1 reauthenticates instead of rekeying)`);
  for (const k of ['over_time', 'rand_time']) if (v(k) !== undefined) notes.push(`not carried: ${k} = ${v(k)}: isakmp's ike_rekey_margin and rekey_fuzz work differently`);
  const dpd = dpdSettings(v('dpd_delay') !== undefined ? parseDuration(v('dpd_delay')!) : undefined, v('dpd_timeout') !== undefined ? parseDuration(v('dpd_timeout')!) : undefined, notes);
  for (const [k, val] of c.values) if (!CONN_HANDLED.has(k)) notes.push(why(k, val));
  for (const s of [local, remote]) for (const [k, val] of s?.values ?? []) if (!['auth', 'id', 'certs', 'cacerts', 'pubkeys'].includes(k)) notes.push(why(`${s!.name}.${k}`, val));

  // phase 2: one isakmp connection per child isakmp can carry; they share one ISAKMP SA with the
  // peer (same peer, identities and secret), each child's selector pairs its own
  const children = [...(c.sections.get('children')?.sections.values() ?? [])];
  const passed: string[] = [];
  const conns: ImportedConnection[] = [];
  const pairsOf = new Map<string, Set<string>>();
  for (const ch of children) {
    const cv = (k: string): string | undefined => ch.values.get(k);
    const mode = cv('mode') ?? 'tunnel';
    if (mode !== 'tunnel' && mode !== 'transport') { passed.push(`${ch.name} (mode = ${mode}: no SA to negotiate)`); continue; }
    const useAh = cv('ah_proposals') !== undefined;
    if (useAh && cv('esp_proposals') !== undefined) { passed.push(`${ch.name} (ah_proposals and esp_proposals: an AH + ESP bundle, which isakmp does not negotiate; AH alone or ESP alone)`); continue; }
    const p2 = onePfsGroup(useAh ? strongswanAh(cv('ah_proposals')!) : strongswanEsp(cv('esp_proposals') ?? 'default'));
    if (p2.proposals.length === 0) { passed.push(`${ch.name} (no ${useAh ? 'AH' : 'ESP'} proposal isakmp can offer)`); continue; }
    // every selector of the list (one IPsec SA per local × remote pair); dynamic is the end's address
    const ts = (k: 'local_ts' | 'remote_ts'): string[] | undefined | { reason: string } => {
      const list = (cv(k) ?? 'dynamic').split(',').map((x) => x.trim()).filter(Boolean);
      if (list.length === 1 && list[0] === 'dynamic') return undefined;
      if (list.length > 16) return { reason: `${k} = ${cv(k)}: ${list.length} selectors, isakmp takes at most 16 per side` };
      const out: string[] = [];
      for (const item of list) {
        const own = k === 'local_ts' ? la.address : remoteAddress !== '%any' ? remoteAddress : undefined;
        if (item === 'dynamic' && own === undefined) return { reason: `${k} = ${cv(k)}: 'dynamic' in a list needs a fixed ${k === 'local_ts' ? 'local' : 'remote'} address` };
        const r = trafficSelector(item === 'dynamic' ? `${own!}/${own!.includes(':') ? 128 : 32}` : item);
        if (!r.ok) return { reason: `${k} = ${item}: ${r.reason}` };
        out.push(r.ts);
      }
      return out;
    };
    const lts = ts('local_ts');
    const rts = ts('remote_ts');
    if ((lts !== undefined && !Array.isArray(lts)) || (rts !== undefined && !Array.isArray(rts))) {
      passed.push(`${ch.name} (${[lts, rts].filter((x) => x !== undefined && !Array.isArray(x)).map((x) => (x as { reason: string }).reason).join('; ')})`);
      continue;
    }
    // two children with a common selector pair could not be told apart by the peer's Quick Mode
    const pairs = new Set<string>();
    for (const l of lts ?? [la.address ?? 'dynamic']) for (const r of rts ?? [remoteAddress]) pairs.add(`${l} === ${r}`);
    const clash = [...pairsOf].find(([, other]) => [...pairs].some((p) => other.has(p)));
    if (clash !== undefined) { passed.push(`${ch.name} (the same selectors as child '${clash[0]}': a Quick Mode of the peer could not tell them apart)`); continue; }
    pairsOf.set(ch.name, pairs);

    const cnotes = [...p2.notes];
    const rekey = cv('rekey_time') !== undefined ? parseDuration(cv('rekey_time')!) : undefined;
    const life = cv('life_time') !== undefined ? parseDuration(cv('life_time')!) : rekey !== undefined ? Math.round(rekey * 1.1) : undefined;
    const start = cv('start_action') === 'start' && remoteAddress !== '%any' ? 'start' : 'add';
    if (cv('start_action') === 'trap') cnotes.push("start_action = trap: carried as start: add (isakmp's on-demand needs global.dataplane: xfrm; set both to have it)");
    const dpdAction = cv('dpd_action') === 'restart' ? 'restart' : cv('dpd_action') === 'clear' ? 'clear' : undefined;
    if (cv('dpd_action') === 'trap') cnotes.push('dpd_action = trap: carried as clear (no kernel trap without dataplane xfrm)');
    if (cv('rand_time') !== undefined) cnotes.push(`not carried: rand_time = ${cv('rand_time')}: isakmp's rekey_fuzz is a percentage of the margin`);
    for (const [k, val] of ch.values) if (!CHILD_HANDLED.has(k)) cnotes.push(why(`children.${ch.name}.${k}`, val));
    const conn: ImportedConnection = {
      name: connectionName(conns.length === 0 ? name : `${name}-${ch.name}`, taken),
      origin: `from swanctl connection '${name}', child '${ch.name}'${conns.length > 0 ? ` (shares the ISAKMP SA of '${conns[0]!.name}')` : ''}`,
      mode: aggressive ? 'aggressive' : 'main',
      auth,
      secret,
      local: { ...(la.address !== undefined ? { address: la.address } : {}), ...(ids.local !== undefined ? { id: ids.local } : {}) },
      remote: { address: remoteAddress, ...(remotePort !== undefined && remotePort !== 500 ? { port: remotePort } : {}), ...(ids.remote !== undefined ? { id: ids.remote } : {}) },
      ike: ike.proposals,
      esp: useAh ? [] : p2.proposals,
      ...(useAh ? { ah: p2.proposals } : {}),
      ...(p2.proposals.every((p) => !/-(modp|ecp)/.test(p)) ? { pfs: 'none' } : {}),
      ipsecMode: cv('mode') === 'transport' ? 'transport' : 'tunnel',
      ...(lts !== undefined ? { localTs: lts } : {}),
      ...(rts !== undefined ? { remoteTs: rts } : {}),
      ...(ikeLifetime !== undefined && ikeLifetime >= 60 ? { ikeLifetime } : {}),
      ...(life !== undefined && life >= 30 ? { lifetime: life, ...(rekey !== undefined && rekey < life ? { rekeyMargin: life - rekey } : {}) } : {}),
      start,
      ...(ike.weak || p2.weak ? { allowWeakGroups: true } : {}),
      ...(aggressive && auth === 'psk' ? { allowAggressivePskResponder: true } : {}),
      ...(v('encap') === 'yes' ? { encap: true } : {}),
      ...dpd,
      ...(dpdAction === 'restart' && dpd.dpdDelay > 0 ? { dpdAction } : {}),
      notes: [...notes, ...cnotes],
    };
    taken.add(conn.name);
    conns.push(conn);
  }
  if (conns.length === 0) return { ok: false, reason: children.length === 0 ? 'no children: nothing for Quick Mode to negotiate' : `no child isakmp can carry: ${passed.join('; ')}` };
  if (passed.length > 0) conns[0] = { ...conns[0]!, notes: [...conns[0]!.notes, `not carried: children ${passed.join('; ')}`] };
  return { ok: true, conns };
}

/**
 * The `secrets { ike… }` entry for the identities: with several ids both sides must be among
 * them, one id must be one of the two sides, an entry without ids matches anything; the most
 * specific wins.
 */
function findPsk(secrets: Section | undefined, mine: string | undefined, theirs: string | undefined): { name: string; psk: Uint8Array } | undefined {
  let best: { name: string; psk: Uint8Array; score: number } | undefined;
  for (const s of secrets?.sections.values() ?? []) {
    if (!s.name.startsWith('ike')) continue;
    const secret = s.values.get('secret');
    if (secret === undefined) continue;
    const named = [...s.values].filter(([k]) => k === 'id' || k.startsWith('id-')).map(([, val]) => val);
    const hit = (id: string | undefined): boolean => named.some((n) => n === '%any' || (id !== undefined && sameIdentity(n, id)));
    const score = named.length === 0 ? 1 : named.length === 1 ? (hit(mine) || hit(theirs) ? 2 : 0) : hit(mine) && hit(theirs) ? 3 : 0;
    if (score > 0 && (best === undefined || score > best.score)) best = { name: s.name, psk: secretBytes(secret), score };
  }
  return best;
}

function rsaSecret(local: Section, remote: Section | undefined, dir: string): { ok: true; secret: ImportedSecret } | { ok: false; reason: string } {
  const inDir = (f: string, sub: string): string => (isAbsolute(f) ? f : join(dir, sub, f));
  const certName = local.values.get('certs')?.split(',')[0]?.trim();
  if (certName === undefined) return { ok: false, reason: 'local auth = pubkey without local.certs: isakmp needs our certificate file' };
  const cert = inDir(certName, 'x509');
  if (!existsSync(cert)) return { ok: false, reason: `local.certs = ${certName}: ${cert} not found (swanctl reads certificates from the x509 folder beside swanctl.conf)` };
  const key = keyForCertificate(cert, ['private', 'rsa', 'pkcs8', 'ecdsa'].map((s) => join(dir, s)));
  if (key === undefined) return { ok: false, reason: `no private key for ${cert} in ${join(dir, 'private')} (or rsa/, pkcs8/): isakmp needs the key file` };
  const ca = [
    ...(remote?.values.get('cacerts')?.split(',').map((x) => inDir(x.trim(), 'x509ca')) ?? []),
    ...(remote?.values.get('certs')?.split(',').map((x) => inDir(x.trim(), 'x509')) ?? []),
  ];
  const missing = ca.filter((f) => !existsSync(f));
  if (missing.length > 0) return { ok: false, reason: `CA or peer certificate not found: ${missing.join(', ')}` };
  const trust = ca.length > 0 ? ca : certificatesIn(join(dir, 'x509ca'));
  if (trust.length === 0) return { ok: false, reason: 'no CA certificate to verify the peer (remote.cacerts, or the x509ca folder)' };
  return { ok: true, secret: { kind: 'rsa', cert, key, ca: trust, from: `certificate ${certName} and its key from swanctl's folders` } };
}

export function importSwanctl(text: string, file: string): ImportResult {
  const root = parseSettings(text, file);
  const dir = dirname(file);
  const notes: string[] = [];
  for (const [k, s] of root.sections) {
    if (k === 'connections' || k === 'secrets') continue;
    notes.push(`${k} { … }: ${k === 'pools' ? 'virtual IP pools need Mode Config, which isakmp does not do' : k === 'authorities' ? 'CA sections (CRL and OCSP URIs): give CA files in secrets.NAME.ca' : 'no isakmp equivalent'}${s.sections.size > 0 ? ` (${[...s.sections.keys()].join(', ')})` : ''}`);
  }
  for (const k of root.values.keys()) notes.push(`${k}: no isakmp equivalent`);
  const secrets = root.sections.get('secrets');
  for (const s of secrets?.sections.values() ?? []) {
    if (!s.name.startsWith('ike')) notes.push(`secrets { ${s.name} }: ${s.name.startsWith('xauth') || s.name.startsWith('eap') ? 'XAUTH/EAP credentials, not used by isakmp' : 'not a pre-shared key for IKE; certificates and keys are found through the connections'}`);
  }
  const connections: ImportedConnection[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const taken = new Set<string>();
  for (const [name, c] of root.sections.get('connections')?.sections ?? []) {
    const r = mapConnection(name, c, secrets, dir, taken);
    if (r.ok) connections.push(...r.conns);
    else skipped.push({ name, reason: r.reason });
  }
  return { format: 'swanctl.conf, strongSwan', source: file, global: [], connections, skipped, notes };
}
