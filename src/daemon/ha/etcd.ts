/**
 * A small etcd v3 client over etcd's JSON gateway (HTTP/1.1, `POST /v3/...`, keys and values in
 * base64), enough for failover (docs/ha.md): leases (grant, keep-alive, revoke), puts and deletes
 * in transactions guarded by a comparison, range reads by prefix. No dependency: node:http with
 * a keep-alive agent. Several endpoints: a request that cannot reach one tries the next.
 */
import { Agent, request } from 'node:http';

export class EtcdError extends Error {}

export type Compare =
  | { readonly key: string; readonly target: 'CREATE'; readonly createRevision: number }
  | { readonly key: string; readonly target: 'VALUE'; readonly value: string };

export type Op = { readonly put: string; readonly value: string | Buffer; readonly lease?: string } | { readonly del: string };

export interface Kv {
  readonly key: string;
  readonly value: Buffer;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/** The key just after every key starting with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export class Etcd {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  private current = 0;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly timeoutMs = 2000,
  ) {}

  private once(base: string, path: string, body: unknown): Promise<any> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            reject(new EtcdError(`${base}${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
            return;
          }
          if (res.statusCode !== 200 || json.error !== undefined) reject(new EtcdError(`${base}${path}: ${json.error ?? json.message ?? `HTTP ${res.statusCode}`}`));
          else resolve(json);
        });
      });
      req.on('timeout', () => req.destroy(new EtcdError(`${base}${path}: no answer in ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof EtcdError ? err : new EtcdError(`${base}${path}: ${err.message}`)));
      req.end(data);
    });
  }

  /** One request, to the endpoint that answered last, then to the others in turn. */
  async call(path: string, body: unknown): Promise<any> {
    let last: Error | undefined;
    for (let k = 0; k < this.endpoints.length; k++) {
      const i = (this.current + k) % this.endpoints.length;
      try {
        const r = await this.once(this.endpoints[i]!, path, body);
        this.current = i;
        return r;
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new EtcdError('no etcd endpoint');
  }

  /** A lease of `ttl` seconds: its id (decimal text, as etcd writes int64). */
  async grant(ttl: number): Promise<string> {
    const r = await this.call('/v3/lease/grant', { TTL: ttl });
    return String(r.ID);
  }

  /** Keeps a lease alive; false when it is gone (expired or revoked). */
  async keepAlive(lease: string): Promise<boolean> {
    const r = await this.call('/v3/lease/keepalive', { ID: lease });
    return Number(r.result?.TTL ?? 0) > 0;
  }

  async revoke(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease });
  }

  /** Runs `ops` if every comparison holds; true when they ran. */
  async txn(compare: readonly Compare[], ops: readonly Op[]): Promise<boolean> {
    const r = await this.call('/v3/kv/txn', {
      compare: compare.map((c) =>
        c.target === 'CREATE'
          ? { key: b64(c.key), result: 'EQUAL', target: 'CREATE', create_revision: String(c.createRevision) }
          : { key: b64(c.key), result: 'EQUAL', target: 'VALUE', value: b64(c.value) },
      ),
      success: ops.map((o) => ('put' in o ? { request_put: { key: b64(o.put), value: b64(o.value), ...(o.lease !== undefined ? { lease: o.lease } : {}) } } : { request_delete_range: { key: b64(o.del) } })),
    });
    return r.succeeded === true;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const r = await this.call('/v3/kv/range', { key: b64(key) });
    const kv = r.kvs?.[0];
    return kv ? Buffer.from(kv.value ?? '', 'base64') : undefined;
  }

  /** Every key under `prefix` (paged, `page` keys a request). */
  async prefix(prefix: string, page = 1000): Promise<Kv[]> {
    const out: Kv[] = [];
    const end = b64(prefixEnd(prefix));
    let from = b64(prefix);
    for (;;) {
      const r = await this.call('/v3/kv/range', { key: from, range_end: end, limit: page });
      const kvs: any[] = r.kvs ?? [];
      for (const kv of kvs) out.push({ key: Buffer.from(kv.key, 'base64').toString('utf8'), value: Buffer.from(kv.value ?? '', 'base64') });
      if (r.more !== true || kvs.length === 0) return out;
      from = b64(Buffer.concat([Buffer.from(kvs[kvs.length - 1].key, 'base64'), Buffer.from([0])]));
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
