/**
 * `isakmp import ipsec.conf FILE [--secrets FILE] [--dialect strongswan|libreswan]`: an
 * ipsec.conf of strongSwan or Libreswan (Openswan's is Libreswan's) with its ipsec.secrets to an
 * isakmp configuration, from the documented meaning of each setting. `left` is this host unless
 * `right` is the one set to %defaultroute (the usual convention; the output says which was
 * taken). Every subnet of `leftsubnet(s)=` is carried (one IPsec SA per pair), and AH alone
 * (`phase2=ah`, strongSwan's `ah=`) as `ah:`. IKEv2-only connections, XAUTH, Mode Config, AH + ESP
 * bundles and raw RSA keys are skipped with a note.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { certificatesIn, checkIdentity, firstAddress, keyForCertificate, sameIdentity, secretBytes, trafficSelector } from './common.js';
import { parseIpsecConf, parseIpsecSecrets, type SecretEntry } from './ipsec-conf-parser.js';
import { connectionName, dpdSettings, parseDuration, type ImportResult, type ImportedConnection, type ImportedSecret } from './model.js';
import { libreswanAh, libreswanProposals, onePfsGroup, oneIkeGroup, strongswanAh, strongswanEsp, strongswanIke, type ProposalList } from './proposals.js';

export type Dialect = 'strongswan' | 'libreswan';

const LIBRESWAN_WORDS = ['ikev2', 'phase2alg', 'phase2', 'salifetime', 'rsasigkey', 'aggrmode', 'encapsulation', 'narrowing', 'protostack', 'nat_traversal', 'virtual_private', 'virtual-private', 'plutodebug', 'ikepad', 'sha2-truncbug', 'pfs', 'modecfgpull', 'xauthby', 'nhelpers', 'logfile'];
const STRONGSWAN_WORDS = ['keyexchange', 'leftauth', 'rightauth', 'aggressive', 'charondebug', 'mobike', 'forceencaps', 'reauth', 'margintime', 'closeaction', 'leftsendcert', 'rightsendcert', 'leftfirewall', 'leftsourceip', 'rightsourceip', 'strictcrlpolicy', 'uniqueids', 'leftca', 'rightca'];

/** Which project's dialect a file is written in, from the keywords only one of them knows. */
export function guessDialect(keys: Iterable<string>): Dialect {
  let lib = 0;
  let sw = 0;
  for (const k of keys) {
    const base = k.replace(/^(left|right)/, '');
    if (LIBRESWAN_WORDS.includes(k) || LIBRESWAN_WORDS.includes(base)) lib++;
    if (STRONGSWAN_WORDS.includes(k) || STRONGSWAN_WORDS.includes(base)) sw++;
  }
  return lib > sw ? 'libreswan' : 'strongswan';
}

/** Keys handled for each side (after left/right). */
const SIDE_KEYS = new Set(['', 'subnet', 'subnets', 'protoport', 'id', 'cert', 'auth', 'ca', 'sendcert', 'nexthop', 'rsasigkey']);
const HANDLED = new Set(['also', 'auto', 'type', 'authby', 'ike', 'esp', 'phase2alg', 'phase2', 'ah', 'pfs', 'pfsgroup', 'keyexchange', 'ikev2', 'aggressive', 'aggrmode', 'ikelifetime', 'keylife', 'lifetime', 'salifetime', 'rekeymargin', 'margintime', 'rekeyfuzz', 'dpddelay', 'dpdtimeout', 'dpdaction', 'forceencaps', 'encapsulation', 'lifebytes', 'keyingtries', 'rekey']);
const SKIP_SIDE = ['sourceip', 'modecfgclient', 'modecfgserver', 'xauthclient', 'xauthserver', 'auth2', 'xauthusername', 'username'];

interface Ctx {
  readonly dialect: Dialect;
  readonly dir: string;
  readonly secrets: readonly SecretEntry[];
  readonly secretsFile: string;
}

type Mapped = { ok: true; conn: ImportedConnection } | { ok: false; reason: string };

function mapConn(name: string, c: Map<string, string>, ctx: Ctx, taken: Set<string>): Mapped {
  const v = (k: string): string | undefined => c.get(k);
  const notes: string[] = [];
  const auto = v('auto') ?? 'ignore';
  if (auto === 'ignore' && v('auto') !== undefined) return { ok: false, reason: 'auto=ignore: the connection is not loaded by its own daemon either' };
  // IKE version
  if (ctx.dialect === 'strongswan') {
    const kx = v('keyexchange') ?? 'ike';
    if (kx === 'ikev2') return { ok: false, reason: 'IKEv2-only (keyexchange=ikev2): isakmp speaks IKEv1' };
    if (kx !== 'ikev1') notes.push(`keyexchange=${kx}: strongSwan initiates this connection with IKEv2 and answers both; imported as IKEv1, the only version isakmp speaks (the peer must speak IKEv1 too)`);
  } else {
    const kx = v('keyexchange');
    const v2 = v('ikev2');
    if (kx === 'ikev2' || v2 === 'insist' || v2 === 'yes' || (kx === undefined && v2 === undefined)) {
      return { ok: false, reason: `IKEv2-only (${kx !== undefined ? `keyexchange=${kx}` : v2 !== undefined ? `ikev2=${v2}` : 'no ikev2=no: Libreswan 4 and later negotiate IKEv2 by default'}): isakmp speaks IKEv1; write ikev2=no (or keyexchange=ikev1) if the connection is IKEv1` };
    }
    if (v2 === 'permit' || v2 === 'propose') notes.push(`ikev2=${v2}: imported as IKEv1`);
  }
  const type = v('type') ?? 'tunnel';
  if (type !== 'tunnel' && type !== 'transport') return { ok: false, reason: `type=${type}: no SA to negotiate` };
  for (const side of ['left', 'right']) for (const k of SKIP_SIDE) if (v(side + k) !== undefined) return { ok: false, reason: `${side}${k}=${v(side + k)}: ${k.includes('xauth') || k.includes('auth2') || k.includes('username') ? 'XAUTH' : 'virtual IPs / Mode Config'}, which isakmp does not do` };
  for (const k of ['xauth', 'modecfgpull', 'xauthby']) if (v(k) !== undefined) return { ok: false, reason: `${k}=${v(k)}: XAUTH / Mode Config, which isakmp does not do` };

  // which side is this host
  const rightLocal = v('right') === '%defaultroute' && v('left') !== '%defaultroute';
  const [me, peer] = rightLocal ? ['right', 'left'] : ['left', 'right'];
  notes.push(`${me} taken as this host, ${peer} as the peer${rightLocal ? ` (${me}=%defaultroute)` : ' (the convention; swap left and right in the source if not)'}`);
  const s = (side: string, k: string): string | undefined => v(side + k);

  // authentication
  const authby = (v('authby') ?? (ctx.dialect === 'libreswan' ? 'rsasig' : s(me, 'auth') ?? 'pubkey')).toLowerCase();
  const auth: 'psk' | 'rsa' | undefined = ['secret', 'psk'].includes(authby) ? 'psk' : ['rsasig', 'rsa', 'pubkey', 'rsa-sha1', 'rsa-sha2', 'rsa-sha2_256'].includes(authby) ? 'rsa' : undefined;
  if (auth === undefined) return { ok: false, reason: `authby=${authby}: isakmp authenticates with pre-shared keys or RSA signatures (no XAUTH, no null authentication)` };
  for (const side of [me, peer]) {
    const a = s(side, 'auth');
    if (a !== undefined && (a === 'psk' ? 'psk' : a === 'pubkey' || a === 'rsa' ? 'rsa' : 'other') !== auth) return { ok: false, reason: `${side}auth=${a} with authby=${authby}: IKEv1 uses one method for both sides` };
  }

  // addresses and identities
  const la = firstAddress(s(me, '') === '%defaultroute' ? '' : s(me, '') ?? '');
  const ra = firstAddress(s(peer, '') ?? '%any');
  if (s(me, '') === '%defaultroute' || s(me, '') === undefined) notes.push(`${me}=${s(me, '') ?? '(not set)'}: no fixed local address`);
  let remoteAddress = ra.address;
  if (remoteAddress === undefined) {
    const p = s(peer, '') ?? '%any';
    if (p !== '%any' && p !== '%defaultroute' && !p.startsWith('%any')) return { ok: false, reason: `${peer}=${p}: a host name; isakmp needs the peer's IP address (resolve it and import again)` };
    remoteAddress = '%any';
  }
  const ids: { local?: string; remote?: string } = {};
  for (const [side, key] of [[me, 'local'], [peer, 'remote']] as const) {
    let id = s(side, 'id');
    if (id === undefined || id === '%fromcert' || id === '%any' && key === 'local') continue;
    if (id.startsWith('%')) {
      notes.push(`not carried: ${side}id=${id}: no isakmp equivalent`);
      continue;
    }
    id = id.replace(/^"|"$/g, '');
    const r = checkIdentity(id);
    if (!r.ok) return { ok: false, reason: `${side}id=${id}: ${r.reason}` };
    ids[key] = id;
  }
  if (remoteAddress === '%any' && ids.remote === undefined) {
    ids.remote = '%any';
    notes.push(`${peer}id not set with a wildcard peer: any identity is accepted (id: "%any")`);
  }
  if (auth === 'psk' && la.address === undefined && ids.local === undefined) return { ok: false, reason: `no local address and no ${me}id: isakmp needs one of them to pick the identity it shows` };

  // secret
  let secret: ImportedSecret;
  if (auth === 'psk') {
    const mine = [ids.local, la.address].filter((x): x is string => x !== undefined);
    const theirs = [ids.remote !== '%any' ? ids.remote : undefined, ra.address].filter((x): x is string => x !== undefined);
    const found = findPsk(ctx.secrets, mine, theirs);
    if (found === undefined) return { ok: false, reason: `no PSK in ${ctx.secretsFile} for ${[...mine, ...theirs].join(' / ') || 'this connection'}` };
    secret = { kind: 'psk', psk: secretBytes(found.value), from: `from ${found.line}` };
  } else {
    const r = rsaSecret(me, peer, s, ctx);
    if (!r.ok) return r;
    secret = r.secret;
  }

  // proposals
  const aggressive = v('aggressive') === 'yes' || v('aggrmode') === 'yes';
  let ike: ProposalList;
  if (v('ike') === undefined) {
    ike = { proposals: ['aes128-sha256-modp2048', 'aes256-sha256-modp2048'], notes: [`ike= not set: ${ctx.dialect === 'libreswan' ? 'Libreswan' : 'strongSwan'}'s defaults replaced by aes128-sha256-modp2048, aes256-sha256-modp2048`], weak: false };
  } else ike = ctx.dialect === 'libreswan' ? libreswanProposals(v('ike')!, 'ike') : strongswanIke(v('ike')!);
  if (aggressive) ike = oneIkeGroup(ike);
  notes.push(...ike.notes);
  if (ike.proposals.length === 0) return { ok: false, reason: `no IKE proposal isakmp can offer in ike=${v('ike')}` };
  // phase 2: ESP, or AH alone (Libreswan phase2=ah; strongSwan ah= without esp=)
  const useAh = ctx.dialect === 'libreswan' ? (v('phase2') ?? 'esp') === 'ah' : v('ah') !== undefined;
  if (ctx.dialect === 'strongswan' && useAh && v('esp') !== undefined) return { ok: false, reason: `ah= and esp= together: an AH + ESP bundle, which isakmp does not negotiate (AH alone or ESP alone)` };
  if (ctx.dialect === 'libreswan' && v('phase2') !== undefined && v('phase2') !== 'esp' && v('phase2') !== 'ah') return { ok: false, reason: `phase2=${v('phase2')}: isakmp negotiates ESP or AH alone` };
  // Libreswan's esp= and ah= both spell phase2alg=
  const p2Key = ctx.dialect === 'libreswan' ? ['phase2alg', ...(useAh ? ['ah', 'esp'] : ['esp', 'ah'])].find((k) => v(k) !== undefined) ?? 'phase2alg' : useAh ? 'ah' : 'esp';
  const espText = v(p2Key);
  // Libreswan: pfs=yes (the default) means the IKE group, unless the ESP proposal names one
  const ikeGroup = ike.proposals[0]!.split('-')[2]!;
  let esp: ProposalList;
  if (useAh) {
    if (espText === undefined) esp = { proposals: ['sha256', 'sha1'], notes: [`${p2Key}= not set: AH defaults replaced by sha256, sha1`], weak: false };
    else esp = ctx.dialect === 'libreswan' ? libreswanAh(espText) : strongswanAh(espText);
  } else if (espText === undefined) esp = { proposals: ['aes128-sha256', 'aes256-sha256'], notes: ['esp= not set: defaults replaced by aes128-sha256, aes256-sha256'], weak: false };
  else esp = ctx.dialect === 'libreswan' ? libreswanProposals(espText, 'esp') : strongswanEsp(espText);
  esp = onePfsGroup(esp);
  notes.push(...esp.notes);
  if (esp.proposals.length === 0) return { ok: false, reason: `no ${useAh ? 'AH' : 'ESP'} proposal isakmp can offer in ${p2Key}=${espText}` };
  let pfs: string | undefined;
  const espHasGroup = esp.proposals.some((p) => /-(modp|ecp)\d/.test(p));
  if (ctx.dialect === 'libreswan' && !espHasGroup) pfs = (v('pfs') ?? 'yes') === 'no' ? 'none' : v('pfsgroup') ?? ikeGroup;
  else if (!espHasGroup) pfs = v('pfsgroup') ?? 'none';

  // selectors: every subnet of subnet= / subnets= (one IPsec SA per pair), with protoport
  const ts = (side: string): string[] | undefined | { reason: string } => {
    const list = [...new Set([s(side, 'subnet'), s(side, 'subnets')].filter((x): x is string => x !== undefined).join(' ').replace(/[{}]/g, ' ').split(/[\s,]+/).filter(Boolean))];
    const pp = s(side, 'protoport');
    const address = side === me ? la.address : ra.address;
    const sels = list.length > 0 ? list : pp !== undefined && address !== undefined ? [address] : [];
    if (sels.length === 0) return undefined;
    if (sels.length > 16) return { reason: `${side}subnets: ${sels.length} subnets, isakmp takes at most 16 per side (split the connection)` };
    const out: string[] = [];
    for (const sel of sels) {
      let text = sel;
      if (pp !== undefined) {
        const [proto, port] = pp.split('/') as [string, string | undefined];
        const protoName = ({ '6': 'tcp', '17': 'udp', '1': 'icmp', '47': 'gre' } as Record<string, string>)[proto] ?? proto;
        text += port !== undefined && port !== '%any' && port !== '0' ? `[${protoName}/${port}]` : `[${protoName}]`;
      }
      const r = trafficSelector(text);
      if (!r.ok) return { reason: `${side}subnet=${sel}${pp !== undefined ? ` ${side}protoport=${pp}` : ''}: ${r.reason}` };
      out.push(r.ts);
    }
    return out;
  };
  const lts = ts(me);
  const rts = ts(peer);
  if (lts !== undefined && !Array.isArray(lts)) return { ok: false, reason: lts.reason };
  if (rts !== undefined && !Array.isArray(rts)) return { ok: false, reason: rts.reason };

  // lifetimes, DPD, NAT-T
  const dur = (k: string): number | undefined => (v(k) !== undefined ? parseDuration(v(k)!) : undefined);
  const ikeLifetime = dur('ikelifetime');
  const lifetime = dur('salifetime') ?? dur('keylife') ?? dur('lifetime');
  const margin = dur('rekeymargin') ?? dur('margintime');
  const fuzz = v('rekeyfuzz') !== undefined ? Number(v('rekeyfuzz')!.replace('%', '')) : undefined;
  const dpda = v('dpdaction') ?? (ctx.dialect === 'libreswan' ? 'hold' : 'none');
  // strongSwan sends DPD only with a dpdaction; Libreswan when dpddelay is set
  const dpd = dpdSettings(ctx.dialect === 'strongswan' && dpda === 'none' ? undefined : dur('dpddelay') ?? (ctx.dialect === 'strongswan' ? 30 : undefined), dur('dpdtimeout'), notes);
  const dpdAction = dpda === 'restart' ? 'restart' : 'clear';
  if ((dpda === 'hold' || dpda === 'trap') && dpd.dpdDelay > 0) notes.push(`dpdaction=${dpda}: carried as clear (no kernel trap without dataplane xfrm)`);
  const encap = v('forceencaps') === 'yes' || v('encapsulation') === 'yes';
  const start = (auto === 'start' || auto === 'route' || auto === 'ondemand') && remoteAddress !== '%any' && auto === 'start' ? 'start' : 'add';
  if (auto === 'route' || auto === 'ondemand') notes.push(`auto=${auto}: carried as start: add (isakmp's on-demand needs global.dataplane: xfrm; set both to have it)`);
  const lifebytes = v('lifebytes') !== undefined ? Math.ceil(Number(v('lifebytes')) / 1024) : undefined;
  for (const [k, val] of c) {
    const side = /^(left|right)(.*)$/.exec(k);
    if (side !== null ? SIDE_KEYS.has(side[2]!) : HANDLED.has(k) && k !== 'keyingtries') continue;
    notes.push(`not carried: ${k}=${val}: ${k.endsWith('updown') ? 'isakmp runs one global updown script (global.updown)' : k === 'compress' ? 'isakmp negotiates no IPComp' : k === 'mobike' ? 'MOBIKE is IKEv2 only' : k === 'fragmentation' ? 'isakmp sends no IKE fragments (it reads them)' : k === 'keyingtries' ? 'isakmp retransmits on its own schedule' : 'no isakmp equivalent'}`);
  }
  const conn: ImportedConnection = {
    name: connectionName(name, taken),
    origin: `from conn ${name} (${ctx.dialect === 'libreswan' ? 'Libreswan' : 'strongSwan'} ipsec.conf)`,
    mode: aggressive ? 'aggressive' : 'main',
    auth,
    secret,
    local: { ...(la.address !== undefined ? { address: la.address } : {}), ...(ids.local !== undefined ? { id: ids.local } : {}) },
    remote: { address: remoteAddress, ...(ids.remote !== undefined ? { id: ids.remote } : {}) },
    ike: ike.proposals,
    esp: useAh ? [] : esp.proposals,
    ...(useAh ? { ah: esp.proposals } : {}),
    ...(pfs !== undefined ? { pfs } : {}),
    ipsecMode: type === 'transport' ? 'transport' : 'tunnel',
    ...(lts !== undefined ? { localTs: lts } : {}),
    ...(rts !== undefined ? { remoteTs: rts } : {}),
    ...(ikeLifetime !== undefined && ikeLifetime >= 60 ? { ikeLifetime } : {}),
    ...(lifetime !== undefined && lifetime >= 30 ? { lifetime } : {}),
    ...(margin !== undefined && margin > 0 && margin < (lifetime ?? 3600) && margin < (ikeLifetime ?? 14400) ? { rekeyMargin: margin, ...(ikeLifetime !== undefined ? { ikeRekeyMargin: margin } : {}) } : {}),
    ...(lifebytes !== undefined && lifebytes >= 1 ? { lifetimeKb: lifebytes } : {}),
    ...(fuzz !== undefined && Number.isInteger(fuzz) && fuzz >= 0 && fuzz <= 100 ? { rekeyFuzz: fuzz } : {}),
    start,
    ...(ike.weak || esp.weak || (pfs !== undefined && /^(modp768|modp1024|modp1536)$/.test(pfs)) ? { allowWeakGroups: true } : {}),
    ...(aggressive && auth === 'psk' ? { allowAggressivePskResponder: true } : {}),
    ...(encap ? { encap: true } : {}),
    ...dpd,
    ...(dpd.dpdDelay > 0 && dpdAction === 'restart' ? { dpdAction } : {}),
    notes,
  };
  taken.add(conn.name);
  return { ok: true, conn };
}

/**
 * The PSK entry for a connection, as ipsec.secrets(5) describes the choice: an entry with several
 * selectors must match our ID and the peer's (one selector each; %any matches any); one selector
 * must match one of the two; an entry without selectors matches anything; the most specific wins.
 * `mine` / `theirs` list the end's identity first, then its address: between entries equally
 * specific, one naming the connection's identities wins over one naming only addresses (Libreswan
 * picks a PSK by the IDs, `leftid=@a` with `@a @b : PSK`, even when an address line comes first).
 */
function findPsk(secrets: readonly SecretEntry[], mine: readonly string[], theirs: readonly string[]): SecretEntry | undefined {
  let best: { e: SecretEntry; score: number } | undefined;
  for (const e of secrets) {
    if (e.type !== 'PSK') continue;
    const ids = e.ids.map((i) => (i === '0.0.0.0' ? '%any' : i));
    const hit = (list: readonly string[]): boolean => ids.some((i) => i === '%any' || list.some((x) => sameIdentity(i, x)));
    // selectors that name an end's identity (the first of its list) exactly
    const byId = ids.filter((i) => (mine[0] !== undefined && sameIdentity(i, mine[0])) || (theirs[0] !== undefined && sameIdentity(i, theirs[0]))).length;
    let score: number;
    if (ids.length === 0) score = 1;
    else if (ids.length === 1) score = hit(mine) || hit(theirs) ? 2 + byId / 4 : 0;
    else score = hit(mine) && hit(theirs) ? 3 + ids.filter((i) => i !== '%any').length + byId / 4 : 0;
    if (score > 0 && (best === undefined || score > best.score)) best = { e, score };
  }
  return best?.e;
}

function rsaSecret(me: string, peer: string, s: (side: string, k: string) => string | undefined, ctx: Ctx): { ok: true; secret: ImportedSecret } | { ok: false; reason: string } {
  if (ctx.dialect === 'libreswan') {
    if (s(me, 'rsasigkey') !== undefined) return { ok: false, reason: `${me}rsasigkey: raw RSA keys; isakmp authenticates with X.509 certificates` };
    return { ok: false, reason: `certificates live in Libreswan's NSS database (${me}cert=${s(me, 'cert') ?? '?'}): export them (pk12util, certutil) and give cert, key and ca files in secrets by hand` };
  }
  const certName = s(me, 'cert');
  if (certName === undefined) return { ok: false, reason: `RSA authentication without ${me}cert: isakmp needs our certificate file` };
  const cert = isAbsolute(certName) ? certName : join(ctx.dir, 'ipsec.d', 'certs', certName);
  if (!existsSync(cert)) return { ok: false, reason: `${me}cert=${certName}: ${cert} not found` };
  const keyEntries = ctx.secrets.filter((e) => e.type === 'RSA').map((e) => e.value.split(/\s+/)[0]!.replace(/^"|"$/g, '')).map((f) => (isAbsolute(f) ? f : join(ctx.dir, 'ipsec.d', 'private', f)));
  const key = keyForCertificate(cert, [join(ctx.dir, 'ipsec.d', 'private')]) ?? keyEntries.find((k) => keyForCertificate(cert, [dirname(k)]) === k);
  if (key === undefined) return { ok: false, reason: `no private key for ${cert} (: RSA entries in ${ctx.secretsFile}, or ipsec.d/private)` };
  const peerCert = s(peer, 'cert');
  const ca = peerCert !== undefined ? [isAbsolute(peerCert) ? peerCert : join(ctx.dir, 'ipsec.d', 'certs', peerCert)] : certificatesIn(join(ctx.dir, 'ipsec.d', 'cacerts'));
  if (ca.length === 0) return { ok: false, reason: 'no CA certificate to verify the peer (ipsec.d/cacerts beside ipsec.conf)' };
  return { ok: true, secret: { kind: 'rsa', cert, key, ca, from: `certificate ${certName} and its key` } };
}

export function importIpsecConf(text: string, file: string, opts: { secrets?: string; dialect?: Dialect } = {}): ImportResult {
  const conf = parseIpsecConf(text, file);
  const allKeys = [...conf.setup.keys(), ...[...conf.conns.values()].flatMap((c) => [...c.keys()])];
  const dialect = opts.dialect ?? guessDialect(allKeys);
  const notes: string[] = [];
  if (opts.dialect === undefined) notes.push(`read as ${dialect === 'libreswan' ? 'Libreswan' : 'strongSwan'}'s dialect (guessed from its keywords; --dialect ${dialect === 'libreswan' ? 'strongswan' : 'libreswan'} to read it the other way)`);
  const secretsFile = opts.secrets ?? join(dirname(file), 'ipsec.secrets');
  let secrets: SecretEntry[] = [];
  if (existsSync(secretsFile)) secrets = parseIpsecSecrets(readFileSync(secretsFile, 'utf8'), secretsFile);
  else notes.push(`${secretsFile} not found: connections with pre-shared keys cannot be imported (--secrets FILE)`);
  for (const [k, val] of conf.setup) notes.push(`config setup ${k}=${val}: no isakmp equivalent`);
  for (const o of conf.other) notes.push(`${o}: CA sections are not carried; give CA files in secrets.NAME.ca`);
  const ctx: Ctx = { dialect, dir: dirname(file), secrets, secretsFile };
  const connections: ImportedConnection[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const taken = new Set<string>();
  for (const [name, c] of conf.conns) {
    const r = mapConn(name, c, ctx, taken);
    if (r.ok) connections.push(r.conn);
    else skipped.push({ name, reason: r.reason });
  }
  return { format: `ipsec.conf, ${dialect === 'libreswan' ? 'Libreswan' : 'strongSwan'}`, source: file, global: [], connections, skipped, notes };
}
