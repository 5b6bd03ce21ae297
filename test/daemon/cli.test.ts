import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { FakeEndpoint } from './fake-endpoint.js';
import { freeUdpPorts, tempDir } from './helpers.js';

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s) => out.push(s), err: (s) => err.push(s) }, out, err };
}

test('isakmp status/up/down/reload against a running daemon: exit codes and one-line errors', async () => {
  const dir = tempDir('isakmp-cli-');
  const [a, b, c] = await freeUdpPorts(3);
  const sock = join(dir, 'd.sock');
  const file = join(dir, 'd.yaml');
  const text = `global:\n  listen: [127.0.0.1]\n  port: ${a}\n  natt_port: ${b}\n  control_socket: ${sock}\nsecrets:\n  s: { allow_weak_psk: true,\n       psk: pw-123456 }\nconnections:\n  lab:\n    secret: s\n    local: { address: 127.0.0.1 }\n    remote: { address: 127.0.0.1, port: ${c} }\n    ike: aes256-sha1-ecp256\n`;
  writeFileSync(file, text);
  const daemon = new Daemon({
    config: parseConfig(text, file),
    endpointFactory: (o) => new FakeEndpoint(o),
    logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }),
  });
  await daemon.start();
  try {
    let cap = capture();
    assert.equal(await runCli(['status', '--socket', sock], cap.io), 0);
    assert.deepEqual(cap.err, []);
    assert.equal(cap.out[0], `listening: 127.0.0.1:${a}, 127.0.0.1:${b} (nat-t); dataplane: none`);
    assert.equal(cap.out[1], 'connections (1):');
    assert.equal(cap.out[2], `  lab              main psk -> 127.0.0.1:${c}  start=add`);
    assert.equal(cap.out[3], 'ISAKMP SAs (0):');

    cap = capture();
    assert.equal(await runCli(['status', '--json', '--config', file], cap.io), 0);
    const j = JSON.parse(cap.out.join('\n')) as { connections: { name: string }[]; counters: { exchanges: unknown } };
    assert.equal(j.connections[0]?.name, 'lab');
    assert.ok(j.counters.exchanges);

    cap = capture();
    assert.equal(await runCli(['down', 'lab', '--socket', sock], cap.io), 1);
    assert.deepEqual(cap.err, ["isakmp down: connection 'lab' has no SAs"]);

    cap = capture();
    assert.equal(await runCli(['up', 'ghost', '--socket', sock], cap.io), 1);
    assert.deepEqual(cap.err, ["isakmp up: no connection named 'ghost' (configured: lab)"]);

    cap = capture();
    assert.equal(await runCli(['up', '--socket', sock], cap.io), 2);
    assert.deepEqual(cap.err, ['isakmp up: give exactly one connection name (isakmp up NAME)']);

    cap = capture();
    assert.equal(await runCli(['reload', '--socket', sock], cap.io), 0);
    assert.deepEqual(cap.out, [`reloaded ${file}: 1 unchanged, 0 changed, 0 added, 0 removed`]);
    writeFileSync(file, text + '    mode: sideways\n');
    cap = capture();
    assert.equal(await runCli(['reload', '--socket', sock], cap.io), 1);
    assert.deepEqual(cap.err, [`isakmp reload: reload refused, running configuration kept: ${file}:15:11: connections.lab.mode: 'sideways' is not allowed (use one of: main, aggressive)`]);

    cap = capture();
    assert.equal(await runCli(['status', '--socket', join(dir, 'nobody.sock')], cap.io), 1);
    assert.deepEqual(cap.err, [`isakmp status: no daemon listening on ${join(dir, 'nobody.sock')} (start it with 'isakmp daemon', or pass --socket)`]);
  } finally {
    await daemon.stop();
  }
});

test('isakmp daemon --check validates a file; errors name file and line', async () => {
  let cap = capture();
  assert.equal(await runCli(['daemon', '--check', '--config', 'examples/site-to-site-psk.yaml'], cap.io), 0);
  assert.deepEqual(cap.out, ['examples/site-to-site-psk.yaml: ok, 1 connection']);
  const dir = tempDir('isakmp-cli-');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'connections:\n  x:\n    secret: nope\n    remote: { address: 192.0.2.1, id: 192.0.2.1 }\n    local: { id: "@me.example" }\n    ike: aes128-sha256-modp2048\n    esp: blowfish-sha1\n');
  cap = capture();
  assert.equal(await runCli(['daemon', '--check', '--config', bad], cap.io), 1);
  assert.deepEqual(cap.err, [
    `isakmp daemon: ${bad}:3:13: connections.x.secret: no secret named 'nope' in the secrets section`,
    `isakmp daemon: ${bad}:7:10: connections.x.esp: unknown ESP encryption 'blowfish' in 'blowfish-sha1' (use one of: aes, aes128, aes192, aes256, 3des, aes128gcm16, aes192gcm16, aes256gcm16, aes128gcm12, aes192gcm12, aes256gcm12, aes128gcm8, aes192gcm8, aes256gcm8)`,
  ]);
  cap = capture();
  assert.equal(await runCli(['daemon', '--log-format', 'xml'], cap.io), 2);
  assert.deepEqual(cap.err, ["isakmp daemon: --log-format is text or json, not 'xml'"]);
});
