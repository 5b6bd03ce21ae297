/**
 * Dataplane adapters: what happens to an IPsec SA once Quick Mode finished.
 *   none : records the SA table (shown by `isakmp status`); the default.
 *   xfrm : programs Linux with `ip xfrm state/policy` child processes. SAs are added first;
 *          policies only once both SAs are in, so a refused SA never leaves a black-holing
 *          policy behind. A kernel refusal (this machine: no ESP, "Requested type not found")
 *          is reported with the kernel's own words; the IKE side is not affected.
 */
import { spawn } from 'node:child_process';
import { AuthAlgorithm, EspTransformId } from '../constants/index.js';
import { toHex } from '../crypto/bytes.js';
import type { IpsecSaInfo, Selector } from './engine.js';
import { modeName } from '../exchange/natt.js';

export interface DataplaneRecord {
  readonly id: string;
  readonly connection: string;
  /** 'installed', 'recorded' (none adapter) or 'failed: <kernel error>'. */
  status: string;
}

export interface Dataplane {
  readonly name: 'none' | 'xfrm';
  /** Installs an SA pair; resolves to its record (never rejects: a failure is in `status`). */
  install(sa: IpsecSaInfo): Promise<DataplaneRecord>;
  remove(id: string): Promise<void>;
  records(): DataplaneRecord[];
  /** Removes everything installed (shutdown). */
  flush(): Promise<void>;
  /**
   * On-demand (optional): installs a trap for a connection's selectors; the kernel then reports
   * matching traffic, which the adapter hands to `onAcquire(name)`. Resolves to an error text or
   * undefined.
   */
  trap?(t: TrapSpec): Promise<string | undefined>;
  /**
   * Traffic counters (optional): total bytes so far (both directions) of each installed IPsec SA,
   * by SA id. SAs the dataplane has no counter for are absent.
   */
  traffic?(): Promise<Map<string, number>>;
  untrap?(name: string): Promise<void>;
  onAcquire?: (name: string) => void;
  /**
   * NAT traversal (optional): an installed UDP-encapsulated SA moved to new ports (the peer's NAT
   * mapping changed); same SPIs, keys and addresses. Resolves to an error text or undefined.
   */
  update?(sa: IpsecSaInfo): Promise<string | undefined>;
}

/** What an on-demand trap needs: the connection's IKE addresses, selectors and mode. */
export interface TrapSpec {
  readonly name: string;
  readonly local: string;
  readonly remote: string;
  readonly localTs: Selector;
  readonly remoteTs: Selector;
  readonly mode: 'tunnel' | 'transport';
}

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

/** Priority of our IPsec/trap policies; IKE bypass policies get a lower number (= preferred). */
export const POLICY_PRIORITY = '2000';
export const BYPASS_PRIORITY = '100';

export class NoneDataplane implements Dataplane {
  readonly name = 'none' as const;
  private readonly table = new Map<string, DataplaneRecord>();
  async install(sa: IpsecSaInfo): Promise<DataplaneRecord> {
    const r = { id: sa.id, connection: sa.connection, status: 'recorded' };
    this.table.set(sa.id, r);
    return r;
  }
  async remove(id: string): Promise<void> {
    this.table.delete(id);
  }
  records(): DataplaneRecord[] {
    return [...this.table.values()];
  }
  async flush(): Promise<void> {
    this.table.clear();
  }
}

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

/** A canonical text form of an address, so `ip`'s output and our records compare equal. */
function canonicalAddress(a: string): string {
  if (!a.includes(':')) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a.toLowerCase();
  }
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

const stateKey = (dst: string, proto: string, spi: number): string => `${canonicalAddress(dst)}|${proto}|${spi >>> 0}`;

function xfrmEnc(transformId: number, keyLength: number): [string, string] | undefined {
  switch (transformId) {
    case EspTransformId.ESP_AES_CBC:
      return ['enc', 'cbc(aes)'];
    case EspTransformId.ESP_3DES:
      return ['enc', 'cbc(des3_ede)'];
    case EspTransformId.ESP_AES_GCM_16:
      void keyLength;
      return ['aead', 'rfc4106(gcm(aes))'];
    case EspTransformId.ESP_NULL:
      return ['enc', 'ecb(cipher_null)'];
    default:
      return undefined;
  }
}

function xfrmAuth(alg: number): [string, number] | undefined {
  switch (alg) {
    case AuthAlgorithm.HMAC_MD5:
      return ['hmac(md5)', 96];
    case AuthAlgorithm.HMAC_SHA:
      return ['hmac(sha1)', 96];
    case AuthAlgorithm.HMAC_SHA2_256:
      return ['hmac(sha256)', 128];
    case AuthAlgorithm.HMAC_SHA2_384:
      return ['hmac(sha384)', 192];
    case AuthAlgorithm.HMAC_SHA2_512:
      return ['hmac(sha512)', 256];
    default:
      return undefined;
  }
}

function prefixOf(s: Selector): string {
  if (s.prefix !== undefined) return `${s.start}/${s.prefix}`;
  return `${s.start}/${s.family === 4 ? 32 : 128}`;
}

function selArgs(src: Selector, dst: Selector): string[] {
  const a = ['src', prefixOf(src), 'dst', prefixOf(dst)];
  const proto = src.protocol || dst.protocol;
  if (proto !== 0) {
    a.push('proto', String(proto));
    if ((proto === 6 || proto === 17) && src.port !== 0) a.push('sport', String(src.port));
    if ((proto === 6 || proto === 17) && dst.port !== 0) a.push('dport', String(dst.port));
  }
  return a;
}

const hex = (b: Uint8Array): string => '0x' + toHex(b);

interface Installed {
  record: DataplaneRecord;
  undo: string[][];
  /** The reqid its states and policies share. */
  reqid: number;
  /** The kernel SAs of this IPsec SA (see stateKey), for the traffic counters. */
  states: string[];
}

export class XfrmDataplane implements Dataplane {
  readonly name = 'xfrm' as const;
  private readonly table = new Map<string, Installed>();
  private nextReqid = 1;
  private readonly traps = new Map<string, { spec: TrapSpec; key: string }>();
  private monitor: AcquireMonitor | undefined;
  private bypassed = false;
  onAcquire?: (name: string) => void;

  constructor(
    private readonly run: IpRunner = spawnIp,
    private readonly log: (message: string) => void = () => {},
    private readonly monitorFactory: MonitorFactory = spawnAcquireMonitor,
  ) {}

  private static key(src: Selector, dst: Selector): string {
    return `${prefixOf(src)}>${prefixOf(dst)}`;
  }

  /** IKE itself must never be caught by our policies: bypass UDP 500/4500 both ways. */
  bypassCommands(ports: readonly number[]): string[][] {
    const out: string[][] = [];
    for (const fam of ['0.0.0.0/0', '::/0']) {
      for (const port of ports) {
        for (const [dir, side] of [
          ['out', 'sport'],
          ['out', 'dport'],
          ['in', 'sport'],
          ['in', 'dport'],
        ] as const) {
          out.push(['xfrm', 'policy', 'update', 'src', fam, 'dst', fam, 'proto', 'udp', side, String(port), 'dir', dir, 'priority', BYPASS_PRIORITY]);
        }
      }
    }
    return out;
  }

  private async ensureBypass(): Promise<string | undefined> {
    if (this.bypassed) return undefined;
    for (const cmd of this.bypassCommands([500, 4500])) {
      const r = await this.run(cmd);
      if (r.code !== 0) return `IKE bypass policy ${cmd.slice(3).join(' ')}: ${r.stderr}`;
    }
    this.bypassed = true;
    return undefined;
  }

  trapCommand(t: TrapSpec): string[] {
    return [
      'xfrm', 'policy', 'update', ...selArgs(t.localTs, t.remoteTs), 'dir', 'out', 'priority', POLICY_PRIORITY,
      'tmpl', 'src', t.local, 'dst', t.remote, 'proto', 'esp', 'mode', t.mode, 'level', 'required',
    ];
  }

  async trap(t: TrapSpec): Promise<string | undefined> {
    const by = await this.ensureBypass();
    if (by !== undefined) return by;
    const r = await this.run(this.trapCommand(t));
    if (r.code !== 0) return `trap policy for ${t.name}: ${r.stderr || `ip exited with ${r.code}`}`;
    this.traps.set(t.name, { spec: t, key: XfrmDataplane.key(t.localTs, t.remoteTs) });
    if (this.monitor === undefined) {
      this.monitor = this.monitorFactory();
      this.monitor.onLine((line) => this.acquireLine(line));
    }
    return undefined;
  }

  /** `ip xfrm monitor acquire` prints "acquire proto esp", then "  sel ...", "  policy src A dst B ...". */
  private acquireLine(line: string): void {
    const m = /^\s+policy src (\S+) dst (\S+)/.exec(line);
    if (m === null) return;
    const key = `${m[1]}>${m[2]}`;
    for (const [name, t] of this.traps) if (t.key === key) this.onAcquire?.(name);
  }

  async untrap(name: string): Promise<void> {
    const t = this.traps.get(name);
    if (t === undefined) return;
    this.traps.delete(name);
    await this.run(['xfrm', 'policy', 'delete', ...selArgs(t.spec.localTs, t.spec.remoteTs), 'dir', 'out']);
    if (this.traps.size === 0) {
      this.monitor?.stop();
      this.monitor = undefined;
    }
  }

  /** The `ip` argument lists for an SA pair, in order, each with its undo. Keys are in these lists: never log them. */
  commands(sa: IpsecSaInfo, reqid: number): { add: string[]; del: string[] }[] {
    const L = sa.local.address;
    const R = sa.remote.address;
    const mode = modeName(sa.mode);
    const steps: { add: string[]; del: string[] }[] = [];
    for (const p of sa.protocols) {
      if (p.protocol !== 3) continue;
      const enc = xfrmEnc(p.transformId, p.keyLength);
      const auth = xfrmAuth(p.authAlgorithm);
      for (const [src, dst, k, sport, dport] of [
        [L, R, p.outbound, sa.local.port, sa.remote.port],
        [R, L, p.inbound, sa.remote.port, sa.local.port],
      ] as const) {
        const a = ['xfrm', 'state', 'add', 'src', src, 'dst', dst, 'proto', 'esp', 'spi', hex(k.spi), 'reqid', String(reqid), 'mode', mode];
        if (enc !== undefined && enc[0] === 'aead') a.push('aead', enc[1], hex(k.encryptionKey), '128');
        else {
          if (enc !== undefined) a.push(enc[0], enc[1], hex(k.encryptionKey));
          if (auth !== undefined) a.push('auth-trunc', auth[0], hex(k.integrityKey), String(auth[1]));
        }
        // RFC 3948 ESP in UDP between the NAT-T ports the ISAKMP SA floated to; the original
        // address is the peer's own (its NAT-OA, transport mode) for the checksum fix-up
        if (sa.udpEncapsulation === true) a.push('encap', 'espinudp', String(sport), String(dport), sa.peerOriginalAddress ?? (L.includes(':') ? '::' : '0.0.0.0'));
        steps.push({ add: a, del: ['xfrm', 'state', 'delete', 'src', src, 'dst', dst, 'proto', 'esp', 'spi', hex(k.spi)] });
      }
    }
    const tmpl = (src: string, dst: string): string[] => ['tmpl', 'src', src, 'dst', dst, 'proto', 'esp', 'reqid', String(reqid), 'mode', mode];
    const out = selArgs(sa.localTs, sa.remoteTs);
    const inn = selArgs(sa.remoteTs, sa.localTs);
    const dirs: [string[], string, string, string][] = [
      [out, 'out', L, R],
      [inn, 'in', R, L],
    ];
    if (mode === 'tunnel') dirs.push([inn, 'fwd', R, L]);
    for (const [sel, dir, src, dst] of dirs) {
      // `update`, not `add`: an on-demand trap may already hold the outbound selector.
      steps.push({ add: ['xfrm', 'policy', 'update', ...sel, 'dir', dir, 'priority', POLICY_PRIORITY, ...tmpl(src, dst)], del: ['xfrm', 'policy', 'delete', ...sel, 'dir', dir] });
    }
    return steps;
  }

  /** `ip xfrm state update` of both ESP SAs with the new ESP-in-UDP ports (policies keep their addresses). */
  async update(sa: IpsecSaInfo): Promise<string | undefined> {
    const t = this.table.get(sa.id);
    if (t === undefined || t.record.status !== 'installed') return undefined;
    const reqid = t.reqid;
    for (const step of this.commands(sa, reqid)) {
      if (step.add[1] !== 'state') continue;
      const r = await this.run(['xfrm', 'state', 'update', ...step.add.slice(3)]);
      if (r.code !== 0) {
        const err = `kernel refused the new ESP-in-UDP ports of SA ${sa.id}: ${r.stderr || `ip exited with ${r.code}`}`;
        this.log(`xfrm: ${err}`);
        return err;
      }
    }
    return undefined;
  }

  async install(sa: IpsecSaInfo): Promise<DataplaneRecord> {
    const by = await this.ensureBypass();
    if (by !== undefined) this.log(`xfrm: ${by}`);
    const reqid = this.nextReqid++;
    const steps = this.commands(sa, reqid);
    const record: DataplaneRecord = { id: sa.id, connection: sa.connection, status: 'installed' };
    const done: string[][] = [];
    for (const step of steps) {
      const cmd = step.add;
      const r = await this.run(cmd);
      if (r.code !== 0) {
        const what = cmd[1] === 'state' ? `ESP SA ${cmd[4]} -> ${cmd[6]} spi ${cmd[10]}` : `policy ${cmd.slice(3, cmd.indexOf('tmpl')).join(' ')}`;
        record.status = `failed: kernel refused ${what}: ${r.stderr || `ip exited with ${r.code}`}`;
        this.log(`xfrm: ${record.status} (connection ${sa.connection}; the IKE SAs stay up, no traffic is protected)`);
        for (const u of done.reverse()) await this.run(u);
        this.table.set(sa.id, { record, undo: [], states: [], reqid });
        return record;
      }
      done.push(step.del);
    }
    const states = steps.filter((s) => s.add[1] === 'state').map((s) => stateKey(s.add[6] as string, s.add[8] as string, parseInt((s.add[10] as string).slice(2), 16)));
    this.table.set(sa.id, { record, undo: done.reverse(), states, reqid });
    return record;
  }

  /**
   * Reads the kernel's byte counters (`ip -s xfrm state list`, one call for all SAs) and sums them
   * per installed IPsec SA (inbound + outbound). The output holds keys: it is parsed here and
   * dropped, never logged.
   */
  async traffic(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const installed = [...this.table.values()].filter((e) => e.states.length > 0);
    if (installed.length === 0) return out;
    const r = await this.run(['-s', 'xfrm', 'state', 'list']);
    if (r.code !== 0) {
      this.log(`xfrm: reading the SA byte counters: ${r.stderr || `ip exited with ${r.code}`}`);
      return out;
    }
    const bytes = new Map<string, number>();
    for (const s of parseXfrmStateStats(r.stdout ?? '')) bytes.set(stateKey(s.dst, s.proto, s.spi), s.bytes);
    for (const e of installed) {
      let total = 0;
      let found = false;
      for (const k of e.states) {
        const b = bytes.get(k);
        if (b === undefined) continue;
        total += b;
        found = true;
      }
      if (found) out.set(e.record.id, total);
    }
    return out;
  }

  async remove(id: string): Promise<void> {
    const e = this.table.get(id);
    if (e === undefined) return;
    this.table.delete(id);
    for (const u of e.undo) {
      const r = await this.run(u);
      if (r.code !== 0) this.log(`xfrm: removing ${u.slice(1, 3).join(' ')} for ${id}: ${r.stderr}`);
    }
    // An on-demand connection gets its trap back once its SA is gone.
    const t = this.traps.get(e.record.connection);
    if (t !== undefined && e.undo.some((u) => u[1] === 'policy')) await this.run(this.trapCommand(t.spec));
  }

  records(): DataplaneRecord[] {
    return [...this.table.values()].map((e) => e.record);
  }

  async flush(): Promise<void> {
    for (const name of [...this.traps.keys()]) await this.untrap(name);
    for (const id of [...this.table.keys()]) await this.remove(id);
    if (this.bypassed) {
      for (const cmd of this.bypassCommands([500, 4500])) await this.run(['xfrm', 'policy', 'delete', ...cmd.slice(3, cmd.indexOf('priority'))]);
      this.bypassed = false;
    }
  }
}
