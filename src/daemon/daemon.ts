/**
 * The daemon: the driver loop around a sans-IO endpoint, and the wiring of its parts.
 *
 *   datagram in ─► endpoint.handleDatagram ─┐
 *   timer fires ─► endpoint.handleTimeout  ─┼─► pump(): drain pollTransmit() to UDP, pollEvent() to
 *   control cmd ─► endpoint.initiate/...   ─┘   the event subscribers, then arm the engine's timer
 *                                               from pollTimeout().
 *
 * The event subscribers: logs and metrics (events-log.ts); dataplane, updown and the SA states
 * `status` shows (events-dataplane.ts, sa-states.ts); waiters of control commands (waiters.ts).
 * Dead Peer Detection and NAT keepalives are engine timers (keepalive transmits go out here; a
 * `peer-dead` event restarts the connection with `dpd_action: restart`). Commands are in
 * commands.ts, status in status.ts, reload in reload.ts, the XAUTH / Mode Config subscribers in
 * remote-access-events.ts, the traps of on-demand connections in on-demand.ts.
 * Everything that touches the outside world (sockets, timers, files, processes) is owned by the
 * daemon and these helpers; the endpoint stays pure.
 */
import { pooledRandom } from './random-pool.js';
import type { Server } from 'node:http';
import { loadConfig, type Config, type ConnectionConfig, type LogLevel } from './config/index.js';
import { EngineCommands, handleControlRequest } from './commands.js';
import type { DaemonContext } from './context.js';
import { NoneDataplane, XfrmDataplane, createXfrmDataplane, type Dataplane, type IpRunner } from './dataplane.js';
import { engineConnections, localAddressFor, receivingAddress, receivingTable, toEngineConnection, type EndpointFactory, type EndpointLike, type EngineEvent, type InitiateResult } from './engine.js';
import { ControlServer, type ControlRequest, type ControlResponse } from './control.js';
import { preflightNotes } from './preflight.js';
import { sameCrls } from './crl-files.js';
import { DataplaneEvents } from './events-dataplane.js';
import { LogEvents } from './events-log.js';
import { KeyLog } from './keylog.js';
import { Logger } from './log.js';
import { Counters, type CounterSnapshot } from './counters.js';
import { startMetricsServer } from './metrics.js';
import { planReload, reloadMessage, runningConfig } from './reload.js';
import { SaStates } from './sa-states.js';
import { buildStatus, connectionFigures, LocalIdTexts, saCounts, type StatusData } from './status.js';
import { UdpTransport, type DaemonTransport, type ReceivedDatagram } from './udp.js';
import { Updown } from './updown.js';
import { UsageError } from '../errors.js';
import { Waiters } from './waiters.js';
import type { XauthEvents } from './xauth-events.js';
import type { ModeConfigEvents } from './modecfg-events.js';
import { OnDemand } from './on-demand.js';
import { remoteAccessEvents } from './remote-access-events.js';
import { attachLoop, closeEndpoint, shardNote, shardTransport, syncReceiving } from './shards/index.js';
import { haFor, type HaNode } from './ha/index.js';

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

const MAX_TIMER = 2 ** 31 - 1;

export class Daemon {
  readonly logger: Logger;
  readonly counters = new Counters();
  private config: Config;
  private readonly endpoint: EndpointLike;
  private readonly transport: DaemonTransport;
  private readonly dataplane: Dataplane;
  private updown: Updown | undefined;
  private control: ControlServer | undefined;
  private metrics: Server | undefined;
  /** The engine's timer: armed at `pollTimeout()`. */
  private timer: NodeJS.Timeout | undefined;
  private armedAt: number | undefined;
  private readonly clock: () => number;
  private shuttingDown = false;
  private stopped = false;
  private pumping = false;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];
  private readonly sas = new SaStates();
  private readonly localIds: LocalIdTexts;
  private readonly commands: EngineCommands;
  private readonly logEvents: LogEvents;
  private readonly dataplaneEvents: DataplaneEvents;
  private readonly waiters: Waiters;
  private readonly xauthEvents: XauthEvents;
  private readonly modeConfigEvents: ModeConfigEvents;
  private readonly onDemand: OnDemand;
  /** Failover (docs/ha.md); undefined without an `ha` section. */
  private readonly ha: HaNode | undefined;

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    const g = this.config.global;
    this.clock = opts.clock ?? (() => performance.timeOrigin + performance.now());
    this.logger = opts.logger ?? new Logger({ level: g.log.level, areas: { ...g.log.areas }, format: g.log.format });
    const random = opts.random ?? pooledRandom();
    this.endpoint = opts.endpointFactory({
      random,
      connections: engineConnections(this.config.file, this.config.connections, g),
      halfOpenTotal: g.maxHalfOpen,
      halfOpenPerPeer: g.maxHalfOpenPerPeer,
      fragmentSize: g.fragmentSize,
      maxIsakmpSasPerIdentity: g.maxIsakmpSasPerIdentity,
      maxIsakmpSasPerAddress: g.maxIsakmpSasPerAddress,
      maxIpsecSasPerIdentity: g.maxIpsecSasPerIdentity,
      maxQuickModesPerSa: g.maxQuickModesPerSa,
      messageIdBudget: g.messageIdBudget,
      aggressiveRate: g.aggressiveRate,
      firstMessageRate: g.firstMessageRate,
      nattPort: g.nattPort,
      // RFC 3948 keepalives and RFC 3706 DPD are the engine's timers; the daemon sends what it polls
      natKeepaliveSeconds: g.nattPort !== 0 ? g.natKeepalive : 0,
      allocateSpi: (local) => this.dataplane.allocateSpi?.(local),
    });
    // engine shards (docs/scale.md) answer asynchronously: their output wakes the loop
    attachLoop(this.endpoint, () => this.pump(), (m, level) => (level === 'warn' ? this.logger.warn('net', m) : this.logger.error('daemon', m)));
    const udp = { listen: g.listen, port: g.port, nattPort: g.nattPort, receiveBuffer: g.receiveBuffer, onError: (m: string) => this.logger.warn('net', m) };
    // engine shard processes own the sockets (docs/scale.md): then the daemon reads none
    this.transport = shardTransport(this.endpoint, udp, () => receivingTable(this.config.connections)) ?? new UdpTransport({ ...udp, onDatagram: (d) => this.onDatagram(d) });
    this.dataplane =
      opts.dataplane ??
      (g.dataplane === 'xfrm'
        ? opts.ipRunner !== undefined
          ? new XfrmDataplane(opts.ipRunner, (m) => this.logger.error('dataplane', m))
          : createXfrmDataplane((m) => this.logger.error('dataplane', m))
        : new NoneDataplane());
    this.dataplane.onExpire = () => void this.pollTraffic();
    const keylogPath = opts.keylog ?? g.keylog;
    this.updown = this.updownFor(g.updown);
    this.localIds = new LocalIdTexts((c) => this.engineConnection(c));
    const ctx: DaemonContext = {
      endpoint: this.endpoint,
      logger: this.logger,
      counters: this.counters,
      now: () => this.now(),
      connections: () => this.config.connections,
      pump: () => this.pump(),
    };
    this.commands = new EngineCommands(ctx);
    this.logEvents = new LogEvents(this.logger, this.counters, keylogPath !== undefined ? new KeyLog(keylogPath, (m) => this.logger.error('daemon', m)) : undefined, () => this.config.connections, () => this.now());
    this.dataplaneEvents = new DataplaneEvents(ctx, {
      sas: this.sas,
      dataplane: this.dataplane,
      updown: () => this.updown,
      trafficPollSeconds: () => this.config.global.trafficPoll,
      commands: this.commands,
    });
    this.waiters = new Waiters((sa) => this.sas.statusOf(sa, this.now()), () => this.syncObserve());
    this.syncObserve();
    const ra = remoteAccessEvents(this.endpoint, {
      logger: this.logger,
      now: () => this.now(),
      connections: () => this.config.connections,
      pump: () => this.pump(),
      running: () => !this.stopped,
      deleteSa: (sa) => this.safe(() => this.endpoint.delete(this.now(), sa)),
    });
    this.xauthEvents = ra.xauth;
    this.modeConfigEvents = ra.modeConfig;
    this.onDemand = new OnDemand({
      dataplane: this.dataplane,
      logger: this.logger,
      now: () => this.now(),
      connections: () => this.config.connections,
      engineConnection: (c) => this.engineConnection(c),
      hasIpsecSa: (name) => this.endpoint.ipsecSas().some((s) => s.connection === name),
      stopping: () => this.shuttingDown,
      initiate: (name) => this.safe(() => this.initiate(name)),
    });
    this.ha = haFor(this.config, this.endpoint, {
      logger: this.logger,
      installTakenOver: (sa) => this.dataplaneEvents.onEvent({ type: 'ipsec-sa-established', sa }),
      onActive: () => this.startConnections(),
      onLost: () => void this.stop().then(() => process.exit(1)),
    });
  }

  /**
   * The engine's message events are on while someone needs them: the `ike` log at debug (the
   * retransmissions) or trace (every message), or an `isakmp up` waiting for its progress.
   */
  private syncObserve(): void {
    this.endpoint.observeMessages?.(this.logger.enabled('ike', 'debug') || this.waiters?.active === true);
  }

  private updownFor(script: string | undefined): Updown | undefined {
    return script !== undefined ? new Updown(script, (lvl, m) => this.logger.log('dataplane', lvl, m)) : undefined;
  }

  private engineConnection(c: ConnectionConfig) {
    return toEngineConnection(c, this.config.global.port, localAddressFor(c, this.config.global));
  }

  now(): number {
    return this.clock();
  }

  /** True from the beginning of `stop()` on. */
  get stopping(): boolean {
    return this.shuttingDown;
  }

  /** The running configuration's connections. */
  connections(): readonly ConnectionConfig[] {
    return this.config.connections;
  }

  /**
   * Start-up, all or nothing: checks the dataplane, binds the UDP sockets, opens the control
   * socket and the metrics port, installs on-demand traps. If one fails, what was opened is closed
   * again (in reverse order) and the error (one line: what, where, why) is thrown; nothing is
   * logged before everything is open. Then the `started` line, and `start: start` connections.
   */
  async start(): Promise<void> {
    const g = this.config.global;
    const opened: (() => Promise<void>)[] = [];
    let trapped: ConnectionConfig[] = [];
    try {
      const dp = this.dataplane;
      if (dp.start !== undefined) {
        opened.push(() => dp.flush());
        const why = await dp.start();
        if (why !== undefined) throw new UsageError('ISAKMP_ERR_DATAPLANE', `dataplane ${dp.name}: ${why}`);
      }
      await this.transport.start(); // closes its own sockets when one fails
      opened.push(() => this.transport.close());
      if (g.port === 0) this.adoptBoundPort();
      if (this.opts.control !== false) {
        const control = new ControlServer(g.controlSocket, (r, progress) => this.handleControl(r, progress), (m) => this.logger.warn('control', m));
        await control.start(); // a socket another daemon answers on is not ours to remove: closed only once started
        this.control = control;
        opened.push(() => control.close());
      }
      if (g.metrics !== undefined) {
        const m = await startMetricsServer(g.metrics.address, g.metrics.port, {
          snapshot: () => this.snapshot(),
          connectionFigures: () => connectionFigures(this.config.connections, this.endpoint, this.sas, this.now()),
          remoteAccessFigures: () => ({ xauth: this.xauthEvents.verdictCounts(), pools: this.modeConfigEvents.poolFigures() }),
        });
        this.metrics = m;
        opened.push(() => new Promise<void>((r) => m.close(() => r())));
      }
      if (dp.trap !== undefined) {
        dp.onAcquire = (name) => this.onDemand.onAcquire(name);
        for (const c of this.config.connections) {
          const err = c.start === 'on-demand' ? await this.onDemand.trap(c) : undefined;
          if (err !== undefined) throw new UsageError('ISAKMP_ERR_DATAPLANE', `dataplane ${dp.name}: on-demand connection ${c.name}: ${err.trim().replace(/\s*\n\s*/g, '; ')}`);
        }
        trapped = this.config.connections.filter((c) => c.start === 'on-demand');
      }
    } catch (err) {
      this.control = undefined;
      this.metrics = undefined;
      for (const close of opened.reverse()) await close().catch(() => {});
      throw err;
    }
    for (const a of this.transport.addresses()) {
      this.logger.info('net', 'listening', { address: a.address, port: a.port, natt: a.natt, receive_buffer: a.receiveBuffer });
      if (a.receiveBuffer !== undefined && a.receiveBuffer < g.receiveBuffer) {
        this.logger.warn('net', `UDP ${a.address}:${a.port} has ${Math.round(a.receiveBuffer / 1024)} KiB of receive buffer, not the ${Math.round(g.receiveBuffer / 1024)} KiB of receive_buffer: a flood will drop legitimate datagrams sooner (run as root or with CAP_NET_ADMIN, or raise net.core.rmem_max)`);
      }
    }
    const note = shardNote(this.endpoint);
    if (note !== undefined) this.logger.info('daemon', note);
    this.encapsulateEsp();
    if (this.control !== undefined) this.logger.info('control', 'control socket ready', { path: g.controlSocket });
    if (g.metrics !== undefined) this.logger.info('daemon', 'metrics on http', { address: g.metrics.address, port: g.metrics.port });
    for (const c of trapped) this.onDemand.logTrap(c, undefined);
    this.logPreflight();
    this.logger.info('daemon', 'started', { connections: this.config.connections.length, dataplane: this.dataplane.name });
    // with failover, a node starts its connections when it becomes active
    if (this.ha !== undefined) await this.ha.start();
    else this.startConnections();
  }

  /** Initiates the connections with `start: start`. */
  private startConnections(): void {
    for (const c of this.config.connections) if (c.start === 'start') this.safe(() => this.initiate(c.name));
    this.pump();
  }

  /**
   * Port 0 (tests, `isakmp demo` fallback): the kernel picked a free port; the engine's
   * connections must name it, or transmits would find no socket.
   */
  private adoptBoundPort(): void {
    const g = this.config.global;
    const bound = this.transport.addresses().find((a) => !a.natt)?.port;
    if (bound === undefined || bound === 0) return;
    this.config = { ...this.config, global: { ...g, port: bound } };
    for (const c of this.config.connections) this.endpoint.setConnection(this.engineConnection(c));
  }

  /** RFC 3948: the kernel takes ESP off the NAT-T sockets, IKE (non-ESP marker) still comes to us. */
  private encapsulateEsp(): void {
    const encapsulate = this.dataplane.encapsulateSocket?.bind(this.dataplane);
    for (const s of encapsulate !== undefined ? this.transport.nattSockets() : []) {
      const fd = s.fd;
      const err = fd === undefined ? 'no file descriptor for the socket' : encapsulate!(fd, s.port);
      if (err !== undefined) this.logger.warn('dataplane', `ESP in UDP on port ${s.port} stays with the daemon (inbound UDP-encapsulated ESP is dropped): ${err}`);
      else this.logger.info('dataplane', 'kernel takes ESP in UDP', { port: s.port });
    }
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

  private onDatagram(d: ReceivedDatagram): void {
    if (this.stopped) return;
    if (this.shuttingDown) {
      // stopping: our Deletes are out, and no new exchange is answered (a peer that re-initiated
      // at once would get SAs nobody deletes: the daemon is gone a moment later)
      this.counters.drop('SHUTTING_DOWN');
      this.logger.debug('net', 'datagram ignored: shutting down', { from: `${d.remote.address}:${d.remote.port}` });
      return;
    }
    this.logger.log('net', 'trace', 'datagram in', { from: `${d.remote.address}:${d.remote.port}`, to: d.local.port, bytes: d.data.length });
    this.endpoint.handleDatagram(this.now(), receivingAddress(this.config.connections, d.local, d.remote.address), d.remote, d.data);
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
    this.runTimers();
  }

  /**
   * Fires the engine's timers due now (retransmissions, lifetimes, DPD, NAT keepalives) and sends
   * what they produce. The armed timer does this on its own; public for tests with a virtual clock.
   */
  runTimers(): void {
    if (this.stopped) return;
    this.endpoint.handleTimeout(this.now());
    this.pump();
  }

  /** Drains transmits and events, then re-arms the engine's timer. */
  pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      for (let i = 0; i < 100_000; i++) {
        const t = this.endpoint.pollTransmit();
        const e = t === undefined ? this.endpoint.pollEvent() : undefined;
        if (t === undefined && e === undefined) break;
        if (t !== undefined) {
          this.logger.log('net', 'trace', t.keepalive ? 'keepalive out' : 'datagram out', { to: `${t.remote.address}:${t.remote.port}`, from: t.local.port, bytes: t.data.length });
          if (t.keepalive) this.transport.sendKeepalive(t.local, t.remote);
          else this.transport.send(t.local, t.remote, t.data);
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

  /** Hands an engine event to the subscribers, in this order. */
  private onEvent(e: EngineEvent): void {
    this.opts.onEvent?.(e);
    this.logEvents.onEvent(e);
    this.dataplaneEvents.onEvent(e);
    this.waiters.onEvent(e);
    this.xauthEvents.onEvent(e);
    this.modeConfigEvents.onEvent(e);
    if (e.type === 'peer-dead') this.onPeerDead(e);
  }

  /** RFC 3706: the engine declared the peer dead and deletes its SAs; with `dpd_action: restart` we negotiate again. */
  private onPeerDead(e: Extract<EngineEvent, { type: 'peer-dead' }>): void {
    const c = this.config.connections.find((x) => x.name === e.connection);
    if (c?.dpdAction === 'restart') this.safe(() => this.initiate(e.connection));
  }

  // ------------------------------------------------------------------------------------------
  // liveness and traffic (public for tests and tools)

  /** True while the traffic poll timer is armed. */
  get trafficPollArmed(): boolean {
    return this.dataplaneEvents.trafficPollArmed;
  }

  /** Reads the dataplane's byte counters once (see events-dataplane.ts); returns how many SAs got a count. */
  pollTraffic(): Promise<number> {
    return this.dataplaneEvents.pollTraffic();
  }

  // ------------------------------------------------------------------------------------------
  // commands

  /**
   * Starts phase 1 + Quick Mode for a connection's selector pairs without an IPsec SA (nothing for
   * a connection that is up). Throws UsageError for an unknown name.
   */
  initiate(name: string): InitiateResult {
    return this.commands.initiate(name);
  }

  private safe(f: () => void): void {
    this.commands.safe(f);
  }

  /** Deletes every SA of a connection (IPsec first, then ISAKMP), telling the peer. Returns how many. */
  down(name: string): number {
    return this.commands.down(name);
  }

  /** Rekeys one SA (by `status` id) or every established SA of a connection; returns how many. */
  rekey(name: string): number {
    return this.commands.rekey(name);
  }

  /**
   * `isakmp up`: initiates and waits until the connection is up, failed, or the timeout passed
   * (at once when it is up already); `progress` hears the exchange as it goes.
   */
  up(name: string, timeoutMs: number, progress?: (line: string) => void): Promise<ControlResponse> {
    return this.waiters.wait(name, () => this.config.connections.find((c) => c.name === name), timeoutMs, () => this.initiate(name), progress);
  }

  handleControl(req: ControlRequest, progress: (line: string) => void = () => {}): Promise<ControlResponse> {
    return handleControlRequest(this, req, progress);
  }

  snapshot(): CounterSnapshot {
    const st = this.endpoint.stats?.();
    return this.counters.snapshot({ ...this.transport.counters }, saCounts(this.endpoint, this.sas), st !== undefined ? { current: st.halfOpen, evicted: st.halfOpenEvicted ?? 0 } : undefined);
  }

  status(): StatusData {
    return buildStatus({
      now: this.now(),
      connections: this.config.connections,
      endpoint: this.endpoint,
      dataplane: this.dataplane,
      sas: this.sas,
      localIds: this.localIds,
      counters: this.snapshot(),
      listening: this.transport.addresses(),
      remoteAccess: (sa) => this.modeConfigEvents.statusOf(sa),
      leases: () => this.modeConfigEvents.leases(),
    });
  }

  // ------------------------------------------------------------------------------------------
  // reload

  /** Re-reads the configuration; SAs of unchanged connections are not touched. */
  async reload(): Promise<string> {
    const path = this.opts.configPath ?? this.config.file;
    const next = loadConfig(path); // throws ConfigError: the running configuration stays
    const refused = preflightNotes(next, this.now()).filter((n) => n.level === 'error');
    if (refused.length > 0) throw new UsageError('ISAKMP_ERR_CONFIG', refused.map((n) => `${n.where}: ${n.message}`).join('\n'));
    const r = await this.applyConfig(next, path);
    this.logPreflight();
    return r;
  }

  /** File modes, defaulted identities, CRL dates (src/daemon/preflight.ts): one log line each. */
  private logPreflight(): void {
    for (const n of preflightNotes(this.config, this.now())) this.logger.log('config', n.level, `${n.where}: ${n.message}`);
  }

  /**
   * Switches to a new configuration as reload does (SAs of unchanged connections untouched;
   * listen/port/control/dataplane/metrics keep their running values). Used by reload and by
   * `isakmp demo` once it knows the ports it got.
   */
  async applyConfig(next: Config, path: string = next.file): Promise<string> {
    this.localIds.clear();
    const running = this.config;
    const old = new Map(running.connections.map((c) => [c.name, c]));
    const plan = planReload(running, next);
    // Checked by the engine before anything changes: a refused connection refuses the reload.
    const engineConns = engineConnections(next.file, next.connections, running.global);
    const touched = (name: string): boolean => plan.changed.includes(name) || plan.added.includes(name);
    for (const name of [...plan.removed, ...plan.changed]) {
      this.down(name);
      this.endpoint.removeConnection(name);
      if (old.get(name)?.start === 'on-demand') await this.dataplane.untrap?.(name);
    }
    this.config = runningConfig(running, next);
    syncReceiving(this.endpoint, receivingTable(this.config.connections));
    const fresh = new Map(next.connections.map((c) => [c.name, c]));
    for (const c of engineConns) if (touched(c.name)) this.endpoint.setConnection(c);
    // unchanged connections whose CRLs changed: their SAs stay, new exchanges and rekeys use the new CRLs
    for (const c of engineConns) if (!touched(c.name) && !sameCrls(old.get(c.name), fresh.get(c.name))) this.endpoint.setConnection(c);
    const g1 = next.global;
    const o = this.opts.logOverride ?? {};
    this.logger.configure({ level: o.level ?? g1.log.level, areas: o.level !== undefined ? {} : { ...g1.log.areas }, format: o.format ?? g1.log.format });
    this.syncObserve();
    this.updown = this.updownFor(g1.updown);
    for (const c of next.connections) if (touched(c.name) && c.start === 'start') this.safe(() => this.initiate(c.name));
    for (const c of next.connections) if (touched(c.name) && c.start === 'on-demand') this.onDemand.logTrap(c, await this.onDemand.trap(c));
    this.pump();
    return reloadMessage(path, plan);
  }

  // ------------------------------------------------------------------------------------------
  // shutdown

  /**
   * Clean shutdown: Delete for every IPsec and ISAKMP SA (the peer learns at once), a bounded wait
   * for the datagrams to leave, dataplane flush, updown "down", sockets closed.
   */
  async stop(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.dataplaneEvents.stopPolling();
    const now = this.now();
    // with failover the SAs are handed over (records written, lease revoked), not deleted
    const handOver = this.ha !== undefined;
    await this.ha?.stop();
    const ipsec = handOver ? [] : this.endpoint.ipsecSas();
    const isakmp = handOver ? [] : this.endpoint.isakmpSas().filter((s) => s.state === 'established');
    for (const s of ipsec) this.safe(() => this.endpoint.delete(now, s.id));
    for (const s of isakmp) this.safe(() => this.endpoint.delete(now, s.id));
    this.pump();
    if (ipsec.length + isakmp.length > 0) {
      this.logger.info('daemon', 'sent Deletes', { ipsec: ipsec.length, isakmp: isakmp.length });
      // Sends are asynchronous; give them a moment, bounded by shutdown_grace.
      await new Promise((r) => setTimeout(r, Math.min(200, this.config.global.shutdownGrace * 1000)));
    }
    this.waiters.close();
    this.dataplaneEvents.close();
    await this.xauthEvents.close();
    const grace = new Promise((r) => setTimeout(r, this.config.global.shutdownGrace * 1000).unref());
    await Promise.race([Promise.all([this.dataplane.flush(), this.updown?.idle()]), grace]);
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [sig, h] of this.signalHandlers) process.off(sig, h);
    await this.control?.close();
    if (this.metrics !== undefined) await new Promise<void>((r) => this.metrics?.close(() => r()));
    await this.transport.close();
    await closeEndpoint(this.endpoint);
    this.logger.info('daemon', 'stopped');
  }
}
