/**
 * The xfrm operations as `ip xfrm` commands, one child process each: the fallback when the
 * native netlink binding is not built, and (through an injected runner) the recording fake that
 * tests the adapter's logic. Acquires come from a spawned `ip xfrm monitor acquire`.
 * Keys are in the argument lists: never log them.
 */
import { spawn } from 'node:child_process';
import { canonicalAddress } from './addresses.js';
import { hexSpi, selectorWords, type KernelError, type KernelEvents, type XfrmKernel, type XfrmOp } from './kernel.js';
import { IPPROTO_ESP, type XfrmSaInfo, type XfrmState } from './xfrm-messages.js';

export interface CommandResult {
  readonly code: number;
  readonly stderr: string;
  /** What the command printed (only read for `ip -s xfrm state list`; it holds keys: never log it). */
  readonly stdout?: string;
}
/** Runs `ip ARGS...`. Injected so tests can record the calls. */
export type IpRunner = (args: readonly string[]) => Promise<CommandResult>;

/** At most this much of a command's output is kept (about 30,000 SAs of `ip -s xfrm state`). */
export const MAX_IP_OUTPUT = 32 * 1024 * 1024;

export const spawnIp: IpRunner = (args) =>
  new Promise((resolve) => {
    const child = spawn('ip', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (d: Buffer) => {
      if (size + d.length <= MAX_IP_OUTPUT) chunks.push(d);
      size += d.length;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.on('error', (err) => resolve({ code: 127, stderr: `cannot run ip: ${err.message}` }));
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stderr: size > MAX_IP_OUTPUT ? `output longer than ${MAX_IP_OUTPUT} bytes` : stderr.trim(), stdout: Buffer.concat(chunks).toString('utf8') }),
    );
  });

/** Reads the kernel's acquire messages (`ip xfrm monitor acquire`): a line stream, and a way to stop. */
export interface AcquireMonitor {
  onLine(f: (line: string) => void): void;
  stop(): void;
}
export type MonitorFactory = () => AcquireMonitor;

export const spawnAcquireMonitor: MonitorFactory = () => {
  const child = spawn('ip', ['xfrm', 'monitor', 'acquire'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  const handlers: ((line: string) => void)[] = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    if (buf.length > 1 << 20) buf = '';
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      for (const h of handlers) h(line);
    }
  });
  child.on('error', () => {});
  return { onLine: (f) => handlers.push(f), stop: () => child.kill() };
};

/** One SA of `ip -s xfrm state list`: its identity and the kernel's "lifetime current" counters. */
export interface XfrmStateStats {
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  /** SPI as an unsigned 32-bit number. */
  readonly spi: number;
  readonly bytes: number;
  readonly packets: number;
}

/**
 * Parses `ip -s xfrm state list`: each SA starts with an unindented "src A dst B" line, has a
 * "proto esp spi 0x…" line, and under "lifetime current:" a "N(bytes), M(packets)" line. SAs
 * without a counter line are left out. Bounded: one pass over the lines.
 */
export function parseXfrmStateStats(text: string): XfrmStateStats[] {
  const out: XfrmStateStats[] = [];
  let cur: { src: string; dst: string; proto?: string; spi?: number } | undefined;
  let afterCurrent = false;
  for (const line of text.split('\n')) {
    const head = /^src (\S+) dst (\S+)/.exec(line);
    if (head !== null) {
      cur = { src: canonicalAddress(head[1] as string), dst: canonicalAddress(head[2] as string) };
      afterCurrent = false;
      continue;
    }
    if (cur === undefined) continue;
    // iproute2 prints "spi 0x0000abcd(43981)" with -s (very old versions: "spi 43981(0x0000abcd)")
    const id = /^\s+proto (\S+) spi (?:0x([0-9a-fA-F]{1,8})|\d+\(0x([0-9a-fA-F]{1,8})\))/.exec(line);
    if (id !== null) {
      cur.proto = id[1] as string;
      cur.spi = parseInt((id[2] ?? id[3]) as string, 16);
      continue;
    }
    if (/^\s+lifetime current:/.test(line)) {
      afterCurrent = true;
      continue;
    }
    if (afterCurrent) {
      afterCurrent = false;
      const c = /^\s+(\d+)\(bytes\), (\d+)\(packets\)/.exec(line);
      if (c !== null && cur.proto !== undefined && cur.spi !== undefined) {
        out.push({ src: cur.src, dst: cur.dst, proto: cur.proto, spi: cur.spi, bytes: Number(c[1]), packets: Number(c[2]) });
      }
    }
  }
  return out;
}

const hexKey = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

function stateWords(s: XfrmState): string[] {
  const a = ['src', s.src, 'dst', s.dst, 'proto', 'esp', 'spi', hexSpi(s.spi), 'reqid', String(s.reqid), 'mode', s.mode];
  if (s.aead !== undefined) a.push('aead', s.aead.name, hexKey(s.aead.key), String(s.aead.icvBits));
  if (s.crypt !== undefined) a.push('enc', s.crypt.name, hexKey(s.crypt.key));
  if (s.auth !== undefined) a.push('auth-trunc', s.auth.name, hexKey(s.auth.key), String(s.auth.truncBits));
  if (s.encap !== undefined) a.push('encap', 'espinudp', String(s.encap.sport), String(s.encap.dport), s.encap.oa);
  return a;
}

/** The `ip` argument list of an operation. */
export function ipArgs(o: XfrmOp): string[] {
  switch (o.op) {
    case 'add-sa':
      return ['xfrm', 'state', 'add', ...stateWords(o.state)];
    case 'update-sa':
      return ['xfrm', 'state', 'update', ...stateWords(o.state)];
    case 'del-sa':
      return ['xfrm', 'state', 'delete', 'src', o.id.src, 'dst', o.id.dst, 'proto', 'esp', 'spi', hexSpi(o.id.spi)];
    case 'set-policy': {
      const p = o.policy;
      const a = ['xfrm', 'policy', 'update', ...selectorWords(p.sel), 'dir', p.dir, 'priority', String(p.priority)];
      if (p.tmpl !== undefined) {
        a.push('tmpl', 'src', p.tmpl.src, 'dst', p.tmpl.dst, 'proto', 'esp');
        if (p.tmpl.reqid !== 0) a.push('reqid', String(p.tmpl.reqid));
        a.push('mode', p.tmpl.mode);
        if (p.tmpl.level !== undefined) a.push('level', p.tmpl.level);
      }
      return a;
    }
    case 'del-policy':
      return ['xfrm', 'policy', 'delete', ...selectorWords(o.sel), 'dir', o.dir];
  }
}

const PROTO_NUMBERS: Readonly<Record<string, number>> = { esp: IPPROTO_ESP, ah: 51, comp: 108 };

export class IpKernel implements XfrmKernel {
  readonly name = 'ip' as const;
  private monitor: AcquireMonitor | undefined;

  constructor(
    private readonly run: IpRunner = spawnIp,
    private readonly monitorFactory: MonitorFactory = spawnAcquireMonitor,
  ) {}

  /** One command at a time, all of them (as a netlink batch would), in order. */
  async apply(ops: readonly XfrmOp[]): Promise<(KernelError | undefined)[]> {
    const out: (KernelError | undefined)[] = [];
    for (const o of ops) {
      const r = await this.run(ipArgs(o));
      out.push(r.code === 0 ? undefined : { message: r.stderr || `ip exited with ${r.code}` });
    }
    return out;
  }

  async counters(): Promise<XfrmSaInfo[]> {
    const r = await this.run(['-s', 'xfrm', 'state', 'list']);
    if (r.code !== 0) throw new Error(r.stderr || `ip exited with ${r.code}`);
    return parseXfrmStateStats(r.stdout ?? '').map((s) => ({
      family: s.dst.includes(':') ? 6 : 4,
      src: s.src,
      dst: s.dst,
      spi: s.spi,
      proto: PROTO_NUMBERS[s.proto] ?? 0,
      reqid: 0,
      mode: 0,
      bytes: s.bytes,
      packets: s.packets,
    }));
  }

  /**
   * `ip xfrm monitor acquire` prints "acquire proto esp", then "  sel ...", "  policy src A dst B ...":
   * the policy line names the policy whose SA is missing.
   */
  listen(events: KernelEvents): void {
    if (this.monitor !== undefined) return;
    this.monitor = this.monitorFactory();
    this.monitor.onLine((line) => {
      const m = /^\s+policy src (\S+)\/(\d+) dst (\S+)\/(\d+)/.exec(line);
      if (m === null) return;
      const src = m[1] as string;
      const dst = m[3] as string;
      const family = src.includes(':') ? 6 : 4;
      const sel = { family, src, srcPrefix: Number(m[2]), dst, dstPrefix: Number(m[4]), proto: 0, sport: 0, dport: 0 } as const;
      events.acquire?.({ src: '', dst: '', flow: sel, policy: sel, dir: 'out', priority: 0 });
    });
  }

  unlisten(): void {
    this.monitor?.stop();
    this.monitor = undefined;
  }

  close(): void {
    this.unlisten();
  }
}
