/**
 * The factory for the real engine (src/exchange). Loaded lazily so the daemon's other parts work
 * (and are testable) while the engine is being written, and adapted to `EndpointLike`.
 */
import { UsageError } from '../errors.js';
import type { EndpointFactory, EndpointFactoryOptions, EndpointLike } from './engine.js';

type AnyEndpoint = Record<string, unknown> & EndpointLike;

/** Wraps an engine object, checking the methods the daemon needs exist. */
export function adaptEndpoint(ep: AnyEndpoint): EndpointLike {
  const need = ['handleDatagram', 'handleTimeout', 'initiate', 'delete', 'pollTransmit', 'pollEvent', 'pollTimeout', 'isakmpSas', 'ipsecSas'];
  const missing = need.filter((m) => typeof ep[m] !== 'function');
  if (missing.length > 0) throw new UsageError('ISAKMP_ERR_ENGINE', `the engine's Endpoint lacks ${missing.join(', ')}`);
  return ep;
}

export async function loadRealEndpointFactory(): Promise<EndpointFactory> {
  const spec = '../exchange/index.js';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError('ISAKMP_ERR_ENGINE', `the IKE engine (src/exchange) is not available in this build: ${(err as Error).message}`);
  }
  const Endpoint = mod.Endpoint as (new (o: EndpointFactoryOptions) => AnyEndpoint) | undefined;
  if (typeof Endpoint !== 'function') throw new UsageError('ISAKMP_ERR_ENGINE', 'src/exchange does not export Endpoint yet');
  return (opts) => adaptEndpoint(new Endpoint(opts));
}
