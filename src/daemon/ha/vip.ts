/**
 * The gateway's virtual address: added to (and removed from) an interface with `ip`, announced
 * with gratuitous ARP (`arping -U`, IPv4) so that neighbours move to the new owner at once.
 */
import { execFile } from 'node:child_process';

export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<{ code: number; err: string }>;

export const runCommand: CommandRunner = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: 5000 }, (err, _out, stderr) => {
      const code = err === null ? 0 : typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 127;
      resolve({ code, err: (stderr || (err?.message ?? '')).trim() });
    });
  });

export interface VirtualIp {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** Adds the address (idempotent); resolves to an error text or undefined. */
export async function addVirtualIp(run: CommandRunner, vip: VirtualIp, iface: string): Promise<string | undefined> {
  const r = await run('ip', [`-${vip.family}`, 'addr', 'replace', `${vip.address}/${vip.prefix}`, 'dev', iface, ...(vip.family === 6 ? ['nodad'] : [])]);
  return r.code === 0 ? undefined : `ip addr replace ${vip.address}/${vip.prefix} dev ${iface}: ${r.err}`;
}

export async function removeVirtualIp(run: CommandRunner, vip: VirtualIp, iface: string): Promise<string | undefined> {
  const r = await run('ip', [`-${vip.family}`, 'addr', 'del', `${vip.address}/${vip.prefix}`, 'dev', iface]);
  return r.code === 0 || /Cannot assign|not found|No such/i.test(r.err) ? undefined : `ip addr del ${vip.address}/${vip.prefix} dev ${iface}: ${r.err}`;
}

/** Gratuitous ARP for an IPv4 address (IPv6 neighbours learn from the unsolicited advertisement DAD-less adds send). */
export async function announce(run: CommandRunner, vip: VirtualIp, iface: string): Promise<string | undefined> {
  if (vip.family !== 4) return undefined;
  const r = await run('arping', ['-U', '-c', '2', '-w', '1', '-I', iface, vip.address]);
  // iputils arping exits 1 when no reply came, which is normal for unsolicited ARP
  if (r.code === 0 || r.code === 1) return undefined;
  return `arping -U -I ${iface} ${vip.address}: ${r.err || `exit ${r.code}`} (install iputils-arping, or neighbours keep the old owner's MAC until their ARP entry ages)`;
}
