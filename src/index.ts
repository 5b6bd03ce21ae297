/**
 * isakmp: the library surface. Everything public is re-exported from here.
 */
export * from './constants/index.js';
export * from './errors.js';
