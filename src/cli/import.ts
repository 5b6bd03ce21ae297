/**
 * `isakmp import swanctl|ipsec.conf|cisco FILE`: prints an isakmp configuration made from the
 * configuration of another implementation (src/import/). Before printing, the result is loaded
 * with the daemon's own configuration loader and its connections are handed to the engine, as
 * `isakmp daemon --check` does, so what is printed passes that check; ESP proposals the engine does
 * not implement are left out with a note, connections that would still fail with the reason.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, parseConfig } from '../daemon/config/index.js';
import { engineConnections } from '../daemon/engine.js';
import { importCisco } from '../import/cisco.js';
import { importIpsecConf, type Dialect } from '../import/ipsec-conf.js';
import type { ImportResult, ImportedConnection } from '../import/model.js';
import { IpsecConfError } from '../import/ipsec-conf-parser.js';
import { SettingsError } from '../import/settings-parser.js';
import { importSwanctl } from '../import/swanctl.js';
import { renderConfig } from '../import/yaml-out.js';
import { stringOption, type ParsedArgs } from './args.js';
import type { Output } from './decode.js';

/** The local × remote selector pairs of a connection (same IP version), as text. */
function selectorPairs(c: ImportedConnection): Set<string> {
  const family = (t: string): number => (t.includes(':') ? 6 : 4);
  const out = new Set<string>();
  for (const l of c.localTs ?? [c.local.address ?? '(local address)']) for (const r of c.remoteTs ?? [c.remote.address]) if (family(l) === family(r)) out.add(`${l} === ${r}`);
  return out;
}

const sameSecretOf = (a: ImportedConnection, b: ImportedConnection): boolean =>
  a.secret.kind === 'psk' ? b.secret.kind === 'psk' && Buffer.from(a.secret.psk).equals(Buffer.from(b.secret.psk)) : b.secret.kind === 'rsa' && a.secret.cert === b.secret.cert && a.secret.key === b.secret.key;

/**
 * Connections isakmp would refuse as a set: with the same peer, mode, authentication and remote
 * identity they share one ISAKMP SA, so they need the same secret and local identity, and no
 * selector pair in common (the daemon's rule, config/index.ts).
 */
function withoutAmbiguous(r: ImportResult): ImportResult {
  const seen = new Map<string, ImportedConnection[]>();
  const keep: ImportedConnection[] = [];
  const skipped = [...r.skipped];
  for (const c of r.connections) {
    const k = `${c.remote.address}|${c.remote.port ?? 500}|${c.mode}|${c.auth}|${c.remote.id ?? c.remote.address}`;
    const group = seen.get(k) ?? [];
    const mine = selectorPairs(c);
    const clash = group.find((o) => !sameSecretOf(o, c) || (o.local.id ?? '') !== (c.local.id ?? '') || [...selectorPairs(o)].some((p) => mine.has(p)));
    if (clash !== undefined) {
      const common = [...selectorPairs(clash)].filter((p) => mine.has(p));
      skipped.push({ name: c.name, reason: `same peer (${c.remote.address}), mode, authentication and remote identity as '${clash.name}': ${common.length > 0 ? `and the same selectors (${common.join(', ')}), so a Quick Mode of the peer could not tell them apart` : 'the two would share one ISAKMP SA but have different secrets or local identities'} (give one a distinct remote identity)` });
    } else {
      seen.set(k, [...group, c]);
      keep.push(c);
    }
  }
  return { ...r, connections: keep, skipped };
}

/**
 * Renders, loads with the daemon's loader and hands the connections to the engine, as
 * `isakmp daemon --check` does. An ESP proposal the engine does not implement is left out of its
 * connection with a note (the connection stays when others remain); any other connection the
 * loader or the engine refuses is left out with its reason (never expected).
 */
function checked(r: ImportResult): { text: string; result: ImportResult } {
  let cur = r;
  for (let round = 0; round <= 2 * r.connections.length + 1; round++) {
    const text = renderConfig(cur);
    try {
      const config = parseConfig(text, resolve('imported.yaml'));
      engineConnections(config.file, config.connections, config.global);
      return { text, result: cur };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const bad = new Map<string, string>();
      const espOut = new Map<string, { text: string; why: string }[]>();
      for (const line of e.message.split('\n')) {
        // names may hold dots: the longest connection name the problem's path starts with
        const name = cur.connections.map((c) => c.name).filter((n) => line.includes(`connections.${n}.`) || line.includes(`connections.${n}:`)).sort((a, b) => b.length - a.length)[0];
        if (name === undefined) continue;
        const esp = /\.esp: '([^']+)' is not implemented by the engine yet \((.*)\)/.exec(line);
        if (esp) espOut.set(name, [...(espOut.get(name) ?? []), { text: esp[1]!, why: esp[2]! }]);
        else bad.set(name, line.replace(/^[^:]*:\d+:\d+: /, ''));
      }
      if (bad.size === 0 && espOut.size === 0) throw new Error(`the imported configuration does not load: ${e.message.split('\n')[0]}`);
      const connections: ImportedConnection[] = [];
      const skipped = [...cur.skipped];
      for (const c of cur.connections) {
        const why = bad.get(c.name);
        if (why !== undefined) {
          skipped.push({ name: c.name, reason: `isakmp's configuration check: ${why}` });
          continue;
        }
        const out = espOut.get(c.name);
        if (out === undefined) {
          connections.push(c);
          continue;
        }
        const esp = c.esp.filter((p) => !out.some((o) => o.text === p));
        const notes = out.map((o) => `not carried: esp ${o.text}: not implemented by isakmp's engine yet (${o.why})`);
        if (esp.length === 0 || esp.length === c.esp.length) skipped.push({ name: c.name, reason: `no ESP proposal isakmp's engine implements (${out.map((o) => o.text).join(', ')})` });
        else connections.push({ ...c, esp, notes: [...c.notes, ...notes] });
      }
      cur = { ...cur, connections, skipped };
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
