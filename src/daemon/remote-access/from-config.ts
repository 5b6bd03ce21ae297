/**
 * The configuration's remote-access settings (`xauth.backend` / `xauth.radius`, `pool:`) turned
 * into the backend and the pool the daemon answers the engine's XAUTH and Mode Config questions
 * with. One backend and one pool per gateway connection.
 */
import type { RemoteAccessGatewayConfig, XauthBackendConfig } from '../config/types.js';
import type { BackendLog } from './backend-log.js';
import { createAddressPool } from './address-pool.js';
import { createRadiusBackend } from './radius-backend.js';
import type { AddressPool, XauthBackend } from './types.js';
import { createUsersFileBackend } from './users-file-backend.js';

/** The user backend a gateway connection names. */
export function backendFromConfig(c: XauthBackendConfig, log?: BackendLog): XauthBackend {
  if (c.kind === 'file') return createUsersFileBackend(c.path, log === undefined ? {} : { log });
  return createRadiusBackend({
    servers: c.servers.map((s) => ({ address: s.address, port: s.port, secret: s.secret, ...(s.accountingPort !== undefined ? { accountingPort: s.accountingPort } : {}) })),
    timeoutMs: c.timeoutMs,
    retries: c.retries,
    accounting: c.accounting,
    ...(c.nasIdentifier !== undefined ? { nasIdentifier: c.nasIdentifier } : {}),
    ...(log !== undefined ? { log } : {}),
  });
}

/** The address pool of a gateway connection (named after it), or undefined without `pool:`. */
export function poolFromConfig(connection: string, c: RemoteAccessGatewayConfig): AddressPool | undefined {
  return c.pool.length === 0 ? undefined : createAddressPool(connection, c.pool);
}
