/**
 * The remote-access gateway rekeys its clients' IPsec SAs (src/exchange/gateway-rekey.ts), here
 * with the real strongSwan charon as the XAUTH + Mode Config client
 * (interop/conf/charon/xauth-client-modecfg.conf). charon renews a CHILD_SA only on the kernel's
 * soft expiry, which the fake-xfrm shim never sends, so the renewal is ours: our Quick Mode goes
 * to charon, the responder of it, under its own ISAKMP SA, from its leased virtual address; then
 * our Delete takes the old SA off both sides.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { A, charon, interopSkipReason, type Ours, script, until } from './peers.js';
import { startRaGateway } from './ra-configs.js';

const skip = interopSkipReason();
if (skip) console.log(`# remote-access gateway rekey interop skipped: ${skip}`);

describe('our gateway rekeys the IPsec SA of charon as its XAUTH + Mode Config client', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    charon.start('a', A.ns);
    charon.load('a', 'xauth-client-modecfg.conf');
    ours = await startRaGateway('gw-rekey', ['lifetime: 30s', 'rekey_margin: 26s', 'rekey_fuzz: 0', 'dpd_delay: 0']);
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('before the 30 s lifetime ends: our Quick Mode, charon answers it, same SPIs on both sides, the old SA deleted on both', async () => {
    const gw = ours!;
    const up = charon.up('a', 'xauth-modecfg', 'ra', 15);
    const first = await until(() => charon.sas('a').find((s) => s.conn === 'xauth-modecfg' && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
    assert.ok(first, `charon has no CHILD_SA:\n${up.out}\n${up.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-4000)}`);
    const old = first.children.find((c) => c.state === 'INSTALLED')!;
    // 30 s (the shortest allowed), rekey_margin 26 s, no fuzz: the gateway rekeys 13 s before the
    // end (half the margin), at 17 s. (In this lab charon loses every CHILD_SA about 23 s after installing it: the larval SA
    // of its ALLOCSPI, never replaced in a kernel without ESP, expires, and the kernel's EXPIRE
    // makes charon delete the CHILD_SA.)
    const renewed = await until(
      () => {
        const sa = charon.sas('a').find((s) => s.ispi === first.ispi);
        const kids = sa?.children.filter((c) => c.state === 'INSTALLED') ?? [];
        return kids.length === 1 && kids[0]!.spiIn !== old.spiIn ? { sa: sa!, child: kids[0]! } : undefined;
      },
      30_000,
      500,
    );
    assert.ok(renewed, `no rekeyed CHILD_SA at charon:\n${charon.tail('a', 60)}\n--- ours:\n${gw.log().slice(-6000)}`);
    const clog = charon.log('a');
    assert.match(clog, /parsed QUICK_MODE request \d+ \[ HASH SA No ID ID \]/, 'charon answered a Quick Mode it did not start');
    assert.match(clog, /received DELETE for ESP CHILD_SA with SPI/, 'our Delete of the old SA reached charon');
    assert.match(renewed.child.localTs, /10\.10\.0\.1\/32/, 'the new SA keeps the virtual address');
    assert.ok(!clog.includes('closing expired CHILD_SA'), 'no SA reached its end');
    const status = await until(async () => {
      const s = await gw.status();
      return s.ipsec.length === 1 && s.ipsec[0].spiOut === renewed.child.spiIn ? s : undefined;
    }, 5000);
    assert.ok(status, `ours: ${JSON.stringify((await gw.status()).ipsec)}`);
    assert.equal(status.ipsec[0].spiIn, renewed.child.spiOut);
    assert.equal(status.ipsec[0].role, 'initiator', 'the gateway started the rekey');
    assert.equal(status.isakmp.length, 1, 'under the same ISAKMP SA');
    assert.match(gw.log(), /"msg":"IPsec SA rekeyed"/);
  });
});
