/**
 * Why a file the configuration names cannot be used, in the operator's words: the error code
 * as Node gives it (ENOENT, EACCES, …) followed by what it means and what to check. One wording
 * for certificates, keys, CRLs and the updown script (config/secrets.ts, crl-files.ts,
 * preflight.ts).
 * @module
 */

/** `ENOENT (it does not exist)`, `EACCES (…)`: the code of a failed read or stat, explained. */
export function fileErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return String(err);
  switch (code) {
    case 'ENOENT':
      return 'ENOENT (it does not exist: check the path)';
    case 'ENOTDIR':
      return 'ENOTDIR (a folder on its path is a file: check the path)';
    case 'EACCES':
    case 'EPERM':
      return `${code} (permission denied: the daemon's user cannot read it; check its owner and mode, and those of its folders)`;
    case 'EISDIR':
      return 'EISDIR (it is a folder, not a file)';
    case 'ELOOP':
      return 'ELOOP (a loop of symbolic links)';
    default:
      return code;
  }
}
