// `isakmp import cisco`: the crypto part of an IOS configuration, written here from Cisco's
// documented command syntax (crypto isakmp policy / key, keyrings, transform sets, crypto maps,
// numbered and named access lists, interfaces). Every output must load with the daemon's loader.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../daemon/helpers.js';
import { importText } from './helpers.js';

const IOS = `!
hostname branch-rtr
ip domain name example.net
!
crypto isakmp policy 5
 authentication pre-share
!
crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 14
 lifetime 28800
!
crypto isakmp policy 20
 encr 3des
 hash md5
 authentication pre-share
 group 2
!
crypto isakmp policy 30
 encr aes
 authentication rsa-sig
 group 19
crypto isakmp key 0 s3cret-hq-key-0123456789 address 203.0.113.7
crypto isakmp key 6 FJgQ[eGQ]bHMV address 203.0.113.8
crypto isakmp key another-key-0123456789 address 192.0.2.200 255.255.255.255
crypto isakmp keepalive 10 3
crypto isakmp nat keepalive 20
!
crypto keyring DC
 pre-shared-key address 198.51.100.9 key dc-key-abcdefghijklmnop
!
crypto ipsec security-association lifetime seconds 7200
!
crypto ipsec transform-set TS-AES esp-aes 256 esp-sha256-hmac
 mode tunnel
crypto ipsec transform-set TS-GCM esp-gcm 256
crypto ipsec transform-set TS-AH ah-sha-hmac
crypto ipsec transform-set TS-3DES esp-3des esp-sha-hmac comp-lzs
 mode transport
!
crypto map CMAP 10 ipsec-isakmp
 description to headquarters
 set peer 203.0.113.7
 set peer 203.0.113.70
 set transform-set TS-AES TS-GCM
 set pfs group14
 set security-association lifetime seconds 3600
 set security-association lifetime kilobytes 4608000
 match address 101
crypto map CMAP 20 ipsec-isakmp
 set peer 198.51.100.9
 set transform-set TS-3DES
 match address DC-TRAFFIC
crypto map CMAP 30 ipsec-isakmp
 set peer 203.0.113.8
 set transform-set TS-AES
 match address 101
crypto map CMAP 40 ipsec-isakmp
 set peer 192.0.2.200
 set transform-set TS-AH
 match address 101
crypto map DYN 10 ipsec-isakmp dynamic DYNMAP
!
interface GigabitEthernet0/0
 description outside
 ip address 192.0.2.1 255.255.255.0
 crypto map CMAP
!
access-list 101 permit ip 10.1.0.0 0.0.255.255 10.2.0.0 0.0.255.255
access-list 101 permit ip host 10.1.9.9 10.5.0.0 0.0.0.255
access-list 101 deny ip any any
ip access-list extended DC-TRAFFIC
 permit udp host 192.0.2.1 eq 1701 host 198.51.100.9
!
end
`;

describe('isakmp import cisco', () => {
  const dir = tempDir('isakmp-cisco-');
  const f = join(dir, 'router.cfg');
  writeFileSync(f, IOS);

  test('policies with IOS defaults, keys and keyrings, transform sets, crypto maps, ACLs, the interface address', async () => {
    const r = await importText('cisco', f);
    assert.equal(r.code, 0);
    const y = r.yaml.replace(/\n\s*#\s+/g, ' ');
    const by = new Map(r.config.connections.map((c) => [c.name, c]));
    // ACL 101's two permit lines have different sources and destinations: one connection per
    // source, sharing the ISAKMP SA (issue 10: several subnets to one peer)
    assert.deepEqual([...by.keys()], ['CMAP-10', 'CMAP-10-2', 'CMAP-20', 'CMAP-40', 'CMAP-40-2']);

    const hq = by.get('CMAP-10')!;
    assert.deepEqual([hq.exchange, hq.auth, hq.local.address, hq.remote.address], ['main', 'psk', '192.0.2.1', '203.0.113.7']);
    assert.equal(Buffer.from((hq.secret as { psk: Uint8Array }).psk).toString(), 's3cret-hq-key-0123456789');
    // policy 5 is all IOS defaults (DES, SHA, group 1): not carried; policy 20's group 2 dropped as weak
    assert.deepEqual(hq.ike.map((p) => p.text), ['aes256-sha256-modp2048']);
    assert.equal(hq.ikeLifetime, 28800);
    // esp-gcm 256 is carried (AES-GCM ESP, issue 10), in the transform set order
    assert.deepEqual(hq.esp.map((p) => p.text), ['aes256-sha256-modp2048', 'aes256gcm16-modp2048']);
    assert.ok(!y.includes('not implemented by isakmp'), y);
    assert.deepEqual([hq.localTs[0]!.text, hq.remoteTs[0]!.text], ['10.1.0.0/16', '10.2.0.0/16']);
    assert.deepEqual([hq.lifetime, hq.lifetimeKb, hq.ipsecMode, hq.start], [3600, 4608000, 'tunnel', 'start']);
    assert.deepEqual([hq.dpdDelay, hq.dpdTimeout], [10, 25]);
    for (const n of [
      'from crypto map CMAP 10 (peer 203.0.113.7, match address 101)',
      'not carried: policy 5: encr des: isakmp offers AES and 3DES',
      'not carried: policy 30 (authentication rsa-sig: certificates from IOS trustpoints do not carry over)',
      'not carried: 3des-md5-modp1024: weak Diffie-Hellman groups',
      'not carried: backup peers 203.0.113.70',
      'access-list 101: 2 permit lines that are not every combination of their sources and destinations: one connection per source (2), sharing one ISAKMP SA with 203.0.113.7',
      "not carried: access-list 101 deny lines ('deny ip any any')",
      'description: to headquarters',
    ]) assert.ok(y.includes(n), n);

    const hq2 = by.get('CMAP-10-2')!;
    assert.deepEqual([hq2.remote.address, hq2.localTs.map((t) => t.text), hq2.remoteTs.map((t) => t.text)], ['203.0.113.7', ['10.1.9.9/32'], ['10.5.0.0/24']]);
    assert.deepEqual(hq2.esp.map((p) => p.text), hq.esp.map((p) => p.text));
    assert.ok(y.includes('shares the ISAKMP SA of CMAP-10'));
    assert.ok(!y.includes("not carried: access-list 101 lines"), y);

    // TS-AH (ah-sha-hmac) is AH alone: carried as ah: (issue 10)
    const ah = by.get('CMAP-40')!;
    assert.deepEqual([ah.esp.length, ah.ah.map((p) => p.text), ah.localTs[0]!.text, ah.remoteTs[0]!.text], [0, ['sha1'], '10.1.0.0/16', '10.2.0.0/16']);
    assert.match(r.yaml, /\n    ah: sha1\n/);

    const dc = by.get('CMAP-20')!;
    assert.equal(Buffer.from((dc.secret as { psk: Uint8Array }).psk).toString(), 'dc-key-abcdefghijklmnop');
    assert.deepEqual(dc.esp.map((p) => p.text), ['3des-sha1']);
    assert.deepEqual([dc.ipsecMode, dc.localTs[0]!.text, dc.remoteTs[0]!.text, dc.lifetime], ['transport', '192.0.2.1/32[udp/1701]', '198.51.100.9/32[udp]', 7200]);
    assert.ok(y.includes('partly carried: transform-set TS-3DES: comp-lzs: isakmp negotiates no IPComp'));

    assert.equal(r.config.global.natKeepalive, 20);
    for (const s of [
      '- crypto map CMAP 30: the key for 203.0.113.8 is stored encrypted (type 6',
      'crypto map DYN 10 ipsec-isakmp dynamic DYNMAP: dynamic crypto maps (any peer) are not carried',
    ]) assert.ok(y.includes(s), s);
    assert.ok(!y.includes('crypto map CMAP 40:'), y);
  });

  test('no interface carries the map: --local-address, or the connection is skipped saying so', async () => {
    const g = join(dir, 'nointerface.cfg');
    writeFileSync(g, IOS.replace(' crypto map CMAP\n', ''));
    const r = await importText('cisco', g);
    assert.equal(r.config.connections.length, 0);
    assert.ok(r.yaml.replace(/\n#\s+/g, ' ').includes('- crypto map CMAP 10: no local address: crypto map CMAP is on no interface with an ip address; give --local-address ADDRESS'));
    const r2 = await importText('cisco', g, '--local-address', '192.0.2.55');
    assert.deepEqual(r2.config.connections.map((c) => c.local.address), Array(5).fill('192.0.2.55'));
  });

  test('a crypto ACL of several lines: every combination is one connection with selector lists; AH alone, AH + ESP bundles said', async () => {
    const g = join(dir, 'multi-acl.cfg');
    writeFileSync(g, `!
hostname spoke7
!
crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 14
crypto isakmp key Vq7nR2xK9pLm4TzW8sYb3HcD address 203.0.113.20
crypto isakmp key Qm3xT8vN1bLp6RwZ9cKd2HsF address 203.0.113.21
!
crypto ipsec transform-set AH256 ah-sha256-hmac
crypto ipsec transform-set BUNDLE ah-sha-hmac esp-aes 256 esp-sha-hmac
crypto ipsec transform-set ESP256 esp-aes 256 esp-sha256-hmac
!
crypto map VPN 10 ipsec-isakmp
 set peer 203.0.113.20
 set transform-set ESP256
 set pfs group14
 match address SITES
crypto map VPN 20 ipsec-isakmp
 set peer 203.0.113.21
 set transform-set AH256 BUNDLE ESP256
 match address 120
!
interface GigabitEthernet0/1
 ip address 198.51.100.2 255.255.255.0
 crypto map VPN
!
ip access-list extended SITES
 10 permit ip 10.10.0.0 0.0.255.255 172.16.0.0 0.0.255.255
 20 permit ip 10.10.0.0 0.0.255.255 172.17.0.0 0.0.255.255
 30 permit ip 10.20.0.0 0.0.255.255 172.16.0.0 0.0.255.255
 40 permit ip 10.20.0.0 0.0.255.255 172.17.0.0 0.0.255.255
 50 permit ip 10.10.0.0 0.0.255.255 172.16.0.0 0.0.255.255
access-list 120 permit tcp host 198.51.100.2 host 203.0.113.21 eq 179
access-list 120 permit udp 10.30.0.0 0.0.0.255 10.40.0.0 0.0.0.255 range 5000 5100
end
`);
    const r = await importText('cisco', g);
    const y = r.yaml.replace(/\n\s*#\s+/g, ' ');
    const by = new Map(r.config.connections.map((c) => [c.name, c]));
    assert.deepEqual([...by.keys()], ['VPN-10', 'VPN-20']);
    // four lines (and a duplicate) that are every source x destination: one connection, two lists
    const sites = by.get('VPN-10')!;
    assert.deepEqual(sites.localTs.map((t) => t.text), ['10.10.0.0/16', '10.20.0.0/16']);
    assert.deepEqual(sites.remoteTs.map((t) => t.text), ['172.16.0.0/16', '172.17.0.0/16']);
    assert.deepEqual(sites.esp.map((p) => p.text), ['aes256-sha256-modp2048']);
    assert.match(r.yaml, /\n    local_ts: \["10\.10\.0\.0\/16", "10\.20\.0\.0\/16"\]\n    remote_ts: \["172\.16\.0\.0\/16", "172\.17\.0\.0\/16"\]\n/);
    // AH first: the connection negotiates AH; the bundle and the ESP set are said
    const bgp = by.get('VPN-20')!;
    assert.deepEqual([bgp.esp.length, bgp.ah.map((p) => p.text)], [0, ['sha256']]);
    assert.ok(y.includes('not carried: transform-set BUNDLE: AH and ESP together: a bundle, which isakmp does not negotiate'), y);
    assert.ok(y.includes("not carried: transform-set ESP256: ESP, but the connection negotiates AH (the first set's)"), y);
    // the second line matches a port range, which selectors cannot say: said, the first line carried
    assert.ok(y.includes("not carried: access-list 120 line 37 'permit udp 10.30.0.0 0.0.0.255 10.40.0.0 0.0.0.255 range 5000 5100': port match 'range' (only 'eq' carries over)"), y);
    assert.deepEqual([bgp.localTs.map((t) => t.text), bgp.remoteTs.map((t) => t.text)], [['198.51.100.2/32[tcp]'], ['203.0.113.21/32[tcp/179]']]);
  });
});
