/**
 * More interop with Libreswan 4.10's pluto (interop/pluto.sh), beyond libreswan.test.ts: the
 * larger groups and SHA-2 PRFs in phase 1 and PFS, 3DES/MD5, IPComp proposed by pluto, the L2TP
 * shape (transport mode with protocol/port selectors, also behind a forced NAT), user@fqdn, key ID
 * and certificate identities (the last two in Aggressive Mode), a 0.0.0.0/0 selector, lifetimes
 * that differ between the sides (RESPONDER-LIFETIME, pluto replacing SAs as the responder) and
 * lifetimes of a day, pluto's DPD, simultaneous initiation. Every case reads both sides: our
 * `status` and log, pluto's `whack --showstates` and log. (The XAUTH cases with a wrong password
 * and pluto's Cisco mode are in libreswan-ra.test.ts.)
 *
 * What pluto cannot show here: `sha2-truncbug=yes` changes only the kernel's ESP ICV length, and
 * this kernel has no ESP (the fake-xfrm shim acknowledges SAs that do not exist; pluto logs
 * "netlink response for Get SA ...: No such process" when it reads their counters, and its DPD
 * works all the same). Libreswan 4.10 ignores a RESPONDER-LIFETIME notify ("ignoring
 * informational payload IPSEC_RESPONDER_LIFETIME") and sends none as the responder: each side
 * keeps its own lifetime, the shorter one's owner replaces or deletes the SA.
 *
 * Run by `npm run test:interop` (root). Uses interop/ only (not ../shared).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { A, B, RUN, interopSkipReason, until } from './peers.js';
import { PLUTO_SECRETS, TS, ourChild, ourConfig, pluto, plutoChild, plutoConn, plutoLab, plutoSkipReason } from './pluto.js';

const skip = interopSkipReason() || plutoSkipReason();
if (skip) console.log(`# Libreswan interop (more) skipped: ${skip}`);

/** Our connection in transport mode between the hosts, selectors replaced by `local`/`remote`. */
const transport = (conn: string, local: string, remote: string) => (sock: string) =>
  ourConfig(conn)(sock).replace('    ipsec_mode: tunnel\n', '    ipsec_mode: transport\n').replace(/    local_ts: .*\n    remote_ts: .*\n/, `    local_ts: "${local}"\n    remote_ts: "${remote}"\n`);

describe('Libreswan pluto: larger groups and SHA-2 PRFs', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('we initiate with ECP-384 and SHA2-384 in phase 1, PFS modp4096: both sides agree', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes256-sha2_384;dh20\nphase2alg=aes256-sha2_384;modp4096\npfs=yes`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-ecp384', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes256-sha384-ecp384\nesp: aes256-sha384-modp4096'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, `our status lacks pluto's SPIs: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.match(mine.algorithms, /aes256.*sha384.*modp4096/);
    assert.match((await o.status()).isakmp[0]?.algorithms ?? '', /aes256-sha384-ecp384/);
    assert.match(pluto.log('b'), /IKE SA established \{auth=PRESHARED_KEY cipher=AES_CBC_256 integ=HMAC_SHA2_384 group=DH20\}/);
  });

  test('pluto initiates with ECP-521 and SHA2-512 in phase 1, PFS modp8192', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes256-sha2_512;dh21\nphase2alg=aes256-sha2_512;modp8192\npfs=yes`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-ecp521', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes256-sha512-ecp521\nesp: aes256-sha512-modp8192'));
    const r = pluto.up('b', 'ours', 20);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, `our status lacks pluto's SPIs: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.equal(mine.role, 'responder');
    assert.match(mine.algorithms, /aes256.*sha512.*modp8192/);
    assert.match((await o.status()).isakmp[0]?.algorithms ?? '', /aes256-sha512-ecp521/);
    assert.match(pluto.log('b'), /group=DH21\}/);
  });
});

describe('Libreswan pluto: IPComp, the L2TP shape, identities', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('pluto proposes IPComp (compress=yes) with ESP under one proposal: we refuse it, naming the proposal and IPComp; pluto gets NO_PROPOSAL_CHOSEN', async () => {
    // Libreswan: "For IKEv1, compress settings on both peers must match" (ipsec.conf(5)); pluto
    // sends ESP and IPCOMP under one proposal number, which a responder takes whole or not at all
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\ncompress=yes`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-ipcomp', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const r = pluto.up('b', 'ours', 5);
    assert.notEqual(r.code, 0, `pluto established a connection with IPComp: ${r.out}`);
    const refused = await until(() => o.log().split('\n').find((l) => /no Quick Mode proposal chosen/.test(l)), 3000);
    assert.ok(refused, `no refusal in our log:\n${o.log().slice(-2000)}`);
    assert.match(refused, /peer offered esp aes128-sha256 \+ ipcomp deflate, we accept esp aes128-sha256; every proposal of the peer asks for IPComp \(compression\), which isakmp does not negotiate: turn it off on the peer \(compress=no\)/);
    assert.match(pluto.log('b'), /NO_PROPOSAL_CHOSEN/, `pluto did not see our notify:\n${pluto.tail('b')}`);
    assert.ok(!pluto.states('b').some((s) => s.spiIn !== undefined), 'pluto holds no IPsec SA');
    assert.equal((await o.status()).ipsec.length, 0);
  });

  test('we initiate (ESP alone) to pluto with compress=yes: pluto as the responder takes ESP without IPComp', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\ncompress=yes`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-ipcomp-i', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(o, theirs)), 'IPsec SA on both sides');
    assert.match(pluto.log('b'), /IPsec SA established tunnel mode \{ESP=>0x[0-9a-f]+ <0x[0-9a-f]+ xfrm=AES_CBC_128-HMAC_SHA2_256_128/);
    assert.doesNotMatch(pluto.log('b'), /IPCOMP=>/);
  });

  test('the L2TP shape: transport mode, udp/1701 on both sides, pluto initiates (as an L2TP client would)', async () => {
    pluto.start('b', B.ns, plutoConn('authby=secret\ntype=transport\nleftprotoport=17/1701\nrightprotoport=17/1701\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no'), PLUTO_SECRETS);
    const o = await lab.ours('lsw-l2tp', A.ns, transport('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256', `${A.ip}/32[udp/1701]`, `${B.ip}/32[udp/1701]`));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, `our status lacks pluto's SPIs: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.equal(mine.mode, 'transport');
    assert.deepEqual([mine.localTs, mine.remoteTs], [`${A.ip}[17/1701]`, `${B.ip}[17/1701]`]);
    assert.match(pluto.log('b'), /IPsec SA established transport mode/);
  });

  test('the L2TP server shape: pluto with rightprotoport=17/%any answers our udp/1701 from any port', async () => {
    pluto.start('b', B.ns, plutoConn('authby=secret\ntype=transport\nleftprotoport=17/1701\nrightprotoport=17/%any\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no'), PLUTO_SECRETS);
    const o = await lab.ours('lsw-l2tp-any', A.ns, transport('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256', `${A.ip}/32[udp]`, `${B.ip}/32[udp/1701]`));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, 'our side');
    assert.deepEqual([mine.localTs, mine.remoteTs], [`${A.ip}[17]`, `${B.ip}[17/1701]`]);
  });

  test('Main Mode PSK with user@fqdn identities (ID_USER_FQDN), we initiate', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\nleftid=pluto@peers.test\nrightid=ours@peers.test\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), `pluto@peers.test ours@peers.test : PSK "${/"(.*)"/.exec(PLUTO_SECRETS)![1]}"\n`);
    const o = await lab.ours('lsw-ufqdn', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256', { local: 'ours@peers.test', remote: 'pluto@peers.test' }));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(o, theirs)), 'IPsec SA on both sides');
    assert.match(pluto.log('b'), /Peer ID is ID_USER_FQDN: 'ours@peers.test'/);
    assert.equal((await o.status()).isakmp[0]?.peerId, 'pluto@peers.test');
  });

  test('ID_KEY_ID identities (pluto leftid=@#hex, ours keyid:TEXT) in Aggressive Mode PSK: pluto initiates, then we do', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\naggressive=yes\nleftid=@#67726f75702d62\nrightid=@#67726f75702d61\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), `@#67726f75702d62 @#67726f75702d61 : PSK "${/"(.*)"/.exec(PLUTO_SECRETS)![1]}"\n`);
    const o = await lab.ours('lsw-keyid', A.ns, ourConfig('mode: aggressive\nauth: psk\nsecret: psk\nallow_aggressive_psk_responder: true\nike: aes128-sha256-modp2048\nesp: aes128-sha256', { local: 'keyid:group-a', remote: 'keyid:group-b' }));
    const r = pluto.up('b', 'ours', 8);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(o, theirs)), 'IPsec SA on both sides');
    assert.match(pluto.log('b'), /Peer ID is ID_KEY_ID: '@#0x67726f75702d61'/);
    assert.deepEqual((await o.status()).isakmp.map((s: any) => [s.peerId, s.localId]), [['keyid:group-b', 'keyid:group-a']]);
    assert.equal(pluto.down('b', 'ours').code, 0);
    assert.ok(await until(async () => (await o.status()).isakmp.length === 0, 3000), "pluto's Deletes reached us");
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    assert.equal((await o.status()).isakmp[0]?.role, 'initiator');
  });
});

describe('Libreswan pluto: lifetimes that differ', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('pluto initiates with salifetime=8h, ours 1h: we shorten with RESPONDER-LIFETIME, which pluto 4.10 ignores (it keeps 8 h)', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nsalifetime=8h`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-life-r', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\nlifetime: 1h'));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const first = await plutoChild();
    assert.ok(first, 'pluto IPsec SA');
    const mine = await ourChild(o, first);
    assert.ok(mine, 'our side');
    assert.ok(mine.lifetimeLeft <= 3600 && mine.lifetimeLeft > 3500, `our IPsec SA lives ${mine.lifetimeLeft} s`);
    // our notify in QM2 (24 octets: the ESP SPI and SA Life Type/Duration 3600 as TV attributes),
    // parsed and set aside by pluto 4.10, which keeps its own lifetime
    assert.match(pluto.log('b'), /ignoring informational payload IPSEC_RESPONDER_LIFETIME, msgid=[0-9a-f]{8}, length=24/);
    assert.ok((first.replaceIn ?? 0) > 3600, `pluto kept its own lifetime: ${JSON.stringify(first)}`);
  });

  test('we initiate with lifetime 8h to pluto with salifetime=10s, ikelifetime=2h: pluto keeps its shorter lifetimes (no RESPONDER-LIFETIME) and rekeys the IPsec SA itself; we follow', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nsalifetime=10s\nikelifetime=2h\nrekeymargin=5s\nrekeyfuzz=0%`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-life-i', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\nlifetime: 8h\nrekey_margin: 9m\nike_lifetime: 8h'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const first = await plutoChild();
    assert.ok(first, 'pluto IPsec SA');
    const mine = await ourChild(o, first);
    assert.ok(mine, 'our side');
    // pluto says nothing of its shorter lifetimes (no RESPONDER-LIFETIME): we hold ours
    assert.ok(mine.lifetimeLeft > 28000, `our IPsec SA: ${mine.lifetimeLeft} s`);
    assert.doesNotMatch(pluto.log('b'), /RESPONDER_LIFETIME/);
    const p1 = pluto.states('b').find((s) => s.state === 'STATE_MAIN_R3');
    assert.ok(p1 && (p1.replaceIn ?? Infinity) <= 7200, `pluto's ISAKMP SA by its ikelifetime: ${JSON.stringify(p1)}`);
    const second = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 14_000, 250);
    assert.ok(second, `pluto did not replace the IPsec SA: ${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
    const ours2 = await ourChild(o, second);
    assert.ok(ours2, 'our side of the replacement');
    assert.equal(ours2.role, 'responder', 'pluto, the responder of the first IPsec SA, initiated its replacement');
    assert.ok(ours2.lifetimeLeft <= 10, `the replacement carries pluto's lifetime: ${ours2.lifetimeLeft} s`);
    const oldGone = await until(async () => !(await o.status()).ipsec.some((q: any) => q.spiIn === mine.spiIn), 8000, 250);
    assert.ok(oldGone, `the replaced IPsec SA stays on our side: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.match(o.log(), new RegExp(`"IPsec SA deleted","id":"q${mine.spiIn}","connection":"pluto","by":"peer"`), "pluto's Delete of the replaced SA");
    assert.ok(!pluto.states('b').some((s) => s.serial === first.serial), 'gone on pluto too');
  });
});

describe('Libreswan pluto: its DPD', { skip: skip || false }, () => {
  const lab = plutoLab();

  test("pluto's DPD (dpddelay=1, dpdtimeout=4, dpdaction=clear): we answer its R-U-THEREs; our daemon killed, pluto clears the connection", async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\ndpddelay=1\ndpdtimeout=4\ndpdaction=clear`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-pdpd', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\ndpd_delay: 0'));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}`);
    const answered = await until(() => (o.log().match(/DPD: R-U-THERE answered/g) ?? []).length >= 2, 6000, 200);
    assert.ok(answered, `we answered no two R-U-THEREs of pluto:\n${pluto.tail('b')}`);
    const before = pluto.states('b').map((s) => s.serial);
    o.proc.kill('SIGKILL');
    const cleared = await until(() => /"ours" #1: DPD action - clearing connection/.test(pluto.log('b')), 10_000, 250);
    assert.ok(cleared, `pluto did not declare us dead:\n${pluto.tail('b')}`);
    // pluto brought the connection up itself, so it starts over at once (its revival): new states only
    const left = pluto.states('b');
    assert.ok(!left.some((s) => before.includes(s.serial)), `pluto kept states of the dead peer: ${JSON.stringify(left)}`);
  });
});

describe('Libreswan pluto: NAT traversal in transport mode, phase-1 replacement by the responder', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('L2TP behind a NAT: transport mode with NAT-T forced by pluto (encapsulation=yes), udp/1701, pluto initiates: UDP-encapsulated transport with NAT-OA', async () => {
    pluto.start('b', B.ns, plutoConn('authby=secret\ntype=transport\nencapsulation=yes\nleftprotoport=17/1701\nrightprotoport=17/1701\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no'), PLUTO_SECRETS);
    const o = await lab.ours('lsw-l2tp-nat', A.ns, transport('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256', `${A.ip}/32[udp/1701]`, `${B.ip}/32[udp/1701]`));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, 'our side');
    assert.deepEqual([mine.mode, mine.udpEncapsulation, mine.localTs, mine.remoteTs], ['transport', true, `${A.ip}[17/1701]`, `${B.ip}[17/1701]`]);
    // our QM2 carries NAT-OAi and NAT-OAr (RFC 3947 §5.2); pluto takes the first
    assert.match(pluto.log('b'), /IPsec SA established transport mode \{ESPinUDP=>0x[0-9a-f]+ <0x[0-9a-f]+ xfrm=AES_CBC_128-HMAC_SHA2_256_128 NATOA=/);
  });

  test('L2TP behind a NAT, we initiate (encap: true) to pluto with rightprotoport=17/%any: pluto records our address from our NAT-OA', async () => {
    pluto.start('b', B.ns, plutoConn('authby=secret\ntype=transport\nleftprotoport=17/1701\nrightprotoport=17/%any\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no'), PLUTO_SECRETS);
    const o = await lab.ours('lsw-l2tp-nat-i', A.ns, transport('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\nencap: true', `${A.ip}/32[udp/1701]`, `${B.ip}/32[udp/1701]`));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine && mine.udpEncapsulation === true && mine.mode === 'transport', `our side: ${JSON.stringify(mine)}`);
    assert.match(pluto.log('b'), new RegExp(`transport mode \\{ESPinUDP=>0x${mine.spiIn} <0x${mine.spiOut} xfrm=AES_CBC_128-HMAC_SHA2_256_128 NATOA=${A.ip.replace(/\./g, '\\.')} `));
  });

  test('pluto as the responder replaces the ISAKMP SA by its short ikelifetime: our IPsec SA goes on, and our Deletes go under the new ISAKMP SA', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nikelifetime=12s\nrekeymargin=5s\nrekeyfuzz=0%`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-p1-life', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const first = await plutoChild();
    const mine = first && (await ourChild(o, first));
    assert.ok(first && mine, 'IPsec SA on both sides');
    const p1Before = (await o.status()).isakmp.map((s: any) => s.id);
    // pluto (the responder of our Main Mode) initiates the new one, then deletes the old
    const only = await until(async () => {
      const st = await o.status();
      return st.isakmp.length === 1 && !p1Before.includes(st.isakmp[0].id) ? st : undefined;
    }, 14_000, 250);
    assert.ok(only, `the ISAKMP SA was not replaced on our side: ${JSON.stringify((await o.status()).isakmp)}\n${pluto.tail('b')}`);
    assert.equal(only.isakmp[0].role, 'responder');
    assert.deepEqual(only.ipsec.map((q: any) => q.spiIn), [mine.spiIn], 'the IPsec SA goes on');
    assert.match(pluto.log('b'), /"ours" #\d+: initiating IKEv1 Main Mode connection to replace #1/);
    assert.ok(await until(() => pluto.states('b').some((s) => s.state === 'STATE_MAIN_I4') && !pluto.states('b').some((s) => s.serial === 1), 3000), `pluto: ${JSON.stringify(pluto.states('b'))}`);
    assert.equal((await o.ctl({ cmd: 'down', name: 'pluto' })).ok, true);
    const gone = await until(() => pluto.states('b').length === 0, 5000);
    assert.ok(gone, `pluto kept states after our Deletes under the new ISAKMP SA: ${JSON.stringify(pluto.states('b'))}`);
  });
});

describe('Libreswan pluto: legacy algorithms, Aggressive Mode with certificates, a 0.0.0.0/0 selector', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('3DES and MD5 in both phases (3des-md5, ESP 3des-md5): we initiate, then pluto does', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=3des-md5;modp2048\nphase2alg=3des-md5\npfs=no`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-3des', A.ns, ourConfig('auth: psk\nsecret: psk\nike: 3des-md5-modp2048\nesp: 3des-md5'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const first = await plutoChild();
    assert.ok(first && (await ourChild(o, first)), 'IPsec SA on both sides');
    assert.match(pluto.log('b'), /IKE SA established \{auth=PRESHARED_KEY cipher=3DES_CBC_192 integ=HMAC_MD5 group=MODP2048\}/);
    assert.match(pluto.log('b'), /xfrm=3DES_CBC-HMAC_MD5_96/);
    // pluto's own Quick Mode under the same ISAKMP SA
    const r = pluto.up('b', 'ours', 8);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}`);
    const second = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 5000);
    assert.ok(second && (await ourChild(o, second)), 'the IPsec SA pluto initiated, on both sides');
    assert.match((await o.status()).isakmp[0]?.algorithms ?? '', /3des-md5-modp2048/);
  });

  test('Aggressive Mode with RSA certificates: pluto initiates, then (after our Deletes) we do', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=rsasig\naggressive=yes\nleftcert=peer-b\nleftid=%fromcert\nrightid="C=CH, O=peers-test, CN=peer-a"\nleftsendcert=always\n${TS}\nike=aes256-sha2_256;modp2048\nphase2alg=aes256-sha2_256\npfs=no`), PLUTO_SECRETS, join(RUN, 'pki/peer-b.p12'));
    const o = await lab.ours('lsw-am-rsa', A.ns, ourConfig('mode: aggressive\nauth: rsa\nsecret: cert\nike: aes256-sha256-modp2048\nesp: aes256-sha256', { remote: 'C=CH, O=peers-test, CN=peer-b' }));
    const r = pluto.up('b', 'ours', 8);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(o, theirs)), 'IPsec SA on both sides');
    const p1 = (await o.status()).isakmp[0];
    assert.deepEqual([p1?.exchange, p1?.role], ['aggressive', 'responder']);
    // status shows a DN identity as dn:<DER in hex> (docs/daemon.md): …CN=peer-b at its end
    assert.match(p1?.peerId ?? '', new RegExp(`^dn:[0-9a-f]+${Buffer.from('peer-b').toString('hex')}$`));
    assert.match(pluto.log('b'), /Peer ID is ID_DER_ASN1_DN: 'C=CH, O=peers-test, CN=peer-a'/);
    assert.equal((await o.ctl({ cmd: 'down', name: 'pluto' })).ok, true);
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const mine = await until(async () => (await o.status()).isakmp.find((s: any) => s.role === 'initiator' && s.exchange === 'aggressive'), 3000);
    assert.ok(mine, `our Aggressive Mode as the initiator: ${JSON.stringify((await o.status()).isakmp)}`);
  });

  test('our remote_ts 0.0.0.0/0 against pluto leftsubnet=0.0.0.0/0 (ID_IPV4_ADDR_SUBNET 0.0.0.0/0.0.0.0): we initiate, then pluto does', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\nleftsubnet=0.0.0.0/0\nrightsubnet=${A.inner}/32\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-any', A.ns, (sock) => ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256')(sock).replace(`remote_ts: "${B.inner}/32"`, 'remote_ts: "0.0.0.0/0"'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    assert.match(pluto.log('b'), /us: 0\.0\.0\.0\/0===198\.18\.0\.2 {2}them: 198\.18\.0\.1===198\.18\.0\.129\/32/);
    const r = pluto.up('b', 'ours', 8);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}`);
    const second = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 5000);
    const mine = second && (await ourChild(o, second));
    assert.ok(mine, 'the IPsec SA pluto initiated, on both sides');
    assert.deepEqual([mine.localTs, mine.remoteTs], [A.inner, '0.0.0.0/0']);
  });
});

describe('Libreswan pluto: lifetimes of a day, simultaneous initiation', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('lifetimes of a day (86400 s does not fit 16 bits: a 4-octet duration) both ways: pluto initiates with ikelifetime=24h salifetime=24h, then we with 1d', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nikelifetime=24h\nsalifetime=24h`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-day', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\nlifetime: 1d\nike_lifetime: 1d'));
    const r = pluto.up('b', 'ours', 8);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}`);
    const first = await plutoChild();
    const mine = first && (await ourChild(o, first));
    assert.ok(mine, 'IPsec SA on both sides');
    assert.ok(mine.lifetimeLeft > 86000, `our IPsec SA: ${mine.lifetimeLeft} s`);
    assert.ok((await o.status()).isakmp[0]?.lifetimeLeft > 86000, 'our ISAKMP SA lives a day');
    assert.ok(pluto.states('b').every((s) => (s.replaceIn ?? 0) > 80_000), `pluto: ${JSON.stringify(pluto.states('b'))}`);
    // our turn: pluto takes its connection down (its Deletes; no revival), we initiate with 1d
    assert.equal(pluto.down('b', 'ours').code, 0);
    assert.ok(await until(async () => (await o.status()).isakmp.length === 0 && (await o.status()).ipsec.length === 0, 3000), "pluto's Deletes reached us");
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const second = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_R2' && s.spiIn !== undefined), 5000);
    assert.ok(second && (await ourChild(o, second)), 'the IPsec SA we initiated, on both sides');
    assert.ok(pluto.states('b').every((s) => (s.replaceIn ?? 0) > 80_000), `pluto took our day: ${JSON.stringify(pluto.states('b'))}`);
  });

  test('simultaneous initiation (pluto --asynchronous and our up at once): two ISAKMP SAs and two IPsec SAs, the same on both sides', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-simul', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const w = pluto.whack('b', '--initiate', '--name', 'ours', '--asynchronous');
    assert.equal(w.code, 0, w.out + w.err);
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    // each IPsec SA pluto holds is ours too, SPIs crossed, and we hold no other
    const agreed = await until(async () => {
      const theirs = pluto.states('b').filter((s) => s.spiIn !== undefined);
      const mine = (await o.status()).ipsec;
      return theirs.length >= 1 && theirs.length === mine.length && theirs.every((t) => mine.some((q: any) => q.spiIn === t.spiOut && q.spiOut === t.spiIn)) ? { theirs, mine } : undefined;
    }, 5000, 250);
    assert.ok(agreed, `the sides disagree: pluto ${JSON.stringify(pluto.states('b'))}, ours ${JSON.stringify((await o.status()).ipsec)}`);
    const p1s = (await o.status()).isakmp;
    assert.equal(p1s.length, pluto.states('b').filter((s) => /^STATE_MAIN_[IR][34]$/.test(s.state)).length, 'the same ISAKMP SAs');
    assert.doesNotMatch(o.log(), /"level":"(warn|error)","area":"ike"/, 'no failure on our side');
  });
});
