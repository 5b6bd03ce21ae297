// The docs describe the code as it is: every repository path README.md and docs/*.md name exists,
// docs/config.md documents exactly the keys the configuration loader accepts (each side gaining a
// key fails here), and every `isakmp COMMAND --option` the docs show is one the command table
// (src/cli/commands.ts) has, and every command and option of that table is shown somewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, EXIT_CODES } from '../src/cli/commands.js';
import { upExitCode } from '../src/cli/control.js';
import { loaderKeys } from './helpers/config-keys.js';

const DOCS = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f))];
const read = (f: string): string => readFileSync(f, 'utf8');

test('every src/, test/, bench/, interop/ path README.md and docs/*.md name exists', () => {
  const missing: string[] = [];
  for (const f of DOCS) {
    for (const m of read(f).matchAll(/(?<![\w./-])((?:src|test|bench|interop)\/[\w./*-]*[\w/*])/g)) {
      const p = m[1]!;
      if (p.includes('*')) continue;
      if (!existsSync(p)) missing.push(`${f}: ${p}`);
    }
  }
  assert.deepEqual(missing, []);
});


/** The text of docs/config.md from the `## heading` line to the next `## `. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/config.md has a section ## ${heading}`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The first cells of a section's key table (`| \`key\` | …`), `log.level` counted as `log`. */
function tableKeys(text: string): string[] {
  const keys = new Set<string>();
  for (const m of text.matchAll(/^\| `([a-z_]+)(?:\.[a-z_]+)?` \|/gm)) keys.add(m[1]!);
  return [...keys].sort();
}

/** The keys of the YAML example blocks of a section, at the indentation given. */
function yamlKeys(text: string, indent: number): Set<string> {
  const keys = new Set<string>();
  for (const block of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    for (const m of block[1]!.matchAll(new RegExp(`^ {${indent}}([a-z_]+):`, 'gm'))) keys.add(m[1]!);
  }
  return keys;
}

const SECRETS = 'secrets:\n  s: { psk: "a-long-enough-secret-1234" }\n';
const CONN = 'connections:\n  c:\n    secret: s\n    remote: { address: 192.0.2.1 }\n    local: { address: 192.0.2.2 }\n    ike: aes128-sha256-modp2048\n';

test('docs/config.md documents exactly the keys the loader accepts (global, ha, secrets, connections)', () => {
  const doc = read(join('docs', 'config.md'));
  assert.deepEqual(tableKeys(section(doc, '`global`')), loaderKeys(`global:\n  zz_unknown: 1\n${SECRETS}${CONN}`), 'global');
  assert.deepEqual(tableKeys(section(doc, '`ha`')), loaderKeys(`ha:\n  zz_unknown: 1\n${SECRETS}${CONN}`), 'ha');
  // secrets: the keys of the example, and those the prose sets in backticks as `KEY: true`.
  const sec = section(doc, '`secrets`');
  const secretKeys = yamlKeys(sec, 4);
  for (const m of sec.matchAll(/`([a-z_]+): (?:true|false)`/g)) secretKeys.add(m[1]!);
  assert.deepEqual([...secretKeys].sort(), loaderKeys(`secrets:\n  s: { psk: "a-long-enough-secret-1234", zz_unknown: 1 }\n${CONN}`), 'secrets');
  // connections: the keys of the example, the bullets' bold keys and the remote-access list.
  const conn = section(doc, '`connections`');
  const connKeys = yamlKeys(conn, 4);
  for (const m of conn.matchAll(/\*\*([a-z_]+)\*\*/g)) connKeys.add(m[1]!);
  const ra = /\*\*Remote access\*\* \(([^)]*)\)/.exec(conn);
  assert.ok(ra, 'docs/config.md lists the remote-access keys in a bullet **Remote access** (`key`, …)');
  for (const m of ra[1]!.matchAll(/`([a-z_]+)`/g)) connKeys.add(m[1]!);
  for (const m of conn.matchAll(/^- \*\*[^*]+\*\* \(`([a-z_]+)`/gm)) connKeys.add(m[1]!);
  connKeys.delete('id'); // **Identities** (`id`): a key of local and remote
  assert.deepEqual([...connKeys].sort(), loaderKeys(`${SECRETS}${CONN}    zz_unknown: 1\n`), 'connections');
});

test('every isakmp command and option the docs show exists, and every one of the table is shown', () => {
  const byName = new Map(COMMANDS.map((c) => [c.name, c]));
  const wrong: string[] = [];
  const shownCommands = new Set<string>();
  const shownOptions = new Set<string>();
  for (const f of DOCS) {
    // Code spans and code block lines that start with `isakmp WORD`.
    const text = read(f);
    const snippets = [...text.matchAll(/`(isakmp [^`\n]+)`/g)].map((m) => m[1]!);
    for (const block of text.matchAll(/```(?:sh|bash|console)?\n([\s\S]*?)```/g)) {
      for (const line of block[1]!.split('\n')) {
        const code = line.replace(/#.*$/, '');
        for (const m of code.matchAll(/(?:^|[\s|(])(isakmp [a-z].*?)(?=\s{2,}isakmp |$)/g)) snippets.push(m[1]!.trim());
      }
    }
    for (const s of snippets) {
      const m = /^isakmp ([a-z][a-z-.]*)(?=$|[\s\]])/.exec(s);
      if (!m) continue;
      const name = m[1]!;
      if (name === 'yaml' || name === 'is' || name === 'daemons') continue; // prose: "isakmp.yaml", "isakmp is ..."
      const cmd = byName.get(name);
      if (!cmd) {
        wrong.push(`${f}: '${s}': no command '${name}'`);
        continue;
      }
      shownCommands.add(name);
      for (const o of s.slice(m[0].length).split(/\s*\|\s*isakmp |\s+#/)[0]!.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
        if (o[1] === 'help' || o[1] === 'version') continue;
        if (!cmd.options.some((x) => x.name === o[1])) wrong.push(`${f}: '${s}': isakmp ${name} has no option --${o[1]}`);
        else shownOptions.add(`${name} --${o[1]}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  const all = DOCS.map(read).join('\n');
  const unshown: string[] = [];
  for (const c of COMMANDS) {
    if (!shownCommands.has(c.name) && !['help', 'version'].includes(c.name)) unshown.push(`isakmp ${c.name}`);
    for (const o of c.options) if (!shownOptions.has(`${c.name} --${o.name}`) && !all.includes(`--${o.name}`)) unshown.push(`isakmp ${c.name} --${o.name}`);
  }
  assert.deepEqual(unshown, [], 'commands and options no doc shows');
});

test('the exit codes of --help and the man page include every one isakmp up returns', () => {
  for (const cause of [undefined, 'NO_ANSWER', 'PEER_REFUSED', 'PSK_MISMATCH']) {
    const code = upExitCode(cause);
    assert.ok(EXIT_CODES.some(([n]) => n === code), `isakmp up exits ${code} (cause ${cause}): not in EXIT_CODES`);
  }
});

test("README.md's layout table names every entry of src/ and of the repository's top level", () => {
  const readme = read('README.md');
  const table = readme.slice(readme.indexOf('\n## Layout\n'), readme.indexOf('\n## ', readme.indexOf('\n## Layout\n') + 1));
  const rows = new Set([...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!));
  const missing: string[] = [];
  for (const e of readdirSync('src', { withFileTypes: true })) {
    const name = `src/${e.name}${e.isDirectory() ? '/' : ''}`;
    if (!rows.has(name)) missing.push(name);
  }
  for (const e of readdirSync('.', { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.') || ['node_modules', 'build', 'dist', 'src'].includes(e.name)) continue;
    if (!rows.has(`${e.name}/`)) missing.push(`${e.name}/`);
  }
  for (const r of rows) if (!existsSync(r)) missing.push(`${r} (in the table, not in the tree)`);
  assert.deepEqual(missing, []);
});
