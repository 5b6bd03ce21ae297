/**
 * `isakmp decode --sample`: decodes and prints the built-in sample IKEv1 exchange of sample.ts,
 * decrypting its encrypted messages with the sample's own key log line (what `--keylog` would do
 * with a file). (`isakmp demo` runs two daemons instead, see demo-daemons.ts.)
 * @module
 */
import { decodeMessage } from '../codec/index.js';
import type { Output } from './decode.js';
import { messageJson, messageTree } from './format.js';
import { Ikev1Decryptor, parseKeyLog } from './keylog-decrypt.js';
import { sampleExchange, sampleKeyLog } from './sample.js';

export function runDemo(json: boolean, io: Output): number {
  const msgs = sampleExchange();
  const decryptor = new Ikev1Decryptor(parseKeyLog(sampleKeyLog()));
  if (!json) io.out(`isakmp decode --sample: a built-in IKEv1 Main Mode + Quick Mode exchange (${msgs.length} messages), encoded and decoded by this library; encrypted bodies decrypted with the key log line ${sampleKeyLog().trim()}\n`);
  for (const [i, s] of msgs.entries()) {
    let m = decodeMessage(s.bytes);
    const d = decryptor.observe(m);
    if (d !== undefined && d.ok) m = { ...m, payloads: d.payloads };
    const why = d !== undefined && !d.ok ? d.reason : undefined;
    if (json) {
      io.out(JSON.stringify({ caption: s.caption, ...messageJson(m, s.bytes.length), ...(why !== undefined ? { decryptError: why } : {}) }));
      continue;
    }
    io.out(`#${i + 1} ${s.caption}   ${s.src}:${s.srcPort} → ${s.dst}:${s.dstPort}`);
    for (const l of messageTree(m, s.bytes.length)) io.out(l);
    if (why !== undefined) io.out(`    Not decrypted: ${why}`);
    io.out('');
  }
  return 0;
}
