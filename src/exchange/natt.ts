/**
 * RFC 3947 NAT traversal helpers: the vendor IDs, NAT-D hashes and the UDP-encapsulated Quick
 * Mode modes. Pure functions; the engine's use of them is the NAT-T extension
 * (extensions/nat-t.ts).
 */
import { EncapsulationMode } from '../constants/ipsec.js';
import { IdType, NotifyType } from '../constants/index.js';
import type { Payload } from '../codec/types.js';
import { bytesEqual, fromHex } from '../crypto/bytes.js';
import { isSupportedHashId, natDetectionHash, prfAlgFromHashId, prfLength } from '../crypto/index.js';
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { formatAddress, parseAddress } from './ids.js';
import type { Address, IpsecProposal } from './types.js';

type NatOaPayload = Extract<Payload, { type: 'NAT-OA' }>;

/** RFC 3947 vendor ID: MD5("RFC 3947"). The only NAT-T version we speak. */
export const NATT_RFC3947_VID = fromHex('4a131c81070358455c5728f20e95452f');
/** draft-ietf-ipsec-nat-t-ike-02 / -02\n / -03: recognised as known, never negotiated. */
export const NATT_DRAFT_VIDS: readonly Uint8Array[] = [
  fromHex('cd60464335df21f87cfdb2fc68b6a448'),
  fromHex('90cb80913ebb696e086381b5ec427b1f'),
  fromHex('7d9419a65310ca6f2c179d9215529d56'),
];

/** 'rfc3947' when the VID data is RFC 3947's, 'draft' for a known draft ID, else undefined. */
export function nattVidKind(data: Uint8Array): 'rfc3947' | 'draft' | undefined {
  if (bytesEqual(data, NATT_RFC3947_VID)) return 'rfc3947';
  return NATT_DRAFT_VIDS.some((v) => bytesEqual(data, v)) ? 'draft' : undefined;
}

/** Output length of a phase-1 hash algorithm (RFC 2409 App. A), 0 when unknown. */
export function natdHashLength(hashId: number): number {
  return isSupportedHashId(hashId) ? prfLength(prfAlgFromHashId(hashId)) : 0;
}

/**
 * The address as network bytes (4 or 16), or undefined when not an IP literal. From the bounded
 * cache of ids.ts (NAT-D hashes the same two addresses several times per handshake): read-only.
 */
export function addressBytes(address: string): Uint8Array | undefined {
  return parseAddress(address);
}

/**
 * RFC 3947 §3.2: HASH = HASH(CKY-I | CKY-R | IP | Port), with the negotiated hash (the one NAT-D
 * hash: src/crypto's natDetectionHash, with the address as text).
 */
export function natdHash(hashId: number, ic: Uint8Array, rc: Uint8Array, a: Address): Uint8Array {
  if (!isSupportedHashId(hashId)) throw new LocalProtocolError(0, `NAT-D: no hash ${hashId}`);
  const ip = addressBytes(a.address);
  if (!ip) throw new LocalProtocolError(0, `NAT-D: '${a.address}' is not an IP address`);
  return natDetectionHash(prfAlgFromHashId(hashId), ic, rc, ip, a.port);
}

/**
 * RFC 3947 §5.2 NAT-OA payloads of a Quick Mode message: the original initiator address, then the
 * original responder address (each side names itself by its own address and the peer by the
 * address it sees).
 */
export function natOaPayloads(initiatorAddress: string, responderAddress: string): NatOaPayload[] {
  const oa = (address: string): NatOaPayload => {
    const b = addressBytes(address);
    if (!b) throw new LocalProtocolError(0, `NAT-OA: '${address}' is not an IP address`);
    return { type: 'NAT-OA', payloadType: 21, idType: b.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, address: b };
  };
  return [oa(initiatorAddress), oa(responderAddress)];
}

/**
 * The peer's NAT-OA payloads: none, or exactly two (initiator's, responder's), each an IPv4 or
 * IPv6 address of the right length. Returns the two addresses as text, undefined when there are
 * none; throws PAYLOAD_MALFORMED otherwise.
 */
export function readNatOa(payloads: readonly NatOaPayload[]): { initiator: string; responder: string } | undefined {
  if (payloads.length === 0) return undefined;
  if (payloads.length !== 2) throw new RemoteProtocolError(NotifyType.PAYLOAD_MALFORMED, `${payloads.length} NAT-OA payloads (none or two)`);
  const text = (p: NatOaPayload): string => {
    const ok = (p.idType === IdType.ID_IPV4_ADDR && p.address.length === 4) || (p.idType === IdType.ID_IPV6_ADDR && p.address.length === 16);
    if (!ok) throw new RemoteProtocolError(NotifyType.PAYLOAD_MALFORMED, `NAT-OA with ID type ${p.idType} and ${p.address.length} address bytes`);
    return formatAddress(p.address);
  };
  const [i, r] = payloads;
  if (!i || !r) throw new RemoteProtocolError(NotifyType.PAYLOAD_MALFORMED, 'NAT-OA: need two payloads');
  return { initiator: text(i), responder: text(r) };
}

/** 'tunnel' or 'transport' for an encapsulation mode, UDP-encapsulated (RFC 3947 §5.1: 3, 4) or not (1, 2). */
export function modeName(mode: number): 'tunnel' | 'transport' {
  return mode === EncapsulationMode.TRANSPORT || mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT ? 'transport' : 'tunnel';
}

/** RFC 3947 §5.1 mode of an RFC 2407 mode under UDP encapsulation (tunnel 1→3, transport 2→4). */
export function encapsulatedMode(mode: number): number {
  if (mode === EncapsulationMode.TUNNEL) return EncapsulationMode.UDP_ENCAPSULATED_TUNNEL;
  if (mode === EncapsulationMode.TRANSPORT) return EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT;
  return mode;
}

const mapped = new WeakMap<readonly IpsecProposal[], readonly IpsecProposal[]>();

/** The proposals with their modes switched to the UDP-encapsulated ones (cached per list). */
export function encapsulatedProposals(ps: readonly IpsecProposal[]): readonly IpsecProposal[] {
  let m = mapped.get(ps);
  if (!m) {
    m = ps.map((p) => ({ ...p, mode: encapsulatedMode(p.mode) }));
    mapped.set(ps, m);
  }
  return m;
}
