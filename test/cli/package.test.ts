// The package as an operator gets it: `npm pack` on a copy of the sources without dist/ (a fresh
// clone) builds through `prepack`, the tarball holds the build, LICENSE, examples, man pages, the
// systemd unit and the bundled yaml dependency, and `npm install -g` of it into a temporary
// prefix (offline) gives a working `isakmp`. The unit file passes `systemd-analyze verify`
// against that installation where the tool exists.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../daemon/helpers.js';

const ROOT = resolve('.');
const work = tempDir('isakmp-pack-');
const src = join(work, 'clone');
const prefix = join(work, 'prefix');

/** The environment without the variables `npm test` set, so the inner npm acts as if run by hand. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

function sh(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

after(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack / npm install -g', { skip: has('npm') ? false : 'npm not on PATH' }, () => {
  let tarball = '';

  test('npm pack on a clone without dist/ builds it (prepack) and ships build, LICENSE, examples, man pages, unit, yaml', () => {
    // what git would check out: no dist/, build/ or node_modules/ (linked to this one, as npm ci would make it)
    const skip = new Set(['dist', 'build', 'node_modules', '.git']);
    cpSync(ROOT, src, { recursive: true, filter: (p) => !skip.has(p.slice(ROOT.length + 1).split('/')[0]!) });
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    assert.ok(!existsSync(join(src, 'dist')));
    const r = sh('npm', ['pack', '--pack-destination', work, '--json'], src);
    assert.equal(r.status, 0, r.stderr);
    // lifecycle scripts may print before npm's JSON
    const info = JSON.parse(r.stdout.slice(r.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info[0]!.filename);
    assert.ok(existsSync(tarball));
    const files = new Set(info[0]!.files.map((f) => f.path));
    for (const f of ['dist/cli/main.js', 'dist/index.js', 'dist/cli/diagram/svg.js', 'LICENSE', 'README.md', 'package.json', 'examples/site-to-site-psk.yaml', 'man/isakmp.1', 'man/isakmp.yaml.5', 'contrib/isakmp.service', 'node_modules/yaml/package.json', 'node_modules/prom-client/package.json', 'native/netlink.c', 'native/binding.gyp', 'scripts/build-native.mjs']) {
      assert.ok(files.has(f), `${f} in the package`);
    }
    assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('build/')), 'no tests or sources in the package');
    assert.match(readFileSync(join(src, 'dist/cli/main.js'), 'utf8'), /^#!\/usr\/bin\/env -S node --max-semi-space-size=8\n/);
  });

  test('npm install -g of the tarball (offline, temporary prefix): isakmp --version, help, daemon --check, man pages', () => {
    assert.ok(tarball, 'the pack test ran');
    const r = sh('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], work);
    assert.equal(r.status, 0, r.stderr);
    const bin = join(prefix, 'bin', 'isakmp');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const v = sh(bin, ['--version'], work);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout, `isakmp ${pkg.version}\n`);
    const h = sh(bin, ['help', 'decode'], work);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^usage: isakmp decode/);
    const example = join(prefix, 'lib', 'node_modules', 'isakmp', 'examples', 'site-to-site-psk.yaml');
    const c = sh(bin, ['daemon', '--check', '--config', example], work);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, `${example}: ok, 1 connection\n`);
    // the install script built the xfrm dataplane's netlink binding there, as npm ci does here
    if (existsSync(join(ROOT, 'native/build/Release/isakmp_netlink.node'))) {
      assert.ok(existsSync(join(prefix, 'lib', 'node_modules', 'isakmp', 'native/build/Release/isakmp_netlink.node')), 'the native binding was built by the install');
    }
    assert.deepEqual(readdirSync(join(prefix, 'share', 'man', 'man1')), ['isakmp.1']);
    assert.deepEqual(readdirSync(join(prefix, 'share', 'man', 'man5')), ['isakmp.yaml.5']);
  });

  test('contrib/isakmp.service: systemd-analyze verify accepts it for that installation', { skip: has('systemd-analyze') ? false : 'systemd-analyze not installed' }, () => {
    const unit = readFileSync('contrib/isakmp.service', 'utf8');
    for (const line of ['Type=simple', 'RuntimeDirectory=isakmp', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_ADMIN', 'AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_ADMIN']) {
      assert.ok(unit.split('\n').includes(line), line);
    }
    assert.ok(prefix && existsSync(join(prefix, 'bin', 'isakmp')), 'the install test ran');
    const f = join(work, 'isakmp.service');
    writeFileSync(f, unit.replaceAll('/usr/local/bin/isakmp', join(prefix, 'bin', 'isakmp')));
    // Documentation=man:… is checked with man(1): point it at the installed pages
    const r = sh('systemd-analyze', ['verify', f], work, { MANPATH: `${join(prefix, 'share', 'man')}:`, SYSTEMD_LOG_TARGET: 'console' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    // verify also parses the system's units ours is ordered against (network-online.target pulls in
    // whatever the machine has installed, e.g. Debian's freeradius.service with its MemoryLimit=
    // warning): lines about those files are not about this unit; every other line still fails
    const others = /^\/(?:lib|usr\/lib|etc|run)\/systemd\/system\/(?!isakmp\.service)[^:]+:\d+: /;
    assert.equal(r.stderr.split('\n').filter((l) => l.trim() !== '' && !others.test(l)).join('\n'), '', r.stderr);
    // the same unit pointing at a missing program is refused, so the check above can fail
    writeFileSync(f, unit.replaceAll('/usr/local/bin/isakmp', join(prefix, 'bin', 'no-such-isakmp')));
    const bad = sh('systemd-analyze', ['verify', f], work, { MANPATH: `${join(prefix, 'share', 'man')}:`, SYSTEMD_LOG_TARGET: 'console' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr + bad.stdout, /no-such-isakmp is not executable/);
  });
});
