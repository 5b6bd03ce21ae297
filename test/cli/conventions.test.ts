// The conventional CLI: --version, help for every command (both spellings, exit 0, every option
// listed), unknown options and commands answered with the nearest valid one, the man pages
// generated from the same tables (the files in man/ must be what the generator writes), the
// configuration reference against the keys the loader accepts, and shell completion run in bash.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/run.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { editDistance, nearest, parseCommandArgs } from '../../src/cli/args.js';
import { configManPage, manPage } from '../../src/cli/man.js';
import { bashCompletion, zshCompletion } from '../../src/cli/completion.js';
import { CONFIG_SECTIONS } from '../../src/cli/config-reference.js';
import { packageVersion } from '../../src/daemon/version.js';
import { tempDir } from '../daemon/helpers.js';
import { loaderKeys } from '../helpers/config-keys.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err };
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('isakmp --version', () => {
  test('prints the version of package.json, three spellings', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(packageVersion(), pkg.version);
    for (const argv of [['--version'], ['-V'], ['version']]) {
      const r = await run(...argv);
      assert.equal(r.code, 0);
      assert.equal(r.out, `isakmp ${pkg.version}`);
    }
  });
});

describe('help', () => {
  test('isakmp help CMD and isakmp CMD --help: exit 0, the same text, every option of the command', async () => {
    for (const c of COMMANDS) {
      const a = await run('help', c.name);
      const b = await run(c.name, '--help');
      const h = await run(c.name, '-h');
      assert.equal(a.code, 0, c.name);
      assert.equal(b.code, 0, c.name);
      assert.deepEqual(a.err, []);
      assert.deepEqual(b.err, []);
      assert.equal(a.out, b.out, c.name);
      assert.equal(h.out, b.out, c.name);
      assert.ok(a.out.startsWith(`usage: isakmp ${c.name}`) || c.name === 'version', `${c.name}: ${a.out.slice(0, 80)}`);
      for (const o of c.options) assert.ok(a.out.includes(`--${o.name}`), `${c.name} help lists --${o.name}`);
      assert.ok(a.out.includes('--help'));
    }
  });
  test('--help wins over other arguments, even bad ones', async () => {
    const r = await run('daemon', '--bogus', '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: isakmp daemon/);
  });
  test('the global help lists every command; no argument prints it too', async () => {
    for (const argv of [[], ['help'], ['--help'], ['-h']]) {
      const r = await run(...argv);
      assert.equal(r.code, 0);
      for (const c of COMMANDS) assert.match(r.out, new RegExp(`^  ${c.name} `, 'm'), c.name);
    }
  });
  test('--log-level is documented with its levels', async () => {
    const r = await run('daemon', '--help');
    assert.match(r.out, /--log-level LEVEL +log level for every area: error, warn, info, debug or\s+trace/);
  });
  test('help config describes every key of the configuration file', async () => {
    const r = await run('help', 'config');
    assert.equal(r.code, 0);
    for (const s of CONFIG_SECTIONS) for (const k of s.keys) assert.ok(r.out.includes(`  ${k.key}`), k.key);
  });
});

describe('unknown options and commands name the nearest valid one', () => {
  const cases: [string[], string][] = [
    [['decode', '--jsn', 'x'], "isakmp decode: Unknown option '--jsn' (did you mean --json?)"],
    [['decode', '--keylgo=k', 'x'], "isakmp decode: Unknown option '--keylgo' (did you mean --keylog?)"],
    [['daemon', '--confg', 'x.yaml'], "isakmp daemon: Unknown option '--confg' (did you mean --config?)"],
    [['daemon', '-check'], "isakmp daemon: Unknown option '-check' (did you mean --check?)"],
    [['status', '--sock', '/x'], "isakmp status: Unknown option '--sock' (did you mean --socket?)"],
    [['up', '--time', '3', 'x'], "isakmp up: Unknown option '--time' (did you mean --timeout?)"],
    [['daemon', '--log-level', 'verbose'], "isakmp daemon: --log-level is error, warn, info, debug or trace, not 'verbose'"],
    [['daemon', '--log-level', 'debg'], "isakmp daemon: --log-level is error, warn, info, debug or trace, not 'debg' (did you mean debug?)"],
    [['daemon', '--config'], 'isakmp daemon: option --config needs a value (FILE)'],
    [['daemon', '--check=yes'], "isakmp daemon: option --check takes no value (got 'yes')"],
    [['daemon', '-c', 'a', '-c', 'b'], 'isakmp daemon: option --config given twice'],
    [['staus'], "isakmp: unknown command 'staus' (did you mean 'status'?); 'isakmp help' lists the commands"],
    [['help', 'decod'], "isakmp: unknown command 'decod' (did you mean 'decode'?); 'isakmp help' lists the commands"],
    [['import', 'swan', 'f'], "isakmp import: FORMAT is one of swanctl, ipsec.conf, cisco, not 'swan' (did you mean 'swanctl'?)"],
    [['completion', 'fish'], "isakmp completion: SHELL is one of bash, zsh, not 'fish' (did you mean 'bash'?)"],
    [['completion'], 'isakmp completion: missing SHELL (usage: isakmp completion bash|zsh)'],
    [['version', 'x'], "isakmp version: unexpected argument 'x' (usage: isakmp version)"],
    [['--json'], "isakmp: '--json' before a command: options go after it (isakmp COMMAND [options]); 'isakmp help' lists the commands"],
  ];
  for (const [argv, line] of cases) {
    test(argv.join(' '), async () => {
      const r = await run(...argv);
      assert.equal(r.code, 2);
      assert.deepEqual(r.err, [line]);
      assert.equal(r.out, '');
    });
  }
  test('the parser: --name=value, -x value, --, - as a positional, repeatable options', () => {
    const opts = [{ name: 'port', short: 'p', value: 'N', repeatable: true, help: '' }, { name: 'json', help: '' }, { name: 'keylog', value: 'FILE', help: '' }];
    const r = parseCommandArgs(['--port=500', '-p', '4500', '--json', '-', '--keylog', 'k', '--', '--not-an-option'], opts);
    assert.ok(r.ok);
    assert.deepEqual(r.args.values, { port: ['500', '4500'], json: true, keylog: 'k' });
    assert.deepEqual(r.args.positionals, ['-', '--not-an-option']);
    assert.equal(editDistance('jsno', 'json'), 1);
    assert.equal(nearest('con', ['check', 'config', 'keylog']), 'config');
  });
});

describe('man pages', () => {
  test('man/isakmp.1 and man/isakmp.yaml.5 are what src/cli/man.ts generates (npm run man)', () => {
    const v = packageVersion();
    assert.equal(readFileSync('man/isakmp.1', 'utf8'), manPage(v), 'man/isakmp.1 is stale: run npm run man');
    assert.equal(readFileSync('man/isakmp.yaml.5', 'utf8'), configManPage(v), 'man/isakmp.yaml.5 is stale: run npm run man');
  });
  test('isakmp.1 documents every command and option of the help; isakmp.yaml.5 every key', () => {
    const page = manPage('x');
    for (const c of COMMANDS) {
      assert.ok(page.includes(`.SS ${c.name}`), c.name);
      for (const o of c.options) assert.ok(page.includes(`\\-\\-${o.name.replace(/-/g, '\\-')}`), `${c.name} --${o.name}`);
    }
    const conf = configManPage('x');
    for (const s of CONFIG_SECTIONS) for (const k of s.keys) assert.ok(conf.includes(`.B ${k.key}`), k.key);
  });
  test('groff formats both pages without a warning', { skip: has('groff') ? false : 'groff not installed' }, () => {
    for (const f of ['man/isakmp.1', 'man/isakmp.yaml.5']) {
      const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', `${f}: ${r.stderr}`);
    }
  });
});

describe('configuration reference', () => {
  const conn = 'connections:\n  c:\n    secret: s\n    remote: { address: 192.0.2.1 }\n    local: { address: 192.0.2.2 }\n    ike: aes128-sha256-modp2048\n';
  test('global, secrets and connections keys are exactly the loader\'s', () => {
    const ref = (title: string): string[] => CONFIG_SECTIONS.find((s) => s.title === title)!.keys.map((k) => k.key).sort();
    assert.deepEqual(ref('global'), loaderKeys(`global:\n  zz_unknown: 1\nsecrets:\n  s: { psk: "a-long-enough-secret-1234" }\n${conn}`));
    assert.deepEqual(ref('secrets.NAME'), loaderKeys(`secrets:\n  s: { psk: "a-long-enough-secret-1234", zz_unknown: 1 }\n${conn}`));
    assert.deepEqual(ref('connections.NAME'), loaderKeys(`secrets:\n  s: { psk: "a-long-enough-secret-1234" }\n${conn}    zz_unknown: 1\n`));
  });
});

describe('shell completion', () => {
  const dir = tempDir('isakmp-completion-');
  const bashFile = join(dir, 'isakmp.bash');
  writeFileSync(bashFile, bashCompletion());
  /** Runs the bash completion function on the words typed so far; returns the offered words. */
  function complete(...words: string[]): string[] {
    const script = `source ${bashFile}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _isakmp; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.length > 0);
  }
  test('isakmp completion bash prints the script; bash completes commands, options and fixed values', async () => {
    const r = await run('completion', 'bash');
    assert.equal(r.code, 0);
    assert.equal(r.out + '\n', bashCompletion());
    assert.deepEqual(complete('isakmp', 'de'), ['decode', 'demo']);
    assert.deepEqual(complete('isakmp', 'decode', '--k'), ['--keylog']);
    assert.deepEqual(complete('isakmp', 'daemon', '--log-level', 'd'), ['debug']);
    assert.deepEqual(complete('isakmp', 'daemon', '--log-format', ''), ['text', 'json']);
    assert.deepEqual(complete('isakmp', 'import', 'ip'), ['ipsec.conf']);
    assert.deepEqual(complete('isakmp', 'completion', ''), ['bash', 'zsh']);
    assert.deepEqual(complete('isakmp', 'help', 'rel'), ['reload']);
    writeFileSync(join(dir, 'capture.pcap'), '');
    assert.deepEqual(complete('isakmp', 'decode', '--json', 'cap'), ['capture.pcap']);
    assert.deepEqual(complete('isakmp', 'status', '--'), ['--json', '--socket', '--config', '--help']);
  });
  test('isakmp completion zsh prints a #compdef script with every command', async () => {
    const r = await run('completion', 'zsh');
    assert.equal(r.code, 0);
    assert.equal(r.out + '\n', zshCompletion());
    assert.match(r.out, /^#compdef isakmp/);
    for (const c of COMMANDS) assert.match(r.out, new RegExp(`'${c.name}:`), c.name);
  });
  test('zsh accepts the script (zsh -n)', { skip: has('zsh') ? false : 'zsh not installed (interop/install.sh installs it)' }, () => {
    const f = join(dir, '_isakmp');
    writeFileSync(f, zshCompletion());
    const r = spawnSync('zsh', ['-n', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
