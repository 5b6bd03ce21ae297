/**
 * NAT traversal (RFC 3947 / RFC 3948) through a real NAT: the userspace UDP NAT of udp-nat.ts in
 * the router namespace between the client (isk-a, 10.77.0.2) and our gateway (isk-b,
 * 198.18.0.2); the client's datagrams reach us from the NAT's outside address 198.18.0.1 and a
 * port the NAT allocated. Nobody forces encapsulation: NAT-D finds the NAT.
 *
 * charon (fake-xfrm shim) initiates Main Mode PSK: both sides float to 4500 with MM5, the IPsec SA
 * is UDP-encapsulated; charon's NAT keepalives keep the mapping open past the NAT's idle timeout;
 * the NAT then rebinds (new outside port) and our gateway follows charon's next authenticated
 * message there: the ISAKMP SA, the IPsec SA (status, dataplane update), DPD and a new Quick Mode.
 * Then vpnc (XAUTH, Mode Config, Aggressive Mode) through the same NAT.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ours, RUN, capture, charon, interopSkipReason, script, until } from './peers.js';
import { INSIDE, NatRelay, OUTSIDE, ROUTER, natLabUp } from './nat-lab.js';
import { raYaml, usersFile } from './ra-configs.js';
import { GROUP, PSK as VPNC_PSK, prepareVpnc, scriptEnv, startVpnc, stopVpnc, type Vpnc } from './vpnc-client.js';

const skip = interopSkipReason();
if (skip) console.log(`# NAT interop skipped: ${skip}`);

/** The NAT's idle timeout: shorter than charon's DPD interval (10 s), longer than its keepalive interval. */
const IDLE_S = 6;
const KEEPALIVE_S = 2;
const PSK = 'nat-client-psk-secret-3d9a';
const SHIM = join(RUN, 'lib/fake-xfrm.so');
/** RFC 3947's vendor ID (MD5 of "RFC 3947") and draft-ietf-ipsec-nat-t-ike-02's, as tshark prints them. */
const NATT_RFC3947_VID = '4a131c81070358455c5728f20e95452f';
const NATT_DRAFT02_VID = 'cd60464335df21f87cfdb2fc68b6a448';

/** vpnc sends a NAT keepalive after 10 s without a datagram: the NAT forgets a little later. */
const VPNC_IDLE_S = 15;

/** The gateway for vpnc: Aggressive Mode, the group's ID_KEY_ID, XAUTH against a users file, Mode Config pull, no DPD. */
function vpncGatewayConfig(sock: string, users: string): string {
  const extra = ['mode: aggressive', 'allow_aggressive_psk_responder: true', 'local_ts: 10.1.0.0/16', 'modecfg: pull', 'pool: 10.10.12.0/24', 'dns: [10.1.0.53]', 'split_include: [10.1.0.0/16]', 'dpd_delay: 0'];
  const vpncNat = { name: 'vpnc-nat', auth: 'psk', secret: 'group', local: OUTSIDE.ip, remote: `{ address: "%any", id: "keyid:${GROUP}" }`, xauth: usersFile(users), ike: 'aes256-sha1-modp2048', esp: 'aes256-sha1', extra } as const;
  return raYaml({ listen: OUTSIDE.ip, sock, secrets: { group: `{ psk: "${VPNC_PSK}" }` }, connections: [vpncNat] });
}

function gatewayConfig(sock: string): string {
  return `global:
  listen: [${OUTSIDE.ip}]
  control_socket: ${sock}
  log: { level: debug }
  dataplane: xfrm
secrets:
  nat: { psk: "${PSK}" }
connections:
  nat-client:
    mode: main
    auth: psk
    secret: nat
    local:  { address: ${OUTSIDE.ip} }
    remote: { address: "%any", id: "@client.nat.test" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256-modp2048
    local_ts: ${OUTSIDE.ip}/32
    remote_ts: ${INSIDE.ip}/32
    dpd_delay: 10s
    dpd_timeout: 30s
`;
}

/** Our log without the tests' status polling. */
function ourLog(ours: Ours): string {
  return ours
    .log()
    .split('\n')
    .filter((l) => !l.includes('"cmd":"status"'))
    .join('\n');
}

describe('a real NAT between the client and our gateway', { skip, concurrency: false }, () => {
  let relay: NatRelay | undefined;
  let ours: Ours | undefined;
  let users = '';
  before(async () => {
    users = await prepareVpnc(natLabUp);
  });
  after(async () => {
    charon.stop('a');
    await ours?.stop();
    await relay?.stop();
    script('netns.sh', ['down']);
  });

  describe('charon behind the NAT initiates Main Mode PSK', { concurrency: false }, () => {
    /** The outside port of charon's NAT-T mapping (10.77.0.2:4500) when established. */
    let natPort = 0;
    let ispi = '';

    before(async () => {
      relay = await NatRelay.start(IDLE_S);
      const r = script('charon.sh', ['start', 'a', INSIDE.ns, 'fake'], 60_000, { CHARON_EXTRA: `keep_alive = ${KEEPALIVE_S}s` });
      if (r.code !== 0) throw new Error(`charon start: ${r.err}`);
      charon.load('a', 'nat-client.conf');
      ours = await Ours.start('nat-gw', OUTSIDE.ns, gatewayConfig, { LD_PRELOAD: SHIM, FAKE_XFRM_LOG: join(RUN, 'ours-nat-gw', 'fake-xfrm.log') });
    });
    after(async () => {
      charon.stop('a');
      await ours?.stop();
      ours = undefined;
      await relay?.stop();
      relay = undefined;
    });

    test('NAT-D finds the NAT, both float to 4500 with MM5, the IPsec SA is UDP-encapsulated; we hold the NAT\'s address and port', async () => {
      const up = charon.up('a', 'nat-psk', 'host');
      assert.equal(up.code, 0, `charon up: ${up.out}${up.err}\n${charon.tail('a')}\n--- ours:\n${ourLog(ours!).slice(-3000)}`);
      const sa = charon.sas('a').find((s) => s.conn === 'nat-psk' && s.state === 'ESTABLISHED');
      assert.ok(sa, JSON.stringify(charon.sas('a')));
      ispi = sa.ispi;
      const child = sa.children.find((c) => c.state === 'INSTALLED');
      assert.ok(child, JSON.stringify(sa));
      assert.equal(child.encap, 'yes', 'charon: ESP in UDP');
      // the NAT gave charon's 500 and 4500 each a port of its own, neither of them 500 or 4500
      const m500 = relay!.mapping(`${INSIDE.ip}:500`);
      const m4500 = relay!.mapping(`${INSIDE.ip}:4500`);
      assert.ok(m500 && m4500, JSON.stringify(relay!.state()));
      assert.notEqual(m500.outsidePort, m4500.outsidePort);
      for (const p of [m500.outsidePort, m4500.outsidePort]) assert.ok(p !== 500 && p !== 4500, `port ${p}`);
      natPort = m4500.outsidePort;
      const st = await ours!.status();
      const p1 = st.isakmp.find((s: any) => s.initiatorCookie === sa.ispi && s.responderCookie === sa.rspi);
      assert.ok(p1, JSON.stringify(st.isakmp));
      assert.equal(p1.state, 'established');
      assert.deepEqual(p1.nat, { local: false, remote: true, encapsulation: true }, 'we found the NAT in front of the peer, none in front of us');
      assert.equal(p1.remote, `${ROUTER.outside}:${natPort}`);
      assert.equal(p1.local, `${OUTSIDE.ip}:4500`);
      const q = st.ipsec.find((x: any) => x.spiOut === child.spiIn);
      assert.ok(q, JSON.stringify(st.ipsec));
      assert.equal(q.udpEncapsulation, true);
      assert.equal(q.mode, 'tunnel');
      assert.equal(q.remote, ROUTER.outside);
      assert.deepEqual(q.udpEncapsulationPorts, { local: 4500, remote: natPort });
      assert.equal(q.remoteTs, INSIDE.ip);
      // charon saw the NAT in front of itself (its log, IKE level)
      assert.match(charon.log('a'), /local host is behind NAT/);
    });

    test('NAT keepalives from charon keep the mapping open past the NAT\'s idle timeout; our DPD is answered through it', async () => {
      assert.ok(natPort > 0, 'the first case established the SA');
      const k0 = relay!.mapping(`${INSIDE.ip}:4500`)?.keepalives ?? 0;
      const t0 = Date.now();
      // longer than the idle timeout twice over, and than our DPD delay (10 s)
      const wait = (2 * IDLE_S + 2) * 1000;
      const dpdAcked = until(() => /DPD: R-U-THERE(-ACK| answered)/.test(ourLog(ours!)), wait + 4000, 250);
      while (Date.now() - t0 < wait) await new Promise((r) => setTimeout(r, 250));
      const m = relay!.mapping(`${INSIDE.ip}:4500`);
      assert.ok(m, `the mapping expired:\n${relay!.log()}`);
      assert.equal(m.outsidePort, natPort, `the same mapping all along:\n${relay!.log()}`);
      assert.ok(m.keepalives - k0 >= Math.floor(wait / 1000 / KEEPALIVE_S) - 2, `charon's keepalives: ${m.keepalives - k0} in ${wait} ms`);
      assert.ok(!relay!.log().includes(`unmap ${INSIDE.ip}:4500`), relay!.log());
      assert.ok(await dpdAcked, `no DPD exchange through the NAT:\n${ourLog(ours!).slice(-3000)}`);
      const st = await ours!.status();
      const p1 = st.isakmp.find((s: any) => s.initiatorCookie === ispi);
      assert.equal(p1?.state, 'established', JSON.stringify(st.isakmp));
      assert.equal(p1.remote, `${ROUTER.outside}:${natPort}`);
      assert.ok(!/peer-dead|peer dead/i.test(ourLog(ours!)));
    });

    test('the NAT rebinds, charon starts a Quick Mode: our gateway follows it to its new port (ISAKMP SA, IPsec SA, dataplane), DPD works there', async () => {
      assert.ok(natPort > 0, 'the first case established the SA');
      const before = await ours!.status();
      const oldChild = before.ipsec.find((q: any) => q.udpEncapsulationPorts?.remote === natPort);
      assert.ok(oldChild, `the IPsec SA of the first case: ${JSON.stringify(before.ipsec)}`);
      await relay!.rebind();
      // charon's next datagram out (a keepalive: within KEEPALIVE_S) gets a new port
      const m = await until(() => relay!.mapping(`${INSIDE.ip}:4500`), (KEEPALIVE_S + 3) * 1000);
      assert.ok(m, `no new mapping:\n${relay!.log()}`);
      const newPort = m.outsidePort;
      assert.notEqual(newPort, natPort);
      // keepalives alone move nothing (they prove nothing): checked when nothing else came yet (the
      // NAT's counters, written every second, read a second after our status)
      const stillOld = (await ours!.status()).isakmp.find((s: any) => s.initiatorCookie === ispi)?.remote;
      await new Promise((r) => setTimeout(r, 1100));
      const m2 = relay!.mapping(`${INSIDE.ip}:4500`);
      if (m2 && m2.outsidePort === newPort && m2.out === m2.keepalives) assert.equal(stillOld, `${ROUTER.outside}:${natPort}`);
      // a new Quick Mode from charon: its first message is answered at the new port, its third
      // (fresh: it answers ours) moves the SA there
      const up = charon.up('a', 'nat-psk', 'host');
      assert.equal(up.code, 0, `charon's Quick Mode after the rebind: ${up.out}${up.err}\n${charon.tail('a')}\n--- ours:\n${ourLog(ours!).slice(-3000)}`);
      const st = await until(async () => {
        const s = await ours!.status();
        return s.isakmp.find((x: any) => x.initiatorCookie === ispi)?.remote === `${ROUTER.outside}:${newPort}` ? s : undefined;
      }, 5000);
      assert.ok(st, `our ISAKMP SA did not follow to ${newPort}: ${JSON.stringify((await ours!.status()).isakmp)}\n${ourLog(ours!).slice(-3000)}`);
      const sa = charon.sas('a').find((s) => s.ispi === ispi);
      assert.ok(sa, JSON.stringify(charon.sas('a')));
      const newest = sa.children.filter((c) => c.state === 'INSTALLED').at(-1);
      assert.ok(newest);
      const q = st.ipsec.find((x: any) => x.spiOut === newest.spiIn);
      assert.ok(q, JSON.stringify(st.ipsec));
      assert.deepEqual(q.udpEncapsulationPorts, { local: 4500, remote: newPort }, 'the new IPsec SA encapsulates to the new port');
      // the IPsec SA from before the rebind followed too (unless charon deleted it meanwhile: the
      // fake-xfrm shim makes its CHILD_SAs expire ~23 s after install)
      if (st.ipsec.some((x: any) => x.id === oldChild.id)) {
        // status, the log, the kernel (an UPDSA)
        const o = st.ipsec.find((x: any) => x.id === oldChild.id);
        assert.deepEqual(o.udpEncapsulationPorts, { local: 4500, remote: newPort });
        assert.match(ourLog(ours!), new RegExp(`IPsec SA follows the peer's new NAT mapping.*"remote":"${ROUTER.outside.replace(/\./g, '\\.')}:${newPort}"`));
        const xfrm = readFileSync(join(RUN, 'ours-nat-gw', 'fake-xfrm.log'), 'utf8');
        assert.match(xfrm, /UPDSA/, xfrm.slice(-2000));
      }
      // DPD at the new port: our probe acknowledged or charon's answered (whichever side is
      // silent first probes; the other's count starts again from the probe)
      const dpdLines = (): number => (ourLog(ours!).match(/DPD: R-U-THERE(-ACK| answered)/g) ?? []).length;
      const dpd0 = dpdLines();
      const dpd = await until(() => dpdLines() > dpd0, 15_000, 250);
      assert.ok(dpd, `no DPD after the rebind:\n${ourLog(ours!).slice(-3000)}`);
      const after = await ours!.status();
      assert.equal(after.isakmp.find((x: any) => x.initiatorCookie === ispi)?.remote, `${ROUTER.outside}:${newPort}`);
      assert.ok(!/peer-dead|peer dead/i.test(ourLog(ours!)));
      natPort = newPort;
    });

    test('the NAT rebinds again, nobody starts anything: DPD alone brings our gateway to the new port, then a Quick Mode there', async () => {
      assert.ok(natPort > 0, 'the first case established the SA');
      const rebound = Date.now();
      await relay!.rebind();
      const m = await until(() => relay!.mapping(`${INSIDE.ip}:4500`), (KEEPALIVE_S + 3) * 1000);
      assert.ok(m, `no new mapping:\n${relay!.log()}`);
      const newPort = m.outsidePort;
      assert.notEqual(newPort, natPort);
      const acks = (): number => (ourLog(ours!).match(/DPD: R-U-THERE-ACK/g) ?? []).length;
      const acks0 = acks();
      // charon, silent from us (our answers and probes go to the old port, closed), probes after
      // its DPD delay (10 s): we answer where it came from, and probe there too; our probe's ACK
      // (fresh: it answers our outstanding one) moves the SA
      const st = await until(async () => {
        const s = await ours!.status();
        return s.isakmp.find((x: any) => x.initiatorCookie === ispi)?.remote === `${ROUTER.outside}:${newPort}` ? s : undefined;
      }, 30_000, 250);
      assert.ok(st, `our ISAKMP SA did not follow to ${newPort}: ${JSON.stringify((await ours!.status()).isakmp)}\n${ourLog(ours!).slice(-4000)}\n--- charon:\n${charon.tail('a')}`);
      assert.ok(acks() > acks0, 'moved by the ACK of our probe');
      // at once after charon's first R-U-THERE from the new port (answered there), not a DPD delay later
      const lines = ourLog(ours!).split('\n');
      const at = (re: RegExp): number => Date.parse(JSON.parse(lines.find((l) => re.test(l) && Date.parse(JSON.parse(l).time) > rebound) ?? '{"time":"x"}').time);
      const asked = at(/DPD: R-U-THERE answered/);
      const acked = at(/DPD: R-U-THERE-ACK/);
      assert.ok(acked - asked >= 0 && acked - asked < 2000, `our probe ${acked - asked} ms after charon's`);
      const up = charon.up('a', 'nat-psk', 'host');
      assert.equal(up.code, 0, `charon's Quick Mode at the new port: ${up.out}${up.err}\n${charon.tail('a')}`);
      const sa = charon.sas('a').find((s) => s.ispi === ispi);
      const newest = sa?.children.filter((c) => c.state === 'INSTALLED').at(-1);
      assert.ok(newest, JSON.stringify(sa));
      const q = await until(async () => (await ours!.status()).ipsec.find((x: any) => x.spiOut === newest.spiIn), 5000);
      assert.ok(q);
      assert.deepEqual(q.udpEncapsulationPorts, { local: 4500, remote: newPort });
      assert.ok(!/peer-dead|peer dead/i.test(ourLog(ours!)));
    });
  });
  describe('vpnc behind the NAT: Aggressive Mode group PSK, XAUTH, Mode Config, Quick Mode, NAT-T', { concurrency: false }, () => {
    let vpnc: Vpnc | undefined;
    before(async () => {
      // no IPv6 on vpnc's tun: the kernel's router solicitations would go out as ESP and keep the
      // mapping open without keepalives
      spawnSync('ip', ['netns', 'exec', INSIDE.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      relay = await NatRelay.start(VPNC_IDLE_S);
      ours = await Ours.start('nat-vpnc-gw', OUTSIDE.ns, (sock) => vpncGatewayConfig(sock, users));
    });
    after(async () => {
      if (vpnc) await stopVpnc(vpnc);
      await ours?.stop();
      ours = undefined;
    });

    test('vpnc\'s RFC 3947 vendor ID, NAT-D finds the NAT, float with AM3; XAUTH, Mode Config, a UDP-encapsulated IPsec SA at the NAT\'s port; vpnc\'s keepalives hold the mapping; its Deletes come through', async () => {
      const pcap = join(RUN, 'nat-vpnc.pcap');
      const cap = capture.start(INSIDE.ns, pcap);
      assert.equal(cap.code, 0, cap.err);
      vpnc = startVpnc(GROUP, ['IKE DH Group dh14', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode natt', 'DPD idle timeout (our side) 60']);
      const env = await until(() => scriptEnv('connect'), 20_000);
      capture.stop();
      assert.ok(env, `vpnc did not connect:\n${vpnc.out.slice(-4000)}\n--- ours:\n${ourLog(ours!).slice(-4000)}`);
      const addr = env.get('INTERNAL_IP4_ADDRESS') ?? '';
      assert.match(addr, /^10\.10\.12\.\d+$/);
      assert.match(vpnc.out, /NAT status: this end behind NAT\? YES -- remote end behind NAT\? no/);
      // the vendor IDs on the wire (inside the NAT): vpnc offers RFC 3947's and the drafts'; we
      // answer with RFC 3947's, the only one we speak
      const vids = spawnSync('tshark', ['-r', pcap, '-Y', 'isakmp.exchangetype == 4', '-T', 'fields', '-e', 'ip.src', '-e', 'isakmp.vid_bytes'], { encoding: 'utf8' }).stdout;
      const byHost = new Map<string, string>();
      for (const l of vids.trim().split('\n')) {
        const [src, v] = l.split('\t');
        if (src && v && !byHost.has(src)) byHost.set(src, v);
      }
      const mine = byHost.get(OUTSIDE.ip) ?? '';
      const theirs = byHost.get(INSIDE.ip) ?? '';
      assert.ok(theirs.includes(NATT_RFC3947_VID) && theirs.includes(NATT_DRAFT02_VID), `vpnc's AM1 vendor IDs: ${theirs}`);
      assert.ok(mine.includes(NATT_RFC3947_VID) && !mine.includes(NATT_DRAFT02_VID), `our AM2 vendor IDs: ${mine}`);
      const st = await until(async () => {
        const s = await ours!.status();
        return s.ipsec.length > 0 ? s : undefined;
      }, 10_000);
      assert.ok(st, `no IPsec SA on our side:\n${ourLog(ours!).slice(-3000)}`);
      const m = relay!.mapping(`${INSIDE.ip}:4500`);
      assert.ok(m, `vpnc never sent from its 4500: ${JSON.stringify(relay!.state())}\n${vpnc.out.slice(-3000)}`);
      assert.ok(m.outsidePort !== 4500 && m.outsidePort !== 500);
      const sa = st.isakmp[0];
      assert.equal(sa.connection, 'vpnc-nat');
      assert.equal(sa.exchange, 'aggressive');
      assert.equal(sa.peerId, `keyid:${GROUP}`);
      assert.equal(sa.remoteAccess.user, 'alice');
      assert.equal(sa.remoteAccess.virtualAddress, addr);
      assert.deepEqual(sa.nat, { local: false, remote: true, encapsulation: true });
      assert.equal(sa.remote, `${ROUTER.outside}:${m.outsidePort}`);
      const child = st.ipsec[0];
      assert.equal(child.udpEncapsulation, true);
      assert.equal(child.remoteTs, addr);
      assert.deepEqual(child.udpEncapsulationPorts, { local: 4500, remote: m.outsidePort });
      // nothing comes from us (no DPD on this gateway), nothing goes through the tunnel: vpnc's
      // keepalives (after 10 s without a datagram) alone keep the mapping past the NAT's idle
      // timeout, twice over
      const k0 = m.keepalives;
      const wait = (2 * VPNC_IDLE_S + 2) * 1000;
      await new Promise((r) => setTimeout(r, wait));
      const later = relay!.mapping(`${INSIDE.ip}:4500`);
      assert.equal(later?.outsidePort, m.outsidePort, `the mapping expired:\n${relay!.log()}`);
      assert.ok(later.keepalives - k0 >= 2, `vpnc's keepalives: ${later.keepalives - k0} in ${wait} ms\n${relay!.log()}`);
      assert.ok(!relay!.log().includes(`unmap ${INSIDE.ip}:4500`), relay!.log());
      // ... and we counted them as keepalives
      const counters = (await ours!.status()).counters;
      assert.ok(counters.transport.keepalivesDropped >= later.keepalives - k0, JSON.stringify(counters.transport));
      // vpnc exits: its Deletes come through the NAT, and our SAs and the lease go
      const running = await until(() => vpnc!.out.includes('VPNC started in foreground'), 10_000);
      assert.ok(running);
      await stopVpnc(vpnc);
      const gone = await until(async () => {
        const s = await ours!.status();
        return s.isakmp.length === 0 && s.ipsec.length === 0;
      }, 10_000);
      assert.ok(gone, `our SAs outlived vpnc's Deletes:\n${ourLog(ours!).slice(-3000)}`);
      assert.match(ourLog(ours!), new RegExp(`Mode Config: virtual address ${addr.replace(/\./g, '\\.')} released`));
    });
  });
});
