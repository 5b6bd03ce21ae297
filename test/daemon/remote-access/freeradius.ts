/**
 * A real FreeRADIUS server (Debian's `freeradius`, 3.x) for the RADIUS tests: its whole
 * configuration written to a temporary folder (radiusd.conf with the pap, files, detail and always
 * modules, one client on loopback, a users file), started in the foreground with `-X` on two free
 * loopback ports (authentication, and accounting on the next port), stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

export const FREERADIUS = ['/usr/sbin/freeradius', '/usr/sbin/radiusd'].find((p) => existsSync(p));

/** Why the RADIUS tests cannot run here (for `npm test`), or false. */
export function freeRadiusSkipReason(): string | false {
  return FREERADIUS === undefined ? 'FreeRADIUS is not installed (interop/install.sh installs the Debian package freeradius)' : false;
}

export interface FreeRadius {
  readonly dir: string;
  readonly authPort: number;
  readonly acctPort: number;
  /** Everything the server printed (its -X debug output). */
  output(): string;
  /** The accounting detail file (empty until a record arrives). */
  detail(): string;
  stop(): Promise<void>;
}

function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(undefined));
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** Two consecutive free UDP ports on 127.0.0.1 (authentication, accounting = +1). */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const a = await bindUdp(0);
    if (a === undefined) continue;
    const port = a.address().port;
    const b = port < 65535 ? await bindUdp(port + 1) : undefined;
    await new Promise<void>((r) => a.close(() => r()));
    if (b !== undefined) {
      await new Promise<void>((r) => b.close(() => r()));
      return port;
    }
  }
  throw new Error('no two consecutive free UDP ports on 127.0.0.1');
}

function radiusdConf(dir: string, authPort: number, acctPort: number, secret: string): string {
  return `# written by the isakmp RADIUS tests
prefix = /usr
exec_prefix = /usr
sbindir = /usr/sbin
libdir = /usr/lib/freeradius
sysconfdir = ${dir}
localstatedir = ${dir}
logdir = ${dir}
raddbdir = ${dir}
radacctdir = ${dir}
confdir = ${dir}
modconfdir = ${dir}
run_dir = ${dir}
db_dir = ${dir}
pidfile = ${dir}/radiusd.pid
name = freeradius
max_request_time = 30
cleanup_delay = 1
max_requests = 1024
hostname_lookups = no
log {
  destination = stdout
  auth = yes
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
thread pool {
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
  max_requests_per_server = 0
}
client loopback {
  ipaddr = 127.0.0.1
  secret = "${secret}"
  require_message_authenticator = yes
}
modules {
  always ok {
    rcode = ok
  }
  pap {
  }
  files {
    filename = ${dir}/users
    acctusersfile = ${dir}/acct_users
  }
  detail {
    filename = ${dir}/detail
    permissions = 0600
    header = "%t"
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = ${authPort}
  }
  listen {
    type = acct
    ipaddr = 127.0.0.1
    port = ${acctPort}
  }
  authorize {
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
  preacct {
  }
  accounting {
    detail
    ok
  }
  post-auth {
    Post-Auth-Type REJECT {
      update reply {
        Reply-Message := "Login refused for %{User-Name}"
      }
    }
  }
}
`;
}

/**
 * Starts FreeRADIUS with `users` as its users (authorize) file and `secret` for the loopback
 * client; resolves once it says it is ready (or rejects with its output).
 */
export async function startFreeRadius(opts: { secret: string; users: string }): Promise<FreeRadius> {
  if (FREERADIUS === undefined) throw new Error('FreeRADIUS is not installed (interop/install.sh installs the Debian package freeradius)');
  const dir = tempDir('isakmp-freeradius-');
  chmodSync(dir, 0o755); // readable when the server drops privileges
  const authPort = await freePortPair();
  const acctPort = authPort + 1;
  writeFileSync(join(dir, 'radiusd.conf'), radiusdConf(dir, authPort, acctPort, opts.secret), { mode: 0o640 });
  writeFileSync(join(dir, 'users'), opts.users, { mode: 0o640 });
  writeFileSync(join(dir, 'acct_users'), '', { mode: 0o640 });
  let out = '';
  const child: ChildProcess = spawn(FREERADIUS, ['-X', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`FreeRADIUS did not get ready in 15 s:\n${out.slice(-3000)}`)), 15_000);
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      if (out.includes('Ready to process requests')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`FreeRADIUS exited (${code}) before it was ready:\n${out.slice(-3000)}`));
    });
  });
  return {
    dir,
    authPort,
    acctPort,
    output: () => out,
    detail: () => (existsSync(join(dir, 'detail')) ? readFileSync(join(dir, 'detail'), 'utf8') : ''),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
