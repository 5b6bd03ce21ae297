/**
 * Diffie-Hellman for IKEv1 (RFC 2409 §6, RFC 3526, RFC 5114, RFC 5903) over node:crypto.
 *
 * - MODP groups 1, 2, 5, 14–18 and the RFC 5114 subgroup groups 22–24. One long-lived
 *   `DiffieHellman` object per group (created lazily, never one per SA): `setPrivateKey(x)` then
 *   `computeSecret`, which costs one exponentiation and no primality test (see PERFORMANCE.md).
 * - ECP groups 19, 20, 21 (RFC 5903), 25, 26 (RFC 5114) and the Brainpool groups 27–30 (RFC 6932):
 *   KE data is x‖y, each coordinate padded to the field size, no 0x04 prefix; the shared secret
 *   g^xy is the x coordinate only.
 * - Sans-IO: the caller supplies the private value as bytes (`dhPrivateKeyLength(group)` bytes of
 *   randomness); nothing here draws random numbers.
 * - Every peer public value is validated and refused with RemoteProtocolError(INVALID_KEY_INFORMATION):
 *   MODP exact length and 1 < y < p−1; groups 22–24 also y^q ≡ 1 (mod p); ECP exact length
 *   2 × field, both coordinates < p, point on the curve.
 * - g^xy is always returned fixed length, big-endian, leading zeros kept.
 * @module
 */
import { createDiffieHellman, createECDH, getDiffieHellman, ECDH, type DiffieHellman } from 'node:crypto';
import { NotifyType } from '../constants/index.js';
import { RemoteProtocolError } from '../errors.js';
import { compareBe, constantTimeEqual, copyBytes, fromHex, isZero, leftPad, toHex, u8 } from './bytes.js';
import { RFC5114_GROUPS } from './_rfc5114.js';

/** Static description of a supported Diffie-Hellman group. */
export interface DhGroupInfo {
  /** IKE Group Description attribute value. */
  readonly id: number;
  /** The RFC's name ("MODP-2048", "ECP-256"). */
  readonly name: string;
  /**
   * The compact name of the proposal syntax (`aes128-sha256-modp2048`), also used by `status` and
   * the logs: modp768 … modp8192, ecp256/384/521, the RFC 5114 modp1024s160 / modp2048s224 /
   * modp2048s256 and ecp192 / ecp224, and the Brainpool ecp224bp … ecp512bp.
   */
  readonly shortName: string;
  /**
   * True when the engine offers and accepts the group in proposals (and the configuration has a
   * name for it): 1, 2, 5, 14–24. Groups 25–30 are computed here but not negotiated.
   */
  readonly negotiable: boolean;
  readonly kind: 'modp' | 'ecp';
  /** Size of the prime (MODP) or of the field (ECP) in bits. */
  readonly bits: number;
  /** Length in bytes of the KE payload data: |p| for MODP, 2 × field bytes for ECP. */
  readonly publicKeyLength: number;
  /** Length in bytes of g^xy: |p| for MODP, field bytes (x only) for ECP. */
  readonly sharedSecretLength: number;
  /** Bytes of randomness the caller supplies as private value (see docs/crypto.md). */
  readonly privateKeyLength: number;
  /** Estimated security strength in bits (NIST SP 800-57 style). */
  readonly securityBits: number;
  /** True if a connection must opt in explicitly to use this group (Logjam / small-subgroup risk). */
  readonly weak: boolean;
  /** Why the group is weak, when it is. */
  readonly weakReason?: string;
  /** Where the constants come from. */
  readonly source: string;
}

interface ModpSpec extends DhGroupInfo {
  readonly kind: 'modp';
  /** node:crypto named group, for groups whose prime node knows. */
  readonly nodeGroup?: string;
  /** RFC 5114 group: prime-order subgroup check needed. */
  readonly rfc5114?: 22 | 23 | 24;
}
interface EcpSpec extends DhGroupInfo {
  readonly kind: 'ecp';
  readonly curve: string;
  /** Field prime p and group order n, big-endian hex (FIPS 186-4 D.1.2 / SEC 2). */
  readonly pHex: string;
  readonly nHex: string;
}

const LOGJAM = 'MODP group below 2048 bits (Logjam: precomputation against shared 768/1024/1536-bit primes)';
const SUBGROUP = 'RFC 5114 group: not a safe prime, peers must check y^q = 1 (small-subgroup attacks, Valenta et al. 2017)';

const SPECS: ReadonlyArray<ModpSpec | EcpSpec> = [
  { id: 1, name: 'MODP-768', shortName: 'modp768', negotiable: true, kind: 'modp', bits: 768, publicKeyLength: 96, sharedSecretLength: 96, privateKeyLength: 32, securityBits: 60, weak: true, weakReason: LOGJAM, source: 'RFC 2409 §6.1', nodeGroup: 'modp1' },
  { id: 2, name: 'MODP-1024', shortName: 'modp1024', negotiable: true, kind: 'modp', bits: 1024, publicKeyLength: 128, sharedSecretLength: 128, privateKeyLength: 32, securityBits: 80, weak: true, weakReason: LOGJAM, source: 'RFC 2409 §6.2', nodeGroup: 'modp2' },
  { id: 5, name: 'MODP-1536', shortName: 'modp1536', negotiable: true, kind: 'modp', bits: 1536, publicKeyLength: 192, sharedSecretLength: 192, privateKeyLength: 32, securityBits: 96, weak: true, weakReason: LOGJAM, source: 'RFC 3526 §2', nodeGroup: 'modp5' },
  { id: 14, name: 'MODP-2048', shortName: 'modp2048', negotiable: true, kind: 'modp', bits: 2048, publicKeyLength: 256, sharedSecretLength: 256, privateKeyLength: 32, securityBits: 112, weak: false, source: 'RFC 3526 §3', nodeGroup: 'modp14' },
  { id: 15, name: 'MODP-3072', shortName: 'modp3072', negotiable: true, kind: 'modp', bits: 3072, publicKeyLength: 384, sharedSecretLength: 384, privateKeyLength: 32, securityBits: 128, weak: false, source: 'RFC 3526 §4', nodeGroup: 'modp15' },
  { id: 16, name: 'MODP-4096', shortName: 'modp4096', negotiable: true, kind: 'modp', bits: 4096, publicKeyLength: 512, sharedSecretLength: 512, privateKeyLength: 38, securityBits: 152, weak: false, source: 'RFC 3526 §5', nodeGroup: 'modp16' },
  { id: 17, name: 'MODP-6144', shortName: 'modp6144', negotiable: true, kind: 'modp', bits: 6144, publicKeyLength: 768, sharedSecretLength: 768, privateKeyLength: 44, securityBits: 176, weak: false, source: 'RFC 3526 §6', nodeGroup: 'modp17' },
  { id: 18, name: 'MODP-8192', shortName: 'modp8192', negotiable: true, kind: 'modp', bits: 8192, publicKeyLength: 1024, sharedSecretLength: 1024, privateKeyLength: 50, securityBits: 200, weak: false, source: 'RFC 3526 §7', nodeGroup: 'modp18' },
  { id: 19, name: 'ECP-256', shortName: 'ecp256', negotiable: true, kind: 'ecp', bits: 256, publicKeyLength: 64, sharedSecretLength: 32, privateKeyLength: 40, securityBits: 128, weak: false, source: 'RFC 5903 §3.1 (NIST P-256)', curve: 'prime256v1',
    pHex: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
    nHex: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551' },
  { id: 20, name: 'ECP-384', shortName: 'ecp384', negotiable: true, kind: 'ecp', bits: 384, publicKeyLength: 96, sharedSecretLength: 48, privateKeyLength: 56, securityBits: 192, weak: false, source: 'RFC 5903 §3.2 (NIST P-384)', curve: 'secp384r1',
    pHex: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff',
    nHex: 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973' },
  { id: 21, name: 'ECP-521', shortName: 'ecp521', negotiable: true, kind: 'ecp', bits: 521, publicKeyLength: 132, sharedSecretLength: 66, privateKeyLength: 74, securityBits: 256, weak: false, source: 'RFC 5903 §3.3 (NIST P-521)', curve: 'secp521r1',
    pHex: '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    nHex: '01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409' },
  { id: 22, name: 'MODP-1024-160', shortName: 'modp1024s160', negotiable: true, kind: 'modp', bits: 1024, publicKeyLength: 128, sharedSecretLength: 128, privateKeyLength: 19, securityBits: 80, weak: true, weakReason: SUBGROUP, source: 'RFC 5114 §2.1', rfc5114: 22 },
  { id: 23, name: 'MODP-2048-224', shortName: 'modp2048s224', negotiable: true, kind: 'modp', bits: 2048, publicKeyLength: 256, sharedSecretLength: 256, privateKeyLength: 27, securityBits: 112, weak: true, weakReason: SUBGROUP, source: 'RFC 5114 §2.2', rfc5114: 23 },
  { id: 24, name: 'MODP-2048-256', shortName: 'modp2048s256', negotiable: true, kind: 'modp', bits: 2048, publicKeyLength: 256, sharedSecretLength: 256, privateKeyLength: 31, securityBits: 112, weak: true, weakReason: SUBGROUP, source: 'RFC 5114 §2.3', rfc5114: 24 },
  { id: 25, name: 'ECP-192', shortName: 'ecp192', negotiable: false, kind: 'ecp', bits: 192, publicKeyLength: 48, sharedSecretLength: 24, privateKeyLength: 32, securityBits: 96, weak: true, weakReason: 'ECP group below 224 bits (96-bit security)', source: 'RFC 5114 §2.6 (NIST P-192)', curve: 'prime192v1',
    pHex: 'fffffffffffffffffffffffffffffffeffffffffffffffff',
    nHex: 'ffffffffffffffffffffffff99def836146bc9b1b4d22831' },
  { id: 26, name: 'ECP-224', shortName: 'ecp224', negotiable: false, kind: 'ecp', bits: 224, publicKeyLength: 56, sharedSecretLength: 28, privateKeyLength: 36, securityBits: 112, weak: false, source: 'RFC 5114 §2.7 (NIST P-224)', curve: 'secp224r1',
    pHex: 'ffffffffffffffffffffffffffffffff000000000000000000000001',
    nHex: 'ffffffffffffffffffffffffffff16a2e0b8f03e13dd29455c5c2a3d' },
  { id: 27, name: 'BRAINPOOL-P224R1', shortName: 'ecp224bp', negotiable: false, kind: 'ecp', bits: 224, publicKeyLength: 56, sharedSecretLength: 28, privateKeyLength: 36, securityBits: 112, weak: false, source: 'RFC 6932 §2.1 (RFC 5639 brainpoolP224r1)', curve: 'brainpoolP224r1',
    pHex: 'd7c134aa264366862a18302575d1d787b09f075797da89f57ec8c0ff',
    nHex: 'd7c134aa264366862a18302575d0fb98d116bc4b6ddebca3a5a7939f' },
  { id: 28, name: 'BRAINPOOL-P256R1', shortName: 'ecp256bp', negotiable: false, kind: 'ecp', bits: 256, publicKeyLength: 64, sharedSecretLength: 32, privateKeyLength: 40, securityBits: 128, weak: false, source: 'RFC 6932 §2.2 (RFC 5639 brainpoolP256r1)', curve: 'brainpoolP256r1',
    pHex: 'a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377',
    nHex: 'a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7' },
  { id: 29, name: 'BRAINPOOL-P384R1', shortName: 'ecp384bp', negotiable: false, kind: 'ecp', bits: 384, publicKeyLength: 96, sharedSecretLength: 48, privateKeyLength: 56, securityBits: 192, weak: false, source: 'RFC 6932 §2.3 (RFC 5639 brainpoolP384r1)', curve: 'brainpoolP384r1',
    pHex: '8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53',
    nHex: '8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565' },
  { id: 30, name: 'BRAINPOOL-P512R1', shortName: 'ecp512bp', negotiable: false, kind: 'ecp', bits: 512, publicKeyLength: 128, sharedSecretLength: 64, privateKeyLength: 72, securityBits: 256, weak: false, source: 'RFC 6932 §2.4 (RFC 5639 brainpoolP512r1)', curve: 'brainpoolP512r1',
    pHex: 'aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3',
    nHex: 'aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069' },
];

const BY_ID: ReadonlyMap<number, ModpSpec | EcpSpec> = new Map(SPECS.map((s) => [s.id, s]));

/** Every supported group, in IANA order. Groups with `weak: true` need an explicit opt-in. */
export const DH_GROUPS: ReadonlyArray<DhGroupInfo> = SPECS.map(publicInfo);
const INFO_BY_ID: ReadonlyMap<number, DhGroupInfo> = new Map(DH_GROUPS.map((g) => [g.id, g]));

function publicInfo(s: ModpSpec | EcpSpec): DhGroupInfo {
  const { id, name, shortName, negotiable, kind, bits, publicKeyLength, sharedSecretLength, privateKeyLength, securityBits, weak, weakReason, source } = s;
  return Object.freeze(weakReason === undefined
    ? { id, name, shortName, negotiable, kind, bits, publicKeyLength, sharedSecretLength, privateKeyLength, securityBits, weak, source }
    : { id, name, shortName, negotiable, kind, bits, publicKeyLength, sharedSecretLength, privateKeyLength, securityBits, weak, weakReason, source });
}

/** The description of IKE group `id`, or undefined if it is not supported. */
export function dhGroupInfo(id: number): DhGroupInfo | undefined {
  return INFO_BY_ID.get(id);
}

/** True if group `id` is supported and either strong or explicitly allowed (`allowWeak`). */
export function isDhGroupAllowed(id: number, opts: { allowWeak?: boolean } = {}): boolean {
  const s = BY_ID.get(id);
  return s !== undefined && (!s.weak || opts.allowWeak === true);
}

/** Bytes of randomness the caller must supply as the private value of group `group`. */
export function dhPrivateKeyLength(group: number | DhGroupInfo): number {
  return spec(group).privateKeyLength;
}

function spec(group: number | DhGroupInfo): ModpSpec | EcpSpec {
  const id = typeof group === 'number' ? group : group.id;
  const s = BY_ID.get(id);
  if (!s) throw new RangeError(`Diffie-Hellman group ${id} is not supported`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Long-lived per-group state (lazy; one object per group per thread).

interface ModpState {
  readonly dh: DiffieHellman;
  readonly g: Uint8Array;
  readonly pMinus1: Uint8Array;
  /** RFC 5114 groups: q + 1 as a private exponent, so y^(q+1) = y exactly when y^q = 1. */
  readonly qPlus1?: Uint8Array;
}
interface EcpState {
  readonly ecdh: ECDH;
  readonly p: Uint8Array;
  readonly n: bigint;
  readonly nMinus1: bigint;
  readonly nBytes: Uint8Array;
  readonly fieldBytes: number;
  /** Whether the shared ECDH object holds a private key yet (getPrivateKey throws before). */
  loaded: boolean;
}

const modpStates = new Map<number, ModpState>();
/** Loaded into the shared MODP objects after each use so no exponent lingers there. */
const PLACEHOLDER = Uint8Array.of(1);
const ecpStates = new Map<number, EcpState>();

function modpState(s: ModpSpec): ModpState {
  let st = modpStates.get(s.id);
  if (st) return st;
  let p: Uint8Array, g: Uint8Array, qPlus1: Uint8Array | undefined;
  if (s.rfc5114 !== undefined) {
    const c = RFC5114_GROUPS[s.rfc5114];
    p = fromHex(c.p);
    g = leftPad(fromHex(c.g), p.byteLength);
    const q1 = BigInt('0x' + c.q) + 1n;
    qPlus1 = fromHex(q1.toString(16).padStart(c.q.length, '0'));
  } else {
    p = u8(getDiffieHellman(s.nodeGroup!).getPrime());
    g = Uint8Array.of(2);
  }
  const pMinus1 = copyBytes(p);
  pMinus1[pMinus1.byteLength - 1]! -= 1; // p is odd: no borrow
  const dh = createDiffieHellman(p, g);
  st = qPlus1 ? { dh, g, pMinus1, qPlus1 } : { dh, g, pMinus1 };
  modpStates.set(s.id, st);
  return st;
}

function ecpState(s: EcpSpec): EcpState {
  let st = ecpStates.get(s.id);
  if (st) return st;
  const fieldBytes = s.publicKeyLength / 2;
  st = { ecdh: createECDH(s.curve), p: leftPad(fromHex(s.pHex), fieldBytes), n: BigInt('0x' + s.nHex), nMinus1: BigInt('0x' + s.nHex) - 1n, nBytes: leftPad(fromHex(s.nHex), fieldBytes), fieldBytes, loaded: false };
  ecpStates.set(s.id, st);
  return st;
}

function invalidKey(reason: string): RemoteProtocolError {
  return new RemoteProtocolError(NotifyType.INVALID_KEY_INFORMATION, reason);
}

// ---------------------------------------------------------------------------------------------
// Private values

function checkModpPrivate(s: ModpSpec, x: Uint8Array): void {
  if (!(x instanceof Uint8Array)) throw new TypeError('private key must be a Uint8Array');
  if (x.byteLength === 0 || x.byteLength > s.publicKeyLength) throw new RangeError(`private key for group ${s.id} must be 1..${s.publicKeyLength} bytes`);
  if (isZero(x)) throw new RangeError('private key must not be zero');
}

/**
 * ECP private scalar from caller bytes: interpreted big-endian; used as is if 1 ≤ x ≤ n−1,
 * otherwise reduced to 1 + (x mod (n−1)). With `dhPrivateKeyLength` bytes (field + 8 bytes) of
 * uniform randomness the bias is below 2^-64 (FIPS 186-4 B.4.1 "extra random bits").
 */
export function dhNormalizePrivateKey(group: number | DhGroupInfo, privateKey: Uint8Array): Uint8Array {
  const s = spec(group);
  if (s.kind === 'modp') {
    checkModpPrivate(s, privateKey);
    return privateKey;
  }
  return ecpScalar(s, ecpState(s), privateKey);
}

function ecpScalar(s: EcpSpec, st: EcpState, x: Uint8Array): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new TypeError('private key must be a Uint8Array');
  if (x.byteLength === 0 || x.byteLength > 256) throw new RangeError(`private key for group ${s.id} must be 1..256 bytes`);
  // fast path: an exact-length scalar already in [1, n-1] is used unchanged
  if (x.byteLength === st.fieldBytes && !isZero(x) && compareBe(x, st.nBytes) < 0) return copyBytes(x);
  let v = BigInt('0x' + toHex(x));
  if (v === 0n || v >= st.n) v = 1n + (v % st.nMinus1);
  const out = new Uint8Array(st.fieldBytes);
  Buffer.from(out.buffer).write(v.toString(16).padStart(st.fieldBytes * 2, '0'), 'hex');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Public values

/** g^x for group `group` and private value `privateKey`: the KE payload data (fixed length). */
export function dhPublicKey(group: number | DhGroupInfo, privateKey: Uint8Array): Uint8Array {
  const s = spec(group);
  if (s.kind === 'modp') {
    const st = modpState(s);
    checkModpPrivate(s, privateKey);
    let y: Uint8Array;
    try {
      st.dh.setPrivateKey(privateKey);
      // g^x via computeSecret(g): node pads the result to |p| and runs no extra checks on g.
      y = leftPad(u8(st.dh.computeSecret(st.g)), s.publicKeyLength);
    } catch {
      // OpenSSL refuses a result of 1: x is a multiple of the order of g
      throw new RangeError(`private key for group ${s.id} gives a degenerate public value`);
    } finally {
      st.dh.setPrivateKey(PLACEHOLDER); // OpenSSL clears the replaced exponent
    }
    return y;
  }
  const st = ecpState(s);
  const scalar = ecpScalar(s, st, privateKey);
  st.ecdh.setPrivateKey(scalar);
  st.loaded = true;
  scalar.fill(0);
  return copyBytes(st.ecdh.getPublicKey(), 1);
}

/**
 * Validate a peer's KE data for `group`. Throws RemoteProtocolError(INVALID_KEY_INFORMATION) if
 * it has the wrong length, is out of range (MODP: not 1 < y < p−1; ECP: a coordinate ≥ p), is not
 * in the prime-order subgroup (groups 22–24) or is not on the curve (ECP).
 */
export function validateDhPublicKey(group: number | DhGroupInfo, peerPublic: Uint8Array): void {
  const s = spec(group);
  if (s.kind === 'modp') validateModp(s, modpState(s), peerPublic);
  else {
    const st = ecpState(s);
    validateEcpRange(s, st, peerPublic);
    try {
      ECDH.convertKey(withPrefix(peerPublic), s.curve, undefined, undefined, 'compressed');
    } catch {
      throw invalidKey(`group ${s.id}: public point is not on the curve`);
    }
  }
}

function validateModp(s: ModpSpec, st: ModpState, y: Uint8Array): void {
  if (!(y instanceof Uint8Array) || y.byteLength !== s.publicKeyLength) {
    throw invalidKey(`group ${s.id}: public value must be exactly ${s.publicKeyLength} bytes, got ${y?.byteLength}`);
  }
  // y <= 1: every byte but the last is zero and the last is 0 or 1 (public value: early exit is fine).
  let high = y.byteLength - 1;
  for (let i = 0; i < y.byteLength - 1; i++) {
    if (y[i] !== 0) {
      high = i;
      break;
    }
  }
  if (high === y.byteLength - 1 && y[high]! <= 1) throw invalidKey(`group ${s.id}: public value is 0 or 1`);
  if (compareBe(y, st.pMinus1) >= 0) throw invalidKey(`group ${s.id}: public value is >= p-1`);
  if (st.qPlus1) {
    // y^q = 1 (mod p)  <=>  y^(q+1) = y (mod p), y being invertible. One short exponentiation.
    let r: Uint8Array;
    try {
      st.dh.setPrivateKey(st.qPlus1);
      r = leftPad(u8(st.dh.computeSecret(y)), s.publicKeyLength);
    } catch {
      throw invalidKey(`group ${s.id}: public value rejected by subgroup check`);
    }
    if (!constantTimeEqual(r, y)) throw invalidKey(`group ${s.id}: public value is not in the prime-order subgroup (y^q != 1)`);
  }
}

function validateEcpRange(s: EcpSpec, st: EcpState, pub: Uint8Array): void {
  if (!(pub instanceof Uint8Array) || pub.byteLength !== s.publicKeyLength) {
    throw invalidKey(`group ${s.id}: public value must be exactly ${s.publicKeyLength} bytes (x||y), got ${pub?.byteLength}`);
  }
  const f = st.fieldBytes;
  if (compareBe(pub.subarray(0, f), st.p) >= 0) throw invalidKey(`group ${s.id}: x coordinate >= p`);
  if (compareBe(pub.subarray(f), st.p) >= 0) throw invalidKey(`group ${s.id}: y coordinate >= p`);
}

function withPrefix(xy: Uint8Array): Uint8Array {
  const out = new Uint8Array(xy.byteLength + 1);
  out[0] = 0x04;
  out.set(xy, 1);
  return out;
}

/**
 * g^xy from our private value and the peer's KE data, after validating the peer value
 * (RemoteProtocolError(INVALID_KEY_INFORMATION) on any defect). Fixed length, big-endian:
 * |p| bytes for MODP, the x coordinate (field bytes) for ECP (RFC 5903 §7).
 */
export function dhSharedSecret(group: number | DhGroupInfo, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const s = spec(group);
  if (s.kind === 'modp') {
    const st = modpState(s);
    checkModpPrivate(s, privateKey);
    validateModp(s, st, peerPublic);
    return modpCompute(s, st, privateKey, peerPublic);
  }
  const st = ecpState(s);
  validateEcpRange(s, st, peerPublic);
  const scalar = ecpScalar(s, st, privateKey);
  // Skip the fixed-base multiplication setPrivateKey implies when the object already holds x.
  let same = false;
  if (st.loaded) {
    const cur = st.ecdh.getPrivateKey();
    same = constantTimeEqual(leftPad(u8(cur), st.fieldBytes), scalar);
    cur.fill(0);
  }
  if (!same) {
    st.ecdh.setPrivateKey(scalar);
    st.loaded = true;
  }
  scalar.fill(0);
  return ecpCompute(s, st.ecdh, st.fieldBytes, peerPublic);
}

function modpCompute(s: ModpSpec, st: ModpState, x: Uint8Array, y: Uint8Array): Uint8Array {
  let z: Uint8Array;
  try {
    st.dh.setPrivateKey(x);
    z = u8(st.dh.computeSecret(y));
  } catch {
    throw invalidKey(`group ${s.id}: Diffie-Hellman computation rejected the public value`);
  } finally {
    st.dh.setPrivateKey(PLACEHOLDER);
  }
  return leftPad(z, s.sharedSecretLength);
}

function ecpCompute(s: EcpSpec, ecdh: ECDH, fieldBytes: number, pub: Uint8Array): Uint8Array {
  let z: Uint8Array;
  try {
    z = u8(ecdh.computeSecret(withPrefix(pub)));
  } catch {
    throw invalidKey(`group ${s.id}: public point is not on the curve`);
  }
  return leftPad(z, fieldBytes);
}

/**
 * A private value bound to its group, for callers that keep one per SA. For ECP it owns its own
 * ECDH object, so the shared-secret computation does not repeat the public-key multiplication
 * when many SAs interleave (the stateless `dhSharedSecret` must then reload the scalar).
 */
export interface DhKeyPair {
  readonly group: DhGroupInfo;
  /** Our KE payload data (g^x). */
  readonly publicKey: Uint8Array;
  /** g^xy with the peer's KE data, validated as `dhSharedSecret` does. */
  computeSharedSecret(peerPublic: Uint8Array): Uint8Array;
  /** Forget the private value (best effort inside OpenSSL for ECP: the object is dropped). */
  wipe(): void;
}

class ModpKeyPair implements DhKeyPair {
  readonly group: DhGroupInfo;
  readonly publicKey: Uint8Array;
  #x: Uint8Array | undefined;
  readonly #id: number;
  constructor(s: ModpSpec, info: DhGroupInfo, privateKey: Uint8Array) {
    checkModpPrivate(s, privateKey);
    this.#id = s.id;
    this.#x = copyBytes(privateKey);
    this.group = info;
    this.publicKey = dhPublicKey(s.id, this.#x);
  }
  computeSharedSecret(peerPublic: Uint8Array): Uint8Array {
    if (!this.#x) throw new Error('DhKeyPair used after wipe()');
    return dhSharedSecret(this.#id, this.#x, peerPublic);
  }
  wipe(): void {
    this.#x?.fill(0);
    this.#x = undefined;
  }
}

class EcpKeyPair implements DhKeyPair {
  readonly group: DhGroupInfo;
  readonly publicKey: Uint8Array;
  #ecdh: ECDH | undefined;
  readonly #s: EcpSpec;
  readonly #st: EcpState;
  constructor(s: EcpSpec, info: DhGroupInfo, privateKey: Uint8Array) {
    const st = ecpState(s);
    const ecdh = createECDH(s.curve);
    const scalar = ecpScalar(s, st, privateKey);
    ecdh.setPrivateKey(scalar);
    scalar.fill(0);
    this.#s = s;
    this.#st = st;
    this.#ecdh = ecdh;
    this.group = info;
    this.publicKey = copyBytes(ecdh.getPublicKey(), 1);
  }
  computeSharedSecret(peerPublic: Uint8Array): Uint8Array {
    if (!this.#ecdh) throw new Error('DhKeyPair used after wipe()');
    validateEcpRange(this.#s, this.#st, peerPublic);
    return ecpCompute(this.#s, this.#ecdh, this.#st.fieldBytes, peerPublic);
  }
  wipe(): void {
    this.#ecdh = undefined;
  }
}

/** Make a DhKeyPair from caller-supplied private bytes (see `dhPrivateKeyLength`). */
export function dhKeyPair(group: number | DhGroupInfo, privateKey: Uint8Array): DhKeyPair {
  const s = spec(group);
  const info = INFO_BY_ID.get(s.id)!;
  return s.kind === 'modp' ? new ModpKeyPair(s, info, privateKey) : new EcpKeyPair(s, info, privateKey);
}
