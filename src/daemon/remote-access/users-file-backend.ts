/**
 * The users-file XAUTH backend: users and scrypt hashes from a file written by `isakmp passwd`
 * (format in users-file.ts). The file is read when the backend is made (problems throw, each with
 * its line number), and read again before a check whenever it changed on disk (inode, size, times):
 * `isakmp passwd` takes effect without a reload. A change that no longer parses is logged with its
 * line numbers and the users read before stay in force, so a half-edited file locks nobody out.
 *
 * An unknown user costs the same scrypt work as a wrong password (no timing oracle on user names).
 * Passwords are never logged and never part of a result.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { noBackendLog, type BackendLog } from './backend-log.js';
import { verifyPassword, DEFAULT_SCRYPT, type PasswordHash } from './password-hash.js';
import { MAX_USERS_FILE_BYTES, parseUsersFile, type UserEntry } from './users-file.js';
import type { XauthBackend, XauthRequest, XauthResult } from './types.js';

export interface UsersFileBackendOptions {
  /** Where re-read problems and mode warnings go (default: nowhere). */
  readonly log?: BackendLog;
  /** Checks running at once (each is one scrypt on the thread pool); more are refused. Default 16. */
  readonly maxConcurrent?: number;
}

export interface UsersFileBackend extends XauthBackend {
  /** Reads the file now (e.g. on `isakmp reload`); throws a `UsageError` with line numbers. */
  reload(): void;
  /** How many users are in force. */
  readonly users: number;
}

type Signature = string;

function signatureOf(s: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): Signature {
  return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

function problemsError(path: string, problems: readonly { line: number; message: string }[]): UsageError {
  return new UsageError('users-file', problems.map((p) => `${path}:${p.line}: ${p.message}`).join('\n'));
}

function readUsersSync(path: string): { users: Map<string, UserEntry>; signature: Signature; mode: number } {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (e) {
    throw new UsageError('users-file', `${path}: cannot read the users file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create it with: isakmp passwd --file ${path} USER`);
  }
  if (!st.isFile()) throw new UsageError('users-file', `${path}: the users file is not a regular file`);
  if (st.size > BigInt(MAX_USERS_FILE_BYTES)) throw new UsageError('users-file', `${path}: the users file is larger than ${MAX_USERS_FILE_BYTES / 2 ** 20} MiB`);
  const { users, problems } = parseUsersFile(readFileSync(path, 'utf8'));
  if (problems.length > 0) throw problemsError(path, problems);
  return { users, signature: signatureOf(st), mode: Number(st.mode & 0o777n) };
}

class UsersFile implements UsersFileBackend {
  readonly name: string;
  private table: Map<string, UserEntry>;
  private signature: Signature;
  private refreshing: Promise<void> | undefined;
  private lastProblem: Signature | undefined;
  private inFlight = 0;
  private closed = false;
  private readonly log: BackendLog;
  private readonly maxConcurrent: number;

  constructor(private readonly path: string, opts: UsersFileBackendOptions) {
    this.name = `file:${path}`;
    this.log = opts.log ?? noBackendLog;
    this.maxConcurrent = opts.maxConcurrent ?? 16;
    const r = readUsersSync(path);
    this.table = r.users;
    this.signature = r.signature;
    if ((r.mode & 0o077) !== 0) {
      this.log('warn', `users file ${path} can be read by other users (mode ${r.mode.toString(8).padStart(4, '0')}): its password hashes can be attacked offline; chmod 600 it`, { backend: this.name });
    }
  }

  get users(): number {
    return this.table.size;
  }

  reload(): void {
    const r = readUsersSync(this.path);
    this.table = r.users;
    this.signature = r.signature;
    this.lastProblem = undefined;
  }

  /** Reads the file again when it changed since the last read; keeps the old table on a problem. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    let sig: Signature;
    try {
      const st = await stat(this.path, { bigint: true });
      sig = signatureOf(st);
      if (sig === this.signature) return;
      if (st.size > BigInt(MAX_USERS_FILE_BYTES)) throw new Error(`larger than ${MAX_USERS_FILE_BYTES / 2 ** 20} MiB`);
      const { users, problems } = parseUsersFile(await readFile(this.path, 'utf8'));
      if (problems.length > 0) {
        if (this.lastProblem !== sig) {
          this.lastProblem = sig;
          for (const p of problems) this.log('error', `users file ${this.path}:${p.line}: ${p.message}; still using the ${this.table.size} users read before`, { backend: this.name });
        }
        return;
      }
      this.table = users;
      this.signature = sig;
      this.lastProblem = undefined;
      this.log('info', `users file ${this.path} read again: ${users.size} users`, { backend: this.name });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (this.lastProblem !== `error:${why}`) {
        this.lastProblem = `error:${why}`;
        this.log('error', `users file ${this.path} cannot be read (${why}); still using the ${this.table.size} users read before`, { backend: this.name });
      }
    }
  }

  /** A record no password matches, with the cost of the file's records. */
  private decoy(): PasswordHash {
    const first = this.table.values().next().value?.hash ?? { ...DEFAULT_SCRYPT, hash: Buffer.alloc(32) };
    return { N: first.N, r: first.r, p: first.p, salt: randomBytes(16), hash: randomBytes(first.hash.length) };
  }

  async authenticate(req: XauthRequest): Promise<XauthResult> {
    const fail = (reason: string): XauthResult => ({ ok: false, reason, backend: this.name });
    if (this.closed) return fail('the users file backend is closed');
    if (this.inFlight >= this.maxConcurrent) return fail(`too many password checks in progress (${this.maxConcurrent}); the client may retry`);
    this.inFlight++;
    try {
      await this.refresh();
      const entry = this.table.get(req.user);
      const matches = await verifyPassword(req.password, entry?.hash ?? this.decoy());
      if (entry === undefined) return fail(`no user '${req.user}' in ${this.path}`);
      if (!matches) return fail(`wrong password for user '${req.user}'`);
      return {
        ok: true,
        backend: this.name,
        ...(entry.address !== undefined ? { framedIp: entry.address } : {}),
        ...(entry.netmask !== undefined ? { framedNetmask: entry.netmask } : {}),
      };
    } catch (e) {
      // scrypt itself failing (out of memory): the check fails, the daemon goes on
      return fail(`the password check failed: ${(e as Error).message}`);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.refreshing;
  }
}

/**
 * The users-file backend for `path`. Throws a `UsageError` naming the file (and every malformed
 * line by number) when it cannot be used.
 */
export function createUsersFileBackend(path: string, opts: UsersFileBackendOptions = {}): UsersFileBackend {
  return new UsersFile(path, opts);
}
