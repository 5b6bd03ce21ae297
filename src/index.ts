/**
 * isakmp: the library surface. Everything public is re-exported from here.
 */
export * from './constants/index.js';
export * from './errors.js';
export * from './codec/index.js';
export * from './crypto/index.js';
export * from './exchange/index.js';
export * from './daemon/index.js';
