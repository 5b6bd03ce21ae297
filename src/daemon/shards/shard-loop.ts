/**
 * One engine shard's loop: its own sans-IO `Endpoint` and driver (feeds the endpoint what the
 * daemon's main thread posts, arms one timer at `pollTimeout()`, drains transmits and events
 * after each batch). Run by a worker thread (worker.ts) or a child process (shard-process.ts)
 * through a `ShardPort`; a shard process with its own sockets (socket-group.ts) also receives
 * datagrams from the kernel and sends its transmits itself (`ShardSockets`).
 * The engine learns nothing of threads or processes: it gets a cookie tag and an SPI source.
 */
import { randomBytes } from 'node:crypto';
import { Endpoint } from '../../exchange/index.js';
import { LocalProtocolError, RemoteProtocolError } from '../../errors.js';
import { importIpsecSa, importIsakmpSa } from '../../exchange/snapshot.js';
import type { EngineEvent, IpsecSaInfo } from '../engine.js';
import { SnapshotTap } from '../ha/tap.js';
import { DPD_FAILED, DPD_NO_SA, DPD_SENT, type FromShard, type ShardInit, type ShardStats, type ToShard } from './protocol.js';
import { BenchRandom } from './bench-random.js';
import { BlockBuilder, forEachDatagram, KEEPALIVE } from './datagram-block.js';
import { tagCookie, taggedShard } from './route.js';
import { receivingAddressIn, type ReceivingTable } from './receiving.js';
import type { Address } from '../engine.js';
import type { TransportCounters } from '../udp.js';

/** How a shard talks to the daemon's main thread. */
export interface ShardPort {
  /** One message to the main thread (buffers in `transfer` move, where the port can move them). */
  post(m: FromShard, transfer?: ArrayBuffer[]): void;
  onMessage(f: (batch: ToShard[]) => void): void;
  /** The outcome of a `dpd` request (thread: shared memory the main thread waits on; process: a message). */
  answerDpd(req: number, seq: number, outcome: number): void;
}

/** A shard process' own sockets (its socket of every group): what it receives and sends. */
export interface ShardSockets {
  /** Calls `f` for every IKE datagram received (NAT-T marker stripped, ESP and keepalives dropped). */
  onDatagram(f: (local: Address, remote: Address, data: Uint8Array) => void): void;
  send(local: Address, remote: Address, data: Uint8Array): void;
  sendKeepalive(local: Address, remote: Address): void;
  readonly counters: TransportCounters;
}

const MAX_TIMER = 2 ** 31 - 1;
const SPI_LOW_WATER = 8;
/** A shard with its own sockets holds its events this long at most, */
const EVENTS_HELD_MS = 3;
/** or until this many are held. */
const EVENTS_HELD_MAX = 256;

/** Runs shard `init.shard` until its thread or process ends. */
export function runShard(init: ShardInit, port: ShardPort, sockets?: ShardSockets): void {
  const clock = (): number => performance.timeOrigin + performance.now();

  /** Benchmarks only: see ShardInit.benchSeed. */
  const bench = init.benchSeed !== undefined ? new BenchRandom(init.benchSeed) : undefined;

  const spiPool = new Map<string, Uint8Array[]>();
  const spiAsked = new Set<string>();

  function takeSpi(local: string): Uint8Array | undefined {
    const pool = spiPool.get(local);
    const spi = pool?.pop();
    if ((pool?.length ?? 0) < SPI_LOW_WATER && !spiAsked.has(local)) {
      spiAsked.add(local);
      post({ t: 'spi-need', local });
    }
    return spi;
  }

  const ep = new Endpoint({
    ...init.options,
    random: bench?.random ?? ((n) => new Uint8Array(randomBytes(n))),
    connections: init.connections,
    cookieTag: (c) => tagCookie(init.routingKey, init.shard, c),
    allocateSpi: takeSpi,
  });
  const tap = init.replicate ? new SnapshotTap() : undefined;

  function post(m: FromShard, transfer: ArrayBuffer[] = []): void {
    port.post(m, transfer);
  }

  /** An IpsecSaInfo as plain data (the engine's key views are objects with getters). */
  function plainIpsec(sa: IpsecSaInfo): IpsecSaInfo {
    return {
      ...sa,
      protocols: sa.protocols.map((p) => ({
        ...p,
        inbound: { spi: p.inbound.spi, keymat: p.inbound.keymat, encryptionKey: p.inbound.encryptionKey, integrityKey: p.inbound.integrityKey },
        outbound: { spi: p.outbound.spi, keymat: p.outbound.keymat, encryptionKey: p.outbound.encryptionKey, integrityKey: p.outbound.integrityKey },
      })),
    };
  }

  function plainEvent(e: EngineEvent): EngineEvent {
    if (e.type === 'ipsec-sa-established' || e.type === 'ipsec-sa-updated') return { ...e, sa: plainIpsec(e.sa) };
    return e;
  }

  let timer: NodeJS.Timeout | undefined;
  let armedAt: number | undefined;

  function arm(): void {
    const at = ep.pollTimeout();
    if (at === armedAt && timer !== undefined) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    armedAt = at;
    if (at === undefined) return;
    timer = setTimeout(onTimer, Math.min(MAX_TIMER, Math.max(0, Math.ceil(at - clock()))));
  }

  function onTimer(): void {
    timer = undefined;
    const at = armedAt;
    const now = clock();
    if (at !== undefined && now < at) {
      timer = setTimeout(onTimer, Math.max(1, Math.ceil(at - now)));
      return;
    }
    armedAt = undefined;
    ep.handleTimeout(now);
    pump();
  }

  /** Drains the endpoint back to the main thread (one message), then re-arms the timer. */
  const outbound = new BlockBuilder();

  function pump(): void {
    const events: EngineEvent[] = [];
    const rekeys: [string, number][] = [];
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      if (sockets === undefined) outbound.add(t.local, t.remote, t.data, t.keepalive ? KEEPALIVE : 0); // a copy travels: the engine may keep its bytes
      else if (t.keepalive) sockets.sendKeepalive(t.local, t.remote);
      else sockets.send(t.local, t.remote, t.data);
      tap?.noteMessage(t.data);
    }
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      tap?.noteEvent(e);
      events.push(plainEvent(e));
      if (e.type === 'phase1-established' || e.type === 'ipsec-sa-established' || e.type === 'ipsec-sa-updated') {
        const at = ep.rekeyAt(e.sa.id);
        if (at !== undefined) rekeys.push([e.sa.id, at]);
      }
    }
    const snaps = tap?.flush(ep);
    if (sockets !== undefined && tap === undefined) {
      hold(events, rekeys);
      arm();
      return;
    }
    if (outbound.count > 0 || events.length > 0 || (snaps !== undefined && (snaps.put.length > 0 || snaps.removed.length > 0))) {
      const tx = outbound.count > 0 ? outbound.take() : undefined;
      post({ t: 'out', tx: tx?.block, events, rekeys, put: snaps?.put ?? [], removed: snaps?.removed ?? [] }, tx !== undefined ? [tx.transfer] : []);
    }
    arm();
  }

  // A shard with its own sockets sends its transmits itself; its events go to the main process
  // a little later, several turns' worth in one message (one IPC write and one wake-up of the
  // main process for many SAs under load). What the daemon must answer goes at once.
  const held: EngineEvent[] = [];
  const heldRekeys: [string, number][] = [];
  let holdTimer: NodeJS.Timeout | undefined;

  function hold(events: EngineEvent[], rekeys: [string, number][]): void {
    held.push(...events);
    heldRekeys.push(...rekeys);
    if (held.length === 0) return;
    if (held.length >= EVENTS_HELD_MAX || events.some((e) => e.type === 'xauth-request' || e.type === 'modecfg-request')) sendHeld();
    else holdTimer ??= setTimeout(sendHeld, EVENTS_HELD_MS);
  }

  function sendHeld(): void {
    if (holdTimer !== undefined) clearTimeout(holdTimer);
    holdTimer = undefined;
    if (held.length === 0) return;
    post({ t: 'out', tx: undefined, events: held.splice(0), rekeys: heldRekeys.splice(0), put: [], removed: [] });
  }

  function problem(what: string, err: unknown): void {
    post({ t: 'problem', message: `shard ${init.shard}: ${what}: ${(err as Error).message}` });
  }

  function handle(m: ToShard): void {
    const now = clock();
    switch (m.t) {
      case 'in':
        forEachDatagram(m.block, (local, remote, view) => {
          const data = view.slice(); // the engine may keep parts of it: not the whole block
          try {
            tap?.noteMessage(data);
            bench?.enter(data);
            ep.handleDatagram(now, local, remote, data);
          } catch (err) {
            problem('in', err);
          } finally {
            if (bench) bench.current = undefined;
          }
        });
        break;
      case 'initiate':
        ep.initiate(now, m.connection);
        break;
      case 'rekey':
        ep.rekey(now, m.sa);
        break;
      case 'delete':
        ep.delete(now, m.sa);
        break;
      case 'traffic':
        ep.reportTraffic(now, m.sa, m.bytes);
        break;
      case 'set-connection':
        ep.setConnection(m.connection);
        break;
      case 'remove-connection':
        ep.removeConnection(m.name);
        break;
      case 'spis': {
        spiAsked.delete(m.local);
        const pool = spiPool.get(m.local) ?? [];
        pool.push(...m.spis);
        spiPool.set(m.local, pool);
        break;
      }
      case 'observe':
        ep.observeMessages(m.on);
        break;
      case 'xauth':
      case 'modecfg':
        try {
          if (m.t === 'xauth') ep.answerXauth(now, m.req, m.ok);
          else ep.answerModeConfig(now, m.req, m.attributes);
        } catch (err) {
          // a request answered twice (the engine's refusal is a protocol error): the one-engine
          // daemon logs this at debug only
          if (!(err instanceof RemoteProtocolError)) throw err;
        }
        break;
      case 'dpd': {
        let outcome = DPD_SENT;
        let seq = 0;
        try {
          seq = ep.dpd(now, m.sa);
        } catch (err) {
          outcome = err instanceof LocalProtocolError ? DPD_NO_SA : DPD_FAILED;
          if (outcome === DPD_FAILED) problem('dpd', err);
        }
        port.answerDpd(m.req, seq, outcome);
        break;
      }
      case 'receiving':
        receiving = m.table;
        break;
      case 'import': {
        const errors: string[] = [];
        const isakmp = [];
        const ipsec = [];
        // the shard rekeys what it took over as it would its own SAs: the main thread learns when
        const rekeys: [string, number][] = [];
        const rekeyOf = (id: string): void => {
          const at = ep.rekeyAt(id);
          if (at !== undefined) rekeys.push([id, at]);
        };
        for (const r of m.isakmp) {
          try {
            isakmp.push(importIsakmpSa(ep, now, r));
            tap?.noteImported(r);
            rekeyOf(r.id);
          } catch (err) {
            errors.push(`${r.id}: ${(err as Error).message}`);
          }
        }
        for (const r of m.ipsec) {
          try {
            ipsec.push(plainIpsec(importIpsecSa(ep, now, r)));
            tap?.noteImported(r);
            rekeyOf(r.id);
          } catch (err) {
            errors.push(`${r.id}: ${(err as Error).message}`);
          }
        }
        // a replaced IPsec SA whose held Delete came with its ISAKMP SA's record went at its import
        // (its `deleted` event follows): not reported as taken over, so nothing installs it
        const still = ipsec.length > 0 ? new Set(ep.ipsecSas().map((s) => s.id)) : undefined;
        post({ t: 'imported', req: m.req, isakmp, ipsec: still ? ipsec.filter((s) => still.has(s.id)) : ipsec, rekeys, errors });
        break;
      }
      case 'export-all':
        post({ t: 'exported', req: m.req, records: tap?.all(ep) ?? [] });
        break;
    }
  }

  // A shard with its own sockets: the datagrams the kernel steered here (socket-group.ts). One whose
  // cookies name another shard (an SA another shard initiated: the kernel steered it by the peer's
  // responder cookie) goes to that shard through the main process, with its addresses.
  let receiving: ReceivingTable = init.receiving ?? [];
  let forwards = 0;
  const forwarding: BlockBuilder[] = [];

  function ownerOf(data: Uint8Array): number {
    if (data.length < 16) return init.shard;
    const byIc = taggedShard(init.routingKey, data.subarray(0, 8));
    if (byIc >= 0) return byIc % init.shards;
    const byRc = taggedShard(init.routingKey, data.subarray(8, 16));
    return byRc >= 0 ? byRc % init.shards : init.shard; // a first message: the kernel's choice holds
  }

  sockets?.onDatagram((local, remote, data) => {
    const to = ownerOf(data);
    const at = receivingAddressIn(receiving, local, remote.address);
    if (to !== init.shard) {
      forwards++;
      (forwarding[to] ??= new BlockBuilder()).add(at, remote, data);
    } else {
      try {
        tap?.noteMessage(data);
        bench?.enter(data);
        ep.handleDatagram(clock(), at, remote, data);
      } catch (err) {
        problem('in', err);
      } finally {
        if (bench) bench.current = undefined;
      }
    }
    scheduleDrain();
  });

  function sendForwards(): void {
    forwarding.forEach((b, to) => {
      if (b.count === 0) return;
      const { block, transfer } = b.take();
      port.post({ t: 'forward', to, block }, [transfer]);
    });
  }

  // The posts that arrived together are handled before one answer goes back (one wake-up of the
  // main thread for all of them): the drain waits for the end of this turn of the event loop.
  let drainScheduled = false;

  function scheduleDrain(): void {
    if (!drainScheduled) {
      drainScheduled = true;
      setImmediate(() => {
        drainScheduled = false;
        sendForwards();
        pump();
      });
    }
  }

  port.onMessage((batch: ToShard[]) => {
    for (const m of batch) {
      try {
        handle(m);
      } catch (err) {
        problem(m.t, err);
      }
    }
    scheduleDrain();
  });

  // counts for status and metrics, about once a second while they change
  let lastStats = '';
  setInterval(() => {
    const s: ShardStats = { ...ep.stats(), forwards, ...(sockets !== undefined ? { transport: { ...sockets.counters } } : {}) };
    const k = JSON.stringify(s);
    if (k === lastStats) return;
    lastStats = k;
    post({ t: 'stats', stats: s });
  }, 1000).unref();
}
