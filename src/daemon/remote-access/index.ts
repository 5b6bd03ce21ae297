/**
 * Remote access, daemon side (docs/remote-access.md): where XAUTH users and Mode Config addresses
 * come from. The engine never calls these: the daemon answers the engine's questions with them.
 */
export type { AddressPool, Lease, SessionInfo, XauthBackend, XauthRequest, XauthResult } from './types.js';
export type { BackendLog, BackendLogFields, BackendLogLevel } from './backend-log.js';
export { createAddressPool } from './address-pool.js';
export { createUsersFileBackend, type UsersFileBackend, type UsersFileBackendOptions } from './users-file-backend.js';
export { DEFAULT_USERS_FILE } from './users-file.js';
export { hashPassword, verifyPassword, DEFAULT_SCRYPT } from './password-hash.js';
export { createRadiusBackend, type RadiusBackendOptions } from './radius-backend.js';
export { backendFromConfig, poolFromConfig } from './from-config.js';
export type { RadiusServer } from './radius-transport.js';
