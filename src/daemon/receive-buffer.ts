/**
 * The kernel's receive buffer of an IKE socket (issue 9.7). Under a flood of first messages the
 * daemon reads in bursts between its other work; with the kernel's default buffer (about 200 KiB,
 * a few hundred small datagrams, a few milliseconds of a flood) every pause drops datagrams at
 * the socket, legitimate ones among them, before the engine can tell them apart. SO_RCVBUF is
 * capped by net.core.rmem_max; the daemon, which holds CAP_NET_ADMIN for xfrm anyway, asks past
 * the cap with SO_RCVBUFFORCE through the native binding when it is built.
 */
import type { Socket } from 'node:dgram';
import { loadNativeSockets } from './dataplane/native.js';
import { dgramFd } from './dataplane/udp-encap.js';

const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;

/**
 * Asks for `bytes` of receive buffer on a bound socket; returns what the kernel granted (Linux
 * reports twice the requested value, its bookkeeping included; we report half of it).
 */
export function growReceiveBuffer(socket: Socket, bytes: number): number {
  const granted = (): number => Math.floor(socket.getRecvBufferSize() / 2);
  try {
    socket.setRecvBufferSize(bytes);
  } catch {
    /* over rmem_max on some kernels: the forced path below */
  }
  if (granted() >= bytes) return granted();
  const sys = loadNativeSockets();
  const fd = dgramFd(socket);
  if (!(sys instanceof Error) && fd !== undefined) sys.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes);
  return granted();
}
