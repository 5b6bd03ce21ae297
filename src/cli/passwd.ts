/**
 * `isakmp passwd [--file FILE] [--stdin] [--address A] [--netmask M] [--scrypt-n N] USER`
 * `isakmp passwd [--file FILE] --delete USER`
 *
 * Sets USER's password in the users file (docs/remote-access.md): asked twice on the terminal
 * without echo, or read as the first line of the standard input with --stdin. The file is replaced
 * atomically (a temporary file in the same folder, fsync, rename) with mode 0600; every other line
 * is kept as it is. The password never appears in an argument, a message or a log.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fchmodSync, fchownSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_SCRYPT, hashPassword, scryptParamsProblem } from '../daemon/remote-access/password-hash.js';
import { DEFAULT_USERS_FILE, lineUser, MAX_USERS_FILE_BYTES, parseUserAttributes, removeUserLine, setUserLine, userNameProblem } from '../daemon/remote-access/users-file.js';
import { flagOption, stringOption, type ParsedArgs } from './args.js';
import type { Output } from './decode.js';

const MAX_PASSWORD_BYTES = 1024;

class PasswdError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** The first line of the standard input (without its line ending), bounded. */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (chunk.includes(0x0a) || size > MAX_PASSWORD_BYTES + 2) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const nl = text.indexOf('\n');
  return (nl >= 0 ? text.slice(0, nl) : text).replace(/\r$/, '');
}

/** One line typed on the terminal, not echoed (raw mode; backspace and ^U edit, ^C cancels). */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let typed = '';
    // echo off before the prompt shows: what is typed as soon as it appears is not echoed
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new PasswdError('cancelled', 130));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch === '\u0015') typed = '';
        else if (ch >= ' ' && Buffer.byteLength(typed, 'utf8') <= MAX_PASSWORD_BYTES) typed += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readPassword(fromStdin: boolean, user: string): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = await readStdinLine();
  } else {
    if (!process.stdin.isTTY) throw new PasswdError('the standard input is not a terminal: give --stdin to read the password from it', 2);
    password = await readHidden(`Password for ${user}: `);
    const again = await readHidden('Retype it: ');
    if (again !== password) throw new PasswdError('the two passwords differ; nothing changed');
  }
  if (password === '') throw new PasswdError('the password is empty; nothing changed');
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw new PasswdError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes; nothing changed`);
  return password;
}

/** Replaces `file` with `text`: temporary file (0600, the old owner kept), fsync, rename, fsync of the folder. */
function writeAtomically(file: string, text: string): void {
  const target = existsSync(file) ? realpathSync(file) : file;
  const old = existsSync(target) ? statSync(target) : undefined;
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600);
    if (old !== undefined && process.getuid?.() === 0 && (old.uid !== 0 || old.gid !== 0)) fchownSync(fd, old.uid, old.gid);
    const data = Buffer.from(text, 'utf8');
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  try {
    const dfd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // a folder that cannot be opened for fsync (some file systems): the rename is done
  }
}

function readExisting(file: string): string {
  if (!existsSync(file)) return '';
  const st = statSync(file);
  if (!st.isFile()) throw new PasswdError(`${file} is not a regular file`);
  if (st.size > MAX_USERS_FILE_BYTES) throw new PasswdError(`${file} is larger than ${MAX_USERS_FILE_BYTES / 2 ** 20} MiB`);
  return readFileSync(file, 'utf8');
}

/** `a`: parsed by run.ts against the passwd entry of the command table (commands.ts). */
export async function runPasswd(a: ParsedArgs, io: Output): Promise<number> {
  const values = {
    file: stringOption(a, 'file'),
    stdin: flagOption(a, 'stdin'),
    address: stringOption(a, 'address'),
    netmask: stringOption(a, 'netmask'),
    'scrypt-n': stringOption(a, 'scrypt-n'),
    delete: flagOption(a, 'delete'),
  };
  const positionals = a.positionals;
  if (positionals.length !== 1) {
    io.err('isakmp passwd: give exactly one user name (isakmp passwd [--file FILE] [--stdin] USER)');
    return 2;
  }
  const user = positionals[0]!;
  const file = values.file ?? DEFAULT_USERS_FILE;
  const problem = userNameProblem(user);
  if (problem !== undefined) {
    io.err(`isakmp passwd: ${problem}`);
    return 2;
  }
  try {
    if (values.delete === true) {
      if (values.stdin === true || values.address !== undefined || values.netmask !== undefined) throw new PasswdError('--delete takes only --file and the user name', 2);
      const r = removeUserLine(readExisting(file), user);
      if (!r.removed) throw new PasswdError(`no user '${user}' in ${file}`);
      writeAtomically(file, r.text);
      io.out(`${user} removed from ${file}`);
      return 0;
    }
    let attributes: string | undefined;
    if (values.address !== undefined || values.netmask !== undefined) {
      attributes = [values.address !== undefined ? `address=${values.address}` : '', values.netmask !== undefined ? `netmask=${values.netmask}` : ''].filter((s) => s !== '').join(' ');
      const a = parseUserAttributes(attributes);
      if (!a.ok) throw new PasswdError(a.error.replace(/^(address|netmask):/, '--$1:'), 2);
    }
    const params = { ...DEFAULT_SCRYPT };
    if (values['scrypt-n'] !== undefined) {
      params.N = /^\d{1,8}$/.test(values['scrypt-n']) ? Number(values['scrypt-n']) : NaN;
      const p = scryptParamsProblem(params);
      if (p !== undefined) throw new PasswdError(`--scrypt-n: ${p}`, 2);
    }
    const before = readExisting(file); // fail early, before the password is typed
    const password = await readPassword(values.stdin === true, user);
    const hash = await hashPassword(password, params);
    const existed = before.split('\n').some((l) => lineUser(l) === user);
    writeAtomically(file, setUserLine(readExisting(file), user, hash, attributes));
    io.out(`${user} ${existed ? 'updated in' : 'added to'} ${file}`);
    return 0;
  } catch (e) {
    if (e instanceof PasswdError) {
      io.err(`isakmp passwd: ${e.message}`);
      return e.exitCode;
    }
    const err = e as NodeJS.ErrnoException;
    io.err(`isakmp passwd: ${file}: ${err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied (run it as the user that owns the file, or root)' : err.code === 'ENOENT' ? 'its folder does not exist' : err.message}`);
    return 1;
  }
}
