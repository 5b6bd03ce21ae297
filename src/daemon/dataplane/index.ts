/**
 * Dataplane adapters: what happens to an IPsec SA once Quick Mode finished.
 *   none : records the SA table (shown by `isakmp status`); the default.
 *   xfrm : programs the Linux kernel over one long-lived NETLINK_XFRM channel (native binding
 *          in native/netlink.c), or through `ip xfrm` commands when the binding is not built.
 * docs/dataplane.md describes the channel, its messages and the measurements behind the choice.
 */
import { IpKernel } from './ip-kernel.js';
import type { XfrmKernel } from './kernel.js';
import { loadNativeSockets } from './native.js';
import { NetlinkKernel } from './netlink-kernel.js';
import { enableEspInUdp } from './udp-encap.js';
import { XfrmDataplane } from './xfrm.js';

export type { Dataplane, DataplaneRecord, TrapSpec } from './types.js';
export { NoneDataplane } from './none.js';
export { XfrmDataplane, type XfrmDataplaneOptions } from './xfrm.js';
export { IpKernel, spawnIp, spawnAcquireMonitor, parseXfrmStateStats, ipArgs, MAX_IP_OUTPUT, type CommandResult, type IpRunner, type AcquireMonitor, type MonitorFactory, type XfrmStateStats } from './ip-kernel.js';
export { NetlinkKernel } from './netlink-kernel.js';
export { NetlinkChannel, type ChannelStats } from './channel.js';
export { loadNativeSockets, type NativeSockets } from './native.js';
export { dgramFd, enableEspInUdp, readUdpEncap, SOL_UDP, UDP_ENCAP } from './udp-encap.js';
export { POLICY_PRIORITY, BYPASS_PRIORITY } from './sa-records.js';
export type { XfrmKernel, XfrmOp, KernelError } from './kernel.js';

/**
 * The kernel the daemon's xfrm dataplane uses: the netlink channel when the native binding loads,
 * otherwise `ip` commands; `why` says why netlink is not used.
 */
export function defaultXfrmKernel(log: (m: string) => void): { kernel: XfrmKernel; why?: string } {
  const sys = loadNativeSockets();
  if (sys instanceof Error) return { kernel: new IpKernel(), why: sys.message };
  return { kernel: new NetlinkKernel(sys, log) };
}

/** The daemon's xfrm dataplane: netlink when it can, with ESP-in-UDP on the NAT-T socket. */
export function createXfrmDataplane(log: (m: string) => void): XfrmDataplane {
  const { kernel, why } = defaultXfrmKernel(log);
  if (why !== undefined) log(`xfrm: using ip commands, not the netlink channel: ${why}`);
  const dp = new XfrmDataplane(kernel, log);
  const sys = loadNativeSockets();
  if (!(sys instanceof Error)) dp.encapsulateSocket = (fd, port) => enableEspInUdp(sys, fd, port);
  return dp;
}
