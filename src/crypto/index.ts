/**
 * `isakmp/crypto`: every algorithm IKEv1 peers negotiate and the RFC 2409 key schedule, as pure
 * functions over node:crypto. Sans-IO: no randomness, clock or I/O in here; private DH values,
 * nonces and the time for certificate checks are passed in by the caller.
 * All byte inputs are Uint8Array (Buffers work too); byte outputs are plain Uint8Array the
 * caller owns (wipe them with `wipe()` when the owning SA dies).
 * See docs/crypto.md for algorithm choices, exponent lengths and measurements.
 *
 * Exported API, grouped:
 *
 * Bytes
 *   constantTimeEqual(a, b)           constant-time equality (length mismatch → false)
 *   wipe(...bufs)                     zero key material
 *
 * Hash / prf (RFC 2409 App. A, RFC 4868 hash IDs)
 *   type PrfAlg = 'md5'|'sha1'|'sha256'|'sha384'|'sha512'
 *   prfAlgFromHashId(id)              1 MD5, 2 SHA1, 4/5/6 SHA2-256/384/512; else RemoteProtocolError(ATTRIBUTES_NOT_SUPPORTED)
 *   isSupportedHashId(id)             boolean form of the above
 *   prf(alg, key, ...data)            HMAC-alg(key, data...)
 *   hash(alg, ...data)                plain hash (IVs)
 *   prfLength(alg), PRF_OUTPUT_LENGTH output sizes
 *
 * Key schedule (RFC 2409 §5, §5.5, App. B) — NIST SP 800-135 contract names
 *   deriveSkeyid({prf, method:'psk'|'sig', psk?, nonceI, nonceR, gxy?})      SKEYID
 *   derivePhase1Keys({prf, skeyid, gxy, ckyI, ckyR}) → {skeyidD, skeyidA, skeyidE}
 *   expandKey(prf, key, length)       App. B: K1 = prf(key, 0x00), Kn+1 = prf(key, Kn), always applied
 *   deriveEncryptionKey(prf, skeyidE, keyLength)  Ka: SKEYID_e truncated, or App. B expanded if too short
 *   deriveKeymat({prf, skeyidD, protocol, spi, nonceI, nonceR, gxy?, length}) KEYMAT for one SPI (gxy = PFS)
 *   derivePhase1Schedule({...})       SKEYID, SKEYID_d/_a/_e, Ka and phase-1 IV in one call
 *
 * Ciphers and message encryption (RFC 2409 App. A/B, RFC 3602)
 *   cipherFor(encId, keyLengthBits?)  CipherInfo {id, name, nodeName, keyLength, blockSize}; RemoteProtocolError(ATTRIBUTES_NOT_SUPPORTED) with reason
 *   cipherRefusal(encId, keyLengthBits?)  reason string, or undefined if usable
 *   encryptMessage({cipher, key, iv, plaintext}) → {ciphertext, nextIv}   1..block zero bytes of padding, CBC
 *   decryptMessage({cipher, key, iv, ciphertext}) → {plaintext, nextIv}   never reads padding
 *   paddingLength(len, blockSize)
 *
 * IVs (RFC 2409 App. B)
 *   phase1Iv(prf, gxi, gxr, blockSize)                  hash(g^xi | g^xr) truncated
 *   phase2Iv(prf, lastPhase1Block, messageId, blockSize) hash(last phase-1 CBC block | M-ID) truncated (QM, Informational, Transaction)
 *   lastCipherBlock(ciphertext, blockSize)              CBC chaining: next IV
 *
 * Authentication hashes (RFC 2409 §5, §5.5, §5.7)
 *   hashI({prf, skeyid, gxi, gxr, ckyI, ckyR, saIBody, idIBody})   HASH_I
 *   hashR({prf, skeyid, gxi, gxr, ckyI, ckyR, saIBody, idRBody})   HASH_R
 *   quickModeHash1({prf, skeyidA, messageId, afterHash})           HASH(1)
 *   quickModeHash2({prf, skeyidA, messageId, nonceI, afterHash})   HASH(2)
 *   quickModeHash3({prf, skeyidA, messageId, nonceI, nonceR})      HASH(3)
 *   informationalHash({prf, skeyidA, messageId, afterHash})        Informational / Transaction HASH(1)
 *   verifyHash(expected, received)    constant-time compare
 *   natDetectionHash(alg, ckyI, ckyR, ip, port)  RFC 3947 NAT-D: hash(CKY-I | CKY-R | IP | Port)
 *
 * Diffie-Hellman (RFC 2409 §6, RFC 3526, RFC 5114, RFC 5903, RFC 6932): MODP 1, 2, 5, 14–18, 22–24; ECP 19–21, 25–30
 *   DH_GROUPS, dhGroupInfo(id)        the one group registry: id, name, shortName, negotiable, kind, sizes,
 *                                     privateKeyLength, securityBits, weak/weakReason
 *   isDhGroupAllowed(id, {allowWeak}) groups 1, 2, 5, 22–25 need allowWeak
 *   dhPrivateKeyLength(group)         bytes of randomness the caller supplies
 *   dhPublicKey(group, privateKey)    our KE data (MODP |p| bytes; ECP x‖y)
 *   dhSharedSecret(group, privateKey, peerPublic)  g^xy fixed length; validates peerPublic
 *   validateDhPublicKey(group, peerPublic)  RemoteProtocolError(INVALID_KEY_INFORMATION) on any defect
 *   dhKeyPair(group, privateKey)      per-SA handle {publicKey, computeSharedSecret, wipe} (fast path for ECP)
 *   dhNormalizePrivateKey(group, bytes)  the exponent/scalar actually used
 *
 * RSA signatures, IKEv1 style (PKCS#1 v1.5 type 1 over raw HASH, no DigestInfo)
 *   rsaSignHash(privateKey, hash, {minBits?})            signature bytes
 *   rsaVerifyHash(publicKey, expectedHash, sig, {minBits?})  throws RemoteProtocolError(AUTHENTICATION_FAILED)
 *   rsaModulusBits(key), pkcs1Type1Block(data, k), RSA_MIN_BITS (2048)
 *
 * Certificates (X509Certificate)
 *   parseCertificate(der)             RemoteProtocolError(INVALID_CERT_ENCODING) on failure
 *   verifyCertificateChain({certificates, trustAnchors, now, minRsaBits?, maxDepth?, crls?}) → {leaf, publicKey, chain}
 *   certificateMatchesId(cert, idType, idData)  ID payload vs subject / subjectAltName
 *   verifyCertificateChain also checks pathLenConstraint, name constraints, extended key usage
 *   (IKE_EKUS), unknown critical extensions, and revocation by `crls` (parseCrl → CertificateRevocationList)
 *   certificateSubjectDer(cert), certificateKeyUsage(cert)
 *   dnEqual(a, b)                     DER Names compared by RFC 5280 §7.1; dnKey(der) as a map key; dnText(der) for display
 *   parseCrl(der), crlPemBlocks(text), crlIssuerProblem(crl, issuerCert)   complete CRLs (RFC 5280 §5)
 *
 * Not provided: ECDSA signatures (auth methods 9–11). IKEv1 ECDSA signs the raw HASH_I/HASH_R
 * (strongSwan SIGN_ECDSA_WITH_NULL, r‖s); node:crypto only offers ECDSA over a digest it computes
 * itself, so this needs a dependency or hand-written curve arithmetic (see docs/crypto.md).
 * @module
 */
export { constantTimeEqual, wipe } from './bytes.js';
export { type PrfAlg, PRF_OUTPUT_LENGTH, prfAlgFromHashId, isSupportedHashId, prf, hash, prfLength } from './prf.js';
export {
  type SkeyidMethod,
  type DeriveSkeyidInput,
  type DerivePhase1KeysInput,
  type Phase1Keys,
  type DeriveKeymatInput,
  MAX_EXPANDED_KEY_LENGTH,
  deriveSkeyid,
  derivePhase1Keys,
  expandKey,
  deriveEncryptionKey,
  deriveKeymat,
} from './kdf.js';
export { type Phase1ScheduleInput, type Phase1Schedule, derivePhase1Schedule } from './schedule.js';
export {
  type CipherInfo,
  type EncryptInput,
  type EncryptResult,
  type DecryptInput,
  type DecryptResult,
  cipherFor,
  cipherRefusal,
  encryptMessage,
  decryptMessage,
  paddingLength,
} from './cipher.js';
export { phase1Iv, phase2Iv, lastCipherBlock } from './iv.js';
export {
  type Phase1HashInput,
  type Phase2HashInput,
  hashI,
  hashR,
  quickModeHash1,
  quickModeHash2,
  quickModeHash3,
  informationalHash,
  verifyHash,
  natDetectionHash,
} from './auth-hash.js';
export {
  type DhGroupInfo,
  type DhKeyPair,
  DH_GROUPS,
  dhGroupInfo,
  isDhGroupAllowed,
  dhPrivateKeyLength,
  dhPublicKey,
  dhSharedSecret,
  validateDhPublicKey,
  dhKeyPair,
  dhNormalizePrivateKey,
} from './dh.js';
export { type RsaOptions, RSA_MIN_BITS, rsaSignHash, rsaVerifyHash, rsaModulusBits, pkcs1Type1Block } from './rsa.js';
export {
  type VerifyChainInput,
  type VerifiedChain,
  MAX_CERT_SIZE,
  parseCertificate,
  verifyCertificateChain,
  certificateMatchesId,
  certificateSubjectDer,
  certificateKeyUsage,
  dnEqual,
} from './cert.js';
export { dnText, dnKey } from './dn.js';
export { IKE_EKUS } from './cert-path.js';
export { type CertificateRevocationList, CrlError, MAX_CRL_SIZE, parseCrl, crlPemBlocks, crlIssuerProblem } from './crl.js';
