// The attributes a gateway sends (src/daemon/modecfg-attributes.ts), byte for byte, from a parsed
// configuration: what was asked for, the Cisco Unity encodings, IPv6, the RADIUS netmask.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CfgAttr } from '../../../src/constants/index.js';
import { parseConfig } from '../../../src/daemon/config/index.js';
import { modeConfigAttributes } from '../../../src/daemon/modecfg-attributes.js';

const CONFIG = `secrets:
  group: { psk: a-group-secret, allow_weak_psk: true }
connections:
  rw:
    secret: group
    local: { address: 192.0.2.1 }
    remote: { address: "%any", id: "%any" }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256-modp2048
    pool: 10.10.0.0/24
    dns: [10.1.0.53, 2001:db8::53]
    nbns: 10.1.0.54
    split_include: [10.1.0.0/16, 2001:db8:1::/48]
    local_lan: 192.168.0.0/16
    banner: Hi
    default_domain: corp.example
    split_dns: [corp.example, lab.example]
    save_password: false
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function gateway() {
  const c = parseConfig(CONFIG, 'ra.yaml').connections[0]!;
  assert.ok(c.remoteAccess?.role === 'gateway');
  return { c, ra: c.remoteAccess };
}

test('asked for everything: each attribute with its exact value', () => {
  const { c, ra } = gateway();
  const asked = new Set<number>(Object.values(CfgAttr));
  const attrs = modeConfigAttributes(c, ra, asked, { address: '10.10.0.7' }, '1.2.3');
  const byType = attrs.map((a) => [a.type, a.format === 'TV' ? a.value : hex(a.value)]);
  assert.deepEqual(byType, [
    [CfgAttr.INTERNAL_IP4_ADDRESS, '0a0a0007'],
    [CfgAttr.INTERNAL_IP4_NETMASK, 'ffffffff'],
    [CfgAttr.INTERNAL_IP4_DNS, '0a010035'],
    [CfgAttr.INTERNAL_IP6_DNS, '20010db8000000000000000000000053'],
    [CfgAttr.INTERNAL_IP4_NBNS, '0a010036'],
    [CfgAttr.UNITY_SPLIT_INCLUDE, '0a010000ffff0000000000000000'],
    [CfgAttr.INTERNAL_IP4_SUBNET, '0a010000ffff0000'],
    [CfgAttr.INTERNAL_IP6_SUBNET, '20010db8000100000000000000000000' + '30'],
    [CfgAttr.APPLICATION_VERSION, hex(Buffer.from('isakmp 1.2.3'))],
    [CfgAttr.UNITY_BANNER, hex(Buffer.from('Hi'))],
    [CfgAttr.UNITY_SAVE_PASSWD, 0],
    [CfgAttr.UNITY_DEF_DOMAIN, hex(Buffer.from('corp.example'))],
    [CfgAttr.UNITY_SPLITDNS_NAME, hex(Buffer.from('corp.example,lab.example'))],
    [CfgAttr.UNITY_LOCAL_LAN, 'c0a80000ffff0000000000000000'],
    [CfgAttr.UNITY_PFS, 1],
  ]);
  assert.equal(attrs.find((a) => a.type === CfgAttr.UNITY_PFS)?.format, 'TV', 'UNITY_PFS and UNITY_SAVE_PASSWD are TV (two-byte) values');
});

test('asked for nothing: the address and the DNS servers only', () => {
  const { c, ra } = gateway();
  const attrs = modeConfigAttributes(c, ra, new Set(), { address: '10.10.0.7' }, '1.2.3');
  assert.deepEqual(attrs.map((a) => a.type), [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_DNS, CfgAttr.INTERNAL_IP6_DNS]);
});

test('an IPv6 pool address: INTERNAL_IP6_ADDRESS with prefix 128, and the IPv6 split networks as INTERNAL_IP6_SUBNET', () => {
  const { c, ra } = gateway();
  const attrs = modeConfigAttributes(c, ra, new Set([CfgAttr.INTERNAL_IP4_SUBNET]), { address: '2001:db8:ff::7' }, '1.2.3');
  const v6 = attrs.find((a) => a.type === CfgAttr.INTERNAL_IP6_ADDRESS);
  assert.ok(v6 && v6.format === 'TLV');
  assert.equal(hex(v6.value), '20010db800ff00000000000000000007' + '80');
  assert.ok(!attrs.some((a) => a.type === CfgAttr.INTERNAL_IP4_ADDRESS || a.type === CfgAttr.INTERNAL_IP4_NETMASK));
  assert.ok(attrs.some((a) => a.type === CfgAttr.INTERNAL_IP6_SUBNET));
});

test('a RADIUS Framed-IP-Netmask is the INTERNAL_IP4_NETMASK', () => {
  const { c, ra } = gateway();
  const attrs = modeConfigAttributes(c, ra, new Set([CfgAttr.INTERNAL_IP4_NETMASK]), { address: '10.77.0.9', netmask: '255.255.255.0' }, '1.2.3');
  const m = attrs.find((a) => a.type === CfgAttr.INTERNAL_IP4_NETMASK);
  assert.ok(m && m.format === 'TLV');
  assert.equal(hex(m.value), 'ffffff00');
});
