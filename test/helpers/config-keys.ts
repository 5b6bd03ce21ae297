/** The keys the configuration loader accepts at one place, read from its own "unknown key" message. */
import { parseConfig } from '../../src/daemon/config/index.js';

/** `yaml` puts the key `zz_unknown` where the keys are wanted; the loader's refusal lists the known ones (sorted). */
export function loaderKeys(yaml: string): string[] {
  try {
    parseConfig(yaml, 'ref.yaml');
  } catch (e) {
    const m = /unknown key 'zz_unknown' \(known keys: ([^)]*)\)/.exec((e as Error).message);
    if (m) return m[1]!.split(', ').sort();
  }
  throw new Error(`no unknown-key message for:\n${yaml}`);
}
