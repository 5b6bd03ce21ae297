/**
 * isakmp: the library. The root gives the wire codec (with the constants and errors), the crypto
 * suite and the sans-IO engine together; each is also a subpath of its own (`isakmp/codec`,
 * `isakmp/crypto`, `isakmp/engine`). The daemon (`isakmp/daemon`) and the capture reader
 * (`isakmp/pcap`) are subpaths only, so that importing the root loads neither sockets nor YAML.
 * Every exported name is listed in docs/api.md.
 */
export * from './codec/index.js';
export * from './crypto/index.js';
export * from './exchange/index.js';
