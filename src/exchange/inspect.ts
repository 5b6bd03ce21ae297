/**
 * A read-only, typed view of an endpoint's internal state for white-box tests: the keys of an
 * ISAKMP SA (to craft or read protected messages by hand), the phase 1s with their half-open
 * flag, the Quick Modes in progress, the phase-1 ID payload check. Not exported by the package:
 * tests import it from this file, so a renamed internal field fails to compile here, not at run
 * time in a test.
 * @module
 */
import type { IdPayload } from '../codec/types.js';
import type { CipherInfo, PrfAlg } from './crypto.js';
import { IPSEC_DOI } from './doi.js';
import { engineOf, type Endpoint } from './endpoint.js';
import { toHexFlat } from '../crypto/bytes.js';
import { encKeyOf, hasKeys, ivOf, skeyidAOf, skeyidDOf, type P1 } from './records.js';
import type { Address } from './types.js';
import type { ResolvedOptions } from './engine.js';

/** The key material of an ISAKMP SA whose keys exist. */
export interface IsakmpSaKeys {
  readonly ic: Uint8Array;
  readonly rc: Uint8Array;
  readonly prf: PrfAlg;
  readonly cipher: CipherInfo;
  readonly skeyidA: Uint8Array;
  readonly skeyidD: Uint8Array;
  readonly encKey: Uint8Array;
  /** The current phase-1 IV (the last CBC block of the last phase-1 message). */
  readonly iv: Uint8Array;
}

/** One phase 1 as the endpoint holds it (negotiating or established). */
export interface Phase1View {
  /** Hex cookies (the ISAKMP SA id). */
  readonly id: string;
  readonly remote: Address;
  /** A responder phase 1 counted as half-open (not yet authenticated). */
  readonly halfOpen: boolean;
  /** Its keys, once derived (MM3/MM4, AM1/AM2 on). */
  readonly keys: IsakmpSaKeys | undefined;
}

function keysOf(p1: P1): IsakmpSaKeys | undefined {
  if (!hasKeys(p1)) return undefined;
  return { ic: p1.ic, rc: p1.rc, prf: p1.prf, cipher: p1.cipher, skeyidA: skeyidAOf(p1), skeyidD: skeyidDOf(p1), encKey: encKeyOf(p1), iv: ivOf(p1) };
}

export class EndpointInspector {
  constructor(private readonly ep: Endpoint) {}

  /** Every phase 1 the endpoint holds, in creation order. */
  phase1s(): Phase1View[] {
    const out: Phase1View[] = [];
    for (const p1 of engineOf(this.ep).sas.p1s.values()) {
      out.push({ id: toHexFlat(p1.ic, p1.rc), remote: p1.remote, halfOpen: p1.hs?.halfOpen ?? false, keys: keysOf(p1) });
    }
    return out;
  }

  /** The keys of ISAKMP SA `saId` (hex cookies); throws when there is no such SA with keys. */
  isakmpSaKeys(saId: string): IsakmpSaKeys {
    for (const p of this.phase1s()) if (p.id === saId && p.keys) return p.keys;
    throw new Error(`no ISAKMP SA ${saId} with keys`);
  }

  /** Quick Modes in progress over all ISAKMP SAs (state kept for unfinished exchanges). */
  quickModesInProgress(): number {
    let n = 0;
    for (const p1 of engineOf(this.ep).sas.p1s.values()) n += p1.qms?.size ?? 0;
    return n;
  }

  /**
   * How many phase 1s DPD reads for ISAKMP SA `saId` when it fires (those of the same peer address
   * and port, `p1sOfPeerPort`), and how many share its address pair (what a scan of the pair reads).
   */
  dpdReads(saId: string): { readonly peerPort: number; readonly pair: number } {
    const sas = engineOf(this.ep).sas;
    const p1 = sas.findP1ById(saId);
    if (!p1) throw new Error(`no ISAKMP SA ${saId}`);
    return { peerPort: [...sas.p1sOfPeerPort(p1)].length, pair: [...sas.p1sOfPair(p1.pairKey)].length };
  }

  /** The options the endpoint runs with, defaults filled in. */
  options(): ResolvedOptions {
    return engineOf(this.ep).opt;
  }

  /** The phase-1 ID payload rules (RFC 2407 §4.6.2): throws the RemoteProtocolError a peer would get. */
  checkPhase1IdPayload(id: IdPayload): void {
    engineOf(this.ep);
    IPSEC_DOI.checkPhase1Id(id);
  }
}

/** The inspector of an endpoint. */
export function inspect(ep: Endpoint): EndpointInspector {
  return new EndpointInspector(ep);
}
