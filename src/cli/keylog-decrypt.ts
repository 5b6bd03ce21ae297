/**
 * Decryption of IKEv1 messages in a capture with a key log (`isakmp decode --keylog FILE`), the
 * way Wireshark's ikev1_decryption_table works: the log gives the phase-1 encryption key per
 * initiator cookie; everything else comes from the capture itself (RFC 2409 App. B):
 *   - the cipher and hash: the responder's chosen transform (the second SA of phase 1);
 *   - phase-1 IV = hash(g^xi | g^xr) truncated to the block size (KE payloads of MM3/MM4 or AM1/AM2),
 *     then CBC chaining across the encrypted phase-1 messages;
 *   - each later exchange (Quick Mode, Informational, Transaction), per message ID:
 *     IV = hash(last phase-1 CBC block | M-ID), then chaining within that exchange.
 * Retransmitted or lost packets break the chaining (as in Wireshark); such messages are reported
 * as not decryptable rather than guessed at.
 * @module
 */
import { ExchangeType, HeaderFlag } from '../constants/index.js';
import { decodePayloads, ikeAttributes, type Message, type Payload } from '../codec/index.js';
import { cipherFor, decryptMessage, phase1Iv, phase2Iv, prfAlgFromHashId, type CipherInfo, type PrfAlg } from '../crypto/index.js';
import { fromHex, toHex } from '../crypto/bytes.js';
import { IsakmpError } from '../errors.js';


/**
 * Reads a key log: lines `<initiator cookie hex>,<encryption key hex>` (what `isakmp daemon
 * --keylog` writes; Wireshark's UAT form with quotes is accepted too). Other lines (ESP SAs,
 * comments starting with '#') are ignored. Returns cookie → key.
 */
export function parseKeyLog(text: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(',').map((p) => p.trim().replace(/^"|"$/g, '').replace(/^0x/i, ''));
    if (parts.length !== 2) continue;
    const [cookie, key] = parts as [string, string];
    if (!/^[0-9a-fA-F]{16}$/.test(cookie) || !/^([0-9a-fA-F]{2}){1,64}$/.test(key)) continue;
    out.set(cookie.toLowerCase(), fromHex(key));
  }
  return out;
}

interface SaState {
  saCount: number;
  keCount: number;
  encId?: number;
  keyLength?: number;
  hashId?: number;
  gxi?: Uint8Array;
  gxr?: Uint8Array;
  /** Next IV of the phase-1 chain (undefined until both KEs are seen). */
  phase1Iv?: Uint8Array;
  /** Last CBC block of the last encrypted phase-1 message. */
  lastPhase1Block?: Uint8Array;
  /** Next IV per message ID of later exchanges. */
  ivs: Map<number, Uint8Array>;
}

export type DecryptOutcome =
  | { readonly ok: true; readonly payloads: Payload[] }
  | { readonly ok: false; readonly reason: string };

/** Follows the ISAKMP SAs of one capture, in order, and decrypts what the key log allows. */
export class Ikev1Decryptor {
  private readonly sas = new Map<string, SaState>();
  constructor(private readonly keys: Map<string, Uint8Array>) {}

  private state(icookie: string): SaState {
    let s = this.sas.get(icookie);
    if (s === undefined) {
      s = { saCount: 0, keCount: 0, ivs: new Map() };
      this.sas.set(icookie, s);
    }
    return s;
  }

  /** Feed every decoded message in capture order; returns the decrypted payloads for encrypted ones. */
  observe(m: Message): DecryptOutcome | undefined {
    const h = m.header;
    const icookie = toHex(h.initiatorCookie);
    const phase1 = (h.exchangeType === ExchangeType.IDENTITY_PROTECTION || h.exchangeType === ExchangeType.AGGRESSIVE) && h.messageId === 0;
    if (!(h.flags & HeaderFlag.ENCRYPTION) || m.encrypted === undefined) {
      if (phase1) this.learn(this.state(icookie), m.payloads);
      return undefined;
    }
    const key = this.keys.get(icookie);
    if (key === undefined) return { ok: false, reason: `no key in the key log for initiator cookie ${icookie}` };
    const s = this.state(icookie);
    if (s.encId === undefined || s.hashId === undefined) return { ok: false, reason: 'the chosen transform (responder SA) was not seen in the capture' };
    let cipher: CipherInfo;
    let alg: PrfAlg;
    try {
      cipher = cipherFor(s.encId, s.keyLength);
      alg = prfAlgFromHashId(s.hashId);
    } catch (e) {
      return { ok: false, reason: e instanceof IsakmpError ? e.reason : String(e) };
    }
    if (key.length !== cipher.keyLength) return { ok: false, reason: `key log key is ${key.length} bytes, ${cipher.name} needs ${cipher.keyLength}` };
    if (s.phase1Iv === undefined) {
      if (s.gxi === undefined || s.gxr === undefined) return { ok: false, reason: 'the KE payloads of phase 1 were not seen in the capture' };
      s.phase1Iv = phase1Iv(alg, s.gxi, s.gxr, cipher.blockSize);
    }
    let iv: Uint8Array;
    if (phase1) iv = s.phase1Iv;
    else {
      const known = s.ivs.get(h.messageId);
      if (known !== undefined) iv = known;
      else {
        if (s.lastPhase1Block === undefined) return { ok: false, reason: 'no encrypted phase-1 message seen before this exchange' };
        iv = phase2Iv(alg, s.lastPhase1Block, h.messageId, cipher.blockSize);
      }
    }
    let plain: Uint8Array;
    try {
      const r = decryptMessage({ cipher, key, iv, ciphertext: m.encrypted });
      plain = r.plaintext;
      if (phase1) { s.phase1Iv = r.nextIv; s.lastPhase1Block = r.nextIv; } else s.ivs.set(h.messageId, r.nextIv);
    } catch (e) {
      return { ok: false, reason: e instanceof IsakmpError ? e.reason : String(e) };
    }
    try {
      const payloads = decodePayloads(h.nextPayload, plain, { baseOffset: 28, allowTrailing: true });
      if (phase1) this.learn(s, payloads);
      return { ok: true, payloads };
    } catch (e) {
      if (e instanceof IsakmpError) return { ok: false, reason: `decrypted body does not decode (wrong key or IV?): ${e.message}` };
      throw e;
    }
  }

  /** Phase-1 cleartext payloads: the responder's SA (second SA) and the two KEs. */
  private learn(s: SaState, payloads: readonly Payload[]): void {
    for (const p of payloads) {
      if (p.type === 'SA') {
        s.saCount++;
        const t = p.proposals[0]?.transforms[0];
        // The responder answers with the one transform it chose; until then take the first offered.
        if (t !== undefined && (s.saCount === 2 || s.encId === undefined)) {
          const a = ikeAttributes(t);
          s.encId = a.encryptionAlgorithm?.value;
          s.keyLength = a.keyLength;
          s.hashId = a.hashAlgorithm?.value;
        }
      } else if (p.type === 'KE') {
        s.keCount++;
        if (s.keCount === 1) s.gxi = p.data;
        else if (s.keCount === 2) s.gxr = p.data;
      }
    }
  }
}

