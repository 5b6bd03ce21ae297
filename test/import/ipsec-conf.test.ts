// `isakmp import ipsec.conf`: strongSwan's and Libreswan's dialects, written here from their
// ipsec.conf(5) / ipsec.secrets(5) manuals. Every output must load with the daemon's own loader.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guessDialect } from '../../src/import/ipsec-conf.js';
import { parseIpsecConf } from '../../src/import/ipsec-conf-parser.js';
import { tempDir } from '../daemon/helpers.js';
import { importText } from './helpers.js';

const flat = (yaml: string): string => yaml.replace(/\n\s*#\s+/g, ' ');

describe('isakmp import ipsec.conf (strongSwan)', () => {
  const dir = tempDir('isakmp-ipsecconf-');
  writeFileSync(join(dir, 'ipsec.conf'), `# strongSwan ipsec.conf(5)
config setup
    charondebug="ike 2"
    uniqueids=yes

conn %default
    keyexchange=ikev1
    ikelifetime=3h
    keylife=1h
    rekeymargin=5m
    authby=secret

conn common
    left=192.0.2.1
    leftsubnet=10.1.0.0/16

conn site
    also=common
    right=203.0.113.7
    rightsubnet=10.2.0.0/16,10.3.0.0/16
    rightid=@gw.peer.example
    ike=aes256-sha256-modp3072,aes128-sha1-modp1024!
    esp=aes256-sha256-modp3072!
    dpdaction=restart
    dpddelay=20s
    dpdtimeout=2m
    forceencaps=yes
    compress=yes
    auto=start

conn host
    left=%defaultroute
    leftid=@road.example
    leftprotoport=17/1701
    right=198.51.100.20
    rightprotoport=udp/%any
    type=transport
    aggressive=yes
    ike=3des-sha1-modp1536
    esp=3des-sha1
    auto=add

conn auth-only
    left=192.0.2.1
    leftsubnet=10.1.0.0/16
    right=203.0.113.30
    rightsubnet=10.30.0.0/16
    ah=sha256-sha1-modp2048,md5-modp2048

conn bundle
    left=192.0.2.1
    right=203.0.113.31
    ah=sha256
    esp=aes128-sha256

conn v2
    keyexchange=ikev2
    left=192.0.2.1
    right=203.0.113.8

conn rw
    left=192.0.2.1
    right=%any
    rightsourceip=10.9.0.0/24

conn nokey
    left=192.0.2.1
    right=203.0.113.99

conn certs
    left=192.0.2.1
    right=192.0.2.2
    authby=pubkey
    leftcert=left.crt
    rightid="C=CH, O=isakmp-example, CN=right"
`);
  writeFileSync(join(dir, 'ipsec.secrets'), `# ipsec.secrets(5)
192.0.2.1 @gw.peer.example : PSK "site secret that is long enough 42"
@road.example 198.51.100.20 : PSK 0x686f73742d736563726574
192.0.2.1 203.0.113.30 : PSK "authentication header only, 2026"
192.0.2.1 203.0.113.31 : PSK "a bundle the importer refuses, 2026"
: RSA left.key
`);
  for (const [sub, src] of [['ipsec.d/certs', 'left.crt'], ['ipsec.d/private', 'left.key'], ['ipsec.d/cacerts', 'ca.crt']] as const) {
    mkdirSync(join(dir, sub), { recursive: true });
    copyFileSync(join('examples/certs', src), join(dir, sub, src));
  }

  test('%default and also= merged, secrets matched by address and id, certificates from ipsec.d', async () => {
    const r = await importText('ipsec.conf', join(dir, 'ipsec.conf'));
    assert.equal(r.code, 0);
    const y = flat(r.yaml);
    assert.ok(y.includes("read as strongSwan's dialect (guessed from its keywords; --dialect libreswan to read it the other way)"));
    const by = new Map(r.config.connections.map((c) => [c.name, c]));
    assert.deepEqual([...by.keys()], ['site', 'host', 'auth-only', 'certs']);
    const s = by.get('site')!;
    assert.deepEqual([s.local.address, s.remote.address, s.remote.id?.text], ['192.0.2.1', '203.0.113.7', 'gw.peer.example']);
    assert.deepEqual(s.ike.map((p) => p.text), ['aes256-sha256-modp3072']);
    assert.deepEqual(s.esp.map((p) => p.text), ['aes256-sha256-modp3072']);
    // both right subnets carried: one IPsec SA per pair (issue 10)
    assert.deepEqual([s.localTs.map((t) => t.text), s.remoteTs.map((t) => t.text)], [['10.1.0.0/16'], ['10.2.0.0/16', '10.3.0.0/16']]);
    assert.match(r.yaml, /\n    remote_ts: \["10\.2\.0\.0\/16", "10\.3\.0\.0\/16"\]\n/);
    assert.ok(!y.includes('not carried: rightsubnet'), y);
    assert.deepEqual([s.ikeLifetime, s.lifetime, s.rekeyMargin, s.ikeRekeyMargin], [3 * 3600, 3600, 300, 300]);
    assert.deepEqual([s.dpdDelay, s.dpdTimeout, s.dpdAction, s.encap, s.start], [20, 120, 'restart', true, 'start']);
    assert.equal(Buffer.from((s.secret as { psk: Uint8Array }).psk).toString(), 'site secret that is long enough 42');
    for (const n of ['not carried: aes128-sha1-modp1024: weak Diffie-Hellman groups', 'not carried: compress=yes: isakmp negotiates no IPComp', 'left taken as this host, right as the peer (the convention']) assert.ok(y.includes(n), n);

    const h = by.get('host')!;
    assert.deepEqual([h.exchange, h.ipsecMode, h.local.address, h.local.id?.text, h.allowAggressivePskResponder, h.allowWeakGroups], ['aggressive', 'transport', undefined, 'road.example', true, true]);
    assert.deepEqual([h.localTs.length, h.remoteTs[0]!.text], [0, '198.51.100.20[udp]']);
    assert.equal(Buffer.from((h.secret as { psk: Uint8Array }).psk).toString(), 'host-secret');
    assert.ok(y.includes('left=%defaultroute: no fixed local address'));
    // 'common' is a connection of its own too: to any peer, for which no PSK entry matches
    assert.match(y, /- common: no PSK in .*ipsec\.secrets for 192\.0\.2\.1/);
    const c = by.get('certs')!;
    assert.equal(c.auth, 'rsa');
    // ah= without esp=: AH alone, carried as ah: with its PFS group (issue 10)
    const a = by.get('auth-only')!;
    assert.deepEqual([a.esp.length, a.ah.map((p) => p.text), a.localTs[0]!.text, a.remoteTs[0]!.text], [0, ['sha256-modp2048', 'sha1-modp2048', 'md5-modp2048'], '10.1.0.0/16', '10.30.0.0/16']);
    assert.match(r.yaml, /\n    ah: sha256-modp2048, sha1-modp2048, md5-modp2048\n/);
    assert.match(y, /- bundle: ah= and esp= together: an AH \+ ESP bundle, which isakmp does not negotiate/);
    assert.match(y, /- v2: IKEv2-only \(keyexchange=ikev2\): isakmp speaks IKEv1/);
    assert.match(y, /- rw: rightsourceip=10\.9\.0\.0\/24: virtual IPs \/ Mode Config, which isakmp does not do/);
    assert.match(y, /- nokey: no PSK in .*ipsec\.secrets for 192\.0\.2\.1 \/ 203\.0\.113\.99/);
    assert.ok(y.includes('config setup charondebug=ike 2: no isakmp equivalent'));
  });

  test('a missing secrets file is said, --secrets names another', async () => {
    const d2 = tempDir('isakmp-ipsecconf-');
    writeFileSync(join(d2, 'ipsec.conf'), 'conn a\n    keyexchange=ikev1\n    authby=secret\n    left=192.0.2.1\n    right=192.0.2.9\n');
    let r = await importText('ipsec.conf', join(d2, 'ipsec.conf'));
    assert.equal(r.config.connections.length, 0);
    assert.ok(flat(r.yaml).includes(`${join(d2, 'ipsec.secrets')} not found: connections with pre-shared keys cannot be imported (--secrets FILE)`));
    writeFileSync(join(d2, 'other.secrets'), '192.0.2.1 192.0.2.9 : PSK "a-sufficiently-long-secret-01"\n');
    r = await importText('ipsec.conf', join(d2, 'ipsec.conf'), '--secrets', join(d2, 'other.secrets'));
    assert.deepEqual(r.config.connections.map((c) => c.name), ['a']);
  });

  test('the parser: includes, quoted values, errors with file and line', () => {
    const d = tempDir('isakmp-ipsecconf-');
    writeFileSync(join(d, 'extra.conf'), 'conn inc\n    left=192.0.2.1\n');
    const c = parseIpsecConf(`include ${join(d, 'ext*.conf')}\nconn x\n    also=inc\n    leftid="@a b"   # comment\n`, join(d, 'ipsec.conf'));
    assert.deepEqual([...c.conns.get('x')!], [['left', '192.0.2.1'], ['leftid', '@a b']]);
    assert.throws(() => parseIpsecConf('conn a\n  also=b\nconn b\n  also=a\n', 'f'), /also= loops through a → b → a/);
    assert.throws(() => parseIpsecConf('conn a\nleft=1.2.3.4\n', 'f'), /f:2: expected 'config setup', 'conn NAME'/);
    assert.throws(() => parseIpsecConf('  left=1.2.3.4\n', 'f'), /f:1: 'left=' outside a conn or config setup section/);
  });
});

describe('isakmp import ipsec.conf (Libreswan)', () => {
  const dir = tempDir('isakmp-libreswan-');
  writeFileSync(join(dir, 'ipsec.conf'), `# Libreswan ipsec.conf(5)
config setup
    protostack=netkey
    virtual-private=%v4:10.0.0.0/8

conn tunnel
    ikev2=no
    authby=secret
    left=192.0.2.1
    leftid=@west.example
    leftsubnets={10.1.0.0/16 10.4.0.0/16}
    right=203.0.113.7
    rightid=@east.example
    rightsubnet=10.2.0.0/16
    ike=aes256-sha2_256;modp2048,aes_cbc128-sha1;dh19
    phase2alg=aes_gcm256-null;modp2048,aes256-sha2_256;modp2048
    salifetime=8h
    ikelifetime=24h
    dpddelay=10
    dpdtimeout=60
    dpdaction=restart
    encapsulation=yes
    auto=start

conn nopfs
    ikev2=never
    authby=secret
    left=192.0.2.1
    right=203.0.113.8
    ike=aes128-sha2
    esp=aes128-sha2_512
    pfs=no
    aggrmode=yes

conn ahonly
    ikev2=no
    authby=secret
    left=192.0.2.1
    leftsubnets={10.1.0.0/16,10.4.0.0/16}
    right=203.0.113.11
    rightsubnets={10.11.0.0/16 10.12.0.0/16}
    ike=aes256-sha2_256;modp2048
    phase2=ah
    phase2alg=sha2_256;modp2048,sha1;modp2048

conn modern
    authby=secret
    left=192.0.2.1
    right=203.0.113.9

conn nss
    ikev2=no
    left=192.0.2.1
    right=203.0.113.10
    leftcert=west
`);
  writeFileSync(join(dir, 'ipsec.secrets'), '@west.example @east.example : PSK "west-east-shared-secret-0001"\n192.0.2.1 203.0.113.8 : PSK 0sbm9wZnMtc2VjcmV0LTAwMDE=\n192.0.2.1 203.0.113.11 : PSK "libreswan-ah-secret-000101"\n');

  test('dialect guessed, ;DH syntax, pfs=yes takes the IKE group, pfs=no none, ikev2 defaults', async () => {
    assert.equal(guessDialect(['ikev2', 'phase2alg', 'leftrsasigkey']), 'libreswan');
    assert.equal(guessDialect(['keyexchange', 'leftauth']), 'strongswan');
    const r = await importText('ipsec.conf', join(dir, 'ipsec.conf'));
    const y = flat(r.yaml);
    assert.ok(y.includes("read as Libreswan's dialect"));
    const by = new Map(r.config.connections.map((c) => [c.name, c]));
    assert.deepEqual([...by.keys()], ['tunnel', 'nopfs', 'ahonly']);
    const t = by.get('tunnel')!;
    assert.deepEqual(t.ike.map((p) => p.text), ['aes256-sha256-modp2048', 'aes128-sha1-ecp256']);
    // AES-GCM ESP (aes_gcm256-null) is carried (issue 10)
    assert.deepEqual(t.esp.map((p) => p.text), ['aes256gcm16-modp2048', 'aes256-sha256-modp2048']);
    assert.ok(!y.includes('not implemented by isakmp'), y);
    // leftsubnets={…}: every subnet carried (issue 10)
    assert.deepEqual([t.local.id?.text, t.remote.id?.text, t.localTs.map((x) => x.text), t.remoteTs.map((x) => x.text)], ['west.example', 'east.example', ['10.1.0.0/16', '10.4.0.0/16'], ['10.2.0.0/16']]);
    assert.deepEqual([t.lifetime, t.ikeLifetime, t.dpdDelay, t.dpdTimeout, t.dpdAction, t.encap, t.start], [8 * 3600, 86400, 10, 60, 'restart', true, 'start']);
    assert.ok(!y.includes('not carried: leftsubnet'), y);
    const n = by.get('nopfs')!;
    assert.deepEqual([n.exchange, n.esp.map((p) => p.text).join(), n.esp[0]!.group], ['aggressive', 'aes128-sha512', undefined]);
    assert.deepEqual(n.ike.map((p) => p.text), ['aes128-sha256-modp2048']);
    assert.ok(y.includes("IKE proposal 'aes128-sha2' names no DH group: modp2048 used"));
    assert.equal(Buffer.from((n.secret as { psk: Uint8Array }).psk).toString(), 'nopfs-secret-0001');
    // phase2=ah: AH alone with Libreswan's spelling; both subnet lists (issue 10)
    const ah = by.get('ahonly')!;
    assert.deepEqual([ah.esp.length, ah.ah.map((p) => p.text)], [0, ['sha256-modp2048', 'sha1-modp2048']]);
    assert.deepEqual([ah.localTs.map((x) => x.text), ah.remoteTs.map((x) => x.text)], [['10.1.0.0/16', '10.4.0.0/16'], ['10.11.0.0/16', '10.12.0.0/16']]);
    assert.match(y, /- modern: IKEv2-only \(no ikev2=no: Libreswan 4 and later negotiate IKEv2 by default\)/);
    assert.match(y, /- nss: certificates live in Libreswan's NSS database \(leftcert=west\)/);
    // --dialect strongswan reads the same file differently (and says it was told)
    const s = await importText('ipsec.conf', join(dir, 'ipsec.conf'), '--dialect', 'strongswan');
    assert.ok(!flat(s.yaml).includes('guessed'));
  });

  test('a PSK is matched by the connection\'s identities before its addresses (found against pluto: an address line first, @a @b second)', async () => {
    const d = tempDir('isakmp-ipsecconf-');
    writeFileSync(join(d, 'ipsec.conf'), `conn am
    ikev2=no
    authby=secret
    aggressive=yes
    left=192.0.2.1
    leftid=@a.example
    right=203.0.113.5
    rightid=@b.example
    ike=aes128-sha2_256;modp2048

conn mm
    ikev2=no
    authby=secret
    left=192.0.2.1
    right=203.0.113.5
    ike=aes128-sha2_256;modp2048
`);
    writeFileSync(join(d, 'ipsec.secrets'), '192.0.2.1 203.0.113.5 : PSK "the-address-pair-secret-0001"\n@a.example @b.example : PSK "the-identity-pair-secret-0001"\n');
    const r = await importText('ipsec.conf', join(d, 'ipsec.conf'), '--dialect', 'libreswan');
    const by = new Map(r.config.connections.map((c) => [c.name, c]));
    assert.equal(Buffer.from((by.get('am')!.secret as { psk: Uint8Array }).psk).toString(), 'the-identity-pair-secret-0001');
    assert.equal(Buffer.from((by.get('mm')!.secret as { psk: Uint8Array }).psk).toString(), 'the-address-pair-secret-0001');
  });
});
