/**
 * The version of the installed package, read from its package.json (two folders above this
 * module in src/daemon and dist/daemon; three in the test build, build/src/daemon), so `isakmp --version`
 * always says what is installed, and `isakmp_build_info` what runs.
 * @module
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    cached = 'unknown';
    for (const rel of ['../../package.json', '../../../package.json']) {
      try {
        const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'isakmp' && typeof pkg.version === 'string') {
          cached = pkg.version;
          break;
        }
      } catch {
        // not there: try the next folder up
      }
    }
  }
  return cached;
}
