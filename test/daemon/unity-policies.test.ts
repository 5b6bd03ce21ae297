/**
 * The kernel policies of a remote-access gateway's IPsec SA that carries several local selectors
 * (a Unity client asked for 0.0.0.0/0, the connection has two local_ts: IpsecSaInfo.localSelectors):
 * one SA pair, a policy pair per network (out, in, fwd), never 0.0.0.0/0; a rekey's SA takes them
 * all over (policy-owners.ts) and the old SA's removal leaves them; the last SA's removal deletes
 * every one; `status` and the updown script name both networks. Exact `ip xfrm` commands (the recording runner) and the netlink messages (the
 * recording stand-in for the binding).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkKernel } from '../../src/daemon/dataplane/netlink-kernel.js';
import { XfrmDataplane } from '../../src/daemon/dataplane/xfrm.js';
import { XFRM_MSG_DELPOLICY, XFRM_MSG_DELSA, XFRM_MSG_NEWSA, XFRM_MSG_UPDPOLICY, readSelector } from '../../src/daemon/dataplane/xfrm-messages.js';
import type { IpsecSaInfo } from '../../src/daemon/engine.js';
import { ipsecSaStatus } from '../../src/daemon/status.js';
import { updownEnv } from '../../src/daemon/updown.js';
import { hostSelector, subnetSelector } from '../../src/exchange/ids.js';
import { fakeNetlink } from './fake-netlink.js';
import { fakeIpsecSa } from './helpers.js';

const spi = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** The gateway's SA with client 10.10.7.1 (a responder's, tunnel mode), serving 10.1.0.0/16 and 10.2.0.0/16. */
function unitySa(spiIn = 0xc0000001, spiOut = 0xc0000002): IpsecSaInfo {
  const sa = fakeIpsecSa();
  const p = sa.protocols[0]!;
  return {
    ...sa,
    id: `q${spiIn.toString(16)}`,
    role: 'responder',
    localTs: subnetSelector('10.1.0.0', 16),
    localSelectors: [subnetSelector('10.1.0.0', 16), subnetSelector('10.2.0.0', 16)],
    remoteTs: hostSelector('10.10.7.1'),
    protocols: [{ ...p, inbound: { ...p.inbound, spi: spi(spiIn) }, outbound: { ...p.outbound, spi: spi(spiOut) } }],
  };
}

const policy = (src: string, dst: string, dir: string, reqid: number): string => {
  const [a, b] = dir === 'out' ? ['198.18.0.1', '198.18.0.2'] : ['198.18.0.2', '198.18.0.1'];
  return `xfrm policy update src ${src} dst ${dst} dir ${dir} priority 2000 tmpl src ${a} dst ${b} proto esp reqid ${reqid} mode tunnel`;
};
const policiesOf = (reqid: number): string[] => [
  policy('10.1.0.0/16', '10.10.7.1/32', 'out', reqid),
  policy('10.10.7.1/32', '10.1.0.0/16', 'in', reqid),
  policy('10.10.7.1/32', '10.1.0.0/16', 'fwd', reqid),
  policy('10.2.0.0/16', '10.10.7.1/32', 'out', reqid),
  policy('10.10.7.1/32', '10.2.0.0/16', 'in', reqid),
  policy('10.10.7.1/32', '10.2.0.0/16', 'fwd', reqid),
];

test('ip xfrm: a policy pair per local selector of the one SA; a rekey takes them over, the old SA leaves them, the last removal deletes all', async () => {
  const calls: string[] = [];
  const dp = new XfrmDataplane(async (args) => {
    calls.push(args.join(' '));
    return { code: 0, stderr: '' };
  });
  assert.equal((await dp.install(unitySa())).status, 'installed');
  const mine = calls.filter((c) => !c.includes('priority 100')); // the IKE bypass aside
  assert.deepEqual(mine.filter((c) => c.startsWith('xfrm state')).map((c) => c.split(' ').slice(0, 13).join(' ')), [
    'xfrm state add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0xc0000002 reqid 1',
    'xfrm state add src 198.18.0.2 dst 198.18.0.1 proto esp spi 0xc0000001 reqid 1',
  ]);
  assert.deepEqual(mine.filter((c) => c.startsWith('xfrm policy')), policiesOf(1));
  assert.ok(!calls.some((c) => c.includes('0.0.0.0/0') && c.includes('priority 2000')), 'never a policy for everything');

  // the rekey (same selectors, new SPIs): its policies replace the old SA's, all six
  calls.length = 0;
  assert.equal((await dp.install(unitySa(0xc0000003, 0xc0000004))).status, 'installed');
  assert.deepEqual(calls.filter((c) => c.startsWith('xfrm policy')), policiesOf(2));
  // the old SA goes: its two kernel SAs, none of the policies the new SA holds
  calls.length = 0;
  await dp.remove('qc0000001');
  assert.deepEqual(calls, ['xfrm state delete src 198.18.0.2 dst 198.18.0.1 proto esp spi 0xc0000001', 'xfrm state delete src 198.18.0.1 dst 198.18.0.2 proto esp spi 0xc0000002']);
  // the new SA goes: every policy of both networks, then its SAs
  calls.length = 0;
  await dp.remove('qc0000003');
  assert.deepEqual(calls.filter((c) => c.startsWith('xfrm policy')).sort(), [
    'xfrm policy delete src 10.1.0.0/16 dst 10.10.7.1/32 dir out',
    'xfrm policy delete src 10.10.7.1/32 dst 10.1.0.0/16 dir fwd',
    'xfrm policy delete src 10.10.7.1/32 dst 10.1.0.0/16 dir in',
    'xfrm policy delete src 10.10.7.1/32 dst 10.2.0.0/16 dir fwd',
    'xfrm policy delete src 10.10.7.1/32 dst 10.2.0.0/16 dir in',
    'xfrm policy delete src 10.2.0.0/16 dst 10.10.7.1/32 dir out',
  ]);
  assert.equal(calls.filter((c) => c.startsWith('xfrm state delete')).length, 2);
});

test('netlink: six UPDPOLICY after the two NEWSA; the old SA\'s removal after a rekey sends only its DELSAs; the last removal six DELPOLICY', async () => {
  const f = fakeNetlink();
  const dp = new XfrmDataplane(new NetlinkKernel(f.sys), () => {}, undefined, { spiPool: false });
  const text = (payload: Uint8Array): string => {
    const s = readSelector(payload, 0);
    return `${s.src}/${s.srcPrefix}>${s.dst}/${s.dstPrefix}`;
  };
  assert.equal((await dp.install(unitySa())).status, 'installed');
  const sa = f.batches.slice(-2);
  assert.deepEqual(sa, [[XFRM_MSG_NEWSA, XFRM_MSG_NEWSA], Array(6).fill(XFRM_MSG_UPDPOLICY)]);
  assert.deepEqual(f.sent.filter((m) => m.type === XFRM_MSG_UPDPOLICY).slice(-6).map((m) => text(m.payload)), [
    '10.1.0.0/16>10.10.7.1/32',
    '10.10.7.1/32>10.1.0.0/16',
    '10.10.7.1/32>10.1.0.0/16',
    '10.2.0.0/16>10.10.7.1/32',
    '10.10.7.1/32>10.2.0.0/16',
    '10.10.7.1/32>10.2.0.0/16',
  ]);
  assert.equal((await dp.install(unitySa(0xc0000003, 0xc0000004))).status, 'installed');
  f.batches.length = 0;
  await dp.remove('qc0000001');
  assert.deepEqual(f.batches, [[XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
  f.batches.length = 0;
  const before = f.sent.length;
  await dp.remove('qc0000003');
  assert.deepEqual(f.batches, [[...Array(6).fill(XFRM_MSG_DELPOLICY), XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
  assert.deepEqual(new Set(f.sent.slice(before).filter((m) => m.type === XFRM_MSG_DELPOLICY).map((m) => text(m.payload))).size, 4);
});

test('status and the updown environment name every local selector of the SA; an SA with one is shown as before', () => {
  assert.equal(ipsecSaStatus(unitySa(), 0, 'established', null).localTs, '10.1.0.0/16, 10.2.0.0/16');
  assert.equal(ipsecSaStatus(fakeIpsecSa(), 0, 'established', null).localTs, '10.1.0.0/16');
  assert.equal(updownEnv('up', 'established', unitySa()).ISAKMP_LOCAL_TS, '10.1.0.0/16 10.2.0.0/16');
  assert.equal(updownEnv('up', 'established', unitySa()).ISAKMP_REMOTE_TS, '10.10.7.1');
  assert.equal(updownEnv('up', 'established', fakeIpsecSa()).ISAKMP_LOCAL_TS, '10.1.0.0/16');
});
