/**
 * Domains of Interpretation (RFC 2408 §2.1): what ISAKMP leaves to a DOI, as a small interface the
 * engine asks instead of writing DOI 1 everywhere: the DOI number of SA, Notify and Delete
 * payloads, the situation, the rules for phase-1 ID payloads, its notify range, the lifetime data
 * of RESPONDER-LIFETIME. The IPsec DOI (RFC 2407) is the only one implemented; its phase-2
 * exchange (Quick Mode) is a driver registered under DOI 1 (drivers/index.ts), and another DOI
 * (GDOI, RFC 6407: DOI 2, GROUPKEY-PULL = exchange 32) would be one more object of this type with
 * drivers registered under its number.
 * @module
 */
import { encodeAttributes } from '../codec/attributes.js';
import type { DataAttribute, IdPayload } from '../codec/types.js';
import { Writer } from '../codec/writer.js';
import { Doi as DoiNumber, IdType, NotifyType } from '../constants/index.js';
import { isWellFormedDerSequence } from './ids.js';
import { durationAttr, tvAttr } from './proposals.js';
import { remote } from './refusal.js';

/** What the engine needs to know about a Domain of Interpretation. */
export interface Doi {
  /** The DOI number of SA, Notify and Delete payloads (RFC 2408 §3.4). */
  readonly id: number;
  readonly name: string;
  /** The situation of our SA payloads (IPsec: SIT_IDENTITY_ONLY). */
  readonly situation: number;
  /** The notify message types this DOI defines (RFC 2407 §4.6.3: 24576–32767). */
  readonly notifyRange: { readonly first: number; readonly last: number };
  /** Checks an ID payload of phase 1 (IDii / IDir): throws INVALID_ID_INFORMATION. */
  checkPhase1Id(id: IdPayload): void;
  /** The data of a RESPONDER-LIFETIME notify (lifetimes the responder shortened). */
  encodeLifetime(seconds: number, kilobytes: number | undefined): Uint8Array;
  parseLifetime(data: Uint8Array): { seconds?: number; kilobytes?: number };
}

function encodeAttrs(attrs: readonly DataAttribute[]): Uint8Array {
  const w = new Writer(4 * attrs.length + 16);
  encodeAttributes(w, attrs);
  return w.finishCopy();
}

/** RESPONDER-LIFETIME notification data: SA life type/duration attributes (RFC 2407 §4.6.3.1). */
export function parseLifetimeData(d: Uint8Array): { seconds?: number; kilobytes?: number } {
  const out: { seconds?: number; kilobytes?: number } = {};
  const at = (i: number): number => d[i] ?? 0;
  let off = 0;
  let type: number | undefined;
  for (let guard = 0; guard < 16 && off + 4 <= d.length; guard++) {
    const af = at(off) & 0x80;
    const cls = ((at(off) & 0x7f) << 8) | at(off + 1);
    let value: number;
    if (af) {
      value = (at(off + 2) << 8) | at(off + 3);
      off += 4;
    } else {
      const len = (at(off + 2) << 8) | at(off + 3);
      if (len === 0 || len > 8 || off + 4 + len > d.length) break;
      value = 0;
      for (let i = 0; i < len; i++) value = value * 256 + at(off + 4 + i);
      off += 4 + len;
    }
    if (cls === 1) type = value;
    else if (cls === 2 && type !== undefined) {
      if (type === 1) out.seconds = value;
      else if (type === 2) out.kilobytes = value;
      type = undefined;
    }
  }
  return out;
}

/** The IPsec DOI (RFC 2407). */
export const IPSEC_DOI: Doi = {
  id: DoiNumber.IPSEC,
  name: 'IPsec',
  situation: 1, // SIT_IDENTITY_ONLY (RFC 2407 §4.2)
  notifyRange: { first: 24576, last: 32767 },
  checkPhase1Id(id: IdPayload): void {
    // RFC 2407 §4.6.2: protocol/port 0, or UDP/500 (strongSwan and others send 17/500)
    const portOk = (id.protocol === 0 && id.port === 0) || (id.protocol === 17 && (id.port === 500 || id.port === 4500 || id.port === 0));
    if (!portOk) throw remote(NotifyType.INVALID_ID_INFORMATION, `phase-1 ID with protocol ${id.protocol} port ${id.port}`);
    if (id.idType === IdType.ID_DER_ASN1_DN && !isWellFormedDerSequence(id.data)) throw remote(NotifyType.INVALID_ID_INFORMATION, 'malformed DER distinguished name');
  },
  encodeLifetime(seconds: number, kilobytes: number | undefined): Uint8Array {
    // SA Life Type (1) seconds / kilobytes, then SA Life Duration (2) (RFC 2407 §4.5)
    const attrs = [tvAttr(1, 1), durationAttr(2, seconds)];
    if (kilobytes) attrs.push(tvAttr(1, 2), durationAttr(2, kilobytes));
    return encodeAttrs(attrs);
  },
  parseLifetime: parseLifetimeData,
};
