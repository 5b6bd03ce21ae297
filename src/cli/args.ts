/**
 * The argument parser of `isakmp`: reads argv against a command's option table (commands.ts) and
 * returns the values and positionals, or one error line that names the nearest valid option or
 * value. Conventions: `--name value`, `--name=value`, `-x value`; `--` ends the options; a lone
 * `-` is a positional (stdin); an option given twice is an error unless it is repeatable.
 * @module
 */

export interface OptionSpec {
  /** Long name without the dashes: `keylog` for `--keylog`. */
  readonly name: string;
  readonly short?: string;
  /** The value's placeholder in help (`FILE`); absent for a boolean switch. */
  readonly value?: string;
  /** The allowed values, when there is a fixed list (also used by shell completion). */
  readonly choices?: readonly string[];
  /** May be given more than once; the values are collected in order. */
  readonly repeatable?: boolean;
  /** What shell completion offers for the value. */
  readonly complete?: 'file' | 'directory';
  readonly help: string;
}

export type OptionValue = string | boolean | string[];

export interface ParsedArgs {
  readonly values: Readonly<Record<string, OptionValue | undefined>>;
  readonly positionals: readonly string[];
  /** `--help` or `-h` was given (the caller prints help and ignores the rest). */
  readonly help: boolean;
}

export type ParseOutcome = { readonly ok: true; readonly args: ParsedArgs } | { readonly ok: false; readonly error: string };

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate nearest to `word`: a candidate that starts with it wins, then the smallest edit distance. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = word.length > 0 && c.startsWith(word) ? -1 : editDistance(word, c);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** `a, b or c`. */
export function orList(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

const HELP: OptionSpec = { name: 'help', short: 'h', help: 'print this help and exit' };

/** Parses `argv` for a command whose options are `options` (`--help` is always accepted). */
export function parseCommandArgs(argv: readonly string[], options: readonly OptionSpec[]): ParseOutcome {
  const all = [...options, HELP];
  const byLong = new Map(all.map((o) => [o.name, o]));
  const byShort = new Map(all.filter((o) => o.short !== undefined).map((o) => [o.short as string, o]));
  const values: Record<string, OptionValue | undefined> = {};
  const positionals: string[] = [];
  let help = false;
  let error: string | undefined;
  const fail = (e: string): void => {
    error ??= e;
  };
  const suggest = (given: string): string => {
    const longs = all.map((o) => o.name);
    const n = nearest(given.replace(/^-+/, ''), longs);
    return n !== undefined ? ` (did you mean --${n}?)` : '';
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (eq >= 0) inline = arg.slice(eq + 1);
      spec = byLong.get(name);
      shown = `--${name}`;
    } else {
      if (arg.length > 2 && byLong.has(arg.slice(1).split('=')[0]!)) {
        // `-check`, `-json`: a long option typed with one dash, not `-c heck`.
        fail(`Unknown option '${arg}' (did you mean --${arg.slice(1).split('=')[0]}?)`);
        continue;
      }
      const name = arg.slice(1, 2);
      if (arg.length > 2) inline = arg.slice(2).replace(/^=/, '');
      spec = byShort.get(name);
      shown = `-${name}`;
      if (spec === undefined && arg.length > 2) {
        // `-json` (one dash) is a mistyped long option more often than a short one.
        const asLong = byLong.get(arg.slice(1));
        fail(`Unknown option '${arg}'${asLong !== undefined ? ` (did you mean --${asLong.name}?)` : suggest(arg)}`);
        continue;
      }
    }
    if (spec === undefined) {
      fail(`Unknown option '${arg.split('=')[0]}'${suggest(arg.split('=')[0]!)}`);
      continue;
    }
    if (spec === HELP) {
      help = true;
      continue;
    }
    let value: string | true;
    if (spec.value === undefined) {
      if (inline !== undefined) {
        fail(`option ${shown} takes no value (got '${inline}')`);
        continue;
      }
      value = true;
    } else if (inline !== undefined) value = inline;
    else if (i + 1 < argv.length && (argv[i + 1] === '-' || !argv[i + 1]!.startsWith('-') || /^-\d/.test(argv[i + 1]!))) value = argv[++i]!;
    else {
      fail(`option --${spec.name} needs a value (${spec.value})`);
      continue;
    }
    if (typeof value === 'string' && spec.choices !== undefined && !spec.choices.includes(value)) {
      const n = nearest(value, spec.choices);
      const close = n !== undefined && (n.startsWith(value) || editDistance(value, n) <= 2);
      fail(`--${spec.name} is ${orList(spec.choices)}, not '${value}'${close ? ` (did you mean ${n}?)` : ''}`);
      continue;
    }
    const prev = values[spec.name];
    if (spec.repeatable === true) values[spec.name] = [...((prev as string[] | undefined) ?? []), value as string];
    else if (prev !== undefined) fail(`option --${spec.name} given twice`);
    else values[spec.name] = value;
  }
  if (help) return { ok: true, args: { values, positionals, help } };
  if (error !== undefined) return { ok: false, error };
  return { ok: true, args: { values, positionals, help } };
}

/** The string value of an option (undefined when absent). */
export function stringOption(a: ParsedArgs, name: string): string | undefined {
  const v = a.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether a switch was given. */
export function flagOption(a: ParsedArgs, name: string): boolean {
  return a.values[name] === true;
}

/** The values of a repeatable option (empty when absent). */
export function listOption(a: ParsedArgs, name: string): readonly string[] {
  const v = a.values[name];
  return Array.isArray(v) ? v : [];
}
