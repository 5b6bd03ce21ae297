/**
 * The factory for the real engine (src/exchange `Endpoint`), as the daemon's `EndpointLike`.
 */
import { Endpoint } from '../exchange/index.js';
import type { EndpointFactory } from './engine.js';

export const realEndpointFactory: EndpointFactory = (opts) =>
  new Endpoint({
    random: opts.random,
    connections: opts.connections,
    ...(opts.halfOpenTotal !== undefined ? { halfOpenTotal: opts.halfOpenTotal } : {}),
    ...(opts.halfOpenPerPeer !== undefined ? { halfOpenPerPeer: opts.halfOpenPerPeer } : {}),
    ...(opts.nattPort !== undefined ? { nattPort: opts.nattPort } : {}),
    ...(opts.allocateSpi !== undefined ? { allocateSpi: opts.allocateSpi } : {}),
  });

/** Kept async for callers written when the engine was loaded lazily. */
export async function loadRealEndpointFactory(): Promise<EndpointFactory> {
  return realEndpointFactory;
}
