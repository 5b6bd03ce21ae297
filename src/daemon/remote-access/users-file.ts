/**
 * The users file (docs/remote-access.md), one user per line:
 *
 *     # comment
 *     USER:scrypt$N$r$p$SALT$HASH
 *     USER:scrypt$N$r$p$SALT$HASH:address=10.10.0.50 netmask=255.255.255.0
 *
 * USER is what the client sends as XAUTH USER_NAME: 1–253 bytes of UTF-8, no ':', no control
 * character, no space at either end, not starting with '#'. The optional third field holds
 * `key=value` attributes separated by spaces: `address` (a fixed virtual address, given instead of
 * one from the pool) and `netmask`. Blank lines and lines starting with '#' are ignored; a line
 * may end in CRLF. Problems are reported with the line number and never with the line itself.
 */
import { canonicalAddress } from './address-range.js';
import { parsePasswordHash, type PasswordHash } from './password-hash.js';

export interface UserEntry {
  readonly user: string;
  readonly hash: PasswordHash;
  readonly address?: string;
  readonly netmask?: string;
  readonly line: number;
}

export interface UsersFileProblem {
  readonly line: number;
  readonly message: string;
}

/** Where `isakmp passwd` writes when no --file is given. */
export const DEFAULT_USERS_FILE = '/etc/isakmp/users';

/** The largest users file read (a bound, not a target: 64 MiB is ~300,000 users). */
export const MAX_USERS_FILE_BYTES = 64 * 1024 * 1024;

export const USER_ATTRIBUTES = ['address', 'netmask'] as const;

/** Why `user` cannot be a user name of the file, or undefined when it can. */
export function userNameProblem(user: string): string | undefined {
  if (user.length === 0) return 'the user name is empty';
  if (Buffer.byteLength(user, 'utf8') > 253) return 'the user name is longer than 253 bytes';
  if (user.includes(':')) return "the user name contains ':'";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(user)) return 'the user name contains a control character';
  if (user.trim() !== user) return 'the user name starts or ends with a space';
  if (user.startsWith('#')) return "the user name starts with '#'";
  return undefined;
}

/** The user name of a line (what comes before the first ':'), or undefined for blank and comment lines. */
export function lineUser(line: string): string | undefined {
  const l = line.replace(/\r$/, '');
  if (l.trim() === '' || l.trimStart().startsWith('#')) return undefined;
  const colon = l.indexOf(':');
  return colon < 0 ? l : l.slice(0, colon);
}

export function parseUserAttributes(text: string): { ok: true; address?: string; netmask?: string } | { ok: false; error: string } {
  const out: { address?: string; netmask?: string } = {};
  for (const item of text.split(/[ \t]+/).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    if (!(USER_ATTRIBUTES as readonly string[]).includes(key)) return { ok: false, error: `unknown attribute '${key}' (known: ${USER_ATTRIBUTES.join(', ')})` };
    if (out[key as 'address' | 'netmask'] !== undefined) return { ok: false, error: `attribute '${key}' given twice` };
    const address = canonicalAddress(value);
    if (address === undefined) return { ok: false, error: `${key}: '${value}' is not an IPv4 or IPv6 address` };
    out[key as 'address' | 'netmask'] = address;
  }
  return { ok: true, ...out };
}

/** Parses the whole file: the users by name, and every problem found (each with its line). */
export function parseUsersFile(text: string): { users: Map<string, UserEntry>; problems: UsersFileProblem[] } {
  const users = new Map<string, UserEntry>();
  const problems: UsersFileProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const l = lines[i]!.replace(/\r$/, '');
    if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
    const first = l.indexOf(':');
    if (first < 0) {
      problems.push({ line: lineNo, message: 'expected USER:HASH[:ATTRIBUTES] (write it with: isakmp passwd)' });
      continue;
    }
    const user = l.slice(0, first);
    const userProblem = userNameProblem(user);
    if (userProblem !== undefined) {
      problems.push({ line: lineNo, message: userProblem });
      continue;
    }
    const rest = l.slice(first + 1);
    const second = rest.indexOf(':');
    const hashText = second < 0 ? rest : rest.slice(0, second);
    const hash = parsePasswordHash(hashText.trim());
    if (!hash.ok) {
      problems.push({ line: lineNo, message: `user '${user}': ${hash.error}` });
      continue;
    }
    const attrs = parseUserAttributes(second < 0 ? '' : rest.slice(second + 1));
    if (!attrs.ok) {
      problems.push({ line: lineNo, message: `user '${user}': ${attrs.error}` });
      continue;
    }
    const earlier = users.get(user);
    if (earlier !== undefined) {
      problems.push({ line: lineNo, message: `user '${user}' is already on line ${earlier.line}` });
      continue;
    }
    users.set(user, {
      user,
      hash: hash.value,
      line: lineNo,
      ...(attrs.address !== undefined ? { address: attrs.address } : {}),
      ...(attrs.netmask !== undefined ? { netmask: attrs.netmask } : {}),
    });
  }
  return { users, problems };
}

/**
 * The file's text with `user`'s line set to `hash` (its attributes kept, or replaced when given),
 * appended when the user has no line; every other line is kept as it is.
 */
export function setUserLine(text: string, user: string, hash: string, attributes?: string): string {
  const lines = text === '' ? [] : text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let found = false;
  const out: string[] = [];
  for (const line of lines) {
    if (lineUser(line) !== user) {
      out.push(line);
      continue;
    }
    if (found) continue; // a duplicate line of the same user goes
    found = true;
    const l = line.replace(/\r$/, '');
    const parts = l.split(':');
    const kept = attributes ?? (parts.length > 2 ? parts.slice(2).join(':') : '');
    out.push(kept.trim() !== '' ? `${user}:${hash}:${kept.trim()}` : `${user}:${hash}`);
  }
  if (!found) out.push(attributes !== undefined && attributes.trim() !== '' ? `${user}:${hash}:${attributes.trim()}` : `${user}:${hash}`);
  return out.join('\n') + '\n';
}

/** The file's text without `user`'s line(s). */
export function removeUserLine(text: string, user: string): { text: string; removed: boolean } {
  const lines = text.split('\n');
  const kept = lines.filter((l) => lineUser(l) !== user);
  return { text: kept.join('\n'), removed: kept.length !== lines.length };
}
