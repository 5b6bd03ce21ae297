/** (split from endpoint.ts) */
import { type Payload } from '../../codec/types.js';
import { nattVidKind } from '../natt.js';
import { DPD_VID } from './dpd.js';

/**
 * The vendor IDs of a first phase-1 message that change what we do: RFC 3947 NAT-T, and RFC 3706
 * DPD (its ID with major version 1, any minor version).
 */
export function peerVendorIds(payloads: readonly Payload[]): { rfc3947: boolean; dpd: boolean } {
  let rfc3947 = false;
  let dpd = false;
  for (const p of payloads) {
    if (p.type !== 'VID') continue;
    if (nattVidKind(p.data) === 'rfc3947') rfc3947 = true;
    else if (p.data.length === 16) {
      let same = true;
      for (let i = 0; i < 15 && same; i++) same = p.data[i] === DPD_VID[i];
      if (same) dpd = true;
    }
  }
  return { rfc3947, dpd };
}
