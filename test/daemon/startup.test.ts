/**
 * Start-up is all or nothing: each way it can fail (the IKE port, the NAT-T port, the control
 * socket, the metrics port, the dataplane, an on-demand trap, the key log) stops the daemon with
 * one error line and exit status 1, and leaves nothing half-started: the UDP ports and the metrics
 * port can be bound again at once, the control socket file is gone (another daemon's is left
 * alone), no `started` line and no other line is printed. Each case runs in this process (what is
 * left open) and as an `isakmp daemon` process (the one line, the exit status, that it exits).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { XfrmDataplane } from '../../src/daemon/dataplane.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { freeTcpPort, freeUdpPorts, tempDir } from './helpers.js';

interface Ports { ike: number; natt: number; metrics: number; sock: string; dir: string }

function conf(p: Ports, extra = '', start = 'add'): string {
  return `global:
  listen: [127.0.0.1]
  port: ${p.ike}
  natt_port: ${p.natt}
  control_socket: ${p.sock}
  metrics: 127.0.0.1:${p.metrics}
${extra}secrets:
  k: { psk: "start-up test secret, long and random enough 7f3a" }
connections:
  c:
    secret: k
    local: { address: 127.0.0.1 }
    remote: { address: 127.0.0.1, port: 9 }
    ike: aes128-sha256-modp2048
    local_ts: 10.1.0.0/16
    remote_ts: 10.2.0.0/16
    start: ${start}
`;
}

async function ports(): Promise<Ports> {
  const dir = tempDir('isakmp-start-');
  const [ike, natt] = await freeUdpPorts(2);
  return { ike: ike!, natt: natt!, metrics: await freeTcpPort(), sock: join(dir, 'run', 'isakmp.sock'), dir };
}

/** Holds a UDP port (another program on it). */
async function holdUdp(port: number): Promise<() => Promise<void>> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
  return () => new Promise<void>((r) => s.close(() => r()));
}

async function holdTcp(port: number): Promise<() => Promise<void>> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return () => new Promise<void>((r) => s.close(() => r()));
}

/** True when the UDP port can be bound now (nothing of ours holds it). */
async function udpFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  const ok = await new Promise<boolean>((r) => {
    s.once('error', () => r(false));
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => r(true));
  });
  await new Promise<void>((r) => s.close(() => r()));
  return ok;
}

async function tcpFree(port: number): Promise<boolean> {
  const s: Server = createServer();
  const ok = await new Promise<boolean>((r) => {
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => r(true));
  });
  if (ok) await new Promise<void>((r) => s.close(() => r()));
  return ok;
}

/** Runs `isakmp daemon` until it exits (at most 10 s); its exit status and what it printed. */
function runDaemonProcess(config: string, args: string[] = [], wrap: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const cmd = [...wrap, process.execPath, 'dist/cli/main.js', 'daemon', '--config', config, ...args];
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the daemon did not exit: it is half-started\n${stderr}`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Case {
  readonly name: string;
  /** Makes the failure happen; returns how to undo it and the expected error line (without `isakmp daemon: `). */
  readonly arrange: (p: Ports) => Promise<{ undo: () => Promise<void>; line: RegExp; extra?: string; keylog?: string; holds?: readonly ('ike' | 'natt' | 'metrics')[] }>;
  /** The control socket path belongs to someone else: it must still be there afterwards. */
  readonly foreignSocket?: boolean;
}

const CASES: readonly Case[] = [
  {
    name: 'the IKE port is taken',
    arrange: async (p) => ({ undo: await holdUdp(p.ike), holds: ['ike'], line: new RegExp(`^cannot bind UDP 127\\.0\\.0\\.1:${p.ike}: EADDRINUSE \\(another program has it`) }),
  },
  {
    name: 'the NAT-T port is taken (after the IKE port was bound)',
    arrange: async (p) => ({ undo: await holdUdp(p.natt), holds: ['natt'], line: new RegExp(`^cannot bind UDP 127\\.0\\.0\\.1:${p.natt}: EADDRINUSE`) }),
  },
  {
    name: 'another daemon answers on the control socket',
    foreignSocket: true,
    arrange: async (p) => {
      mkdirSync(join(p.dir, 'run'), { recursive: true });
      const other = createServer((s) => s.end());
      await new Promise<void>((r) => other.listen(p.sock, () => r()));
      return { undo: () => new Promise<void>((r) => other.close(() => r())), line: new RegExp(`^another daemon answers on ${p.sock}: stop it first`) };
    },
  },
  {
    name: 'the control socket\'s folder is a file',
    arrange: async (p) => {
      writeFileSync(join(p.dir, 'run'), 'a file where the folder should be');
      return { undo: async () => {}, line: new RegExp(`^the control socket's folder ${join(p.dir, 'run')} is not a folder \\(remove it, or set global\\.control_socket\\)$`) };
    },
  },
  {
    name: 'the metrics port is taken',
    arrange: async (p) => ({ undo: await holdTcp(p.metrics), holds: ['metrics'], line: new RegExp(`^cannot listen for metrics on 127\\.0\\.0\\.1:${p.metrics}: EADDRINUSE \\(another program listens there`) }),
  },
  {
    name: 'the key log is refused (a symbolic link)',
    arrange: async (p) => {
      const real = join(p.dir, 'real.keys');
      writeFileSync(real, '', { mode: 0o600 });
      const link = join(p.dir, 'keys');
      symlinkSync(real, link);
      return { undo: async () => {}, keylog: link, line: new RegExp(`^key log '${link}' is a symbolic link: refused`) };
    },
  },
];

describe('start-up is all or nothing', () => {
  for (const c of CASES) {
    test(`in process: ${c.name}: start() rejects with one line, nothing stays open`, async () => {
      const p = await ports();
      const a = await c.arrange(p);
      const file = join(p.dir, 'isakmp.yaml');
      const text = conf(p, a.extra ?? '');
      writeFileSync(file, text, { mode: 0o600 });
      const logs: string[] = [];
      try {
        let daemon: Daemon | undefined;
        const started = (async () => {
          daemon = new Daemon({
            config: parseConfig(text, file),
            endpointFactory: realEndpointFactory,
            logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => logs.push(l) }),
            ...(a.keylog !== undefined ? { keylog: a.keylog } : {}),
          });
          await daemon.start();
        })();
        await assert.rejects(started, (e: Error) => {
          assert.match(e.message, a.line);
          assert.equal(e.message.split('\n').length, 1, 'one line');
          return true;
        });
        assert.deepEqual(logs, [], 'nothing logged by a daemon that did not start');
        // nothing of ours left: every port free (those the test holds aside), the control socket gone
        const held = await Promise.all([udpFree(p.ike), udpFree(p.natt), tcpFree(p.metrics)]);
        const holds = a.holds ?? [];
        const expectFree = [!holds.includes('ike'), !holds.includes('natt'), !holds.includes('metrics')];
        assert.deepEqual(held, expectFree, 'ports (IKE, NAT-T, metrics) free unless the test holds them');
        assert.equal(existsSync(p.sock), c.foreignSocket === true, c.foreignSocket === true ? 'the other daemon\'s socket is left alone' : 'no control socket left');
      } finally {
        await a.undo();
      }
    });
  }

  for (const c of CASES) {
    test(`as a process: ${c.name}: one error line, exit status 1`, { skip: existsSync('dist/cli/main.js') ? false : 'dist/ not built' }, async () => {
      const p = await ports();
      const a = await c.arrange(p);
      const file = join(p.dir, 'isakmp.yaml');
      writeFileSync(file, conf(p, a.extra ?? ''), { mode: 0o600 });
      try {
        const r = await runDaemonProcess(file, a.keylog !== undefined ? ['--keylog', a.keylog] : []);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, '');
        const lines = r.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!.replace(/^isakmp daemon: /, ''), a.line);
        assert.ok(lines[0]!.startsWith('isakmp daemon: '));
      } finally {
        await a.undo();
      }
    });
  }

  test('in process: an on-demand trap the kernel refuses: one line, the dataplane and sockets released', async () => {
    const p = await ports();
    const calls: string[] = [];
    let monitors = 0;
    const dp = new XfrmDataplane(
      async (args) => {
        calls.push(args.join(' '));
        // the trap's policy is refused; every other request (the start-up read, the bypass) works
        return args.includes('tmpl') ? { code: 2, stderr: 'RTNETLINK answers: No buffer space available\n' } : { code: 0, stderr: '', stdout: '' };
      },
      () => {},
      () => {
        monitors++;
        return { onLine: () => {}, stop: () => monitors-- };
      },
    );
    const file = join(p.dir, 'isakmp.yaml');
    const text = conf(p, '  dataplane: xfrm\n', 'on-demand');
    const logs: string[] = [];
    const daemon = new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, dataplane: dp, logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => logs.push(l) }) });
    await assert.rejects(daemon.start(), (e: Error) => {
      assert.match(e.message, /^dataplane xfrm: on-demand connection c: .*No buffer space available/);
      assert.equal(e.message.split('\n').length, 1);
      return true;
    });
    assert.deepEqual(logs, []);
    assert.ok(calls[0]!.startsWith('-s xfrm state'), `the start-up read comes first: ${calls[0]}`);
    assert.ok(calls.includes('xfrm policy delete src 0.0.0.0/0 dst 0.0.0.0/0 proto udp sport 500 dir out'), 'the IKE bypass is removed again');
    assert.equal(monitors, 0, 'no acquire monitor left running');
    assert.deepEqual(await Promise.all([udpFree(p.ike), udpFree(p.natt), tcpFree(p.metrics)]), [true, true, true]);
    assert.equal(existsSync(p.sock), false);
  });

  // The real kernel refusing the xfrm dataplane: without CAP_NET_ADMIN (dropped by setpriv when we
  // are root; a user without it as it is).
  const root = process.getuid?.() === 0;
  const canDrop = !root || spawnSync('setpriv', ['--bounding-set', '-net_admin', '--inh-caps', '-net_admin', 'true']).status === 0;
  test('as a process: the xfrm dataplane without CAP_NET_ADMIN: one line, exit status 1, nothing opened', { skip: !existsSync('dist/cli/main.js') ? 'dist/ not built' : !canDrop ? 'running as root and setpriv cannot drop CAP_NET_ADMIN' : false }, async () => {
    const p = await ports();
    const file = join(p.dir, 'isakmp.yaml');
    writeFileSync(file, conf(p, '  dataplane: xfrm\n'), { mode: 0o600 });
    const wrap = root ? ['setpriv', '--bounding-set', '-net_admin', '--inh-caps', '-net_admin'] : [];
    const r = await runDaemonProcess(file, [], wrap);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    // the netlink binding says so on its own line when it falls back to `ip` (not built): allow that note
    const errors = lines.filter((l) => l.startsWith('isakmp daemon: '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^isakmp daemon: dataplane xfrm: the kernel refuses xfrm requests \((netlink|ip)\): .*(Operation not permitted|EPERM).* \(the xfrm dataplane needs root or CAP_NET_ADMIN; or set global\.dataplane: none\)$/);
    assert.ok(lines.every((l) => l === errors[0] || / xfrm: using ip commands, not the netlink channel/.test(l)), r.stderr);
    assert.equal(existsSync(p.sock), false, 'no control socket was made');
  });
});
