/**
 * The remote-access keys of a connection (docs/config.md, docs/remote-access.md): `xauth:` (a
 * gateway's user backend and retries, or a client's user name and password), `pool:`, `dns:`,
 * `split_include:`, `banner:` (what a gateway hands out with Mode Config) and `modecfg:` (who
 * starts Mode Config: the client asks, `pull`, or the gateway sets, `push`).
 *
 * The role follows from the keys: a `backend:` or `radius:` under `xauth:`, or a `pool:`, makes
 * a gateway; a `user:` under `xauth:` makes a client. Passwords and RADIUS secrets are read here
 * (inline or from a file) and kept as bytes: they are never part of a problem's text.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { isSeq, type Node } from 'yaml';
import { parseRangeSpec } from '../remote-access/address-range.js';
import { parseTrafficSelector } from './identities.js';
import type { RadiusServerConfig, RemoteAccessConfig, TrafficSelector, XauthBackendConfig } from './types.js';
import { bool, duration, entries, integer, oneOf, resolvePath, scalarString, section, stringList, type Ctx, type Section } from './yaml.js';

/** The connection keys this file reads. */
export const REMOTE_ACCESS_KEYS = ['xauth', 'pool', 'dns', 'split_include', 'banner', 'modecfg', 'nbns', 'default_domain', 'split_dns', 'local_lan', 'save_password'] as const;
/** The keys only a gateway has (what it hands out). */
const GATEWAY_KEYS = ['pool', 'dns', 'split_include', 'banner', 'nbns', 'default_domain', 'split_dns', 'local_lan', 'save_password'] as const;
/** A DNS domain name as Unity sends it (letters, digits, hyphens, dots; 253 bytes at most). */
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** XAUTH attempts per ISAKMP SA a gateway allows before it deletes the SA. */
export const DEFAULT_XAUTH_RETRIES = 3;
const MAX_XAUTH_RETRIES = 10;
/** A Unity banner travels in one attribute; longer texts are a mistake, not a banner. */
const MAX_BANNER_BYTES = 4096;
const MAX_PASSWORD_BYTES = 128;

/** A secret given inline (`KEY: text`) or in a file (`KEY_file: PATH`, trailing newline dropped). */
function readSecret(s: Section, key: string, what: string): Uint8Array | undefined {
  const { ctx, path } = s;
  const inline = s.entries.get(key);
  const file = s.entries.get(`${key}_file`);
  if (inline !== undefined && file !== undefined) {
    ctx.error(file.key, `${path}.${key}_file`, `give either ${key}: or ${key}_file:, not both`);
    return undefined;
  }
  if (inline === undefined && file === undefined) {
    ctx.error(s.node, path, `missing '${key}' or '${key}_file' (the ${what})`);
    return undefined;
  }
  let bytes: Uint8Array | undefined;
  let at: Node | null;
  let p: string;
  if (inline !== undefined) {
    at = inline.value;
    p = `${path}.${key}`;
    const text = scalarString(ctx, at, p);
    if (text === undefined) return undefined;
    bytes = new TextEncoder().encode(text);
  } else {
    at = file!.value;
    p = `${path}.${key}_file`;
    const name = scalarString(ctx, at, p);
    if (name === undefined) return undefined;
    const full = resolvePath(ctx, name);
    try {
      const text = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
      bytes = new TextEncoder().encode(text);
    } catch (err) {
      ctx.error(at, p, `cannot read the ${what} file '${full}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
  }
  if (bytes.length === 0) {
    ctx.error(at, p, `the ${what} is empty`);
    return undefined;
  }
  return bytes;
}

function parseRadiusServer(ctx: Ctx, node: Node | null, path: string): RadiusServerConfig | undefined {
  const e = entries(ctx, node, path, ['address', 'port', 'accounting_port', 'secret', 'secret_file']);
  if (e === undefined) return undefined;
  const s = section(ctx, node, path, e);
  const before = ctx.problems.length;
  const a = s.req('address');
  let address: string | undefined;
  if (a !== undefined) {
    address = scalarString(ctx, a.value, `${path}.address`);
    if (address !== undefined && isIP(address) === 0) ctx.error(a.value, `${path}.address`, `'${address}' is not an IP address (the RADIUS server's)`);
  }
  const port = s.opt('port', (n, p) => integer(ctx, n, p, 1, 65535), 1812);
  const accountingPort = s.opt<number | undefined>('accounting_port', (n, p) => integer(ctx, n, p, 1, 65535), undefined);
  const secret = readSecret(s, 'secret', 'RADIUS shared secret');
  if (ctx.problems.length !== before || address === undefined || secret === undefined) return undefined;
  return { address, port, secret, ...(accountingPort !== undefined ? { accountingPort } : {}) };
}

/** `xauth.backend: "file:PATH"` or `xauth.radius: {...}` (a gateway's user backend). */
function parseBackend(s: Section): XauthBackendConfig | undefined {
  const { ctx, path } = s;
  const b = s.entries.get('backend');
  const r = s.entries.get('radius');
  if (b !== undefined && r !== undefined) {
    ctx.error(r.key, `${path}.radius`, `give either backend: "file:PATH" or radius:, not both`);
    return undefined;
  }
  if (b !== undefined) {
    const text = scalarString(ctx, b.value, `${path}.backend`);
    if (text === undefined) return undefined;
    if (!text.startsWith('file:') || text.length === 5) {
      ctx.error(b.value, `${path}.backend`, `'${text}' is not a backend: write "file:PATH" (a users file written by isakmp passwd) or use radius:`);
      return undefined;
    }
    const full = resolvePath(ctx, text.slice(5));
    try {
      if (!statSync(full).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
    } catch (err) {
      ctx.error(b.value, `${path}.backend`, `cannot read the users file '${full}': ${(err as NodeJS.ErrnoException).code ?? String(err)} (create it with isakmp passwd --file ${full} USER)`);
      return undefined;
    }
    return { kind: 'file', path: full };
  }
  if (r === undefined) return undefined;
  const rp = `${path}.radius`;
  const e = entries(ctx, r.value, rp, ['servers', 'timeout', 'retries', 'nas_identifier', 'accounting']);
  if (e === undefined) return undefined;
  const rs = section(ctx, r.value, rp, e);
  const before = ctx.problems.length;
  const servers: RadiusServerConfig[] = [];
  const sv = rs.req('servers');
  if (sv !== undefined) {
    const list = isSeq(sv.value) ? (sv.value.items as (Node | null)[]) : undefined;
    if (list === undefined || list.length === 0) ctx.error(sv.value, `${rp}.servers`, 'expected a list of servers ({ address, port, secret | secret_file })');
    else list.forEach((item, i) => {
      const one = parseRadiusServer(ctx, item, `${rp}.servers[${i}]`);
      if (one !== undefined) servers.push(one);
    });
  }
  const timeout = rs.opt('timeout', (n, p) => {
    const v = duration(ctx, n, p);
    if (v !== undefined && (v < 1 || v > 60)) {
      ctx.error(n, p, 'the RADIUS timeout must be 1 s to 60 s');
      return undefined;
    }
    return v;
  }, 3);
  const retries = rs.opt('retries', (n, p) => integer(ctx, n, p, 0, 10), 2);
  const nasIdentifier = rs.opt<string | undefined>('nas_identifier', (n, p) => scalarString(ctx, n, p), undefined);
  const accounting = rs.opt('accounting', (n, p) => bool(ctx, n, p), false);
  if (ctx.problems.length !== before) return undefined;
  return { kind: 'radius', servers, timeoutMs: timeout * 1000, retries, nasIdentifier, accounting };
}

/** The remote-access part of a connection, or undefined for a plain site-to-site connection. */
export function parseRemoteAccess(s: Section, anyPeer: boolean): RemoteAccessConfig | undefined {
  const { ctx, path } = s;
  const x = s.entries.get('xauth');
  const xp = `${path}.xauth`;
  const xe = x === undefined ? undefined : entries(ctx, x.value, xp, ['backend', 'radius', 'retries', 'user', 'password', 'password_file']);
  const xs = xe === undefined ? undefined : section(ctx, x?.value, xp, xe);
  const gatewayKeys = GATEWAY_KEYS.filter((k) => s.entries.has(k));
  const isGateway = xe !== undefined && (xe.has('backend') || xe.has('radius') || xe.has('retries'));
  const isClient = xe !== undefined && (xe.has('user') || xe.has('password') || xe.has('password_file'));
  const modecfg = s.opt('modecfg', (n, p) => oneOf(ctx, n, p, ['pull', 'push'] as const), 'pull');

  if (isGateway && isClient) {
    ctx.error(x!.value, xp, `a connection is either a gateway (backend: or radius:, retries:) or a client (user:, password:), not both`);
    return undefined;
  }
  if (x !== undefined && xs !== undefined && !isGateway && !isClient) {
    ctx.error(x.value, xp, `give backend: "file:PATH" or radius: (a gateway), or user: and password: (a client)`);
    return undefined;
  }
  if (isGateway || (!isClient && gatewayKeys.length > 0)) {
    let xauth: { backend: XauthBackendConfig; retries: number } | undefined;
    if (xs !== undefined) {
      const backend = parseBackend(xs);
      if (backend === undefined && !xs.entries.has('backend') && !xs.entries.has('radius')) {
        ctx.error(x!.value, xp, `missing 'backend' ("file:PATH") or 'radius' (where the users are checked)`);
      }
      const retries = xs.opt('retries', (n, p) => integer(ctx, n, p, 1, MAX_XAUTH_RETRIES), DEFAULT_XAUTH_RETRIES);
      if (backend !== undefined) xauth = { backend, retries };
    }
    const pool: string[] = [];
    const pv = s.entries.get('pool');
    for (const item of pv === undefined ? [] : stringList(ctx, pv.value, `${path}.pool`) ?? []) {
      const r = parseRangeSpec(item.text);
      if (r.ok) pool.push(item.text.trim());
      else ctx.error(item.node, `${path}.pool`, r.error);
    }
    const dns: string[] = [];
    const dv = s.entries.get('dns');
    for (const item of dv === undefined ? [] : stringList(ctx, dv.value, `${path}.dns`) ?? []) {
      if (isIP(item.text) === 0) ctx.error(item.node, `${path}.dns`, `'${item.text}' is not an IP address (a DNS server's)`);
      else dns.push(item.text);
    }
    const nbns: string[] = [];
    const nv = s.entries.get('nbns');
    for (const item of nv === undefined ? [] : stringList(ctx, nv.value, `${path}.nbns`) ?? []) {
      if (isIP(item.text) !== 4) ctx.error(item.node, `${path}.nbns`, `'${item.text}' is not an IPv4 address (a WINS / NetBIOS name server's)`);
      else nbns.push(item.text);
    }
    const networks = (key: 'split_include' | 'local_lan', what: string): TrafficSelector[] => {
      const out: TrafficSelector[] = [];
      const v = s.entries.get(key);
      for (const item of v === undefined ? [] : stringList(ctx, v.value, `${path}.${key}`) ?? []) {
        const r = parseTrafficSelector(item.text);
        if (!r.ok) ctx.error(item.node, `${path}.${key}`, r.error);
        else if (r.value.protocol !== 0 || r.value.port !== 0) ctx.error(item.node, `${path}.${key}`, `'${item.text}': a ${what} network is ADDRESS/PREFIX, without protocol or port`);
        else out.push(r.value);
      }
      return out;
    };
    const splitInclude = networks('split_include', 'split-include');
    const localLan = networks('local_lan', 'local-LAN');
    const defaultDomain = s.opt<string | undefined>('default_domain', (n, p) => {
      const t = scalarString(ctx, n, p);
      if (t !== undefined && !DOMAIN.test(t)) {
        ctx.error(n, p, `'${t}' is not a DNS domain name (like corp.example.com)`);
        return undefined;
      }
      return t;
    }, undefined);
    const splitDns: string[] = [];
    const dv2 = s.entries.get('split_dns');
    for (const item of dv2 === undefined ? [] : stringList(ctx, dv2.value, `${path}.split_dns`) ?? []) {
      if (!DOMAIN.test(item.text)) ctx.error(item.node, `${path}.split_dns`, `'${item.text}' is not a DNS domain name (like corp.example.com)`);
      else splitDns.push(item.text);
    }
    const savePassword = s.opt<boolean | undefined>('save_password', (n, p) => bool(ctx, n, p), undefined);
    const banner = s.opt<string | undefined>('banner', (n, p) => {
      const t = scalarString(ctx, n, p);
      if (t !== undefined && Buffer.byteLength(t) > MAX_BANNER_BYTES) {
        ctx.error(n, p, `the banner is ${Buffer.byteLength(t)} bytes; at most ${MAX_BANNER_BYTES}`);
        return undefined;
      }
      return t;
    }, undefined);
    return { role: 'gateway', xauth, pool, dns, splitInclude, banner, modecfg, nbns, localLan, defaultDomain, splitDns, savePassword };
  }
  if (isClient && xs !== undefined) {
    for (const k of gatewayKeys) ctx.error(s.at(k), `${path}.${k}`, `${k}: is what a gateway hands out; this connection is a client (xauth.user)`);
    if (anyPeer) ctx.error(x!.value, xp, `a client connects to its gateway: give remote.address (not %any)`);
    const u = xs.req('user');
    let user: string | undefined;
    if (u !== undefined) {
      user = scalarString(ctx, u.value, `${xp}.user`);
      if (user !== undefined && (user.length === 0 || Buffer.byteLength(user) > 255)) {
        ctx.error(u.value, `${xp}.user`, 'the user name is 1 to 255 bytes');
        user = undefined;
      }
    }
    const password = readSecret(xs, 'password', 'XAUTH password');
    if (password !== undefined && password.length > MAX_PASSWORD_BYTES) {
      ctx.error(xs.at(xs.entries.has('password') ? 'password' : 'password_file'), `${xp}.password`, `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
      return undefined;
    }
    const pf = xs.entries.get('password_file');
    const passwordFile = pf === undefined ? undefined : resolvePath(ctx, scalarString(ctx, pf.value, `${xp}.password_file`) ?? '');
    if (user === undefined || password === undefined) return undefined;
    return { role: 'client', xauth: { user, password, passwordFile }, modecfg: s.entries.has('modecfg') ? modecfg : undefined };
  }
  if (s.entries.has('modecfg')) {
    if (anyPeer) {
      ctx.error(s.at('modecfg'), `${path}.modecfg`, `a %any connection with Mode Config is a gateway: give pool: (the addresses it hands out)`);
      return undefined;
    }
    return { role: 'client', xauth: undefined, modecfg };
  }
  return undefined;
}
