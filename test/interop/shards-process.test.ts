/**
 * Engine shards in processes (global.shard_mode: process, docs/scale.md) against the real
 * strongSwan charon in network namespaces: our daemon runs two shard processes that own its UDP
 * sockets (SO_REUSEPORT groups on 500 and 4500, the kernel steering by our cookies' shard byte),
 * with the xfrm dataplane setting UDP_ENCAP on every NAT-T socket of the group.
 *
 * - charon initiates from behind its fake NAT: it floats to 4500, where the kernel's BPF program
 *   reads the cookies after the non-ESP marker; we answer from the shard's own 4500 socket;
 * - our daemon initiates to charon (`isakmp up`): charon's answers carry its own responder cookie,
 *   which the kernel cannot steer by; the shard that gets them forwards them to the shard that
 *   initiated when it is another one.
 *
 * Both sides agree on the cookies and SPIs (charon's `swanctl --list-sas` against our `status`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { A, B, Ours, charon, interopSkipReason, labDown, labUp, until, type CharonSa } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# shard processes interop skipped: ${skip}`);

function config(sock: string, self: string, peer: string, name: string): string {
  return `global:
  listen: [${self}]
  control_socket: ${sock}
  log: { level: debug }
  dataplane: xfrm
  shards: 2
  shard_mode: process
secrets:
  mm: { psk: "peers-mm-psk-secret", allow_weak_psk: true }
connections:
  ${name}:
    secret: mm
    local: { address: ${self} }
    remote: { address: ${peer} }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256-modp2048
`;
}

/** charon's established SA of `conn` with an installed child, and our status listing it with the same cookies. */
async function agreed(ours: Ours, ch: string, conn: string): Promise<{ sa: CharonSa; p1: any }> {
  const sa = await until(() => charon.sas(ch).find((s) => s.conn === conn && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 15_000);
  assert.ok(sa, `charon has no established ${conn} SA: ${JSON.stringify(charon.sas(ch))}\n${charon.tail(ch)}`);
  const st = await until(async () => {
    const s = await ours.status();
    return s.ipsec.some((q: any) => sa.children.some((c) => c.spiIn === q.spiOut)) ? s : undefined;
  }, 5000);
  assert.ok(st, `our status lacks charon's IPsec SA: ${JSON.stringify(await ours.status())}`);
  const p1 = st.isakmp.find((s: any) => s.initiatorCookie === sa.ispi && s.responderCookie === sa.rspi);
  assert.ok(p1, `our ISAKMP SA ${sa.ispi}/${sa.rspi}: ${JSON.stringify(st.isakmp)}`);
  return { sa, p1 };
}

describe('engine shards in processes with strongSwan', { skip, concurrency: false }, () => {
  before(labUp);
  after(labDown);

  test('charon initiates from behind its fake NAT to two shard processes: steered on 4500 after the non-ESP marker, UDP_ENCAP on every socket of the group', async () => {
    charon.start('a', A.ns, 'libipsec');
    charon.load('a', 'initiator.conf');
    const ours = await Ours.start('shards-resp', B.ns, (sock) => config(sock, B.ip, A.ip, 'mm'));
    try {
      const r = charon.up('a', 'mm-psk', 'pfs');
      assert.equal(r.code, 0, r.out + r.err);
      const { sa, p1 } = await agreed(ours, 'a', 'mm-psk');
      assert.equal(sa.children.find((c) => c.state === 'INSTALLED')?.encap, 'yes');
      assert.deepEqual([p1.local, p1.remote], [`${B.ip}:4500`, `${A.ip}:4500`], 'answered on the NAT-T port it floated to');
      assert.ok(Number.parseInt(sa.rspi.slice(0, 2), 16) < 2, `our responder cookie names one of the two shards: ${sa.rspi}`);
      const log = ours.log();
      assert.equal((log.match(/kernel takes ESP in UDP/g) ?? []).length, 2, 'UDP_ENCAP on both sockets of the 4500 group');
      assert.ok(!/engine shards in threads/.test(log), 'shards in processes, not threads');
      charon.down('a', 'mm-psk');
      assert.ok(await until(async () => (await ours.status()).isakmp.length === 0, 5000), "charon's Deletes on 4500 reach the shard holding the SA");
    } finally {
      await ours.stop();
      charon.stop('a');
    }
  });

  test('our daemon with two shard processes initiates to charon: charon answers under its own responder cookie, up completes (forwarded between shards when the kernel picks the other)', async () => {
    charon.start('b', B.ns);
    charon.load('b', 'responder.conf');
    const ours = await Ours.start('shards-init', A.ns, (sock) => config(sock, A.ip, B.ip, 'to-charon'));
    try {
      const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 15_000 });
      assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.tail('b')}`);
      await agreed(ours, 'b', 'mm-psk');
      assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
      assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000), 'charon removed the SAs after the Deletes our shard sent');
    } finally {
      await ours.stop();
      charon.stop('b');
    }
  });
});
