/**
 * RFC 2407 (the Internet IP Security Domain of Interpretation for ISAKMP) wire numbers,
 * extended by RFC 3602/4868/4106 (transforms, auth algorithms) and RFC 3947 (encapsulation modes).
 */

/** RFC 2407 §4.2 Situation bits (IPsec DOI). */
export const Situation = {
  SIT_IDENTITY_ONLY: 0x01,
  SIT_SECRECY: 0x02,
  SIT_INTEGRITY: 0x04,
} as const;
/** Bits RFC 2407 assigns; any other bit is SITUATION_NOT_SUPPORTED. */
export const SITUATION_DEFINED_BITS = 0x07;

/** RFC 2407 §4.4.3 IPSEC AH transform identifiers. */
export const AhTransformId = {
  AH_MD5: 2,
  AH_SHA: 3,
  AH_DES: 4,
  AH_SHA2_256: 5,
  AH_SHA2_384: 6,
  AH_SHA2_512: 7,
} as const;

/** RFC 2407 §4.4.4 IPSEC ESP transform identifiers (+ RFC 3602 AES-CBC, RFC 4106 GCM, RFC 4543 GMAC). */
export const EspTransformId = {
  ESP_DES_IV64: 1,
  ESP_DES: 2,
  ESP_3DES: 3,
  ESP_RC5: 4,
  ESP_IDEA: 5,
  ESP_CAST: 6,
  ESP_BLOWFISH: 7,
  ESP_3IDEA: 8,
  ESP_DES_IV32: 9,
  ESP_RC4: 10,
  ESP_NULL: 11,
  ESP_AES_CBC: 12,
  ESP_AES_CTR: 13,
  ESP_AES_CCM_8: 14,
  ESP_AES_CCM_12: 15,
  ESP_AES_CCM_16: 16,
  ESP_AES_GCM_8: 18,
  ESP_AES_GCM_12: 19,
  ESP_AES_GCM_16: 20,
  ESP_SEED_CBC: 21,
  ESP_CAMELLIA: 22,
  ESP_NULL_AUTH_AES_GMAC: 23,
} as const;

/** RFC 2407 §4.4.5 IPCOMP transform identifiers. */
export const IpcompTransformId = {
  IPCOMP_OUI: 1,
  IPCOMP_DEFLATE: 2,
  IPCOMP_LZS: 3,
  IPCOMP_LZJH: 4,
} as const;

/** RFC 2407 §4.5 IPsec SA attribute classes. */
export const IpsecAttr = {
  SA_LIFE_TYPE: 1, // B
  SA_LIFE_DURATION: 2, // V
  GROUP_DESCRIPTION: 3, // B
  ENCAPSULATION_MODE: 4, // B
  AUTHENTICATION_ALGORITHM: 5, // B
  KEY_LENGTH: 6, // B
  KEY_ROUNDS: 7, // B
  COMPRESS_DICTIONARY_SIZE: 8, // B
  COMPRESS_PRIVATE_ALGORITHM: 9, // V
  ECN_TUNNEL: 10, // B (RFC 3168)
  EXTENDED_SEQUENCE_NUMBER: 11, // B (RFC 4304)
} as const;

/** Classes RFC 2407 §4.5 defines as Basic (TV); the others are Variable (TLV). */
export const IPSEC_BASIC_ATTRS: ReadonlySet<number> = new Set([1, 3, 4, 5, 6, 7, 8, 10, 11]);

/** RFC 2407 §4.5 SA Life Type. */
export const SaLifeType = {
  SECONDS: 1,
  KILOBYTES: 2,
} as const;

/** RFC 2407 §4.5 Encapsulation Mode (+ RFC 3947 UDP encapsulation, + draft numbers). */
export const EncapsulationMode = {
  TUNNEL: 1,
  TRANSPORT: 2,
  UDP_ENCAPSULATED_TUNNEL: 3, // RFC 3947
  UDP_ENCAPSULATED_TRANSPORT: 4, // RFC 3947
  UDP_ENCAPSULATED_TUNNEL_DRAFT: 61443,
  UDP_ENCAPSULATED_TRANSPORT_DRAFT: 61444,
} as const;

/** RFC 2407 §4.5 Authentication Algorithm (+ RFC 4868 SHA-2 HMACs). */
export const AuthAlgorithm = {
  HMAC_MD5: 1,
  HMAC_SHA: 2,
  DES_MAC: 3,
  KPDK: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  HMAC_RIPEMD: 8,
  AES_XCBC_MAC: 9,
} as const;

/** RFC 2407 §4.6.2.1 Identification Type Values. */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_USER_FQDN: 3,
  ID_IPV4_ADDR_SUBNET: 4,
  ID_IPV6_ADDR: 5,
  ID_IPV6_ADDR_SUBNET: 6,
  ID_IPV4_ADDR_RANGE: 7,
  ID_IPV6_ADDR_RANGE: 8,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
} as const;

/** RFC 2408 §3.9 Certificate Encoding. */
export const CertEncoding = {
  NONE: 0,
  PKCS7_WRAPPED_X509: 1,
  PGP: 2,
  DNS_SIGNED_KEY: 3,
  X509_SIGNATURE: 4,
  X509_KEY_EXCHANGE: 5,
  KERBEROS_TOKENS: 6,
  CRL: 7,
  ARL: 8,
  SPKI: 9,
  X509_ATTRIBUTE: 10,
} as const;
