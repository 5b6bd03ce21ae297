/**
 * Remote access against Libreswan 4.10's pluto (interop/pluto.sh): Main Mode group PSK + XAUTH +
 * Mode Config, pluto as the gateway (users in its passwd file, an address pool) with our client,
 * and our gateway (users file, pool) with pluto as the client. Both sides are read: our `status`
 * (virtual address, Mode Config values, the Quick Mode from the virtual address) and pluto's
 * states and log. A wrong password in both roles (pluto as the client deletes the ISAKMP SA instead
 * of acknowledging STATUS=0; as the gateway it deletes nothing), pluto in Cisco mode, pluto with
 * its certificate + XAUTH against our RSA gateway, and Mode Config without XAUTH.
 *
 * Run by `npm run test:interop` (root). Uses interop/ only (not ../shared).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, RUN, interopSkipReason, until, type Ours } from './peers.js';
import { pluto, plutoConn, plutoLab, plutoSkipReason, type PlutoLab } from './pluto.js';
import { ALICE, ALICE_PASSWORD, ANY_CLIENT, LAB_GROUP_SECRET, raYaml, usersFile } from './ra-configs.js';

const skip = interopSkipReason() || plutoSkipReason();
if (skip) console.log(`# Libreswan remote-access interop skipped: ${skip}`);

/** The group PSK of LAB_GROUP_SECRET, for pluto's ipsec.secrets. */
const GROUP_PSK = /psk: "([^"]+)"/.exec(LAB_GROUP_SECRET)![1]!;

/** One `conn ours` section for pluto, tab-indented (the lines given). */
function conn(lines: string): string {
  return `conn ours\n${lines
    .trim()
    .split('\n')
    .map((l) => `\t${l.trim()}`)
    .join('\n')}\n`;
}

const COMMON = `ikev2=no
authby=secret
ike=aes256-sha2_256;modp2048
phase2alg=aes128-sha2_256
pfs=no
leftupdown=/bin/true
auto=add`;

/** pluto as the gateway (isk-b): users in its passwd file (crypt(3) hash from openssl), a pool; `extra`: its Mode Config lines. */
function startPlutoGateway(pool: string, extra: string): void {
  const hash = spawnSync('openssl', ['passwd', '-6', ALICE_PASSWORD], { encoding: 'utf8' }).stdout.trim();
  assert.match(hash, /^\$6\$/);
  const lines = `${COMMON}\nleft=${B.ip}\nleftsubnet=10.1.0.0/16\nleftxauthserver=yes\nleftmodecfgserver=yes\nright=%any\nrightxauthclient=yes\nrightmodecfgclient=yes\nrightaddresspool=${pool}\nmodecfgdns=10.1.0.53\nxauthby=file\n${extra}`;
  pluto.start('b', B.ns, conn(lines), `${B.ip} %any : PSK "${GROUP_PSK}"\n`, undefined, undefined, `alice:${hash}:ours\n`);
}

/** Our client alice (isk-a), Mode Config `modecfg` (pull or push), up; its ISAKMP SA's status once it has a virtual address. */
async function ourClientUp(lab: PlutoLab, name: string, modecfg: 'pull' | 'push'): Promise<{ ours: Ours; p1: any }> {
  const client = { name: 'office', auth: 'psk', secret: 'group', local: A.ip, remote: `{ address: ${B.ip} }`, xauth: ALICE, extra: [`modecfg: ${modecfg}`, 'remote_ts: 10.1.0.0/16'] } as const;
  const ours = await lab.ours(name, A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [client] }));
  const up = await ours.ctl({ cmd: 'up', name: 'office', timeoutMs: 15_000 });
  assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}\n--- ours:\n${ours.log().slice(-2500)}`);
  const p1 = await until(async () => (await ours.status()).isakmp.find((s: any) => s.connection === 'office' && s.remoteAccess?.virtualAddress), 5000);
  assert.ok(p1, `no virtual address on our side: ${JSON.stringify(await ours.status())}`);
  assert.ok(!ours.log().includes(ALICE_PASSWORD), 'the password leaked into our log');
  return { ours, p1 };
}

/** Our gateway (isk-a, users file, pool 10.10.0.0/24) and pluto as client alice with `modecfgpull`; pluto brings it up. */
async function plutoClientUp(lab: PlutoLab, name: string, modecfg: 'pull' | 'push'): Promise<void> {
  const users = join(RUN, `${name}-users`);
  writeFileSync(users, `alice:${await hashPassword(ALICE_PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
  const gw = { name: 'roadwarriors', auth: 'psk', secret: 'group', local: A.ip, remote: ANY_CLIENT, xauth: usersFile(users, 3), extra: ['local_ts: 10.1.0.0/16', `modecfg: ${modecfg}`, 'pool: 10.10.0.0/24', 'dns: 10.1.0.53'] } as const;
  const ours = await lab.ours(name, A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [gw] }));
  const lines = `${COMMON}\nleft=${B.ip}\nleftxauthclient=yes\nleftmodecfgclient=yes\nleftusername=alice\nright=${A.ip}\nrightxauthserver=yes\nrightmodecfgserver=yes\nrightsubnet=10.1.0.0/16\nmodecfgpull=${modecfg === 'pull' ? 'yes' : 'no'}`;
  pluto.start('b', B.ns, conn(lines), `${B.ip} ${A.ip} : PSK "${GROUP_PSK}"\n@alice : XAUTH "${ALICE_PASSWORD}"\n`);
  const r = pluto.up('b', 'ours', 20);
  assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n--- ours:\n${ours.log().slice(-2500)}`);
  assert.match(r.out, /10\.10\.0\.1/, 'pluto reports the address our pool leased');
  const theirs = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 8000);
  assert.ok(theirs, `pluto has no IPsec SA: ${JSON.stringify(pluto.states('b'))}\n${pluto.tail('b')}`);
  const child = await until(async () => (await ours.status()).ipsec.find((q: any) => q.spiIn === theirs.spiOut), 5000);
  assert.ok(child, `our status lacks pluto's SPIs: ${JSON.stringify((await ours.status()).ipsec)}`);
  assert.equal(child.remoteTs, '10.10.0.1', "pluto's Quick Mode comes from the address our pool leased");
  assert.match(ours.log(), /Mode Config: virtual address 10\.10\.0\.1 for user alice/);
  assert.ok(!ours.log().includes(ALICE_PASSWORD), 'the password leaked into our log');
}

describe('remote access (XAUTH + Mode Config) with Libreswan pluto', { skip: skip || false }, () => {
  const lab = plutoLab();

  test('pluto as the gateway (xauthby=file, pool 10.10.0.10-20, Mode Config pull): our client gets its address, DNS and a Quick Mode from it', async () => {
    startPlutoGateway('10.10.0.10-10.10.0.20', 'modecfgpull=yes');
    const { ours, p1 } = await ourClientUp(lab, 'lsw-ra-client', 'pull');
    assert.match(pluto.log('b'), /XAUTH: User alice: Authentication Successful/);
    assert.equal(p1.remoteAccess.virtualAddress, '10.10.0.10');
    assert.deepEqual(p1.remoteAccess.values?.INTERNAL_IP4_DNS, ['10.1.0.53']);
    const child = await until(async () => (await ours.status()).ipsec.find((q: any) => q.connection === 'office'), 10_000);
    assert.ok(child, `no IPsec SA on our side: ${JSON.stringify(await ours.status())}`);
    assert.equal(child.localTs, '10.10.0.10', 'our Quick Mode comes from the leased virtual address');
    assert.equal(child.remoteTs, '10.1.0.0/16');
    const theirs = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_R2' && s.spiIn !== undefined), 5000);
    assert.ok(theirs, `pluto has no IPsec SA: ${JSON.stringify(pluto.states('b'))}`);
    assert.equal(child.spiIn, theirs.spiOut);
  });

  test('pluto pushes Mode Config (modecfgpull=no) with Cisco Unity attributes (banner, domain, split include): our client takes them', async () => {
    // the SET comes under the message ID of pluto's XAUTH STATUS, its IV continuing that exchange
    startPlutoGateway('10.10.0.30-10.10.0.40', 'modecfgpull=no\nmodecfgdomains=corp.example\nmodecfgbanner="Authorised users only"\ncisco-unity=yes');
    const { ours, p1 } = await ourClientUp(lab, 'lsw-ra-push', 'push');
    assert.equal(p1.remoteAccess.virtualAddress, '10.10.0.30');
    const v = p1.remoteAccess.values ?? {};
    console.log(`# pushed by pluto: ${JSON.stringify(v)}`);
    assert.deepEqual(v.INTERNAL_IP4_DNS, ['10.1.0.53']);
    // pluto sends these two with the quotes of its configuration; we show what came
    assert.match(String(v.UNITY_BANNER), /Authorised users only/);
    assert.match(String(v.UNITY_DEF_DOMAIN), /corp\.example/);
    assert.deepEqual(v.UNITY_SPLIT_INCLUDE, ['10.1.0.0/16']);
    const child = await until(async () => (await ours.status()).ipsec.find((q: any) => q.connection === 'office'), 8000);
    assert.equal(child?.localTs, '10.10.0.30');
  });

  test('our gateway (users file, pool 10.10.0.0/24, Mode Config pull) with pluto as the XAUTH client', async () => {
    await plutoClientUp(lab, 'lsw-ra-gw', 'pull');
  });

  test('our gateway pushes Mode Config (modecfg: push) to pluto as the XAUTH client (which asks anyway: it gets a REPLY)', async () => {
    await plutoClientUp(lab, 'lsw-ra-gw-push', 'push');
  });

  test('XAUTH with RSA certificates (authby=rsasig with xauth): pluto as the gateway, our client with its certificate pulls Mode Config', async () => {
    const hash = spawnSync('openssl', ['passwd', '-6', ALICE_PASSWORD], { encoding: 'utf8' }).stdout.trim();
    const lines = `ikev2=no\nauthby=rsasig\nike=aes256-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nleftupdown=/bin/true\nauto=add\nleft=${B.ip}\nleftcert=peer-b\nleftid=%fromcert\nleftsendcert=always\nleftsubnet=10.1.0.0/16\nleftxauthserver=yes\nleftmodecfgserver=yes\nright=%any\nrightid=%fromcert\nrightca=%same\nrightxauthclient=yes\nrightmodecfgclient=yes\nrightaddresspool=10.10.0.50-10.10.0.60\nmodecfgpull=yes\nxauthby=file`;
    pluto.start('b', B.ns, conn(lines), ': RSA "peer-b"\n', join(RUN, 'pki/peer-b.p12'), undefined, `alice:${hash}:ours\n`);
    const PKI = join(RUN, 'pki');
    const client = { name: 'office', auth: 'rsa', secret: 'cert', local: A.ip, remote: `{ address: ${B.ip}, id: "C=CH, O=peers-test, CN=peer-b" }`, xauth: ALICE, extra: ['modecfg: pull', 'remote_ts: 10.1.0.0/16'] } as const;
    const ours = await lab.ours('lsw-ra-rsa', A.ns, (sock) =>
      raYaml({ listen: A.ip, sock, secrets: { cert: `{ cert: ${PKI}/peer-a.crt, key: ${PKI}/peer-a.key, ca: ${PKI}/ca.crt }` }, connections: [client] }),
    );
    const up = await ours.ctl({ cmd: 'up', name: 'office', timeoutMs: 15_000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${pluto.tail('b')}\n--- ours:\n${ours.log().slice(-2500)}`);
    assert.match(pluto.log('b'), /XAUTH: User alice: Authentication Successful/);
    const child = await until(async () => (await ours.status()).ipsec.find((q: any) => q.connection === 'office'), 8000);
    assert.equal(child?.localTs, '10.10.0.50');
  });

  test('pluto (aggressive=yes, XAUTH client) against our gateway with a wrong password: refused, named on both sides', async () => {
    const users = join(RUN, 'lsw-am-xauth-users');
    writeFileSync(users, `alice:${await hashPassword(ALICE_PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    const gw = { name: 'roadwarriors', auth: 'psk', secret: 'group', local: A.ip, remote: ANY_CLIENT, xauth: usersFile(users, 2), extra: ['mode: aggressive', 'allow_aggressive_psk_responder: true', 'local_ts: 10.1.0.0/16', 'modecfg: pull', 'pool: 10.10.0.0/24'] } as const;
    const o = await lab.ours('lsw-am-xauth', A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [gw] }));
    const group = /psk: "([^"]+)"/.exec(LAB_GROUP_SECRET)![1]!;
    const lines = `authby=secret\naggressive=yes\nike=aes256-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nleftxauthclient=yes\nleftmodecfgclient=yes\nleftusername=alice\nrightxauthserver=yes\nrightmodecfgserver=yes\nrightsubnet=10.1.0.0/16\nmodecfgpull=yes`;
    pluto.start('b', B.ns, plutoConn(lines), `${B.ip} ${A.ip} : PSK "${group}"\n@alice : XAUTH "not-${ALICE_PASSWORD}"\n`);
    const r = pluto.up('b', 'ours', 6);
    assert.notEqual(r.code, 0, `pluto came up with a wrong password: ${r.out}`);
    // ours: each attempt named, then the end (pluto deletes the ISAKMP SA instead of acknowledging STATUS=0)
    const end = await until(() => /XAUTH failed: user \\?"alice\\?" failed XAUTH 2 time\(s\): check the user name and password/.test(o.log()), 3000);
    assert.ok(end, `no XAUTH failure line on our side:\n${o.log().split('\n').filter((l) => /XAUTH|deleted/.test(l)).join('\n')}`);
    assert.ok((o.log().match(/XAUTH: user refused: wrong password for user 'alice'/g) ?? []).length >= 2, 'each attempt is named');
    // pluto: told FAIL, it gives the exchange up (and, having brought the connection up itself, tries again: each try is refused the same way)
    assert.match(r.out, /Received Cisco XAUTH status: FAIL/);
    assert.match(pluto.log('b'), /"ours" #1: XAUTH: aborting entire IKE Exchange/);
    assert.ok(!pluto.states('b').some((s) => s.spiIn !== undefined), 'pluto holds no IPsec SA');
    assert.equal((await o.status()).ipsec.length, 0);
    assert.ok(!o.log().includes(ALICE_PASSWORD), 'a password leaked into our log');
  });

  test('pluto as the XAUTH gateway (xauthby=file), our client with a wrong password: refused once, named on both sides, and we delete the ISAKMP SA', async () => {
    const hash = spawnSync('openssl', ['passwd', '-6', ALICE_PASSWORD], { encoding: 'utf8' }).stdout.trim();
    const lines = `authby=secret\nike=aes256-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nleftsubnet=10.1.0.0/16\nleftxauthserver=yes\nleftmodecfgserver=yes\nrightxauthclient=yes\nrightmodecfgclient=yes\nrightaddresspool=10.10.0.10-10.10.0.20\nmodecfgpull=yes\nxauthby=file`;
    pluto.start('b', B.ns, plutoConn(lines).replace(`right=${A.ip}`, 'right=%any'), `${B.ip} %any : PSK "${/psk: "([^"]+)"/.exec(LAB_GROUP_SECRET)![1]}"\n`, undefined, undefined, `alice:${hash}:ours\n`);
    const client = { name: 'office', auth: 'psk', secret: 'group', local: A.ip, remote: `{ address: ${B.ip} }`, xauth: `{ user: alice, password: "not-${ALICE_PASSWORD}" }`, extra: ['modecfg: pull', 'remote_ts: 10.1.0.0/16'] } as const;
    const o = await lab.ours('lsw-xauth-wrong-c', A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [client] }));
    const up = await o.ctl({ cmd: 'up', name: 'office', timeoutMs: 8000 });
    assert.equal(up.ok, false);
    // ours: the refusal named, then our ACK and our Delete (pluto, the gateway, deletes nothing: it
    // reads our ACK as a REPLY without credentials and asks again; before we deleted the SA
    // ourselves the two went round until our message-ID budget ran out)
    const refused = await until(() => /XAUTH failed: gateway refused user \\?"alice\\?": check the XAUTH user and password/.test(o.log()), 3000);
    assert.ok(refused, `no refusal on our side:\n${o.log().slice(-2000)}`);
    assert.ok(await until(async () => (await o.status()).isakmp.length === 0, 3000), 'our ISAKMP SA deleted');
    assert.match(o.log(), /"ISAKMP SA deleted","id":"[0-9a-f]+","connection":"office","by":"local"/);
    assert.match(pluto.log('b'), /XAUTH: User alice: Authentication Failed: Incorrect Username or Password/);
    assert.ok(await until(() => pluto.states('b').length === 0, 3000), `pluto kept the ISAKMP SA: ${JSON.stringify(pluto.states('b'))}`);
    assert.ok((pluto.log('b').match(/Expected MODE_CFG_REPLY is missing username and password attribute/g) ?? []).length <= 1, `pluto and we went round:\n${pluto.tail('b')}`);
    assert.doesNotMatch(o.log(), /MESSAGE_ID_BUDGET/);
  });

  test('pluto with remote-peer-type=cisco, cisco-unity=yes, Aggressive Mode, ikepad=no as the XAUTH client of our gateway: it takes our pushed Mode Config (banner, domain, address)', async () => {
    const users = join(RUN, 'lsw-cisco-users');
    writeFileSync(users, `alice:${await hashPassword(ALICE_PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    const gw = { name: 'roadwarriors', auth: 'psk', secret: 'group', local: A.ip, remote: ANY_CLIENT, xauth: usersFile(users, 2), extra: ['mode: aggressive', 'allow_aggressive_psk_responder: true', 'local_ts: 10.1.0.0/16', 'modecfg: push', 'pool: 10.10.0.0/24', 'dns: 10.1.0.53', 'default_domain: corp.example', 'banner: "hello"'] } as const;
    const o = await lab.ours('lsw-cisco', A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [gw] }));
    const group = /psk: "([^"]+)"/.exec(LAB_GROUP_SECRET)![1]!;
    const lines = `authby=secret\naggressive=yes\nikepad=no\nremote-peer-type=cisco\ncisco-unity=yes\nike=aes256-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nleftxauthclient=yes\nleftmodecfgclient=yes\nleftusername=alice\nrightxauthserver=yes\nrightmodecfgserver=yes\nrightsubnet=10.1.0.0/16\nmodecfgpull=no`;
    pluto.start('b', B.ns, plutoConn(lines), `${B.ip} ${A.ip} : PSK "${group}"\n@alice : XAUTH "${ALICE_PASSWORD}"\n`);
    const r = pluto.up('b', 'ours', 12);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n--- ours:\n${o.log().slice(-2500)}`);
    // our SET (pushed after XAUTH) as pluto in Cisco mode reads it
    assert.match(r.out, /Received Banner: hello/);
    assert.match(r.out, /Received Domain: corp\.example/);
    assert.match(r.out, /10\.10\.0\.1/, 'pluto reports the address our pool leased');
    const theirs = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 8000);
    assert.ok(theirs, `pluto has no IPsec SA: ${JSON.stringify(pluto.states('b'))}`);
    const child = await until(async () => (await o.status()).ipsec.find((q: any) => q.spiIn === theirs.spiOut && q.spiOut === theirs.spiIn), 5000);
    assert.equal(child?.remoteTs, '10.10.0.1');
    assert.equal((await o.status()).isakmp[0]?.exchange, 'aggressive');
    assert.match(pluto.log('b'), /IPsec SA established tunnel mode \{ESP=>0x[0-9a-f]+ <0x[0-9a-f]+ xfrm=AES_CBC_128-HMAC_SHA2_256_128 DPD=passive username=alice\}/);
  });

  test('our gateway with RSA signatures + XAUTH (XAUTHRespRSA), pluto as the client with its certificate: XAUTH, Mode Config pull, a Quick Mode from the leased address', async () => {
    const users = join(RUN, 'lsw-ra-rsa-gw-users');
    writeFileSync(users, `alice:${await hashPassword(ALICE_PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    const PKI = join(RUN, 'pki');
    const gw = { name: 'roadwarriors', auth: 'rsa', secret: 'cert', local: A.ip, remote: '{ address: "%any", id: "C=CH, O=peers-test, CN=peer-b" }', xauth: usersFile(users, 2), extra: ['local_ts: 10.1.0.0/16', 'modecfg: pull', 'pool: 10.10.0.0/24'] } as const;
    const o = await lab.ours('lsw-ra-rsa-gw', A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { cert: `{ cert: ${PKI}/peer-a.crt, key: ${PKI}/peer-a.key, ca: ${PKI}/ca.crt }` }, connections: [gw] }));
    const lines = `ikev2=no\nauthby=rsasig\nike=aes256-sha2_256;modp2048\nphase2alg=aes128-sha2_256\npfs=no\nleftupdown=/bin/true\nauto=add\nleft=${B.ip}\nleftcert=peer-b\nleftid=%fromcert\nleftsendcert=always\nleftxauthclient=yes\nleftmodecfgclient=yes\nleftusername=alice\nright=${A.ip}\nrightid="C=CH, O=peers-test, CN=peer-a"\nrightca=%same\nrightxauthserver=yes\nrightmodecfgserver=yes\nrightsubnet=10.1.0.0/16\nmodecfgpull=yes`;
    pluto.start('b', B.ns, conn(lines), `: RSA "peer-b"\n@alice : XAUTH "${ALICE_PASSWORD}"\n`, join(PKI, 'peer-b.p12'));
    const r = pluto.up('b', 'ours', 12);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n--- ours:\n${o.log().slice(-2500)}`);
    assert.match(o.log(), /XAUTH: user accepted by file:/);
    const theirs = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 8000);
    assert.ok(theirs, `pluto has no IPsec SA: ${JSON.stringify(pluto.states('b'))}`);
    const child = await until(async () => (await o.status()).ipsec.find((q: any) => q.spiIn === theirs.spiOut && q.spiOut === theirs.spiIn), 5000);
    assert.equal(child?.remoteTs, '10.10.0.1');
    assert.match((await o.status()).isakmp[0]?.algorithms ?? '', /xauth-rsa/);
  });

  test('Mode Config without XAUTH: pluto as the client (leftmodecfgclient, no XAUTH) pulls its address from our gateway (modecfg: pull, no xauth)', async () => {
    const gw = { name: 'roadwarriors', auth: 'psk', secret: 'group', local: A.ip, remote: ANY_CLIENT, xauth: '', extra: ['local_ts: 10.1.0.0/16', 'modecfg: pull', 'pool: 10.10.0.0/24'] } as const;
    const o = await lab.ours('lsw-mc-only', A.ns, (sock) => raYaml({ listen: A.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [gw] }).replace('    xauth: \n', ''));
    assert.doesNotMatch(readFileSync(o.configFile, 'utf8'), /xauth:/, 'a gateway without XAUTH');
    const lines = `${COMMON}\nleft=${B.ip}\nleftmodecfgclient=yes\nright=${A.ip}\nrightmodecfgserver=yes\nrightsubnet=10.1.0.0/16\nmodecfgpull=yes`;
    pluto.start('b', B.ns, conn(lines), `${B.ip} ${A.ip} : PSK "${GROUP_PSK}"\n`);
    const r = pluto.up('b', 'ours', 10);
    assert.equal(r.code, 0, `whack --initiate: ${r.out}${r.err}\n--- ours:\n${o.log().slice(-2500)}`);
    assert.match(o.log(), /Mode Config: virtual address 10\.10\.0\.1 for the client/);
    const theirs = await until(() => pluto.states('b').find((s) => s.state === 'STATE_QUICK_I2' && s.spiIn !== undefined), 8000);
    const child = theirs && (await until(async () => (await o.status()).ipsec.find((q: any) => q.spiIn === theirs.spiOut), 5000));
    assert.equal(child?.remoteTs, '10.10.0.1', `our side: ${JSON.stringify((await o.status()).ipsec)}`);
  });
});
