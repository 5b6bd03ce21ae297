/**
 * Exchange drivers and their registry, keyed by (DOI, exchange type) as isakmpd's doi.h and
 * exchange tables are: an ISAKMP exchange of every DOI (Main, Aggressive, Informational; RFC 2408
 * §4) is registered without a DOI, a DOI's own exchange under its number (Quick Mode: IPsec DOI
 * 1, exchange 32; GDOI's GROUPKEY-PULL would be DOI 2, exchange 32). A datagram goes to the
 * driver of its exchange type under the DOI of the ISAKMP SA its cookies name (the endpoint's
 * default DOI when they name none).
 * @module
 */
import type { Header } from '../../codec/types.js';
import type { Engine } from '../engine.js';
import type { P1 } from '../records.js';
import type { Address } from '../types.js';

/** One datagram for a driver: where it came from, its decoded header, its bytes, and the phase 1 its cookies name. */
export interface Inbound {
  readonly now: number;
  readonly local: Address;
  readonly remote: Address;
  readonly header: Header;
  readonly bytes: Uint8Array;
  /** The phase 1 whose initiator cookie the header carries, if any (not yet checked further). */
  readonly p1: P1 | undefined;
}

export interface ExchangeDriver {
  readonly name: string;
  /** The DOI of a DOI-specific exchange; undefined for an ISAKMP exchange of every DOI. */
  readonly doi: number | undefined;
  readonly exchangeType: number;
  /** Handles one datagram of this exchange type (throws the refusal; the endpoint turns it into a `dropped` event). */
  receive(x: Engine, m: Inbound): void;
}

const ANY_DOI = -1;

function key(doi: number, exchangeType: number): number {
  return doi * 256 + exchangeType;
}

export class DriverRegistry {
  private readonly byKey = new Map<number, ExchangeDriver>();

  constructor(drivers: readonly ExchangeDriver[]) {
    for (const d of drivers) {
      const k = key(d.doi ?? ANY_DOI, d.exchangeType);
      if (this.byKey.has(k)) throw new Error(`two drivers for DOI ${d.doi ?? 'any'}, exchange ${d.exchangeType}`);
      this.byKey.set(k, d);
    }
  }

  /** The driver for an exchange type under a DOI: the DOI's own, else the ISAKMP one. */
  get(doi: number, exchangeType: number): ExchangeDriver | undefined {
    return this.byKey.get(key(doi, exchangeType)) ?? this.byKey.get(key(ANY_DOI, exchangeType));
  }
}
