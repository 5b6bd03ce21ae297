/**
 * The control socket: a unix stream socket (mode 0600, in a folder made 0700 when missing)
 * carrying one JSON request line and one JSON response line per connection.
 *
 *   request:  {"cmd":"up"|"down"|"status"|"reload"|"rekey","name"?:string,"timeoutMs"?:number,"progress"?:true}\n
 *   progress: {"progress":string}\n   (zero or more, `up` with "progress": true only)
 *   response: {"ok":true,"message":string,"data"?:...}\n  or  {"ok":false,"error":string,"cause"?:string}\n
 *
 * Requests longer than MAX_REQUEST bytes, malformed JSON, unknown commands: an error response,
 * then the connection is closed. At most MAX_CLIENTS connections are served at once.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';

export const MAX_REQUEST = 4096;
export const MAX_RESPONSE = 64 * 1024 * 1024;
export const MAX_CLIENTS = 16;

export type ControlCommand = 'up' | 'down' | 'status' | 'reload' | 'rekey';

export interface ControlRequest {
  readonly cmd: ControlCommand;
  /** A connection name (up, down, rekey; status: one connection), or an SA id (rekey). */
  readonly name?: string;
  readonly timeoutMs?: number;
  /** `up`: stream progress lines before the answer. */
  readonly progress?: boolean;
}

export type ControlResponse =
  | { readonly ok: true; readonly message: string; readonly data?: unknown }
  /** `cause`: why a negotiation failed (FailureCause), for the exit code of `isakmp up`. */
  | { readonly ok: false; readonly error: string; readonly cause?: string };

/** Hears the progress lines of a request (`up`). */
export type ProgressSink = (line: string) => void;

/** Validates a parsed request; returns an error text or the request. */
export function parseRequest(line: string): ControlRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'request is not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'request must be a JSON object';
  const o = v as Record<string, unknown>;
  const cmd = o.cmd;
  if (cmd !== 'up' && cmd !== 'down' && cmd !== 'status' && cmd !== 'reload' && cmd !== 'rekey') return `unknown command ${JSON.stringify(cmd)} (up, down, status, reload, rekey)`;
  const out: { cmd: ControlCommand; name?: string; timeoutMs?: number; progress?: boolean } = { cmd };
  if (cmd === 'up' || cmd === 'down' || cmd === 'rekey') {
    if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 64) return `${cmd} needs a connection name${cmd === 'rekey' ? ' or SA id' : ''}`;
    out.name = o.name;
  } else if (cmd === 'status' && o.name !== undefined) {
    if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 64) return 'status takes at most one connection name';
    out.name = o.name;
  }
  if (o.progress !== undefined) {
    if (typeof o.progress !== 'boolean') return 'progress must be true or false';
    if (o.progress) out.progress = true;
  }
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== 'number' || !Number.isInteger(o.timeoutMs) || o.timeoutMs < 0 || o.timeoutMs > 600_000) return 'timeoutMs must be an integer 0..600000';
    out.timeoutMs = o.timeoutMs;
  }
  return out;
}

/** Answers a request; `progress` writes a progress line before the answer (when the client asked for them). */
export type ControlHandler = (req: ControlRequest, progress: ProgressSink) => Promise<ControlResponse>;

export class ControlServer {
  private server: Server | undefined;
  private clients = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  async start(): Promise<void> {
    // The socket's folder (/run/isakmp by default) is made when missing, private to us (0700).
    const folder = dirname(this.path);
    if (!existsSync(folder)) {
      try {
        mkdirSync(folder, { recursive: true, mode: 0o700 });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new UsageError('ISAKMP_ERR_CONTROL', `cannot create the control socket's folder ${folder}: ${code} (run as root, or set global.control_socket to a writable path)`);
      }
    } else if (!statSync(folder).isDirectory()) {
      throw new UsageError('ISAKMP_ERR_CONTROL', `the control socket's folder ${folder} is not a folder (remove it, or set global.control_socket)`);
    }
    // A stale socket from a crashed daemon is removed, but only if nothing answers on it.
    if (existsSync(this.path)) {
      if (!lstatSync(this.path).isSocket()) {
        throw new UsageError('ISAKMP_ERR_CONTROL', `control socket path ${this.path} exists and is not a socket: remove it or set global.control_socket`);
      }
      const alive = await new Promise<boolean>((resolve) => {
        const s = createConnection(this.path);
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (alive) throw new UsageError('ISAKMP_ERR_CONTROL', `another daemon answers on ${this.path}: stop it first, or use another control_socket`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => this.serve(sock));
    server.maxConnections = MAX_CLIENTS;
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new UsageError('ISAKMP_ERR_CONTROL', `cannot listen on control socket ${this.path}: ${err.code ?? err.message}`)),
        );
        server.listen(this.path, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private serve(sock: Socket): void {
    this.clients.add(sock);
    sock.on('close', () => this.clients.delete(sock));
    sock.setEncoding('utf8');
    let buf = '';
    let done = false;
    const reply = (r: ControlResponse): void => {
      if (done) return;
      done = true;
      sock.end(JSON.stringify(r) + '\n');
    };
    sock.setTimeout(10_000, () => {
      if (buf.indexOf('\n') < 0) {
        reply({ ok: false, error: 'no request line within 10 s' });
      }
    });
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST) reply({ ok: false, error: `request longer than ${MAX_REQUEST} bytes` });
        return;
      }
      if (nl > MAX_REQUEST) {
        reply({ ok: false, error: `request longer than ${MAX_REQUEST} bytes` });
        return;
      }
      sock.setTimeout(0);
      const req = parseRequest(buf.slice(0, nl));
      if (typeof req === 'string') {
        reply({ ok: false, error: req });
        return;
      }
      const progress: ProgressSink = (line) => {
        if (!done && req.progress === true && !sock.destroyed) sock.write(JSON.stringify({ progress: line }) + '\n');
      };
      this.handler(req, progress).then(reply, (err: unknown) => {
        this.onError(`control ${req.cmd}: ${(err as Error).message}`);
        reply({ ok: false, error: (err as Error).message });
      });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.clients) c.destroy();
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Sends one request and waits for the response line; progress lines before it (`up` with
 * `progress: true`) go to `onProgress`. Rejects with UsageError on transport problems.
 */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 60_000, onProgress?: ProgressSink): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    let settled = false;
    const fail = (msg: string): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(new UsageError('ISAKMP_ERR_CONTROL', msg));
    };
    const timer = setTimeout(() => fail(`no answer from the daemon on ${path} within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `no daemon listening on ${path} (start it with 'isakmp daemon', or pass --socket)`
          : err.code === 'EACCES'
            ? `permission denied on ${path} (the control socket is mode 0600: run as the daemon's user)`
            : `control socket ${path}: ${err.message}`;
      fail(why);
    });
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_RESPONSE) fail('response from the daemon is too long');
      // progress lines as they come (the answer is the first line without "progress")
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        let p: unknown;
        try {
          p = JSON.parse(line);
        } catch {
          return;
        }
        if (typeof p !== 'object' || p === null || typeof (p as { progress?: unknown }).progress !== 'string') return;
        onProgress?.((p as { progress: string }).progress);
        buf = buf.slice(nl + 1);
      }
    });
    sock.on('end', () => {
      clearTimeout(timer);
      if (settled) return;
      const line = buf.split('\n')[0] ?? '';
      try {
        const v = JSON.parse(line) as ControlResponse;
        settled = true;
        resolve(v);
      } catch {
        fail('malformed response from the daemon');
      }
    });
  });
}
