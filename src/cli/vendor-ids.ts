/**
 * Names of common ISAKMP Vendor ID payloads (RFC 2408 §3.16) for `isakmp decode` and the
 * diagrams. Each value below was taken from a public listing, named in its comment:
 *   [wireshark] Wireshark's ISAKMP dissector vendor table (epan/dissectors/packet-isakmp.c);
 *   [ike-scan]  ike-scan's pattern file (royhills/ike-scan, ike-vendor-ids);
 *   [nmap]      nmap's IKE fingerprints (nmap/nmap, nselib/data/ike-fingerprints.lua);
 *   [libreswan] the vendor ID list of Libreswan's pluto (lib/libswan/vendorid.c, comments and table);
 *   [ms-aips]   Microsoft's [MS-AIPS] protocol document (the MS NT5 ISAKMPOAKLEY version list);
 *   and RFCs and drafts where the value is defined there.
 * Many vendor IDs are MD5 hashes of a text; those entries carry the text (`md5`) and a test
 * recomputes the hash, so a typing error in a published value cannot slip in unnoticed.
 * Matching: exact, or by prefix when a product appends a version (the longest match wins).
 * @module
 */
import { toHex } from '../crypto/bytes.js';

export interface VendorIdMatch {
  /** The product or feature, e.g. "strongSwan", "RFC 3947 NAT-T". */
  readonly name: string;
  /** What the bytes after a prefix say (a version), when known. */
  readonly detail?: string;
}

interface Entry {
  /** Hex of the value (or of its prefix). */
  readonly hex: string;
  readonly name: string;
  /** The text whose MD5 is the value (or starts with the value): a test recomputes it. */
  readonly md5?: string;
  /** Match the first bytes only; `rest` (the bytes after them) may describe a version. */
  readonly prefix?: boolean;
  readonly rest?: (rest: Uint8Array) => string | undefined;
  /** A prefix entry matches only when the bytes after it pass this check. */
  readonly accept?: (rest: Uint8Array) => boolean;
}

const ascii = (text: string): string => toHex(Buffer.from(text, 'latin1'));
const u32 = (b: Uint8Array): number => ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);

/** Major.minor in the last two bytes (DPD, Cisco Unity). */
const majorMinor = (r: Uint8Array): string | undefined => (r.length === 2 ? `version ${r[0]}.${r[1]}` : undefined);

/** MS NT5 ISAKMPOAKLEY + a 4-byte version [ms-aips] [libreswan] [nmap]. */
const WINDOWS: Readonly<Record<number, string>> = {
  2: 'Windows 2000',
  3: 'Windows XP',
  4: 'Windows Server 2003 (or XP SP2)',
  5: 'Windows Vista',
  6: 'Windows Server 2008',
  7: 'Windows 7',
  8: 'Windows Server 2008 R2',
  9: 'Windows 8 or later (8, 8.1, 10, Server 2012 and later)',
};

const ENTRIES: readonly Entry[] = [
  // --- standards and drafts -------------------------------------------------------------
  // RFC 3947 §4: MD5("RFC 3947").
  { hex: '4a131c81070358455c5728f20e95452f', md5: 'RFC 3947', name: 'RFC 3947 NAT-T' },
  // NAT-T drafts: MD5 of the draft name [wireshark] [ike-scan]; -02 was also sent with a newline.
  { hex: '4485152d18b6bbcd0be8a8469579ddcc', md5: 'draft-ietf-ipsec-nat-t-ike-00', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-00' },
  { hex: '16f6ca16e4a4066d83821a0f0aeaa862', md5: 'draft-ietf-ipsec-nat-t-ike-01', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-01' },
  { hex: 'cd60464335df21f87cfdb2fc68b6a448', md5: 'draft-ietf-ipsec-nat-t-ike-02', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-02' },
  { hex: '7d9419a65310ca6f2c179d9215529d56', md5: 'draft-ietf-ipsec-nat-t-ike-03', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-03' },
  { hex: '9909b64eed937c6573de52ace952fa6b', md5: 'draft-ietf-ipsec-nat-t-ike-04', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-04' },
  { hex: '80d0bb3def54565ee84645d4c85ce3ee', md5: 'draft-ietf-ipsec-nat-t-ike-05', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-05' },
  { hex: '4d1e0e136deafa34c4f3ea9f02ec7285', md5: 'draft-ietf-ipsec-nat-t-ike-06', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-06' },
  { hex: '439b59f8ba676c4c7737ae22eab8f582', md5: 'draft-ietf-ipsec-nat-t-ike-07', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-07' },
  { hex: '8f8d83826d246b6fc7a8a6a428c11de8', md5: 'draft-ietf-ipsec-nat-t-ike-08', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-08' },
  { hex: '42ea5b6f898d9773a575df26e7dd19e1', md5: 'draft-ietf-ipsec-nat-t-ike-09', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-09' },
  { hex: '90cb80913ebb696e086381b5ec427b1f', md5: 'draft-ietf-ipsec-nat-t-ike-02\n', name: 'NAT-T draft-ietf-ipsec-nat-t-ike-02 (with newline)' },
  // Seen from Mac OS X racoon [nmap] [libreswan].
  { hex: '4df37928e9fc4fd1b3262170d515c662', md5: 'draft-ietf-ipsec-nat-t-ike', name: 'NAT-T draft-ietf-ipsec-nat-t-ike (unversioned)' },
  { hex: 'c40fee00d5d39ddb1fc762e09b7cfea7', md5: 'Testing NAT-T RFC', name: 'NAT-T "Testing NAT-T RFC"' }, // [wireshark] [ike-scan]
  { hex: '810fa565f8ab14369105d706fbd57279', md5: 'RFC XXXX', name: 'NAT-T "RFC XXXX" (Solaris)' }, // [nmap] [libreswan]
  { hex: '27bab5dc01ea0760ea4e3190ac27c0d0', md5: 'draft-stenberg-ipsec-nat-traversal-01', name: 'NAT-T draft-stenberg-ipsec-nat-traversal-01' }, // [wireshark]
  { hex: '6105c422e76847e43f9684801292aecd', md5: 'draft-stenberg-ipsec-nat-traversal-02', name: 'NAT-T draft-stenberg-ipsec-nat-traversal-02' }, // [wireshark]
  { hex: '6a7434c19d7e36348090a02334c9c805', md5: 'draft-huttunen-ipsec-esp-in-udp-00.txt', name: 'NAT-T draft-huttunen-ipsec-esp-in-udp-00' }, // [wireshark]
  { hex: '50760f624c63e5c53eea386c685ca083', md5: 'ESPThruNAT', name: 'NAT-T ESPThruNAT (draft-huttunen-ipsec-esp-in-udp-01)' }, // [wireshark] [ike-scan]
  // RFC 3706 §5.1: the DPD vendor ID, the last two bytes are the major and minor version.
  { hex: 'afcad71368a1f1c96b8696fc7757', prefix: true, name: 'DPD (RFC 3706 Dead Peer Detection)', rest: majorMinor },
  // Truncated MD5("draft-ietf-ipsra-isakmp-xauth-06.txt") [ike-scan] [wireshark].
  { hex: '09002689dfd6b712', md5: 'draft-ietf-ipsra-isakmp-xauth-06.txt', name: 'XAUTH (draft-ietf-ipsec-isakmp-xauth)' },
  // The full MD5 of the same text, listed as draft-beaulieu-ike-xauth-02 [wireshark].
  { hex: '09002689dfd6b71280a224dec33b81e5', md5: 'draft-ietf-ipsra-isakmp-xauth-06.txt', name: 'XAUTH (draft-beaulieu-ike-xauth-02)' },
  // MD5("FRAGMENTATION"); Cisco and strongSwan append 4 capability bytes such as 80000000 [ike-scan] [wireshark] [libreswan].
  { hex: '4048b7d56ebce88525e7de7f00d6c2d3', md5: 'FRAGMENTATION', prefix: true, name: 'FRAGMENTATION (IKE fragmentation)', rest: (r) => (r.length === 4 ? `flags 0x${toHex(r)}` : undefined) },
  { hex: '26244d38eddb61b3172a36e3d0cfb819', md5: 'Vid-Initial-Contact', name: 'Microsoft Vid-Initial-Contact' }, // [wireshark] [nmap]
  // "HeartBeat_Notify" in ASCII, a version may follow [ike-scan] [libreswan]; NetScreen sends it.
  { hex: ascii('HeartBeat_Notify'), prefix: true, name: 'HeartBeat Notify (NetScreen)' },

  // --- strongSwan, Libreswan, Openswan, FreeS/WAN, racoon ---------------------------------
  { hex: '882fe56d6fd20dbc2251613b2ebe5beb', md5: 'strongSwan', name: 'strongSwan' }, // [wireshark] [nmap]
  // Libreswan sends the text "OE-Libreswan-" and its version [libreswan] (lswversion: OUR_VENDOR_VID).
  { hex: ascii('OE-Libreswan-'), prefix: true, name: 'Libreswan', rest: (r) => (r.length > 0 && r.every((c) => c >= 0x20 && c < 0x7f) ? `version ${Buffer.from(r).toString('latin1')}` : undefined) },
  // Openswan and FreeS/WAN: "OE" and a 10-byte hash of their version string [nmap].
  { hex: '4f4548724b6e5e68557c604f', name: 'Openswan 2.2.0' },
  { hex: '4f4572696f5c77557f746249', name: 'Openswan 2.3.0' },
  { hex: '4f45486b7d44784d42676b5d', name: 'FreeS/WAN 2.00' },
  { hex: '4f457c4f547e6e615b426e56', name: 'FreeS/WAN 2.01' },
  { hex: '4f456c6b44696d7f6b4c4e60', name: 'FreeS/WAN 2.02' },
  { hex: '4f45566671474962734e6264', name: 'FreeS/WAN 2.03' },
  { hex: '4f45704f736579505c6e5f6d', name: 'FreeS/WAN 2.04' },
  { hex: '4f457271785f4c7e496f4d54', name: 'FreeS/WAN 2.05' },
  { hex: '4f457e4c466e5d427c5c6b52', name: 'FreeS/WAN 2.06' },
  // Other versions of the family: "OE" and 10 printable characters, 12 bytes in all (the shape of
  // every value above and of Libreswan's FreeS/WAN-style hash [libreswan]).
  { hex: '4f45', prefix: true, name: 'Openswan or FreeS/WAN (version hash)', accept: (r) => r.length === 10 && r.every((c) => c > 0x20 && c < 0x7f) },
  { hex: '7003cbc1097dbe9c2600ba6983bc8b35', md5: 'KAME/racoon', name: 'KAME/racoon (ipsec-tools)' }, // [ike-scan] [wireshark]

  // --- Cisco ----------------------------------------------------------------------------------
  // MD5("CISCO-UNITY") with its last two bytes replaced by the Unity version (1.0) [libreswan] [wireshark].
  { hex: '12f5f28c457168a9702d9fe274cc', md5: 'CISCO-UNITY', prefix: true, name: 'Cisco Unity', rest: majorMinor },
  // VPN 3000 concentrator: MD5("ALTIGA GATEWAY") truncated to 14 bytes, then the version,
  // e.g. 0306 = 3.0.6 [libreswan] [ike-scan] [nmap].
  { hex: '1f07f70eaa6514d3b0fa96542a50', md5: 'ALTIGA GATEWAY', prefix: true, name: 'Cisco VPN Concentrator (VPN 3000)', rest: (r) => (r.length === 2 ? `version ${r[0]}.${r[1]! >> 4}.${r[1]! & 15}` : undefined) },
  { hex: '3e984048', prefix: true, name: 'Cisco IOS' }, // [nmap] [libreswan]
  { hex: ascii('CISCOVPN-REV-02'), name: 'Cisco VPN (CISCOVPN-REV-02)' }, // [libreswan]
  { hex: ascii('CISCO-DELETE-REASON'), name: 'Cisco delete reason' }, // [libreswan]
  { hex: ascii('FLEXVPN-SUPPORTED'), name: 'Cisco FlexVPN supported' }, // [libreswan]

  // --- Microsoft --------------------------------------------------------------------------------
  // MD5("MS NT5 ISAKMPOAKLEY"), then a 4-byte version [ms-aips] [ike-scan] [nmap] [libreswan].
  { hex: '1e2b516905991c7d7c96fcbfb587e461', md5: 'MS NT5 ISAKMPOAKLEY', prefix: true, name: 'Microsoft Windows', rest: (r) => (r.length === 4 ? (WINDOWS[u32(r)] ?? `MS NT5 ISAKMPOAKLEY version ${u32(r)}`) : undefined) },
  { hex: '621b04bb09882ac1e15935fefa24aeee', md5: 'GSSAPI', name: 'Microsoft GSSAPI' }, // [wireshark] [ike-scan]
  { hex: 'ad2c0dd0b9c32083ccba25b8861ec455', md5: 'A GSS-API Authentication Method for IKE', name: 'Microsoft GSS-API authentication (draft-ietf-ipsec-isakmp-gss-auth)' }, // [wireshark]
  { hex: 'b46d8914f3aaa3f2fedeb7c7db2943ca', md5: 'A GSS-API Authentication Method for IKE\n', name: 'Microsoft GSS-API authentication (with newline)' }, // [wireshark]
  { hex: '72872b95fcda2eb708efe322119b4971', name: 'Microsoft NLB/MSCS fast failover' }, // [nmap] [libreswan]
  { hex: '214ca4faffa7f32d6748e5303395ae83', name: 'Microsoft AuthIP supported' }, // [nmap] [libreswan]
  { hex: 'e3a5966a76379fe707228231e5ce8652', name: 'Microsoft CGA supported' }, // [nmap] [libreswan]
  { hex: 'fb1de3cdf341b7ea16b7e5be0855f120', name: 'Microsoft negotiation discovery supported' }, // [nmap] [libreswan]

  // --- SonicWall, Fortinet, Juniper/NetScreen, Check Point, others ------------------------------
  { hex: '404bf439522ca3f6', name: 'SonicWall' }, // [wireshark] [ike-scan]
  { hex: '5b362bc820f60001', name: 'SonicWall' }, // [nmap]
  { hex: '5b362bc820f60003', name: 'SonicWall' }, // [nmap]
  { hex: '5b362bc820f60006', name: 'SonicWall' }, // [nmap]
  { hex: '5b362bc820f60007', name: 'SonicWall' }, // [nmap]
  { hex: '975b7816f69789600dda89040576e0db', name: 'SonicWall Global VPN Client' }, // [ike-scan]
  { hex: '1d6e178f6c2c0be284985465450fe9d4', name: 'Fortinet FortiGate' }, // [nmap]
  // NetScreen (Juniper ScreenOS): 20-byte values, a version may follow [wireshark] [nmap] [ike-scan].
  ...[
    '299ee8289f40a8973bc78687e2e7226b532c3b76', '3a15e1f3cf2a63582e3ac82d1c64cbe3b6d779e7', '47d2b126bfcd83489760e2cf8c5d4d5a03497c15',
    '4a4340b543e02b84c88a8b96a8af9ebe77d9accc', '64405f46f03b7660a23be116a1975058e69e8387', '699369228741c6d4ca094c93e242c9de19e7b7c6',
    '8c0dc6cf62a0ef1b5c6eabd1b67ba69866adf16a', '92d27a9ecb31d99246986d3453d0c3d57a222a61', '9b096d9ac3275a7d6fe8b91c583111b09efed1a0',
    'bf03746108d746c904f1f3547de24f78479fed12', 'c2e80500f4cc5fbf5daaeed3bb59abaeee56c652', 'c8660a62b03b1b6130bf781608d32a6a8d0fb89f',
    'f885da40b1e7a9abd17655ec5bbec0f21f0ed52e', '2a2bcac19b8e91b426107807e02e7249569d6fd3', '166f932d55eb64d8e4df4fd37e2313f0d0fd8451',
    'a35bfd05ca1ac0b3d2f24e9e82bfcbff9c9e52b5', '9436e8d67174ef9aed068d5ad5213f187a3f8ba6', '2c9d7e81995b9967d23f571ac641f9348122f1cc',
  ].map((hex): Entry => ({ hex, prefix: true, name: 'Juniper NetScreen (ScreenOS)' })),
  { hex: 'f4ed19e0c114eb516faaac0ee37daf2807b4381f', prefix: true, name: 'Check Point VPN-1/FireWall-1' }, // [ike-scan] [wireshark] [nmap]
  { hex: 'f14b94b7bff1fef02773b8c49feded26', name: 'Shrew Soft VPN client' }, // [wireshark]
  { hex: '47bbe7c993f1fc13b4e6d0db565c68e5', prefix: true, name: 'SafeNet SoftRemote' }, // [ike-scan] [nmap]
  { hex: '625027749d5ab97f5616c1602765cf480a3b7d0b', name: 'ZyXEL ZyWALL' }, // [wireshark] [nmap]
  { hex: '424e4553', prefix: true, name: 'Nortel Contivity' }, // "BNES" [ike-scan] [nmap]
];

interface Compiled { readonly bytes: Uint8Array; readonly entry: Entry }

const TABLE: readonly Compiled[] = ENTRIES.map((entry) => ({ bytes: Uint8Array.from(Buffer.from(entry.hex, 'hex')), entry }))
  // longest first, so that the most specific entry wins
  .sort((a, b) => b.bytes.length - a.bytes.length);

function startsWith(data: Uint8Array, p: Uint8Array): boolean {
  if (data.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (data[i] !== p[i]) return false;
  return true;
}

/** The name of a vendor ID, or undefined when it is not in the table. */
export function vendorIdName(data: Uint8Array): VendorIdMatch | undefined {
  for (const { bytes, entry } of TABLE) {
    if (entry.prefix === true ? !startsWith(data, bytes) : data.length !== bytes.length || !startsWith(data, bytes)) continue;
    const rest = data.subarray(bytes.length);
    if (entry.accept !== undefined && !entry.accept(rest)) continue;
    const detail = rest.length > 0 ? entry.rest?.(rest) : undefined;
    return detail !== undefined ? { name: entry.name, detail } : { name: entry.name };
  }
  return undefined;
}

/** "strongSwan", "Cisco Unity (version 1.0)": for trees, labels and JSON. */
export function vendorIdText(data: Uint8Array): string | undefined {
  const m = vendorIdName(data);
  return m === undefined ? undefined : m.detail !== undefined ? `${m.name} (${m.detail})` : m.name;
}

/** The entries whose value is an MD5 of a text, for the test that recomputes them. */
export function md5Entries(): readonly { readonly hex: string; readonly text: string }[] {
  return ENTRIES.filter((e) => e.md5 !== undefined).map((e) => ({ hex: e.hex, text: e.md5! }));
}
