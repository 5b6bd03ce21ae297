export * from './isakmp.js';
export * from './ike.js';
export * from './ipsec.js';
export * from './modecfg.js';
