/**
 * Interop with Libreswan 4.10's pluto (Debian 12's package, unpacked by interop/pluto.sh): a
 * second IKEv1 implementation, independent of strongSwan's, in the namespace beside our daemon.
 * pluto runs with the fake-xfrm shim (no ESP on this kernel). Every case reads both sides: our
 * `status` and pluto's `whack --showstates` (the same SPIs, crossed).
 *
 * Run by `npm run test:interop` (root). Uses interop/ only (not ../shared).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { A, B, ROOT, RUN, interopSkipReason, until } from './peers.js';
import { PKI, PLUTO_SECRETS, PSK, TS, ourChild, ourConfig, pluto, plutoChild, plutoConn, plutoLab, plutoSkipReason } from './pluto.js';

const skip = interopSkipReason() || plutoSkipReason();
if (skip) console.log(`# Libreswan interop skipped: ${skip}`);

describe('Libreswan pluto (IKEv1) against our daemon', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('we initiate: Main Mode PSK, Quick Mode with PFS (modp2048); pluto holds the same SPIs, crossed', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes`), PLUTO_SECRETS);
    const ours = await lab.ours('lsw-i', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256-modp2048'));
    const up = await ours.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no established IPsec SA:\n${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
    assert.equal(theirs.state, 'STATE_QUICK_R2');
    assert.ok(pluto.states('b').some((s) => s.state === 'STATE_MAIN_R3'), 'pluto: ISAKMP SA established as responder');
    const mine = await ourChild(ours, theirs);
    assert.ok(mine, `our status lacks pluto's SPIs ${theirs.spiIn}/${theirs.spiOut}: ${JSON.stringify((await ours.status()).ipsec)}`);
    assert.match(mine.algorithms, /aes128.*sha256.*modp2048/);
    assert.match(pluto.log('b'), /IKE SA established \{auth=PRESHARED_KEY cipher=AES_CBC_128 integ=HMAC_SHA2_256 group=MODP2048\}/);

    // our Delete (down) removes pluto's IPsec SA and ISAKMP SA
    assert.equal((await ours.ctl({ cmd: 'down', name: 'pluto' })).ok, true);
    const gone = await until(() => pluto.states('b').length === 0, 10_000);
    assert.ok(gone, `pluto still holds states after our Deletes: ${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
  });

  test('pluto initiates (we respond): aes256-sha2_512 modp3072, Quick Mode without PFS', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes256-sha2_512;modp3072\nphase2alg=aes256-sha2_512\npfs=no`), PLUTO_SECRETS);
    const ours = await lab.ours('lsw-r', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes256-sha512-modp3072\nesp: aes256-sha512'));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${ours.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no established IPsec SA: ${r.out}`);
    assert.equal(theirs.state, 'STATE_QUICK_I2');
    const mine = await ourChild(ours, theirs);
    assert.ok(mine, `our status lacks pluto's SPIs: ${JSON.stringify((await ours.status()).ipsec)}`);
    assert.equal(mine.role, 'responder');
    assert.match(mine.algorithms, /aes256.*sha512/);
    const p1 = (await ours.status()).isakmp.find((s: any) => s.connection === 'pluto');
    assert.equal(p1?.role, 'responder');
    assert.match(p1?.algorithms ?? '', /aes256-sha512-modp3072/);
  });

  test('Aggressive Mode PSK with FQDN identities, pluto initiates', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\naggressive=yes\nleftid=@pluto.peers.test\nrightid=@ours.peers.test\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), PLUTO_SECRETS);
    const ours = await lab.ours(
      'lsw-am',
      A.ns,
      ourConfig('mode: aggressive\nauth: psk\nsecret: psk\nallow_aggressive_psk_responder: true\nike: aes128-sha256-modp2048\nesp: aes128-sha256', { local: '@ours.peers.test', remote: '@pluto.peers.test' }),
    );
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${ours.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no established IPsec SA: ${r.out}`);
    assert.ok(await ourChild(ours, theirs), 'our status holds the IPsec SA');
    const p1 = (await ours.status()).isakmp.find((s: any) => s.connection === 'pluto');
    assert.equal(p1?.exchange, 'aggressive');
    assert.match(p1?.peerId ?? '', /pluto\.peers\.test/);
  });

  test('Main Mode RSA signatures with certificates (pluto: NSS database from the same CA), we initiate', async () => {
    pluto.start(
      'b',
      B.ns,
      plutoConn(`authby=rsasig\nleftcert=peer-b\nleftid=%fromcert\nrightid="C=CH, O=peers-test, CN=peer-a"\nleftsendcert=always\n${TS}\nike=aes256-sha2_256;modp2048\nphase2alg=aes256-sha2_256;modp2048`),
      PLUTO_SECRETS,
      join(PKI, 'peer-b.p12'),
    );
    const ours = await lab.ours('lsw-rsa', A.ns, ourConfig('auth: rsa\nsecret: cert\nike: aes256-sha256-modp2048\nesp: aes256-sha256-modp2048', { remote: 'C=CH, O=peers-test, CN=peer-b' }));
    const up = await ours.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no established IPsec SA:\n${pluto.tail('b')}`);
    assert.ok(await ourChild(ours, theirs), 'our status holds the IPsec SA');
    assert.match(pluto.log('b'), /auth=RSA_SIG/);
  });

  test('pluto initiates with RSA certificates (it asks for ours with a CR), we answer with our certificate', async () => {
    pluto.start(
      'b',
      B.ns,
      plutoConn(`authby=rsasig\nleftcert=peer-b\nleftid=%fromcert\nrightid="C=CH, O=peers-test, CN=peer-a"\nrightca=%same\n${TS}\nike=aes256-sha2_512;modp4096\nphase2alg=aes256-sha2_256\npfs=no`),
      PLUTO_SECRETS,
      join(PKI, 'peer-b.p12'),
    );
    const o = await lab.ours('lsw-rsa-r', A.ns, ourConfig('auth: rsa\nsecret: cert\nike: aes256-sha512-modp4096\nesp: aes256-sha256', { remote: 'C=CH, O=peers-test, CN=peer-b' }));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2500)}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(o, theirs)), 'IPsec SA on both sides');
    assert.match(pluto.log('b'), /Peer ID is ID_DER_ASN1_DN: 'C=CH, O=peers-test, CN=peer-a'/);
    const p1 = (await o.status()).isakmp.find((s: any) => s.connection === 'pluto');
    assert.equal(p1?.role, 'responder');
    assert.match(p1?.algorithms ?? '', /aes256-sha512-modp4096 rsa/);
  });

  test('we rekey by our lifetimes (IPsec SA at 4 s, ISAKMP SA at 8 s) with pluto as the responder; pluto moves to the new SAs', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-our-rekey', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256-modp2048\nlifetime: 30s\nrekey_margin: 26s\nike_lifetime: 60s\nike_rekey_margin: 52s\nrekey_fuzz: 0'));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const first = await plutoChild();
    assert.ok(first, 'first IPsec SA');
    const p1Before = (await o.status()).isakmp.map((s: any) => s.id);
    const second = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_R2' && s.spiIn !== undefined && s.spiIn !== first.spiIn), 12_000, 250);
    assert.ok(second, `no second IPsec SA on pluto after our rekey: ${JSON.stringify(pluto.states('b'))}\n${o.log().slice(-2000)}`);
    assert.ok(await ourChild(o, second), 'our side of the new IPsec SA');
    const newP1 = await until(async () => (await o.status()).isakmp.find((s: any) => !p1Before.includes(s.id) && /established/i.test(s.state)), 12_000, 250);
    assert.ok(newP1, `no new ISAKMP SA after our phase-1 rekey: ${JSON.stringify((await o.status()).isakmp)}`);
    assert.ok(await until(() => pluto.states('b').filter((s) => s.state === 'STATE_MAIN_R3').length >= 1 && pluto.states('b').some((s) => s.state === 'STATE_MAIN_R3' && s.serial > first.serial), 5000), `pluto holds the new ISAKMP SA: ${JSON.stringify(pluto.states('b'))}`);
  });

  test('pluto killed and started again initiates with INITIAL-CONTACT (initial-contact=yes): we drop the SAs of its earlier life', async () => {
    const conf = plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\ninitial-contact=yes`);
    pluto.start('b', B.ns, conf, PLUTO_SECRETS);
    const o = await lab.ours('lsw-ic', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\ndpd_delay: 0'));
    assert.equal(pluto.up('b', 'ours').code, 0);
    const first = await until(async () => (await o.status()).isakmp.find((s: any) => s.connection === 'pluto'), 5000);
    assert.ok(first, 'first ISAKMP SA');
    pluto.kill('b');
    pluto.start('b', B.ns, conf, PLUTO_SECRETS);
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `second initiate: ${r.out}${r.err}`);
    const only = await until(async () => {
      const st = await o.status();
      return st.isakmp.length === 1 && st.isakmp[0].id !== first.id && st.ipsec.length === 1 ? st : undefined;
    }, 8000);
    assert.ok(only, `the SAs of pluto's earlier life are still here: ${JSON.stringify((await o.status()).isakmp.map((s: any) => s.id))} (first ${first.id})\n${o.log().split('\n').filter((l) => /INITIAL|deleted/.test(l)).join('\n')}`);
  });

  test('a Quick Mode PFS mismatch (pluto requires PFS, we offer none) is named on our side', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes`), PLUTO_SECRETS);
    const ours = await lab.ours('lsw-pfs', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const up = await ours.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, false);
    assert.match(String(up.error), /NO_PROPOSAL_CHOSEN/);
    assert.match(String(up.error), /pfs/, 'the refusal tells what to compare');
    assert.match(ours.log(), /Quick Mode failed.*NO_PROPOSAL_CHOSEN/);
    assert.match(pluto.log('b'), /we require PFS but Quick I1 SA specifies no GROUP_DESCRIPTION/);
  });

  test('our DPD (RFC 3706) with pluto: R-U-THEREs answered while it lives; killed, it is declared dead after dpd_timeout and its SAs cleared', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), PLUTO_SECRETS);
    const ours = await lab.ours('lsw-dpd', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\ndpd_delay: 1s\ndpd_timeout: 3s'));
    const up = await ours.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    assert.ok(await plutoChild(), 'pluto established the IPsec SA');
    const acks = await until(() => (ours!.log().match(/DPD: R-U-THERE-ACK/g) ?? []).length >= 2, 8000, 200);
    assert.ok(acks, `pluto did not answer two of our R-U-THEREs:\n${ours.log().slice(-1500)}`);
    assert.doesNotMatch(ours.log(), /peer does not answer/);
    pluto.kill('b');
    const dead = await until(() => /DPD: peer does not answer, clearing its SAs/.test(ours!.log()), 10_000, 200);
    assert.ok(dead, `no dead-peer line after pluto was killed:\n${ours.log().slice(-1500)}`);
    const left = await until(async () => {
      const s = await ours!.status();
      return s.isakmp.length === 0 && s.ipsec.length === 0;
    }, 5000);
    assert.ok(left, `SAs of the dead peer left: ${JSON.stringify(await ours.status())}`);
  });

  test('pluto rekeys the IPsec SA and the ISAKMP SA by their lifetimes, then takes the connection down: we follow each step', async () => {
    // pluto 4.10 refuses a forced rekey of an IKEv1 connection: short lifetimes and margins instead
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes\nsalifetime=30s\nikelifetime=40s\nrekeymargin=26s\nrekeyfuzz=0%`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-rekey', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256-modp2048'));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}`);
    const first = await plutoChild();
    assert.ok(first && (await ourChild(o, first)), 'first IPsec SA on both sides');
    const p1Before = (await o.status()).isakmp.map((s: any) => s.id);
    // the IPsec SA at 30 - 26 = 4 s, the ISAKMP SA at 40 - 26 = 14 s
    const second = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined && s.spiIn !== first.spiIn), 12_000, 250);
    assert.ok(second, `pluto did not rekey the IPsec SA: ${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
    assert.ok(await ourChild(o, second), `our status lacks the rekeyed IPsec SA: ${JSON.stringify((await o.status()).ipsec)}`);
    const newP1 = await until(async () => (await o.status()).isakmp.find((s: any) => s.connection === 'pluto' && !p1Before.includes(s.id) && /established/i.test(s.state)), 16_000, 250);
    assert.ok(newP1, `no second ISAKMP SA after pluto's phase-1 rekey: ${JSON.stringify((await o.status()).isakmp)}\n${pluto.tail('b')}`);

    const dn = pluto.down('b', 'ours');
    assert.equal(dn.code, 0, `whack --terminate: ${dn.out}${dn.err}`);
    const empty = await until(async () => (await o.status()).ipsec.length === 0, 10_000);
    assert.ok(empty, `pluto's Deletes left IPsec SAs on our side: ${JSON.stringify((await o.status()).ipsec)}`);
  });

  test('NAT traversal forced by pluto (encapsulation=yes): both float to 4500 and the IPsec SA is UDP-encapsulated', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nencapsulation=yes`), PLUTO_SECRETS);
    const ours = await lab.ours('lsw-natt', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${ours.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no established IPsec SA: ${r.out}`);
    const mine = await ourChild(ours, theirs);
    assert.ok(mine, 'our status holds the IPsec SA');
    assert.equal(mine.udpEncapsulation, true);
    const p1 = (await ours.status()).isakmp.find((s: any) => s.connection === 'pluto');
    assert.equal(p1?.nat?.encapsulation, true);
    assert.equal(p1?.local, `${A.ip}:4500`);
    assert.equal(p1?.remote, `${B.ip}:4500`);
    assert.equal(p1?.nat?.local, true, 'pluto fakes a NAT in front of us (its NAT-D for our address does not match)');
  });

  test('IKE fragmentation with certificates: pluto (fragmentation=force) sends MM5 in fragments, we reassemble and answer MM6 in fragments', async () => {
    pluto.start(
      'b',
      B.ns,
      plutoConn(`authby=rsasig\nleftcert=peer-b\nleftid=%fromcert\nrightid="C=CH, O=peers-test, CN=peer-a"\nleftsendcert=always\nfragmentation=force\n${TS}\nike=aes256-sha2_256;modp2048\nphase2alg=aes256-sha2_256\npfs=no`),
      PLUTO_SECRETS,
      join(PKI, 'peer-b.p12'),
      'base',
    );
    const ours = await lab.ours('lsw-frag', A.ns, ourConfig('auth: rsa\nsecret: cert\nike: aes256-sha256-modp2048\nesp: aes256-sha256\nfragment_size: 548', { remote: 'C=CH, O=peers-test, CN=peer-b' }));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${ours.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(ours, theirs)), 'IPsec SA on both sides');
    const log = pluto.log('b');
    const frag = log.split('\n').filter((l) => /(sending|received) IKE fragment/.test(l));
    console.log(`# pluto on fragments: ${frag.slice(0, 4).join(' | ')}`);
    assert.match(log, /sending IKE fragment id '1', number '2'/, 'pluto sent its MM5 in fragments');
    assert.match(log, /received IKE fragment id '\d+', number '\d+'\(last\)/, 'our MM6 reached pluto in fragments');
  });
});

describe('isakmp import of a Libreswan ipsec.conf, against pluto running the original', { skip: skip || false }, () => {
  // one file for both hosts, the Libreswan way: pluto finds which end it is from its addresses;
  // the importer takes `left` as ours
  const CONF = `conn mm-pfs
	ikev2=no
	authby=secret
	left=${A.ip}
	leftsubnet=${A.inner}/32
	right=${B.ip}
	rightsubnet=${B.inner}/32
	ike=aes256-sha2_256;modp3072
	phase2alg=aes128-sha2_256;modp3072
	pfs=yes
	leftupdown=/bin/true
	rightupdown=/bin/true
	auto=add

conn am-psk
	ikev2=no
	authby=secret
	aggressive=yes
	left=${A.ip}
	leftid=@a.peers.test
	right=${B.ip}
	rightid=@b.peers.test
	ike=aes128-sha2_256;modp2048
	phase2alg=aes128-sha1
	pfs=no
	leftupdown=/bin/true
	rightupdown=/bin/true
	auto=add
`;
  const SECRETS = `${A.ip} ${B.ip} : PSK "import-roundtrip-psk-secret"\n@a.peers.test @b.peers.test : PSK "import-roundtrip-am-secret"\n`;
  const lab = plutoLab();

  test('we run the import and bring up both connections; pluto (as the right end of the same file) agrees', async () => {
    const conf = join(RUN, 'lsw-import.conf');
    const secrets = join(RUN, 'lsw-import.secrets');
    writeFileSync(conf, CONF);
    writeFileSync(secrets, SECRETS, { mode: 0o600 });
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'import', 'ipsec.conf', conf, '--secrets', secrets, '--dialect', 'libreswan'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /2 connections? imported/i);
    pluto.start('b', B.ns, CONF, SECRETS);
    const ours = await lab.ours('lsw-import', A.ns, (sock) => `global:\n  control_socket: ${sock}\n  log: { level: debug }\n${r.stdout}`);
    for (const name of ['mm-pfs', 'am-psk']) {
      const up = await ours.ctl({ cmd: 'up', name, timeoutMs: 15_000 });
      assert.equal(up.ok, true, `${name}: ${JSON.stringify(up)}\n${pluto.tail('b')}\n--- import:\n${r.stdout}`);
    }
    const states = await until(() => {
      const s = pluto.states('b');
      return s.filter((x) => x.state === 'STATE_QUICK_R2').length === 2 ? s : undefined;
    }, 10_000);
    assert.ok(states, `pluto lacks two IPsec SAs: ${JSON.stringify(pluto.states('b'))}`);
    assert.deepEqual([...new Set(states.map((s) => s.conn))].sort(), ['am-psk', 'mm-pfs']);
    const o = ours;
    for (const s of states.filter((x) => x.spiIn !== undefined)) assert.ok(await ourChild(o, s, s.conn), `our side of ${s.conn}`);
    const st = await o.status();
    assert.match(st.ipsec.find((q: any) => q.connection === 'mm-pfs')?.algorithms ?? '', /modp3072/);
    assert.equal(st.isakmp.find((q: any) => q.connection === 'am-psk')?.exchange, 'aggressive');
  });
});

describe('Libreswan pluto with its default proposals, transport mode, several subnets, AES-GCM', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('pluto with its default proposals (no ike=, phase2alg=, pfs=), ours with a typical list: pluto initiates, then we do', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}`), PLUTO_SECRETS);
    const o = await lab.ours('lsw-defaults', A.ns, ourConfig('auth: psk\nsecret: psk\nike: [aes256-sha256-modp2048, aes128-sha256-modp2048, aes128-sha1-modp2048]\nesp: [aes256-sha256-modp2048, aes128-sha256-modp2048, aes128-sha1-modp2048]'));
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2500)}`);
    const theirs = await plutoChild();
    assert.ok(theirs && (await ourChild(o, theirs)), 'IPsec SA on both sides');
    const st = await o.status();
    console.log(`# defaults agreed: ${st.isakmp[0]?.algorithms} / ${st.ipsec[0]?.algorithms}`);
    // our Deletes as the responder: pluto deletes both SAs (and, having brought the connection up
    // itself, replaces them at once: "connection is supposed to remain up", Libreswan's revival)
    const before = pluto.log('b').length;
    assert.equal((await o.ctl({ cmd: 'down', name: 'pluto' })).ok, true);
    const deleted = await until(() => {
      const log = pluto.log('b').slice(before);
      return /received Delete SA(\(0x[0-9a-f]+\))? payload: (deleting|replace) IPsec State #\d+/.test(log) && /received Delete SA payload: self-deleting ISAKMP State #\d+/.test(log);
    }, 10_000, 200);
    assert.ok(deleted, `pluto did not take our Deletes:\n${pluto.log('b').slice(before).split('\n').slice(-15).join('\n')}`);
    assert.ok(!pluto.states('b').some((s) => s.serial === theirs.serial), 'the deleted IPsec SA is gone from pluto');
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
  });

  test('transport mode between the hosts, we initiate', async () => {
    pluto.start('b', B.ns, plutoConn('authby=secret\ntype=transport\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no'), PLUTO_SECRETS);
    const o = await lab.ours('lsw-transport', A.ns, (sock) => ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256')(sock).replace('    ipsec_mode: tunnel\n', '    ipsec_mode: transport\n').replace(/    local_ts: .*\n    remote_ts: .*\n/, ''));
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, 'our side');
    assert.equal(mine.mode, 'transport');
    assert.match(pluto.log('b'), /IPsec SA established transport mode/);
  });

  test('pluto initiates two subnets to two (four Quick Modes) and rekeys the four by salifetime at once (30 s, margin 26 s, no fuzz): we answer each, with the same SPIs; each IPsec SA of ours is one of pluto\'s', async () => {
    pluto.start(
      'b',
      B.ns,
      plutoConn(`authby=secret\nleftsubnets={10.2.0.0/16 10.3.0.0/16}\nrightsubnets={10.0.0.0/16 10.1.0.0/16}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes\nsalifetime=30s\nrekeymargin=26s\nrekeyfuzz=0%`),
      PLUTO_SECRETS,
    );
    const o = await lab.ours('lsw-subnets-rekey', A.ns, (sock) =>
      ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256-modp2048')(sock).replace(/    local_ts: .*\n    remote_ts: .*\n/, '    local_ts: [10.0.0.0/16, 10.1.0.0/16]\n    remote_ts: [10.2.0.0/16, 10.3.0.0/16]\n'),
    );
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}`);
    const firstKids = await until(() => {
      const s = pluto.states('b').filter((x) => x.state === 'STATE_QUICK_I2' && x.spiIn !== undefined);
      return s.length === 4 ? s : undefined;
    }, 10_000);
    assert.ok(firstKids, `pluto lacks four IPsec SAs: ${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
    const firstSpis = new Set(firstKids.map((k) => k.spiIn));
    // the four rekeyed 30 - 26 = 4 s after their installation, together
    const fresh = await until(async () => {
      const kids = pluto.states('b').filter((x) => x.state === 'STATE_QUICK_I2' && x.spiIn !== undefined && !firstSpis.has(x.spiIn));
      if (kids.length < 4) return undefined;
      const mine = (await o.status()).ipsec;
      return kids.every((k) => mine.some((q: any) => q.spiIn === k.spiOut && q.spiOut === k.spiIn)) ? { kids, mine } : undefined;
    }, 12_000, 250);
    assert.ok(fresh, `pluto: ${JSON.stringify(pluto.states('b'))}\nours: ${JSON.stringify((await o.status()).ipsec)}\n${pluto.tail('b', 40)}\n${o.log().split('\n').filter((l) => /warn|error|IPsec|dropped/.test(l)).slice(-20).join('\n')}`);
    assert.equal(new Set(fresh.kids.map((k) => k.conn)).size, 4, 'one new IPsec SA per pair');
    // pluto keeps the IPsec SAs it replaced until they expire (no Delete), and so do we: each of ours is one of pluto's
    const mine = (await o.status()).ipsec;
    const theirs = pluto.states('b').filter((x) => /^STATE_QUICK_I2$/.test(x.state) && x.spiIn !== undefined);
    for (const q of mine) assert.ok(theirs.some((k) => q.spiIn === k.spiOut && q.spiOut === k.spiIn), `our ${q.id} is pluto's too: ${JSON.stringify(theirs)}`);
    assert.equal((await o.status()).isakmp.length, 1);
    assert.deepEqual(o.log().split('\n').filter((l) => /"level":"(warn|error)"/.test(l) && !/"area":"config"/.test(l)), []);
  });

  test('two subnets on each side (leftsubnets={…}): four Quick Modes under one ISAKMP SA, AES-GCM-16 ESP; then isakmp rekey (ISAKMP SA and four IPsec SAs at once): pluto moves to the new ones, the old go with one Delete', async () => {
    pluto.start(
      'b',
      B.ns,
      plutoConn(`authby=secret\nleftsubnets={10.2.0.0/16 10.3.0.0/16}\nrightsubnets={10.0.0.0/16 10.1.0.0/16}\nike=aes256-sha2_256;modp2048\nphase2alg=aes_gcm128-null\npfs=no`),
      PLUTO_SECRETS,
    );
    const o = await lab.ours('lsw-subnets', A.ns, (sock) =>
      ourConfig('auth: psk\nsecret: psk\nike: aes256-sha256-modp2048\nesp: aes128gcm16')(sock)
        .replace(/    local_ts: .*\n    remote_ts: .*\n/, '    local_ts: [10.0.0.0/16, 10.1.0.0/16]\n    remote_ts: [10.2.0.0/16, 10.3.0.0/16]\n'),
    );
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 15_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const children = await until(() => {
      const s = pluto.states('b').filter((x) => x.state === 'STATE_QUICK_R2' && x.spiIn !== undefined);
      return s.length === 4 ? s : undefined;
    }, 10_000);
    assert.ok(children, `pluto lacks four IPsec SAs: ${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
    assert.equal(pluto.states('b').filter((x) => x.state === 'STATE_MAIN_R3').length, 1, 'one ISAKMP SA');
    const st = await o.status();
    assert.equal(st.ipsec.length, 4);
    assert.deepEqual(st.ipsec.map((q: any) => `${q.localTs} ${q.remoteTs}`).sort(), ['10.0.0.0/16 10.2.0.0/16', '10.0.0.0/16 10.3.0.0/16', '10.1.0.0/16 10.2.0.0/16', '10.1.0.0/16 10.3.0.0/16']);
    for (const c of children) assert.ok(st.ipsec.some((q: any) => q.spiIn === c.spiOut && q.spiOut === c.spiIn), `SPIs of pluto's #${c.serial}`);
    assert.match(st.ipsec[0].algorithms, /gcm/i);
    // isakmp rekey pluto: the ISAKMP SA and the four IPsec SAs at once; our Quick Modes wait for the
    // new ISAKMP SA, the four old IPsec SAs go with one Delete (four SPIs in one D payload)
    const oldP1 = pluto.states('b').find((x) => x.state === 'STATE_MAIN_R3')!;
    const before = pluto.log('b').length;
    const rk = await o.ctl({ cmd: 'rekey', name: 'pluto' });
    assert.deepEqual(rk, { ok: true, message: 'pluto: rekeying 5 SAs' });
    const fresh = await until(async () => {
      const s = pluto.states('b');
      const kids = s.filter((x) => x.state === 'STATE_QUICK_R2' && x.spiIn !== undefined);
      const p1s = s.filter((x) => x.state === 'STATE_MAIN_R3');
      if (kids.length !== 4 || kids.some((k) => children.some((c) => c.spiIn === k.spiIn)) || p1s.length !== 1 || p1s[0]!.serial === oldP1.serial) return undefined;
      const mine = (await o.status()).ipsec;
      return mine.length === 4 && kids.every((k) => mine.some((q: any) => q.spiIn === k.spiOut && q.spiOut === k.spiIn)) ? kids : undefined;
    }, 12_000, 300);
    assert.ok(fresh, `pluto: ${JSON.stringify(pluto.states('b'))}\nours: ${JSON.stringify((await o.status()).ipsec)}\n${pluto.tail('b', 40)}`);
    const log = pluto.log('b').slice(before);
    assert.equal((log.match(/received Delete SA\(0x[0-9a-f]+\) payload: deleting IPsec State #\d+/g) ?? []).length, 4, log);
    assert.equal((await o.status()).isakmp.length, 1);
  });
});

describe('IKE over IPv6 with Libreswan pluto', { skip: skip || false }, () => {
  const A6 = 'fd00:5eed::1';
  const B6 = 'fd00:5eed::2';
  const lab = plutoLab(() => {
    // IPv6 on the lab's link (no duplicate address detection: usable at once), before pluto
    // starts and lists its interfaces
    for (const [ns, addr] of [[A.ns, A6], [B.ns, B6]] as const) {
      const r = spawnSync('ip', ['-n', ns, 'addr', 'add', `${addr}/64`, 'dev', 'veth0', 'nodad'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });

  /** pluto's side over IPv6; `theirTs`: what pluto proposes for our side. */
  const plutoV6 = (theirTs: string): string => `conn ours
	ikev2=no
	authby=secret
	left=${B6}
	leftsubnet=fd00:b::/64
	right=${A6}
	rightsubnet=${theirTs}
	ike=aes256-sha2_256;dh19
	phase2alg=aes256-sha2_256;modp2048
	pfs=yes
	leftupdown=/bin/true
	auto=add
`;
  const oursV6 = (sock: string): string => `global:
  listen: ["${A6}"]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  psk:
    psk: "${PSK}"
connections:
  pluto:
    auth: psk
    secret: psk
    local:  { address: "${A6}" }
    remote: { address: "${B6}" }
    ike: aes256-sha256-ecp256
    esp: aes256-sha256-modp2048
    local_ts: "fd00:a::/64"
    remote_ts: "fd00:b::/64"
    start: add
`;

  test('Main Mode PSK over IPv6 with ECP-256, IPv6 selectors, PFS modp2048 (pluto has no ECP groups in IKEv1 Quick Mode): we initiate', async () => {
    pluto.start('b', B.ns, plutoV6('fd00:a::/64'), `${B6} ${A6} : PSK "${PSK}"\n`);
    const o = await lab.ours('lsw-ipv6', A.ns, oursV6);
    const up = await o.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no IPsec SA:\n${pluto.tail('b')}`);
    const mine = await ourChild(o, theirs);
    assert.ok(mine, `our side: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.deepEqual([mine.localTs, mine.remoteTs], ['fd00:a::/64', 'fd00:b::/64']);
    assert.match(mine.algorithms, /modp2048/);
    assert.match((await o.status()).isakmp[0]?.algorithms ?? '', /ecp256/);
    assert.match(pluto.log('b'), /IKE SA established \{auth=PRESHARED_KEY cipher=AES_CBC_256 integ=HMAC_SHA2_256 group=DH19\}/);
  });

  test('pluto initiates over IPv6 for a /80 inside our /64: as the responder we accept a subnet within ours', async () => {
    pluto.start('b', B.ns, plutoV6('fd00:a:0:0:1::/80'), `${B6} ${A6} : PSK "${PSK}"\n`);
    const o = await lab.ours('lsw-ipv6-r', A.ns, oursV6);
    const r = pluto.up('b', 'ours');
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n${o.log().slice(-2000)}`);
    const theirs = await plutoChild();
    assert.ok(theirs, 'pluto established the IPsec SA');
    const mine = await ourChild(o, theirs);
    assert.ok(mine, `our side: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.deepEqual([mine.localTs, mine.remoteTs], ['fd00:a:0:0:1::/80', 'fd00:b::/64']);
  });
});
