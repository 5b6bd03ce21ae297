/**
 * The Mode Config attributes a gateway sends one client (draft-ietf-ipsec-isakmp-mode-cfg-05 §3.3
 * and the Cisco Unity extensions), from the connection's configuration and the client's virtual
 * address. The address and DNS servers always go; the rest only when the client asked for it (a
 * pushing gateway "asks" on the client's behalf: extensions/modecfg.ts):
 *
 *   INTERNAL_IP4_ADDRESS / INTERNAL_IP6_ADDRESS (16 bytes + prefix 128)    the virtual address
 *   INTERNAL_IP4_NETMASK        255.255.255.255, or the RADIUS Framed-IP-Netmask
 *   INTERNAL_IP4_DNS / _IP6_DNS `dns:`                INTERNAL_IP4_NBNS    `nbns:`
 *   INTERNAL_IP4_SUBNET (address, mask) / INTERNAL_IP6_SUBNET (address, prefix)   `split_include:`
 *   APPLICATION_VERSION         "isakmp VERSION"
 *   UNITY_SPLIT_INCLUDE / UNITY_LOCAL_LAN   per IPv4 network: address, mask, 6 zero bytes
 *   UNITY_BANNER `banner:`  UNITY_DEF_DOMAIN `default_domain:`  UNITY_SPLITDNS_NAME `split_dns:`
 *   (comma-separated)  UNITY_SAVE_PASSWD `save_password:` (0/1)  UNITY_PFS (1 when the
 *   connection's ESP proposals use a PFS group, else 0)
 *
 * UNITY_FW_TYPE is not sent: no firewall policy is configured for clients.
 */
import { isIP } from 'node:net';
import type { DataAttribute } from '../codec/types.js';
import { CfgAttr } from '../constants/index.js';
import type { ConnectionConfig, RemoteAccessGatewayConfig, TrafficSelector } from './config/index.js';

const enc = new TextEncoder();

export function ipv4Bytes(a: string): Uint8Array {
  return Uint8Array.from(a.split('.').map(Number));
}

/** An IPv4 or IPv6 address in network order. */
export function ipBytes(a: string): Uint8Array {
  if (isIP(a) === 4) return ipv4Bytes(a);
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g || '0', 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function maskBytes(prefix: number): Uint8Array {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return Uint8Array.from([m >>> 24, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff]);
}

const tlv = (type: number, value: Uint8Array): DataAttribute => ({ format: 'TLV', type, value });
const flag = (type: number, on: boolean): DataAttribute => ({ format: 'TV', type, value: on ? 1 : 0 });

/** Cisco Unity network list: per IPv4 network 4 bytes address, 4 bytes mask, 6 zero bytes (protocol, ports). */
function unityNetworks(nets: readonly TrafficSelector[]): Uint8Array | undefined {
  const v4 = nets.filter((t) => t.family === 4);
  if (v4.length === 0) return undefined;
  const buf = new Uint8Array(v4.length * 14);
  v4.forEach((t, i) => {
    buf.set(ipv4Bytes(t.address), i * 14);
    buf.set(maskBytes(t.prefix), i * 14 + 4);
  });
  return buf;
}

export interface ClientAddress {
  readonly address: string | undefined;
  /** A netmask from the user backend (RADIUS Framed-IP-Netmask); else /32. */
  readonly netmask?: string;
}

/** The attributes for one client of gateway connection `c` (`ra` its remote-access part). */
export function modeConfigAttributes(c: ConnectionConfig, ra: RemoteAccessGatewayConfig, asked: ReadonlySet<number>, client: ClientAddress, version: string): DataAttribute[] {
  const attrs: DataAttribute[] = [];
  const { address } = client;
  if (address !== undefined) {
    const v6 = isIP(address) === 6;
    attrs.push(tlv(v6 ? CfgAttr.INTERNAL_IP6_ADDRESS : CfgAttr.INTERNAL_IP4_ADDRESS, v6 ? Uint8Array.from([...ipBytes(address), 128]) : ipv4Bytes(address)));
    if (!v6 && asked.has(CfgAttr.INTERNAL_IP4_NETMASK)) attrs.push(tlv(CfgAttr.INTERNAL_IP4_NETMASK, client.netmask !== undefined ? ipv4Bytes(client.netmask) : maskBytes(32)));
  }
  for (const d of ra.dns) attrs.push(tlv(isIP(d) === 6 ? CfgAttr.INTERNAL_IP6_DNS : CfgAttr.INTERNAL_IP4_DNS, ipBytes(d)));
  if (asked.has(CfgAttr.INTERNAL_IP4_NBNS)) for (const n of ra.nbns) attrs.push(tlv(CfgAttr.INTERNAL_IP4_NBNS, ipv4Bytes(n)));
  if (asked.has(CfgAttr.UNITY_SPLIT_INCLUDE)) {
    const buf = unityNetworks(ra.splitInclude);
    if (buf !== undefined) attrs.push(tlv(CfgAttr.UNITY_SPLIT_INCLUDE, buf));
  }
  if (asked.has(CfgAttr.INTERNAL_IP4_SUBNET)) {
    for (const t of ra.splitInclude.filter((x) => x.family === 4)) attrs.push(tlv(CfgAttr.INTERNAL_IP4_SUBNET, Uint8Array.from([...ipv4Bytes(t.address), ...maskBytes(t.prefix)])));
  }
  // IPv6 split networks go to a client with an IPv6 address, or one that asked for them
  if (asked.has(CfgAttr.INTERNAL_IP6_SUBNET) || (address !== undefined && isIP(address) === 6 && asked.has(CfgAttr.INTERNAL_IP4_SUBNET))) {
    for (const t of ra.splitInclude.filter((x) => x.family === 6)) attrs.push(tlv(CfgAttr.INTERNAL_IP6_SUBNET, Uint8Array.from([...ipBytes(t.address), t.prefix])));
  }
  if (asked.has(CfgAttr.APPLICATION_VERSION)) attrs.push(tlv(CfgAttr.APPLICATION_VERSION, enc.encode(`isakmp ${version}`)));
  if (asked.has(CfgAttr.UNITY_BANNER) && ra.banner !== undefined) attrs.push(tlv(CfgAttr.UNITY_BANNER, enc.encode(ra.banner)));
  if (asked.has(CfgAttr.UNITY_SAVE_PASSWD) && ra.savePassword !== undefined) attrs.push(flag(CfgAttr.UNITY_SAVE_PASSWD, ra.savePassword));
  if (asked.has(CfgAttr.UNITY_DEF_DOMAIN) && ra.defaultDomain !== undefined) attrs.push(tlv(CfgAttr.UNITY_DEF_DOMAIN, enc.encode(ra.defaultDomain)));
  if (asked.has(CfgAttr.UNITY_SPLITDNS_NAME) && ra.splitDns.length > 0) attrs.push(tlv(CfgAttr.UNITY_SPLITDNS_NAME, enc.encode(ra.splitDns.join(','))));
  if (asked.has(CfgAttr.UNITY_LOCAL_LAN)) {
    const buf = unityNetworks(ra.localLan);
    if (buf !== undefined) attrs.push(tlv(CfgAttr.UNITY_LOCAL_LAN, buf));
  }
  if (asked.has(CfgAttr.UNITY_PFS)) attrs.push(flag(CfgAttr.UNITY_PFS, c.esp.some((p) => p.group !== undefined && p.group !== 0)));
  return attrs;
}
