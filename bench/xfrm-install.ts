/**
 * Child of bench/xfrm-channel.bench.ts, run inside a network namespace (as root) with the fake-xfrm
 * shim LD_PRELOADed: installs N IPsec SA pairs through the xfrm dataplane exactly as the daemon
 * does (ALLOCSPI pool for the inbound SPI, NEWSA + UPDSA, three UPDPOLICY, one IKE bypass batch),
 * `inflight` at a time, then prints one JSON line: wall time, this process's CPU, kernel requests
 * and system calls, and what the kernel holds afterwards.
 *
 *   node build/bench/xfrm-install.js --pairs 100000 [--backend netlink|ip] [--inflight 256] [--remove]
 */
import { parseArgs } from 'node:util';
import { XfrmDataplane } from '../src/daemon/dataplane/xfrm.js';
import { NetlinkKernel } from '../src/daemon/dataplane/netlink-kernel.js';
import { IpKernel } from '../src/daemon/dataplane/ip-kernel.js';
import { loadNativeSockets } from '../src/daemon/dataplane/native.js';
import type { IpsecSaInfo } from '../src/daemon/engine.js';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '10000' },
    backend: { type: 'string', default: 'netlink' },
    inflight: { type: 'string', default: '256' },
    remove: { type: 'boolean', default: false },
    'no-pool': { type: 'boolean', default: false },
  },
});
const pairs = Number(values.pairs);
const inflight = Number(values.inflight);

const LOCAL = '198.19.10.2';
const REMOTE = '198.19.10.1';

function pair(i: number, inboundSpi: Uint8Array | undefined): IpsecSaInfo {
  const key = (b: number, n: number) => new Uint8Array(n).fill(b);
  const spiOut = Uint8Array.of(0x10 | ((i >>> 24) & 0x0f), (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
  const spiIn = inboundSpi ?? Uint8Array.of(0x20 | ((i >>> 24) & 0x0f), (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
  // a distinct remote host per pair (10.x.y.z/32), as a gateway's many peers
  const peerTs = `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`;
  return {
    id: `q${i}`, isakmpSa: 'x', connection: 'bench', role: 'responder', mode: 1, group: 0,
    local: { address: LOCAL, port: 500 }, remote: { address: REMOTE, port: 500 },
    localTs: { family: 4, start: '172.16.0.0', end: '172.16.255.255', prefix: 16, protocol: 0, port: 0 },
    remoteTs: { family: 4, start: peerTs, end: peerTs, prefix: 32, protocol: 0, port: 0 },
    lifetimeSeconds: 3600, lifetimeKilobytes: 0, establishedAt: 0,
    protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5, inbound: { spi: spiIn, keymat: new Uint8Array(0), encryptionKey: key(0xaa, 16), integrityKey: key(0xbb, 32) }, outbound: { spi: spiOut, keymat: new Uint8Array(0), encryptionKey: key(0xcc, 16), integrityKey: key(0xdd, 32) } }],
  };
}

const sys = loadNativeSockets();
if (values.backend === 'netlink' && sys instanceof Error) throw sys;
const nk = values.backend === 'netlink' ? new NetlinkKernel(sys as Exclude<typeof sys, Error>) : undefined;
const dp = new XfrmDataplane(nk ?? new IpKernel(), (m) => process.stderr.write(m + '\n'), undefined, { spiPool: !values['no-pool'] });
let failed = 0;
let firstError: string | undefined;
let fromPool = 0;

// warm-up: the IKE bypass policies and the first SPI refill, outside the measured window
dp.allocateSpi(LOCAL);
await dp.install(pair(pairs + 1, undefined));
await dp.remove(`q${pairs + 1}`);

const cpu0 = process.cpuUsage();
const s0 = nk ? { ...nk.stats } : undefined;
const spi0 = dp.spiRequests;
const t0 = performance.now();
let next = 0;
async function worker(): Promise<void> {
  while (next < pairs) {
    const i = next++;
    const spi = dp.allocateSpi(LOCAL);
    if (spi !== undefined) fromPool++;
    const r = await dp.install(pair(i, spi));
    if (r.status !== 'installed') {
      failed++;
      firstError ??= r.status;
    }
  }
}
await Promise.all(Array.from({ length: inflight }, worker));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const s1 = nk ? { ...nk.stats } : undefined;
let removeSeconds: number | undefined;
if (values.remove) {
  const r0 = performance.now();
  await dp.flush();
  removeSeconds = (performance.now() - r0) / 1000;
}
console.log(
  JSON.stringify({
    backend: values.backend,
    pairs,
    inflight,
    seconds,
    pairsPerSecond: pairs / seconds,
    cpuMs: (cpu.user + cpu.system) / 1000,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    failed,
    firstError,
    fromPool,
    allocSpiRequests: dp.spiRequests - spi0,
    requests: s1 && s0 ? s1.requests - s0.requests : undefined,
    sends: s1 && s0 ? s1.sends - s0.sends : undefined,
    recvs: s1 && s0 ? s1.recvs - s0.recvs : undefined,
    removeSeconds,
  }),
);
if (!values.remove) nk?.close();
