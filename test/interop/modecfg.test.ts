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
 *   `modecfg: push`: our SET, charon's ACK, its CHILD_SA from 10.10.0.1/32;
 * - charon pulling (xauth-client-modecfg.conf) against our pushing gateway: its REQUEST crosses our
 *   SET and is answered (REPLY), its CHILD_SA from the same address;
 * - our push client against charon's pulling gateway, which never pushes: after 30 s the failure
 *   is named in our log and our Delete ends charon's IKE_SA.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { A, B, charon, interopSkipReason, Ours, script, until } from './peers.js';
import { ALICE, ALICE_PASSWORD, LAB_GROUP_SECRET, charonClientOfOurGateway, charonUpInstalled, raYaml } from './ra-configs.js';

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
      if (mode === 'push') {
        // charon's SET and our ACK under its message ID, and no REQUEST of ours
        assert.match(charon.log('b'), /generating TRANSACTION request (\d+) \[ HASH CPS\(/);
        assert.match(charon.log('b'), /parsed TRANSACTION response \d+ \[ HASH CPA\(/);
        assert.doesNotMatch(charon.log('b'), /parsed TRANSACTION request \d+ \[ HASH CPRQ\(/);
      }
    });
  });
}

describe('our push client against charon\'s pulling gateway (it never pushes)', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    charon.start('b', B.ns);
    charon.load('b', 'xauth-gateway-modecfg-pull.conf');
    ours = await Ours.start('modecfg-client-never-pushed', A.ns, (sock) => clientConfig(sock, 'push'));
  });
  after(async () => {
    await ours?.stop();
    charon.stop('b');
    script('netns.sh', ['down']);
  });

  test('30 s after XAUTH our log names the failure and what to check; our Delete ends charon\'s IKE_SA', async () => {
    const cl = ours!;
    void cl.ctl({ cmd: 'up', name: 'office', timeoutMs: 5000 });
    const xauthDone = await until(() => charon.sas('b').find((s) => s.conn === 'modecfg-gw' && s.state === 'ESTABLISHED'), 10_000);
    assert.ok(xauthDone, `charon has no IKE_SA: ${charon.tail('b')}`);
    const named = await until(() => /Mode Config push: the gateway sent no Mode Config SET within 30 s of XAUTH: check that it pushes/.test(cl.log()), 40_000, 500);
    assert.ok(named, cl.log().slice(-3000));
    const gone = await until(() => (charon.sas('b').some((s) => s.conn === 'modecfg-gw') ? undefined : true), 5000);
    assert.ok(gone, `charon kept its IKE_SA: ${charon.tail('b')}`);
    assert.match(charon.log('b'), /received DELETE for IKE_SA/);
    assert.equal((await cl.status()).ipsec.length, 0);
  });
});

describe('charon pushed to (pull = no) by our gateway with modecfg: push', { skip, concurrency: false }, () => {
  const ours = charonClientOfOurGateway('xauth-client-modecfg-push.conf', 'modecfg-push-gw', ['dns: 10.1.0.53'], 'push');

  test('charon takes our SET (10.10.0.1), ACKs it, and its Quick Mode uses the address', async () => {
    const gw = ours();
    const { child } = await charonUpInstalled(gw, 'xauth-modecfg-push');
    assert.match(charon.log('a'), /installing new virtual IP 10\.10\.0\.1/);
    assert.match(charon.log('a'), /parsed TRANSACTION request \d+ \[ HASH CPS\(/, 'charon received a SET');
    assert.match(child.localTs, /10\.10\.0\.1\/32/);
    const status = await gw.status();
    assert.ok(status.ipsec.some((q: any) => q.spiOut === child.spiIn && q.spiIn === child.spiOut), JSON.stringify(status.ipsec));
    assert.match(gw.log(), /Mode Config: virtual address 10\.10\.0\.1 for user alice/);
    // our SET with its identifier echoed in charon's ACK (an ACK under another one is refused)
    assert.match(charon.log('a'), /generating TRANSACTION response \d+ \[ HASH CPA\(/);
    assert.doesNotMatch(gw.log(), /carries identifier/);
  });
});

describe('charon pulling (vips = 0.0.0.0) against our gateway with modecfg: push', { skip, concurrency: false }, () => {
  const ours = charonClientOfOurGateway('xauth-client-modecfg.conf', 'modecfg-push-gw-pulled', ['dns: 10.1.0.53'], 'push');

  test('charon asks anyway: it is served as a pulling client (one address, a CHILD_SA from it)', async () => {
    const gw = ours();
    const { child } = await charonUpInstalled(gw, 'xauth-modecfg');
    assert.match(charon.log('a'), /installing new virtual IP 10\.10\.0\.1/);
    assert.match(charon.log('a'), /generating TRANSACTION request \d+ \[ HASH CPRQ\(/, 'charon asked');
    assert.match(child.localTs, /10\.10\.0\.1\/32/);
    const status = await gw.status();
    assert.deepEqual(status.leases.map((l: any) => [l.address, l.user]), [['10.10.0.1', 'alice']], JSON.stringify(status.leases));
    assert.equal((gw.log().match(/Mode Config: virtual address 10\.10\.0\.\d+ for user alice/g) ?? []).length, 1, 'one address handed out');
  });
});
