/**
 * Helpers for the strongSwan interop suite: the project's interop/ scripts (namespaces isk-a /
 * isk-b, charon with the fake-xfrm shim, pki, keys.py, tshark capture), and our daemon started
 * inside a namespace as a child process (`node dist/cli/main.js daemon`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { controlRequest, type ControlRequest, type ControlResponse } from '../../src/daemon/control.js';

export const ROOT = resolve('.');
export const SCRIPTS = join(ROOT, 'interop');
export const RUN = process.env.ISAKMP_INTEROP_RUN ?? '/tmp/isakmp-interop';
export const A = { ns: 'isk-a', ip: '198.18.0.1', inner: '198.18.0.129' } as const;
export const B = { ns: 'isk-b', ip: '198.18.0.2', inner: '198.18.0.130' } as const;

const env = { ...process.env, PEERS_RUN: RUN };

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs one of the interop/ scripts; never throws (the caller asserts on `code`). */
/**
 * The node flags of the `isakmp` executable's first line (`#!/usr/bin/env -S node FLAGS`): the
 * daemon under test runs as the installed command and the systemd unit run it.
 */
export function binNodeFlags(): string[] {
  const first = readFileSync(join(ROOT, 'dist/cli/main.js'), 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env(?: -S)? node(.*)$/.exec(first);
  if (!m) throw new Error(`dist/cli/main.js: unexpected first line ${first}`);
  return m[1]!.trim().split(/\s+/).filter((f) => f !== '');
}

export function script(name: string, args: readonly string[], timeoutMs = 60_000, extraEnv?: NodeJS.ProcessEnv): Run {
  const r = spawnSync(join(SCRIPTS, name), [...args], { env: extraEnv ? { ...env, ...extraEnv } : env, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** `script` without blocking: several at once (charon starting Quick Modes in parallel). */
export function scriptAsync(name: string, args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((done) => {
    const c = spawn(join(SCRIPTS, name), [...args], { env, timeout: timeoutMs });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => (err += String(e)));
    c.on('close', (code) => done({ code: code ?? -1, out, err }));
  });
}

export function interopSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'not root: strongSwan interop needs network namespaces';
  if (!existsSync('/usr/lib/ipsec/charon')) return 'strongSwan charon not installed (scripts/interop.sh installs it)';
  if (spawnSync('sh', ['-c', 'command -v swanctl']).status !== 0) return 'swanctl missing';
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) return 'dist/ not built (npm run build)';
  return false;
}

// ---------------------------------------------------------------------------------------------
// charon

export const charon = {
  /** `kernel`: 'fake' (kernel-netlink + the fake-xfrm shim) or 'libipsec' (userspace ESP; fakes a NAT, so NAT-T is used). */
  start(name: string, ns: string, kernel: 'fake' | 'libipsec' = 'fake'): void {
    const r = script('charon.sh', ['start', name, ns, kernel]);
    if (r.code !== 0) throw new Error(`charon start ${name}: ${r.err}`);
  },
  /** Loads conf/charon fragments; an argument `x509=PATH`, `x509ca=PATH` or `private=PATH` adds a credential file for this load. */
  load(name: string, ...files: string[]): void {
    const r = script('charon.sh', ['load', name, ...files.map((f) => (/^(x509|x509ca|private)=/.test(f) ? f : join(SCRIPTS, 'conf/charon', f)))]);
    if (r.code !== 0) throw new Error(`charon load ${name}: ${r.err}${r.out}`);
  },
  stop(name: string): void {
    script('charon.sh', ['stop', name], 30_000);
  },
  up(name: string, ike: string, child: string, timeoutS = 10): Run {
    return script('charon.sh', ['up', name, ike, child, String(timeoutS)], (timeoutS + 10) * 1000);
  },
  down(name: string, ike: string): Run {
    return script('charon.sh', ['down', name, ike]);
  },
  /** `swanctl --list-sas --raw`, one record per IKE_SA. */
  sas(name: string): CharonSa[] {
    const r = script('charon.sh', ['swanctl', name, '--list-sas', '--raw']);
    return parseRawSas(r.out);
  },
  logPath(name: string): string {
    return join(RUN, `charon-${name}`, 'charon.log');
  },
  log(name: string): string {
    try {
      return readFileSync(this.logPath(name), 'utf8');
    } catch {
      return '';
    }
  },
  /** The last `lines` lines of charon's log without the vici chatter of the tests' polling (for failure messages). */
  tail(name: string, lines = 40): string {
    return this.log(name).split('\n').filter((l) => !/\[CFG\] vici client \d+ /.test(l)).slice(-lines).join('\n');
  },
  pid(name: string): number | undefined {
    try {
      const p = Number(readFileSync(join(RUN, `charon-${name}`, 'pid'), 'utf8').trim());
      return Number.isInteger(p) && p > 0 ? p : undefined;
    } catch {
      return undefined;
    }
  },
  /** charon's logged keys (keys.py --last-run --json). */
  keys(name: string): CharonKey[] {
    const r = spawnSync('python3', [join(SCRIPTS, 'keys.py'), this.logPath(name), '--last-run', '--json'], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`keys.py: ${r.stderr}`);
    return JSON.parse(r.stdout) as CharonKey[];
  },
};

export interface CharonKey {
  run: number;
  conn: string;
  uid: string;
  ispi: string;
  label: string;
  hex: string;
}

export interface CharonChild {
  name: string;
  state: string;
  mode: string;
  /** 'yes' when ESP is UDP-encapsulated (NAT-T). */
  encap: string;
  spiIn: string;
  spiOut: string;
  encr: string;
  integ: string;
  dh: string;
  localTs: string;
  remoteTs: string;
}

export interface CharonSa {
  conn: string;
  uid: string;
  state: string;
  ispi: string;
  rspi: string;
  encr: string;
  keysize: string;
  integ: string;
  dh: string;
  children: CharonChild[];
}

function field(s: string, key: string): string {
  const m = new RegExp(`(?:^|[ {])${key}=([^ }]*)`).exec(s);
  return m?.[1] ?? '';
}

/** Parses `swanctl --list-sas --raw` lines: `list-sa event {NAME {uniqueid=1 ... child-sas {C-1 {...}}}}`. */
export function parseRawSas(text: string): CharonSa[] {
  const out: CharonSa[] = [];
  for (const line of text.split('\n')) {
    const m = /^list-sa event \{([^ ]+) \{(.*)\}\}\s*$/.exec(line.trim());
    if (!m) continue;
    const body = m[2] as string;
    const ci = body.indexOf('child-sas {');
    const head = ci >= 0 ? body.slice(0, ci) : body;
    const children: CharonChild[] = [];
    if (ci >= 0) {
      const re = /([A-Za-z0-9_-]+)-\d+ \{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}/g;
      const cs = body.slice(ci + 'child-sas {'.length);
      for (let c = re.exec(cs); c; c = re.exec(cs)) {
        const b = c[2] as string;
        children.push({
          name: field(b, 'name'),
          state: field(b, 'state'),
          mode: field(b, 'mode'),
          encap: field(b, 'encap'),
          spiIn: field(b, 'spi-in'),
          spiOut: field(b, 'spi-out'),
          encr: field(b, 'encr-alg') + '-' + field(b, 'encr-keysize'),
          integ: field(b, 'integ-alg'),
          dh: field(b, 'dh-group'),
          localTs: /local-ts=\[([^\]]*)\]/.exec(b)?.[1] ?? '',
          remoteTs: /remote-ts=\[([^\]]*)\]/.exec(b)?.[1] ?? '',
        });
      }
    }
    out.push({
      conn: m[1] as string,
      uid: field(head, 'uniqueid'),
      state: field(head, 'state'),
      ispi: field(head, 'initiator-spi'),
      rspi: field(head, 'responder-spi'),
      encr: field(head, 'encr-alg'),
      keysize: field(head, 'encr-keysize'),
      integ: field(head, 'integ-alg'),
      dh: field(head, 'dh-group'),
      children,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// our daemon

export class Ours {
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly proc: ChildProcess,
    readonly sock: string,
    readonly keylog: string,
    readonly logFile: string,
    readonly configFile: string,
  ) {}

  /** `env`: extra environment of the daemon (e.g. LD_PRELOAD of the fake-xfrm shim). */
  static async start(name: string, ns: string, config: (sock: string) => string, env?: NodeJS.ProcessEnv): Promise<Ours> {
    const dir = join(RUN, `ours-${name}`);
    mkdirSync(dir, { recursive: true });
    const sock = join(dir, 'control.sock');
    const keylog = join(dir, 'keys.log');
    const logFile = join(dir, 'daemon.log');
    const configFile = join(dir, 'isakmp.yaml');
    writeFileSync(configFile, config(sock));
    writeFileSync(keylog, '', { mode: 0o600 });
    chmodSync(keylog, 0o600); // the daemon refuses a key log open to others (issue 9.9), also one left by an earlier run
    const fd = openSync(logFile, 'w');
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, ...binNodeFlags(), join(ROOT, 'dist/cli/main.js'), 'daemon', '--config', configFile, '--keylog', keylog, '--log-format', 'json'], {
      stdio: ['ignore', fd, fd],
      ...(env !== undefined ? { env: { ...process.env, ...env } } : {}),
    });
    closeSync(fd);
    const ours = new Ours(name, dir, proc, sock, keylog, logFile, configFile);
    const t0 = Date.now();
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`our daemon ${name} exited: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      if (existsSync(sock)) {
        try {
          if ((await controlRequest(sock, { cmd: 'status' }, 2000)).ok) break;
        } catch {
          /* not yet */
        }
      }
      if (Date.now() - t0 > 10_000) throw new Error(`our daemon ${name} did not open its control socket: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      await sleep(50);
    }
    return ours;
  }

  ctl(req: ControlRequest, timeoutMs = 30_000): Promise<ControlResponse> {
    return controlRequest(this.sock, req, timeoutMs);
  }

  async status(): Promise<any> {
    const r = await this.ctl({ cmd: 'status' });
    if (!r.ok) throw new Error(r.error);
    return r.data;
  }

  async reload(config: string): Promise<ControlResponse> {
    writeFileSync(this.configFile, config);
    return this.ctl({ cmd: 'reload' });
  }

  keylogLines(): string[] {
    return readFileSync(this.keylog, 'utf8').split('\n').filter((l) => l.length > 0);
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /** SIGTERM (clean shutdown with Deletes), bounded wait, then SIGKILL. */
  async stop(): Promise<number | null> {
    // a daemon killed by a signal (a test's SIGKILL) has exitCode null but a signalCode
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    const exited = new Promise<number | null>((r) => this.proc.once('exit', (code) => r(code)));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 8000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }
}

/** Our daemon's configuration on peer-b: one PSK connection `charon` to peer-a, `start: add`, the log at debug. */
export function ourPskConfig(sock: string, c: { psk: string; allowWeakPsk?: boolean; ike: string; esp: string; localTs: string; remoteTs: string }): string {
  return `global:
  listen: [${B.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  psk:
    psk: "${c.psk}"${c.allowWeakPsk ? '\n    allow_weak_psk: true' : ''}
connections:
  charon:
    auth: psk
    secret: psk
    local:  { address: ${B.ip} }
    remote: { address: ${A.ip} }
    ike: ${c.ike}
    esp: ${c.esp}
    local_ts: "${c.localTs}"
    remote_ts: "${c.remoteTs}"
    start: add
`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `f` until it returns a truthy value (or the deadline passes: returns the last value). */
export async function until<T>(f: () => T | Promise<T>, ms = 10_000, step = 100): Promise<T> {
  const t0 = Date.now();
  let v = await f();
  while (!v && Date.now() - t0 < ms) {
    await sleep(step);
    v = await f();
  }
  return v;
}

/** tshark capture on a namespace's veth0 (capture.sh). */
export const capture = {
  start(ns: string, pcap: string): Run {
    return script('capture.sh', ['start', ns, pcap], 20_000);
  },
  stop(): Run {
    return script('capture.sh', ['stop'], 20_000);
  },
};

/** The lab up: both namespaces and the test PKI (interop/netns.sh, pki.sh); a failure of either fails the suite. */
export function labUp(): void {
  const n = script('netns.sh', ['up']);
  if (n.code !== 0) throw new Error(`netns.sh up failed: ${n.err}`);
  const p = script('pki.sh', []);
  if (p.code !== 0) throw new Error(`pki.sh failed: ${p.err}`);
}

/** The lab down: both charons, the capture and the namespaces. */
export function labDown(): void {
  charon.stop('a');
  charon.stop('b');
  capture.stop();
  script('netns.sh', ['down']);
}
