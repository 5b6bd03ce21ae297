/**
 * The phase-1 key schedule as the engine runs it, through src/crypto: the chosen transform's prf
 * and cipher, `derivePhase1Schedule` once g^xy is known (RFC 2409 §5 and App. B: SKEYID, SKEYID_d,
 * SKEYID_a, SKEYID_e, Ka, the first phase-1 IV; no second sequencing here), the phase-1 IV moving
 * on, and the DH key pairs and nonces drawn from the injected randomness.
 * @module
 */
import * as C from './crypto.js';
import type { CipherInfo, DhKeyPair } from './crypto.js';
import type { Engine } from './engine.js';
import { hasKeys, isChosen, ivOf, type ChosenP1, type Handshake, type KeyedP1, type P1 } from './records.js';
import { missing } from './refusal.js';
import type { ChosenIke } from './types.js';

/**
 * One frozen ChosenIke per distinct value: thousands of SAs negotiate the same few transforms,
 * and each would otherwise keep its own copy. Bounded: only values that passed proposal
 * selection (configured transforms) get here, and the table is cleared if it ever grows large.
 */
const chosenTable = new Map<string, ChosenIke>();

/** The value interned last: nearly every SA of a gateway negotiates it again (no key string built then). */
let lastChosen: ChosenIke | undefined;

function sameChosen(a: ChosenIke, b: ChosenIke): boolean {
  return a.encryption === b.encryption && a.keyLength === b.keyLength && a.hash === b.hash && a.prf === b.prf && a.auth === b.auth && a.group === b.group && a.lifetimeSeconds === b.lifetimeSeconds && a.lifetimeKilobytes === b.lifetimeKilobytes;
}

function internChosen(c: ChosenIke): ChosenIke {
  if (lastChosen !== undefined && sameChosen(lastChosen, c)) return lastChosen;
  const k = `${c.encryption}/${c.keyLength}/${c.hash}/${c.prf}/${c.auth}/${c.group}/${c.lifetimeSeconds}/${c.lifetimeKilobytes ?? ''}`;
  let v = chosenTable.get(k);
  if (v === undefined) {
    if (chosenTable.size >= 256) chosenTable.clear();
    v = Object.freeze({ ...c });
    chosenTable.set(k, v);
  }
  lastChosen = v;
  return v;
}

const cipherCache = new Map<string, CipherInfo>();

function cipherCached(enc: number, bits: number | undefined): CipherInfo {
  const k = `${enc}/${bits ?? ''}`;
  let c = cipherCache.get(k);
  if (!c) cipherCache.set(k, (c = C.cipherFor(enc, bits)));
  return c;
}

/** The phase-1 transform is chosen: its prf and cipher follow. */
export function setChosen(p1: P1, chosen: ChosenIke): ChosenP1 {
  p1.chosen = internChosen(chosen);
  p1.prf = C.prfAlgFromHashId(chosen.hash);
  p1.cipher = cipherCached(chosen.encryption, chosen.encryption === 7 ? chosen.keyLength : undefined);
  return isChosen(p1) ? p1 : missing('chosen transform');
}

/** What the key schedule needs besides the SA: g^xy, both nonces and both public values. */
export interface KeyExchange {
  readonly gxy: Uint8Array;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  readonly gxi: Uint8Array;
  readonly gxr: Uint8Array;
}

/**
 * The keys of a phase 1 (`derivePhase1Schedule`), kept in one block, and what its authentication
 * hashes need in the handshake. g^xy and every intermediate key are wiped.
 */
export function deriveKeys(p1: ChosenP1, hs: Handshake, k: KeyExchange): KeyedP1 {
  const conn = p1.conn;
  const s = C.derivePhase1Schedule({
    prf: p1.prf,
    method: conn.auth === 'psk' ? 'psk' : 'sig',
    psk: conn.auth === 'psk' ? conn.psk : undefined,
    nonceI: k.ni,
    nonceR: k.nr,
    gxy: k.gxy,
    gxi: k.gxi,
    gxr: k.gxr,
    ckyI: p1.ic,
    ckyR: p1.rc,
    cipher: p1.cipher,
  });
  hs.auth = { skeyid: s.skeyid, gxi: k.gxi, gxr: k.gxr, saiB: hs.saiB };
  // What the SA keeps for its lifetime (cookies, SKEYID_d, SKEYID_a, the encryption key, the
  // phase-1 IV) lives in ONE buffer (P1.keys): the cookies are views of it kept in the record,
  // the three keys and the IV are viewed on use (records.ts: skeyidDOf, skeyidAOf, encKeyOf, ivOf). A
  // handful of heap objects per SA instead of three per byte array, and one off-heap allocation
  // instead of one per array handed to OpenSSL. The IV moves on in place (setIv).
  const block = new Uint8Array(p1.ic.length + p1.rc.length + s.skeyidD.length + s.skeyidA.length + s.encryptionKey.length + s.iv.length);
  let o = 0;
  const put = (b: Uint8Array): Uint8Array => {
    block.set(b, o);
    o += b.length;
    return block.subarray(o - b.length, o);
  };
  p1.ic = put(p1.ic);
  p1.rc = put(p1.rc);
  put(s.skeyidD);
  put(s.skeyidA);
  put(s.encryptionKey);
  put(s.iv);
  p1.keys = block;
  C.wipe(s.skeyidD, s.skeyidA, s.skeyidE, s.encryptionKey, k.gxy);
  return hasKeys(p1) ? p1 : missing('phase-1 keys');
}

/** The phase-1 IV moves on: copied into the SA's key block (see deriveKeys). */
export function setIv(p1: KeyedP1, iv: Uint8Array): void {
  // a CBC IV is one cipher block, the last of the message: always the length of the slot
  if (iv.length !== p1.cipher.blockSize) missing('an IV of one cipher block');
  ivOf(p1).set(iv);
}

/** A DH key pair from one draw of randomness; the drawn private bytes are wiped once copied. */
export function keyPair(x: Engine, group: number): DhKeyPair {
  const priv = x.random(C.dhPrivateKeyLength(group));
  const dh = C.dhKeyPair(group, priv);
  priv.fill(0);
  return dh;
}

/** A DH key pair and a nonce from ONE draw of the injected randomness (the DH part is wiped). */
export function keAndNonce(x: Engine, group: number): { dh: DhKeyPair; nonce: Uint8Array } {
  const dl = C.dhPrivateKeyLength(group);
  const r = x.random(dl + x.opt.nonceLength);
  const priv = r.subarray(0, dl);
  const dh = C.dhKeyPair(group, priv);
  priv.fill(0);
  return { dh, nonce: r.subarray(dl) };
}
