/**
 * The exchanges this engine speaks: one line per driver. Adding an exchange is a driver file and
 * a line here (docs/engine.md, "Adding an exchange").
 * @module
 */
import { aggressiveModeDriver } from './aggressive-mode.js';
import { informationalDriver } from './informational.js';
import { mainModeDriver } from './main-mode.js';
import type { Phase1Driver } from './phase1.js';
import { quickModeDriver } from './quick-mode.js';
import { DriverRegistry } from './registry.js';
import { transactionDriver } from './transaction.js';

let registry: DriverRegistry | undefined;

/** The registry (built on first use: the driver modules import each other). */
export function drivers(): DriverRegistry {
  return (registry ??= new DriverRegistry([
    mainModeDriver, // ISAKMP Identity Protection (2): RFC 2409 §5 Main Mode
    aggressiveModeDriver, // ISAKMP Aggressive (4): RFC 2409 §5
    informationalDriver, // ISAKMP Informational (5): RFC 2408 §4.8, RFC 2409 §5.7
    quickModeDriver, // IPsec DOI, exchange 32: RFC 2409 §5.5
    transactionDriver, // ISAKMP Transaction (6): draft-ietf-ipsec-isakmp-mode-cfg-05 §3
  ]));
}

/** The phase-1 driver an initiator uses for a connection's `exchange`. */
export function phase1DriverFor(mode: 'main' | 'aggressive'): Phase1Driver {
  return mode === 'main' ? mainModeDriver : aggressiveModeDriver;
}
