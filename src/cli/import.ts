/**
 * `isakmp import swanctl|ipsec.conf|cisco FILE`: prints an isakmp configuration made from the
 * configuration of another implementation (src/import/). Before printing, the result is loaded
 * with the daemon's own configuration loader, so what is printed passes `isakmp daemon --check`;
 * connections that would make it fail are left out with the loader's reason.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, parseConfig } from '../daemon/config.js';
import { importCisco } from '../import/cisco.js';
import { importIpsecConf, type Dialect } from '../import/ipsec-conf.js';
import type { ImportResult, ImportedConnection } from '../import/model.js';
import { IpsecConfError } from '../import/ipsec-conf-parser.js';
import { SettingsError } from '../import/settings-parser.js';
import { importSwanctl } from '../import/swanctl.js';
import { renderConfig } from '../import/yaml-out.js';
import { stringOption, type ParsedArgs } from './args.js';
import type { Output } from './decode.js';

/** Connections isakmp would refuse as a set: the same peer, mode, authentication and remote identity. */
function withoutAmbiguous(r: ImportResult): ImportResult {
  const seen = new Map<string, string>();
  const keep: ImportedConnection[] = [];
  const skipped = [...r.skipped];
  for (const c of r.connections) {
    const k = `${c.remote.address}|${c.remote.port ?? 500}|${c.mode}|${c.auth}|${c.remote.id ?? c.remote.address}`;
    const other = seen.get(k);
    if (other !== undefined) skipped.push({ name: c.name, reason: `same peer (${c.remote.address}), mode, authentication and remote identity as '${other}': a responder could not tell them apart (give one a distinct remote identity)` });
    else {
      seen.set(k, c.name);
      keep.push(c);
    }
  }
  return { ...r, connections: keep, skipped };
}

/** Renders, loads with the daemon's loader, and leaves out any connection it refuses (never expected). */
function checked(r: ImportResult): { text: string; result: ImportResult } {
  let cur = r;
  for (let round = 0; round <= r.connections.length; round++) {
    const text = renderConfig(cur);
    try {
      parseConfig(text, resolve('imported.yaml'));
      return { text, result: cur };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const bad = new Map<string, string>();
      for (const line of e.message.split('\n')) {
        const m = /connections\.([A-Za-z0-9_.-]+)[.:](.*)$/.exec(line);
        if (m && cur.connections.some((c) => c.name === m[1])) bad.set(m[1]!, line.replace(/^[^:]*:\d+:\d+: /, ''));
      }
      if (bad.size === 0) throw new Error(`the imported configuration does not load: ${e.message.split('\n')[0]}`);
      cur = { ...cur, connections: cur.connections.filter((c) => !bad.has(c.name)), skipped: [...cur.skipped, ...[...bad].map(([name, reason]) => ({ name, reason: `isakmp's configuration check: ${reason}` }))] };
    }
  }
  throw new Error('the imported configuration does not load');
}

export async function runImport(args: ParsedArgs, io: Output): Promise<number> {
  const [format, file] = args.positionals as [string, string];
  let text: string;
  try {
    if (file === '-') text = readFileSync(0, 'utf8');
    else {
      if (statSync(file).isDirectory()) {
        io.err(`isakmp import: ${file}: is a directory`);
        return 1;
      }
      text = readFileSync(file, 'utf8');
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.err(`isakmp import: ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? String(e)}`);
    return 1;
  }
  const path = file === '-' ? resolve('stdin') : resolve(file);
  let result: ImportResult;
  try {
    if (format === 'swanctl') result = importSwanctl(text, path);
    else if (format === 'ipsec.conf') {
      const secrets = stringOption(args, 'secrets');
      const dialect = stringOption(args, 'dialect') as Dialect | undefined;
      result = importIpsecConf(text, path, { ...(secrets !== undefined ? { secrets: resolve(secrets) } : {}), ...(dialect !== undefined ? { dialect } : {}) });
    } else {
      const local = stringOption(args, 'local-address');
      result = importCisco(text, path, local !== undefined ? { localAddress: local } : {});
    }
  } catch (e) {
    if (e instanceof SettingsError || e instanceof IpsecConfError) {
      io.err(`isakmp import: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const [opt, fmt] of [['secrets', 'ipsec.conf'], ['dialect', 'ipsec.conf'], ['local-address', 'cisco']] as const) {
    if (args.values[opt] !== undefined && format !== fmt) io.err(`isakmp import: --${opt} applies to ${fmt} only: ignored`);
  }
  const out = checked(withoutAmbiguous(result));
  io.out(out.text.trimEnd());
  const n = out.result.connections.length;
  io.err(`isakmp import: ${n} connection${n === 1 ? '' : 's'} imported, ${out.result.skipped.length} skipped (see the comments at the top)`);
  return 0;
}
