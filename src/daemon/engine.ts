/**
 * The daemon's view of the sans-IO engine, and the mapping from the configuration file to the
 * engine's `Connection` records. The driver is written against `EndpointLike`, so it can be tested
 * with a small fake endpoint; the real `Endpoint` of src/exchange satisfies it.
 */
import { receivingAddressIn, type ReceivingTable } from './shards/receiving.js';
import type { DataAttribute } from '../codec/types.js';
import { ProtocolId, EncapsulationMode, IdType } from '../constants/index.js';
import type {
  Address,
  Connection,
  EndpointOptions,
  EngineEvent,
  Identity as EngineIdentity,
  IpsecSaInfo,
  InitiateResult,
  IsakmpSaInfo,
  Selector,
  Transmit,
} from '../exchange/types.js';
import { isIP } from 'node:net';
import { ConfigError, CONFIG_ERROR_CODE, type ConfigIdentity, type ConfigProblem, type ConnectionConfig, type GlobalConfig, type TrafficSelector } from './config/index.js';
import { Endpoint, subnetSelector } from '../exchange/index.js';
import { IsakmpError, UsageError } from '../errors.js';

export type { Address, Connection, EngineEvent, InitiateResult, IpsecSaInfo, IsakmpSaInfo, Transmit, Selector };

/** The surface of the engine the daemon drives (quinn-proto style; see DESIGN.md). */
export interface EndpointLike {
  handleDatagram(now: number, local: Address, remote: Address, data: Uint8Array): void;
  handleTimeout(now: number): void;
  /**
   * Starts phase 1 (if needed) and a Quick Mode per selector pair of the named connection that has
   * no IPsec SA and none in progress; says how many pairs were started, negotiating, established.
   */
  initiate(now: number, connection: string): InitiateResult;
  rekey(now: number, sa: string): void;
  /** Deletes an ISAKMP SA (id = cookies) or an IPsec SA (id = 'q' + SPI), telling the peer. */
  delete(now: number, sa: string): void;
  pollTransmit(): Transmit | undefined;
  pollEvent(): EngineEvent | undefined;
  pollTimeout(): number | undefined;
  isakmpSas(): readonly IsakmpSaInfo[];
  ipsecSas(): readonly IpsecSaInfo[];
  /** Adds or replaces a connection (by name); existing SAs keep running. */
  setConnection(c: Connection): void;
  /** Removes a connection (its SAs stay until deleted or expired). */
  removeConnection(name: string): unknown;
  /** Dataplane byte count of an IPsec SA (total, both directions), for kilobyte lifetimes. */
  reportTraffic?(now: number, sa: string, bytes: number): void;
  /** Engine counts; `halfOpen` / `halfOpenEvicted` feed the half-open counters of `status`. */
  stats?(): { readonly halfOpen: number; readonly halfOpenEvicted?: number };
  /** RFC 3706: sends R-U-THERE under an ISAKMP SA; returns its sequence number (the ACK is a `notify` event). */
  dpd?(now: number, sa: string): number;
  /** When we will rekey an SA (its soft lifetime, ms), if we are the side that rekeys it. */
  rekeyAt?(sa: string): number | undefined;
  /** `message` events on or off (trace lines, retransmissions, the progress of `isakmp up`). */
  observeMessages?(on: boolean): void;
  /** XAUTH gateway: the verdict on an `xauth-request` event (src/daemon/xauth-events.ts). */
  answerXauth?(now: number, requestId: number, ok: boolean): void;
  /** Mode Config gateway: the attributes answering a `modecfg-request` event (src/daemon/modecfg-events.ts). */
  answerModeConfig?(now: number, requestId: number, attributes: readonly DataAttribute[]): void;
}

/**
 * What the daemon hands the engine factory: the engine's own options (src/exchange/types.ts
 * `EndpointOptions`: limits, NAT-T port, keepalives, the ALLOCSPI hook), with the connections.
 */
export interface EndpointFactoryOptions extends Omit<EndpointOptions, 'connections' | 'certificateTime'> {
  readonly connections: readonly Connection[];
}

export type EndpointFactory = (opts: EndpointFactoryOptions) => EndpointLike;

/** A connection the engine cannot take as configured: `path` names the key at fault. */
class EngineRefusal extends UsageError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(CONFIG_ERROR_CODE, `${path}: ${reason}`);
  }
}

function engineIdentity(id: ConfigIdentity, where: string): EngineIdentity {
  const text = new TextDecoder();
  switch (id.type) {
    case 0:
      return { type: 'any' };
    case IdType.ID_IPV4_ADDR:
      return { type: 'ipv4', value: id.text };
    case IdType.ID_IPV6_ADDR:
      return { type: 'ipv6', value: id.text };
    case IdType.ID_FQDN:
      return { type: 'fqdn', value: text.decode(id.data) };
    case IdType.ID_USER_FQDN:
      return { type: 'user-fqdn', value: text.decode(id.data) };
    case IdType.ID_DER_ASN1_DN:
      return { type: 'der-asn1-dn', value: id.data };
    case IdType.ID_KEY_ID:
      return { type: 'key-id', value: id.data };
    default:
      throw new EngineRefusal(where, `identity type ${id.type} ('${id.text}') is not supported by the engine yet (use an address, a host name, user@host or a DN)`);
  }
}

function engineSelector(ts: TrafficSelector): Selector {
  const max = ts.family === 4 ? 32 : 128;
  if (ts.prefix === max) return { family: ts.family, start: ts.address, end: ts.address, protocol: ts.protocol, port: ts.port };
  // a subnet, IPv4 or IPv6: its first and last address (the engine's one subnet rule)
  return subnetSelector(ts.address, ts.prefix, ts.protocol, ts.port);
}

/**
 * Maps one connection of the configuration to the engine's record. `localAddress` fills in a
 * connection without `local.address` (the daemon's listen address of the same family).
 */
export function toEngineConnection(c: ConnectionConfig, localPort: number, localAddress: string): Connection {
  const where = `connections.${c.name}`;
  const mode = c.ipsecMode === 'tunnel' ? EncapsulationMode.TUNNEL : EncapsulationMode.TRANSPORT;
  const conn: Connection = {
    name: c.name,
    local: { address: c.local.address ?? localAddress, port: localPort },
    remote: { address: c.remote.address, port: c.remote.port },
    exchange: c.exchange,
    ...(c.secret.kind === 'psk'
      ? { auth: 'psk' as const, psk: c.secret.psk }
      : c.secret.kind === 'ca'
        ? {
            auth: 'rsa-sig' as const,
            rsa: { trusted: c.secret.cas.map((x) => new Uint8Array(x.raw)), ...(c.secret.crls.length > 0 ? { crls: c.secret.crls } : {}) },
          }
        : {
          auth: 'rsa-sig' as const,
          rsa: {
            privateKey: c.secret.key,
            certificate: new Uint8Array(c.secret.cert.raw),
            ...(c.secret.chain.length > 0 ? { chain: c.secret.chain.map((x) => new Uint8Array(x.raw)) } : {}),
            trusted: c.secret.cas.map((x) => new Uint8Array(x.raw)),
            ...(c.secret.crls.length > 0 ? { crls: c.secret.crls } : {}),
          },
        }),
    ...(c.local.id !== undefined ? { localId: engineIdentity(c.local.id, `${where}.local.id`) } : {}),
    ...(c.remote.id !== undefined ? { remoteId: engineIdentity(c.remote.id, `${where}.remote.id`) } : {}),
    ike: c.ike.map((p) => ({
      encryption: p.encryption,
      ...(p.keyLength !== undefined ? { keyLength: p.keyLength } : {}),
      hash: p.hash,
      group: p.group,
      lifetimeSeconds: c.ikeLifetime,
    })),
    ipsec: c.ah.length > 0 ? c.ah.map((p) => ({
      protocols: [{ protocol: ProtocolId.PROTO_IPSEC_AH, transformId: p.transform, authAlgorithm: p.auth }],
      mode,
      ...(p.group !== undefined ? { group: p.group } : {}),
      lifetimeSeconds: c.lifetime,
      ...(c.lifetimeKb !== undefined ? { lifetimeKilobytes: c.lifetimeKb } : {}),
    })) : c.esp.map((p) => ({
      protocols: [
        {
          protocol: ProtocolId.PROTO_IPSEC_ESP,
          transformId: p.transform,
          ...(p.keyLength !== undefined ? { keyLength: p.keyLength } : {}),
          ...(p.auth !== undefined ? { authAlgorithm: p.auth } : {}),
        },
      ],
      mode,
      ...(p.group !== undefined ? { group: p.group } : {}),
      lifetimeSeconds: c.lifetime,
      ...(c.lifetimeKb !== undefined ? { lifetimeKilobytes: c.lifetimeKb } : {}),
    })),
    ...(c.localTs.length > 0 ? { localTs: c.localTs.length === 1 ? engineSelector(c.localTs[0]!) : c.localTs.map(engineSelector) } : {}),
    ...(c.remoteTs.length > 0 ? { remoteTs: c.remoteTs.length === 1 ? engineSelector(c.remoteTs[0]!) : c.remoteTs.map(engineSelector) } : {}),
    allowWeakGroups: c.allowWeakGroups,
    allowAggressivePsk: c.allowAggressivePskResponder,
    natTraversal: c.natTraversal,
    forceEncapsulation: c.encap,
    fragmentation: c.fragmentation,
    fragmentSize: c.fragmentSize,
    rekeyMarginSeconds: c.rekeyMargin,
    ikeRekeyMarginSeconds: c.ikeRekeyMargin,
    rekeyFuzzPercent: c.rekeyFuzz,
    gatewayRekey: c.gatewayRekey,
    ...(c.dpdDelay > 0 ? { dpd: { delaySeconds: c.dpdDelay, timeoutSeconds: c.dpdTimeout } } : {}),
    ...xauthPolicy(c),
    ...modeConfigPolicy(c),
  };
  return conn;
}

/** `xauth:` of the configuration as the engine's XAUTH role (gateway = server, client = client). */
function xauthPolicy(c: ConnectionConfig): Pick<Connection, 'xauth'> {
  const ra = c.remoteAccess;
  const hybrid = c.auth === 'hybrid' ? { hybrid: true } : {};
  if (ra?.role === 'gateway' && ra.xauth !== undefined) return { xauth: { role: 'server', retries: ra.xauth.retries, ...hybrid } };
  if (ra?.role === 'client' && ra.xauth !== undefined) return { xauth: { role: 'client', user: ra.xauth.user, password: ra.xauth.password, ...hybrid } };
  return {};
}

/** Mode Config of the configuration as the engine's role (a gateway answers, a client asks). */
function modeConfigPolicy(c: ConnectionConfig): Pick<Connection, 'modeConfig'> {
  const ra = c.remoteAccess;
  if (ra === undefined) return {};
  const push = ra.modecfg === 'push';
  if (ra.role === 'gateway') {
    const hands = ra.pool.length > 0 || ra.dns.length > 0 || ra.nbns.length > 0 || ra.splitInclude.length > 0 || ra.localLan.length > 0 || ra.banner !== undefined || ra.defaultDomain !== undefined || ra.splitDns.length > 0;
    return hands ? { modeConfig: { role: 'server', push } } : {};
  }
  return ra.modecfg === undefined ? {} : { modeConfig: { role: 'client', push } };
}

/**
 * The local address of a connection without `local.address`: the daemon's listen address of the
 * peer's family (the wildcard when none is configured).
 */
export function localAddressFor(c: ConnectionConfig, g: Pick<GlobalConfig, 'listen'>): string {
  const fam = isIP(c.remote.address) === 6 ? 6 : 4;
  const l = g.listen.find((x) => x.family === fam);
  return l?.address ?? (fam === 6 ? '::' : '0.0.0.0');
}

/**
 * The local address a datagram was sent to, as the engine needs it to pick the connection. A
 * socket bound to 0.0.0.0 / :: cannot tell (Node has no IP_PKTINFO): then the local address of the
 * connection configured for that peer (or of the only %any connection family), else `local` as is.
 */
export function receivingAddress(connections: readonly ConnectionConfig[], local: { address: string; port: number }, remote: string): { address: string; port: number } {
  // the table only for a wildcard socket: every datagram comes through here
  if (local.address !== '0.0.0.0' && local.address !== '::') return local;
  return receivingAddressIn(receivingTable(connections), local, remote);
}

/** The (remote, local) pairs `receivingAddress` reads, for a shard process (shards/receiving.ts). */
export function receivingTable(connections: readonly ConnectionConfig[]): ReceivingTable {
  return connections.filter((c) => c.local.address !== undefined).map((c) => [c.remote.address, c.local.address as string] as const);
}

/** Random bytes for the engine that only checks connections: it never negotiates. */
const noRandom = (n: number): Uint8Array => new Uint8Array(n);

/**
 * The engine's connections for a configuration, each one checked by the engine itself (the real
 * `Endpoint.setConnection`, on an endpoint that never negotiates): what the daemon hands its
 * endpoint at start and on reload, and what `isakmp daemon --check` builds, so that what the check
 * accepts the daemon starts with. A connection the engine refuses (an identity type or an ESP
 * transform it does not implement yet) is a ConfigError at the connection's line. `g`: the port
 * and listen addresses the daemon runs with.
 */
export function engineConnections(file: string, connections: readonly ConnectionConfig[], g: Pick<GlobalConfig, 'port' | 'listen'>): Connection[] {
  const problems: ConfigProblem[] = [];
  const out: Connection[] = [];
  const engine = new Endpoint({ random: noRandom });
  const problem = (c: ConnectionConfig, path: string, message: string): void => {
    problems.push({ file, line: c.line, col: 3, path, message });
  };
  for (const c of connections) {
    let conn: Connection;
    try {
      conn = toEngineConnection(c, g.port, localAddressFor(c, g));
    } catch (err) {
      if (!(err instanceof EngineRefusal)) throw err;
      problem(c, err.path, err.reason);
      continue;
    }
    const refusal = engineRefusal(engine, conn);
    if (refusal === undefined) {
      out.push(conn);
      continue;
    }
    // Name the ESP proposals the engine cannot run, in the file's words, where one alone is refused.
    const bad = c.esp.flatMap((p, i) => {
      const why = engineRefusal(engine, { ...conn, ipsec: [conn.ipsec[i]!] });
      return why !== undefined ? [{ text: p.text, why }] : [];
    });
    for (const b of bad) problem(c, `connections.${c.name}.esp`, `'${b.text}' is not implemented by the engine yet (${b.why}): use e.g. aes128-sha256`);
    if (bad.length === 0) problem(c, `connections.${c.name}`, `the engine refuses this connection: ${refusal}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Why the engine refuses a connection, or undefined when it takes it. */
function engineRefusal(engine: Endpoint, c: Connection): string | undefined {
  try {
    engine.setConnection(c);
    engine.removeConnection(c.name);
    return undefined;
  } catch (err) {
    if (!(err instanceof IsakmpError)) throw err;
    return err.reason.replace(/^connection \S+: /, '');
  }
}
