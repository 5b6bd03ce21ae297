/** (split from endpoint.ts) */
import * as C from './crypto.js';
import { type CipherInfo, type DhKeyPair } from './crypto.js';
import { Engine } from './engine.js';
import { P1 } from './records.js';
import { type ChosenIke } from './types.js';

/**
 * One frozen ChosenIke per distinct value: thousands of SAs negotiate the same few transforms,
 * and each would otherwise keep its own copy. Bounded: only values that passed proposal
 * selection (configured transforms) get here, and the table is cleared if it ever grows large.
 */
export const chosenTable = new Map<string, ChosenIke>();

export function internChosen(c: ChosenIke): ChosenIke {
  const k = `${c.encryption}/${c.keyLength}/${c.hash}/${c.prf}/${c.auth}/${c.group}/${c.lifetimeSeconds}/${c.lifetimeKilobytes ?? ''}`;
  let v = chosenTable.get(k);
  if (v === undefined) {
    if (chosenTable.size >= 256) chosenTable.clear();
    v = Object.freeze({ ...c });
    chosenTable.set(k, v);
  }
  return v;
}

export const cipherCache = new Map<string, CipherInfo>();

export function cipherCached(enc: number, bits: number | undefined): CipherInfo {
  const k = `${enc}/${bits ?? ''}`;
  let c = cipherCache.get(k);
  if (!c) cipherCache.set(k, (c = C.cipherFor(enc, bits)));
  return c;
}

export function setChosen(eng: Engine, p1: P1, chosen: ChosenIke): void {
  p1.chosen = internChosen(chosen);
  p1.prf = C.prfAlgFromHashId(chosen.hash);
  p1.cipher = cipherCached(chosen.encryption, chosen.encryption === 7 ? chosen.keyLength : undefined);
}

/** SKEYID family, the phase-1 encryption key and the first phase-1 IV. */
export function deriveKeys(eng: Engine, p1: P1, gxy: Uint8Array): void {
  const hs = p1.hs!;
  const prf = p1.prf!;
  const cipher = p1.cipher!;
  const skeyid = p1.conn.auth === 'psk'
    ? C.deriveSkeyid({ prf, method: 'psk', psk: p1.conn.psk!, nonceI: hs.ni!, nonceR: hs.nr! })
    : C.deriveSkeyid({ prf, method: 'sig', gxy, nonceI: hs.ni!, nonceR: hs.nr! });
  const k = C.derivePhase1Keys({ prf, skeyid, gxy, ckyI: p1.ic, ckyR: p1.rc });
  hs.skeyid = skeyid;
  const encKey = C.deriveEncryptionKey(prf, k.skeyidE, cipher.keyLength);
  const iv = C.phase1Iv(prf, hs.gxi!, hs.gxr!, cipher.blockSize);
  // What the SA keeps for its lifetime (cookies, SKEYID_d, SKEYID_a, the encryption key, the
  // phase-1 IV) lives in ONE buffer, the fields being views of it: a handful of heap objects
  // per SA instead of three per byte array, and one off-heap allocation instead of one per
  // array handed to OpenSSL. The IV moves on in place (setIv).
  const block = new Uint8Array(p1.ic.length + p1.rc.length + k.skeyidD.length + k.skeyidA.length + encKey.length + iv.length);
  let o = 0;
  const put = (b: Uint8Array): Uint8Array => {
    block.set(b, o);
    o += b.length;
    return block.subarray(o - b.length, o);
  };
  p1.ic = put(p1.ic);
  p1.rc = put(p1.rc);
  p1.skeyidD = put(k.skeyidD);
  p1.skeyidA = put(k.skeyidA);
  p1.encKey = put(encKey);
  p1.iv = put(iv);
  C.wipe(k.skeyidD, k.skeyidA, k.skeyidE, encKey, gxy);
}

/** The phase-1 IV moves on: copied into the SA's key block (see deriveKeys). */
export function setIv(eng: Engine, p1: P1, iv: Uint8Array): void {
  const cur = p1.iv;
  if (cur && cur.length === iv.length) cur.set(iv);
  else p1.iv = iv;
}

/** A DH key pair from one draw of randomness; the drawn private bytes are wiped once copied. */
export function keyPair(eng: Engine, group: number): DhKeyPair {
  const x = eng.random(C.dhPrivateKeyLength(group));
  const dh = C.dhKeyPair(group, x);
  x.fill(0);
  return dh;
}

/** A DH key pair and a nonce from ONE draw of the injected randomness (the DH part is wiped). */
export function keAndNonce(eng: Engine, group: number): { dh: DhKeyPair; nonce: Uint8Array } {
  const dl = C.dhPrivateKeyLength(group);
  const r = eng.random(dl + eng.opt.nonceLength);
  const x = r.subarray(0, dl);
  const dh = C.dhKeyPair(group, x);
  x.fill(0);
  return { dh, nonce: r.subarray(dl) };
}
