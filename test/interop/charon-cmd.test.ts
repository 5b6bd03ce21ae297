/**
 * strongSwan's command-line client `charon-cmd` (Debian package charon-cmd, installed by
 * interop/install.sh) against our remote-access gateway, with its two IKEv1 remote-access
 * profiles:
 *   - `--profile ikev1-xauth-psk`: Main Mode with the group PSK (XAUTHInitPreShared), XAUTH;
 *   - `--profile ikev1-hybrid`: Hybrid (HybridInitRSA): it checks our certificate against the CA
 *     given with --cert and authenticates with XAUTH alone.
 * charon-cmd asks for the PSK ("Preshared Key:") and the XAUTH password ("EAP password:") on its
 * terminal: the test runs it under `script` (a pseudo-terminal) and answers the prompts. charon-cmd always asks for a virtual
 * address (Mode Config): our gateway leases one from its pool, and charon-cmd installs it.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, interopSkipReason, Ours, RUN, script, labUp } from './peers.js';
import { ALICE_PASSWORD, ANY_CLIENT, raYaml, usersFile } from './ra-configs.js';

const skip = interopSkipReason();
if (skip) console.log(`# charon-cmd interop skipped: ${skip}`);

const PASSWORD = ALICE_PASSWORD;
const PSK = 'charon-cmd-group-secret-5d1e8a';
const PKI = join(RUN, 'pki');
const DIR = join(RUN, 'charon-cmd');

function gatewayConfig(sock: string, users: string): string {
  const rw = (name: string, auth: 'psk' | 'hybrid', secret: string, pool: string) => ({ name, auth, secret, local: B.ip, remote: ANY_CLIENT, xauth: usersFile(users), extra: ['modecfg: pull', `pool: ${pool}`] });
  return raYaml({
    listen: B.ip,
    sock,
    secrets: { group: `{ psk: "${PSK}" }`, cert: `{ cert: ${PKI}/peer-b.crt, key: ${PKI}/peer-b.key, ca: ${PKI}/ca.crt }` },
    connections: [rw('rw-psk', 'psk', 'group', '10.10.5.0/24'), rw('rw-hybrid', 'hybrid', 'cert', '10.10.6.0/24')],
  });
}

interface CmdRun {
  readonly out: string;
  readonly matched: boolean;
  readonly prompts: string[];
}

/**
 * Runs charon-cmd in namespace isk-a under a pseudo-terminal, answers "Preshared Key:" and "EAP
 * password:" (its prompt for the XAUTH password) when asked, and stops it (SIGINT to the process
 * group we started) once `until` matches its output or after `timeoutMs`.
 */
function runCharonCmd(args: readonly string[], until: RegExp, timeoutMs = 25_000): Promise<CmdRun> {
  const conf = join(DIR, 'strongswan.conf');
  const cmd = ['charon-cmd', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('ip', ['netns', 'exec', A.ns, 'env', `STRONGSWAN_CONF=${conf}`, 'script', '-qfec', cmd, '/dev/null'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const prompts: string[] = [];
  return new Promise((resolve) => {
    let done = false;
    const finish = (matched: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
      } catch {
        /* already gone */
      }
      setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        resolve({ out, matched, prompts });
      }, 1500);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const take = (d: Buffer): void => {
      out += d.toString();
      const tail = out.slice(-200);
      if (/Preshared Key: *$/.test(tail)) {
        prompts.push('psk');
        child.stdin.write(`${PSK}\n`);
        out += '\n';
      } else if (/(EAP )?password: *$/i.test(tail)) {
        prompts.push('password');
        child.stdin.write(`${PASSWORD}\n`);
        out += '\n';
      }
      if (until.test(out)) finish(true);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', () => finish(until.test(out)));
  });
}

describe('charon-cmd IKEv1 profiles against our gateway', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    // installed by interop/install.sh: missing is a failure here, never a skip
    assert.equal(spawnSync('sh', ['-c', 'command -v charon-cmd && command -v script']).status, 0, 'charon-cmd or script missing: run interop/install.sh');
    labUp();
    mkdirSync(DIR, { recursive: true });
    // plugins of our choosing: no kernel-libipsec (it would fake a NAT), no resolve (no /etc/resolv.conf edits)
    writeFileSync(
      join(DIR, 'strongswan.conf'),
      `charon-cmd {
    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints hmac sha1 sha2 aes md5 kernel-netlink socket-default xauth-generic
    retransmit_timeout = 2.0
    retransmit_tries = 3
}
`,
    );
    const users = join(RUN, 'charon-cmd-users');
    writeFileSync(users, `alice:${await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    ours = await Ours.start('charon-cmd-gw', B.ns, (sock) => gatewayConfig(sock, users));
  });
  after(async () => {
    await ours?.stop();
    script('netns.sh', ['down']);
  });

  test('--profile ikev1-xauth-psk: group PSK, XAUTH alice, a virtual address from our pool', async () => {
    const r = await runCharonCmd(
      ['--host', B.ip, '--identity', A.ip, '--profile', 'ikev1-xauth-psk', '--xauth-username', 'alice', '--ike-proposal', 'aes256-sha256-modp2048', '--esp-proposal', 'aes128-sha256'],
      /installing new virtual IP 10\.10\.5\.1\b/,
    );
    const gw = ours!.log();
    assert.ok(r.matched, `charon-cmd got no virtual IP:\n${r.out.slice(-4000)}\n--- ours:\n${gw.slice(-3000)}`);
    assert.deepEqual(r.prompts, ['psk', 'password']);
    assert.match(r.out, /XAuth authentication of 'alice' \(myself\) successful/);
    assert.match(gw, /XAUTH: user accepted by file:/);
    assert.match(gw, /Mode Config: virtual address 10\.10\.5\.1 for user alice/);
    assert.ok(!gw.includes(PASSWORD) && !gw.includes(PSK), 'a secret leaked into our log');
  });

  test('--profile ikev1-hybrid: checks our certificate with the CA, XAUTH alice only, a virtual address', async () => {
    const r = await runCharonCmd(
      ['--host', B.ip, '--identity', A.ip, '--remote-identity', 'C=CH, O=peers-test, CN=peer-b', '--cert', join(PKI, 'ca.crt'), '--profile', 'ikev1-hybrid', '--xauth-username', 'alice', '--ike-proposal', 'aes256-sha256-modp2048', '--esp-proposal', 'aes128-sha256'],
      /installing new virtual IP 10\.10\.6\.1\b/,
    );
    const gw = ours!.log();
    assert.ok(r.matched, `charon-cmd got no virtual IP:\n${r.out.slice(-4000)}\n--- ours:\n${gw.slice(-3000)}`);
    assert.deepEqual(r.prompts, ['password'], 'Hybrid asks no PSK');
    assert.match(r.out, /authentication of 'C=CH, O=peers-test, CN=peer-b' with RSA\S* successful/);
    assert.match(r.out, /XAuth authentication of 'alice' \(myself\) successful/);
    assert.match(gw, /Mode Config: virtual address 10\.10\.6\.1 for user alice/);
    assert.ok(!gw.includes(PASSWORD), 'the password leaked into our log');
  });
});
