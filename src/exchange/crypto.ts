/**
 * The crypto functions the engine uses, in one place (RFC 2409 §5, App. B). Everything comes from
 * src/crypto; this file only names the subset and adds the small glue the engine needs.
 */
export { prf, hash, prfAlgFromHashId, prfLength, type PrfAlg } from '../crypto/prf.js';
export { deriveSkeyid, derivePhase1Keys, deriveEncryptionKey, deriveKeymat } from '../crypto/kdf.js';
export { hashI, hashR, quickModeHash1, quickModeHash2, quickModeHash3, informationalHash, verifyHash } from '../crypto/auth-hash.js';
export { cipherFor, encryptMessage, decryptMessage, type CipherInfo } from '../crypto/cipher.js';
export { dhKeyPair, dhPrivateKeyLength, dhGroupInfo, type DhKeyPair } from '../crypto/dh.js';
export { phase1Iv, phase2Iv } from '../crypto/iv.js';
export { rsaSignHash, rsaVerifyHash } from '../crypto/rsa.js';
export { constantTimeEqual, wipe } from '../crypto/bytes.js';
