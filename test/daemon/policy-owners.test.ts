/**
 * Kernel policies across a rekey (src/daemon/dataplane/policy-owners.ts), through the xfrm adapter
 * and the recording netlink stand-in: the new IPsec SA's policies replace the old SA's (same
 * selectors), so the old SA's removal must leave them in the kernel; the other way round, the
 * newest remaining SA's policies are set back. Deleting them would send the tunnel's traffic in
 * the clear from the first rekey on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkKernel } from '../../src/daemon/dataplane/netlink-kernel.js';
import { XfrmDataplane } from '../../src/daemon/dataplane/xfrm.js';
import { XFRM_MSG_DELPOLICY, XFRM_MSG_DELSA, XFRM_MSG_NEWSA, XFRM_MSG_UPDPOLICY } from '../../src/daemon/dataplane/xfrm-messages.js';
import type { IpsecSaInfo } from '../../src/daemon/engine.js';
import { fakeNetlink } from './fake-netlink.js';
import { fakeIpsecSa } from './helpers.js';

/** The rekey of fakeIpsecSa(): the same selectors and peers, other SPIs. */
function rekeyOf(sa: IpsecSaInfo, spiIn: number, spiOut: number): IpsecSaInfo {
  const p = sa.protocols[0]!;
  const spi = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  return { ...sa, id: `q${spiIn.toString(16)}`, protocols: [{ ...p, inbound: { ...p.inbound, spi: spi(spiIn) }, outbound: { ...p.outbound, spi: spi(spiOut) } }] };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function pair(): Promise<{ f: ReturnType<typeof fakeNetlink>; dp: XfrmDataplane; oldPolicies: string[]; newPolicies: string[] }> {
  const f = fakeNetlink();
  const dp = new XfrmDataplane(new NetlinkKernel(f.sys), () => {}, undefined, { spiPool: false });
  const policiesSent = (): string[] => f.sent.filter((m) => m.type === XFRM_MSG_UPDPOLICY).map((m) => hex(m.payload));
  assert.equal((await dp.install(fakeIpsecSa())).status, 'installed');
  const oldPolicies = policiesSent().slice(-3);
  assert.equal((await dp.install(rekeyOf(fakeIpsecSa(), 0xc0000003, 0xc0000004))).status, 'installed');
  const newPolicies = policiesSent().slice(-3);
  assert.notDeepEqual(oldPolicies, newPolicies, 'the rekey\'s policies name its own reqid');
  f.batches.length = 0;
  return { f, dp, oldPolicies, newPolicies };
}

test('after a rekey the old SA goes without taking the new SA\'s policies; the last SA takes them', async () => {
  const { f, dp } = await pair();
  await dp.remove('qc0000001');
  assert.deepEqual(f.batches, [[XFRM_MSG_DELSA, XFRM_MSG_DELSA]], 'only the old SA\'s two kernel SAs');
  f.batches.length = 0;
  await dp.remove('qc0000003');
  assert.deepEqual(f.batches, [[XFRM_MSG_DELPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
});

test('when the newer SA goes first, the older SA\'s own policies are set back, byte for byte', async () => {
  const { f, dp, oldPolicies } = await pair();
  const before = f.sent.length;
  await dp.remove('qc0000003');
  assert.deepEqual(f.batches, [[XFRM_MSG_UPDPOLICY, XFRM_MSG_UPDPOLICY, XFRM_MSG_UPDPOLICY, XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
  assert.deepEqual(f.sent.slice(before).filter((m) => m.type === XFRM_MSG_UPDPOLICY).map((m) => hex(m.payload)).sort(), [...oldPolicies].sort());
  f.batches.length = 0;
  await dp.remove('qc0000001');
  assert.deepEqual(f.batches, [[XFRM_MSG_DELPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
});

test('a rekey whose install the kernel refuses halfway sets the old SA\'s policies back instead of deleting them', async () => {
  const f = fakeNetlink();
  const dp = new XfrmDataplane(new NetlinkKernel(f.sys), () => {}, undefined, { spiPool: false });
  assert.equal((await dp.install(fakeIpsecSa())).status, 'installed');
  const oldPolicies = f.sent.filter((m) => m.type === XFRM_MSG_UPDPOLICY).map((m) => hex(m.payload)).slice(-3);
  // the kernel takes the new SA's states and its first policy, and refuses the second
  let policies = 0;
  f.refuse = (m) => (m.type === XFRM_MSG_UPDPOLICY && ++policies === 2 ? [12, 'Cannot allocate memory'] : undefined);
  f.batches.length = 0;
  const before = f.sent.length;
  const r = await dp.install(rekeyOf(fakeIpsecSa(), 0xc0000005, 0xc0000006));
  assert.match(r.status, /^failed: kernel refused/);
  f.refuse = () => undefined;
  const after = f.sent.slice(before);
  // one batch of three policies: the first and third went in, the second was refused (the old
  // SA's stays there); the two that went in are set back to the old SA's, its states go
  assert.deepEqual(f.batches.at(-1), [XFRM_MSG_UPDPOLICY, XFRM_MSG_UPDPOLICY, XFRM_MSG_DELSA, XFRM_MSG_DELSA]);
  const setBack = after.slice(-4, -2).map((m) => hex(m.payload));
  assert.ok(setBack.every((p) => oldPolicies.includes(p)), 'the old SA\'s own policies, byte for byte');
  assert.equal(new Set(setBack).size, 2);
  assert.equal(after.filter((m) => m.type === XFRM_MSG_NEWSA).length, 2);
});
