/**
 * A reader for strongSwan's settings syntax (swanctl.conf, strongswan.conf), written from its
 * documentation: `name { … }` sections, `key = value` pairs (the value runs to the end of the
 * line, or is a "quoted string" with backslash escapes), `#` comments, `include PATTERN` (relative
 * to the including file, `*` and `?` allowed in the file name), and `name : base { … }` to start a
 * section from a copy of another one at the same level. Bounded: at most 64 levels of nesting and
 * 32 of includes; a line that fits none of the forms is an error with its file and line.
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

export interface Section {
  readonly name: string;
  /** Key → value, in order. */
  readonly values: Map<string, string>;
  /** Subsections, in order (a later section of the same name is merged into the first). */
  readonly sections: Map<string, Section>;
}

export class SettingsError extends Error {}

const emptySection = (name: string): Section => ({ name, values: new Map(), sections: new Map() });

function copyInto(dst: Section, src: Section): void {
  for (const [k, v] of src.values) dst.values.set(k, v);
  for (const [k, s] of src.sections) {
    const d = dst.sections.get(k) ?? emptySection(k);
    copyInto(d, s);
    dst.sections.set(k, d);
  }
}

/** The files an include pattern names (only the file name may hold wildcards). */
function expandInclude(pattern: string, from: string): string[] {
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

/** Reads `text` into `root`, line by line. */
function parseInto(root: Section, text: string, file: string, depth: number): void {
  if (depth > 32) throw new SettingsError(`${file}: includes nested more than 32 deep`);
  const stack: Section[] = [root];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const where = `${file}:${i + 1}`;
    // strip a comment that is not inside quotes
    let inQuote = false;
    for (let k = 0; k < line.length; k++) {
      const c = line[k];
      if (c === '\\' && inQuote) k++;
      else if (c === '"') inQuote = !inQuote;
      else if (c === '#' && !inQuote) {
        line = line.slice(0, k);
        break;
      }
    }
    // several items may share a line: `a { b = c }`
    let rest = line.trim();
    while (rest.length > 0) {
      if (rest.startsWith('}')) {
        if (stack.length === 1) throw new SettingsError(`${where}: '}' without a section to close`);
        stack.pop();
        rest = rest.slice(1).trim();
        continue;
      }
      const inc = /^include\s+(.+)$/.exec(rest);
      if (inc && stack.length >= 1 && !rest.includes('=') && !rest.includes('{')) {
        for (const f of expandInclude(inc[1]!.trim().replace(/^"|"$/g, ''), file)) {
          let t: string;
          try {
            t = readFileSync(f, 'utf8');
          } catch (e) {
            throw new SettingsError(`${where}: include ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
          parseInto(stack[stack.length - 1]!, t, f, depth + 1);
        }
        rest = '';
        continue;
      }
      const sec = /^([^\s={}:]+)\s*(?::\s*([^\s={}]+)\s*)?\{/.exec(rest);
      if (sec) {
        if (stack.length > 64) throw new SettingsError(`${where}: sections nested more than 64 deep`);
        const parent = stack[stack.length - 1]!;
        const name = sec[1]!;
        let s = parent.sections.get(name);
        if (s === undefined) {
          s = emptySection(name);
          parent.sections.set(name, s);
        }
        if (sec[2] !== undefined) {
          const base = parent.sections.get(sec[2]);
          if (base === undefined) throw new SettingsError(`${where}: section '${name}' refers to '${sec[2]}', which is not defined before it`);
          copyInto(s, base);
        }
        stack.push(s);
        rest = rest.slice(sec[0].length).trim();
        continue;
      }
      const kv = /^([^\s={}]+)\s*=\s*/.exec(rest);
      if (kv) {
        let value: string;
        let after = rest.slice(kv[0].length);
        if (after.startsWith('"')) {
          let k = 1;
          let v = '';
          for (; k < after.length && after[k] !== '"'; k++) {
            if (after[k] === '\\' && k + 1 < after.length) {
              k++;
              v += after[k] === 'n' ? '\n' : after[k] === 't' ? '\t' : after[k];
            } else v += after[k];
          }
          if (k >= after.length) throw new SettingsError(`${where}: unterminated quoted value for '${kv[1]}'`);
          value = v;
          after = after.slice(k + 1).trim();
        } else {
          // an unquoted value runs to a closing brace or the end of the line
          const end = after.search(/\}/);
          value = (end >= 0 ? after.slice(0, end) : after).trim();
          after = end >= 0 ? after.slice(end) : '';
        }
        stack[stack.length - 1]!.values.set(kv[1]!, value);
        rest = after.trim();
        continue;
      }
      throw new SettingsError(`${where}: cannot read '${rest.slice(0, 60)}' (expected NAME {, KEY = VALUE, } or include FILE)`);
    }
  }
  if (stack.length > 1 && depth === 0) throw new SettingsError(`${file}: section '${stack[stack.length - 1]!.name}' is not closed (a '}' is missing)`);
}

/** Parses a file in the settings syntax; throws SettingsError with the file and line. */
export function parseSettings(text: string, file: string): Section {
  const root = emptySection('');
  parseInto(root, text, file, 0);
  return root;
}
