/**
 * The public API as a library user meets it: the package's subpaths (`isakmp/codec`, `/crypto`,
 * `/engine`, `/daemon`, `/pcap`) export exactly the names docs/api.md lists, values and types, none
 * under two names; the root is codec + crypto + engine; and importing `isakmp/codec` (or the root)
 * in a fresh process loads neither `yaml` nor `node:dgram`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const SUBPATHS = ['codec', 'crypto', 'engine', 'daemon', 'pcap'] as const;
type Subpath = (typeof SUBPATHS)[number];

/** docs/api.md: the names of each `## \`isakmp/X\`` section (types with their `type ` prefix dropped). */
function documented(): Map<Subpath, { values: Set<string>; types: Set<string> }> {
  const doc = readFileSync(join('docs', 'api.md'), 'utf8');
  const out = new Map<Subpath, { values: Set<string>; types: Set<string> }>();
  let current: { values: Set<string>; types: Set<string> } | undefined;
  for (const line of doc.split('\n')) {
    const h = /^## `isakmp\/([a-z]+)`/.exec(line);
    if (h !== null) {
      assert.ok((SUBPATHS as readonly string[]).includes(h[1]!), line);
      current = { values: new Set(), types: new Set() };
      out.set(h[1] as Subpath, current);
      continue;
    }
    if (line.startsWith('## ')) current = undefined;
    if (current === undefined || !line.startsWith('- `')) continue;
    const head = line.slice(2, line.indexOf(' — '));
    assert.ok(line.includes(' — '), `docs/api.md: '${line}' needs ' — ' and one line saying what it is`);
    for (const m of head.matchAll(/`(type )?([A-Za-z_][A-Za-z0-9_]*)`/g)) {
      const set = m[1] !== undefined ? current.types : current.values;
      assert.ok(!current.values.has(m[2]!) && !current.types.has(m[2]!), `docs/api.md lists ${m[2]} twice`);
      set.add(m[2]!);
    }
  }
  return out;
}

/** Every name the built declaration file of a subpath exports, split into values and types. */
function declared(program: ts.Program, file: string): { values: Set<string>; types: Set<string> } {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  assert.ok(source, file);
  const mod = checker.getSymbolAtLocation(source);
  assert.ok(mod, file);
  const values = new Set<string>();
  const types = new Set<string>();
  for (const sym of checker.getExportsOfModule(mod)) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const typeOnly = sym.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d)) === true || (target.flags & ts.SymbolFlags.Value) === 0;
    (typeOnly ? types : values).add(sym.name);
  }
  return { values, types };
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();

test('every subpath exports exactly what docs/api.md lists, values and types', async () => {
  const docs = documented();
  assert.deepEqual(sorted(docs.keys()), sorted(SUBPATHS));
  const dist: Record<Subpath, string> = {
    codec: 'dist/codec/index.d.ts',
    crypto: 'dist/crypto/index.d.ts',
    engine: 'dist/exchange/index.d.ts',
    daemon: 'dist/daemon/index.d.ts',
    pcap: 'dist/pcap/index.d.ts',
  };
  const program = ts.createProgram([...Object.values(dist), 'dist/index.d.ts'], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true });
  for (const sub of SUBPATHS) {
    const doc = docs.get(sub)!;
    const d = declared(program, dist[sub]);
    const runtime = Object.keys((await import(`isakmp/${sub}`)) as object);
    assert.deepEqual(sorted(runtime), sorted(d.values), `isakmp/${sub}: runtime and declared values`);
    assert.deepEqual(sorted(doc.values), sorted(d.values), `isakmp/${sub}: values in docs/api.md vs exported`);
    assert.deepEqual(sorted(doc.types), sorted(d.types), `isakmp/${sub}: types in docs/api.md vs exported`);
  }
  // the root: codec + crypto + engine, nothing of the daemon or the capture reader
  const root = declared(program, 'dist/index.d.ts');
  const union = (k: 'values' | 'types'): string[] => sorted(new Set(['codec', 'crypto', 'engine'].flatMap((s) => [...docs.get(s as Subpath)![k]])));
  assert.deepEqual(sorted(root.values), union('values'));
  assert.deepEqual(sorted(root.types), union('types'));
  assert.deepEqual(sorted(Object.keys(await import('isakmp'))), union('values'));
});

test('no alias: no function or class is exported under two names, across all entry points', async () => {
  const byValue = new Map<unknown, string>();
  for (const sub of ['isakmp', ...SUBPATHS.map((s) => `isakmp/${s}`)]) {
    for (const [name, value] of Object.entries((await import(sub)) as Record<string, unknown>)) {
      if (typeof value !== 'function') continue;
      const seen = byValue.get(value);
      assert.ok(seen === undefined || seen === name, `${sub}: ${name} is ${seen} under another name`);
      byValue.set(value, name);
    }
  }
  assert.ok(byValue.size > 100, `${byValue.size} functions and classes`);
});

/**
 * Imports `specifier` in a fresh node and returns every URL its imports resolved to (a module
 * resolve hook reports them), plus the built-in modules node loaded.
 */
function loaded(specifier: string): { urls: string[]; builtins: string[] } {
  const hook = `
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const r = await next(specifier, context);
      port.postMessage(r.url);
      return r;
    }`;
  const main = `
    import { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const urls = [];
    port1.on('message', (u) => urls.push(u));
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), import.meta.url, { data: { port: port2 }, transferList: [port2] });
    await import(${JSON.stringify(specifier)});
    await new Promise((r) => setTimeout(r, 200));
    port1.close();
    const builtins = (process.moduleLoadList ?? []).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
    console.log(JSON.stringify({ urls, builtins }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', main], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { urls: string[]; builtins: string[] };
}

test('importing isakmp/codec (and the root) loads neither yaml nor node:dgram; isakmp/daemon loads both', () => {
  const has = (l: { urls: string[]; builtins: string[] }, what: 'yaml' | 'dgram' | 'http'): boolean =>
    what === 'yaml' ? l.urls.some((u) => u.includes('/node_modules/yaml/')) : l.urls.includes(`node:${what}`) || l.builtins.includes(what);
  const codec = loaded('isakmp/codec');
  assert.ok(codec.urls.some((u) => u.endsWith('/dist/codec/index.js')), codec.urls.join('\n'));
  assert.ok(codec.urls.every((u) => !u.includes('/dist/exchange/') && !u.includes('/dist/daemon/') && !u.includes('/dist/crypto/')), codec.urls.join('\n'));
  for (const what of ['yaml', 'dgram', 'http'] as const) assert.equal(has(codec, what), false, `isakmp/codec loads ${what}`);
  const root = loaded('isakmp');
  assert.ok(root.urls.every((u) => !u.includes('/dist/daemon/')), root.urls.join('\n'));
  for (const what of ['yaml', 'dgram', 'http'] as const) assert.equal(has(root, what), false, `isakmp loads ${what}`);
  // the probe sees them where they are loaded
  const daemon = loaded('isakmp/daemon');
  for (const what of ['yaml', 'dgram', 'http'] as const) assert.equal(has(daemon, what), true, `isakmp/daemon loads ${what}`);
});
