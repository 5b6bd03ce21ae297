/**
 * The daemon's view of the sans-IO engine, and the mapping from the configuration file to the
 * engine's `Connection` records. The driver is written against `EndpointLike`, so it can be tested
 * with a small fake endpoint; the real `Endpoint` of src/exchange satisfies it.
 */
import { ProtocolId, EncapsulationMode, IdType } from '../constants/index.js';
import type {
  Address,
  Connection,
  EngineEvent,
  Identity as EngineIdentity,
  IpsecSaInfo,
  IsakmpSaInfo,
  Selector,
  Transmit,
} from '../exchange/types.js';
import type { ConnectionConfig, Identity, TrafficSelector } from './config.js';
import { UsageError } from '../errors.js';

export type { Address, Connection, EngineEvent, IpsecSaInfo, IsakmpSaInfo, Transmit, Selector };

/** The surface of the engine the daemon drives (quinn-proto style; see DESIGN.md). */
export interface EndpointLike {
  handleDatagram(now: number, local: Address, remote: Address, data: Uint8Array): void;
  handleTimeout(now: number): void;
  /** Starts phase 1 (if needed) and Quick Mode for the named connection. */
  initiate(now: number, connection: string): void;
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
}

export interface EndpointFactoryOptions {
  readonly random: (n: number) => Uint8Array;
  readonly connections: readonly Connection[];
  readonly halfOpenTotal?: number;
  readonly halfOpenPerPeer?: number;
  /** The NAT-T port the daemon listens on (RFC 3947 floating); 0 = NAT-T off. */
  readonly nattPort?: number;
  /** Kernel-reserved inbound SPIs (the xfrm dataplane's ALLOCSPI pool). */
  readonly allocateSpi?: (local: string) => Uint8Array | undefined;
}

export type EndpointFactory = (opts: EndpointFactoryOptions) => EndpointLike;

function engineIdentity(id: Identity, where: string): EngineIdentity {
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
    default:
      throw new UsageError('ISAKMP_ERR_CONFIG', `${where}: identity type ${id.type} ('${id.text}') is not supported by the engine yet`);
  }
}

function engineSelector(ts: TrafficSelector): Selector {
  const max = ts.family === 4 ? 32 : 128;
  if (ts.prefix === max) return { family: ts.family, start: ts.address, end: ts.address, protocol: ts.protocol, port: ts.port };
  // Subnet: compute the last address.
  const bytes = ts.family === 4 ? ts.address.split('.').map(Number) : undefined;
  let end = ts.address;
  if (bytes !== undefined) {
    const n = (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
    const last = (n | (ts.prefix === 0 ? 0xffffffff : (2 ** (32 - ts.prefix) - 1))) >>> 0;
    end = [last >>> 24, (last >>> 16) & 0xff, (last >>> 8) & 0xff, last & 0xff].join('.');
  }
  return { family: ts.family, start: ts.address, end, prefix: ts.prefix, protocol: ts.protocol, port: ts.port };
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
    auth: c.auth === 'psk' ? 'psk' : 'rsa-sig',
    ...(c.secret.kind === 'psk' ? { psk: c.secret.psk } : {}),
    ...(c.secret.kind === 'rsa'
      ? { rsa: { privateKey: c.secret.key, certificate: new Uint8Array(c.secret.cert.raw), trusted: c.secret.cas.map((x) => new Uint8Array(x.raw)) } }
      : {}),
    ...(c.local.id !== undefined ? { localId: engineIdentity(c.local.id, `${where}.local.id`) } : {}),
    ...(c.remote.id !== undefined ? { remoteId: engineIdentity(c.remote.id, `${where}.remote.id`) } : {}),
    ike: c.ike.map((p) => ({
      encryption: p.encryption,
      ...(p.keyLength !== undefined ? { keyLength: p.keyLength } : {}),
      hash: p.hash,
      group: p.group,
      lifetimeSeconds: c.ikeLifetime,
    })),
    ipsec: c.esp.map((p) => ({
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
    ...(c.localTs[0] !== undefined ? { localTs: engineSelector(c.localTs[0]) } : {}),
    ...(c.remoteTs[0] !== undefined ? { remoteTs: engineSelector(c.remoteTs[0]) } : {}),
    allowWeakGroups: c.allowWeakGroups,
    allowAggressivePsk: c.allowAggressivePskResponder,
    natTraversal: c.natTraversal,
    forceEncapsulation: c.encap,
    rekeyMarginSeconds: c.rekeyMargin,
    rekeyFuzzPercent: c.rekeyFuzz,
  };
  return conn;
}
