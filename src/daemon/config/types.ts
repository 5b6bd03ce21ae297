/**
 * The configuration's schema: the typed result the daemon works from (docs/config.md), and the
 * error that lists every problem found, one per line, as `FILE:LINE:COL: PATH: what is wrong`.
 */
import type { CertificateRevocationList } from '../../crypto/index.js';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { UsageError } from '../../errors.js';
import type { AhProposalSpec, EspProposalSpec, IkeProposalSpec } from '../../exchange/names.js';

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
  /** Largest phase-1 datagram (UDP payload) sent whole; larger ones go in IKE fragments (default 548). */
  readonly fragmentSize: number;
  /** What one authenticated peer may hold (engine caps, issue 9.6; docs/engine.md). */
  readonly maxIsakmpSasPerIdentity: number;
  readonly maxIsakmpSasPerAddress: number;
  readonly maxIpsecSasPerIdentity: number;
  readonly maxQuickModesPerSa: number;
  /** Message IDs kept per ISAKMP SA against replays before it is replaced (issue 9.3). */
  readonly messageIdBudget: number;
  /** Aggressive Mode first answers per second, all sources and per source (issue 9.7). */
  readonly aggressiveRate: { readonly perSecond: number; readonly burst: number; readonly perSourcePerSecond: number; readonly perSourceBurst: number };
  /** Kernel receive buffer of each IKE socket in bytes (0 = the kernel's default; src/daemon/receive-buffer.ts). */
  readonly receiveBuffer: number;
  /** Admission of first messages during a flood (issue 9.7; EndpointOptions.firstMessageRate). */
  readonly firstMessageRate: { readonly perSecond: number; readonly burst: number; readonly perSourcePerSecond: number; readonly perSourceBurst: number };
  /** Seconds a SIGTERM shutdown waits for Deletes to leave before exiting. */
  readonly shutdownGrace: number;
  /** Seconds between two reads of the dataplane's byte counters (xfrm; only while IPsec SAs exist). */
  readonly trafficPoll: number;
  /** Seconds between NAT keepalives (RFC 3948 §2.3) on ISAKMP SAs with a NAT in front of us; 0: none. */
  readonly natKeepalive: number;
  /** Engine shards (docs/scale.md); `auto` in the file = the number of cores; default 1. */
  readonly shards: number;
  /** `shard_mode`: shards in processes or threads; absent: threads (shards/index.ts). */
  readonly shardMode?: 'process' | 'thread';
}

/** The `ha` section (docs/ha.md): failover through etcd. */
export interface HaConfig {
  /** etcd client URLs (http://HOST:PORT). */
  readonly store: readonly string[];
  /** The cluster's name: the key prefix in the store. */
  readonly cluster: string;
  /** This node's name (unique in the cluster). */
  readonly node: string;
  readonly clusterKeyFile: string;
  /** 32 bytes shared by every node: the store's records are encrypted with it. */
  readonly clusterKey: Uint8Array;
  /** Seconds of the ownership lease. */
  readonly lease: number;
  readonly virtualIp: { readonly address: string; readonly prefix: number; readonly family: 4 | 6 };
  /** The interface the virtual address is added to. */
  readonly interface: string;
  /** Announce the virtual address with gratuitous ARP (arping) when taking it. */
  readonly garp: boolean;
}

export interface PskSecret {
  readonly kind: 'psk';
  readonly name: string;
  readonly psk: Uint8Array;
  /** Why the key is weak, when `allow_weak_psk: true` let it through (config/psk-strength.ts). */
  readonly weakness?: string;
}

export interface RsaSecret {
  readonly kind: 'rsa';
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPaths: readonly string[];
  readonly cert: X509Certificate;
  /** The intermediate CAs sent after our certificate, its issuer first (never a root). */
  readonly chain: readonly X509Certificate[];
  /** The files they came from (`cert:` when it holds more than our certificate, then `chain:`). */
  readonly chainPaths: readonly string[];
  /** Self-signed roots found in those files: left out of what we send (a preflight note says so). */
  readonly rootsInChain: readonly X509Certificate[];
  readonly key: KeyObject;
  readonly cas: readonly X509Certificate[];
  /** The CRLs of the `crls:` files (re-read on reload; not part of the connection fingerprint) and the file of each. */
  readonly crlPaths: readonly string[];
  readonly crls: readonly CertificateRevocationList[];
}

/**
 * Trust anchors only (`ca:` without `cert:` / `key:`): what a Hybrid XAUTH client (`auth: hybrid`)
 * checks the gateway's certificate against; it signs nothing itself.
 */
export interface CaSecret {
  readonly kind: 'ca';
  readonly name: string;
  readonly caPaths: readonly string[];
  readonly cas: readonly X509Certificate[];
  readonly crlPaths: readonly string[];
  readonly crls: readonly CertificateRevocationList[];
}

export type Secret = PskSecret | RsaSecret | CaSecret;

/** An ISAKMP identity (RFC 2407 §4.6.2.1) ready for the ID payload. */
export interface ConfigIdentity {
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
export const ANY_IDENTITY: ConfigIdentity = { type: 0, data: new Uint8Array(0), text: '%any' };

/** A RADIUS server of `xauth.radius.servers` (docs/remote-access.md). */
export interface RadiusServerConfig {
  readonly address: string;
  readonly port: number;
  /** The shared secret (never logged). */
  readonly secret: Uint8Array;
  readonly accountingPort?: number;
}

/** Where a gateway checks XAUTH users: a users file (`backend: "file:PATH"`) or RADIUS. */
export type XauthBackendConfig =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'radius';
      readonly servers: readonly RadiusServerConfig[];
      readonly timeoutMs: number;
      readonly retries: number;
      readonly nasIdentifier: string | undefined;
      readonly accounting: boolean;
    };

/** A remote-access gateway: XAUTH users, and what Mode Config hands out. */
export interface RemoteAccessGatewayConfig {
  readonly role: 'gateway';
  /** Undefined: Mode Config without XAUTH. `retries`: XAUTH attempts per ISAKMP SA before it is deleted. */
  readonly xauth: { readonly backend: XauthBackendConfig; readonly retries: number } | undefined;
  /** Address pool specs (`10.10.0.0/24`, `10.10.0.10-10.10.0.200`); empty: addresses only from RADIUS. */
  readonly pool: readonly string[];
  readonly dns: readonly string[];
  readonly splitInclude: readonly TrafficSelector[];
  readonly banner: string | undefined;
  /** `pull`: the client asks (REQUEST/REPLY); `push`: the gateway sets (SET/ACK). */
  readonly modecfg: 'pull' | 'push';
  /** INTERNAL_IP4_NBNS: WINS servers. */
  readonly nbns: readonly string[];
  /** Cisco Unity UNITY_LOCAL_LAN: networks the client keeps reaching directly. */
  readonly localLan: readonly TrafficSelector[];
  /** Cisco Unity UNITY_DEF_DOMAIN. */
  readonly defaultDomain: string | undefined;
  /** Cisco Unity UNITY_SPLITDNS_NAME: the domains resolved with `dns:` (the others by the client's own resolver). */
  readonly splitDns: readonly string[];
  /** Cisco Unity UNITY_SAVE_PASSWD: may the client store the XAUTH password; undefined: not sent. */
  readonly savePassword: boolean | undefined;
}

/** A remote-access client: its XAUTH user and password, and how it gets its virtual address. */
export interface RemoteAccessClientConfig {
  readonly role: 'client';
  /** The password (never logged, never in status); `passwordFile` where it was read from, if a file. */
  readonly xauth: { readonly user: string; readonly password: Uint8Array; readonly passwordFile: string | undefined } | undefined;
  /** Undefined: no Mode Config (XAUTH only). */
  readonly modecfg: 'pull' | 'push' | undefined;
}

export type RemoteAccessConfig = RemoteAccessGatewayConfig | RemoteAccessClientConfig;

export type StartAction = 'add' | 'start' | 'on-demand';

export interface ConnectionConfig {
  readonly name: string;
  /** Line of the connection's key in the file (for messages). */
  readonly line: number;
  readonly exchange: 'main' | 'aggressive';
  /** `hybrid`: Hybrid XAUTH (the gateway's certificate, the client's XAUTH only; docs/remote-access.md). */
  readonly auth: 'psk' | 'rsa' | 'hybrid';
  readonly secret: Secret;
  readonly local: { readonly address: string | undefined; readonly id: ConfigIdentity | undefined };
  readonly remote: { readonly address: string; readonly port: number; readonly id: ConfigIdentity | undefined };
  readonly ike: readonly IkeProposalSpec[];
  /** ESP proposals (empty when `ah` is given). */
  readonly esp: readonly EspProposalSpec[];
  /** AH proposals (`ah:`, instead of ESP); empty for ESP connections. */
  readonly ah: readonly AhProposalSpec[];
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
  /** A remote-access gateway rekeys its clients' IPsec SAs (default true; exchange/gateway-rekey.ts). */
  readonly gatewayRekey: boolean;
  /** IKE fragmentation: yes (announce, accept, send when the peer announced it), no, force. */
  readonly fragmentation: 'yes' | 'no' | 'force';
  /** Largest phase-1 datagram of this connection sent whole (default global.fragment_size). */
  readonly fragmentSize: number;
  /**
   * RFC 3706 Dead Peer Detection: seconds without an answer from the peer before an R-U-THERE
   * (0: off; only with peers that announced DPD), seconds without an answer before the peer is
   * declared dead, and then: clear its SAs, or clear them and negotiate again.
   */
  readonly dpdDelay: number;
  readonly dpdTimeout: number;
  readonly dpdAction: 'clear' | 'restart';
  /** XAUTH / Mode Config (docs/remote-access.md); undefined: a site-to-site connection. */
  readonly remoteAccess: RemoteAccessConfig | undefined;
  /** Stable text of everything above, so reload can tell changed connections from unchanged ones. */
  readonly fingerprint: string;
}

export interface Config {
  readonly file: string;
  readonly global: GlobalConfig;
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly connections: readonly ConnectionConfig[];
  /** Failover (docs/ha.md); undefined: one node. */
  readonly ha?: HaConfig;
}

export const DEFAULT_CONTROL_SOCKET = '/run/isakmp/isakmp.sock';
