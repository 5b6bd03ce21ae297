/**
 * RFC 2409 §5 + App. B in one call: everything the ISAKMP SA needs once g^xy is known.
 * @module
 */
import { type CipherInfo } from './cipher.js';
import { phase1Iv } from './iv.js';
import { deriveEncryptionKey, derivePhase1Keys, deriveSkeyid, type SkeyidMethod } from './kdf.js';
import { type PrfAlg } from './prf.js';

export interface Phase1ScheduleInput {
  prf: PrfAlg;
  method: SkeyidMethod;
  psk?: Uint8Array;
  nonceI: Uint8Array;
  nonceR: Uint8Array;
  /** g^xy, fixed length. */
  gxy: Uint8Array;
  /** KE payload data of both sides (for the phase-1 IV). */
  gxi: Uint8Array;
  gxr: Uint8Array;
  ckyI: Uint8Array;
  ckyR: Uint8Array;
  cipher: CipherInfo;
}

export interface Phase1Schedule {
  skeyid: Uint8Array;
  skeyidD: Uint8Array;
  skeyidA: Uint8Array;
  skeyidE: Uint8Array;
  /** Ka: the cipher key (SKEYID_e truncated or App. B expanded). */
  encryptionKey: Uint8Array;
  /** IV of the first encrypted phase-1 message: hash(g^xi | g^xr) truncated to the block. */
  iv: Uint8Array;
}

/** SKEYID, SKEYID_d/_a/_e, Ka and the phase-1 IV. Wipe the result's buffers when the SA dies. */
export function derivePhase1Schedule(input: Phase1ScheduleInput): Phase1Schedule {
  const { prf, cipher } = input;
  const skeyid = deriveSkeyid(input);
  const { skeyidD, skeyidA, skeyidE } = derivePhase1Keys({ prf, skeyid, gxy: input.gxy, ckyI: input.ckyI, ckyR: input.ckyR });
  const encryptionKey = deriveEncryptionKey(prf, skeyidE, cipher.keyLength);
  const iv = phase1Iv(prf, input.gxi, input.gxr, cipher.blockSize);
  return { skeyid, skeyidD, skeyidA, skeyidE, encryptionKey, iv };
}
