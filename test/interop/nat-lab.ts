/**
 * The NAT lab of the interop suite: `interop/netns.sh up nat` (isk-a behind the router namespace
 * isk-nat, isk-b outside) and the userspace UDP NAT (udp-nat.ts) run in the router as a child
 * process, its mapping table read from its state file, its rebinding asked for by SIGHUP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, RUN, script, stopProcess, until } from './peers.js';
import type { NatMapping, NatState } from './udp-nat.js';

/** The client behind the NAT (isk-a), the router (isk-nat) and the gateway outside it (isk-b). */
export const INSIDE = { ns: 'isk-a', ip: '10.77.0.2' } as const;
export const ROUTER = { ns: 'isk-nat', inside: '10.77.0.1', outside: '198.18.0.1' } as const;
export const OUTSIDE = { ns: 'isk-b', ip: '198.18.0.2' } as const;

/** The three namespaces up (and the test PKI, as labUp); a failure fails the suite. */
export function natLabUp(): void {
  const n = script('netns.sh', ['up', 'nat']);
  if (n.code !== 0) throw new Error(`netns.sh up nat failed: ${n.err}`);
  const p = script('pki.sh', []);
  if (p.code !== 0) throw new Error(`pki.sh failed: ${p.err}`);
}

export class NatRelay {
  private constructor(
    readonly proc: ChildProcess,
    readonly stateFile: string,
    readonly logFile: string,
  ) {}

  /** Starts the relay in the router namespace, standing in for the gateway's address; waits for its first state. */
  static async start(idleSeconds: number): Promise<NatRelay> {
    const dir = join(RUN, 'udp-nat');
    mkdirSync(dir, { recursive: true });
    const stateFile = join(dir, 'state.json');
    const logFile = join(dir, 'udp-nat.log');
    rmSync(stateFile, { force: true });
    const fd = openSync(logFile, 'w');
    const args = ['netns', 'exec', ROUTER.ns, process.execPath, join(ROOT, 'build/test/interop/udp-nat.js'), '--outside', ROUTER.outside, '--peer', OUTSIDE.ip, '--idle', String(idleSeconds), '--state', stateFile];
    const proc = spawn('ip', args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const r = new NatRelay(proc, stateFile, logFile);
    const up = await until(() => existsSync(stateFile) || proc.exitCode !== null, 10_000);
    if (!up || proc.exitCode !== null) throw new Error(`udp-nat did not start: ${r.log()}`);
    return r;
  }

  state(): NatState {
    return JSON.parse(readFileSync(this.stateFile, 'utf8')) as NatState;
  }

  /** The mapping of an inside address:port, when there is one. */
  mapping(inside: string): NatMapping | undefined {
    return this.state().mappings.find((m) => m.inside === inside);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Drops every mapping (a router reboot, a CGN rebinding): the next datagram out gets a new port. */
  async rebind(): Promise<void> {
    const before = this.state().rebinds;
    this.proc.kill('SIGHUP'); // `ip netns exec` execs node: the child is the relay itself
    const done = await until(() => this.state().rebinds > before, 5000);
    if (!done) throw new Error(`udp-nat did not rebind: ${this.log()}`);
  }

  stop(): Promise<void> {
    return stopProcess(this.proc, 3000);
  }
}
