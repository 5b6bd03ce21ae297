/**
 * `isakmp daemon` as a real process: SIGHUP reloads (unchanged SAs stay), SIGTERM shuts down
 * cleanly (Deletes reach the peer, exit 0, control socket removed). The peer is an in-process
 * daemon with the real engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { controlRequest } from '../../src/daemon/control.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { EventLog, freeUdpPorts, tempDir } from './helpers.js';

const conf = (port: number, peer: number, sock: string, me: string, other: string, start: string, level = 'info'): string => `global:
  listen: [127.0.0.1]
  port: ${port}
  natt_port: 0
  control_socket: ${sock}
  log: { level: ${level} }
secrets:
  k: { psk: "signal test secret", allow_weak_psk: true }
connections:
  to-${other}:
    secret: k
    local:  { address: 127.0.0.1, id: "@${me}.test" }
    remote: { address: 127.0.0.1, port: ${peer}, id: "@${other}.test" }
    ike: aes128-sha256-ecp256
    esp: aes128-sha256
    start: ${start}
`;

test('a daemon process: SIGHUP reloads without touching unchanged SAs, SIGTERM sends Deletes and exits 0', { skip: existsSync('dist/cli/main.js') ? false : 'dist/ not built' }, async () => {
  const dir = tempDir('isakmp-sig-');
  const [lp, rp] = await freeUdpPorts(2);
  const rtext = conf(rp!, lp!, join(dir, 'r.sock'), 'right', 'left', 'add');
  const ev = new EventLog();
  const right = new Daemon({
    config: parseConfig(rtext, join(dir, 'r.yaml')),
    endpointFactory: realEndpointFactory,
    control: false,
    logger: new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} }),
    onEvent: ev.push,
  });
  await right.start();
  const lfile = join(dir, 'l.yaml');
  const lsock = join(dir, 'l.sock');
  writeFileSync(lfile, conf(lp!, rp!, lsock, 'left', 'right', 'start'));
  let log = '';
  const child = spawn(process.execPath, ['dist/cli/main.js', 'daemon', '--config', lfile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    await ev.wait((e) => e.type === 'ipsec-sa-established', 'right: IPsec SA from the child daemon', 15_000);
    const before = await controlRequest(lsock, { cmd: 'status' });
    assert.equal(before.ok, true);
    const sa0 = (before as { data: { isakmp: { id: string }[] } }).data.isakmp[0]?.id;
    assert.ok(sa0);

    // SIGHUP with only the log level changed: the connection is unchanged, its SA stays
    writeFileSync(lfile, conf(lp!, rp!, lsock, 'left', 'right', 'start', 'debug'));
    child.kill('SIGHUP');
    const t0 = Date.now();
    while (!log.includes('reloaded') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, /"msg":"reloaded [^"]*l\.yaml: 1 unchanged, 0 changed, 0 added, 0 removed"/);
    const after = await controlRequest(lsock, { cmd: 'status' });
    assert.equal((after as { data: { isakmp: { id: string }[] } }).data.isakmp[0]?.id, sa0, 'the ISAKMP SA survived the reload');
    assert.ok(log.split('\n').every((l) => l === '' || l.startsWith('{')), 'still JSON after the reload (the command line wins)');

    // SIGTERM: Deletes reach the peer, exit code 0, socket removed
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await ev.wait((e) => e.type === 'deleted' && e.kind === 'isakmp' && e.by === 'peer', 'right: ISAKMP SA deleted by the stopping daemon', 5000);
    await ev.wait((e) => e.type === 'deleted' && e.kind === 'ipsec' && e.by === 'peer', 'right: IPsec SA deleted by the stopping daemon', 5000);
    assert.equal(existsSync(lsock), false);
    assert.match(log, /"msg":"stopped"/);
    assert.ok(!log.includes('signal test secret'), 'no PSK in the log');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await right.stop();
  }
});
