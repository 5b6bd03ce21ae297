/**
 * Public records of the sans-IO engine: connections (configuration), addresses, events, SA
 * summaries and endpoint options. Every number is a wire value (see src/constants).
 */
import type { KeyObject } from 'node:crypto';
import type { DataAttribute } from '../codec/types.js';
import type { CertificateRevocationList } from '../crypto/crl.js';

/** A transport address. `port` is the UDP port (500, or 4500 behind NAT). */
export interface Address {
  readonly address: string;
  readonly port: number;
}

/** A phase-1 identity (RFC 2407 §4.6.2.1). `value` is text for the address/FQDN/USER_FQDN types. */
export type Identity =
  | { readonly type: 'ipv4' | 'ipv6' | 'fqdn' | 'user-fqdn'; readonly value: string }
  /** DER-encoded distinguished name (ID_DER_ASN1_DN); compared by RFC 5280 §7.1 (dnEqual). */
  | { readonly type: 'der-asn1-dn'; readonly value: Uint8Array }
  /**
   * Opaque key identifier (ID_KEY_ID, e.g. a Cisco-style group name), compared byte for byte;
   * with certificates it names the certificate's subjectKeyIdentifier.
   */
  | { readonly type: 'key-id'; readonly value: Uint8Array }
  /** Accept any identity from the peer (only meaningful as `remoteId`). */
  | { readonly type: 'any' };

/**
 * A traffic selector carried in a Quick Mode ID payload: one address, a subnet (prefix length) or
 * an inclusive range; protocol 0 = any; port 0 = any.
 */
export interface Selector {
  readonly family: 4 | 6;
  /** First address (text form). */
  readonly start: string;
  /** Last address, inclusive (text form). Equal to `start` for a single host. */
  readonly end: string;
  /** Prefix length when the selector is a subnet, so that it is sent as *_ADDR_SUBNET. */
  readonly prefix?: number;
  readonly protocol: number;
  readonly port: number;
}

/**
 * One phase-1 transform we offer or accept (RFC 2409 App. A values). `keyLength` in bits, only for
 * variable-length ciphers (AES). `lifetimeSeconds` is what we propose / the most we accept.
 */
export interface IkeProposal {
  readonly encryption: number;
  readonly keyLength?: number;
  readonly hash: number;
  readonly group: number;
  readonly lifetimeSeconds?: number;
}

/** One protocol inside an IPsec proposal. */
export interface IpsecProtocolSpec {
  /** ProtocolId.PROTO_IPSEC_ESP or PROTO_IPSEC_AH. */
  readonly protocol: number;
  /** ESP or AH transform ID (RFC 2407 §4.4.3/4.4.4). */
  readonly transformId: number;
  /** Key length in bits for variable-length ciphers (AES). */
  readonly keyLength?: number;
  /** AuthAlgorithm (RFC 2407 §4.5); 0 / absent = none (only for combined-mode ciphers). */
  readonly authAlgorithm?: number;
}

/**
 * One IPsec proposal: one protocol, or several AND-ed ones (AH + ESP bundle, sent with the same
 * proposal number). `group` is the PFS group (0 / absent = no PFS).
 */
export interface IpsecProposal {
  readonly protocols: readonly IpsecProtocolSpec[];
  /** EncapsulationMode (1 tunnel, 2 transport). */
  readonly mode: number;
  readonly group?: number;
  readonly lifetimeSeconds?: number;
  readonly lifetimeKilobytes?: number;
}

/** What a connection needs to authenticate with RSA signatures. */
export interface RsaCredentials {
  /** Our private key (absent only on a Hybrid XAUTH client, which never signs). */
  readonly privateKey?: KeyObject;
  /** Our certificate, DER. Sent in a CERT payload (encoding 4). */
  readonly certificate?: Uint8Array;
  /** Intermediate CA certificates (DER) sent after ours, each in its own CERT payload. */
  readonly chain?: readonly Uint8Array[];
  /** Certificates (DER) we trust as issuers of the peer's certificate, or the peer's own certificate. */
  readonly trusted?: readonly Uint8Array[];
  /** The peer's public key, when no certificate is exchanged. */
  readonly peerPublicKey?: KeyObject;
  /** Complete CRLs of the CAs that issue peer certificates (parseCrl); see verifyCertificateChain. */
  readonly crls?: readonly CertificateRevocationList[];
}

/**
 * RFC 3706 Dead Peer Detection of a connection: when the peer (which must have announced DPD) has
 * sent nothing authenticated for `delaySeconds`, an R-U-THERE goes out (again every `delaySeconds`
 * while unanswered, same sequence number); `timeoutSeconds` after the first unanswered one the
 * peer is dead: a `peer-dead` event, then its SAs are deleted.
 */
export interface DpdPolicy {
  readonly delaySeconds: number;
  readonly timeoutSeconds: number;
}

/** What every connection has, whatever its authentication method. */
interface ConnectionBase {
  readonly name: string;
  /** Our address (port ignored when matching). */
  readonly local: Address;
  /** The peer's address; '%any' accepts any peer (responder only). */
  readonly remote: Address;
  readonly exchange?: 'main' | 'aggressive';
  /** Our identity; default: our address (ID_IPV4_ADDR / ID_IPV6_ADDR). */
  readonly localId?: Identity;
  /**
   * The identity the peer must show; default: its address (with RSA signatures its certificate
   * must then carry that address as an iPAddress subjectAltName). `{type:'any'}` accepts any.
   */
  readonly remoteId?: Identity;
  /** Phase-1 offer / acceptable set, in our order of preference. */
  readonly ike: readonly IkeProposal[];
  /** Phase-2 offer / acceptable set, in our order of preference. */
  readonly ipsec: readonly IpsecProposal[];
  /**
   * Traffic selectors, one or a list per side; default: the two phase-1 addresses (host to host).
   * With lists, every pair (local × remote, same IP version) is its own IPsec SA under the one
   * ISAKMP SA with the peer; as responder, a peer's Quick Mode takes the pair that contains its
   * proposed selectors.
   */
  readonly localTs?: Selector | readonly Selector[];
  readonly remoteTs?: Selector | readonly Selector[];
  /** Opt-ins (all default false). */
  readonly allowWeakGroups?: boolean;
  readonly allowAggressivePsk?: boolean;
  /** As responder, choose by our order of preference instead of the initiator's. */
  readonly preferOwnOrder?: boolean;
  /** Send INITIAL-CONTACT in the last phase-1 message we send (default true). */
  readonly initialContact?: boolean;
  /** Ask for the commit bit in Quick Mode (initiator), answered with CONNECTED. */
  readonly commit?: boolean;
  /** Rekey this many seconds before hard expiry (default 10 % of the lifetime, at most 540 s). */
  readonly rekeyMarginSeconds?: number;
  /** The same for the ISAKMP SA (phase 1) alone; default: `rekeyMarginSeconds`. */
  readonly ikeRekeyMarginSeconds?: number;
  /** Random extra margin, percent of the margin (default 100 = up to twice the margin). */
  readonly rekeyFuzzPercent?: number;
  /** Phase-1 attempts (fresh cookies each) before giving up when the peer does not answer (default 3). */
  readonly keyingTries?: number;
  /** Rekey at all (default true). When false, SAs just expire. */
  readonly rekey?: boolean;
  /**
   * A remote-access gateway (XAUTH or Mode Config server) rekeys the IPsec SAs its clients
   * negotiated, before they expire (default true; see gateway-rekey.ts).
   */
  readonly gatewayRekey?: boolean;
  /** RFC 3947 NAT traversal: send its vendor ID and NAT-D payloads (default true). */
  readonly natTraversal?: boolean;
  /**
   * Use UDP encapsulation even without a NAT (like charon's `encap=yes`): our own NAT-D hash is
   * faked so that the peer detects a NAT too. Needs `natTraversal` and a peer speaking RFC 3947.
   */
  readonly forceEncapsulation?: boolean;
  /** RFC 3706 Dead Peer Detection (default: none; we still answer the peer's R-U-THERE). */
  readonly dpd?: DpdPolicy;
  /**
   * IKE fragmentation (extensions/fragmentation.ts): `yes` (default) announces and accepts it and
   * sends fragments when the peer announced it; `force` sends fragments even without; `no` neither.
   */
  readonly fragmentation?: 'yes' | 'no' | 'force';
  /** Largest phase-1 datagram (UDP payload) before it is sent in fragments (default EndpointOptions.fragmentSize). */
  readonly fragmentSize?: number;
  /**
   * XAUTH (draft-ietf-ipsec-isakmp-xauth-06) after phase 1: the phase-1 method becomes
   * XAUTHInitPreShared / XAUTHInitRSA (the initiator is the XAUTH client) and Quick Mode waits
   * until XAUTH is done (extensions/xauth.ts).
   */
  readonly xauth?: XauthPolicy;
  /**
   * Mode Config (extensions/modecfg.ts) after XAUTH: pull (the client asks, the gateway answers) or
   * push (the gateway sets, the client acknowledges); Quick Mode waits, then uses the virtual address.
   */
  readonly modeConfig?: ModeConfigPolicy;
}

/**
 * Our Mode Config role: `client` (asks with REQUEST, or with `push` waits 30 s for the gateway's SET;
 * it takes a SET with an address in either case, after XAUTH), `server` (fills through
 * `modecfg-request` after XAUTH; answers a REQUEST, or with `push` sends SET unasked and waits for
 * the ACK under its identifier, answering a REQUEST all the same). A wait or a retransmission
 * that runs out fails Mode Config and deletes the ISAKMP SA.
 */
export type ModeConfigPolicy = { readonly role: 'client'; readonly push?: boolean } | { readonly role: 'server'; readonly push?: boolean };

/**
 * Our XAUTH role: `server` (the gateway: asks, checks through the `xauth-request` event, `retries`
 * attempts per ISAKMP SA, default 3) or `client` (answers with `user` / `password`; a secret).
 * `hybrid` (draft-ietf-ipsec-isakmp-hybrid-auth-05, on an `rsa-sig` connection): only the gateway
 * signs (HybridInitRSA / HybridRespRSA); the client sends HASH_I / HASH_R computed with the
 * signature SKEYID and is authenticated by XAUTH alone. A hybrid client has no private key.
 */
export type XauthPolicy =
  | { readonly role: 'server'; readonly retries?: number; readonly hybrid?: boolean }
  | { readonly role: 'client'; readonly user: string; readonly password: Uint8Array; readonly hybrid?: boolean };

/** A connection authenticated with a pre-shared key. */
export interface PskConnection extends ConnectionBase {
  readonly auth: 'psk';
  readonly psk: Uint8Array;
}

/** A connection authenticated with RSA signatures. */
export interface RsaConnection extends ConnectionBase {
  readonly auth: 'rsa-sig';
  readonly rsa: RsaCredentials;
}

/** A connection: the policy for one peer (or a class of peers), by authentication method. */
export type Connection = PskConnection | RsaConnection;

/** Summary of an ISAKMP SA, as listed by `Endpoint.isakmpSas()`. */
export interface IsakmpSaInfo {
  /** Stable id: hex initiator cookie + hex responder cookie. */
  readonly id: string;
  readonly connection: string;
  readonly role: 'initiator' | 'responder';
  readonly exchange: 'main' | 'aggressive';
  readonly state: 'negotiating' | 'established' | 'deleting';
  readonly local: Address;
  readonly remote: Address;
  readonly initiatorCookie: Uint8Array;
  readonly responderCookie: Uint8Array;
  readonly peerId?: Identity | { readonly type: 'other'; readonly idType: number; readonly data: Uint8Array };
  readonly transform?: ChosenIke;
  readonly establishedAt?: number;
  readonly expiresAt?: number;
  /**
   * RFC 3947 NAT detection, present once NAT-D payloads were exchanged (or encapsulation is
   * forced): a NAT in front of us (`local`) / of the peer (`remote`); `encapsulation` true when
   * the SA moved to the NAT-T port and IPsec SAs are UDP-encapsulated. `local`/`remote` above
   * then carry the NAT-T ports.
   */
  readonly nat?: { readonly local: boolean; readonly remote: boolean; readonly encapsulation: boolean };
  /** The peer announced RFC 3706 Dead Peer Detection (its vendor ID): it answers R-U-THERE. */
  readonly dpd?: true;
}

/** The phase-1 transform chosen. */
export interface ChosenIke {
  readonly encryption: number;
  readonly keyLength: number;
  readonly hash: number;
  readonly prf: number;
  readonly auth: number;
  readonly group: number;
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes?: number;
}

/**
 * Why a drop without a notify type happened: an older half-open entry made room for a new first
 * message; a first message refused at the half-open cap; an informational outside an
 * authenticated ISAKMP SA; too many Quick Modes on one ISAKMP SA; our phase 1 started over with
 * fresh cookies (keying tries); an error in a timer's work; an internal error.
 */
export type DropCode =
  | 'HALF_OPEN_EVICTED'
  | 'HALF_OPEN_REFUSED'
  | 'UNAUTHENTICATED_INFORMATIONAL'
  | 'QUICK_MODE_LIMIT'
  | 'KEYING_RETRY'
  | 'DPD_REPLAY'
  | 'MESSAGE_ID_BUDGET'
  | 'PEER_SA_LIMIT'
  | 'RATE_LIMITED'
  | 'FIRST_MESSAGE_LIMITED'
  | 'TIMER_ERROR'
  /**
   * A byte-identical repeat of the peer's last message of an exchange, with nothing of ours to
   * send again (we are the initiator of that exchange, or it is finished): harmless, logged at debug.
   */
  | 'REPEATED_MESSAGE'
  /** A Transaction exchange (Mode Config / XAUTH) refused: wrong message type, too many open. */
  | 'TRANSACTION'
  | 'INTERNAL_ERROR';

/**
 * Why a negotiation failed or a message was refused, in a stable word for logs, counters and the
 * exit code of `isakmp up` (the event's `reason` says it in full, with what to check):
 *   PSK_MISMATCH         the peer's encrypted phase-1 message does not decrypt to a valid payload
 *                        chain, or its HASH does not verify: the pre-shared keys differ
 *   AUTH_FAILED          the peer's signature does not verify
 *   NO_PROPOSAL_CHOSEN   no proposal in common (phase 1 or Quick Mode), or the answer is not one we offered
 *   IDENTITY_MISMATCH    the peer's identity is not the one the connection expects
 *   SELECTORS_REFUSED    the peer's traffic selectors are outside the connection's
 *   CERTIFICATE_REFUSED  the peer's certificate (chain) was refused
 *   POLICY_REFUSED       our policy refuses the exchange itself (e.g. Aggressive Mode with a PSK)
 *   PEER_REFUSED         the peer answered with an error notify
 *   NO_ANSWER            the peer does not answer
 */
export type FailureCause =
  | 'PSK_MISMATCH'
  | 'AUTH_FAILED'
  | 'NO_PROPOSAL_CHOSEN'
  | 'IDENTITY_MISMATCH'
  | 'SELECTORS_REFUSED'
  | 'CERTIFICATE_REFUSED'
  | 'POLICY_REFUSED'
  | 'PEER_REFUSED'
  | 'NO_ANSWER';

/** What `initiate()` did, counted in selector pairs (local × remote traffic selectors). */
export interface InitiateResult {
  /** Quick Modes started now (or queued on the phase 1 they wait for): pairs without an IPsec SA. */
  readonly started: number;
  /** Pairs already being negotiated (a Quick Mode or its phase 1 in progress): nothing new started. */
  readonly negotiating: number;
  /** Pairs with an IPsec SA of the connection: nothing to do (`rekey` gives new keys). */
  readonly established: number;
}

/** Keys of one protocol SA (one direction). */
export interface DirectionKeys {
  readonly spi: Uint8Array;
  /** Whole KEYMAT for this direction (encryption key first, then integrity key). */
  readonly keymat: Uint8Array;
  readonly encryptionKey: Uint8Array;
  readonly integrityKey: Uint8Array;
}

/** One protocol of an IPsec SA bundle. */
export interface IpsecProtocolSa {
  readonly protocol: number;
  readonly transformId: number;
  readonly keyLength: number;
  readonly authAlgorithm: number;
  readonly inbound: DirectionKeys;
  readonly outbound: DirectionKeys;
}

/** Summary of an IPsec SA (one Quick Mode result), as listed by `Endpoint.ipsecSas()`. */
export interface IpsecSaInfo {
  /** Stable id: 'q' + hex inbound SPI of the first protocol. */
  readonly id: string;
  readonly isakmpSa: string;
  readonly connection: string;
  readonly role: 'initiator' | 'responder';
  readonly mode: number;
  readonly group: number;
  readonly local: Address;
  readonly remote: Address;
  /** Our side's selector (the first of `localSelectors` when there are several). */
  readonly localTs: Selector;
  readonly remoteTs: Selector;
  /**
   * Present when the SA carries traffic for several local selectors, all of them (`localTs`
   * first): a Cisco Unity client asked a gateway with several `local_ts` for 0.0.0.0/0, and the
   * one SA serves each of those networks (virtual-address.ts). Read it with `localSelectorsOf`.
   */
  readonly localSelectors?: readonly Selector[];
  /**
   * Present when the Quick Mode's ID payloads named our side otherwise than `localTs`: the
   * 0.0.0.0/0 (or ::/0) a Cisco Unity client asked a gateway for, answered as asked while the SA
   * carries the gateway's own networks. A rekey of the SA names our side with it again.
   */
  readonly wireLocalTs?: Selector;
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes: number;
  readonly establishedAt: number;
  /** Present (true) when ESP is UDP-encapsulated (RFC 3948); `mode` is then 3 or 4 (RFC 3947). */
  readonly udpEncapsulation?: true;
  /**
   * UDP-encapsulated transport mode: the peer's own address as it reported it in its NAT-OA
   * payload (RFC 3947 §5.2), for the dataplane's TCP/UDP checksum fix-up.
   */
  readonly peerOriginalAddress?: string;
  readonly protocols: readonly IpsecProtocolSa[];
}

/** The engine's outputs other than datagrams, polled with `pollEvent()`. */
export type EngineEvent =
  | {
      readonly type: 'phase1-established';
      readonly sa: IsakmpSaInfo;
      readonly peerId: IsakmpSaInfo['peerId'];
      readonly transform: ChosenIke;
      readonly lifetimeSeconds: number;
      /** Key-log material: initiator cookie and the phase-1 encryption key. */
      readonly keyLog: { readonly initiatorCookie: Uint8Array; readonly responderCookie: Uint8Array; readonly encryptionKey: Uint8Array; readonly encryption: number };
    }
  | { readonly type: 'ipsec-sa-established'; readonly sa: IpsecSaInfo; readonly rekeyOf?: string }
  /**
   * NAT traversal: the peer's NAT mapping changed (an authenticated message came from a new
   * port), and this UDP-encapsulated IPsec SA follows: same SPIs and keys, new `local`/`remote`
   * (the dataplane updates its ESP-in-UDP ports).
   */
  | { readonly type: 'ipsec-sa-updated'; readonly sa: IpsecSaInfo }
  /** A rekey finished: `old` was replaced by `sa` (both ids). */
  | { readonly type: 'rekeyed'; readonly kind: 'isakmp' | 'ipsec'; readonly old: string; readonly sa: string }
  | { readonly type: 'deleted'; readonly kind: 'isakmp' | 'ipsec'; readonly id: string; readonly connection: string; readonly by: 'local' | 'peer'; readonly spis?: readonly Uint8Array[] }
  | { readonly type: 'expired'; readonly kind: 'isakmp' | 'ipsec'; readonly id: string; readonly connection: string; readonly hard: boolean }
  /**
   * A datagram (or a timer's work) that changed nothing. `notify`: the RFC 2408 notify type it
   * maps to (0: none); `code`, for drops without one, what happened in a stable word for counters;
   * `reason`: for people; `cause` (and the `connection` when one was chosen), when the drop is a
   * refusal an operator can fix (see FailureCause).
   */
  | { readonly type: 'dropped'; readonly peer: Address; readonly notify: number; readonly code?: DropCode; readonly reason: string; readonly cause?: FailureCause; readonly connection?: string }
  /**
   * A negotiation we started (or answered) is abandoned: retransmit limit, timeout, peer error, a
   * refusal. `cause`, when known, says why in a stable word (the `reason` in full words).
   */
  | { readonly type: 'failed'; readonly kind: 'isakmp' | 'ipsec'; readonly connection: string; readonly peer: Address; readonly notify: number; readonly reason: string; readonly cause?: FailureCause; readonly retrying?: true }
  /**
   * A negotiation began: ours (`initiate`, a rekey: `rekey` true), or the peer's that we answer
   * (a first phase-1 message accepted, a Quick Mode answered). Each ends in exactly one
   * `phase1-established` / `ipsec-sa-established` or `failed` of the same kind.
   */
  | { readonly type: 'started'; readonly kind: 'isakmp' | 'ipsec'; readonly connection: string; readonly peer: Address; readonly role: 'initiator' | 'responder'; readonly rekey: boolean }
  /**
   * Only while `observeMessages(true)`: one message of an exchange sent or received (`MM1`..`MM6`,
   * `AM1`..`AM3`, `QM1`..`QM4`, `INFO`, `NOTIFY` for an unprotected one), its payloads in order
   * (`N(INITIAL_CONTACT)` for a notify), `detail` such as the transform chosen; `retransmit` counts
   * a resend of the last message.
   */
  | { readonly type: 'message'; readonly direction: 'in' | 'out'; readonly name: string; readonly connection: string; readonly peer: Address; readonly payloads: readonly string[]; readonly detail?: string; readonly retransmit?: number }
  /**
   * RFC 3706: the peer of this ISAKMP SA answered no R-U-THERE for the connection's DPD timeout
   * (after its delay of silence). Its SAs are deleted next (Deletes sent anyway, `deleted` events
   * follow); what else to do (negotiate again) is the caller's choice.
   */
  | { readonly type: 'peer-dead'; readonly isakmpSa: string; readonly connection: string; readonly peer: Address; readonly reason: string }
  /** An authenticated notify from the peer (status or error), for logs. */
  | { readonly type: 'notify'; readonly peer: Address; readonly isakmpSa: string; readonly notify: number; readonly spi: Uint8Array; readonly data: Uint8Array }
  /**
   * An error notify from the peer (types 1–16383) that ended no exchange of ours (those are named
   * by their `failed` or `dropped` event), under one of our ISAKMP SAs: `authenticated` (a `notify`
   * event follows, as for any authenticated notify), or in clear with that SA's cookies from its
   * peer's address (never acted upon; its `dropped` event, code UNAUTHENTICATED_INFORMATIONAL,
   * follows). `reason` says what it probably means and what to check.
   */
  | { readonly type: 'peer-error'; readonly peer: Address; readonly connection: string; readonly isakmpSa: string; readonly notify: number; readonly authenticated: boolean; readonly reason: string }
  /**
   * A Transaction exchange message (Mode Config / XAUTH; drivers/transaction.ts) checked under an
   * ISAKMP SA: `answered: false`, a REQUEST or SET of the peer, to be answered with
   * `Endpoint.answerTransaction(now, isakmpSa, messageId, attributes)`; `answered: true`, the REPLY
   * or ACK to one of ours (`Endpoint.sendTransaction`). Attribute values may be secrets (XAUTH
   * passwords): printers show attribute types only.
   */
  /**
   * XAUTH gateway: the client answered with a user name and password; check them (a backend) and
   * call `Endpoint.answerXauth(now, requestId, ok)`. The password is a secret: never log it.
   */
  | {
      readonly type: 'xauth-request';
      readonly requestId: number;
      readonly isakmpSa: string;
      readonly connection: string;
      readonly peer: Address;
      readonly peerId: string;
      readonly user: string;
      readonly password: string;
    }
  /** XAUTH finished on this ISAKMP SA (either role): `ok`, or the reason in operator words. */
  | { readonly type: 'xauth-done'; readonly isakmpSa: string; readonly connection: string; readonly peer: Address; readonly user: string; readonly ok: boolean; readonly reason: string }
  /** Mode Config gateway: the attribute types the client asked for (push: the ones a gateway sends unasked); answer with `Endpoint.answerModeConfig`. */
  | { readonly type: 'modecfg-request'; readonly requestId: number; readonly isakmpSa: string; readonly connection: string; readonly peer: Address; readonly requested: readonly number[]; readonly push: boolean }
  /** Mode Config finished on the SA: the attributes the gateway sent (client) or sent (gateway). */
  | { readonly type: 'modecfg-done'; readonly isakmpSa: string; readonly connection: string; readonly peer: Address; readonly attributes: readonly DataAttribute[] }
  | {
      readonly type: 'transaction';
      readonly isakmpSa: string;
      readonly connection: string;
      readonly peer: Address;
      readonly messageId: number;
      readonly cfgType: number;
      readonly identifier: number;
      readonly attributes: readonly DataAttribute[];
      readonly answered: boolean;
    };

/** One datagram to send. */
export interface Transmit {
  readonly local: Address;
  readonly remote: Address;
  readonly data: Uint8Array;
  /**
   * A NAT keepalive (RFC 3948 §2.3): `data` is the single byte 0xff, sent as it is (no non-ESP
   * marker) from the NAT-T socket of `local`.
   */
  readonly keepalive?: true;
}

/** Endpoint options; all fields but `random` have defaults. */
export interface EndpointOptions {
  /** Cryptographic randomness: n fresh random bytes. Injected (tests pass a seeded generator). */
  readonly random: (n: number) => Uint8Array;
  readonly connections?: readonly Connection[];
  /** First retransmit after this many ms (default 1000); doubles each time. */
  readonly retransmitBaseMs?: number;
  /** Retransmissions before giving up (default 5). */
  readonly retransmitLimit?: number;
  /** Half-open (unauthenticated) phase-1 state lives this long (default 30 000 ms). */
  readonly halfOpenTimeoutMs?: number;
  /** Cap on half-open responder states per peer address (default 32) and in total (default 5000). */
  readonly halfOpenPerPeer?: number;
  /** Largest phase-1 datagram before it is sent in fragments (default 548: IPv4 minimum MTU). */
  readonly fragmentSize?: number;
  /** Bounds of fragment reassembly (codec/fragments.ts; default DEFAULT_REASSEMBLY_LIMITS). */
  readonly fragmentReassembly?: Partial<import('../codec/fragments.js').ReassemblyLimits>;
  readonly halfOpenTotal?: number;
  /**
   * Message IDs the peer may use under one ISAKMP SA for Quick Modes and non-DPD informationals
   * (default 1024): all are kept to refuse replays; near the budget the SA is rekeyed (initiator)
   * or retired with a Delete (responder), at it new message IDs are refused.
   */
  readonly messageIdBudget?: number;
  /**
   * Caps on what one authenticated peer may hold (issue 9.6). ISAKMP SAs of one peer identity
   * (with one connection's credentials; default 200): past it the oldest duplicate (same identity
   * from the same address and port) is replaced, else the new SA is refused. ISAKMP SAs with one
   * peer address (default 500) and IPsec SAs of one peer identity (default 1000): past them new
   * ones are refused. Unfinished Quick Modes on one ISAKMP SA (default 16).
   */
  readonly maxIsakmpSasPerIdentity?: number;
  readonly maxIsakmpSasPerAddress?: number;
  readonly maxIpsecSasPerIdentity?: number;
  readonly maxQuickModesPerSa?: number;
  /**
   * Aggressive Mode first messages answered (each costs a Diffie-Hellman exchange before the peer
   * proved its address, issue 9.7): per second over all sources (default 100, burst 100) and per
   * source address (default 5, burst 10). Over the limit the message is dropped (`RATE_LIMITED`)
   * without an answer; the initiator's retransmission comes later. Main Mode is not limited here
   * (its first answer costs nothing; the half-open caps bound it).
   */
  readonly aggressiveRate?: { readonly perSecond: number; readonly burst: number; readonly perSourcePerSecond: number; readonly perSourceBurst: number };
  /**
   * Admission of phase-1 first messages (zero responder cookie, unknown initiator cookie) before
   * any decoding (issue 9.7): up to `perSecond` (burst `burst`) over all sources every first
   * message is processed (default 1000, burst 1000); past that, only those from a source address
   * with a token of its own (default 2 per second, burst 4). Refused ones are dropped
   * (`FIRST_MESSAGE_LIMITED`) without an answer. A peer sending one first message and waiting for
   * the answer is never refused by this, even during a flood from other addresses.
   */
  readonly firstMessageRate?: { readonly perSecond: number; readonly burst: number; readonly perSourcePerSecond: number; readonly perSourceBurst: number };
  /** How long an unfinished Quick Mode lives (default 30 000 ms). */
  readonly quickModeTimeoutMs?: number;
  /** Nonce length in bytes (default 32). */
  readonly nonceLength?: number;
  /**
   * Maps the engine's `now` to Unix milliseconds for certificate validity checks. Default: `now`
   * is already Unix milliseconds.
   */
  readonly certificateTime?: (now: number) => number;
  /** Send error notifies (unprotected, zero responder cookie) for refused first messages (default true). */
  readonly sendErrorNotifies?: boolean;
  /** The NAT-T port the daemon listens on (default 4500); 0 disables NAT traversal. */
  readonly nattPort?: number;
  /**
   * Inbound SPIs reserved elsewhere (the daemon's kernel, ALLOCSPI): 4 bytes for an SA to our
   * address `local`, or undefined to draw a random SPI. Called while answering or starting a
   * Quick Mode; must not block.
   */
  readonly allocateSpi?: (local: string) => Uint8Array | undefined;
  /**
   * RFC 3948 §2.3 NAT keepalives: every this many seconds, one keepalive transmit per established
   * ISAKMP SA with a NAT in front of us (UDP-encapsulated). Default 0: none.
   */
  readonly natKeepaliveSeconds?: number;
  /**
   * Rewrites each cookie of ours in place right after it is drawn from `random` (8 bytes, both
   * roles), before it is checked for uniqueness and used. The daemon's engine shards mark their
   * number in it so that every later message of the SA reaches the same shard (docs/scale.md);
   * it must leave most of the cookie random. Default: none (the cookie is 8 random bytes).
   */
  readonly cookieTag?: (cookie: Uint8Array) => void;
}
