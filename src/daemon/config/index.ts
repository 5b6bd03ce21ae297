/**
 * The daemon's configuration file (YAML, see docs/config.md): parsing, validation with file:line
 * messages that say what to fix, and the typed result the daemon works from. One module per
 * section: types.ts (the schema), yaml.ts (source positions and typed readers), identities.ts,
 * global.ts, secrets.ts, connection.ts with its sub-parsers.
 *
 * Every problem found is collected (not just the first); `ConfigError` carries them all and its
 * message lists one per line as `FILE:LINE:COL: PATH: what is wrong (what to do)`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { IdType } from '../../constants/index.js';
import { dnKey } from '../../crypto/index.js';
import { parseConnection } from './connection.js';
import { parseGlobal } from './global.js';
import { checkHaListen, parseHa } from './scale.js';
import { parseSecrets } from './secrets.js';
import { ConfigError, type Config, type ConnectionConfig } from './types.js';
import { Ctx, entries } from './yaml.js';

export * from './types.js';
export { parseIdentity, parseTrafficSelector } from './identities.js';
export { parseDuration } from './yaml.js';

export function parseConfig(text: string, file: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const ctx = new Ctx(file, lines, dirname(resolve(file)));
  for (const err of doc.errors) {
    const p = lines.linePos(err.pos[0]);
    ctx.problems.push({ file, line: p.line, col: p.col, path: '', message: `YAML syntax: ${err.message.split('\n')[0]}` });
  }
  if (ctx.problems.length > 0) throw new ConfigError(ctx.problems);
  const root = doc.contents as Node | null;
  if (root === null) {
    throw new ConfigError([{ file, line: 1, col: 1, path: '', message: 'the file is empty (it needs at least a connections: section)' }]);
  }
  const top = entries(ctx, root, '', ['global', 'secrets', 'connections', 'ha']);
  if (top === undefined) throw new ConfigError(ctx.problems);
  const global = parseGlobal(ctx, top.get('global')?.value);
  const secrets = parseSecrets(ctx, top.get('secrets')?.value);
  const connections: ConnectionConfig[] = [];
  const ce = entries(ctx, top.get('connections')?.value, 'connections', []) ?? new Map();
  for (const [name, { key, value }] of ce) {
    const c = parseConnection(ctx, name, key, value, global, secrets);
    if (c !== undefined) connections.push(c);
  }
  // Two connections for the same peer and exchange would be ambiguous for a responder.
  const seen = new Map<string, string>();
  for (const c of connections) {
    const id = c.remote.id?.type === IdType.ID_DER_ASN1_DN ? dnKey(c.remote.id.data) : c.remote.id?.text ?? ''; // DNs by RFC 5280 rules
    const k = `${c.remote.address}|${c.remote.port}|${c.exchange}|${c.auth}|${id}`;
    const other = seen.get(k);
    if (other !== undefined) {
      ctx.problems.push({ file, line: c.line, col: 3, path: `connections.${c.name}`, message: `same peer, mode, auth and remote id as connection '${other}': a responder could not tell them apart (give one a different remote.id)` });
    } else seen.set(k, c.name);
  }
  const ha = parseHa(ctx, top.get('ha')?.value);
  checkHaListen(ctx, ha, global, top.get('global')?.value ?? top.get('ha')?.value);
  if (ctx.problems.length > 0) throw new ConfigError(ctx.problems);
  return { file, global, secrets, connections, ...(ha !== undefined ? { ha } : {}) };
}

/** Reads and parses a configuration file. Throws ConfigError (code ISAKMP_ERR_CONFIG). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const hint = code === 'ENOENT' ? ' (write one, see docs/config.md and examples/, or pass --config FILE)' : code === 'EACCES' ? ' (not readable by this user)' : '';
    throw new ConfigError([{ file, line: 0, col: 0, path: '', message: `cannot read the configuration file: ${code}${hint}` }]);
  }
  return parseConfig(text, file);
}
