/**
 * `isakmp decode --sample` (formerly `isakmp demo`): decodes and prints the built-in sample IKEv1
 * exchange of sample.ts (`demo` now runs two daemons, see demo-daemons.ts).
 * @module
 */
import { decodeMessage } from '../codec/index.js';
import type { Output } from './decode.js';
import { messageJson, messageTree } from './format.js';
import { sampleExchange } from './sample.js';

export function runDemo(argv: string[], io: Output): number {
  const json = argv.includes('--json');
  const msgs = sampleExchange();
  if (!json) io.out(`isakmp decode --sample: a built-in IKEv1 Main Mode + Quick Mode exchange (${msgs.length} messages), encoded and decoded by this library\n`);
  for (const [i, s] of msgs.entries()) {
    const m = decodeMessage(s.bytes);
    if (json) { io.out(JSON.stringify({ caption: s.caption, ...messageJson(m, s.bytes.length) })); continue; }
    io.out(`#${i + 1} ${s.caption}   ${s.src}:${s.srcPort} → ${s.dst}:${s.dstPort}`);
    for (const l of messageTree(m, s.bytes.length)) io.out(l);
    io.out('');
  }
  return 0;
}
