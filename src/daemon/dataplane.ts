/** The dataplane adapters (src/daemon/dataplane/): the daemon's import path. */
export * from './dataplane/index.js';
