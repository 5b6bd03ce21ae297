/**
 * The daemon: the single driver loop around a sans-IO endpoint.
 *
 *   datagram in ─► endpoint.handleDatagram ─┐
 *   timer fires ─► endpoint.handleTimeout  ─┼─► pump(): drain pollTransmit() to UDP, pollEvent() to
 *   control cmd ─► endpoint.initiate/...   ─┘   the dataplane / key log / updown / logs / counters,
 *                                               then arm ONE timer from pollTimeout().
 *
 * Everything here that touches the outside world (sockets, timers, files, processes) is owned by
 * this module and its helpers; the endpoint stays pure.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Server } from 'node:http';
import { nameOf, NotifyType } from '../constants/index.js';
import { UsageError } from '../errors.js';
import { modeName } from '../exchange/natt.js';
import { loadConfig, type Config, type ConnectionConfig, type LogLevel } from './config.js';
import { NoneDataplane, XfrmDataplane, createXfrmDataplane, dgramFd, type Dataplane, type IpRunner } from './dataplane.js';
import { toEngineConnection, type EndpointFactory, type EndpointLike, type EngineEvent, type IpsecSaInfo, type IsakmpSaInfo, type Selector } from './engine.js';
import { ControlServer, type ControlRequest, type ControlResponse } from './control.js';
import { KeyLog, espKeyLogLines, ikeKeyLogLine } from './keylog.js';
import { Logger } from './log.js';
import { Counters, dropLabel, startMetricsServer, type CounterSnapshot } from './metrics.js';
import { UdpTransport, type ReceivedDatagram } from './udp.js';
import { Updown, type UpdownReason } from './updown.js';

export interface DaemonOptions {
  readonly config: Config;
  /** File to re-read on reload (default: config.file). */
  readonly configPath?: string;
  readonly endpointFactory: EndpointFactory;
  readonly random?: (n: number) => Uint8Array;
  readonly logger?: Logger;
  /** Overrides global.keylog. */
  readonly keylog?: string;
  readonly dataplane?: Dataplane;
  readonly ipRunner?: IpRunner;
  /** Milliseconds, monotonic. Default: performance.timeOrigin + performance.now(). */
  readonly clock?: () => number;
  /** Open the control socket (default true). */
  readonly control?: boolean;
  /** Observe engine events (demo, tests). */
  readonly onEvent?: (e: EngineEvent) => void;
  /** Command-line log settings; they win over the file, also after a reload. */
  readonly logOverride?: { readonly format?: 'text' | 'json'; readonly level?: LogLevel };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const MAX_TIMER = 2 ** 31 - 1;
/** At most this many SAs of each kind are listed by `status` (the counts are always complete). */
export const MAX_STATUS_SAS = 20_000;

function selectorText(s: Selector): string {
  const base = s.prefix !== undefined ? `${s.start}/${s.prefix}` : s.start === s.end ? s.start : `${s.start}-${s.end}`;
  return s.protocol !== 0 ? `${base}[${s.protocol}${s.port !== 0 ? '/' + s.port : ''}]` : base;
}

function peerIdText(id: IsakmpSaInfo['peerId']): string | undefined {
  if (id === undefined) return undefined;
  if (id.type === 'der-asn1-dn') return `dn:${hex(id.value)}`;
  if (id.type === 'any') return 'any';
  if (id.type === 'other') return `type${id.idType}:${hex(id.data)}`;
  return id.value;
}

/** Algorithm names for status and logs. */
function ikeAlgText(t: IsakmpSaInfo['transform']): string | undefined {
  if (t === undefined) return undefined;
  const enc = t.encryption === 7 ? `aes${t.keyLength}` : t.encryption === 5 ? '3des' : `enc${t.encryption}`;
  const hash = ({ 1: 'md5', 2: 'sha1', 4: 'sha256', 5: 'sha384', 6: 'sha512' } as Record<number, string>)[t.hash] ?? `hash${t.hash}`;
  const group = ({ 14: 'modp2048', 15: 'modp3072', 16: 'modp4096', 19: 'ecp256', 20: 'ecp384', 21: 'ecp521', 2: 'modp1024', 5: 'modp1536' } as Record<number, string>)[t.group] ?? `group${t.group}`;
  const auth = t.auth === 1 ? 'psk' : t.auth === 3 ? 'rsa' : `auth${t.auth}`;
  return `${enc}-${hash}-${group} ${auth}`;
}

function espAlgText(sa: IpsecSaInfo): string {
  return sa.protocols
    .map((p) => {
      const enc = p.transformId === 12 ? `aes${p.keyLength}` : p.transformId === 20 ? `aes${p.keyLength}gcm16` : p.transformId === 3 ? '3des' : `esp${p.transformId}`;
      const auth = ({ 0: '', 1: '-md5', 2: '-sha1', 5: '-sha256', 6: '-sha384', 7: '-sha512' } as Record<number, string>)[p.authAlgorithm] ?? `-auth${p.authAlgorithm}`;
      const grp = sa.group !== 0 ? `-${({ 14: 'modp2048', 19: 'ecp256', 15: 'modp3072', 20: 'ecp384' } as Record<number, string>)[sa.group] ?? `group${sa.group}`}` : '';
      return `${p.protocol === 2 ? 'ah' : 'esp'} ${enc}${auth}${grp}`;
    })
    .join(' + ');
}

/** JSON-safe summary of an ISAKMP SA for `status` (no key material). */
export interface IsakmpSaStatus {
  id: string;
  connection: string;
  role: string;
  exchange: string;
  state: string;
  local: string;
  remote: string;
  initiatorCookie: string;
  responderCookie: string;
  /** Our phase-1 identity (as configured; the engine's default is our address). */
  localId?: string;
  peerId?: string;
  algorithms?: string;
  lifetimeLeft?: number;
  /** RFC 3947 NAT detection once NAT-D was exchanged: a NAT in front of us / of the peer; `encapsulation`: moved to the NAT-T port, IPsec SAs UDP-encapsulated. */
  nat?: { local: boolean; remote: boolean; encapsulation: boolean };
}

/**
 * The state of an IPsec SA as `status` shows it:
 *   installing      Quick Mode done, the dataplane is installing it
 *   established     in use (installed, or recorded by the `none` adapter)
 *   failed-install  the dataplane refused it (see `dataplane`); the IKE side is up
 *   expiring        its soft lifetime (seconds or kilobytes) was reached: being rekeyed / about to expire
 *   rekeyed         replaced by a newer SA, waiting for its Delete or hard expiry
 */
export type IpsecSaState = 'installing' | 'established' | 'failed-install' | 'expiring' | 'rekeyed';

export interface IpsecSaStatus {
  id: string;
  isakmpSa: string;
  connection: string;
  role: string;
  /** 'tunnel' or 'transport'. */
  mode: string;
  /** ESP in UDP on the NAT-T port (RFC 3948): a NAT was detected, or encapsulation forced. */
  udpEncapsulation: boolean;
  local: string;
  remote: string;
  localTs: string;
  remoteTs: string;
  spiIn: string;
  spiOut: string;
  state: IpsecSaState;
  algorithms: string;
  /** Seconds until hard expiry. */
  lifetimeLeft: number;
  /** Kilobyte lifetime (0 = none). */
  lifetimeKilobytes: number;
  /** Kilobytes until hard expiry, when there is a kilobyte lifetime and the byte count is known. */
  kilobytesLeft?: number;
  /** Bytes through the SA (both directions) as the dataplane last reported them; null where not known (`none`). */
  bytes: number | null;
  dataplane?: string;
}

export interface StatusData {
  connections: { name: string; start: string; remote: string; exchange: string; auth: string }[];
  /** Phase-1 exchanges in progress (half-open), by role; responder ones are counted, not listed. */
  negotiating: { initiator: number; responder: number };
  /** True when more SAs exist than MAX_STATUS_SAS per kind (the lists are cut). */
  truncated: boolean;
  isakmp: IsakmpSaStatus[];
  ipsec: IpsecSaStatus[];
  counters: CounterSnapshot;
  dataplane: string;
  listening: { address: string; port: number; natt: boolean }[];
  /** This process: memory (bytes) and CPU time (ms) so far. */
  process: { rss: number; heapUsed: number; cpuUserMs: number; cpuSystemMs: number; uptimeS: number };
}

type Waiter = { connection: string; resolve: (r: ControlResponse) => void; timer: NodeJS.Timeout };

export class Daemon {
  readonly logger: Logger;
  readonly counters = new Counters();
  private config: Config;
  private readonly endpoint: EndpointLike;
  private readonly transport: UdpTransport;
  private readonly dataplane: Dataplane;
  private readonly keylog: KeyLog | undefined;
  private updown: Updown | undefined;
  private control: ControlServer | undefined;
  private metrics: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private armedAt: number | undefined;
  private readonly clock: () => number;
  private stopping = false;
  private stopped = false;
  private waiters = new Set<Waiter>();
  private readonly ipsecById = new Map<string, IpsecSaInfo>();
  /** Daemon-side state of each IPsec SA (see IpsecSaState). */
  private readonly ipsecState = new Map<string, IpsecSaState>();
  /** Last byte count per IPsec SA from the dataplane. */
  private readonly bytesById = new Map<string, number>();
  /** ISAKMP SAs the engine still lists as established but that were rekeyed or reached their soft lifetime. */
  private readonly isakmpOverlay = new Map<string, 'rekeyed' | 'expiring'>();
  /** Phase-1 identity text per connection name (cleared on reload). */
  private readonly localIds = new Map<string, string | undefined>();
  private trafficTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private dpdTimer: NodeJS.Timeout | undefined;
  /**
   * RFC 3706 state per established ISAKMP SA whose peer announced DPD: when the peer last
   * answered (ms), when our unanswered R-U-THERE run began and when the last one left, its seq.
   */
  private readonly dpdState = new Map<string, { seen: number; since?: number; sentAt?: number; seq?: number }>();
  private trafficBusy = false;
  private pumping = false;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    const g = this.config.global;
    this.clock = opts.clock ?? (() => performance.timeOrigin + performance.now());
    this.logger = opts.logger ?? new Logger({ level: g.log.level, areas: { ...g.log.areas }, format: g.log.format });
    const random = opts.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
    this.endpoint = opts.endpointFactory({
      random,
      connections: this.config.connections.map((c) => this.engineConnection(c)),
      halfOpenTotal: g.maxHalfOpen,
      halfOpenPerPeer: g.maxHalfOpenPerPeer,
      nattPort: g.nattPort,
      allocateSpi: (local) => this.dataplane.allocateSpi?.(local),
    });
    this.transport = new UdpTransport({
      listen: g.listen,
      port: g.port,
      nattPort: g.nattPort,
      onDatagram: (d) => this.onDatagram(d),
      onError: (m) => this.logger.warn('net', m),
    });
    this.dataplane =
      opts.dataplane ??
      (g.dataplane === 'xfrm'
        ? opts.ipRunner !== undefined
          ? new XfrmDataplane(opts.ipRunner, (m) => this.logger.error('dataplane', m))
          : createXfrmDataplane((m) => this.logger.error('dataplane', m))
        : new NoneDataplane());
    this.dataplane.onExpire = () => void this.pollTraffic();
    const keylogPath = opts.keylog ?? g.keylog;
    this.keylog = keylogPath !== undefined ? new KeyLog(keylogPath) : undefined;
    this.updown = g.updown !== undefined ? new Updown(g.updown, (lvl, m) => this.logger.log('dataplane', lvl, m)) : undefined;
  }

  private localAddressFor(c: ConnectionConfig): string {
    const fam = isIP(c.remote.address) === 6 ? 6 : 4;
    const l = this.config.global.listen.find((x) => x.family === fam);
    return l?.address ?? (fam === 6 ? '::' : '0.0.0.0');
  }

  private engineConnection(c: ConnectionConfig) {
    return toEngineConnection(c, this.config.global.port, this.localAddressFor(c));
  }

  now(): number {
    return this.clock();
  }

  /** Binds sockets, opens the control socket and metrics port, starts `start: start` connections. */
  async start(): Promise<void> {
    const g = this.config.global;
    await this.transport.start();
    if (g.port === 0) {
      // Port 0 (tests, `isakmp demo` fallback): the kernel picked a free port; the engine's
      // connections must name it, or transmits would find no socket.
      const bound = this.transport.addresses().find((a) => !a.natt)?.port;
      if (bound !== undefined && bound !== 0) {
        this.config = { ...this.config, global: { ...g, port: bound } };
        for (const c of this.config.connections) this.endpoint.setConnection(this.engineConnection(c));
      }
    }
    for (const a of this.transport.addresses()) this.logger.info('net', 'listening', { address: a.address, port: a.port, natt: a.natt });
    // RFC 3948: the kernel takes ESP off the NAT-T sockets, IKE (non-ESP marker) still comes to us
    for (const s of this.dataplane.encapsulateSocket !== undefined ? this.transport.nattSockets() : []) {
      const fd = dgramFd(s.socket);
      const err = fd === undefined ? 'no file descriptor for the socket' : this.dataplane.encapsulateSocket!(fd, s.port);
      if (err !== undefined) this.logger.warn('dataplane', `ESP in UDP on port ${s.port} stays with the daemon (inbound UDP-encapsulated ESP is dropped): ${err}`);
      else this.logger.info('dataplane', 'kernel takes ESP in UDP', { port: s.port });
    }
    if (this.opts.control !== false) {
      this.control = new ControlServer(g.controlSocket, (r) => this.handleControl(r), (m) => this.logger.warn('control', m));
      try {
        await this.control.start();
      } catch (err) {
        await this.transport.close();
        throw err;
      }
      this.logger.info('control', 'control socket ready', { path: g.controlSocket });
    }
    if (g.metrics !== undefined) {
      this.metrics = await startMetricsServer(g.metrics.address, g.metrics.port, () => this.snapshot());
      this.logger.info('daemon', 'metrics on http', { address: g.metrics.address, port: g.metrics.port });
    }
    if (this.dataplane.trap !== undefined) {
      this.dataplane.onAcquire = (name) => this.onAcquire(name);
      for (const c of this.config.connections) if (c.start === 'on-demand') await this.trap(c);
    }
    if (g.natKeepalive > 0 && this.transport.addresses().some((a) => a.natt)) {
      this.keepaliveTimer = setInterval(() => this.sendKeepalives(), g.natKeepalive * 1000);
      this.keepaliveTimer.unref();
    }
    this.dpdTimer = setInterval(() => this.dpdTick(), 1000);
    this.dpdTimer.unref();
    this.logger.info('daemon', 'started', { connections: this.config.connections.length, dataplane: this.dataplane.name });
    for (const c of this.config.connections) if (c.start === 'start') this.safe(() => this.initiate(c.name));
    this.pump();
  }

  /** Installs the kernel trap of an on-demand connection. */
  private async trap(c: ConnectionConfig): Promise<void> {
    const e = this.engineConnection(c);
    if (this.dataplane.trap === undefined || e.localTs === undefined || e.remoteTs === undefined) return;
    const err = await this.dataplane.trap({ name: c.name, local: e.local.address, remote: e.remote.address, localTs: e.localTs, remoteTs: e.remoteTs, mode: c.ipsecMode });
    if (err !== undefined) this.logger.error('dataplane', `on-demand ${c.name}: ${err}`);
    else this.logger.info('dataplane', 'on-demand trap installed', { connection: c.name, ts: `${selectorText(e.localTs)} === ${selectorText(e.remoteTs)}` });
  }

  private readonly lastAcquire = new Map<string, number>();

  /** The kernel saw traffic for an on-demand connection: negotiate, unless already done or doing so. */
  private onAcquire(name: string): void {
    const c = this.config.connections.find((x) => x.name === name);
    if (c === undefined || c.start !== 'on-demand' || this.stopping) return;
    const now = this.now();
    if (now - (this.lastAcquire.get(name) ?? -Infinity) < 5000) return;
    if (this.endpoint.ipsecSas().some((s) => s.connection === name)) return;
    this.lastAcquire.set(name, now);
    this.logger.info('ike', 'on-demand: traffic for the connection, initiating', { connection: name });
    this.safe(() => this.initiate(name));
  }

  /** The bound UDP sockets (ports resolved). */
  addresses(): { address: string; port: number; natt: boolean }[] {
    return this.transport.addresses();
  }

  /** Installs SIGTERM/SIGINT (clean stop, then exit) and SIGHUP (reload) handlers. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    const term = (): void => {
      this.logger.info('daemon', 'signal: shutting down');
      void this.stop().then(() => exit(0));
    };
    const hup = (): void => {
      void this.reload().then(
        (m) => this.logger.info('config', m),
        (err: Error) => this.logger.error('config', `reload failed, keeping the running configuration: ${err.message.split('\n').join('; ')}`),
      );
    };
    for (const [sig, h] of [
      ['SIGTERM', term],
      ['SIGINT', term],
      ['SIGHUP', hup],
    ] as [NodeJS.Signals, () => void][]) {
      process.on(sig, h);
      this.signalHandlers.push([sig, h]);
    }
  }

  // ------------------------------------------------------------------------------------------
  // the loop

  /**
   * A socket bound to 0.0.0.0 / :: cannot tell which local address a datagram was sent to (Node
   * has no IP_PKTINFO). The engine needs it to pick the connection, so the daemon uses the local
   * address of the connection configured for that peer (or of the only %any connection family).
   */
  private localFor(local: { address: string; port: number }, remote: string): { address: string; port: number } {
    if (local.address !== '0.0.0.0' && local.address !== '::') return local;
    const fam = isIP(remote);
    const exact = new Set(this.config.connections.filter((c) => c.remote.address === remote && c.local.address !== undefined).map((c) => c.local.address as string));
    if (exact.size === 1) return { address: [...exact][0] as string, port: local.port };
    if (exact.size === 0) {
      const any = new Set(
        this.config.connections.filter((c) => c.remote.address === '%any' && c.local.address !== undefined && isIP(c.local.address) === fam).map((c) => c.local.address as string),
      );
      if (any.size === 1) return { address: [...any][0] as string, port: local.port };
    }
    return local;
  }

  private onDatagram(d: ReceivedDatagram): void {
    if (this.stopped) return;
    this.logger.log('net', 'trace', 'datagram in', { from: `${d.remote.address}:${d.remote.port}`, to: d.local.port, bytes: d.data.length });
    this.endpoint.handleDatagram(this.now(), this.localFor(d.local, d.remote.address), d.remote, d.data);
    this.pump();
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped) return;
    // Node's timers can fire a fraction of a millisecond before the monotonic deadline: wait
    // the rest rather than wake the engine for nothing.
    const at = this.armedAt;
    const now = this.now();
    if (at !== undefined && now < at) {
      this.timer = setTimeout(() => this.onTimer(), Math.max(1, Math.ceil(at - now)));
      return;
    }
    this.armedAt = undefined;
    this.endpoint.handleTimeout(this.now());
    this.pump();
  }

  /** Drains transmits and events, then re-arms the single timer. */
  pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      for (let i = 0; i < 100_000; i++) {
        const t = this.endpoint.pollTransmit();
        const e = t === undefined ? this.endpoint.pollEvent() : undefined;
        if (t === undefined && e === undefined) break;
        if (t !== undefined) {
          this.logger.log('net', 'trace', 'datagram out', { to: `${t.remote.address}:${t.remote.port}`, from: t.local.port, bytes: t.data.length });
          this.transport.send(t.local, t.remote, t.data);
        }
        if (e !== undefined) this.onEvent(e);
      }
    } finally {
      this.pumping = false;
    }
    this.arm();
  }

  private arm(): void {
    const at = this.endpoint.pollTimeout();
    if (at === this.armedAt && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = at;
    if (at === undefined) return;
    const delay = Math.min(MAX_TIMER, Math.max(0, Math.ceil(at - this.now())));
    this.timer = setTimeout(() => this.onTimer(), delay);
  }

  // ------------------------------------------------------------------------------------------
  // events

  private onEvent(e: EngineEvent): void {
    this.opts.onEvent?.(e);
    switch (e.type) {
      case 'phase1-established': {
        this.counters.completed.isakmp++;
        if (e.sa.role === 'responder') this.counters.started.isakmp++;
        this.logger.info('ike', 'ISAKMP SA established', {
          connection: e.sa.connection,
          role: e.sa.role,
          exchange: e.sa.exchange,
          peer: `${e.sa.remote.address}:${e.sa.remote.port}`,
          peer_id: peerIdText(e.peerId),
          cookies: `${hex(e.sa.initiatorCookie)}_i ${hex(e.sa.responderCookie)}_r`,
          algorithms: ikeAlgText(e.transform),
          lifetime: e.lifetimeSeconds,
        });
        this.keylog?.ike(ikeKeyLogLine(e.keyLog.initiatorCookie, e.keyLog.encryptionKey));
        break;
      }
      case 'ipsec-sa-established': {
        this.counters.completed.ipsec++;
        if (e.sa.role === 'responder') this.counters.started.ipsec++;
        const sa = e.sa;
        this.ipsecById.set(sa.id, sa);
        const p = sa.protocols[0];
        this.logger.info('ike', 'IPsec SA established', {
          connection: sa.connection,
          role: sa.role,
          spi_in: p ? hex(p.inbound.spi) : undefined,
          spi_out: p ? hex(p.outbound.spi) : undefined,
          ts: `${selectorText(sa.localTs)} === ${selectorText(sa.remoteTs)}`,
          algorithms: espAlgText(sa),
          mode: modeName(sa.mode),
          udp_encap: sa.udpEncapsulation === true ? true : undefined,
          peer_oa: sa.peerOriginalAddress,
          lifetime: sa.lifetimeSeconds,
          rekey_of: e.rekeyOf,
        });
        this.keylog?.esp(espKeyLogLines(sa));
        this.ipsecState.set(sa.id, 'installing');
        if (e.rekeyOf !== undefined && this.ipsecById.has(e.rekeyOf)) this.ipsecState.set(e.rekeyOf, 'rekeyed');
        void this.dataplane.install(sa).then((r) => {
          const failed = r.status.startsWith('failed');
          if (failed) this.counters.dataplaneFailures++;
          else this.logger.debug('dataplane', `SA ${r.status}`, { id: sa.id, dataplane: this.dataplane.name });
          if (this.ipsecState.get(sa.id) === 'installing') this.ipsecState.set(sa.id, failed ? 'failed-install' : 'established');
          if (!failed) this.scheduleTraffic();
        });
        void this.updown?.run('up', 'established', sa);
        this.settleWaiters(sa.connection, { ok: true, message: `connection '${sa.connection}' established`, data: this.ipsecStatus(sa) });
        break;
      }
      case 'ipsec-sa-updated': {
        const sa = e.sa;
        if (!this.ipsecById.has(sa.id)) break;
        this.ipsecById.set(sa.id, sa);
        this.logger.info('ike', 'IPsec SA follows the peer\'s new NAT mapping', { id: sa.id, connection: sa.connection, local: `${sa.local.address}:${sa.local.port}`, remote: `${sa.remote.address}:${sa.remote.port}` });
        void this.dataplane.update?.(sa).then((err) => {
          if (err !== undefined) this.counters.dataplaneFailures++;
        });
        break;
      }
      case 'rekeyed':
        this.counters.rekeyed[e.kind]++;
        if (e.kind === 'ipsec' && this.ipsecById.has(e.old)) this.ipsecState.set(e.old, 'rekeyed');
        if (e.kind === 'isakmp') this.overlay(e.old, 'rekeyed');
        this.logger.info('ike', `${e.kind === 'isakmp' ? 'ISAKMP' : 'IPsec'} SA rekeyed`, { old: e.old, new: e.sa });
        break;
      case 'deleted':
        this.counters.deleted[e.kind]++;
        this.logger.info('ike', `${e.kind === 'isakmp' ? 'ISAKMP' : 'IPsec'} SA deleted`, { id: e.id, connection: e.connection, by: e.by });
        if (e.kind === 'ipsec') this.ipsecGone(e.id, e.by === 'peer' ? 'deleted-peer' : 'deleted-local');
        else this.isakmpOverlay.delete(e.id);
        break;
      case 'expired':
        if (e.hard) this.counters.expired[e.kind]++;
        this.logger.info('ike', `${e.kind === 'isakmp' ? 'ISAKMP' : 'IPsec'} SA ${e.hard ? 'expired' : 'reached its soft lifetime'}`, { id: e.id, connection: e.connection });
        if (e.kind === 'ipsec' && e.hard) this.ipsecGone(e.id, 'expired');
        else if (e.kind === 'isakmp' && e.hard) this.isakmpOverlay.delete(e.id);
        else if (e.kind === 'isakmp') this.overlay(e.id, 'expiring');
        else if (this.ipsecById.has(e.id) && (this.ipsecState.get(e.id) === 'established' || this.ipsecState.get(e.id) === 'installing')) this.ipsecState.set(e.id, 'expiring');
        break;
      case 'dropped': {
        const label = dropLabel(e.notify === 0 ? undefined : nameOf(NotifyType, e.notify), e.code);
        this.counters.drop(label);
        this.noteProblem(e.peer.address, `${e.reason} (${label})`);
        this.logger.debug('ike', 'dropped datagram', { peer: `${e.peer.address}:${e.peer.port}`, notify: label, reason: e.reason });
        break;
      }
      case 'failed': {
        const notify = e.notify === 0 ? undefined : nameOf(NotifyType, e.notify);
        this.counters.fail(e.kind, notify ?? 'NO_NOTIFY');
        this.logger.warn('ike', `${e.kind === 'isakmp' ? 'phase 1' : 'Quick Mode'} failed`, {
          connection: e.connection,
          peer: `${e.peer.address}:${e.peer.port}`,
          notify,
          reason: e.reason,
        });
        this.noteProblem(e.peer.address, `${e.reason}${notify !== undefined ? ` (${notify})` : ''}`);
        this.settleWaiters(e.connection, { ok: false, error: `connection '${e.connection}' failed: ${e.reason}${notify !== undefined ? ` (${notify})` : ''}` });
        break;
      }
      case 'notify':
        if (e.notify === NotifyType.R_U_THERE_ACK) {
          // RFC 3706 §5.3: an ACK counts when it carries the sequence number of our last R-U-THERE
          const st = this.dpdState.get(e.isakmpSa);
          const seq = e.data.length === 4 ? new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0) : -1;
          const answers = st !== undefined && st.seq === seq;
          if (answers) {
            st.seen = this.now();
            st.since = undefined;
          }
          this.logger.debug('ike', 'DPD: R-U-THERE-ACK', { sa: e.isakmpSa, seq, answers });
          break;
        }
        this.logger.info('ike', 'notify from peer', { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, notify: nameOf(NotifyType, e.notify) });
        if (e.notify < 8192) this.noteProblem(e.peer.address, `the peer sent ${nameOf(NotifyType, e.notify)}`);
        break;
    }
  }

  /** The last problem seen with each peer address (bounded), for `up` to say why it timed out. */
  private readonly problems = new Map<string, string>();
  private noteProblem(address: string, what: string): void {
    this.problems.delete(address);
    this.problems.set(address, what);
    if (this.problems.size > 1024) this.problems.delete(this.problems.keys().next().value as string);
  }

  /** Marks an ISAKMP SA as rekeyed / expiring (bounded: the oldest marks go first). */
  private overlay(id: string, state: 'rekeyed' | 'expiring'): void {
    if (this.isakmpOverlay.get(id) === 'rekeyed') return;
    this.isakmpOverlay.set(id, state);
    if (this.isakmpOverlay.size > 2 * MAX_STATUS_SAS) this.isakmpOverlay.delete(this.isakmpOverlay.keys().next().value as string);
  }

  private ipsecGone(id: string, reason: UpdownReason): void {
    const sa = this.ipsecById.get(id);
    this.ipsecById.delete(id);
    this.ipsecState.delete(id);
    this.bytesById.delete(id);
    if (this.ipsecById.size === 0 && this.trafficTimer !== undefined) {
      clearTimeout(this.trafficTimer);
      this.trafficTimer = undefined;
    }
    void this.dataplane.remove(id);
    if (sa !== undefined) void this.updown?.run('down', reason, sa);
  }

  /**
   * RFC 3948 §2.3: keeps the NAT mappings of our UDP-encapsulated SAs open: one 0xff byte to the
   * peer's NAT-T port for every established ISAKMP SA with a NAT in front of us. Runs every
   * `nat_keepalive` seconds; returns how many were sent (public for tests).
   */
  sendKeepalives(): number {
    let n = 0;
    for (const s of this.endpoint.isakmpSas()) {
      if (s.state !== 'established' || s.nat?.local !== true || s.nat.encapsulation !== true) continue;
      if (this.transport.sendKeepalive(s.local, s.remote)) n++;
    }
    return n;
  }

  /**
   * RFC 3706 Dead Peer Detection, once a second: for each established ISAKMP SA whose peer
   * announced DPD and whose connection has `dpd_delay`, an R-U-THERE when the peer has not
   * answered for `dpd_delay` (again every `dpd_delay` while unanswered); after `dpd_timeout`
   * without an answer the peer is dead: its SAs are cleared (and negotiated again with
   * `dpd_action: restart`). Returns the R-U-THEREs sent (public for tests).
   */
  dpdTick(): number {
    if (!this.config.connections.some((c) => c.dpdDelay > 0)) {
      this.dpdState.clear();
      return 0;
    }
    const now = this.now();
    const conns = new Map(this.config.connections.map((c) => [c.name, c]));
    const live = new Set<string>();
    let sent = 0;
    for (const s of this.endpoint.isakmpSas()) {
      const c = conns.get(s.connection);
      if (s.state !== 'established' || s.dpd !== true || c === undefined || c.dpdDelay === 0) continue;
      live.add(s.id);
      let st = this.dpdState.get(s.id);
      if (st === undefined) {
        this.dpdState.set(s.id, (st = { seen: now }));
        continue;
      }
      if (st.since !== undefined && now - st.since >= c.dpdTimeout * 1000) {
        this.dpdState.delete(s.id);
        this.peerDead(now, s, c);
        continue;
      }
      if (now - Math.max(st.seen, st.sentAt ?? 0) >= c.dpdDelay * 1000) {
        let seq: number | undefined;
        this.safe(() => {
          seq = this.endpoint.dpd?.(now, s.id);
        });
        if (seq === undefined) continue;
        st.seq = seq;
        st.sentAt = now;
        st.since ??= now;
        sent++;
      }
    }
    for (const id of this.dpdState.keys()) if (!live.has(id)) this.dpdState.delete(id);
    if (sent > 0) this.pump();
    return sent;
  }

  /** DPD timeout: the peer's SAs go (Deletes are sent anyway), and with `restart` a new negotiation starts. */
  private peerDead(now: number, s: IsakmpSaInfo, c: ConnectionConfig): void {
    this.logger.warn('ike', 'DPD: peer does not answer, clearing its SAs', { sa: s.id, connection: c.name, peer: s.remote.address, action: c.dpdAction });
    this.noteProblem(s.remote.address, `dead peer (no answer to DPD for ${c.dpdTimeout}s)`);
    for (const q of this.endpoint.ipsecSas()) {
      if (q.isakmpSa === s.id || (q.connection === c.name && q.remote.address === s.remote.address)) this.safe(() => this.endpoint.delete(now, q.id));
    }
    this.safe(() => this.endpoint.delete(now, s.id));
    this.pump();
    if (c.dpdAction === 'restart') this.safe(() => this.initiate(c.name));
  }

  /** Arms the traffic poll (xfrm byte counters) while IPsec SAs exist; one poll at a time. */
  private scheduleTraffic(): void {
    if (this.dataplane.traffic === undefined || this.stopping || this.trafficTimer !== undefined || this.ipsecById.size === 0) return;
    this.trafficTimer = setTimeout(() => {
      this.trafficTimer = undefined;
      void this.pollTraffic().finally(() => this.scheduleTraffic());
    }, this.config.global.trafficPoll * 1000);
    this.trafficTimer.unref();
  }

  /** True while the traffic poll timer is armed. */
  get trafficPollArmed(): boolean {
    return this.trafficTimer !== undefined;
  }

  /**
   * Reads the dataplane's byte counters once, keeps them for `status` and hands them to the
   * engine (kilobyte lifetimes: soft limit → rekey, hard limit → expiry). Returns how many SAs
   * got a count. Runs on its timer; public for tests and tools.
   */
  async pollTraffic(): Promise<number> {
    if (this.dataplane.traffic === undefined || this.trafficBusy || this.stopped) return 0;
    this.trafficBusy = true;
    try {
      const counts = await this.dataplane.traffic();
      if (this.stopped) return 0;
      const now = this.now();
      let n = 0;
      for (const [id, bytes] of counts) {
        if (!this.ipsecById.has(id)) continue;
        this.bytesById.set(id, bytes);
        this.safe(() => this.endpoint.reportTraffic?.(now, id, bytes));
        n++;
      }
      this.pump();
      return n;
    } catch (err) {
      this.logger.warn('dataplane', `reading traffic counters: ${(err as Error).message}`);
      return 0;
    } finally {
      this.trafficBusy = false;
    }
  }

  private settleWaiters(connection: string, r: ControlResponse): void {
    for (const w of [...this.waiters]) {
      if (w.connection !== connection) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(r);
    }
  }

  // ------------------------------------------------------------------------------------------
  // commands

  /** Starts phase 1 + Quick Mode for a connection. Throws UsageError for an unknown name. */
  initiate(name: string): void {
    if (!this.config.connections.some((c) => c.name === name)) {
      throw new UsageError('ISAKMP_ERR_UNKNOWN_CONNECTION', `no connection named '${name}' (configured: ${this.config.connections.map((c) => c.name).join(', ') || 'none'})`);
    }
    this.counters.started.ipsec++;
    if (!this.endpoint.isakmpSas().some((s) => s.connection === name && s.state === 'established')) this.counters.started.isakmp++;
    this.logger.info('ike', 'initiating', { connection: name });
    this.endpoint.initiate(this.now(), name);
    this.pump();
  }

  /** Runs an engine command; an SA that vanished meanwhile is logged, not fatal. */
  private safe(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.logger.warn('ike', `engine refused a command: ${(err as Error).message}`);
    }
  }

  /** Deletes every SA of a connection (IPsec first, then ISAKMP), telling the peer. Returns how many. */
  down(name: string): number {
    const now = this.now();
    const ipsec = this.endpoint.ipsecSas().filter((s) => s.connection === name);
    const isakmp = this.endpoint.isakmpSas().filter((s) => s.connection === name);
    for (const s of ipsec) this.safe(() => this.endpoint.delete(now, s.id));
    for (const s of isakmp) this.safe(() => this.endpoint.delete(now, s.id));
    this.pump();
    return ipsec.length + isakmp.length;
  }

  /**
   * Rekeys now (ISAKMP: new phase 1; IPsec: new Quick Mode): one SA when `name` is an SA id from
   * `status` (cookies, or 'q' + inbound SPI), else every established SA of the connection `name`.
   */
  rekey(name: string): number {
    const now = this.now();
    let n = 0;
    const one = this.endpoint.isakmpSas().find((s) => s.id === name) ?? this.endpoint.ipsecSas().find((s) => s.id === name);
    if (one !== undefined) {
      this.safe(() => this.endpoint.rekey(now, one.id));
      this.pump();
      return 1;
    }
    for (const s of this.endpoint.isakmpSas()) {
      if (s.connection !== name || s.state !== 'established') continue;
      this.safe(() => this.endpoint.rekey(now, s.id));
      n++;
    }
    for (const s of this.endpoint.ipsecSas()) {
      if (s.connection !== name) continue;
      this.safe(() => this.endpoint.rekey(now, s.id));
      n++;
    }
    this.pump();
    return n;
  }

  private ipsecStatus(sa: IpsecSaInfo): IpsecSaStatus {
    const p = sa.protocols[0];
    const now = this.now();
    const bytes = this.bytesById.get(sa.id) ?? null;
    return {
      id: sa.id,
      isakmpSa: sa.isakmpSa,
      connection: sa.connection,
      role: sa.role,
      mode: modeName(sa.mode),
      udpEncapsulation: sa.udpEncapsulation === true,
      local: sa.local.address,
      remote: sa.remote.address,
      localTs: selectorText(sa.localTs),
      remoteTs: selectorText(sa.remoteTs),
      spiIn: p ? hex(p.inbound.spi) : '',
      spiOut: p ? hex(p.outbound.spi) : '',
      state: this.ipsecState.get(sa.id) ?? 'established',
      algorithms: espAlgText(sa),
      lifetimeLeft: Math.max(0, Math.round(sa.lifetimeSeconds - (now - sa.establishedAt) / 1000)),
      lifetimeKilobytes: sa.lifetimeKilobytes,
      ...(bytes !== null && sa.lifetimeKilobytes > 0 ? { kilobytesLeft: Math.max(0, sa.lifetimeKilobytes - Math.floor(bytes / 1024)) } : {}),
      bytes,
    };
  }

  /** Our phase-1 identity for a connection, as `status` shows it (peer IDs use the same form). */
  private localIdText(connection: string, localAddress: string): string {
    if (!this.localIds.has(connection)) {
      const c = this.config.connections.find((x) => x.name === connection);
      let text: string | undefined;
      try {
        text = c?.local.id !== undefined ? peerIdText(this.engineConnection(c).localId) : undefined;
      } catch {
        text = c?.local.id?.text;
      }
      if (this.localIds.size > 4096) this.localIds.clear();
      this.localIds.set(connection, text);
    }
    return this.localIds.get(connection) ?? localAddress;
  }

  private saCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.endpoint.isakmpSas()) out[`isakmp:${s.state}`] = (out[`isakmp:${s.state}`] ?? 0) + 1;
    for (const s of this.endpoint.ipsecSas()) {
      const k = `ipsec:${this.ipsecState.get(s.id) ?? 'established'}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  snapshot(): CounterSnapshot {
    const st = this.endpoint.stats?.();
    return this.counters.snapshot({ ...this.transport.counters }, this.saCounts(), st !== undefined ? { current: st.halfOpen, evicted: st.halfOpenEvicted ?? 0 } : undefined);
  }

  status(): StatusData {
    const now = this.now();
    const dp = new Map(this.dataplane.records().map((r) => [r.id, r.status]));
    const all = this.endpoint.isakmpSas();
    const negotiating = { initiator: 0, responder: 0 };
    for (const s of all) if (s.state === 'negotiating') negotiating[s.role]++;
    // Half-open responder state is what a flood creates: count it, do not list it.
    const listed = all.filter((s) => !(s.state === 'negotiating' && s.role === 'responder'));
    const ipsecAll = this.endpoint.ipsecSas();
    const truncated = listed.length > MAX_STATUS_SAS || ipsecAll.length > MAX_STATUS_SAS;
    return {
      connections: this.config.connections.map((c) => ({ name: c.name, start: c.start, remote: `${c.remote.address}:${c.remote.port}`, exchange: c.exchange, auth: c.auth })),
      negotiating,
      truncated,
      isakmp: listed.slice(0, MAX_STATUS_SAS).map((s) => ({
        id: s.id,
        connection: s.connection,
        role: s.role,
        exchange: s.exchange,
        state: s.state === 'established' ? (this.isakmpOverlay.get(s.id) ?? s.state) : s.state,
        local: `${s.local.address}:${s.local.port}`,
        remote: `${s.remote.address}:${s.remote.port}`,
        initiatorCookie: hex(s.initiatorCookie),
        responderCookie: hex(s.responderCookie),
        localId: this.localIdText(s.connection, s.local.address),
        ...(s.peerId !== undefined ? { peerId: peerIdText(s.peerId) as string } : {}),
        ...(s.transform !== undefined ? { algorithms: ikeAlgText(s.transform) as string } : {}),
        ...(s.expiresAt !== undefined ? { lifetimeLeft: Math.max(0, Math.round((s.expiresAt - now) / 1000)) } : {}),
        ...(s.nat !== undefined ? { nat: { ...s.nat } } : {}),
      })),
      ipsec: ipsecAll.slice(0, MAX_STATUS_SAS).map((s) => {
        const st = this.ipsecStatus(s);
        const d = dp.get(s.id);
        return d !== undefined ? { ...st, dataplane: d } : st;
      }),
      counters: this.snapshot(),
      dataplane: this.dataplane.name,
      listening: this.transport.addresses(),
      process: (() => {
        const m = process.memoryUsage();
        const c = process.cpuUsage();
        return { rss: m.rss, heapUsed: m.heapUsed, cpuUserMs: Math.round(c.user / 1000), cpuSystemMs: Math.round(c.system / 1000), uptimeS: Math.round(process.uptime()) };
      })(),
    };
  }

  /** Re-reads the configuration; SAs of unchanged connections are not touched. */
  async reload(): Promise<string> {
    const path = this.opts.configPath ?? this.config.file;
    const next = loadConfig(path); // throws ConfigError: the running configuration stays
    return this.applyConfig(next, path);
  }

  /**
   * Switches to a new configuration as reload does (SAs of unchanged connections untouched;
   * listen/port/control/dataplane/metrics keep their running values). Used by reload and by
   * `isakmp demo` once it knows the ports it got.
   */
  async applyConfig(next: Config, path: string = next.file): Promise<string> {
    this.localIds.clear();
    const old = new Map(this.config.connections.map((c) => [c.name, c]));
    const fresh = new Map(next.connections.map((c) => [c.name, c]));
    const g0 = this.config.global;
    const g1 = next.global;
    const restartNeeded =
      JSON.stringify([g0.listen, g0.port, g0.nattPort, g0.controlSocket, g0.dataplane, g0.metrics]) !==
      JSON.stringify([g1.listen, g1.port, g1.nattPort, g1.controlSocket, g1.dataplane, g1.metrics]);
    const engineConns = next.connections.map((c) => toEngineConnection(c, g0.port, this.localAddressFor(c)));
    let unchanged = 0;
    const changed: string[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    for (const [name, c] of old) {
      const n = fresh.get(name);
      if (n === undefined) removed.push(name);
      else if (n.fingerprint !== c.fingerprint) changed.push(name);
      else unchanged++;
    }
    for (const name of fresh.keys()) if (!old.has(name)) added.push(name);
    for (const name of [...removed, ...changed]) {
      this.down(name);
      this.endpoint.removeConnection(name);
      if (old.get(name)?.start === 'on-demand') await this.dataplane.untrap?.(name);
    }
    this.config = { ...next, global: { ...g1, listen: g0.listen, port: g0.port, nattPort: g0.nattPort, controlSocket: g0.controlSocket, dataplane: g0.dataplane, metrics: g0.metrics } };
    for (const c of engineConns) if (changed.includes(c.name) || added.includes(c.name)) this.endpoint.setConnection(c);
    const o = this.opts.logOverride ?? {};
    this.logger.configure({ level: o.level ?? g1.log.level, areas: o.level !== undefined ? {} : { ...g1.log.areas }, format: o.format ?? g1.log.format });
    this.updown = g1.updown !== undefined ? new Updown(g1.updown, (lvl, m) => this.logger.log('dataplane', lvl, m)) : undefined;
    for (const c of next.connections) if ((changed.includes(c.name) || added.includes(c.name)) && c.start === 'start') this.safe(() => this.initiate(c.name));
    for (const c of next.connections) if ((changed.includes(c.name) || added.includes(c.name)) && c.start === 'on-demand') await this.trap(c);
    this.pump();
    return (
      `reloaded ${path}: ${unchanged} unchanged, ${changed.length} changed${changed.length ? ` (${changed.join(', ')})` : ''}, ` +
      `${added.length} added${added.length ? ` (${added.join(', ')})` : ''}, ${removed.length} removed${removed.length ? ` (${removed.join(', ')})` : ''}` +
      (restartNeeded ? '; listen/port/control_socket/dataplane/metrics changes need a restart' : '')
    );
  }

  async handleControl(req: ControlRequest): Promise<ControlResponse> {
    this.logger.debug('control', 'request', { cmd: req.cmd, name: req.name });
    if (this.stopping) return { ok: false, error: 'the daemon is shutting down' };
    switch (req.cmd) {
      case 'status':
        return { ok: true, message: 'status', data: this.status() };
      case 'reload':
        try {
          return { ok: true, message: await this.reload() };
        } catch (err) {
          return { ok: false, error: `reload refused, running configuration kept: ${(err as Error).message.split('\n').join('; ')}` };
        }
      case 'down': {
        const name = req.name as string;
        if (!this.config.connections.some((c) => c.name === name)) return { ok: false, error: `no connection named '${name}'` };
        const n = this.down(name);
        if (n === 0) return { ok: false, error: `connection '${name}' has no SAs` };
        return { ok: true, message: `connection '${name}': deleted ${n} SA${n === 1 ? '' : 's'}` };
      }
      case 'rekey': {
        const name = req.name as string;
        const n = this.rekey(name);
        if (n === 0) return { ok: false, error: `no SA with id '${name}' and no established SAs of a connection '${name}'` };
        return { ok: true, message: `${name}: rekeying ${n} SA${n === 1 ? '' : 's'}` };
      }
      case 'up': {
        const name = req.name as string;
        const timeoutMs = req.timeoutMs ?? 30_000;
        return new Promise<ControlResponse>((resolve) => {
          const w: Waiter = {
            connection: name,
            resolve,
            timer: setTimeout(() => {
              this.waiters.delete(w);
              const conn = this.config.connections.find((c) => c.name === name);
              const peer = conn?.remote.address ?? '';
              let last = this.problems.get(peer);
              // Garbage after decryption or a wrong hash in phase 1 is what a PSK mismatch looks like.
              if (last !== undefined && conn?.auth === 'psk' && /PAYLOAD_MALFORMED|INVALID_HASH_INFORMATION|AUTHENTICATION_FAILED/.test(last)) {
                last += '; check that both sides use the same pre-shared key';
              }
              resolve({
                ok: false,
                error: `connection '${name}' not established within ${Math.round(timeoutMs / 1000)} s (${last !== undefined ? `last problem with ${peer}: ${last}` : `no answer from ${peer}: is the peer up, and do the PSK and proposals match?`})`,
              });
            }, timeoutMs),
          };
          this.waiters.add(w);
          try {
            this.initiate(name);
          } catch (err) {
            clearTimeout(w.timer);
            this.waiters.delete(w);
            resolve({ ok: false, error: (err as Error).message });
          }
        });
      }
    }
  }

  /**
   * Clean shutdown: Delete for every IPsec and ISAKMP SA (the peer learns at once), a bounded wait
   * for the datagrams to leave, dataplane flush, updown "down", sockets closed.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    if (this.dpdTimer !== undefined) clearInterval(this.dpdTimer);
    this.dpdTimer = undefined;
    if (this.trafficTimer !== undefined) clearTimeout(this.trafficTimer);
    this.trafficTimer = undefined;
    const now = this.now();
    const ipsec = this.endpoint.ipsecSas();
    const isakmp = this.endpoint.isakmpSas().filter((s) => s.state === 'established');
    for (const s of ipsec) this.safe(() => this.endpoint.delete(now, s.id));
    for (const s of isakmp) this.safe(() => this.endpoint.delete(now, s.id));
    this.pump();
    if (ipsec.length + isakmp.length > 0) {
      this.logger.info('daemon', 'sent Deletes', { ipsec: ipsec.length, isakmp: isakmp.length });
      // Sends are asynchronous; give them a moment, bounded by shutdown_grace.
      await new Promise((r) => setTimeout(r, Math.min(200, this.config.global.shutdownGrace * 1000)));
    }
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve({ ok: false, error: 'the daemon is shutting down' });
    }
    this.waiters.clear();
    for (const sa of this.ipsecById.values()) void this.updown?.run('down', 'shutdown', sa);
    this.ipsecById.clear();
    this.ipsecState.clear();
    this.bytesById.clear();
    this.isakmpOverlay.clear();
    const grace = new Promise((r) => setTimeout(r, this.config.global.shutdownGrace * 1000).unref());
    await Promise.race([Promise.all([this.dataplane.flush(), this.updown?.idle()]), grace]);
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [sig, h] of this.signalHandlers) process.off(sig, h);
    await this.control?.close();
    if (this.metrics !== undefined) await new Promise<void>((r) => this.metrics?.close(() => r()));
    await this.transport.close();
    this.logger.info('daemon', 'stopped');
  }
}
