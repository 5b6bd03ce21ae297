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
import { bytesEqual } from '../../crypto/bytes.js';
import { parseConnection } from './connection.js';
import { parseGlobal } from './global.js';
import { indentationProblem, tabProblems } from './indentation.js';
import { checkHaListen, parseHa } from './scale.js';
import { parseSecrets } from './secrets.js';
import { ConfigError, type Config, type ConnectionConfig } from './types.js';
import { Ctx, entries } from './yaml.js';

export * from './types.js';
export { parseIdentity, parseTrafficSelector } from './identities.js';
export { parseDuration } from './yaml.js';

export function parseConfig(text: string, file: string): Config {
  // tabs and indentation in the operator's words, at the offending line (indentation.ts)
  const tabs = tabProblems(text);
  if (tabs.length > 0) throw new ConfigError(tabs.map((t) => ({ file, line: t.line, col: t.col, path: '', message: t.message })));
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const ctx = new Ctx(file, lines, dirname(resolve(file)));
  const indent = doc.errors.length > 0 ? indentationProblem(text) : undefined;
  if (indent !== undefined) throw new ConfigError([{ file, line: indent.line, col: indent.col, path: '', message: indent.message }]);
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
  // Connections for the same peer, exchange and identity share one ISAKMP SA with that peer (the
  // responder cannot tell them apart before Quick Mode): they need the same secret and local
  // identity, and each its own selector pairs, by which a Quick Mode of the peer picks one.
  const seen = new Map<string, ConnectionConfig[]>();
  for (const c of connections) {
    const id = c.remote.id?.type === IdType.ID_DER_ASN1_DN ? dnKey(c.remote.id.data) : c.remote.id?.text ?? ''; // DNs by RFC 5280 rules
    const k = `${c.remote.address}|${c.remote.port}|${c.exchange}|${c.auth}|${id}`;
    const others = seen.get(k) ?? [];
    const problem = others.map((o) => sharingProblem(o, c)).find((x) => x !== undefined);
    if (problem !== undefined) ctx.problems.push({ file, line: c.line, col: 3, path: `connections.${c.name}`, message: problem });
    seen.set(k, [...others, c]);
  }
  const ha = parseHa(ctx, top.get('ha')?.value);
  checkHaListen(ctx, ha, global, top.get('global')?.value ?? top.get('ha')?.value);
  if (ctx.problems.length > 0) throw new ConfigError(ctx.problems);
  return { file, global, secrets, connections, ...(ha !== undefined ? { ha } : {}) };
}

/** The selector pairs of a connection as text (`local === remote`), for the overlap check. */
function pairTexts(c: ConnectionConfig): Set<string> {
  const out = new Set<string>();
  for (const l of c.localTs) for (const r of c.remoteTs) if (l.family === r.family) out.add(`${l.text} === ${r.text}`);
  return out;
}

/**
 * Why connection `b` cannot share the ISAKMP SA of `a` (same peer, mode, auth and remote id), or
 * undefined when it can.
 */
function sharingProblem(a: ConnectionConfig, b: ConnectionConfig): string | undefined {
  const sameSecret = a.secret.kind === 'psk' ? b.secret.kind === 'psk' && bytesEqual(a.secret.psk, b.secret.psk) : b.secret.kind === 'rsa' && a.secret.name === b.secret.name;
  const sameLocalId = (a.local.id?.text ?? '') === (b.local.id?.text ?? '');
  if (!sameSecret || !sameLocalId) {
    return `same peer, mode, auth and remote id as connection '${a.name}': the two share one ISAKMP SA with the peer, so they need the same secret and local.id (or give one a different remote.id)`;
  }
  const mine = pairTexts(b);
  const common = [...pairTexts(a)].filter((p) => mine.has(p));
  if (common.length > 0) return `same peer, mode, auth and remote id as connection '${a.name}', and the same selectors (${common.join(', ')}): a Quick Mode of the peer could not tell them apart (give each its own local_ts / remote_ts, merge them, or give one a different remote.id)`;
  return undefined;
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
