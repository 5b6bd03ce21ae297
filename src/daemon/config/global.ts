/**
 * The `global` section: listen addresses and ports, logging, key log, control socket, dataplane,
 * updown, metrics, half-open bounds and the daemon's timers (docs/config.md).
 */
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import { DEFAULT_CONTROL_SOCKET, LOG_AREAS, LOG_LEVELS, type GlobalConfig, type ListenAddress, type LogArea, type LogLevel } from './types.js';
import { parseShardMode, parseShards } from './scale.js';
import { duration, entries, integer, join, oneOf, resolvePath, scalarString, section, stringList, type Ctx } from './yaml.js';

const GLOBAL_KEYS = [
  'listen',
  'port',
  'natt_port',
  'log',
  'keylog',
  'control_socket',
  'dataplane',
  'updown',
  'metrics',
  'max_half_open',
  'max_half_open_per_peer',
  'max_isakmp_sas_per_identity',
  'max_isakmp_sas_per_address',
  'max_ipsec_sas_per_identity',
  'max_quick_modes_per_sa',
  'message_id_budget',
  'aggressive_rate',
  'first_message_rate',
  'receive_buffer',
  'shutdown_grace',
  'traffic_poll',
  'nat_keepalive',
  'fragment_size',
  'shards',
  'shard_mode',
] as const;

function shardModeOf(m: 'process' | 'thread' | undefined): { shardMode?: 'process' | 'thread' } {
  return m !== undefined ? { shardMode: m } : {};
}

/** A duration from 1 s to 1 h (or 0 = off, where `offAllowed`); an error otherwise. */
function secondsBetween1sAnd1h(ctx: Ctx, n: Node | null, p: string, offAllowed: boolean): number | undefined {
  const v = duration(ctx, n, p);
  if (v === undefined || (offAllowed && v === 0) || (v >= 1 && v <= 3600)) return v;
  ctx.error(n, p, `${v}s is out of range (${offAllowed ? '0 to turn off, or ' : ''}1s to 1h)`);
  return undefined;
}

type Rate = GlobalConfig['aggressiveRate'];

/**
 * `KEY: { per_second, burst, per_source_per_second, per_source_burst }`: `aggressive_rate` and
 * `first_message_rate` (issue 9.7).
 */
function parseRate(ctx: Ctx, node: Node | null | undefined, key: string, d: Rate): Rate {
  if (node === undefined) return d;
  const p = `global.${key}`;
  const e = entries(ctx, node, p, ['per_second', 'burst', 'per_source_per_second', 'per_source_burst'] as const) ?? new Map();
  const n = (k: string, def: number): number => {
    const v = e.get(k);
    return v === undefined ? def : integer(ctx, v.value, `${p}.${k}`, 1, 1_000_000) ?? def;
  };
  return { perSecond: n('per_second', d.perSecond), burst: n('burst', d.burst), perSourcePerSecond: n('per_source_per_second', d.perSourcePerSecond), perSourceBurst: n('per_source_burst', d.perSourceBurst) };
}

export function parseGlobal(ctx: Ctx, node: Node | null | undefined): GlobalConfig {
  const path = 'global';
  const e = entries(ctx, node, path, GLOBAL_KEYS) ?? new Map();
  const listen: ListenAddress[] = [];
  const l = e.get('listen');
  if (l !== undefined) {
    for (const item of stringList(ctx, l.value, 'global.listen') ?? []) {
      const fam = isIP(item.text);
      if (fam === 0) ctx.error(item.node, 'global.listen', `'${item.text}' is not an IP address (use 0.0.0.0, ::, or a local address)`);
      else listen.push({ address: item.text, family: fam as 4 | 6 });
    }
  } else {
    listen.push({ address: '0.0.0.0', family: 4 }, { address: '::', family: 6 });
  }
  const get = section(ctx, node, path, e).opt;
  const port = get('port', (n, p) => integer(ctx, n, p, 1, 65535), 500);
  const nattPort = get('natt_port', (n, p) => integer(ctx, n, p, 0, 65535), 4500);
  if (nattPort !== 0 && nattPort === port) ctx.error(e.get('natt_port')?.value, 'global.natt_port', `must differ from port (${port})`);

  let level: LogLevel = 'info';
  let format: 'text' | 'json' = 'text';
  const areas: Partial<Record<LogArea, LogLevel>> = {};
  const lg = e.get('log');
  if (lg !== undefined) {
    const le = entries(ctx, lg.value, 'global.log', ['level', 'format', 'areas']) ?? new Map();
    const lv = le.get('level');
    if (lv !== undefined) level = oneOf(ctx, lv.value, 'global.log.level', LOG_LEVELS) ?? level;
    const fm = le.get('format');
    if (fm !== undefined) format = oneOf(ctx, fm.value, 'global.log.format', ['text', 'json'] as const) ?? format;
    const ar = le.get('areas');
    if (ar !== undefined) {
      const ae = entries(ctx, ar.value, 'global.log.areas', LOG_AREAS) ?? new Map();
      for (const [k, v] of ae) {
        const lvl = oneOf(ctx, v.value, `global.log.areas.${k}`, LOG_LEVELS);
        if (lvl !== undefined) areas[k as LogArea] = lvl;
      }
    }
  }
  const pathValue = (key: string): string | undefined => {
    const v = e.get(key);
    if (v === undefined) return undefined;
    const s = scalarString(ctx, v.value, join(path, key));
    return s === undefined ? undefined : resolvePath(ctx, s);
  };
  let metrics: GlobalConfig['metrics'];
  const me = e.get('metrics');
  if (me !== undefined) {
    const s = scalarString(ctx, me.value, 'global.metrics');
    if (s !== undefined) {
      const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(s);
      const addr = m?.[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1';
      const p = m ? Number(m[2]) : NaN;
      if (m === null || !(p >= 1 && p <= 65535) || isIP(addr) === 0) {
        ctx.error(me.value, 'global.metrics', `'${s}' must be PORT or ADDRESS:PORT (e.g. 9520 or 127.0.0.1:9520)`);
      } else if (addr !== '127.0.0.1' && addr !== '::1') {
        ctx.error(me.value, 'global.metrics', `metrics are served on localhost only (use 127.0.0.1:${p} or [::1]:${p})`);
      } else metrics = { address: addr, port: p };
    }
  }
  return {
    listen,
    port,
    nattPort,
    log: { level, areas, format },
    keylog: pathValue('keylog'),
    controlSocket: pathValue('control_socket') ?? DEFAULT_CONTROL_SOCKET,
    dataplane: get('dataplane', (n, p) => oneOf(ctx, n, p, ['none', 'xfrm'] as const), 'none'),
    updown: pathValue('updown'),
    metrics,
    maxHalfOpen: get('max_half_open', (n, p) => integer(ctx, n, p, 1, 1_000_000), 2048),
    maxHalfOpenPerPeer: get('max_half_open_per_peer', (n, p) => integer(ctx, n, p, 1, 1_000_000), 32),
    maxIsakmpSasPerIdentity: get('max_isakmp_sas_per_identity', (n, p) => integer(ctx, n, p, 1, 1_000_000), 200),
    maxIsakmpSasPerAddress: get('max_isakmp_sas_per_address', (n, p) => integer(ctx, n, p, 1, 1_000_000), 500),
    maxIpsecSasPerIdentity: get('max_ipsec_sas_per_identity', (n, p) => integer(ctx, n, p, 1, 1_000_000), 1000),
    maxQuickModesPerSa: get('max_quick_modes_per_sa', (n, p) => integer(ctx, n, p, 1, 1024), 16),
    messageIdBudget: get('message_id_budget', (n, p) => integer(ctx, n, p, 64, 1_000_000), 1024),
    aggressiveRate: parseRate(ctx, e.get('aggressive_rate')?.value, 'aggressive_rate', { perSecond: 100, burst: 100, perSourcePerSecond: 5, perSourceBurst: 10 }),
    firstMessageRate: parseRate(ctx, e.get('first_message_rate')?.value, 'first_message_rate', { perSecond: 1000, burst: 1000, perSourcePerSecond: 2, perSourceBurst: 4 }),
    receiveBuffer: get('receive_buffer', (n, p) => integer(ctx, n, p, 0, 1 << 30), 32 << 20),
    shutdownGrace: get('shutdown_grace', (n, p) => duration(ctx, n, p), 2),
    trafficPoll: get('traffic_poll', (n, p) => secondsBetween1sAnd1h(ctx, n, p, false), 10),
    natKeepalive: get('nat_keepalive', (n, p) => secondsBetween1sAnd1h(ctx, n, p, true), 20),
    fragmentSize: get('fragment_size', (n, p) => integer(ctx, n, p, 68, 65535), 548),
    shards: parseShards(ctx, e.get('shards')?.value),
    ...shardModeOf(parseShardMode(ctx, e.get('shard_mode')?.value)),
  };
}
