/**
 * The shard benchmark's recording (bench/shards.bench.ts, bench/shards-process.ts): an initiator
 * endpoint's conversation with a responder endpoint set up like a shard, from the initiator's
 * first message to the end of Quick Mode; the initiator's messages are what the bench replays.
 */
import type { Endpoint } from '../src/exchange/index.js';
import type { Address, Transmit } from '../src/exchange/index.js';
import type { BenchRandom } from '../src/daemon/shards/bench-random.js';

/** Runs the conversation from `first` (the initiator's first message); throws unless the responder established the IPsec SA in five messages. */
export function converse(ini: Endpoint, first: Transmit, resp: Endpoint, bench: BenchRandom, initiator: Address, responder: Address, what: string): Uint8Array[] {
  const messages: Uint8Array[] = [];
  let t: Transmit | undefined = first;
  for (let step = 0; t !== undefined && step < 10; step++) {
    messages.push(t.data.slice());
    bench.enter(t.data);
    resp.handleDatagram(0, responder, initiator, t.data);
    bench.current = undefined;
    const answer = resp.pollTransmit();
    if (answer === undefined) break;
    ini.handleDatagram(0, initiator, responder, answer.data);
    t = ini.pollTransmit();
  }
  while (ini.pollTransmit() !== undefined);
  let up = false;
  for (let e = resp.pollEvent(); e; e = resp.pollEvent()) if (e.type === 'ipsec-sa-established') up = true;
  if (!up || messages.length !== 5) throw new Error(`shards bench: ${what} did not complete (${messages.length} messages)`);
  return messages;
}
