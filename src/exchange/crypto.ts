/**
 * The crypto functions the engine uses, in one place (RFC 2409 §5, App. B). Everything comes from
 * src/crypto; this file only names the subset the engine depends on. The phase-1 key schedule is
 * `derivePhase1Schedule` (one call once g^xy is known), never re-sequenced here.
 */
export { prfAlgFromHashId, prfLength, type PrfAlg, derivePhase1Schedule, deriveKeymat } from '../crypto/index.js';
export { hashI, hashR, quickModeHash1, quickModeHash2, quickModeHash3, informationalHash, verifyHash } from '../crypto/index.js';
export { cipherFor, decryptMessage, type CipherInfo, dhKeyPair, dhPrivateKeyLength, type DhKeyPair, phase2Iv } from '../crypto/index.js';
export { rsaSignHash, rsaVerifyHash, wipe, verifyCertificateChain, certificateMatchesId, natDetectionHash } from '../crypto/index.js';
export { dnEqual, dnText, type CertificateRevocationList, DH_GROUPS, dhGroupInfo } from '../crypto/index.js';
// internal to src/crypto (not in its public index): encryption straight into a datagram buffer,
// decryption whose OpenSSL output is the plaintext
export { encryptMessageAt, decryptMessageOwned } from '../crypto/cipher.js';
// internal to src/crypto: byte concatenation (the ISAKMP SPI of a phase 1 is CKY-I | CKY-R)
export { concatBytes } from '../crypto/bytes.js';
// internal to src/crypto: the CA names a CERTREQ carries
export { caSubjectNames } from '../crypto/cert.js';
