/**
 * The crypto functions the engine uses, in one place (RFC 2409 §5, App. B). Everything comes from
 * src/crypto; this file only names the subset the engine depends on.
 */
export {
  prf,
  hash,
  prfAlgFromHashId,
  prfLength,
  type PrfAlg,
  deriveSkeyid,
  derivePhase1Keys,
  deriveEncryptionKey,
  deriveKeymat,
  hashI,
  hashR,
  quickModeHash1,
  quickModeHash2,
  quickModeHash3,
  informationalHash,
  verifyHash,
  cipherFor,
  encryptMessage,
  decryptMessage,
  type CipherInfo,
  dhKeyPair,
  dhPrivateKeyLength,
  dhGroupInfo,
  DH_GROUPS,
  type DhKeyPair,
  phase1Iv,
  phase2Iv,
  rsaSignHash,
  rsaVerifyHash,
  constantTimeEqual,
  wipe,
  verifyCertificateChain,
  certificateMatchesId,
  parseCertificate,
  dnEqual,
  type CertificateRevocationList,
} from '../crypto/index.js';
// internal to src/crypto (not in its public index): encryption straight into a datagram buffer
export { encryptMessageAt } from '../crypto/cipher.js';
// internal to src/crypto: byte concatenation (the ISAKMP SPI of a phase 1 is CKY-I | CKY-R), and
// hex for the vendor-ID constants
export { concatBytes, fromHex } from '../crypto/bytes.js';
