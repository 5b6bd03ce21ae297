/**
 * The native binding (native/netlink.c, built by `npm ci` through node-gyp with the machine's Node
 * headers): the handful of system calls Node has no API for. Loaded lazily; when it is missing
 * (not built, not Linux) the xfrm dataplane falls back to `ip` commands and says why.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What native/netlink.c exports. Descriptors are plain numbers; errors are negative errno values. */
export interface NativeSockets {
  /** A non-blocking NETLINK_XFRM socket bound to the multicast groups in `groups` (bit g-1 for group g): [fd, port id]. Throws. */
  open(groups: number): [number, number];
  /** One datagram to the kernel (the kernel handles every request in it before this returns): bytes sent, or -errno. */
  send(fd: number, bytes: Uint8Array, length: number): number;
  /** One datagram into `buffer`: its length, 0 when nothing waits, or -errno (-ENOBUFS: the kernel dropped messages). */
  recv(fd: number, buffer: Uint8Array): number;
  close(fd: number): number;
  /** Calls `onReadable` when `fd` has something to read (a libuv poll; never keeps the process alive). */
  watch(fd: number, onReadable: (status: number) => void): unknown;
  unwatch(handle: unknown): void;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** The option's value, or (-errno - 2^32) on failure. */
  getsockoptInt(fd: number, level: number, name: number): number;
  /** [family, port, SO_TYPE] of a bound inet socket. */
  localAddress(fd: number): [number, number, number] | undefined;
  /** A close-on-exec UDP socket with SO_REUSEPORT bound to address:port (IPv6: v6-only): its fd, or -errno. */
  udpReusePort(family: 4 | 6, address: string, port: number): number;
  /** SO_ATTACH_REUSEPORT_CBPF with a classic BPF program (struct sock_filter array, machine byte order): 0 or -errno. */
  attachReuseportCbpf(fd: number, program: Uint8Array): number;
}

const ADDON = 'native/build/Release/isakmp_netlink.node';

let cached: NativeSockets | Error | undefined;

/** The binding, or an Error saying why it is not available. */
export function loadNativeSockets(): NativeSockets | Error {
  if (cached !== undefined) return cached;
  if (process.platform !== 'linux') return (cached = new Error('netlink needs Linux'));
  // dist/daemon/dataplane/ and build/src/daemon/dataplane/ both live under the package root
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) {
      try {
        cached = createRequire(import.meta.url)(candidate) as NativeSockets;
      } catch (err) {
        cached = new Error(`${candidate} does not load: ${(err as Error).message}`);
      }
      return cached;
    }
    dir = dirname(dir);
  }
  return (cached = new Error(`${ADDON} is not built (npm ci builds it with node-gyp; needs python3, make and a C compiler)`));
}
