#!/usr/bin/env node
// `npm run lint:types`: counts the places where the engine overrides the type checker instead of
// letting a type say it: non-null assertions (`x!`) and `as` casts (`x as T`, `<T>x`; `as const` is
// not a cast and is not counted) under src/exchange, one line per file and a total, optionally
// with every site (`--list`). A report, not a gate: it always exits 0.
//   node scripts/lint-types.mjs [--list] [dir…]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const list = args.includes('--list');
const roots = args.filter((a) => a !== '--list');
if (roots.length === 0) roots.push('src/exchange');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function isConstAssertion(node) {
  const t = node.type;
  return ts.isTypeReferenceNode(t) && ts.isIdentifier(t.typeName) && t.typeName.text === 'const';
}

let totalBang = 0;
let totalAs = 0;
const rows = [];
for (const file of roots.flatMap(walk)) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  let bang = 0;
  let as = 0;
  const sites = [];
  const visit = (node) => {
    if (ts.isNonNullExpression(node)) {
      bang++;
      sites.push(['!', node]);
    } else if ((ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) && !isConstAssertion(node)) {
      as++;
      sites.push(['as', node]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  totalBang += bang;
  totalAs += as;
  rows.push([relative('.', file), bang, as]);
  if (list) {
    for (const [kind, node] of sites) {
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      const snippet = node.getText(sf).replace(/\s+/g, ' ');
      console.log(`${relative('.', file)}:${line + 1}: ${kind} ${snippet.length > 90 ? snippet.slice(0, 87) + '...' : snippet}`);
    }
  }
}

const width = Math.max(4, ...rows.map((r) => r[0].length));
console.log(`${'file'.padEnd(width)}  non-null  as-casts`);
for (const [file, bang, as] of rows) {
  if (bang || as) console.log(`${file.padEnd(width)}  ${String(bang).padStart(8)}  ${String(as).padStart(8)}`);
}
console.log(`${'total'.padEnd(width)}  ${String(totalBang).padStart(8)}  ${String(totalAs).padStart(8)}  (${totalBang + totalAs} in all)`);
