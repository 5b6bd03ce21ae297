/**
 * The UDP sockets of engine shards in processes (docs/scale.md, "Shards as processes"): for every
 * address and port the daemon listens on, one socket per shard in one SO_REUSEPORT group, so that
 * the kernel delivers each datagram straight to a shard's socket and no process relays it.
 * Socket k of a group is shard k's (the group's index is the order the sockets joined it: the
 * main process keeps its copies of the descriptors open, never reading them, so the order holds).
 *
 * The kernel picks the socket by a classic BPF program (SO_ATTACH_REUSEPORT_CBPF), which for UDP
 * sees the UDP payload at offset 0 (`steeringProgram`):
 *
 * - IKE port: a non-zero responder cookie (bytes 8..15) → the socket numbered by its byte 8 (our
 *   cookies carry the shard in their first byte, route.ts `tagCookie`); a number past the last
 *   socket, or a zero responder cookie (a first message) → the kernel's own choice, a hash of the
 *   4-tuple keyed with a secret of the kernel's;
 * - NAT-T port: the same after the 4-byte non-ESP marker; ESP (a non-zero first word) → the
 *   kernel's hash (each socket has UDP_ENCAP, the kernel takes ESP off whichever gets it);
 *   anything shorter than the program reads (a NAT keepalive) → socket 0, which drops it.
 *
 * The program cannot check the keyed tag of a cookie: the shard that gets a datagram checks it
 * (route.ts) and forwards what belongs to another shard (an SA we initiated: its responder cookie
 * is the peer's).
 */
import { endianness } from 'node:os';
import type { NativeSockets } from '../dataplane/native.js';

/** What the kernel's hash is asked for: an index past every socket of the group. */
const KERNEL_HASH = 0xffffffff;

// classic BPF (linux/filter.h)
const LD_W_ABS = 0x20;
const LD_B_ABS = 0x30;
const JEQ_K = 0x15;
const RET_K = 0x06;
const RET_A = 0x16;

type Insn = readonly [code: number, jt: number, jf: number, k: number];

/** The program, as the kernel's struct sock_filter array (8 bytes each, machine byte order). */
function encode(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const v = new DataView(out.buffer);
  const le = endianness() === 'LE';
  insns.forEach(([code, jt, jf, k], i) => {
    v.setUint16(i * 8, code, le);
    v.setUint8(i * 8 + 2, jt);
    v.setUint8(i * 8 + 3, jf);
    v.setUint32(i * 8 + 4, k >>> 0, le);
  });
  return out;
}

/** The steering program of the IKE port (`natt` false) or the NAT-T port (see the module comment). */
export function steeringProgram(natt: boolean): Uint8Array {
  const b = natt ? 4 : 0; // the ISAKMP header starts after the non-ESP marker
  const byCookie: Insn[] = [
    [LD_W_ABS, 0, 0, b + 8], // responder cookie, first half
    [JEQ_K, 0, 2, 0],
    [LD_W_ABS, 0, 0, b + 12], // second half
    [JEQ_K, 2, 0, 0], // both zero: a first message
    [LD_B_ABS, 0, 0, b + 8], // the shard byte of our cookies
    [RET_A, 0, 0, 0],
    [RET_K, 0, 0, KERNEL_HASH],
  ];
  if (!natt) return encode(byCookie);
  return encode([
    [LD_W_ABS, 0, 0, 0], // the non-ESP marker, or an SPI
    [JEQ_K, 1, 0, 0],
    [RET_K, 0, 0, KERNEL_HASH], // ESP
    ...byCookie,
  ]);
}

export interface SocketGroup {
  readonly address: string;
  readonly family: 4 | 6;
  /** The port bound (the one asked for, or the kernel's pick for 0). */
  readonly port: number;
  readonly natt: boolean;
  /** Socket k: shard k's. */
  readonly fds: readonly number[];
}

function bindMessage(address: string, family: 4 | 6, port: number, errno: number): string {
  const code = errno === 98 ? 'EADDRINUSE' : errno === 13 ? 'EACCES' : errno === 99 ? 'EADDRNOTAVAIL' : `errno ${errno}`;
  const hint = code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : code === 'EADDRINUSE' ? ' (another program has it: a second isakmp, charon, pluto or racoon? stop it, or set global.port / natt_port)' : code === 'EADDRNOTAVAIL' ? ' (no interface has that address: check global.listen)' : '';
  return `cannot bind UDP ${family === 6 ? `[${address}]` : address}:${port}: ${code}${hint}`;
}

/**
 * Opens one group of `n` sockets per listen address and port, with the steering program. Throws
 * an Error naming the address, port and cause (what was opened is closed again).
 */
export function openSocketGroups(sys: NativeSockets, listen: readonly { readonly address: string; readonly family: 4 | 6 }[], port: number, nattPort: number, n: number): SocketGroup[] {
  const groups: SocketGroup[] = [];
  const opened: number[] = [];
  try {
    for (const l of listen) {
      for (const [want, natt] of nattPort !== 0 ? ([[port, false], [nattPort, true]] as const) : ([[port, false]] as const)) {
        const fds: number[] = [];
        let bound = want;
        for (let k = 0; k < n; k++) {
          const fd = sys.udpReusePort(l.family, l.address, bound);
          if (fd < 0) throw new Error(bindMessage(l.address, l.family, bound, -fd));
          opened.push(fd);
          fds.push(fd);
          if (bound === 0) bound = sys.localAddress(fd)?.[1] ?? 0;
        }
        const err = sys.attachReuseportCbpf(fds[0]!, steeringProgram(natt));
        if (err < 0) throw new Error(`UDP ${l.address}:${bound}: the kernel refused the shards' steering program (SO_ATTACH_REUSEPORT_CBPF, errno ${-err})`);
        groups.push({ address: l.address, family: l.family, port: bound, natt, fds });
      }
    }
  } catch (err) {
    for (const fd of opened) sys.close(fd);
    throw err;
  }
  return groups;
}

/** Closes the main process' copies of the groups' descriptors. */
export function closeSocketGroups(sys: NativeSockets, groups: readonly SocketGroup[]): void {
  for (const g of groups) for (const fd of g.fds) sys.close(fd);
}
