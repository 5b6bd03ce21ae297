#!/usr/bin/env node
// Runs the compiled test files (build/test/**/*.test.js) with node's own test runner.
//   unit    : every suite except build/test/interop (needs only Node)
//   interop : build/test/interop (needs tshark, strongSwan, network namespaces, root)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const which = process.argv[2] ?? 'unit';
const root = 'build/test';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const all = walk(root);
const interopDir = join(root, 'interop') + '/';
const files = which === 'interop'
  ? all.filter((f) => f.startsWith(interopDir))
  : all.filter((f) => !f.startsWith(interopDir));
if (files.length === 0) {
  console.error(`no ${which} test files under ${root}`);
  process.exit(1);
}
const extra = process.argv.slice(3);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...extra, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
