/**
 * What the daemon spreads over cores and nodes (docs/scale.md, docs/ha.md): `global.shards`, the
 * number of engine shards, `global.shard_mode` (processes or threads), and the `ha` section: the replicated store (etcd),
 * the cluster's name and key, this node's name, the ownership lease and the virtual address.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import type { GlobalConfig, HaConfig } from './types.js';
import { duration, entries, integer, resolvePath, scalarString, section, stringList, type Ctx } from './yaml.js';

/** `global.shards`: 1 (default: the engine in the main thread) to 256, or `auto` = the number of cores. */
export function parseShards(ctx: Ctx, node: Node | null | undefined): number {
  const cores = Math.max(1, Math.min(256, availableParallelism()));
  if (node === undefined) return 1;
  const text = scalarString(ctx, node, 'global.shards');
  if (text === 'auto') return cores;
  return integer(ctx, node, 'global.shards', 1, 256) ?? 1;
}

/**
 * `global.shard_mode`: `process` (shards in child processes that own their sockets; they need the
 * native binding) or `thread` (worker threads behind the main thread's sockets; the default).
 */
export function parseShardMode(ctx: Ctx, node: Node | null | undefined): 'process' | 'thread' | undefined {
  if (node === undefined) return undefined;
  const text = scalarString(ctx, node, 'global.shard_mode');
  if (text === 'process' || text === 'thread') return text;
  if (text !== undefined) ctx.error(node, 'global.shard_mode', `'${text}' must be process (shards in child processes that own their sockets) or thread (worker threads)`);
  return undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function name(ctx: Ctx, n: Node | null, p: string): string | undefined {
  const s = scalarString(ctx, n, p);
  if (s === undefined) return undefined;
  if (!NAME.test(s)) {
    ctx.error(n, p, `'${s}' must be letters, digits, '.', '_' or '-' (at most 63)`);
    return undefined;
  }
  return s;
}

/** The cluster key file: 32 bytes as 64 hex digits (e.g. `openssl rand -hex 32 > FILE`). */
function clusterKey(ctx: Ctx, n: Node | null, p: string): { file: string; key: Uint8Array } | undefined {
  const s = scalarString(ctx, n, p);
  if (s === undefined) return undefined;
  const file = resolvePath(ctx, s);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    ctx.error(n, p, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (create it with: openssl rand -hex 32 > ${file}; chmod 600 ${file}; the same file on every node)`);
    return undefined;
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    ctx.error(n, p, `${file} must hold 32 bytes as 64 hex digits (create it with: openssl rand -hex 32 > ${file})`);
    return undefined;
  }
  return { file, key: Uint8Array.from(Buffer.from(text, 'hex')) };
}

/** `ha`: absent → undefined (one node). */
export function parseHa(ctx: Ctx, node: Node | null | undefined): HaConfig | undefined {
  if (node === undefined) return undefined;
  const path = 'ha';
  const e = entries(ctx, node, path, ['store', 'cluster', 'node', 'cluster_key', 'lease', 'virtual_ip', 'interface', 'garp']);
  if (e === undefined) return undefined;
  const s = section(ctx, node, path, e);
  const storeNode = s.req('store');
  const store: string[] = [];
  for (const item of storeNode !== undefined ? stringList(ctx, storeNode.value, 'ha.store') ?? [] : []) {
    let u: URL | undefined;
    try {
      u = new URL(item.text);
    } catch {
      u = undefined;
    }
    if (u === undefined || u.protocol !== 'http:' || u.pathname !== '/') ctx.error(item.node, 'ha.store', `'${item.text}' must be an etcd client URL like http://127.0.0.1:2379`);
    else store.push(`http://${u.host}`);
  }
  const clusterN = s.req('cluster');
  const nodeN = s.req('node');
  const keyN = s.req('cluster_key');
  const vipN = s.req('virtual_ip');
  const ifN = s.req('interface');
  const cluster = clusterN ? name(ctx, clusterN.value, 'ha.cluster') : undefined;
  const self = nodeN ? name(ctx, nodeN.value, 'ha.node') : undefined;
  const key = keyN ? clusterKey(ctx, keyN.value, 'ha.cluster_key') : undefined;
  const lease = s.opt('lease', (n, p) => {
    const v = duration(ctx, n, p);
    if (v !== undefined && (v < 2 || v > 60)) {
      ctx.error(n, p, `${v}s is out of range (2s to 60s: etcd refuses shorter leases)`);
      return undefined;
    }
    return v;
  }, 2);
  let virtualIp: HaConfig['virtualIp'] | undefined;
  if (vipN) {
    const t = scalarString(ctx, vipN.value, 'ha.virtual_ip');
    const m = t !== undefined ? /^([^/]+)\/(\d{1,3})$/.exec(t) : null;
    const fam = m ? isIP(m[1]!) : 0;
    const prefix = m ? Number(m[2]) : NaN;
    if (t !== undefined && (fam === 0 || !(prefix >= 0 && prefix <= (fam === 4 ? 32 : 128)))) ctx.error(vipN.value, 'ha.virtual_ip', `'${t}' must be ADDRESS/PREFIX (e.g. 198.51.100.10/24): the gateway address the peers use`);
    else if (m) virtualIp = { address: m[1]!, prefix, family: fam as 4 | 6 };
  }
  const iface = ifN ? scalarString(ctx, ifN.value, 'ha.interface') : undefined;
  const garp = s.opt('garp', (n, p) => {
    const v = scalarString(ctx, n, p);
    if (v === 'true' || v === 'false') return v === 'true';
    ctx.error(n, p, `'${v}' must be true or false`);
    return undefined;
  }, true);
  void integer;
  if (store.length === 0 || !cluster || !self || !key || !virtualIp || !iface) return undefined;
  return { store, cluster, node: self, clusterKeyFile: key.file, clusterKey: key.key, lease, virtualIp, interface: iface, garp };
}

/**
 * The daemon must send from the virtual address: a socket on the wildcard address would answer
 * from the interface's own address, which the peer does not know. So `global.listen` names it
 * (a standby binds it before it holds it: net.ipv4.ip_nonlocal_bind = 1, docs/ha.md).
 */
export function checkHaListen(ctx: Ctx, ha: HaConfig | undefined, g: GlobalConfig, node: Node | null | undefined): void {
  if (ha === undefined || g.listen.some((l) => l.address === ha.virtualIp.address)) return;
  ctx.error(node, 'global.listen', `must list the virtual address ${ha.virtualIp.address} of ha.virtual_ip (the daemon answers from it; on a standby set net.ipv4.ip_nonlocal_bind=1 to bind it before taking it)`);
}
