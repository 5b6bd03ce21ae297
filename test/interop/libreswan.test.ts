/**
 * Interop with Libreswan 4.10's pluto (Debian 12's package, unpacked by interop/pluto.sh): a
 * second IKEv1 implementation, independent of strongSwan's, in the namespace beside our daemon.
 * pluto runs with the fake-xfrm shim (no ESP on this kernel). Every case reads both sides: our
 * `status` and pluto's `whack --showstates` (the same SPIs, crossed).
 *
 * Run by `npm run test:interop` (root). Uses interop/ only (not ../shared).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { A, B, Ours, RUN, interopSkipReason, labDown, labUp, until } from './peers.js';
import { pluto, plutoSkipReason, type PlutoState } from './pluto.js';

const skip = interopSkipReason() || plutoSkipReason();
if (skip) console.log(`# Libreswan interop skipped: ${skip}`);

const PKI = join(RUN, 'pki');
const PSK = 'libreswan-interop-psk-secret';

/** pluto's side of one case (isk-b): a `conn ours` section; `extra` lines go inside it. */
function plutoConn(extra: string): string {
  return `conn ours
	ikev2=no
	left=${B.ip}
	right=${A.ip}
	leftupdown=/bin/true
	auto=add
${extra
  .trim()
  .split('\n')
  .map((l) => `\t${l.trim()}`)
  .join('\n')}
`;
}

const PLUTO_SECRETS = `${B.ip} ${A.ip} : PSK "${PSK}"
@pluto.peers.test @ours.peers.test : PSK "${PSK}"
: RSA "peer-b"
`;

/** Our side (isk-a): one connection `pluto` (YAML lines of its own in `conn`; identities in `ids`). */
function ourConfig(conn: string, ids: { local?: string; remote?: string } = {}): (sock: string) => string {
  return (sock) => `global:
  listen: [${A.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  psk:
    psk: "${PSK}"
  cert:
    cert: ${PKI}/peer-a.crt
    key: ${PKI}/peer-a.key
    ca: [${PKI}/ca.crt]
connections:
  pluto:
    local:  { address: ${A.ip}${ids.local ? `, id: "${ids.local}"` : ''} }
    remote: { address: ${B.ip}${ids.remote ? `, id: "${ids.remote}"` : ''} }
    ipsec_mode: tunnel
    local_ts: "${A.inner}/32"
    remote_ts: "${B.inner}/32"
    start: add
${conn
  .trim()
  .split('\n')
  .map((l) => `    ${l.trim()}`)
  .join('\n')}
`;
}

const TS = `leftsubnet=${B.inner}/32\nrightsubnet=${A.inner}/32`;

/** pluto's established IPsec SA (STATE_QUICK_I2 / _R2) of `conn ours`, once there. */
async function plutoChild(): Promise<PlutoState | undefined> {
  return until(() => pluto.states('b').find((s) => /^STATE_QUICK_[IR]2$/.test(s.state) && s.spiIn !== undefined), 10_000);
}

/** Our IPsec SA of connection `pluto` whose SPIs are pluto's crossed. */
async function ourChild(ours: Ours, theirs: PlutoState): Promise<any> {
  return until(async () => (await ours.status()).ipsec.find((q: any) => q.connection === 'pluto' && q.spiIn === theirs.spiOut && q.spiOut === theirs.spiIn), 5000);
}

describe('Libreswan pluto (IKEv1) against our daemon', { skip: skip || false }, () => {
  let ours: Ours | undefined;

  before(() => labUp());
  afterEach(async () => {
    await ours?.stop();
    ours = undefined;
    pluto.stop('b');
  });
  after(() => {
    pluto.stop('b');
    labDown();
  });

  test('we initiate: Main Mode PSK, Quick Mode with PFS (modp2048); pluto holds the same SPIs, crossed', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes`), PLUTO_SECRETS);
    ours = await Ours.start('lsw-i', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256-modp2048'));
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
    ours = await Ours.start('lsw-r', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes256-sha512-modp3072\nesp: aes256-sha512'));
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
    ours = await Ours.start(
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
    ours = await Ours.start('lsw-rsa', A.ns, ourConfig('auth: rsa\nsecret: cert\nike: aes256-sha256-modp2048\nesp: aes256-sha256-modp2048', { remote: 'C=CH, O=peers-test, CN=peer-b' }));
    const up = await ours.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}`);
    const theirs = await plutoChild();
    assert.ok(theirs, `pluto has no established IPsec SA:\n${pluto.tail('b')}`);
    assert.ok(await ourChild(ours, theirs), 'our status holds the IPsec SA');
    assert.match(pluto.log('b'), /auth=RSA_SIG/);
  });

  test('a Quick Mode PFS mismatch (pluto requires PFS, we offer none) is named on our side', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256;modp2048\npfs=yes`), PLUTO_SECRETS);
    ours = await Ours.start('lsw-pfs', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
    const up = await ours.ctl({ cmd: 'up', name: 'pluto', timeoutMs: 10_000 });
    assert.equal(up.ok, false);
    assert.match(String(up.error), /NO_PROPOSAL_CHOSEN/);
    assert.match(String(up.error), /pfs/, 'the refusal tells what to compare');
    assert.match(ours.log(), /Quick Mode failed.*NO_PROPOSAL_CHOSEN/);
    assert.match(pluto.log('b'), /we require PFS but Quick I1 SA specifies no GROUP_DESCRIPTION/);
  });

  test('our DPD (RFC 3706) with pluto: R-U-THEREs answered while it lives; killed, it is declared dead after dpd_timeout and its SAs cleared', async () => {
    pluto.start('b', B.ns, plutoConn(`authby=secret\n${TS}\nike=aes128-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no`), PLUTO_SECRETS);
    ours = await Ours.start('lsw-dpd', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256\ndpd_delay: 1s\ndpd_timeout: 3s'));
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
    const o = await Ours.start('lsw-rekey', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256-modp2048'));
    ours = o;
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
    ours = await Ours.start('lsw-natt', A.ns, ourConfig('auth: psk\nsecret: psk\nike: aes128-sha256-modp2048\nesp: aes128-sha256'));
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
    ours = await Ours.start('lsw-frag', A.ns, ourConfig('auth: rsa\nsecret: cert\nike: aes256-sha256-modp2048\nesp: aes256-sha256\nfragment_size: 548', { remote: 'C=CH, O=peers-test, CN=peer-b' }));
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
