/**
 * Readers for ipsec.conf and ipsec.secrets as strongSwan's and Libreswan's manuals describe them
 * (ipsec.conf(5), ipsec.secrets(5)): `config setup` and `conn NAME` sections whose settings are
 * indented `key=value` lines, `also=` and `conn %default` merged in, `include` with wildcards in
 * the file name; secrets as `SELECTORS : TYPE VALUE`. Comments start with #; values may be
 * quoted. Bounded: includes at most 32 deep, also= chains at most 32 long.
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

export class IpsecConfError extends Error {}

export interface IpsecConf {
  readonly setup: Map<string, string>;
  /** Connections in file order, with %default and also= already merged. */
  readonly conns: Map<string, Map<string, string>>;
  /** `ca` sections and other things outside conn and config setup, for notes. */
  readonly other: string[];
}

function expand(pattern: string, from: string): string[] {
  const full = isAbsolute(pattern) ? pattern : join(dirname(from), pattern);
  const base = basename(full);
  if (!/[*?]/.test(base)) return [full];
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  try {
    return readdirSync(dirname(full)).filter((f) => re.test(f)).sort().map((f) => join(dirname(full), f));
  } catch {
    return [];
  }
}

function stripComment(line: string): string {
  let q = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') q = !q;
    else if (line[i] === '#' && !q) return line.slice(0, i);
  }
  return line;
}

const unquote = (v: string): string => v.trim().replace(/^"(.*)"$/s, '$1');

interface Raw { kind: 'setup' | 'conn' | 'other'; name: string; values: Map<string, string> }

function readRaw(text: string, file: string, out: Raw[], depth: number): void {
  if (depth > 32) throw new IpsecConfError(`${file}: includes nested more than 32 deep`);
  let cur: Raw | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = stripComment(lines[i]!);
    if (raw.trim() === '') continue;
    const where = `${file}:${i + 1}`;
    if (/^\S/.test(raw)) {
      const words = raw.trim().split(/\s+/);
      if (words[0] === 'config' && words[1] === 'setup') cur = { kind: 'setup', name: 'setup', values: new Map() };
      else if (words[0] === 'conn' && words[1] !== undefined) cur = { kind: 'conn', name: words[1], values: new Map() };
      else if (words[0] === 'ca' && words[1] !== undefined) cur = { kind: 'other', name: `ca ${words[1]}`, values: new Map() };
      else if (words[0] === 'include' && words[1] !== undefined) {
        for (const f of expand(unquote(words.slice(1).join(' ')), file)) {
          let t: string;
          try {
            t = readFileSync(f, 'utf8');
          } catch (e) {
            throw new IpsecConfError(`${where}: include ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
          readRaw(t, f, out, depth + 1);
        }
        cur = undefined;
        continue;
      } else if (words[0] === 'version') {
        cur = undefined;
        continue;
      } else throw new IpsecConfError(`${where}: expected 'config setup', 'conn NAME', 'ca NAME' or 'include FILE' at the start of a line, not '${raw.trim().slice(0, 40)}'`);
      out.push(cur);
      continue;
    }
    const kv = /^\s+([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(raw);
    if (!kv) throw new IpsecConfError(`${where}: expected an indented key=value line, not '${raw.trim().slice(0, 40)}'`);
    if (cur === undefined) throw new IpsecConfError(`${where}: '${kv[1]}=' outside a conn or config setup section`);
    cur.values.set(kv[1]!, unquote(kv[2]!));
  }
}

/** Parses ipsec.conf (following includes); throws IpsecConfError with the file and line. */
export function parseIpsecConf(text: string, file: string): IpsecConf {
  const raw: Raw[] = [];
  readRaw(text, file, raw, 0);
  const setup = new Map<string, string>();
  const defs = new Map<string, string>();
  const named = new Map<string, Map<string, string>>();
  const other: string[] = [];
  for (const r of raw) {
    if (r.kind === 'setup') for (const [k, v] of r.values) setup.set(k, v);
    else if (r.kind === 'other') other.push(r.name);
    else if (r.name === '%default') for (const [k, v] of r.values) defs.set(k, v);
    else named.set(r.name, r.values);
  }
  const resolve = (name: string, seen: string[]): Map<string, string> => {
    if (seen.includes(name)) throw new IpsecConfError(`${file}: also= loops through ${[...seen, name].join(' → ')}`);
    if (seen.length > 32) throw new IpsecConfError(`${file}: also= chain longer than 32`);
    const own = named.get(name);
    if (own === undefined) throw new IpsecConfError(`${file}: also=${name}: no conn ${name}`);
    const out = new Map<string, string>();
    for (const inc of (own.get('also') ?? '').split(/\s+/).filter(Boolean)) for (const [k, v] of resolve(inc, [...seen, name])) out.set(k, v);
    for (const [k, v] of own) if (k !== 'also') out.set(k, v);
    return out;
  };
  const conns = new Map<string, Map<string, string>>();
  for (const name of named.keys()) {
    const merged = new Map(defs);
    for (const [k, v] of resolve(name, [])) merged.set(k, v);
    conns.set(name, merged);
  }
  return { setup, conns, other };
}

export interface SecretEntry {
  /** The selectors before the colon (empty: any). */
  readonly ids: readonly string[];
  readonly type: string;
  /** The value as written (quoted text, 0x…, 0s…, or a file name for RSA). */
  readonly value: string;
  readonly line: string;
}

/** Parses ipsec.secrets (following includes). Entries this reader does not understand are skipped. */
export function parseIpsecSecrets(text: string, file: string, depth = 0): SecretEntry[] {
  const out: SecretEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = stripComment(lines[i]!).trim();
    if (line === '') continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc && depth < 32) {
      for (const f of expand(unquote(inc[1]!), file)) {
        try {
          out.push(...parseIpsecSecrets(readFileSync(f, 'utf8'), f, depth + 1));
        } catch {
          // an unreadable included file: its secrets are simply not there
        }
      }
      continue;
    }
    const m = /^(.*?)\s*:\s*(PSK|RSA|ECDSA|BLISS|P12|EAP|NTLM|XAUTH|PIN|PKCS11)\s+(.+)$/i.exec(line);
    if (!m) continue;
    const ids = (m[1]!.match(/"[^"]*"|\S+/g) ?? []).map(unquote);
    out.push({ ids, type: m[2]!.toUpperCase(), value: m[3]!.trim(), line: `${file}:${i + 1}` });
  }
  return out;
}
