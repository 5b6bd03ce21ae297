/**
 * `isakmp daemon --check` hands every connection to the engine as the daemon does when it starts:
 * what the check accepts the daemon starts with, and what the daemon refuses the check refuses
 * with the same message. Over every example in examples/ and every algorithm name docs/config.md
 * lists, plus the identities and transforms the engine does not take yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { loadConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { parseEspProposalSpec, parseIkeProposalSpec } from '../../src/exchange/names.js';
import { tempDir } from './helpers.js';

const quiet = new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

/** The daemon's start-up up to its sockets: config loaded, engine built with every connection. */
function daemonRefusal(file: string, keylog: string): string[] | undefined {
  try {
    void new Daemon({ config: loadConfig(file), endpointFactory: realEndpointFactory, logger: quiet, control: false, keylog });
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n').map((l) => `isakmp daemon: ${l}`);
  }
}

/** --check and the daemon agree on `file`; returns the refusal lines (undefined when accepted). */
async function agree(file: string, dir: string): Promise<string[] | undefined> {
  const c = io();
  const code = await runCli(['daemon', '--check', '--config', file], c.io);
  const refused = daemonRefusal(file, join(dir, 'keys'));
  if (code === 0) {
    assert.match(c.out[0] ?? '', /: ok, \d+ connections?$/, file);
    assert.equal(refused, undefined, `${file}: --check accepts it, the daemon refuses it: ${refused?.join('\n')}`);
    return undefined;
  }
  assert.equal(code, 1, `${file}: ${c.err.join('\n')}`);
  assert.deepEqual(refused, c.err, `${file}: the daemon must refuse what --check refuses, with the same message`);
  // and the daemon command itself (it stops before binding anything)
  const d = io();
  assert.equal(await runCli(['daemon', '--config', file], d.io), 1);
  assert.deepEqual(d.err, c.err);
  return c.err;
}

test('every example: --check accepts it and the daemon starts with it', async () => {
  const dir = tempDir('isakmp-check-');
  const files = [
    ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => join('examples', f)),
    ...readdirSync(join('examples', 'loopback')).filter((f) => f.endsWith('.yaml')).map((f) => join('examples', 'loopback', f)),
  ];
  assert.ok(files.length >= 7, files.join(', '));
  for (const f of files) assert.equal(await agree(f, dir), undefined, f);
});

/** The backticked words of the docs/config.md bullet that starts with `title`. */
function docNames(title: string): string[] {
  const doc = readFileSync(join('docs', 'config.md'), 'utf8');
  const start = doc.indexOf(`- **${title}**`);
  assert.ok(start >= 0, title);
  const end = doc.indexOf('\n- **', start + 1);
  const bullet = doc.slice(start, end);
  return [...bullet.matchAll(/`([a-z0-9][a-z0-9_-]*)`/g)].map((m) => m[1]!).filter((t) => !['ike', 'esp', 'allow_weak_groups', 'status'].includes(t));
}

function config(dir: string, ike: string, esp: string, extra = ''): string {
  return `global:
  port: 15999
  natt_port: 0
  control_socket: ${join(dir, 'c.sock')}
secrets:
  k: { psk: "check test", allow_weak_psk: true }
connections:
  c:
    secret: k
    local: { address: 192.0.2.1${extra} }
    remote: { address: 192.0.2.2 }
    ike: ${ike}
    esp: ${esp}
    allow_weak_groups: true
`;
}

test('every algorithm name docs/config.md lists: --check and the daemon agree; only AES-GCM is refused, in the same words', async () => {
  const dir = tempDir('isakmp-check-');
  const weak = { allowWeakGroups: true };
  const cases: { ike: string; esp: string; name: string }[] = [];
  for (const [title, isIke] of [['Phase-1 proposals', true], ['Phase-2 proposals', false]] as const) {
    const names = docNames(title);
    assert.ok(names.length >= 10, `${title}: ${names.join(' ')}`);
    for (const t of names) {
      const ike = [t, `${t}-sha256-modp2048`, `aes128-${t}-modp2048`, `aes128-sha256-${t}`].filter((x) => parseIkeProposalSpec(x, weak).ok);
      const esp = [t, `${t}-sha256`, `aes128-${t}`, `aes128-sha256-${t}`].filter((x) => parseEspProposalSpec(x, weak).ok);
      const usable = isIke ? ike : esp;
      assert.ok(usable.length > 0 || (isIke ? esp : ike).length > 0, `docs/config.md names '${t}' (${title}) and the parser knows no proposal with it`);
      for (const x of ike) cases.push({ ike: x, esp: 'aes128-sha256', name: t });
      for (const x of esp) cases.push({ ike: 'aes128-sha256-modp2048', esp: x, name: t });
    }
  }
  const refused = new Set<string>();
  for (const [i, c] of cases.entries()) {
    const file = join(dir, `alg${i}.yaml`);
    writeFileSync(file, config(dir, c.ike, c.esp));
    const err = await agree(file, dir);
    if (err === undefined) continue;
    refused.add(c.name);
    assert.deepEqual(err, [`isakmp daemon: ${file}:8:3: connections.c.esp: '${c.esp}' is not implemented by the engine yet (ipsec: protocol 3 transform 20 not supported): use e.g. aes128-sha256`]);
  }
  assert.deepEqual([...refused].sort(), ['aes128gcm16', 'aes192gcm16', 'aes256gcm16']);
});

test('a keyid: identity (ID_KEY_ID, the group name of Cisco-style clients): --check accepts it as the daemon does', async () => {
  const dir = tempDir('isakmp-check-');
  const file = join(dir, 'keyid.yaml');
  writeFileSync(file, config(dir, 'aes128-sha256-modp2048', 'aes128-sha256', ', id: "keyid:gateway-7"'));
  assert.equal(await agree(file, dir), undefined);
  // and a reload to such a file is taken
  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, config(dir, 'aes128-sha256-modp2048', 'aes128-sha256'));
  const d = new Daemon({ config: loadConfig(ok), configPath: file, endpointFactory: realEndpointFactory, logger: quiet, control: false });
  await d.reload();
  assert.deepEqual(d.status().connections.map((c) => c.name), ['c']);
});
