#!/usr/bin/env node
// `npm run man`: writes man/isakmp.1 and man/isakmp.yaml.5 from the tables that also make
// `isakmp --help` (src/cli/commands.ts, src/cli/config-reference.ts; built in dist/).
// test/cli/man.test.ts fails when the files in man/ differ from what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { configManPage, manPage } from '../dist/cli/man.js';
import { packageVersion } from '../dist/daemon/version.js';

mkdirSync('man', { recursive: true });
writeFileSync('man/isakmp.1', manPage(packageVersion()));
writeFileSync('man/isakmp.yaml.5', configManPage(packageVersion()));
console.error('wrote man/isakmp.1 and man/isakmp.yaml.5');
