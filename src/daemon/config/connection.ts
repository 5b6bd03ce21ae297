/**
 * One entry of the `connections` section: the flags and the secret here, the ends, proposals
 * and clocks in their sub-parsers (connection-peers.ts, connection-proposals.ts,
 * connection-timers.ts), and the fingerprint that lets a reload tell changed connections apart.
 */
import { createHash } from 'node:crypto';
import type { Node } from 'yaml';
import { toHex } from '../../crypto/bytes.js';
import { parsePeers, parseSelectors } from './connection-peers.js';
import { parseProposals } from './connection-proposals.js';
import { REMOTE_ACCESS_KEYS, parseRemoteAccess } from './connection-remote-access.js';
import { parseDpd, parseLifetimes } from './connection-timers.js';
import type { ConnectionConfig, GlobalConfig, Secret } from './types.js';
import { bool, entries, integer, oneOf, scalarString, section, type Ctx, type Section } from './yaml.js';

const CONN_KEYS = [
  'mode',
  'auth',
  'secret',
  'local',
  'remote',
  'ike',
  'esp',
  'ah',
  'pfs',
  'ipsec_mode',
  'local_ts',
  'remote_ts',
  'ike_lifetime',
  'ike_rekey_margin',
  'lifetime',
  'lifetime_kb',
  'rekey_margin',
  'rekey_fuzz',
  'gateway_rekey',
  'start',
  'allow_weak_groups',
  'allow_aggressive_psk_responder',
  'nat_traversal',
  'encap',
  'dpd_delay',
  'dpd_timeout',
  'dpd_action',
  'fragmentation',
  'fragment_size',
  ...REMOTE_ACCESS_KEYS,
] as const;

/** `secret: NAME`: a secret of the secrets section whose kind fits `auth`. */
function parseSecretRef(s: Section, auth: 'psk' | 'rsa' | 'hybrid', secrets: ReadonlyMap<string, Secret>): Secret | undefined {
  const { ctx, path } = s;
  const se = s.req('secret');
  if (se === undefined) return undefined;
  const name = scalarString(ctx, se.value, `${path}.secret`);
  if (name === undefined) return undefined;
  const secret = secrets.get(name);
  if (secret === undefined) {
    // a secret that is there but failed to load was reported at its own line: no second error here
    if (ctx.problems.some((p) => p.path === `secrets.${name}` || p.path.startsWith(`secrets.${name}.`))) return undefined;
    const known = [...secrets.keys()];
    ctx.error(se.value, `${path}.secret`, `no secret named '${name}' in the secrets section${known.length ? ` (defined: ${known.join(', ')})` : ''}`);
    return undefined;
  }
  if ((auth === 'psk') !== (secret.kind === 'psk')) {
    ctx.error(se.value, `${path}.secret`, auth === 'psk' ? `auth: psk needs a secret with psk:, '${name}' has a certificate` : `auth: ${auth} needs a secret with cert: and key:${auth === 'hybrid' ? ' (gateway) or ca: alone (client)' : ''}, '${name}' is a psk`);
    return undefined;
  }
  if (auth === 'rsa' && secret.kind === 'ca') {
    ctx.error(se.value, `${path}.secret`, `auth: rsa needs a secret with cert: and key:, '${name}' has ca: only (that serves auth: hybrid clients)`);
    return undefined;
  }
  return secret;
}

/**
 * `auth: hybrid` needs XAUTH: a gateway (`xauth.backend` / `radius`) with a certificate and key, or
 * a client (`xauth.user`) with trust anchors (`ca:`) to check the gateway; `ca:` alone only there.
 */
function checkHybrid(s: Section, auth: 'psk' | 'rsa' | 'hybrid', secret: Secret | undefined, ra: ConnectionConfig['remoteAccess']): void {
  const { ctx, path } = s;
  if (auth !== 'hybrid') return;
  if (ra === undefined || ra.xauth === undefined) {
    ctx.error(s.at('auth'), `${path}.auth`, 'auth: hybrid is XAUTH: add xauth: (backend: or radius: on a gateway, user: and password: on a client)');
    return;
  }
  if (secret === undefined) return;
  if (ra.role === 'gateway' && secret.kind !== 'rsa') ctx.error(s.at('secret'), `${path}.secret`, `a Hybrid gateway signs with its certificate: secret '${secret.name}' needs cert: and key:`);
  if (ra.role === 'client' && secret.kind === 'ca' && secret.cas.length === 0) ctx.error(s.at('secret'), `${path}.secret`, `a Hybrid client checks the gateway's certificate: secret '${secret.name}' needs ca:`);
  if (ra.role === 'client' && secret.kind === 'rsa') ctx.error(s.at('secret'), `${path}.secret`, `a Hybrid client has no certificate of its own: give secret '${secret.name}' only ca: (the CA of the gateway's certificate)`);
}

export function parseConnection(ctx: Ctx, name: string, keyNode: Node, node: Node | null, g: GlobalConfig, secrets: ReadonlyMap<string, Secret>): ConnectionConfig | undefined {
  const path = `connections.${name}`;
  const before = ctx.problems.length;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    ctx.error(keyNode, path, `connection names are 1-64 letters, digits, '_', '.', '-' (starting with a letter or digit)`);
  }
  const e = entries(ctx, node, path, CONN_KEYS);
  if (e === undefined) return undefined;
  const s = section(ctx, node, path, e);
  const flag = (key: string, dflt: boolean): boolean => s.opt(key, (n, p) => bool(ctx, n, p), dflt);
  const allowWeakGroups = flag('allow_weak_groups', false);
  const allowAggressivePskResponder = flag('allow_aggressive_psk_responder', false);
  const natTraversal = flag('nat_traversal', true);
  const encap = flag('encap', false);
  const gatewayRekey = flag('gateway_rekey', true);
  const dpd = parseDpd(s);
  const fragmentation = s.opt('fragmentation', (n, p) => oneOf(ctx, n, p, ['yes', 'no', 'force'] as const), 'yes');
  const fragmentSize = s.opt('fragment_size', (n, p) => integer(ctx, n, p, 68, 65535), g.fragmentSize);
  const exchange = s.opt('mode', (n, p) => oneOf(ctx, n, p, ['main', 'aggressive'] as const), 'main');
  const auth = s.opt('auth', (n, p) => oneOf(ctx, n, p, ['psk', 'rsa', 'hybrid'] as const), 'psk');
  const secret = parseSecretRef(s, auth, secrets);
  const peers = parsePeers(s, g, auth, secret);
  const { ike, esp, ah } = parseProposals(s, exchange, allowWeakGroups, before);
  const { localTs, remoteTs } = parseSelectors(s, peers);
  const remoteAccess = parseRemoteAccess(s, peers.anyPeer);
  checkHybrid(s, auth, secret, remoteAccess);
  if (e.has('gateway_rekey') && remoteAccess?.role !== 'gateway') {
    ctx.error(s.at('gateway_rekey'), `${path}.gateway_rekey`, `only a remote-access gateway (xauth: with a backend, or pool:) rekeys its clients' IPsec SAs: remove gateway_rekey or make this connection a gateway`);
  }
  const ipsecMode = s.opt('ipsec_mode', (n, p) => oneOf(ctx, n, p, ['tunnel', 'transport'] as const), 'tunnel');
  const life = parseLifetimes(s);
  const start = s.opt('start', (n, p) => oneOf(ctx, n, p, ['add', 'start', 'on-demand'] as const), 'add');
  if (peers.anyPeer && start !== 'add') ctx.error(s.at('start'), `${path}.start`, `a connection to %any can only answer: use start: add`);
  if (start === 'on-demand' && g.dataplane !== 'xfrm') {
    ctx.error(s.at('start'), `${path}.start`, `on-demand needs the kernel to report traffic: set global.dataplane: xfrm (or use start: add / start)`);
  }

  const remoteAddress = peers.remote.address;
  if (ctx.problems.length !== before || secret === undefined || remoteAddress === undefined) return undefined;
  const conn: Omit<ConnectionConfig, 'fingerprint'> = {
    name,
    line: ctx.pos(keyNode).line,
    exchange,
    auth,
    secret,
    local: peers.local,
    remote: { address: remoteAddress, port: peers.remote.port, id: peers.remote.id },
    ike,
    esp,
    ah,
    ipsecMode,
    localTs,
    remoteTs,
    ...life,
    start,
    allowWeakGroups,
    allowAggressivePskResponder,
    natTraversal,
    encap,
    gatewayRekey,
    fragmentation,
    fragmentSize,
    ...dpd,
    remoteAccess,
  };
  return { ...conn, fingerprint: fingerprintOf(conn) };
}

/** Stable text of a connection's settings and secret (keys by fingerprint, not by value). */
function fingerprintOf(conn: Omit<ConnectionConfig, 'fingerprint' | 'line'> & { line?: number }): string {
  const { line: _line, secret, remoteAccess, ...rest } = conn;
  void _line;
  // Passwords and RADIUS secrets count by their hash: the fingerprint is compared, never shown.
  const ra = remoteAccess === undefined ? undefined : JSON.stringify(remoteAccess, (_k, v: unknown) => (v instanceof Uint8Array ? createHash('sha256').update(v).digest('hex') : v));
  const sec =
    secret.kind === 'psk'
      ? { kind: 'psk', psk: toHex(secret.psk) }
      : secret.kind === 'ca'
        ? { kind: 'ca', cas: secret.cas.map((c) => c.fingerprint256) }
        : { kind: 'rsa', cert: secret.cert.fingerprint256, chain: secret.chain.map((c) => c.fingerprint256), key: secret.keyPath, cas: secret.cas.map((c) => c.fingerprint256) };
  return JSON.stringify({ ...rest, secret: sec, remoteAccess: ra }, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
}
