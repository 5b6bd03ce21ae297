/**
 * The importer's round trip against the real charon: `isakmp import swanctl` of the swanctl.conf
 * files charon runs in this suite (interop/conf/charon), then our daemon, running the imported
 * configuration as it was printed (plus only a control socket for the test), negotiates with the
 * charon that runs the other side's original configuration, in both roles:
 *   - ours at peer-a with the imported initiator.conf, charon at peer-b with responder.conf:
 *     we initiate mm-psk (Main Mode, PFS) and am-psk (Aggressive Mode);
 *   - ours at peer-b with the imported responder.conf, charon at peer-a with initiator.conf:
 *     charon initiates mm-psk / pfs and we answer.
 * Run by `npm run test:interop` (root); uses interop/ only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { A, B, Ours, ROOT, SCRIPTS, charon, interopSkipReason, script, until } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# import round trip skipped: ${skip}`);

/** `isakmp import swanctl FILE` with the built CLI, exactly as an operator would run it. */
function imported(conf: string): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'import', 'swanctl', join(SCRIPTS, 'conf/charon', conf)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!/^global:/m.test(r.stdout), 'a swanctl import has no global section (the test adds one)');
  return r.stdout;
}

/** The imported file with the test's control socket and debug logging put in front. */
const withSocket = (yaml: string) => (sock: string): string => `global:\n  control_socket: ${sock}\n  log: { level: debug }\n${yaml}`;

describe('import round trip against charon', { skip, concurrency: false }, () => {
  before(() => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
  });
  after(() => {
    charon.stop('a');
    charon.stop('b');
    script('netns.sh', ['down']);
  });

  test('imported initiator.conf on our side initiates to charon running responder.conf: Main Mode + PFS, Aggressive Mode', async () => {
    const yaml = imported('initiator.conf');
    charon.start('b', B.ns);
    charon.load('b', 'responder.conf');
    const ours = await Ours.start('import-init', A.ns, withSocket(yaml));
    try {
      // a swanctl connection with several children imports as connections sharing one ISAKMP SA:
      // mm-psk (child pfs) and mm-psk-transport (child transport) under one IKE_SA of charon's
      {
        for (const conn of ['mm-psk', 'mm-psk-transport']) {
          const up = await ours.ctl({ cmd: 'up', name: conn, timeoutMs: 15_000 });
          assert.equal(up.ok, true, `${conn}: ${JSON.stringify(up)}\n${ours.log().slice(-3000)}`);
        }
        const sa = await until(() => charon.sas('b').find((s) => s.conn === 'mm-psk' && s.state === 'ESTABLISHED' && s.children.filter((c) => c.state === 'INSTALLED').length === 2), 10_000);
        assert.ok(sa, `charon has mm-psk with two children: ${JSON.stringify(charon.sas('b'))}`);
        assert.deepEqual(sa.children.map((c) => [c.name, c.mode]).sort(), [['host', 'TUNNEL'], ['transport', 'TRANSPORT']]);
        assert.equal(charon.sas('b').filter((s) => s.conn === 'mm-psk').length, 1, 'one IKE_SA for both');
        const st = await ours.status();
        assert.deepEqual(st.ipsec.map((q: any) => q.connection).sort(), ['mm-psk', 'mm-psk-transport']);
        assert.equal((await ours.ctl({ cmd: 'down', name: 'mm-psk-transport' })).ok, true);
        assert.equal((await ours.ctl({ cmd: 'down', name: 'mm-psk' })).ok, true);
        assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000), 'charon dropped mm-psk after our Deletes');
      }
      for (const [conn, exchange] of [['mm-psk', 'main'], ['am-psk', 'aggressive']] as const) {
        const up = await ours.ctl({ cmd: 'up', name: conn, timeoutMs: 15_000 });
        assert.equal(up.ok, true, `${conn}: ${JSON.stringify(up)}\n${ours.log().slice(-3000)}`);
        const sa = await until(() => charon.sas('b').find((s) => s.conn === conn && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
        assert.ok(sa, `charon has ${conn} established: ${JSON.stringify(charon.sas('b'))}`);
        const st = await ours.status();
        const p1 = st.isakmp.find((s: any) => s.connection === conn && s.initiatorCookie === sa.ispi);
        assert.ok(p1, `our ${conn} ISAKMP SA with charon's cookies`);
        assert.equal(p1.exchange, exchange);
        const child = sa.children.find((c) => c.state === 'INSTALLED')!;
        assert.ok(st.ipsec.some((q: any) => q.connection === conn && q.spiOut === child.spiIn && q.spiIn === child.spiOut), `our ${conn} IPsec SA has charon's SPIs crossed`);
        assert.equal((await ours.ctl({ cmd: 'down', name: conn })).ok, true);
        assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === conn), 5000), `charon dropped ${conn} after our Delete`);
      }
    } finally {
      await ours.stop();
      charon.stop('b');
    }
  });

  test('imported responder.conf on our side answers charon running initiator.conf (mm-psk, child pfs)', async () => {
    const yaml = imported('responder.conf');
    const ours = await Ours.start('import-resp', B.ns, withSocket(yaml));
    charon.start('a', A.ns);
    charon.load('a', 'initiator.conf');
    try {
      const r = charon.up('a', 'mm-psk', 'pfs', 15);
      assert.equal(r.code, 0, `charon up mm-psk pfs: ${r.out}${r.err}\n${ours.log().slice(-3000)}`);
      const sa = await until(() => charon.sas('a').find((s) => s.conn === 'mm-psk' && s.state === 'ESTABLISHED'), 10_000);
      assert.ok(sa);
      assert.equal(sa.dh, 'MODP_2048');
      const st = await until(async () => {
        const s = await ours.status();
        return s.ipsec.some((q: any) => q.connection === 'mm-psk') ? s : undefined;
      }, 5000);
      assert.ok(st, 'our imported mm-psk has the IPsec SA');
      const child = sa.children.find((c) => c.name === 'pfs')!;
      assert.ok(st.ipsec.some((q: any) => q.spiOut === child.spiIn && q.spiIn === child.spiOut), "charon's SPIs crossed");
      assert.equal(st.isakmp.find((s: any) => s.initiatorCookie === sa.ispi)?.role, 'responder');
    } finally {
      charon.stop('a');
      await ours.stop();
    }
  });
});
