/**
 * RFC 2409 Appendix A: attribute classes and values of the IKE (phase 1) SA,
 * extended by RFC 3526 / 5114 / 5903 (groups), RFC 4868 (SHA-2 hashes), RFC 4754 (ECDSA auth),
 * RFC 3602 (AES) and the XAUTH draft (hybrid/xauth auth methods).
 */

/** RFC 2409 App. A: phase-1 attribute classes. "B" = basic (TV), "V" = variable (TLV). */
export const IkeAttr = {
  ENCRYPTION_ALGORITHM: 1, // B
  HASH_ALGORITHM: 2, // B
  AUTHENTICATION_METHOD: 3, // B
  GROUP_DESCRIPTION: 4, // B
  GROUP_TYPE: 5, // B
  GROUP_PRIME: 6, // V
  GROUP_GENERATOR_ONE: 7, // V
  GROUP_GENERATOR_TWO: 8, // V
  GROUP_CURVE_A: 9, // V
  GROUP_CURVE_B: 10, // V
  LIFE_TYPE: 11, // B
  LIFE_DURATION: 12, // V
  PRF: 13, // B
  KEY_LENGTH: 14, // B
  FIELD_SIZE: 15, // B
  GROUP_ORDER: 16, // V
} as const;

/** Classes RFC 2409 App. A defines as Basic (TV); the others are Variable (TLV). */
export const IKE_BASIC_ATTRS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 11, 13, 14, 15]);

/** RFC 2409 App. A Encryption Algorithm (+ RFC 3602 AES, camellia RFC 4312). */
export const EncryptionAlgorithm = {
  DES_CBC: 1,
  IDEA_CBC: 2,
  BLOWFISH_CBC: 3,
  RC5_R16_B64_CBC: 4,
  '3DES_CBC': 5,
  CAST_CBC: 6,
  AES_CBC: 7,
  CAMELLIA_CBC: 8,
} as const;

/** RFC 2409 App. A Hash Algorithm (+ RFC 4868 §? via IANA: SHA2 256/384/512 = 4/5/6). */
export const HashAlgorithm = {
  MD5: 1,
  SHA: 2,
  TIGER: 3,
  SHA2_256: 4,
  SHA2_384: 5,
  SHA2_512: 6,
} as const;

/** RFC 2409 App. A Authentication Method (+ RFC 4754 ECDSA, XAUTH draft hybrid/xauth). */
export const AuthMethod = {
  PRE_SHARED_KEY: 1,
  DSS_SIGNATURES: 2,
  RSA_SIGNATURES: 3,
  RSA_ENCRYPTION: 4,
  REVISED_RSA_ENCRYPTION: 5,
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  HYBRID_INIT_RSA: 64221,
  HYBRID_RESP_RSA: 64222,
  HYBRID_INIT_DSS: 64223,
  HYBRID_RESP_DSS: 64224,
  XAUTH_INIT_PRESHARED: 65001,
  XAUTH_RESP_PRESHARED: 65002,
  XAUTH_INIT_DSS: 65003,
  XAUTH_RESP_DSS: 65004,
  XAUTH_INIT_RSA: 65005,
  XAUTH_RESP_RSA: 65006,
  XAUTH_INIT_RSA_ENCRYPTION: 65007,
  XAUTH_RESP_RSA_ENCRYPTION: 65008,
  XAUTH_INIT_RSA_REVISED_ENCRYPTION: 65009,
  XAUTH_RESP_RSA_REVISED_ENCRYPTION: 65010,
} as const;

/** IANA "IPSEC Group Description" (RFC 2409 §6, RFC 3526, RFC 5114, RFC 5903, RFC 6932). */
export const GroupDescription = {
  MODP_768: 1,
  MODP_1024: 2,
  EC2N_155: 3,
  EC2N_185: 4,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  MODP_1024_160_POS: 22,
  MODP_2048_224_POS: 23,
  MODP_2048_256_POS: 24,
  ECP_192: 25,
  ECP_224: 26,
  BRAINPOOL_P224R1: 27,
  BRAINPOOL_P256R1: 28,
  BRAINPOOL_P384R1: 29,
  BRAINPOOL_P512R1: 30,
} as const;

/** RFC 2409 App. A Group Type. */
export const GroupType = {
  MODP: 1,
  ECP: 2,
  EC2N: 3,
} as const;

/** RFC 2409 App. A Life Type (phase 1). */
export const LifeType = {
  SECONDS: 1,
  KILOBYTES: 2,
} as const;
