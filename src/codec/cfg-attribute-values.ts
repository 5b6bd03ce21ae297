/**
 * Values of Mode Config and XAUTH attributes (draft-ietf-ipsec-isakmp-mode-cfg-05 §3.3,
 * draft-ietf-ipsec-isakmp-xauth-06 §3.2, Cisco Unity) as text for `isakmp decode`: addresses as
 * addresses, texts as texts, statuses by name. Passwords and passcodes are never shown, only
 * their length, even when a key log decrypted them.
 * @module
 */
import { CfgAttr, XauthType, lookupName } from '../constants/index.js';
import type { DataAttribute } from './types.js';

const ipv4 = (b: Uint8Array, at = 0): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

function ipv6(b: Uint8Array, at = 0): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function prefixOfMask(b: Uint8Array, at: number): number | undefined {
  let bits = 0;
  let ended = false;
  for (let i = 0; i < 4; i++) {
    for (let k = 7; k >= 0; k--) {
      const one = ((b[at + i]! >> k) & 1) === 1;
      if (one && ended) return undefined;
      if (one) bits++;
      else ended = true;
    }
  }
  return bits;
}

function text(b: Uint8Array): string {
  const s = Buffer.from(b).toString('utf8');
  // Control characters are shown escaped: the bytes come from the network.
  return JSON.stringify(s);
}

const u32 = (b: Uint8Array): number => ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);

/** Cisco Unity split-tunnel entries: address, mask and 6 more bytes (protocol, ports, padding): 14 bytes each. */
function unitySplit(b: Uint8Array): string | undefined {
  if (b.length % 14 !== 0) return undefined;
  const out: string[] = [];
  for (let at = 0; at < b.length; at += 14) {
    const p = prefixOfMask(b, at + 4);
    out.push(`${ipv4(b, at)}${p !== undefined ? `/${p}` : ` mask ${ipv4(b, at + 4)}`}`);
  }
  return out.join(', ');
}

/** Attributes whose value is a secret: shown by length only, in the tree and in JSON. */
export function isSecretCfgAttribute(type: number): boolean {
  return type === CfgAttr.XAUTH_USER_PASSWORD || type === CfgAttr.XAUTH_PASSCODE || type === CfgAttr.XAUTH_NEXT_PIN;
}

/** The value of a configuration attribute as text, or undefined to fall back to hex. */
export function cfgAttributeValueText(a: DataAttribute): string | undefined {
  if (a.format === 'TV') {
    if (a.type === CfgAttr.XAUTH_TYPE) return lookupName(XauthType, a.value);
    if (a.type === CfgAttr.XAUTH_STATUS) return a.value === 1 ? 'OK' : a.value === 0 ? 'FAIL' : undefined;
    return undefined;
  }
  const v = a.value;
  if (v.length === 0) return '(empty: requested)';
  switch (a.type) {
    case CfgAttr.INTERNAL_IP4_ADDRESS: case CfgAttr.INTERNAL_IP4_NETMASK: case CfgAttr.INTERNAL_IP4_DNS:
    case CfgAttr.INTERNAL_IP4_NBNS: case CfgAttr.INTERNAL_IP4_DHCP:
      return v.length === 4 ? ipv4(v) : undefined;
    case CfgAttr.INTERNAL_IP4_SUBNET: {
      if (v.length !== 8) return undefined;
      const p = prefixOfMask(v, 4);
      return p !== undefined ? `${ipv4(v)}/${p}` : `${ipv4(v)} mask ${ipv4(v, 4)}`;
    }
    case CfgAttr.INTERNAL_IP6_ADDRESS: case CfgAttr.INTERNAL_IP6_SUBNET:
      if (v.length === 17) return `${ipv6(v)}/${v[16]}`;
      return v.length === 16 ? ipv6(v) : undefined;
    case CfgAttr.INTERNAL_IP6_NETMASK: case CfgAttr.INTERNAL_IP6_DNS: case CfgAttr.INTERNAL_IP6_NBNS: case CfgAttr.INTERNAL_IP6_DHCP:
      return v.length === 16 ? ipv6(v) : undefined;
    case CfgAttr.INTERNAL_ADDRESS_EXPIRY:
      return v.length === 4 ? `${u32(v)} s` : undefined;
    case CfgAttr.SUPPORTED_ATTRIBUTES: {
      if (v.length % 2 !== 0) return undefined;
      const names: string[] = [];
      for (let i = 0; i < v.length; i += 2) {
        const t = (v[i]! << 8) | v[i + 1]!;
        names.push(lookupName(CfgAttr, t) ?? String(t));
      }
      return names.join(', ');
    }
    case CfgAttr.XAUTH_USER_PASSWORD: case CfgAttr.XAUTH_PASSCODE: case CfgAttr.XAUTH_NEXT_PIN:
      return `(${v.length} bytes, not shown)`;
    case CfgAttr.APPLICATION_VERSION: case CfgAttr.XAUTH_USER_NAME: case CfgAttr.XAUTH_MESSAGE:
    case CfgAttr.XAUTH_CHALLENGE: case CfgAttr.XAUTH_DOMAIN: case CfgAttr.XAUTH_ANSWER:
    case CfgAttr.UNITY_BANNER: case CfgAttr.UNITY_DEF_DOMAIN: case CfgAttr.UNITY_SPLITDNS_NAME:
    case CfgAttr.UNITY_BACKUP_SERVERS: case CfgAttr.UNITY_DDNS_HOSTNAME:
      return text(v);
    case CfgAttr.XAUTH_TYPE:
      return v.length <= 2 ? lookupName(XauthType, v.length === 2 ? (v[0]! << 8) | v[1]! : v[0]!) : undefined;
    case CfgAttr.XAUTH_STATUS: {
      const n = v.length === 2 ? (v[0]! << 8) | v[1]! : v.length === 4 ? u32(v) : undefined;
      return n === 1 ? 'OK' : n === 0 ? 'FAIL' : undefined;
    }
    case CfgAttr.UNITY_SPLIT_INCLUDE: case CfgAttr.UNITY_LOCAL_LAN:
      return unitySplit(v);
    default:
      return undefined;
  }
}
