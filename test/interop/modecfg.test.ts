/**
 * Mode Config with the real strongSwan charon, both modes and both roles, and the Quick Mode that
 * follows with the virtual address as the client's selector:
 *
 * - our client (XAUTH + `modecfg: pull`) against charon as the gateway with a pool
 *   (interop/conf/charon/xauth-gateway-modecfg-pull.conf): we get 10.20.0.1 and a CHILD_SA
 *   10.20.0.1/32 === 10.1.0.0/16;
 * - the same with charon pushing (`pull = no`, xauth-gateway-modecfg-push.conf) and our client
 *   `modecfg: push`: charon's SET, our ACK;
 * - charon as the client with `pull = no` (xauth-client-modecfg-push.conf) against our gateway with
 *   `modecfg: push`: our SET, charon's ACK, its CHILD_SA from 10.10.0.1/32.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, charon, interopSkipReason, Ours, RUN, script, until } from './peers.js';
import { ALICE, ALICE_PASSWORD, ANY_CLIENT, LAB_GROUP_SECRET, raYaml, usersFile } from './ra-configs.js';

const skip = interopSkipReason();
if (skip) console.log(`# Mode Config interop skipped: ${skip}`);

const PASSWORD = ALICE_PASSWORD;

function clientConfig(sock: string, mode: 'pull' | 'push'): string {
  const office = { name: 'office', auth: 'psk', secret: 'group', local: A.ip, remote: `{ address: ${B.ip} }`, xauth: ALICE, extra: ['remote_ts: 10.1.0.0/16', `modecfg: ${mode}`] } as const;
  return raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [office] });
}

for (const mode of ['pull', 'push'] as const) {
  describe(`our Mode Config client (${mode}) against charon's gateway with a pool`, { skip, concurrency: false }, () => {
    let ours: Ours | undefined;
    before(async () => {
      const n = script('netns.sh', ['up']);
      assert.equal(n.code, 0, n.err);
      charon.start('b', B.ns);
      charon.load('b', `xauth-gateway-modecfg-${mode}.conf`);
      ours = await Ours.start(`modecfg-client-${mode}`, A.ns, (sock) => clientConfig(sock, mode));
    });
    after(async () => {
      await ours?.stop();
      charon.stop('b');
      script('netns.sh', ['down']);
    });

    test(`we get charon's pool address and a CHILD_SA from it (${mode})`, async () => {
      const cl = ours!;
      const up = await cl.ctl({ cmd: 'up', name: 'office', timeoutMs: 15_000 });
      const sa = await until(() => charon.sas('b').find((s) => s.conn === 'modecfg-gw' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
      assert.ok(sa, `charon has no CHILD_SA: ${JSON.stringify(up)}\n${charon.tail('b')}\n--- ours:\n${cl.log().slice(-4000)}`);
      const child = sa.children.find((c) => c.state === 'INSTALLED')!;
      assert.match(child.remoteTs, /10\.20\.0\.1\/32/, 'charon sees our virtual address as our selector');
      assert.match(charon.log('b'), /assigning virtual IP 10\.20\.0\.1 to peer/);
      const status = await until(async () => {
        const s = await cl.status();
        return s.ipsec.some((q: any) => q.spiOut === child.spiIn) ? s : undefined;
      }, 5000);
      assert.ok(status, `our client does not list the IPsec SA: ${JSON.stringify(await cl.status())}`);
      const p1 = status.isakmp.find((s: any) => s.initiatorCookie === sa.ispi);
      assert.equal(p1?.remoteAccess?.virtualAddress, '10.20.0.1', JSON.stringify(status.isakmp));
      // the DNS server of charon's pool and, since both sides sent the Cisco Unity vendor ID, the
      // split include charon makes of its child's local_ts, with their values as charon sent them
      assert.deepEqual(p1.remoteAccess.values.INTERNAL_IP4_DNS, ['10.1.0.53'], JSON.stringify(p1.remoteAccess));
      assert.deepEqual(p1.remoteAccess.values.UNITY_SPLIT_INCLUDE, ['10.1.0.0/16'], JSON.stringify(p1.remoteAccess));
      assert.ok(!cl.log().includes(PASSWORD), 'the password leaked');
    });
  });
}

describe('charon pushed to (pull = no) by our gateway with modecfg: push', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    const users = join(RUN, 'modecfg-users');
    writeFileSync(users, `alice:${await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    charon.start('a', A.ns);
    charon.load('a', 'xauth-client-modecfg-push.conf');
    ours = await Ours.start(
      'modecfg-push-gw',
      B.ns,
      (sock) =>
        raYaml({
          listen: B.ip,
          sock,
          secrets: { group: LAB_GROUP_SECRET },
          connections: [
            { name: 'roadwarriors', auth: 'psk', secret: 'group', local: B.ip, remote: ANY_CLIENT, xauth: usersFile(users), extra: ['local_ts: 10.1.0.0/16', 'modecfg: push', 'pool: 10.10.0.0/24', 'dns: 10.1.0.53'] },
          ],
        }),
    );
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('charon takes our SET (10.10.0.1), ACKs it, and its Quick Mode uses the address', async () => {
    const gw = ours!;
    const up = charon.up('a', 'xauth-modecfg-push', 'ra', 15);
    const sa = await until(() => charon.sas('a').find((s) => s.conn === 'xauth-modecfg-push' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
    assert.ok(sa, `charon has no CHILD_SA:\n${up.out}\n${up.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-4000)}`);
    assert.match(charon.log('a'), /installing new virtual IP 10\.10\.0\.1/);
    assert.match(charon.log('a'), /parsed TRANSACTION request \d+ \[ HASH CPS\(/, 'charon received a SET');
    const child = sa.children.find((c) => c.state === 'INSTALLED')!;
    assert.match(child.localTs, /10\.10\.0\.1\/32/);
    const status = await gw.status();
    assert.ok(status.ipsec.some((q: any) => q.spiOut === child.spiIn && q.spiIn === child.spiOut), JSON.stringify(status.ipsec));
    assert.match(gw.log(), /Mode Config: virtual address 10\.10\.0\.1 for user alice/);
  });
});
