/**
 * The netlink channel and the xfrm adapter over it, against a recording stand-in for the native
 * binding that answers as the kernel does (test/daemon/fake-netlink.ts): batching, sequence-number
 * matching, refusals with errno, the ALLOCSPI pool, GETSA dumps, acquire and expire events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkChannel } from '../../src/daemon/dataplane/channel.js';
import { NetlinkKernel } from '../../src/daemon/dataplane/netlink-kernel.js';
import { XfrmDataplane } from '../../src/daemon/dataplane/xfrm.js';
import { writeAddress } from '../../src/daemon/dataplane/addresses.js';
import { XFRM_MSG_ACQUIRE, XFRM_MSG_EXPIRE, XFRM_MSG_UPDPOLICY, XFRM_MSG_NEWSA, XFRM_MSG_UPDSA, XFRM_MSG_DELSA, XFRM_MSG_DELPOLICY, XFRM_MSG_ALLOCSPI, writeDelSa, writeGetSaDump, parseSaInfo } from '../../src/daemon/dataplane/xfrm-messages.js';
import { enableEspInUdp, readUdpEncap, dgramFd } from '../../src/daemon/dataplane/udp-encap.js';
import { createSocket } from 'node:dgram';
import { fakeNetlink } from './fake-netlink.js';
import { SpiPool, LARVAL_REQID_BASE } from '../../src/daemon/dataplane/spi-pool.js';
import { fakeIpsecSa } from './helpers.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const id = { family: 4, src: '198.18.0.2', dst: '198.18.0.1', spi: 0xc0000001, proto: 50 } as const;

test('channel: requests of one turn go out in one send; answers are matched by sequence number, errors to their own request', async () => {
  const f = fakeNetlink();
  f.refuse = (m) => (m.seq === 2 ? [3, 'no SA here'] : undefined);
  const ch = new NetlinkChannel(f.sys, { groups: 3 });
  const replies = await Promise.all([1, 2, 3].map(() => ch.request('ack', (w, seq) => writeDelSa(w, seq, id))));
  assert.deepEqual(f.batches, [[XFRM_MSG_DELSA, XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
  assert.deepEqual(replies.map((r) => [r.ack?.seq, r.ack?.errno, r.ack?.message]), [[1, 0, undefined], [2, 3, 'no SA here'], [3, 0, undefined]]);
  assert.deepEqual(replies[1]!.ack!.echoed?.subarray(4, 6), Uint8Array.of(XFRM_MSG_DELSA, 0), 'the error echoes the request');
  assert.deepEqual(f.sent.map((m) => m.flags), [1, 1, 5], 'only the last request of the batch asks for an ACK; the refused one is answered all the same');
  assert.deepEqual(replies.map((r) => r.ack?.requestType), [XFRM_MSG_DELSA, XFRM_MSG_DELSA, XFRM_MSG_DELSA]);
  assert.deepEqual({ ...ch.stats, recvs: 0 }, { requests: 3, sends: 1, recvs: 0, bytesOut: 180, events: 0, overruns: 0, unacked: 2 });
  assert.equal(ch.stats.recvs, 3, 'two answers (the error and the last ACK), then the empty read');
  // a batch past maxBatchBytes goes out at once, before the turn ends
  const small = new NetlinkChannel(f.sys, { groups: 0, maxBatchBytes: 100 });
  f.batches.length = 0;
  const p = [small.request('ack', (w, seq) => writeDelSa(w, seq, id)), small.request('ack', (w, seq) => writeDelSa(w, seq, id))];
  assert.deepEqual(f.batches, [[XFRM_MSG_DELSA, XFRM_MSG_DELSA]], 'sent synchronously');
  await Promise.all(p);
});

test('channel: a lost answer fails its request with ENOBUFS, an overrun is counted, events go to onEvent, close fails what waits', async () => {
  const f = fakeNetlink();
  const events: number[] = [];
  let overruns = 0;
  const ch = new NetlinkChannel(f.sys, { groups: 3, onEvent: (m) => events.push(m.type), onOverrun: () => overruns++ });
  f.drop.add(2);
  const [unknown, lost] = await Promise.all([ch.request('ack', (w, seq) => writeDelSa(w, seq, id)), ch.request('ack', (w, seq) => writeDelSa(w, seq, id))]);
  assert.deepEqual([lost.ack?.errno, lost.ack?.message], [105, 'no answer from the kernel (receive buffer overrun)']);
  assert.equal(unknown.ack?.errno, 105, 'without the last ACK, the request before it (sent without one) cannot be known to have succeeded');
  const [fine, last] = await Promise.all([ch.request('ack', (w, seq) => writeDelSa(w, seq, id)), ch.request('ack', (w, seq) => writeDelSa(w, seq, id))]);
  assert.deepEqual([fine.ack?.errno, last.ack?.errno], [0, 0]);
  // the kernel dropped messages while the batch was read: an error may have been among them
  f.failNextRecv = 105;
  const [dropped, acked] = await Promise.all([ch.request('ack', (w, seq) => writeDelSa(w, seq, id)), ch.request('ack', (w, seq) => writeDelSa(w, seq, id))]);
  assert.deepEqual([dropped.ack?.errno, acked.ack?.errno, ch.stats.overruns, overruns], [105, 0, 1, 1]);
  f.failNextRecv = 105;
  f.event(XFRM_MSG_ACQUIRE, new Uint8Array(280));
  assert.deepEqual([events, overruns, ch.stats.overruns, ch.stats.events], [[XFRM_MSG_ACQUIRE], 2, 2, 1]);
  // dumps: parts then DONE
  f.dump = [new Uint8Array(224), new Uint8Array(224)];
  let parts = 0;
  const r = await ch.request('dump', (w, seq) => writeGetSaDump(w, seq), () => parts++);
  assert.deepEqual([parts, r.ack, r.messages.length], [2, undefined, 0], 'each part seen in place, ended by DONE');
  ch.close();
  assert.deepEqual([f.closed, f.watching, ch.isOpen], [1, false, false]);
});

test('xfrm over netlink: SAs in one batch, policies in the next, IKE bypass once; a refused SA names the SA and the errno and is rolled back', async () => {
  const f = fakeNetlink();
  const logged: string[] = [];
  const dp = new XfrmDataplane(new NetlinkKernel(f.sys), (m) => logged.push(m), undefined, { spiPool: false });
  assert.equal((await dp.install(fakeIpsecSa())).status, 'installed');
  assert.deepEqual(f.batches, [new Array(16).fill(XFRM_MSG_UPDPOLICY), [XFRM_MSG_NEWSA, XFRM_MSG_NEWSA], [XFRM_MSG_UPDPOLICY, XFRM_MSG_UPDPOLICY, XFRM_MSG_UPDPOLICY]]);
  f.batches.length = 0;
  await dp.remove('qc0000001');
  assert.deepEqual(f.batches, [[XFRM_MSG_DELPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_DELSA, XFRM_MSG_DELSA]]);
  // the kernel has no ESP: the inbound SA is refused, the outbound one removed again, no policy
  f.batches.length = 0;
  f.refuse = (m) => (m.type === XFRM_MSG_NEWSA && new DataView(m.payload.buffer).getUint32(72, false) === 0xc0000001 ? [93, 'Requested type not found'] : undefined);
  const r = await dp.install(fakeIpsecSa());
  assert.equal(r.status, 'failed: kernel refused ESP SA 198.18.0.2 -> 198.18.0.1 spi 0xc0000001: Requested type not found (errno 93 EPROTONOSUPPORT)');
  assert.deepEqual(f.batches, [[XFRM_MSG_NEWSA, XFRM_MSG_NEWSA], [XFRM_MSG_DELSA]]);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /the IKE SAs stay up/);
  assert.ok(!/cccc|aaaa/.test(logged[0]!), 'no key in the log');
});

test('xfrm over netlink: kernel-reserved SPIs (ALLOCSPI pool) and UPDSA of their larval SA; an expired larval SA is installed with NEWSA', async () => {
  const f = fakeNetlink();
  const dp = new XfrmDataplane(new NetlinkKernel(f.sys), () => {});
  assert.equal(dp.allocateSpi('0.0.0.0'), undefined, 'a wildcard address: nothing to reserve for');
  assert.equal(dp.allocateSpi('198.18.0.1'), undefined, 'empty at first: the engine draws a random SPI; a refill starts');
  await turn();
  assert.equal(f.sent.filter((m) => m.type === XFRM_MSG_ALLOCSPI).length, 128);
  const a = f.sent.find((m) => m.type === XFRM_MSG_ALLOCSPI)!;
  assert.equal(a.flags, 1, 'ALLOCSPI answers with the larval SA, not an ACK');
  const spi = dp.allocateSpi('198.18.0.1')!;
  assert.deepEqual(spi, Uint8Array.of(0xc0, 0, 1, 0));
  const base = fakeIpsecSa();
  const sa = { ...base, id: 'qc0000100', protocols: [{ ...base.protocols[0]!, inbound: { ...base.protocols[0]!.inbound, spi } }] };
  f.sent.length = 0;
  f.batches.length = 0;
  assert.equal((await dp.install(sa)).status, 'installed');
  const states = f.sent.filter((m) => m.type === XFRM_MSG_NEWSA || m.type === XFRM_MSG_UPDSA);
  assert.deepEqual(states.map((m) => [m.type, parseSaInfo(m.payload).spi]), [[XFRM_MSG_NEWSA, 0xc0000002], [XFRM_MSG_UPDSA, 0xc0000100]]);
  assert.equal(dp.spiRequests, 128);
  // the larval SA is gone (ESRCH): installed as a new SA instead
  const spi2 = dp.allocateSpi('198.18.0.1')!;
  f.refuse = (m) => (m.type === XFRM_MSG_UPDSA ? [3] : undefined);
  f.sent.length = 0;
  const sa2 = { ...sa, id: 'qc0000101', protocols: [{ ...sa.protocols[0]!, inbound: { ...sa.protocols[0]!.inbound, spi: spi2 } }] };
  assert.equal((await dp.install(sa2)).status, 'installed');
  assert.deepEqual(f.sent.filter((m) => m.type === XFRM_MSG_NEWSA || m.type === XFRM_MSG_UPDSA).map((m) => m.type), [XFRM_MSG_NEWSA, XFRM_MSG_UPDSA, XFRM_MSG_NEWSA]);
});

test('xfrm over netlink: traffic from one GETSA dump, acquires for traps, expires for installed SAs', async () => {
  const f = fakeNetlink();
  const dp = new XfrmDataplane(new NetlinkKernel(f.sys), () => {}, undefined, { spiPool: false });
  await dp.install(fakeIpsecSa());
  const info = (src: string, dst: string, spi: number, bytes: number): Uint8Array => {
    const p = new Uint8Array(225);
    const v = new DataView(p.buffer);
    writeAddress(p, 56, dst);
    v.setUint32(72, spi, false);
    p[76] = 50;
    writeAddress(p, 80, src);
    v.setBigUint64(160, BigInt(bytes), true);
    v.setUint16(212, 2, true);
    return p;
  };
  f.dump = [info('198.18.0.1', '198.18.0.2', 0xc0000002, 1000), info('198.18.0.2', '198.18.0.1', 0xc0000001, 234), info('0.0.0.0', '198.18.0.1', 0xc0000077, 5)];
  f.batches.length = 0;
  assert.deepEqual(await dp.traffic(), new Map([['qc0000001', 1234]]));
  assert.equal(f.batches.length, 1);
  const expired: [string, boolean][] = [];
  dp.onExpire = (i, hard) => expired.push([i, hard]);
  const acquired: string[] = [];
  dp.onAcquire = (n) => acquired.push(n);
  const sel = (s: string) => ({ family: 4 as const, start: s, end: s, prefix: 24, protocol: 0, port: 0 });
  assert.equal(await dp.trap({ name: 'od', local: '198.18.0.1', remote: '198.18.0.2', localTs: sel('10.9.1.0'), remoteTs: sel('10.9.2.0'), mode: 'tunnel' }), undefined);
  const acq = new Uint8Array(280);
  writeAddress(acq, 96, '10.9.2.0');
  writeAddress(acq, 112, '10.9.1.0');
  new DataView(acq.buffer).setUint16(136, 2, true);
  acq[138] = 24;
  acq[139] = 24;
  f.event(XFRM_MSG_ACQUIRE, acq);
  const exp = info('198.18.0.2', '198.18.0.1', 0xc0000001, 0);
  exp[224] = 0;
  f.event(XFRM_MSG_EXPIRE, exp);
  f.event(XFRM_MSG_EXPIRE, info('9.9.9.9', '9.9.9.8', 1, 0));
  assert.deepEqual(acquired, ['od']);
  assert.deepEqual(expired, [['qc0000001', false]]);
  await dp.flush();
  assert.equal(f.closed, 1, 'flush closes the channel');
});

test('ESP in UDP: the option is set only on the UDP socket bound to the NAT-T port; a dgram socket\'s descriptor is found', async () => {
  const f = fakeNetlink();
  const set: number[][] = [];
  f.sys.setsockoptInt = (...a: number[]) => {
    set.push(a);
    return 0;
  };
  assert.equal(enableEspInUdp(f.sys, 9, 4500), undefined);
  assert.deepEqual(set, [[9, 17, 100, 2]]);
  assert.match(enableEspInUdp(f.sys, 9, 14500) ?? '', /not the UDP socket on port 14500/);
  assert.equal(readUdpEncap(f.sys, 9), 2);
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const fd = dgramFd(s);
  assert.ok(typeof fd === 'number' && fd > 2, String(fd));
  s.close();
});

test('SPI pool: refills below the low mark, grows when it runs dry, drops SPIs older than the larval SA lives, spreads reqids', async () => {
  let now = 0;
  const asked: number[][] = [];
  let next = 0x1000;
  const pool = new SpiPool(
    async (reqs) => {
      asked.push(reqs.map((r) => r.reqid ?? 0));
      return reqs.map(() => next++);
    },
    () => {},
    { low: 2, batch: 4, clock: () => now },
  );
  assert.equal(pool.take('192.0.2.1'), undefined, 'empty at first');
  await turn();
  assert.equal(asked.length, 1);
  assert.deepEqual(asked[0], [LARVAL_REQID_BASE, LARVAL_REQID_BASE + 1, LARVAL_REQID_BASE + 2, LARVAL_REQID_BASE + 3]);
  assert.equal(pool.take('192.0.2.1'), 0x1000);
  assert.equal(pool.take('192.0.2.1'), 0x1001);
  assert.equal(pool.take('192.0.2.1'), 0x1002, 'below the low mark: a refill starts, this one is still served');
  await turn();
  assert.equal(asked.length, 2);
  assert.equal(asked[1]!.length, 4);
  for (let i = 0; i < 5; i++) pool.take('192.0.2.1');
  assert.equal(pool.take('192.0.2.1'), undefined, 'ran dry after refills (a refill of 4 is under way)');
  await turn();
  while (pool.take('192.0.2.1') !== undefined);
  await turn();
  assert.deepEqual(asked.map((a) => a.length), [4, 4, 4, 8], 'the refill after running dry asks for twice as many');
  assert.equal(pool.claim(0x1000), true, 'handed out recently: its larval SA still exists');
  assert.equal(pool.claim(0x1000), false, 'claimed once');
  now += 25_000;
  assert.equal(pool.take('192.0.2.1'), undefined, 'older than 20 s: dropped');
  assert.equal(pool.claim(0x1001), true, 'reserved 25 s ago: the larval SA (30 s) is still there');
  now += 5_000;
  assert.equal(pool.claim(0x1002), false, 'reserved 30 s ago: the larval SA is gone, install with NEWSA');
});
