#!/usr/bin/env node
// `npm run bench`: runs every compiled benchmark (build/bench/*.bench.js) one after the other,
// each in its own process so that heap figures do not mix. A name filter may follow:
//   npm run bench -- codec
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = 'build/bench';
const filter = process.argv[2];
const files = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (!filter || f.includes(filter))).sort()
  : [];
if (files.length === 0) {
  console.error(`no benchmarks found in ${dir}${filter ? ` matching '${filter}'` : ''}`);
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
