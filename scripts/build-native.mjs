#!/usr/bin/env node
// `npm ci` / `npm install` (the package's install script): builds native/netlink.c, the netlink
// and socket-option binding of the xfrm dataplane, with node-gyp against the machine's Node
// headers (npm's own node-gyp; nothing is downloaded when npm's nodedir points at them).
// A failed build is not fatal: the xfrm dataplane then uses `ip` commands and says why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux') {
  console.log('build-native: not Linux, the netlink binding is not built (the xfrm dataplane needs Linux anyway)');
  process.exit(0);
}
// under npm: npm's node-gyp and nodedir come in the environment; run by hand: npm's own copy
// beside this node, and the headers installed with it (<prefix>/include/node)
const prefix = dirname(dirname(process.execPath));
const gyp = [process.env.npm_config_node_gyp, join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')].find((p) => p && existsSync(p));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
const r = gyp
  ? spawnSync(process.execPath, [gyp, 'rebuild', '--directory=native', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { stdio: 'inherit' })
  : { status: 1 };
if (r.status !== 0) {
  console.warn('build-native: the netlink binding did not build (needs python3, make, a C compiler and the Node headers); the xfrm dataplane will use ip commands');
}
process.exit(0);
