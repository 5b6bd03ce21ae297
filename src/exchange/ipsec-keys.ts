/**
 * Key sizes of the IPsec DOI's transforms (RFC 2407 §4.4, §4.5; RFC 4106 for AES-GCM): how many
 * KEYMAT bytes each protocol SA needs for its cipher and its integrity algorithm, which ciphers
 * carry a Key Length attribute, and which are combined-mode (AEAD).
 * @module
 */
import { AhTransformId, AuthAlgorithm, EspTransformId, ProtocolId } from '../constants/index.js';

/**
 * ESP combined-mode (AEAD) transforms: AES-GCM with an 8, 12 or 16-byte ICV (RFC 4106). Their
 * KEYMAT is the AES key followed by a 4-byte salt (RFC 4106 §8.1), and they carry no
 * Authentication Algorithm attribute.
 */
export const ESP_AEAD_ICV_BYTES: Readonly<Record<number, number>> = {
  [EspTransformId.ESP_AES_GCM_8]: 8,
  [EspTransformId.ESP_AES_GCM_12]: 12,
  [EspTransformId.ESP_AES_GCM_16]: 16,
};

/** RFC 4106 §8.1: the salt after the AES key in each direction's KEYMAT. */
export const AEAD_SALT_BYTES = 4;

/** A combined-mode ESP transform (integrity from the cipher itself). */
export function isAeadTransform(transformId: number): boolean {
  return ESP_AEAD_ICV_BYTES[transformId] !== undefined;
}

/** ESP ciphers with a Key Length attribute (AES-CBC, AES-GCM): the key bits we send or expect (default 128). */
export function espKeyLengthOf(spec: { readonly protocol: number; readonly transformId: number; readonly keyLength?: number | undefined }): number | undefined {
  if (spec.protocol !== ProtocolId.PROTO_IPSEC_ESP) return undefined;
  return spec.transformId === EspTransformId.ESP_AES_CBC || isAeadTransform(spec.transformId) ? spec.keyLength ?? 128 : undefined;
}

/** Key bytes for an ESP cipher (AES-GCM: the key and its salt); undefined when unsupported or the key length is wrong. */
export function espCipherKeyBytes(transformId: number, keyLengthBits: number | undefined): number | undefined {
  switch (transformId) {
    case EspTransformId.ESP_3DES:
      return keyLengthBits === undefined || keyLengthBits === 192 ? 24 : undefined;
    case EspTransformId.ESP_AES_CBC:
      return keyLengthBits === 128 || keyLengthBits === 192 || keyLengthBits === 256 ? keyLengthBits >> 3 : undefined;
    case EspTransformId.ESP_AES_GCM_8:
    case EspTransformId.ESP_AES_GCM_12:
    case EspTransformId.ESP_AES_GCM_16:
      return keyLengthBits === 128 || keyLengthBits === 192 || keyLengthBits === 256 ? (keyLengthBits >> 3) + AEAD_SALT_BYTES : undefined;
    case EspTransformId.ESP_NULL:
      return keyLengthBits === undefined ? 0 : undefined;
    default:
      return undefined;
  }
}

/** Integrity key bytes for an IPsec authentication algorithm (0 = none). */
export function authKeyBytes(alg: number): number | undefined {
  switch (alg) {
    case 0: return 0;
    case AuthAlgorithm.HMAC_MD5: return 16;
    case AuthAlgorithm.HMAC_SHA: return 20;
    case AuthAlgorithm.HMAC_SHA2_256: return 32;
    case AuthAlgorithm.HMAC_SHA2_384: return 48;
    case AuthAlgorithm.HMAC_SHA2_512: return 64;
    default: return undefined;
  }
}

/** The AH transform ID that goes with an authentication algorithm (RFC 2407 §4.4.3). */
export function ahTransformFor(alg: number): number | undefined {
  switch (alg) {
    case AuthAlgorithm.HMAC_MD5: return AhTransformId.AH_MD5;
    case AuthAlgorithm.HMAC_SHA: return AhTransformId.AH_SHA;
    case AuthAlgorithm.HMAC_SHA2_256: return AhTransformId.AH_SHA2_256;
    case AuthAlgorithm.HMAC_SHA2_384: return AhTransformId.AH_SHA2_384;
    case AuthAlgorithm.HMAC_SHA2_512: return AhTransformId.AH_SHA2_512;
    default: return undefined;
  }
}

/** KEYMAT length (encryption key + integrity key) of one protocol SA; undefined if unsupported or 0. */
export function keymatBytes(spec: { protocol: number; transformId: number; keyLength?: number | undefined; authAlgorithm?: number | undefined }): { enc: number; auth: number } | undefined {
  const auth = authKeyBytes(spec.authAlgorithm ?? 0);
  if (auth === undefined) return undefined;
  if (spec.protocol === ProtocolId.PROTO_IPSEC_AH) {
    if (auth === 0 || ahTransformFor(spec.authAlgorithm ?? 0) !== spec.transformId) return undefined;
    return { enc: 0, auth };
  }
  if (spec.protocol !== ProtocolId.PROTO_IPSEC_ESP) return undefined;
  const enc = espCipherKeyBytes(spec.transformId, spec.keyLength);
  if (enc === undefined || enc + auth === 0) return undefined;
  // combined mode: integrity comes with the cipher, an Authentication Algorithm is refused (RFC 4106 §8.3)
  if (isAeadTransform(spec.transformId)) return auth === 0 ? { enc, auth } : undefined;
  if (auth === 0) return undefined; // CBC without integrity is refused
  return { enc, auth };
}
