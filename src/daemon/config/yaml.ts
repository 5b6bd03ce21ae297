/**
 * YAML with source positions: the parse context that collects problems at the file, line and
 * column of the node at fault, and the typed readers of scalars, lists, mappings and durations
 * every section uses.
 */
import { resolve } from 'node:path';
import { isMap, isSeq, isScalar, type LineCounter, type Node, type Pair } from 'yaml';
import type { ConfigProblem } from './types.js';

export class Ctx {
  readonly problems: ConfigProblem[] = [];
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
    readonly baseDir: string,
  ) {}

  pos(node: Node | null | undefined): { line: number; col: number } {
    const off = node?.range?.[0] ?? 0;
    const p = this.lines.linePos(off);
    return { line: p.line, col: p.col };
  }

  error(node: Node | null | undefined, path: string, message: string): void {
    const { line, col } = this.pos(node);
    this.problems.push({ file: this.file, line, col, path, message });
  }
}

export type MapEntries = Map<string, { key: Node; value: Node | null }>;

export function entries(ctx: Ctx, node: Node | null | undefined, path: string, known: readonly string[]): MapEntries | undefined {
  const out: MapEntries = new Map();
  if (node === null || node === undefined) return out;
  if (!isMap(node)) {
    ctx.error(node, path, `expected a mapping (key: value lines)`);
    return undefined;
  }
  for (const item of node.items as Pair<Node, Node | null>[]) {
    const k = item.key;
    const name = isScalar(k) ? String(k.value) : undefined;
    if (name === undefined) {
      ctx.error(k, path, 'keys must be plain words');
      continue;
    }
    if (known.length > 0 && !known.includes(name)) {
      ctx.error(k, path, `unknown key '${name}' (known keys: ${known.join(', ')})`);
      continue;
    }
    if (out.has(name)) {
      ctx.error(k, path, `key '${name}' given twice`);
      continue;
    }
    out.set(name, { key: k, value: item.value ?? null });
  }
  return out;
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function scalarString(ctx: Ctx, node: Node | null, path: string): string | undefined {
  if (node === null || !isScalar(node) || node.value === null || typeof node.value === 'object') {
    ctx.error(node, path, 'expected a single value');
    return undefined;
  }
  // Numbers keep the text as written (a PSK of 0x6b65 or a port of 0500 is not rewritten by YAML).
  if (typeof node.value === 'number' && typeof node.source === 'string') return node.source;
  return String(node.value);
}

export function oneOf<T extends string>(ctx: Ctx, node: Node | null, path: string, allowed: readonly T[]): T | undefined {
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(s)) {
    ctx.error(node, path, `'${s}' is not allowed (use one of: ${allowed.join(', ')})`);
    return undefined;
  }
  return s as T;
}

export function bool(ctx: Ctx, node: Node | null, path: string): boolean | undefined {
  if (node !== null && isScalar(node) && typeof node.value === 'boolean') return node.value;
  ctx.error(node, path, 'expected true or false');
  return undefined;
}

export function integer(ctx: Ctx, node: Node | null, path: string, min: number, max: number): number | undefined {
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    ctx.error(node, path, `'${s}' must be a whole number from ${min} to ${max}`);
    return undefined;
  }
  return Number(s);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `3600`, `90s`, `30m`, `8h`, `1d` into seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]) * (DURATION_UNITS[m[2] || 's'] ?? 1);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function duration(ctx: Ctx, node: Node | null, path: string): number | undefined {
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  const v = parseDuration(s);
  if (v === undefined) {
    ctx.error(node, path, `'${s}' is not a duration (write seconds, or a number with s, m, h or d: 90s, 30m, 8h)`);
    return undefined;
  }
  return v;
}

/** A YAML list of strings, or one string with comma-separated items. */
export function stringList(ctx: Ctx, node: Node | null, path: string): { text: string; node: Node }[] | undefined {
  if (node === null) {
    ctx.error(node, path, 'expected a value or a list');
    return undefined;
  }
  if (isSeq(node)) {
    const out: { text: string; node: Node }[] = [];
    for (const item of node.items as (Node | null)[]) {
      const s = scalarString(ctx, item, path);
      if (s !== undefined && item !== null) out.push({ text: s, node: item });
    }
    return out;
  }
  const s = scalarString(ctx, node, path);
  if (s === undefined) return undefined;
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
    .map((text) => ({ text, node }));
}

export function resolvePath(ctx: Ctx, p: string): string {
  return resolve(ctx.baseDir, p);
}

/** Readers bound to one mapping of the file: its keys, read with the mapping's path in messages. */
export interface Section {
  readonly ctx: Ctx;
  readonly path: string;
  /** The mapping itself (where a problem about a missing key points). */
  readonly node: Node | null | undefined;
  readonly entries: MapEntries;
  /** A key that must be there: its entry, or a problem ("missing 'KEY'") and undefined. */
  req(key: string): { key: Node; value: Node | null } | undefined;
  /** An optional key read by `read`; `dflt` when it is absent or its value is refused. */
  opt<T>(key: string, read: (n: Node | null, p: string) => T | undefined, dflt: T): T;
  /** Where a problem about `key` points: its value when given, else the mapping. */
  at(key: string): Node | null | undefined;
}

export function section(ctx: Ctx, node: Node | null | undefined, path: string, e: MapEntries): Section {
  return {
    ctx,
    path,
    node,
    entries: e,
    req(key) {
      const v = e.get(key);
      if (v === undefined) ctx.error(node, path, `missing '${key}'`);
      return v;
    },
    opt(key, read, dflt) {
      const v = e.get(key);
      if (v === undefined) return dflt;
      return read(v.value, join(path, key)) ?? dflt;
    },
    at(key) {
      return e.get(key)?.value ?? node;
    },
  };
}
