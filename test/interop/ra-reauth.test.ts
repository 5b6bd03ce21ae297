/**
 * A remote-access client that renews its ISAKMP SA, with the real strongSwan charon. IKEv1 has no
 * rekey of an ISAKMP SA in place: charon renews it by reauthentication, a new Main Mode with the
 * group PSK, XAUTH again, Mode Config asking for the address it holds, new Quick Modes, then a
 * Delete of the old ISAKMP SA (interop/conf/charon/xauth-client-reauth.conf: every 25 s).
 *
 * The gateway must give the same user the same virtual address while the old ISAKMP SA still holds
 * it, and keep the lease when the old SA's Delete arrives (a pool lease is counted per holder); a
 * gateway that released the address there would hand a live client's address to the next one.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { A, charon, interopSkipReason, type Ours, script, until } from './peers.js';
import { startRaGateway } from './ra-configs.js';

const skip = interopSkipReason();
if (skip) console.log(`# remote-access reauthentication interop skipped: ${skip}`);

describe('charon as an XAUTH + Mode Config client that reauthenticates every 25 s', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    charon.start('a', A.ns);
    charon.load('a', 'xauth-client-reauth.conf');
    ours = await startRaGateway('reauth-gw', ['dns: 10.1.0.53']);
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('the new ISAKMP SA gets the same address, the old one is deleted, the lease stays with alice', async () => {
    const gw = ours!;
    const up = charon.up('a', 'xauth-reauth', 'ra', 15);
    const first = await until(() => charon.sas('a').find((s) => s.conn === 'xauth-reauth' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
    assert.ok(first, `charon has no CHILD_SA:\n${up.out}\n${up.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-4000)}`);
    assert.match(charon.log('a'), /installing new virtual IP 10\.10\.0\.1/);

    // charon reauthenticates at 25 s: a second IKE SA with other cookies. (charon ends the CHILD_SA
    // just before its reauthentication when the IKE SA is this short-lived, and it renews CHILD_SAs
    // on the kernel's soft expiry, which the fake-xfrm shim never sends: the test asks for the
    // CHILD_SA again itself.) The first IKE SA is not deleted by charon: it ends at its lifetime
    // (35 s), by our Delete.
    const second = await until(
      () => {
        const sas = charon.sas('a').filter((s) => s.conn === 'xauth-reauth');
        const fresh = sas.find((s) => s.ispi !== first.ispi && s.state === 'ESTABLISHED');
        return fresh !== undefined && !sas.some((s) => s.ispi === first.ispi) ? fresh : undefined;
      },
      50_000,
      500,
    );
    assert.ok(second, `charon did not reauthenticate:\n${charon.tail('a', 60)}\n--- ours:\n${gw.log().slice(-6000)}`);
    const clog = charon.log('a');
    assert.match(clog, /reauthenticating IKE_SA/i, 'charon renewed by reauthentication');
    assert.ok((clog.match(/XAuth authentication of 'alice' \(myself\) successful/g) ?? []).length >= 2, 'XAUTH ran again');
    assert.deepEqual([...new Set(clog.match(/installing new virtual IP \S+/g))], ['installing new virtual IP 10.10.0.1'], 'charon was given one address only');
    const again = charon.up('a', 'xauth-reauth', 'ra', 15);
    const renewed = await until(() => charon.sas('a').find((s) => s.ispi === second.ispi && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
    assert.ok(renewed, `no CHILD_SA under the new IKE SA:\n${again.out}\n${again.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-4000)}`);
    const child = renewed.children.find((c) => c.state === 'INSTALLED')!;
    assert.match(child.localTs, /10\.10\.0\.1\/32/, 'the new CHILD_SA uses the same virtual address');

    // our side: one ISAKMP SA (the new one) holding 10.10.0.1, its IPsec SA, and the lease still alice's
    const status = await until(async () => {
      const s = await gw.status();
      return s.isakmp.length === 1 && s.ipsec.some((q: any) => q.spiOut === child.spiIn) ? s : undefined;
    }, 10_000);
    assert.ok(status, `our gateway: ${JSON.stringify(await gw.status())}\n${gw.log().slice(-4000)}`);
    const p1 = status.isakmp[0];
    assert.equal(p1.initiatorCookie, second.ispi);
    assert.equal(p1.remoteAccess?.virtualAddress, '10.10.0.1', JSON.stringify(p1));
    const leases = status.leases;
    assert.ok(Array.isArray(leases), `status lists no leases: ${JSON.stringify(status).slice(0, 2000)}`);
    assert.deepEqual(leases.map((l: any) => [l.address, l.user]), [['10.10.0.1', 'alice']], JSON.stringify(leases));
    assert.ok(!/virtual address 10\.10\.0\.1 released/.test(gw.log()), 'the old ISAKMP SA\'s end released the address the new one holds');
  });
});
