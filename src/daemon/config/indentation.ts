/**
 * Indentation problems of a configuration file in the operator's words, at the offending line.
 * The YAML parser reports a tab in the indentation with a cascade of follow-on errors, and an
 * over-indented key (`secret: k` then `     remote: …`) on the line before it (it reads the second
 * line as the continuation of the first value). So, before the parser speaks:
 *
 *   - tabProblems: every line whose indentation holds a tab, at the tab: one line each;
 *   - indentationProblem (asked only when the parser found errors): the first line that is
 *     indented deeper than the line before it although that line already has a value, or that
 *     comes back to a column no enclosing level uses.
 *
 * Lines inside block scalars (`|`, `>`) and multi-line flow collections (`{ … }`, `[ … ]`) are
 * left alone. Pure functions over the text.
 * @module
 */

export interface IndentationProblem {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export const TAB_MESSAGE = 'tabs are not allowed in YAML indentation (indent with spaces)';

/** One problem per line whose leading whitespace holds a tab before its content (comments aside). */
export function tabProblems(text: string): IndentationProblem[] {
  const out: IndentationProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const lead = /^[ \t]*/.exec(raw)![0];
    const rest = raw.slice(lead.length);
    const tab = lead.indexOf('\t');
    if (tab >= 0 && rest !== '' && !rest.startsWith('#')) out.push({ line: i + 1, col: tab + 1, message: TAB_MESSAGE });
  });
  return out;
}

/**
 * Calls `visit(i)` for each character of `s` outside single or double quotes (a backslash escapes
 * inside double quotes), until `visit` returns true; returns that index, or -1.
 */
function findOutsideQuotes(s: string, visit: (i: number) => boolean): number {
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q !== undefined) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"') i++;
    } else if (c === '"' || c === "'") q = c;
    else if (visit(i)) return i;
  }
  return -1;
}

/** The line without a trailing comment (a `#` after a space, outside quotes). */
function withoutComment(s: string): string {
  const at = findOutsideQuotes(s, (i) => s[i] === '#' && (i === 0 || s[i - 1] === ' '));
  return (at < 0 ? s : s.slice(0, at)).trimEnd();
}

/** Open brackets minus closed ones, outside quotes. */
function flowBalance(s: string): number {
  let n = 0;
  findOutsideQuotes(s, (i) => {
    const c = s[i];
    if (c === '{' || c === '[') n++;
    else if (c === '}' || c === ']') n--;
    return false;
  });
  return n;
}

const KEY = /^(?:"[^"]*"|'[^']*'|[^\s#'"{[\]},&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s|$)/;

/** The first indentation problem, or undefined. */
export function indentationProblem(text: string): IndentationProblem | undefined {
  const lines = text.split(/\r?\n/);
  let stack: number[] | undefined;
  let prev: { line: number; key: string; opens: boolean } | undefined;
  let block: number | undefined; // inside a block scalar of the line at this indent
  let flow = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const content = raw.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const indent = raw.length - content.length;
    if (block !== undefined) {
      if (indent > block) continue;
      block = undefined;
    }
    if (flow > 0) {
      flow += flowBalance(withoutComment(content));
      continue;
    }
    if (/^(---|\.\.\.)(\s|$)/.test(content)) {
      stack = undefined;
      prev = undefined;
      continue;
    }
    const body = withoutComment(content);
    const at = { line: i + 1, col: indent + 1 };
    if (stack === undefined) stack = [indent];
    let top = stack[stack.length - 1]!;
    if (indent > top) {
      if (prev !== undefined && !prev.opens) {
        // a deeper line after a value: a mistake when it looks like a key (else a continued plain scalar)
        if (KEY.test(body) || body.startsWith('- ')) {
          return {
            ...at,
            message: `indented ${indent} spaces, deeper than '${prev.key}' on line ${prev.line}, which already has a value: indent it ${top} spaces to be its sibling (or leave '${prev.key}' empty to nest under it)`,
          };
        }
        continue;
      }
      stack.push(indent);
    } else if (indent < top) {
      let left = top;
      while (stack.length > 1 && stack[stack.length - 1]! > indent) left = stack.pop()!;
      top = stack[stack.length - 1]!;
      if (top !== indent) {
        return { ...at, message: `indented ${indent} spaces, which matches no level above it: use ${left} spaces (as the lines before it) or ${top}` };
      }
    }
    // what this line opens: a key without a value, an empty `-`, a `- key:` item (its mapping sits after the dash)
    let rest = body;
    let restIndent = indent;
    while (rest === '-' || rest.startsWith('- ')) {
      const after = rest.slice(1);
      const pad = after.length - after.trimStart().length;
      restIndent += 1 + pad;
      rest = after.trimStart();
      if (rest !== '' && restIndent > stack[stack.length - 1]!) stack.push(restIndent);
    }
    const key = KEY.exec(rest);
    const value = key ? rest.slice(key[0].length).trim() : rest;
    if (/^[|>][0-9+-]*$/.test(value)) block = indent;
    flow = flowBalance(value);
    prev = { line: i + 1, key: key ? key[0].replace(/\s*:\s*$/, '').trim() : rest.slice(0, 30), opens: rest === '' || (key !== null && value === '') };
  }
  return undefined;
}
