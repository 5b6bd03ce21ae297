/**
 * ESP in UDP received by the kernel (RFC 3948): with the UDP_ENCAP socket option set to
 * UDP_ENCAP_ESPINUDP on the NAT-T socket, the kernel takes every datagram on it whose first four
 * bytes are a non-zero SPI (ESP) and decapsulates it with its SAs; IKE (the four-byte zero non-ESP
 * marker) still reaches the socket's reader, and one-byte keepalives (0xff) are swallowed.
 */
import type { Socket } from 'node:dgram';
import type { NativeSockets } from './native.js';
import { UDP_ENCAP_ESPINUDP } from './xfrm-messages.js';

/** SOL_UDP (= IPPROTO_UDP) and UDP_ENCAP from linux/udp.h. */
export const SOL_UDP = 17;
export const UDP_ENCAP = 100;

/**
 * The file descriptor of a bound `dgram` socket. Node keeps it on the socket's internal handle
 * (`fd` on Unix); it is read through the socket's state symbol rather than the deprecated
 * `_handle` getter. Undefined when it cannot be found.
 */
export function dgramFd(socket: Socket): number | undefined {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, unknown>)[sym] as { handle?: { fd?: unknown } } | undefined;
    const fd = state?.handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  return undefined;
}

/**
 * Sets UDP_ENCAP_ESPINUDP on `fd` after checking that it is a UDP socket bound to `port`.
 * Returns an error text or undefined.
 */
export function enableEspInUdp(sys: NativeSockets, fd: number, port: number): string | undefined {
  const a = sys.localAddress(fd);
  if (a === undefined) return `descriptor ${fd} is not a bound IP socket`;
  if (a[2] !== 2 /* SOCK_DGRAM */ || a[1] !== port) return `descriptor ${fd} is not the UDP socket on port ${port}`;
  const r = sys.setsockoptInt(fd, SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP);
  return r === 0 ? undefined : `setsockopt(UDP_ENCAP, UDP_ENCAP_ESPINUDP) on UDP ${port}: errno ${-r}`;
}

/** The socket's UDP_ENCAP value (0: none, 2: ESP in UDP), or undefined when it cannot be read. */
export function readUdpEncap(sys: NativeSockets, fd: number): number | undefined {
  const v = sys.getsockoptInt(fd, SOL_UDP, UDP_ENCAP);
  return v < -0xffffffff ? undefined : v;
}
