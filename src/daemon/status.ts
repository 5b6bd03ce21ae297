/**
 * What `isakmp status` shows: the JSON-safe records of the daemon's connections and SAs (no key
 * material), built from the engine's SA lists, the daemon's own SA states (sa-states.ts) and the
 * dataplane's records; and the text forms of selectors, identities and algorithms that the logs
 * share with it.
 */
import { toHex } from '../crypto/bytes.js';
import { keyIdText, localSelectorsOf } from '../exchange/ids.js';
import { ikeTransformName, ipsecTransformName } from '../exchange/names.js';
import { selectorText as engineSelectorText } from '../exchange/offer-text.js';
import { modeName } from '../exchange/natt.js';
import type { ConnectionConfig } from './config/index.js';
import type { RemoteAccessStatus } from './remote-access-status.js';
import type { Dataplane } from './dataplane.js';
import type { Connection, EndpointLike, IpsecSaInfo, IsakmpSaInfo, Selector } from './engine.js';
import type { CounterSnapshot } from './counters.js';
import type { SaStates } from './sa-states.js';

/** At most this many SAs of each kind are listed by `status` (the counts are always complete). */
export const MAX_STATUS_SAS = 20_000;

/** A selector as the configuration writes it (the engine's one text, src/exchange/offer-text.ts). */
export function selectorText(s: Selector): string {
  return engineSelectorText(s);
}

/** A time of the daemon's clock (Unix ms) as ISO 8601, seconds precision. */
function isoTime(ms: number): string {
  return new Date(Math.round(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export function peerIdText(id: IsakmpSaInfo['peerId']): string | undefined {
  if (id === undefined) return undefined;
  if (id.type === 'der-asn1-dn') return `dn:${toHex(id.value)}`;
  if (id.type === 'key-id') return keyIdText(id.value);
  if (id.type === 'any') return 'any';
  if (id.type === 'other') return `type${id.idType}:${toHex(id.data)}`;
  return id.value;
}

/** Algorithm names for status and logs, from the proposal syntax's own tables (src/exchange/names.ts). */
export function ikeAlgText(t: IsakmpSaInfo['transform']): string | undefined {
  return t === undefined ? undefined : ikeTransformName(t);
}

export function espAlgText(sa: IpsecSaInfo): string {
  return sa.protocols.map((p) => ipsecTransformName(p, sa.group)).join(' + ');
}

/** JSON-safe summary of an ISAKMP SA for `status` (no key material). */
export interface IsakmpSaStatus {
  id: string;
  connection: string;
  role: string;
  exchange: string;
  state: string;
  local: string;
  remote: string;
  initiatorCookie: string;
  responderCookie: string;
  /** Our phase-1 identity (as configured; the engine's default is our address). */
  localId?: string;
  peerId?: string;
  algorithms?: string;
  /** When it was established (ISO 8601) and how long ago (seconds). */
  establishedAt?: string;
  age?: number;
  lifetimeLeft?: number;
  /** Seconds until we rekey it (only on the side that rekeys: the initiator). */
  rekeyIn?: number;
  /** RFC 3947 NAT detection once NAT-D was exchanged: a NAT in front of us / of the peer; `encapsulation`: moved to the NAT-T port, IPsec SAs UDP-encapsulated. */
  nat?: { local: boolean; remote: boolean; encapsulation: boolean };
  /** Remote access (XAUTH / Mode Config): the XAUTH user, the virtual address, the attribute names sent (gateway) or received (client). */
  remoteAccess?: RemoteAccessStatus;
}

/**
 * The state of an IPsec SA as `status` shows it:
 *   installing      Quick Mode done, the dataplane is installing it
 *   established     in use (installed, or recorded by the `none` adapter)
 *   failed-install  the dataplane refused it (see `dataplane`); the IKE side is up
 *   expiring        its soft lifetime (seconds or kilobytes) was reached: being rekeyed / about to expire
 *   rekeyed         replaced by a newer SA, waiting for its Delete or hard expiry
 */
export type IpsecSaState = 'installing' | 'established' | 'failed-install' | 'expiring' | 'rekeyed';

export interface IpsecSaStatus {
  id: string;
  isakmpSa: string;
  connection: string;
  role: string;
  /** 'tunnel' or 'transport'. */
  mode: string;
  /** ESP in UDP on the NAT-T port (RFC 3948): a NAT was detected, or encapsulation forced. */
  udpEncapsulation: boolean;
  /** With `udpEncapsulation`: the UDP ports ESP goes between (ours, the peer's: a NAT's port, moved when its mapping changes). */
  udpEncapsulationPorts?: { local: number; remote: number };
  local: string;
  remote: string;
  localTs: string;
  remoteTs: string;
  spiIn: string;
  spiOut: string;
  state: IpsecSaState;
  algorithms: string;
  /** When it was established (ISO 8601) and how long ago (seconds). */
  establishedAt: string;
  age: number;
  /** Seconds until hard expiry. */
  lifetimeLeft: number;
  /** Seconds until we rekey it (only on the side that rekeys: the initiator). */
  rekeyIn?: number;
  /** Kilobyte lifetime (0 = none). */
  lifetimeKilobytes: number;
  /** Kilobytes until hard expiry, when there is a kilobyte lifetime and the byte count is known. */
  kilobytesLeft?: number;
  /** Bytes through the SA (both directions) as the dataplane last reported them; null where not known (`none`). */
  bytes: number | null;
  dataplane?: string;
}

/** One address of a Mode Config pool held by a client: its connection, the identity it proved and the XAUTH user. */
export interface PoolLeaseStatus {
  connection: string;
  address: string;
  identity: string;
  user?: string;
}

export interface StatusData {
  connections: { name: string; start: string; remote: string; exchange: string; auth: string }[];
  /** Phase-1 exchanges in progress (half-open), by role; responder ones are counted, not listed. */
  negotiating: { initiator: number; responder: number };
  /** True when more SAs exist than MAX_STATUS_SAS per kind (the lists are cut). */
  truncated: boolean;
  isakmp: IsakmpSaStatus[];
  ipsec: IpsecSaStatus[];
  counters: CounterSnapshot;
  dataplane: string;
  listening: { address: string; port: number; natt: boolean }[];
  /** The leases of the gateway's address pools (Mode Config), present when a connection has a pool: each address with its holder. */
  leases?: PoolLeaseStatus[];
  /** This process: memory (bytes) and CPU time (ms) so far. */
  process: { rss: number; heapUsed: number; cpuUserMs: number; cpuSystemMs: number; uptimeS: number };
}

/** One IPsec SA as `status` (and the answer to `isakmp up`) shows it; `rekeyAt` from the engine. */
export function ipsecSaStatus(sa: IpsecSaInfo, now: number, state: IpsecSaState, bytes: number | null, rekeyAt?: number): IpsecSaStatus {
  const p = sa.protocols[0];
  return {
    id: sa.id,
    isakmpSa: sa.isakmpSa,
    connection: sa.connection,
    role: sa.role,
    mode: modeName(sa.mode),
    udpEncapsulation: sa.udpEncapsulation === true,
    ...(sa.udpEncapsulation === true ? { udpEncapsulationPorts: { local: sa.local.port, remote: sa.remote.port } } : {}),
    local: sa.local.address,
    remote: sa.remote.address,
    localTs: localSelectorsOf(sa).map(selectorText).join(', '),
    remoteTs: selectorText(sa.remoteTs),
    spiIn: p ? toHex(p.inbound.spi) : '',
    spiOut: p ? toHex(p.outbound.spi) : '',
    state,
    algorithms: espAlgText(sa),
    establishedAt: isoTime(sa.establishedAt),
    age: Math.max(0, Math.round((now - sa.establishedAt) / 1000)),
    lifetimeLeft: Math.max(0, Math.round(sa.lifetimeSeconds - (now - sa.establishedAt) / 1000)),
    ...(rekeyAt !== undefined ? { rekeyIn: Math.max(0, Math.round((rekeyAt - now) / 1000)) } : {}),
    lifetimeKilobytes: sa.lifetimeKilobytes,
    ...(bytes !== null && sa.lifetimeKilobytes > 0 ? { kilobytesLeft: Math.max(0, sa.lifetimeKilobytes - Math.floor(bytes / 1024)) } : {}),
    bytes,
  };
}

/**
 * Our phase-1 identity per connection as `status` shows it (peer IDs use the same form), kept
 * until the next reload; the engine's default, our address, where none is configured.
 */
export class LocalIdTexts {
  private readonly byConnection = new Map<string, string | undefined>();
  constructor(private readonly toEngine: (c: ConnectionConfig) => Connection) {}

  text(connections: readonly ConnectionConfig[], connection: string, localAddress: string): string {
    if (!this.byConnection.has(connection)) {
      const c = connections.find((x) => x.name === connection);
      let text: string | undefined;
      try {
        text = c?.local.id !== undefined ? peerIdText(this.toEngine(c).localId) : undefined;
      } catch {
        text = c?.local.id?.text;
      }
      if (this.byConnection.size > 4096) this.byConnection.clear();
      this.byConnection.set(connection, text);
    }
    return this.byConnection.get(connection) ?? localAddress;
  }

  clear(): void {
    this.byConnection.clear();
  }
}

/** Everything `status` reads, handed over by the daemon. */
export interface StatusSources {
  readonly now: number;
  readonly connections: readonly ConnectionConfig[];
  readonly endpoint: EndpointLike;
  readonly dataplane: Dataplane;
  readonly sas: SaStates;
  readonly localIds: LocalIdTexts;
  readonly counters: CounterSnapshot;
  readonly listening: { address: string; port: number; natt: boolean }[];
  /** Remote-access facts of an ISAKMP SA (modecfg-events.ts), if any. */
  readonly remoteAccess?: (isakmpSa: string) => RemoteAccessStatus | undefined;
  /** The pools' leases (modecfg-events.ts), when the daemon has pools. */
  readonly leases?: () => readonly PoolLeaseStatus[];
}

function remoteAccessOf(src: StatusSources, id: string): { remoteAccess?: RemoteAccessStatus } {
  const ra = src.remoteAccess?.(id);
  return ra !== undefined ? { remoteAccess: ra } : {};
}

export function buildStatus(src: StatusSources): StatusData {
  const { now, sas } = src;
  const dp = new Map(src.dataplane.records().map((r) => [r.id, r.status]));
  const all = src.endpoint.isakmpSas();
  const negotiating = { initiator: 0, responder: 0 };
  for (const s of all) if (s.state === 'negotiating') negotiating[s.role]++;
  // engine shards list established SAs only: their half-open count comes from their stats
  negotiating.responder = Math.max(negotiating.responder, src.endpoint.stats?.().halfOpen ?? 0);
  // Half-open responder state is what a flood creates: count it, do not list it.
  const listed = all.filter((s) => !(s.state === 'negotiating' && s.role === 'responder'));
  const ipsecAll = src.endpoint.ipsecSas();
  const truncated = listed.length > MAX_STATUS_SAS || ipsecAll.length > MAX_STATUS_SAS;
  return {
    connections: src.connections.map((c) => ({ name: c.name, start: c.start, remote: `${c.remote.address}:${c.remote.port}`, exchange: c.exchange, auth: c.auth })),
    negotiating,
    truncated,
    isakmp: listed.slice(0, MAX_STATUS_SAS).map((s) => ({
      id: s.id,
      connection: s.connection,
      role: s.role,
      exchange: s.exchange,
      state: s.state === 'established' ? sas.isakmpState(s.id) ?? s.state : s.state,
      local: `${s.local.address}:${s.local.port}`,
      remote: `${s.remote.address}:${s.remote.port}`,
      initiatorCookie: toHex(s.initiatorCookie),
      responderCookie: toHex(s.responderCookie),
      localId: src.localIds.text(src.connections, s.connection, s.local.address),
      ...(s.peerId !== undefined ? { peerId: peerIdText(s.peerId) as string } : {}),
      ...(s.transform !== undefined ? { algorithms: ikeAlgText(s.transform) as string } : {}),
      ...(s.establishedAt !== undefined ? { establishedAt: isoTime(s.establishedAt), age: Math.max(0, Math.round((now - s.establishedAt) / 1000)) } : {}),
      ...(s.expiresAt !== undefined ? { lifetimeLeft: Math.max(0, Math.round((s.expiresAt - now) / 1000)) } : {}),
      ...rekeyIn(src.endpoint, s.id, now),
      ...(s.nat !== undefined ? { nat: { ...s.nat } } : {}),
      ...remoteAccessOf(src, s.id),
    })),
    ipsec: ipsecAll.slice(0, MAX_STATUS_SAS).map((s) => {
      const st = { ...sas.statusOf(s, now), ...rekeyIn(src.endpoint, s.id, now) };
      const d = dp.get(s.id);
      return d !== undefined ? { ...st, dataplane: d } : st;
    }),
    counters: src.counters,
    dataplane: src.dataplane.name,
    listening: src.listening,
    ...leasesOf(src),
    process: processFigures(),
  };
}

/** `{ leases }` when the daemon has address pools (at most MAX_STATUS_SAS listed), else nothing. */
function leasesOf(src: StatusSources): { leases?: PoolLeaseStatus[] } {
  const all = src.leases?.();
  return all !== undefined && all.length > 0 ? { leases: all.slice(0, MAX_STATUS_SAS).map((l) => ({ ...l })) } : {};
}

/** `{ rekeyIn }` (seconds) when the engine will rekey the SA, else nothing. */
function rekeyIn(endpoint: EndpointLike, id: string, now: number): { rekeyIn?: number } {
  const at = endpoint.rekeyAt?.(id);
  return at !== undefined ? { rekeyIn: Math.max(0, Math.round((at - now) / 1000)) } : {};
}

/**
 * `status NAME`: one connection, its IPsec SAs and the ISAKMP SAs that carry them (several
 * connections to one peer share one), the counters as they are (they are the daemon's).
 */
export function statusOfConnection(d: StatusData, name: string): StatusData {
  const ipsec = d.ipsec.filter((q) => q.connection === name);
  const carriers = new Set(ipsec.map((q) => q.isakmpSa));
  return {
    ...d,
    connections: d.connections.filter((c) => c.name === name),
    isakmp: d.isakmp.filter((s) => s.connection === name || carriers.has(s.id)),
    ipsec,
    ...(d.leases !== undefined ? { leases: d.leases.filter((l) => l.connection === name) } : {}),
  };
}

function processFigures(): StatusData['process'] {
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, cpuUserMs: Math.round(c.user / 1000), cpuSystemMs: Math.round(c.system / 1000), uptimeS: Math.round(process.uptime()) };
}

/** SAs by kind and state for the counters: the engine's ISAKMP states, the daemon's IPsec states. */
export function saCounts(endpoint: EndpointLike, sas: SaStates): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of endpoint.isakmpSas()) out[`isakmp:${s.state}`] = (out[`isakmp:${s.state}`] ?? 0) + 1;
  for (const s of endpoint.ipsecSas()) {
    const k = `ipsec:${sas.ipsecState(s.id)}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** One connection's SAs for the metrics: counts by `kind:state`, the least lifetime left, up or not. */
export interface ConnectionFigures {
  readonly connection: string;
  readonly sas: Readonly<Record<string, number>>;
  /** Seconds until the first established SA of each kind reaches its lifetime. */
  readonly lifetimeLeft: Readonly<Partial<Record<'isakmp' | 'ipsec', number>>>;
  /** An IPsec SA of the connection is established. */
  readonly up: boolean;
}

/**
 * Per connection, from the same states as `status` (the engine's ISAKMP states, the daemon's
 * IPsec states): every configured connection, and any other that still has SAs after a reload.
 */
export function connectionFigures(connections: readonly ConnectionConfig[], endpoint: EndpointLike, sas: SaStates, now: number): ConnectionFigures[] {
  type F = { connection: string; sas: Record<string, number>; lifetimeLeft: Partial<Record<'isakmp' | 'ipsec', number>>; up: boolean };
  const by = new Map<string, F>(connections.map((c) => [c.name, { connection: c.name, sas: {}, lifetimeLeft: {}, up: false }]));
  const of = (name: string): F => {
    let f = by.get(name);
    if (f === undefined) by.set(name, (f = { connection: name, sas: {}, lifetimeLeft: {}, up: false }));
    return f;
  };
  const least = (f: F, kind: 'isakmp' | 'ipsec', left: number): void => {
    const v = Math.max(0, Math.round(left));
    f.lifetimeLeft[kind] = Math.min(f.lifetimeLeft[kind] ?? v, v);
  };
  for (const s of endpoint.isakmpSas()) {
    const f = of(s.connection);
    f.sas[`isakmp:${s.state}`] = (f.sas[`isakmp:${s.state}`] ?? 0) + 1;
    if (s.state === 'established' && s.expiresAt !== undefined) least(f, 'isakmp', (s.expiresAt - now) / 1000);
  }
  for (const s of endpoint.ipsecSas()) {
    const f = of(s.connection);
    const state = sas.ipsecState(s.id);
    f.sas[`ipsec:${state}`] = (f.sas[`ipsec:${state}`] ?? 0) + 1;
    if (state === 'established') {
      f.up = true;
      least(f, 'ipsec', s.lifetimeSeconds - (now - s.establishedAt) / 1000);
    }
  }
  return [...by.values()];
}
