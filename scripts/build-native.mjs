#!/usr/bin/env node
// `npm ci` / `npm install` (the package's install script): builds native/netlink.c, the netlink
// and socket-option binding of the xfrm dataplane, with node-gyp against the machine's Node
// headers (npm's own node-gyp; nothing is downloaded when npm's nodedir points at them).
// A failed build is not fatal: the xfrm dataplane then uses `ip` commands and says why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (process.platform !== 'linux') {
  console.log('build-native: not Linux, the netlink binding is not built (the xfrm dataplane needs Linux anyway)');
  process.exit(0);
}
const gyp = process.env.npm_config_node_gyp;
const args = gyp && existsSync(gyp) ? [gyp] : null;
const r = args
  ? spawnSync(process.execPath, [...args, 'rebuild', '--directory=native'], { stdio: 'inherit' })
  : spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild', '--directory=native'], { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('build-native: the netlink binding did not build (needs python3, make, a C compiler and the Node headers); the xfrm dataplane will use ip commands');
}
process.exit(0);
