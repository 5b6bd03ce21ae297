/** Helpers for the importer tests. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { parseConfig, type Config } from '../../src/daemon/config/index.js';
import { tempDir } from '../daemon/helpers.js';

/**
 * Runs `isakmp import FORMAT FILE …`; the printed configuration must load with the daemon's
 * loader and pass `isakmp daemon --check` (both are asserted here).
 */
export async function importText(format: string, file: string, ...extra: string[]): Promise<{ code: number; yaml: string; err: string[]; config: Config }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['import', format, file, ...extra], { out: (s) => out.push(s), err: (s) => err.push(s) });
  const yaml = out.join('\n') + '\n';
  // what `isakmp daemon --check` loads
  const config = parseConfig(yaml, join(tempDir('isakmp-imported-'), 'isakmp.yaml'));
  const dir = tempDir('isakmp-imported-');
  const f = join(dir, 'isakmp.yaml');
  writeFileSync(f, yaml);
  const check: string[] = [];
  assert.equal(await runCli(['daemon', '--check', '--config', f], { out: (s) => check.push(s), err: (s) => check.push(s) }), 0, check.join('\n'));
  return { code, yaml, err, config };
}

