/**
 * An engine shard in a child process (shard-loop.ts), forked by links.ts: its first IPC message
 * is a ShardProcessStart, then batches of ToShard. With sockets (socket-group.ts) it wraps its
 * descriptors as the daemon's UDP transport does its own sockets, receives what the kernel steers
 * to it and sends its transmits itself. It ends with its IPC channel (the daemon closed it, or
 * is gone).
 */
import { UdpTransport } from '../udp.js';
import type { Address } from '../engine.js';
import type { ShardProcessStart } from './links.js';
import type { FromShard, ToShard } from './protocol.js';
import { runShard } from './shard-loop.js';

let handler: ((batch: ToShard[]) => void) | undefined;
const early: ToShard[][] = [];
let started = false;

const post = (m: FromShard): void => {
  if (process.connected) process.send!([m]);
};

// The daemon ends its shards (it closes their channel) after their SAs' Deletes are out: a
// SIGTERM or SIGINT sent to the whole group (systemd, a terminal's Ctrl-C) is the daemon's to act on
process.on('disconnect', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => {});
process.on('message', (m: ShardProcessStart | ToShard[]) => {
  if (!started) {
    started = true;
    void start(m as ShardProcessStart);
  } else if (handler !== undefined) handler(m as ToShard[]);
  else early.push(m as ToShard[]);
});

async function start(s: ShardProcessStart): Promise<void> {
  let deliver: ((local: Address, remote: Address, data: Uint8Array) => void) | undefined;
  const transport =
    s.sockets.length > 0
      ? new UdpTransport({
          listen: [],
          port: 0,
          nattPort: 0,
          bound: s.sockets,
          onDatagram: (d) => deliver?.(d.local, d.remote, d.data),
          onError: (message) => post({ t: 'problem', message, level: 'warn' }),
        })
      : undefined;
  await transport?.start();
  runShard(
    s.init,
    {
      post,
      onMessage(f) {
        handler = f;
        for (const b of early.splice(0)) f(b);
      },
      answerDpd: (req, seq, outcome) => post({ t: 'dpd-answer', req, seq, outcome }),
    },
    transport !== undefined
      ? {
          onDatagram: (f) => (deliver = f),
          send: (local, remote, data) => void transport.send(local, remote, data),
          sendKeepalive: (local, remote) => void transport.sendKeepalive(local, remote),
          counters: transport.counters,
        }
      : undefined,
  );
}
