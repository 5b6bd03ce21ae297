/**
 * A small, bounded reader for libpcap and pcapng captures that extracts the ISAKMP datagrams:
 * UDP port 500, and UDP port 4500 with the RFC 3948 §2.2 non-ESP marker (4 zero octets) removed,
 * and any other ports the caller names (`CaptureOptions.ports`).
 * ESP-in-UDP packets (RFC 3948 §2.1) and NAT-keepalives (one 0xff octet, RFC 3948 §2.3) on 4500
 * are skipped and counted. Link types: Ethernet (with 802.1Q tags), Linux cooked (SLL, SLL2),
 * raw IP, BSD loopback. IPv4 and IPv6.
 *
 * Pure: it takes the file's bytes and returns views into them. Every length read from the file
 * is checked against the bytes actually present before use; nothing is allocated from one.
 * @module
 */

/** A capture file the reader cannot use; `offset` is the file offset where the problem is. */
export class CaptureError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at file offset ${offset})`);
    this.name = 'CaptureError';
    this.offset = offset;
  }
}

export interface CapturedDatagram {
  /** 1-based frame number in the capture, as Wireshark counts. */
  readonly frame: number;
  /** Seconds since the epoch (fractional), from the capture record. */
  readonly time: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** True when the datagram came on port 4500 and its non-ESP marker was stripped. */
  readonly natt: boolean;
  /** The ISAKMP message (a view into the capture bytes). */
  readonly data: Uint8Array;
}

export interface CaptureStats {
  frames: number;
  isakmp: number;
  esp: number;
  keepalives: number;
  /** Frames that are not UDP 500/4500 (other protocols, other ports, non-IP). */
  other: number;
  /** IP fragments (not reassembled) and frames cut short by the snap length. */
  fragments: number;
  truncated: number;
}

export interface Capture {
  readonly format: 'pcap' | 'pcapng';
  readonly datagrams: CapturedDatagram[];
  readonly stats: CaptureStats;
  /** Set when the file ends inside a record: the datagrams before it are still returned. */
  readonly error?: CaptureError;
}

export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD: 12,
  LOOP: 108,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Whether `b` starts like a pcap or pcapng file. */
export function isCapture(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const m = ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1 || m === 0x0a0d0d0a;
}

/** Removes the RFC 3948 non-ESP marker from a port-4500 payload; `undefined` for ESP/keepalive. */
export function stripNonEspMarker(p: Uint8Array): Uint8Array | undefined {
  if (p.length >= 4 && p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0) return p.subarray(4);
  return undefined;
}

class Cursor {
  constructor(readonly b: Uint8Array, readonly little: boolean) {}
  u16(at: number): number {
    const b = this.b;
    return this.little ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
  }
  u32(at: number): number {
    const b = this.b;
    return this.little
      ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + ((b[at + 3]! << 24) >>> 0)
      : ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  }
}

function ipv4Text(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}
function ipv6Text(b: Uint8Array, at: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

const be16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;

export interface CaptureOptions {
  /**
   * More UDP ports that carry IKE (an implementation on a non-standard port, a lab setup). On
   * these a payload that starts with the 4-octet non-ESP marker is taken as port-4500 style IKE,
   * one 0xff octet as a NAT keepalive, and otherwise a payload is IKE when its ISAKMP header's
   * length field equals the UDP payload length (anything else, e.g. ESP, counts as other).
   */
  readonly ports?: readonly number[];
}

/** Parses a capture. Throws `CaptureError` when the file is not a capture at all. */
export function readCapture(file: Uint8Array, options: CaptureOptions = {}): Capture {
  const extra = new Set(options.ports ?? []);
  if (file.length < 4 || !isCapture(file)) throw new CaptureError('not a pcap or pcapng file (unknown magic number)', 0);
  const stats: CaptureStats = { frames: 0, isakmp: 0, esp: 0, keepalives: 0, other: 0, fragments: 0, truncated: 0 };
  const datagrams: CapturedDatagram[] = [];
  const onFrame = (link: number, frame: Uint8Array, time: number, caplen: number, origlen: number): void => {
    stats.frames++;
    if (caplen < origlen) stats.truncated++;
    extract(link, frame, stats.frames, time, stats, datagrams, extra);
  };
  const b0 = file[0]!;
  let error: CaptureError | undefined;
  if (b0 === 0x0a) {
    error = readPcapng(file, onFrame);
    return error === undefined ? { format: 'pcapng', datagrams, stats } : { format: 'pcapng', datagrams, stats, error };
  }
  error = readPcap(file, onFrame);
  return error === undefined ? { format: 'pcap', datagrams, stats } : { format: 'pcap', datagrams, stats, error };
}

type FrameSink = (link: number, frame: Uint8Array, time: number, caplen: number, origlen: number) => void;

function readPcap(file: Uint8Array, sink: FrameSink): CaptureError | undefined {
  if (file.length < 24) throw new CaptureError('truncated pcap global header', file.length);
  const little = file[0] === 0xd4 || file[0] === 0x4d;
  const nano = (little ? file[1] === 0x3c : file[2] === 0x3c);
  const c = new Cursor(file, little);
  const major = c.u16(4);
  if (major !== 2) throw new CaptureError(`pcap version ${major} is not 2`, 4);
  const link = c.u32(20) & 0x0fffffff;
  let at = 24;
  let n = 0;
  while (at < file.length) {
    n++;
    if (file.length - at < 16) return new CaptureError(`truncated pcap record ${n} header`, at);
    const sec = c.u32(at);
    const frac = c.u32(at + 4);
    const caplen = c.u32(at + 8);
    const origlen = c.u32(at + 12);
    if (caplen > file.length - at - 16) return new CaptureError(`pcap record ${n} claims ${caplen} bytes, ${file.length - at - 16} left`, at + 8);
    sink(link, file.subarray(at + 16, at + 16 + caplen), sec + frac / (nano ? 1e9 : 1e6), caplen, origlen);
    at += 16 + caplen;
  }
  return undefined;
}

function readPcapng(file: Uint8Array, sink: FrameSink): CaptureError | undefined {
  let at = 0;
  let c = new Cursor(file, true);
  let ifaces: { link: number; tsDiv: number }[] = [];
  let n = 0;
  while (at < file.length) {
    if (file.length - at < 12) return new CaptureError('truncated pcapng block header', at);
    const rawType = ((file[at]! << 24) >>> 0) + ((file[at + 1]! << 16) | (file[at + 2]! << 8) | file[at + 3]!);
    if (rawType === 0x0a0d0d0a) {
      // Section Header Block: the byte-order magic decides the endianness of this section.
      const bom = ((file[at + 8]! << 24) >>> 0) + ((file[at + 9]! << 16) | (file[at + 10]! << 8) | file[at + 11]!);
      if (bom === 0x1a2b3c4d) c = new Cursor(file, false);
      else if (bom === 0x4d3c2b1a) c = new Cursor(file, true);
      else throw new CaptureError('pcapng section header with a bad byte-order magic', at + 8);
      ifaces = [];
    } else if (at === 0) {
      throw new CaptureError('pcapng file does not start with a section header block', 0);
    }
    const type = c.u32(at);
    const len = c.u32(at + 4);
    if (len < 12 || len % 4 !== 0) return new CaptureError(`pcapng block length ${len} is invalid`, at + 4);
    if (len > file.length - at) return new CaptureError(`pcapng block claims ${len} bytes, ${file.length - at} left`, at + 4);
    const body = at + 8;
    const bodyLen = len - 12;
    if (type === 1) {
      if (bodyLen < 8) return new CaptureError('pcapng interface description block too short', at);
      const link = c.u16(body);
      let tsDiv = 1e6;
      // Options: if_tsresol (9) changes the timestamp unit.
      let o = body + 8;
      const end = body + bodyLen;
      while (end - o >= 4) {
        const code = c.u16(o);
        const olen = c.u16(o + 2);
        if (code === 0 || olen > end - o - 4) break;
        if (code === 9 && olen >= 1) {
          const v = file[o + 4]!;
          tsDiv = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** Math.min(v, 15);
        }
        o += 4 + ((olen + 3) & ~3);
      }
      if (ifaces.length < 65536) ifaces.push({ link, tsDiv });
    } else if (type === 6 || type === 2) {
      n++;
      if (bodyLen < 20) return new CaptureError(`pcapng packet block ${n} too short`, at);
      const ifid = type === 6 ? c.u32(body) : c.u16(body);
      const hi = c.u32(body + 4);
      const lo = c.u32(body + 8);
      const caplen = c.u32(body + 12);
      const origlen = c.u32(body + 16);
      if (caplen > bodyLen - 20) return new CaptureError(`pcapng packet block ${n} claims ${caplen} bytes, block holds ${bodyLen - 20}`, body + 12);
      const iface = ifaces[ifid];
      if (iface === undefined) return new CaptureError(`pcapng packet block ${n} names undefined interface ${ifid}`, body);
      sink(iface.link, file.subarray(body + 20, body + 20 + caplen), (hi * 4294967296 + lo) / iface.tsDiv, caplen, origlen);
    } else if (type === 3) {
      n++;
      if (bodyLen < 4) return new CaptureError(`pcapng simple packet block ${n} too short`, at);
      const origlen = c.u32(body);
      const caplen = Math.min(origlen, bodyLen - 4);
      const iface = ifaces[0];
      if (iface === undefined) return new CaptureError('pcapng simple packet block before any interface', at);
      sink(iface.link, file.subarray(body + 4, body + 4 + caplen), 0, caplen, origlen);
    }
    at += len;
  }
  return undefined;
}

/** Link layer → IP → UDP → ISAKMP. Anything else is counted and skipped. */
function extract(link: number, f: Uint8Array, frame: number, time: number, stats: CaptureStats, out: CapturedDatagram[], extra: ReadonlySet<number>): void {
  let ip = -1;
  let ethertype = -1;
  switch (link) {
    case LinkType.ETHERNET: {
      if (f.length < 14) { stats.other++; return; }
      let at = 12;
      ethertype = be16(f, at);
      while ((ethertype === 0x8100 || ethertype === 0x88a8) && f.length >= at + 6) { at += 4; ethertype = be16(f, at); }
      ip = at + 2;
      break;
    }
    case LinkType.LINUX_SLL:
      if (f.length < 16) { stats.other++; return; }
      ethertype = be16(f, 14); ip = 16; break;
    case LinkType.LINUX_SLL2:
      if (f.length < 20) { stats.other++; return; }
      ethertype = be16(f, 0); ip = 20; break;
    case LinkType.RAW: case LinkType.RAW_BSD: case LinkType.IPV4: case LinkType.IPV6:
      ip = 0; break;
    case LinkType.NULL: case LinkType.LOOP: {
      if (f.length < 4) { stats.other++; return; }
      ip = 4; break;
    }
    default:
      stats.other++; return;
  }
  if (ethertype !== -1 && ethertype !== 0x0800 && ethertype !== 0x86dd) { stats.other++; return; }
  if (f.length <= ip) { stats.other++; return; }
  const ver = f[ip]! >>> 4;
  let udp = -1;
  let end = f.length;
  let src = '', dst = '';
  if (ver === 4) {
    if (f.length - ip < 20) { stats.other++; return; }
    const ihl = (f[ip]! & 0x0f) * 4;
    const total = be16(f, ip + 2);
    if (ihl < 20 || f.length - ip < ihl) { stats.other++; return; }
    if (f[ip + 9] !== 17) { stats.other++; return; }
    const fragField = be16(f, ip + 6);
    // A non-first fragment has no UDP header; a first fragment (offset 0, MF set) is passed on
    // with the bytes it has (the codec then judges the short datagram).
    if ((fragField & 0x1fff) !== 0) { stats.fragments++; return; }
    if (fragField & 0x2000) stats.fragments++;
    end = Math.min(f.length, ip + Math.max(total, ihl));
    src = ipv4Text(f, ip + 12); dst = ipv4Text(f, ip + 16);
    udp = ip + ihl;
  } else if (ver === 6) {
    if (f.length - ip < 40) { stats.other++; return; }
    let nh = f[ip + 6]!;
    const plen = be16(f, ip + 4);
    end = Math.min(f.length, ip + 40 + plen);
    src = ipv6Text(f, ip + 8); dst = ipv6Text(f, ip + 24);
    let at = ip + 40;
    for (let hops = 0; hops < 8 && nh !== 17; hops++) {
      if (nh === 44) { stats.fragments++; return; }
      if ((nh !== 0 && nh !== 43 && nh !== 60) || end - at < 8) { stats.other++; return; }
      nh = f[at]!;
      at += 8 + f[at + 1]! * 8;
    }
    if (nh !== 17) { stats.other++; return; }
    udp = at;
  } else {
    stats.other++; return;
  }
  if (end - udp < 8) { stats.other++; return; }
  const sport = be16(f, udp);
  const dport = be16(f, udp + 2);
  const ulen = be16(f, udp + 4);
  const pend = ulen >= 8 ? Math.min(end, udp + ulen) : end;
  const payload = f.subarray(udp + 8, pend);
  if (sport === 4500 || dport === 4500) {
    if (payload.length === 1 && payload[0] === 0xff) { stats.keepalives++; return; }
    const inner = stripNonEspMarker(payload);
    if (inner === undefined) { stats.esp++; return; }
    stats.isakmp++;
    out.push({ frame, time, src, dst, srcPort: sport, dstPort: dport, natt: true, data: inner });
    return;
  }
  if (sport === 500 || dport === 500) {
    stats.isakmp++;
    out.push({ frame, time, src, dst, srcPort: sport, dstPort: dport, natt: false, data: payload });
    return;
  }
  if (extra.size > 0 && (extra.has(sport) || extra.has(dport))) {
    if (payload.length === 1 && payload[0] === 0xff) { stats.keepalives++; return; }
    const inner = stripNonEspMarker(payload);
    if (inner !== undefined) {
      stats.isakmp++;
      out.push({ frame, time, src, dst, srcPort: sport, dstPort: dport, natt: true, data: inner });
      return;
    }
    if (looksLikeIsakmp(payload)) {
      stats.isakmp++;
      out.push({ frame, time, src, dst, srcPort: sport, dstPort: dport, natt: false, data: payload });
      return;
    }
  }
  stats.other++;
}

/** An ISAKMP header (version 1.x or 2.x) whose length field is the whole payload. */
function looksLikeIsakmp(p: Uint8Array): boolean {
  if (p.length < 28) return false;
  const major = p[17]! >> 4;
  const len = ((p[24]! << 24) >>> 0) + ((p[25]! << 16) | (p[26]! << 8) | p[27]!);
  return (major === 1 || major === 2) && len === p.length;
}

/** Writes a libpcap file (LINKTYPE_RAW, IPv4/UDP) holding `datagrams` (time: seconds since the epoch, default one second apart); for tests and tools. */
export function writePcap(datagrams: readonly { src: string; dst: string; srcPort: number; dstPort: number; data: Uint8Array; natt?: boolean; time?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const gh = new Uint8Array(24);
  const dv = new DataView(gh.buffer);
  dv.setUint32(0, 0xa1b2c3d4); dv.setUint16(4, 2); dv.setUint16(6, 4); dv.setUint32(16, 65535); dv.setUint32(20, LinkType.RAW);
  parts.push(gh);
  let i = 0;
  for (const d of datagrams) {
    const marker = d.natt ? 4 : 0;
    const udpLen = 8 + marker + d.data.length;
    const ipLen = 20 + udpLen;
    const rec = new Uint8Array(16 + ipLen);
    const r = new DataView(rec.buffer);
    const when = d.time ?? 1_700_000_000 + i;
    r.setUint32(0, Math.floor(when)); r.setUint32(4, Math.round((when - Math.floor(when)) * 1e6) % 1_000_000); r.setUint32(8, ipLen); r.setUint32(12, ipLen);
    const ip = 16;
    rec[ip] = 0x45; r.setUint16(ip + 2, ipLen); rec[ip + 8] = 64; rec[ip + 9] = 17;
    const s = d.src.split('.').map(Number), t = d.dst.split('.').map(Number);
    for (let k = 0; k < 4; k++) { rec[ip + 12 + k] = s[k] ?? 0; rec[ip + 16 + k] = t[k] ?? 0; }
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += r.getUint16(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    r.setUint16(ip + 10, ~sum & 0xffff);
    const u = ip + 20;
    r.setUint16(u, d.srcPort); r.setUint16(u + 2, d.dstPort); r.setUint16(u + 4, udpLen);
    rec.set(d.data, u + 8 + marker);
    parts.push(rec);
    i++;
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
