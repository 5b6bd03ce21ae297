/**
 * vpnc, the Cisco-style IKEv1 client, started by the interop tests in namespace isk-a against the
 * gateway at 198.18.0.2 (directly, or through the NAT of `netns.sh up nat`): its config file, the
 * vpnc-script stand-in that records what vpnc hands its script, a clean stop.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, RUN, stopProcess } from './peers.js';
import { ALICE_PASSWORD } from './ra-configs.js';

export const GROUP = 'vpngroup';
export const PSK = 'vpnc-group-secret-7c41e2';
export const VPNC_DIR = join(RUN, 'vpnc');
const DIR = VPNC_DIR;

/** The vpnc-script stand-in: records the environment vpnc gives it and brings the tun up. */
const SCRIPT = `#!/bin/sh
env | grep -E '^(reason|TUNDEV|VPNGATEWAY|INTERNAL_IP4_|CISCO_)' | sort > "${DIR}/env.tmp"
mv "${DIR}/env.tmp" "${DIR}/env.$reason"
if [ "$reason" = connect ]; then
    ip link set dev "$TUNDEV" up
    ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
fi
exit 0
`;

export interface Vpnc {
  readonly proc: ChildProcess;
  out: string;
}

/** Starts vpnc in namespace isk-a with a config file: `lines` are its settings beyond the common ones. */
export function startVpnc(group: string, lines: readonly string[], secrets: { psk?: string; password?: string } = {}): Vpnc {
  for (const r of ['connect', 'disconnect', 'pre-init']) rmSync(join(DIR, `env.${r}`), { force: true });
  const conf = join(DIR, 'vpnc.conf');
  writeFileSync(
    conf,
    [
      `IPSec gateway ${B.ip}`,
      `IPSec ID ${group}`,
      `IPSec secret ${secrets.psk ?? PSK}`,
      'Xauth username alice',
      `Xauth password ${secrets.password ?? ALICE_PASSWORD}`,
      'Interface name tun-vpnc',
      `Script ${join(DIR, 'script.sh')}`,
      `Pidfile ${join(DIR, 'vpnc.pid')}`,
      'No Detach',
      'Debug 1',
      ...lines,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // stdbuf: vpnc's printf output line by line (a pipe would hold it until vpnc exits)
  const proc = spawn('ip', ['netns', 'exec', A.ns, 'stdbuf', '-oL', '-eL', 'vpnc', '--non-inter', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const v: Vpnc = { proc, out: '' };
  proc.stdout!.on('data', (d: Buffer) => (v.out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (v.out += d.toString()));
  return v;
}

/** SIGTERM (vpnc sends its Deletes and runs the script's disconnect), bounded wait, then SIGKILL. */
export function stopVpnc(v: Vpnc): Promise<void> {
  // `ip netns exec` and stdbuf exec vpnc: the child is vpnc itself
  return stopProcess(v.proc, 5000);
}

/** The environment vpnc handed its script for `reason`, as a map (undefined until it ran). */
export function scriptEnv(reason: string): Map<string, string> | undefined {
  const f = join(DIR, `env.${reason}`);
  if (!existsSync(f)) return undefined;
  const m = new Map<string, string>();
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** The lab up (`up`: labUp, natLabUp), vpnc's script in place, the users file (alice): its path. */
export async function prepareVpnc(up: () => void): Promise<string> {
  // installed by interop/install.sh: missing is a failure here, never a skip
  assert.equal(spawnSync('sh', ['-c', 'command -v vpnc']).status, 0, 'vpnc missing: run interop/install.sh');
  up();
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'script.sh'), SCRIPT, { mode: 0o755 });
  const users = join(RUN, 'vpnc-users');
  writeFileSync(users, `alice:${await hashPassword(ALICE_PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
  return users;
}
