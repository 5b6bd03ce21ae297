/**
 * Password hashes of the users file: scrypt (RFC 7914) through node:crypto, with its parameters in
 * the record so that they can be raised later without invalidating older lines:
 *
 *     scrypt$N$r$p$SALT$HASH        (SALT and HASH in base64, N a power of two)
 *
 * e.g. `scrypt$32768$8$1$3q2+7w...$Zm9v...`. The password is hashed as its UTF-8 bytes. Verification
 * runs on libuv's thread pool (`crypto.scrypt`), never on the daemon's loop, and compares in
 * constant time.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface PasswordHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** What `isakmp passwd` writes: 32 MiB and ~0.1–0.2 s per check on a small server. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 };

/** Bounds on what a users file may ask for (so a bad line cannot stall or exhaust the daemon). */
export const SCRYPT_LIMITS = { minN: 2, maxN: 1 << 20, maxR: 32, maxP: 16, maxMemory: 256 * 1024 * 1024, minSalt: 4, maxSalt: 64, minHash: 16, maxHash: 64 } as const;

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Checks N, r and p against the limits; an error text in the operator's words, or undefined. */
export function scryptParamsProblem(q: ScryptParams): string | undefined {
  const L = SCRYPT_LIMITS;
  if (!Number.isSafeInteger(q.N) || q.N < L.minN || q.N > L.maxN || (q.N & (q.N - 1)) !== 0) return `scrypt N must be a power of two from ${L.minN} to ${L.maxN}`;
  if (!Number.isSafeInteger(q.r) || q.r < 1 || q.r > L.maxR) return `scrypt r must be 1 to ${L.maxR}`;
  if (!Number.isSafeInteger(q.p) || q.p < 1 || q.p > L.maxP) return `scrypt p must be 1 to ${L.maxP}`;
  if (128 * q.N * q.r > L.maxMemory) return `scrypt N and r ask for ${(128 * q.N * q.r) / 2 ** 20} MiB, more than ${L.maxMemory / 2 ** 20} MiB`;
  return undefined;
}

/** Parses one hash field; the error text never repeats the field (it is secret-ish). */
export function parsePasswordHash(text: string): { ok: true; value: PasswordHash } | { ok: false; error: string } {
  const f = text.split('$');
  if (f[0] !== 'scrypt') return { ok: false, error: "the password hash does not start with 'scrypt$' (write it with: isakmp passwd)" };
  if (f.length !== 6) return { ok: false, error: "the password hash is not scrypt$N$r$p$SALT$HASH (write it with: isakmp passwd)" };
  const num = (s: string): number => (/^\d{1,8}$/.test(s) ? Number(s) : NaN);
  const params = { N: num(f[1]!), r: num(f[2]!), p: num(f[3]!) };
  const problem = scryptParamsProblem(params);
  if (problem !== undefined) return { ok: false, error: problem };
  if (!B64.test(f[4]!) || !B64.test(f[5]!)) return { ok: false, error: 'the salt and the hash must be base64' };
  const salt = Buffer.from(f[4]!, 'base64');
  const hash = Buffer.from(f[5]!, 'base64');
  const L = SCRYPT_LIMITS;
  if (salt.length < L.minSalt || salt.length > L.maxSalt) return { ok: false, error: `the salt must be ${L.minSalt} to ${L.maxSalt} bytes` };
  if (hash.length < L.minHash || hash.length > L.maxHash) return { ok: false, error: `the hash must be ${L.minHash} to ${L.maxHash} bytes` };
  return { ok: true, value: { ...params, salt, hash } };
}

function scryptAsync(password: string, salt: Buffer, keylen: number, q: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, keylen, { N: q.N, r: q.r, p: q.p, maxmem: 128 * q.N * q.r + 2 ** 20 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new record for `password` (fresh 16-byte salt, 32-byte hash). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const problem = scryptParamsProblem(params);
  if (problem !== undefined) throw new RangeError(problem);
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `password` matches `record` (constant-time comparison of the derived keys). */
export async function verifyPassword(password: string, record: PasswordHash): Promise<boolean> {
  const key = await scryptAsync(password, record.salt, record.hash.length, record);
  return timingSafeEqual(key, record.hash);
}
