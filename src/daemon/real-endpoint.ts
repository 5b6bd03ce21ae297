/**
 * The factory for the real engine (src/exchange `Endpoint`), as the daemon's `EndpointLike`: the
 * daemon's options are the engine's own, passed through whole.
 */
import { Endpoint } from '../exchange/index.js';
import type { EndpointFactory } from './engine.js';

export const realEndpointFactory: EndpointFactory = (opts) => new Endpoint(opts);

/** Kept async for callers written when the engine was loaded lazily. */
export async function loadRealEndpointFactory(): Promise<EndpointFactory> {
  return realEndpointFactory;
}
