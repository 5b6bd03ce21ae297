/**
 * The daemon's configuration file (YAML, see docs/config.md): parsing, validation with file:line
 * messages that say what to fix, and the typed result the daemon works from.
 *
 * Every problem found is collected (not just the first); `ConfigError` carries them all and its
 * message lists one per line as `FILE:LINE:COL: PATH: what is wrong (what to do)`.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type Pair } from 'yaml';
import { IdType } from '../constants/index.js';
import { UsageError } from '../errors.js';
import { groupName, parseEspProposal, parseIkeProposal, type EspProposal, type IkeProposal } from './proposals.js';
import { encodeDn, certSubjectDer } from './der.js';
import { dnKey, type CertificateRevocationList } from '../crypto/index.js';
import { crlIssuerMismatch, readCrlFile } from './crl-files.js';

export const CONFIG_ERROR_CODE = 'ISAKMP_ERR_CONFIG';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_AREAS = ['daemon', 'ike', 'net', 'control', 'dataplane', 'config'] as const;
export type LogArea = (typeof LOG_AREAS)[number];

export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends UsageError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      CONFIG_ERROR_CODE,
      problems.map((p) => `${p.file}${p.line > 0 ? `:${p.line}:${p.col}` : ''}: ${p.path ? p.path + ': ' : ''}${p.message}`).join('\n'),
    );
    this.problems = problems;
  }
}

export interface ListenAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export interface GlobalConfig {
  readonly listen: readonly ListenAddress[];
  /** IKE port (500 by default; unprivileged for tests). */
  readonly port: number;
  /** NAT-T port with the non-ESP marker (4500 by default); 0 = do not open it. */
  readonly nattPort: number;
  readonly log: { readonly level: LogLevel; readonly areas: Readonly<Partial<Record<LogArea, LogLevel>>>; readonly format: 'text' | 'json' };
  readonly keylog: string | undefined;
  readonly controlSocket: string;
  readonly dataplane: 'none' | 'xfrm';
  readonly updown: string | undefined;
  readonly metrics: { readonly address: string; readonly port: number } | undefined;
  /** Bound on half-open phase-1 exchanges (all peers together). */
  readonly maxHalfOpen: number;
  /** Bound on half-open phase-1 exchanges per peer address. */
  readonly maxHalfOpenPerPeer: number;
  /** Seconds a SIGTERM shutdown waits for Deletes to leave before exiting. */
  readonly shutdownGrace: number;
  /** Seconds between two reads of the dataplane's byte counters (xfrm; only while IPsec SAs exist). */
  readonly trafficPoll: number;
  /** Seconds between NAT keepalives (RFC 3948 §2.3) on ISAKMP SAs with a NAT in front of us; 0: none. */
  readonly natKeepalive: number;
}

export interface PskSecret {
  readonly kind: 'psk';
  readonly name: string;
  readonly psk: Uint8Array;
}

export interface RsaSecret {
  readonly kind: 'rsa';
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPaths: readonly string[];
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  readonly cas: readonly X509Certificate[];
  /** The CRLs of the `crls:` files (re-read on reload; not part of the connection fingerprint) and the file of each. */
  readonly crlPaths: readonly string[];
  readonly crls: readonly CertificateRevocationList[];
}

export type Secret = PskSecret | RsaSecret;

/** An ISAKMP identity (RFC 2407 §4.6.2.1) ready for the ID payload. */
export interface Identity {
  readonly type: number;
  readonly data: Uint8Array;
  /** As written in the file (or derived), for logs and status. */
  readonly text: string;
}

export interface TrafficSelector {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
  /** IP protocol number; 0 = any. */
  readonly protocol: number;
  /** Port; 0 = any. */
  readonly port: number;
  readonly text: string;
}

/** `remote.id: "%any"`: accept whatever identity the peer proves (type 0 is not a wire ID type). */
export const ANY_IDENTITY: Identity = { type: 0, data: new Uint8Array(0), text: '%any' };

export type StartAction = 'add' | 'start' | 'on-demand';

export interface ConnectionConfig {
  readonly name: string;
  /** Line of the connection's key in the file (for messages). */
  readonly line: number;
  readonly exchange: 'main' | 'aggressive';
  readonly auth: 'psk' | 'rsa';
  readonly secret: Secret;
  readonly local: { readonly address: string | undefined; readonly id: Identity | undefined };
  readonly remote: { readonly address: string; readonly port: number; readonly id: Identity | undefined };
  readonly ike: readonly IkeProposal[];
  readonly esp: readonly EspProposal[];
  readonly ipsecMode: 'tunnel' | 'transport';
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
  /** Seconds. */
  readonly ikeLifetime: number;
  readonly ikeRekeyMargin: number;
  readonly lifetime: number;
  readonly lifetimeKb: number | undefined;
  readonly rekeyMargin: number;
  /** Random extra margin, percent of the margin (0..100). */
  readonly rekeyFuzz: number;
  readonly start: StartAction;
  readonly allowWeakGroups: boolean;
  /** Aggressive Mode PSK as responder exposes a crackable hash: opt-in only. */
  readonly allowAggressivePskResponder: boolean;
  /** RFC 3947 NAT traversal: offer/accept it (default true). */
  readonly natTraversal: boolean;
  /** Pretend a NAT so that both sides float to the NAT-T port and encapsulate ESP in UDP. */
  readonly encap: boolean;
  /**
   * RFC 3706 Dead Peer Detection: seconds without an answer from the peer before an R-U-THERE
   * (0: off; only with peers that announced DPD), seconds without an answer before the peer is
   * declared dead, and then: clear its SAs, or clear them and negotiate again.
   */
  readonly dpdDelay: number;
  readonly dpdTimeout: number;
  readonly dpdAction: 'clear' | 'restart';
  /** Stable text of everything above, so reload can tell changed connections from unchanged ones. */
  readonly fingerprint: string;
}

export interface Config {
  readonly file: string;
  readonly global: GlobalConfig;
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly connections: readonly ConnectionConfig[];
}

export const DEFAULT_CONTROL_SOCKET = '/run/isakmp/isakmp.sock';

// --------------------------------------------------------------------------------------------
// source positions

class Ctx {
  readonly problems: ConfigProblem[] = [];
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
    readonly baseDir: string,
  ) {}

  pos(node: Node | null | undefined): { line: number; col: number } {
    const off = node?.range?.[0] ?? 0;
    const p = this.lines.linePos(off);
    return { line: p.line, col: p.col };
  }

  error(node: Node | null | undefined, path: string, message: string): void {
    const { line, col } = this.pos(node);
    this.problems.push({ file: this.file, line, col, path, message });
  }
}

type MapEntries = Map<string, { key: Node; value: Node | null }>;

function entries(ctx: Ctx, node: Node | null | undefined, path: string, known: readonly string[]): MapEntries | undefined {
  const out: MapEntries = new Map();
  if (node === null || node === undefined) return out;
  if (!isMap(node)) {
    ctx.error(node, path, `expected a mapping (key: value lines)`);
    return undefined;
  }
  for (const item of node.items as Pair<Node, Node | null>[]) {
    const k = item.key;
    const name = isScalar(k) ? String(k.value) : undefined;
    if (name === undefined) {
      ctx.error(k, path, 'keys must be plain words');
      continue;
    }
    if (known.length > 0 && !known.includes(name)) {
      ctx.error(k, path, `unknown key '${name}' (known keys: ${known.join(', ')})`);
      continue;
    }
    if (out.has(name)) {
      ctx.error(k, path, `key '${name}' given twice`);
      continue;
    }
    out.set(name, { key: k, value: item.value ?? null });
  }
  return out;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function scalarString(ctx: Ctx, node: Node | null, path: string): string | undefined {
  if (node === null || !isScalar(node) || node.value === null || typeof node.value === 'object') {
    ctx.error(node, path, 'expected a single value');
    return undefined;
  }
  // Numbers keep the text as written (a PSK of 0x6b65 or a port of 0500 is not rewritten by YAML).
  if (typeof node.value === 'number' && typeof node.source === 'string') return node.source;
  return String(node.value);
}

function oneOf<T extends string>(ctx: Ctx, node: Node | null, path: string, allowed: readonly T[]): T | undefined {
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(s)) {
    ctx.error(node, path, `'${s}' is not allowed (use one of: ${allowed.join(', ')})`);
    return undefined;
  }
  return s as T;
}

function bool(ctx: Ctx, node: Node | null, path: string): boolean | undefined {
  if (node !== null && isScalar(node) && typeof node.value === 'boolean') return node.value;
  ctx.error(node, path, 'expected true or false');
  return undefined;
}

function integer(ctx: Ctx, node: Node | null, path: string, min: number, max: number): number | undefined {
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    ctx.error(node, path, `'${s}' must be a whole number from ${min} to ${max}`);
    return undefined;
  }
  return Number(s);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `3600`, `90s`, `30m`, `8h`, `1d` into seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]) * (DURATION_UNITS[m[2] || 's'] ?? 1);
  return Number.isSafeInteger(n) ? n : undefined;
}

function duration(ctx: Ctx, node: Node | null, path: string): number | undefined {
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  const v = parseDuration(s);
  if (v === undefined) {
    ctx.error(node, path, `'${s}' is not a duration (write seconds, or a number with s, m, h or d: 90s, 30m, 8h)`);
    return undefined;
  }
  return v;
}

/** A YAML list of strings, or one string with comma-separated items. */
function stringList(ctx: Ctx, node: Node | null, path: string): { text: string; node: Node }[] | undefined {
  if (node === null) {
    ctx.error(node, path, 'expected a value or a list');
    return undefined;
  }
  if (isSeq(node)) {
    const out: { text: string; node: Node }[] = [];
    for (const item of node.items as (Node | null)[]) {
      const s = scalarString(ctx, item, path);
      if (s !== undefined && item !== null) out.push({ text: s, node: item });
    }
    return out;
  }
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
    .map((text) => ({ text, node }));
}

function resolvePath(ctx: Ctx, p: string): string {
  return resolve(ctx.baseDir, p);
}

// --------------------------------------------------------------------------------------------
// identities and traffic selectors

function ipBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  // IPv6: expand '::'
  let s = address;
  let tail4: number[] = [];
  const last = s.lastIndexOf(':');
  if (s.includes('.')) {
    tail4 = s.slice(last + 1).split('.').map(Number);
    s = s.slice(0, last + 1) + '0:0';
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? new Array<string>(8 - h.length - t.length).fill('0') : [];
  const groups = [...h, ...fill, ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail4.length === 4) out.set(tail4, 12);
  return out;
}

export { ipBytes };

/**
 * Parses an identity as written in the config:
 *   198.18.0.1 / 2001:db8::1      ID_IPV4_ADDR / ID_IPV6_ADDR
 *   @host.example or host.example ID_FQDN (a leading @ forces FQDN)
 *   user@host.example             ID_USER_FQDN
 *   keyid:TEXT or keyid:0xHEX     ID_KEY_ID
 *   C=CH, O=org, CN=name          ID_DER_ASN1_DN
 */
export function parseIdentity(text: string): { ok: true; value: Identity } | { ok: false; error: string } {
  const t = text.trim();
  if (t === '') return { ok: false, error: 'empty identity' };
  const enc = new TextEncoder();
  const fam = isIP(t);
  if (fam === 4) return { ok: true, value: { type: IdType.ID_IPV4_ADDR, data: ipBytes(t), text: t } };
  if (fam === 6) return { ok: true, value: { type: IdType.ID_IPV6_ADDR, data: ipBytes(t), text: t } };
  if (t.startsWith('keyid:')) {
    const v = t.slice(6);
    if (/^0x([0-9a-fA-F]{2})+$/.test(v)) {
      return { ok: true, value: { type: IdType.ID_KEY_ID, data: Uint8Array.from(Buffer.from(v.slice(2), 'hex')), text: t } };
    }
    if (v === '') return { ok: false, error: `'${t}': keyid: needs a value` };
    return { ok: true, value: { type: IdType.ID_KEY_ID, data: enc.encode(v), text: t } };
  }
  if (/^[A-Za-z]+=/.test(t)) {
    const dn = encodeDn(t);
    if (!dn.ok) return dn;
    return { ok: true, value: { type: IdType.ID_DER_ASN1_DN, data: dn.value, text: t } };
  }
  if (t.startsWith('@')) {
    const v = t.slice(1);
    if (v === '') return { ok: false, error: `'${t}': @ needs a host name` };
    return { ok: true, value: { type: IdType.ID_FQDN, data: enc.encode(v), text: v } };
  }
  if (/^[^@\s]+@[^@\s]+$/.test(t)) return { ok: true, value: { type: IdType.ID_USER_FQDN, data: enc.encode(t), text: t } };
  if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(t)) {
    return { ok: true, value: { type: IdType.ID_FQDN, data: enc.encode(t), text: t } };
  }
  return {
    ok: false,
    error: `cannot tell what kind of identity '${t}' is (write an IP address, a host name, user@host, keyid:VALUE or a DN like C=CH, O=org, CN=name)`,
  };
}

const PROTOCOLS: Readonly<Record<string, number>> = { any: 0, icmp: 1, tcp: 6, udp: 17, icmpv6: 58, gre: 47, sctp: 132 };

/** Parses `10.0.0.0/24`, `198.18.0.1` (= /32), `2001:db8::/64`, optionally followed by `[udp]`, `[tcp/443]`, `[17/500]`. */
export function parseTrafficSelector(text: string): { ok: true; value: TrafficSelector } | { ok: false; error: string } {
  const t = text.trim();
  const m = /^([^[\]/]+)(?:\/(\d{1,3}))?(?:\[([a-z0-9]+)(?:\/(\d{1,5}))?\])?$/i.exec(t);
  if (m === null) {
    return { ok: false, error: `'${t}' is not a traffic selector (write ADDRESS[/PREFIX][[PROTO[/PORT]]], e.g. 10.1.0.0/16 or 198.18.0.1/32[udp/500])` };
  }
  const addr = m[1] as string;
  const fam = isIP(addr);
  if (fam === 0) return { ok: false, error: `'${addr}' in '${t}' is not an IPv4 or IPv6 address` };
  const max = fam === 4 ? 32 : 128;
  const prefix = m[2] !== undefined ? Number(m[2]) : max;
  if (prefix > max) return { ok: false, error: `prefix /${prefix} in '${t}' is longer than ${max}` };
  let protocol = 0;
  let port = 0;
  if (m[3] !== undefined) {
    const p = m[3].toLowerCase();
    const n = /^\d+$/.test(p) ? Number(p) : PROTOCOLS[p];
    if (n === undefined || n > 255) {
      return { ok: false, error: `unknown protocol '${m[3]}' in '${t}' (use a number 0-255 or one of: ${Object.keys(PROTOCOLS).join(', ')})` };
    }
    protocol = n;
  }
  if (m[4] !== undefined) {
    port = Number(m[4]);
    if (port > 65535) return { ok: false, error: `port ${port} in '${t}' is above 65535` };
    if (protocol === 0) return { ok: false, error: `a port in '${t}' needs a protocol (tcp, udp, ...)` };
  }
  // Host bits must be zero, so that what we send is what we mean.
  const bytes = ipBytes(addr);
  for (let bit = prefix; bit < max; bit++) {
    if ((bytes[bit >> 3] as number) & (0x80 >> (bit & 7))) {
      return { ok: false, error: `'${t}' has host bits set beyond /${prefix} (write the network address)` };
    }
  }
  return { ok: true, value: { family: fam as 4 | 6, address: addr, prefix, protocol, port, text: t } };
}

// --------------------------------------------------------------------------------------------
// sections

const GLOBAL_KEYS = [
  'listen',
  'port',
  'natt_port',
  'log',
  'keylog',
  'control_socket',
  'dataplane',
  'updown',
  'metrics',
  'max_half_open',
  'max_half_open_per_peer',
  'shutdown_grace',
  'traffic_poll',
  'nat_keepalive',
] as const;

/** A duration from 1 s to 1 h (or 0 = off, where `offAllowed`); an error otherwise. */
function secondsBetween1sAnd1h(ctx: Ctx, n: Node | null, p: string, offAllowed: boolean): number | undefined {
  const v = duration(ctx, n, p);
  if (v === undefined || (offAllowed && v === 0) || (v >= 1 && v <= 3600)) return v;
  ctx.error(n, p, `${v}s is out of range (${offAllowed ? '0 to turn off, or ' : ''}1s to 1h)`);
  return undefined;
}

function parseGlobal(ctx: Ctx, node: Node | null | undefined): GlobalConfig {
  const path = 'global';
  const e = entries(ctx, node, path, GLOBAL_KEYS) ?? new Map();
  const listen: ListenAddress[] = [];
  const l = e.get('listen');
  if (l !== undefined) {
    for (const item of stringList(ctx, l.value, 'global.listen') ?? []) {
      const fam = isIP(item.text);
      if (fam === 0) ctx.error(item.node, 'global.listen', `'${item.text}' is not an IP address (use 0.0.0.0, ::, or a local address)`);
      else listen.push({ address: item.text, family: fam as 4 | 6 });
    }
  } else {
    listen.push({ address: '0.0.0.0', family: 4 }, { address: '::', family: 6 });
  }
  const get = <T>(key: string, f: (n: Node | null, p: string) => T | undefined, dflt: T): T => {
    const v = e.get(key);
    if (v === undefined) return dflt;
    return f(v.value, join(path, key)) ?? dflt;
  };
  const port = get('port', (n, p) => integer(ctx, n, p, 1, 65535), 500);
  const nattPort = get('natt_port', (n, p) => integer(ctx, n, p, 0, 65535), 4500);
  if (nattPort !== 0 && nattPort === port) ctx.error(e.get('natt_port')?.value, 'global.natt_port', `must differ from port (${port})`);

  let level: LogLevel = 'info';
  let format: 'text' | 'json' = 'text';
  const areas: Partial<Record<LogArea, LogLevel>> = {};
  const lg = e.get('log');
  if (lg !== undefined) {
    const le = entries(ctx, lg.value, 'global.log', ['level', 'format', 'areas']) ?? new Map();
    const lv = le.get('level');
    if (lv !== undefined) level = oneOf(ctx, lv.value, 'global.log.level', LOG_LEVELS) ?? level;
    const fm = le.get('format');
    if (fm !== undefined) format = oneOf(ctx, fm.value, 'global.log.format', ['text', 'json'] as const) ?? format;
    const ar = le.get('areas');
    if (ar !== undefined) {
      const ae = entries(ctx, ar.value, 'global.log.areas', LOG_AREAS) ?? new Map();
      for (const [k, v] of ae) {
        const lvl = oneOf(ctx, v.value, `global.log.areas.${k}`, LOG_LEVELS);
        if (lvl !== undefined) areas[k as LogArea] = lvl;
      }
    }
  }
  const pathValue = (key: string): string | undefined => {
    const v = e.get(key);
    if (v === undefined) return undefined;
    const s = scalarString(ctx, v.value, join(path, key));
    return s === undefined ? undefined : resolvePath(ctx, s);
  };
  let metrics: GlobalConfig['metrics'];
  const me = e.get('metrics');
  if (me !== undefined) {
    const s = scalarString(ctx, me.value, 'global.metrics');
    if (s !== undefined) {
      const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(s);
      const addr = m?.[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1';
      const p = m ? Number(m[2]) : NaN;
      if (m === null || !(p >= 1 && p <= 65535) || isIP(addr) === 0) {
        ctx.error(me.value, 'global.metrics', `'${s}' must be PORT or ADDRESS:PORT (e.g. 9520 or 127.0.0.1:9520)`);
      } else if (addr !== '127.0.0.1' && addr !== '::1') {
        ctx.error(me.value, 'global.metrics', `metrics are served on localhost only (use 127.0.0.1:${p} or [::1]:${p})`);
      } else metrics = { address: addr, port: p };
    }
  }
  return {
    listen,
    port,
    nattPort,
    log: { level, areas, format },
    keylog: pathValue('keylog'),
    controlSocket: pathValue('control_socket') ?? DEFAULT_CONTROL_SOCKET,
    dataplane: get('dataplane', (n, p) => oneOf(ctx, n, p, ['none', 'xfrm'] as const), 'none'),
    updown: pathValue('updown'),
    metrics,
    maxHalfOpen: get('max_half_open', (n, p) => integer(ctx, n, p, 1, 1_000_000), 2048),
    maxHalfOpenPerPeer: get('max_half_open_per_peer', (n, p) => integer(ctx, n, p, 1, 1_000_000), 32),
    shutdownGrace: get('shutdown_grace', (n, p) => duration(ctx, n, p), 2),
    trafficPoll: get('traffic_poll', (n, p) => secondsBetween1sAnd1h(ctx, n, p, false), 10),
    natKeepalive: get('nat_keepalive', (n, p) => secondsBetween1sAnd1h(ctx, n, p, true), 20),
  };
}

function parsePsk(text: string): Uint8Array {
  if (/^0x([0-9a-fA-F]{2})+$/.test(text)) return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
  return new TextEncoder().encode(text);
}

function parseSecrets(ctx: Ctx, node: Node | null | undefined): Map<string, Secret> {
  const out = new Map<string, Secret>();
  const e = entries(ctx, node, 'secrets', []) ?? new Map();
  for (const [name, { value }] of e) {
    const path = `secrets.${name}`;
    const se = entries(ctx, value, path, ['psk', 'cert', 'key', 'ca', 'crls']);
    if (se === undefined) continue;
    const psk = se.get('psk');
    if (psk !== undefined) {
      if (se.size > 1) ctx.error(value, path, `a secret is either psk, or cert + key (+ ca): not both`);
      const s = scalarString(ctx, psk.value, `${path}.psk`);
      if (s !== undefined) {
        if (s.length === 0) ctx.error(psk.value, `${path}.psk`, 'the pre-shared key is empty');
        else out.set(name, { kind: 'psk', name, psk: parsePsk(s) });
      }
      continue;
    }
    const cert = se.get('cert');
    const key = se.get('key');
    if (cert === undefined || key === undefined) {
      ctx.error(value, path, `give either psk: SECRET, or cert: FILE and key: FILE (plus ca: FILE or a list)`);
      continue;
    }
    const load = <T>(n: Node | null, p: string, what: string, f: (pem: Buffer) => T): { path: string; value: T } | undefined => {
      const s = scalarString(ctx, n, p);
      if (s === undefined) return undefined;
      const full = resolvePath(ctx, s);
      let buf: Buffer;
      try {
        buf = readFileSync(full);
      } catch (err) {
        ctx.error(n, p, `cannot read ${what} '${full}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        return undefined;
      }
      try {
        return { path: full, value: f(buf) };
      } catch (err) {
        ctx.error(n, p, `'${full}' is not a usable ${what} (PEM or DER): ${(err as Error).message}`);
        return undefined;
      }
    };
    const c = load(cert.value, `${path}.cert`, 'certificate', (b) => new X509Certificate(b));
    const k = load(key.value, `${path}.key`, 'private key', (b) => createPrivateKey(b));
    const cas: { path: string; value: X509Certificate }[] = [];
    const ca = se.get('ca');
    if (ca !== undefined) {
      for (const item of stringList(ctx, ca.value, `${path}.ca`) ?? []) {
        const r = load(item.node, `${path}.ca`, 'CA certificate', () => new X509Certificate(readFileSync(resolvePath(ctx, item.text))));
        if (r !== undefined) cas.push(r);
      }
    }
    // crls: complete CRLs of the CAs (see src/daemon/crl-files.ts)
    const crlPaths: string[] = [];
    const crls: CertificateRevocationList[] = [];
    const crlNode = se.get('crls');
    if (crlNode !== undefined) {
      for (const item of stringList(ctx, crlNode.value, `${path}.crls`) ?? []) {
        const full = resolvePath(ctx, item.text);
        const r = readCrlFile(full);
        if (!r.ok) {
          ctx.error(item.node, `${path}.crls`, r.error);
          continue;
        }
        for (const crl of r.crls) {
          const bad = crlIssuerMismatch(crl, cas, full);
          if (bad !== undefined) ctx.error(item.node, `${path}.crls`, bad);
          else {
            crls.push(crl);
            crlPaths.push(full);
          }
        }
      }
    }
    if (c !== undefined && k !== undefined) {
      const pub = createPublicKey(k.value).export({ type: 'spki', format: 'der' });
      const certPub = c.value.publicKey.export({ type: 'spki', format: 'der' });
      if (!pub.equals(certPub)) {
        ctx.error(key.value, `${path}.key`, `the private key does not belong to the certificate '${c.path}'`);
        continue;
      }
      if (k.value.asymmetricKeyType !== 'rsa') {
        ctx.error(key.value, `${path}.key`, `only RSA keys are supported (this one is ${k.value.asymmetricKeyType ?? 'unknown'})`);
        continue;
      }
      out.set(name, {
        kind: 'rsa',
        name,
        certPath: c.path,
        keyPath: k.path,
        caPaths: cas.map((x) => x.path),
        cert: c.value,
        key: k.value,
        cas: cas.map((x) => x.value),
        crlPaths,
        crls,
      });
    }
  }
  return out;
}

const CONN_KEYS = [
  'mode',
  'auth',
  'secret',
  'local',
  'remote',
  'ike',
  'esp',
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
  'start',
  'allow_weak_groups',
  'allow_aggressive_psk_responder',
  'nat_traversal',
  'encap',
  'dpd_delay',
  'dpd_timeout',
  'dpd_action',
] as const;

function parseConnection(ctx: Ctx, name: string, keyNode: Node, node: Node | null, g: GlobalConfig, secrets: Map<string, Secret>): ConnectionConfig | undefined {
  const path = `connections.${name}`;
  const before = ctx.problems.length;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    ctx.error(keyNode, path, `connection names are 1-64 letters, digits, '_', '.', '-' (starting with a letter or digit)`);
  }
  const e = entries(ctx, node, path, CONN_KEYS);
  if (e === undefined) return undefined;
  const req = (key: string): { key: Node; value: Node | null } | undefined => {
    const v = e.get(key);
    if (v === undefined) ctx.error(node, path, `missing '${key}'`);
    return v;
  };
  const opt = <T>(key: string, f: (n: Node | null, p: string) => T | undefined, dflt: T): T => {
    const v = e.get(key);
    if (v === undefined) return dflt;
    return f(v.value, join(path, key)) ?? dflt;
  };
  const allowWeakGroups = opt('allow_weak_groups', (n, p) => bool(ctx, n, p), false);
  const allowAggressivePskResponder = opt('allow_aggressive_psk_responder', (n, p) => bool(ctx, n, p), false);
  const natTraversal = opt('nat_traversal', (n, p) => bool(ctx, n, p), true);
  const encap = opt('encap', (n, p) => bool(ctx, n, p), false);
  const dpdDelay = opt('dpd_delay', (n, p) => duration(ctx, n, p), 30);
  const dpdTimeout = opt('dpd_timeout', (n, p) => duration(ctx, n, p), 150);
  const dpdAction = opt('dpd_action', (n, p) => oneOf(ctx, n, p, ['clear', 'restart'] as const), 'clear');
  if (dpdDelay > 0 && dpdTimeout <= dpdDelay) ctx.error(e.get('dpd_timeout')?.value ?? node, `${path}.dpd_timeout`, `must be longer than dpd_delay (${dpdDelay}s)`);
  const exchange = opt('mode', (n, p) => oneOf(ctx, n, p, ['main', 'aggressive'] as const), 'main');
  const auth = opt('auth', (n, p) => oneOf(ctx, n, p, ['psk', 'rsa'] as const), 'psk');

  // secret
  let secret: Secret | undefined;
  const se = req('secret');
  if (se !== undefined) {
    const s = scalarString(ctx, se.value, `${path}.secret`);
    if (s !== undefined) {
      secret = secrets.get(s);
      if (secret === undefined) {
        const known = [...secrets.keys()];
        ctx.error(se.value, `${path}.secret`, `no secret named '${s}' in the secrets section${known.length ? ` (defined: ${known.join(', ')})` : ''}`);
      } else if ((auth === 'psk') !== (secret.kind === 'psk')) {
        ctx.error(se.value, `${path}.secret`, auth === 'psk' ? `auth: psk needs a secret with psk:, '${s}' has a certificate` : `auth: rsa needs a secret with cert: and key:, '${s}' is a psk`);
        secret = undefined;
      }
    }
  }

  // endpoints
  const endpoint = (key: 'local' | 'remote'): { address: string | undefined; port: number; id: Identity | undefined; node: Node | null } => {
    const p = `${path}.${key}`;
    const v = key === 'remote' ? req(key) : e.get(key);
    const out = { address: undefined as string | undefined, port: g.port, id: undefined as Identity | undefined, node: v?.value ?? null };
    if (v === undefined) return out;
    const ee = entries(ctx, v.value, p, key === 'remote' ? ['address', 'port', 'id'] : ['address', 'id']);
    if (ee === undefined) return out;
    const a = ee.get('address');
    if (a !== undefined) {
      const s = scalarString(ctx, a.value, `${p}.address`);
      if (s !== undefined) {
        if (s === '%any' && key === 'remote') out.address = s;
        else if (isIP(s) === 0) ctx.error(a.value, `${p}.address`, `'${s}' is not an IP address${key === 'remote' ? ' (or %any for a responder-only connection)' : ''}`);
        else out.address = s;
      }
    } else if (key === 'remote') ctx.error(v.value, p, `missing 'address' (the peer's IP address)`);
    const po = ee.get('port');
    if (po !== undefined) out.port = integer(ctx, po.value, `${p}.port`, 1, 65535) ?? out.port;
    const id = ee.get('id');
    if (id !== undefined) {
      const s = scalarString(ctx, id.value, `${p}.id`);
      if (s === '%any' && key === 'remote') out.id = ANY_IDENTITY;
      else if (s !== undefined) {
        const r = parseIdentity(s);
        if (r.ok) out.id = r.value;
        else ctx.error(id.value, `${p}.id`, r.error);
      }
    }
    return out;
  };
  const local = endpoint('local');
  const remote = endpoint('remote');
  const anyPeer = remote.address === '%any';
  if (local.address !== undefined && remote.address !== undefined && !anyPeer && isIP(local.address) !== isIP(remote.address)) {
    ctx.error(local.node, `${path}.local.address`, `local ${local.address} and remote ${remote.address} are not the same IP version`);
  }
  // Default identities: the addresses (psk), the certificate's subject (rsa).
  let localId = local.id;
  if (localId === undefined && auth === 'rsa' && secret?.kind === 'rsa') {
    localId = { type: IdType.ID_DER_ASN1_DN, data: certSubjectDer(secret.cert.raw), text: secret.cert.subject.split('\n').join(', ') };
  } else if (localId === undefined && local.address !== undefined && auth === 'psk') {
    localId = parseIdentity(local.address).ok ? (parseIdentity(local.address) as { value: Identity }).value : undefined;
  }
  let remoteId = remote.id;
  if (anyPeer && remoteId === undefined) {
    ctx.error(remote.node, `${path}.remote.id`, `with address %any give the identity the peers must prove (id: "%any" accepts any)`);
  }
  if (remoteId === undefined && remote.address !== undefined && !anyPeer && auth === 'psk') {
    const r = parseIdentity(remote.address);
    if (r.ok) remoteId = r.value;
  }
  if (auth === 'psk' && localId === undefined) {
    ctx.error(node, `${path}.local`, `set local.address (our address, also our default identity) or local.id: with a wildcard listen address we cannot tell which identity to show`);
  }

  // proposals
  const ike: IkeProposal[] = [];
  const ikeNode = req('ike');
  if (ikeNode !== undefined) {
    for (const item of stringList(ctx, ikeNode.value, `${path}.ike`) ?? []) {
      const r = parseIkeProposal(item.text, { allowWeakGroups });
      if (r.ok) ike.push(r.value);
      else ctx.error(item.node, `${path}.ike`, r.error);
    }
    if (ike.length === 0 && ctx.problems.length === before) ctx.error(ikeNode.value, `${path}.ike`, 'give at least one proposal, e.g. aes128-sha256-modp2048');
  }
  if (exchange === 'aggressive' && new Set(ike.map((p) => p.group)).size > 1) {
    ctx.error(ikeNode?.value, `${path}.ike`, 'aggressive mode sends its KE in the first message, so all proposals must use the same DH group');
  }
  let pfsGroup: number | undefined | null = null; // null = not given
  const pfsNode = e.get('pfs');
  if (pfsNode !== undefined) {
    const s = scalarString(ctx, pfsNode.value, `${path}.pfs`);
    if (s !== undefined) {
      if (s === 'none' || s === 'no' || s === 'false') pfsGroup = undefined;
      else {
        const r = parseEspProposal(`aes128-sha1-${s}`, { allowWeakGroups });
        if (r.ok) pfsGroup = r.value.group;
        else ctx.error(pfsNode.value, `${path}.pfs`, `'${s}' is not a DH group (write none, modp2048, ecp256, ...)` + (r.error.includes('weak') ? ': ' + r.error : ''));
      }
    }
  }
  const esp: EspProposal[] = [];
  const espNode = e.get('esp');
  const espItems = espNode !== undefined ? stringList(ctx, espNode.value, `${path}.esp`) ?? [] : [{ text: 'aes128-sha256', node: node as Node }, { text: 'aes256-sha256', node: node as Node }];
  for (const item of espItems) {
    const r = parseEspProposal(item.text, { allowWeakGroups });
    if (!r.ok) {
      ctx.error(item.node, `${path}.esp`, r.error);
      continue;
    }
    let p = r.value;
    if (pfsGroup !== null) {
      if (p.group !== undefined && p.group !== pfsGroup) {
        ctx.error(item.node, `${path}.esp`, `'${item.text}' names a PFS group that differs from pfs: (drop the group here, or make them agree)`);
        continue;
      }
      if (p.group === undefined && pfsGroup !== undefined) p = { ...p, group: pfsGroup, text: `${p.text}-${groupName(pfsGroup)}` };
    }
    esp.push(p);
  }
  if (espNode !== undefined && esp.length === 0 && espItems.length === 0) ctx.error(espNode.value, `${path}.esp`, 'give at least one proposal, e.g. aes128-sha256');
  if (new Set(esp.map((p) => p.group ?? 0)).size > 1) {
    ctx.error(espNode?.value ?? node, `${path}.esp`, 'all ESP proposals must agree on the PFS group (Quick Mode sends one KE)');
  }

  // selectors
  const selectors = (key: 'local_ts' | 'remote_ts', dfltAddr: string | undefined): TrafficSelector[] => {
    const v = e.get(key);
    if (v === undefined) {
      if (dfltAddr === undefined) return [];
      const r = parseTrafficSelector(dfltAddr);
      return r.ok ? [r.value] : [];
    }
    const out: TrafficSelector[] = [];
    for (const item of stringList(ctx, v.value, `${path}.${key}`) ?? []) {
      const r = parseTrafficSelector(item.text);
      if (r.ok) out.push(r.value);
      else ctx.error(item.node, `${path}.${key}`, r.error);
    }
    if (out.length > 1) ctx.error(v.value, `${path}.${key}`, 'IKEv1 Quick Mode carries one selector per side: give exactly one');
    return out;
  };
  const localTs = selectors('local_ts', local.address);
  const remoteTs = selectors('remote_ts', anyPeer ? undefined : remote.address);
  if (localTs[0] !== undefined && remoteTs[0] !== undefined && localTs[0].family !== remoteTs[0].family) {
    ctx.error(e.get('local_ts')?.value ?? node, `${path}.local_ts`, 'local_ts and remote_ts must be the same IP version');
  }
  const ipsecMode = opt('ipsec_mode', (n, p) => oneOf(ctx, n, p, ['tunnel', 'transport'] as const), 'tunnel');

  const ikeLifetime = opt('ike_lifetime', (n, p) => duration(ctx, n, p), 4 * 3600);
  const ikeRekeyMargin = opt('ike_rekey_margin', (n, p) => duration(ctx, n, p), 9 * 60);
  const lifetime = opt('lifetime', (n, p) => duration(ctx, n, p), 3600);
  const rekeyMargin = opt('rekey_margin', (n, p) => duration(ctx, n, p), 9 * 60);
  const lifetimeKb = opt('lifetime_kb', (n, p) => integer(ctx, n, p, 1, 2 ** 32 - 1), undefined as number | undefined);
  const rekeyFuzz = opt('rekey_fuzz', (n, p) => integer(ctx, n, p, 0, 100), 100);
  if (ikeRekeyMargin >= ikeLifetime) ctx.error(e.get('ike_rekey_margin')?.value ?? node, `${path}.ike_rekey_margin`, `must be shorter than ike_lifetime (${ikeLifetime}s)`);
  if (rekeyMargin >= lifetime) ctx.error(e.get('rekey_margin')?.value ?? node, `${path}.rekey_margin`, `must be shorter than lifetime (${lifetime}s)`);
  if (ikeLifetime < 60) ctx.error(e.get('ike_lifetime')?.value ?? node, `${path}.ike_lifetime`, 'must be at least 60s');
  if (lifetime < 30) ctx.error(e.get('lifetime')?.value ?? node, `${path}.lifetime`, 'must be at least 30s');
  const start = opt('start', (n, p) => oneOf(ctx, n, p, ['add', 'start', 'on-demand'] as const), 'add');
  if (anyPeer && start !== 'add') ctx.error(e.get('start')?.value ?? node, `${path}.start`, `a connection to %any can only answer: use start: add`);
  if (start === 'on-demand' && g.dataplane !== 'xfrm') {
    ctx.error(e.get('start')?.value ?? node, `${path}.start`, `on-demand needs the kernel to report traffic: set global.dataplane: xfrm (or use start: add / start)`);
  }

  if (ctx.problems.length !== before || secret === undefined || remote.address === undefined) return undefined;
  const conn: Omit<ConnectionConfig, 'fingerprint'> = {
    name,
    line: ctx.pos(keyNode).line,
    exchange,
    auth,
    secret,
    local: { address: local.address, id: localId },
    remote: { address: remote.address, port: remote.port, id: remoteId },
    ike,
    esp,
    ipsecMode,
    localTs,
    remoteTs,
    ikeLifetime,
    ikeRekeyMargin,
    lifetime,
    lifetimeKb,
    rekeyMargin,
    rekeyFuzz,
    start,
    allowWeakGroups,
    allowAggressivePskResponder,
    natTraversal,
    encap,
    dpdDelay,
    dpdTimeout,
    dpdAction,
  };
  return { ...conn, fingerprint: fingerprintOf(conn) };
}

function fingerprintOf(conn: Omit<ConnectionConfig, 'fingerprint' | 'line'> & { line?: number }): string {
  const { line: _line, secret, ...rest } = conn;
  void _line;
  const sec =
    secret.kind === 'psk'
      ? { kind: 'psk', psk: Buffer.from(secret.psk).toString('hex') }
      : { kind: 'rsa', cert: secret.cert.fingerprint256, key: secret.keyPath, cas: secret.cas.map((c) => c.fingerprint256) };
  return JSON.stringify({ ...rest, secret: sec }, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/** Parses configuration text. `file` is used in messages and to resolve relative paths. */
export function parseConfig(text: string, file: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const ctx = new Ctx(file, lines, dirname(resolve(file)));
  for (const err of doc.errors) {
    const p = lines.linePos(err.pos[0]);
    ctx.problems.push({ file, line: p.line, col: p.col, path: '', message: `YAML syntax: ${err.message.split('\n')[0]}` });
  }
  if (ctx.problems.length > 0) throw new ConfigError(ctx.problems);
  const root = doc.contents as Node | null;
  if (root === null) {
    throw new ConfigError([{ file, line: 1, col: 1, path: '', message: 'the file is empty (it needs at least a connections: section)' }]);
  }
  const top = entries(ctx, root, '', ['global', 'secrets', 'connections']);
  if (top === undefined) throw new ConfigError(ctx.problems);
  const global = parseGlobal(ctx, top.get('global')?.value);
  const secrets = parseSecrets(ctx, top.get('secrets')?.value);
  const connections: ConnectionConfig[] = [];
  const ce = entries(ctx, top.get('connections')?.value, 'connections', []) ?? new Map();
  for (const [name, { key, value }] of ce) {
    const c = parseConnection(ctx, name, key, value, global, secrets);
    if (c !== undefined) connections.push(c);
  }
  // Two connections for the same peer and exchange would be ambiguous for a responder.
  const seen = new Map<string, string>();
  for (const c of connections) {
    const id = c.remote.id?.type === IdType.ID_DER_ASN1_DN ? dnKey(c.remote.id.data) : c.remote.id?.text ?? ''; // DNs by RFC 5280 rules
    const k = `${c.remote.address}|${c.remote.port}|${c.exchange}|${c.auth}|${id}`;
    const other = seen.get(k);
    if (other !== undefined) {
      ctx.problems.push({ file, line: c.line, col: 3, path: `connections.${c.name}`, message: `same peer, mode, auth and remote id as connection '${other}': a responder could not tell them apart (give one a different remote.id)` });
    } else seen.set(k, c.name);
  }
  if (ctx.problems.length > 0) throw new ConfigError(ctx.problems);
  return { file, global, secrets, connections };
}

/** Reads and parses a configuration file. Throws ConfigError (code ISAKMP_ERR_CONFIG). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const hint = code === 'ENOENT' ? ' (write one, see docs/config.md and examples/, or pass --config FILE)' : code === 'EACCES' ? ' (not readable by this user)' : '';
    throw new ConfigError([{ file, line: 0, col: 0, path: '', message: `cannot read the configuration file: ${code}${hint}` }]);
  }
  return parseConfig(text, file);
}
