/**
 * `isakmp decode [--json] [--keylog FILE] <hex | file | capture>`: prints ISAKMP messages as a
 * tree with RFC names, or one JSON object per message. Bad input gives one line on stderr and a
 * non-zero exit; a malformed message inside a readable capture is reported (notify type and
 * offset) and the rest of the capture is still decoded.
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeMessage } from '../codec/index.js';
import { toHex } from '../crypto/bytes.js';
import { IsakmpError } from '../errors.js';
import { CaptureError, isCapture, readCapture, stripNonEspMarker } from '../pcap/index.js';
import { errorLine, messageJson, messageTree } from './format.js';
import { escapeJsonText, escapeText } from '../text-escape.js';
import { Ikev1Decryptor, parseKeyLog } from './keylog-decrypt.js';
import { Reassembler } from './reassembly.js';

export interface Output {
  out(s: string): void;
  err(s: string): void;
}

export const stdio: Output = {
  out: (s) => { process.stdout.write(s + '\n'); },
  err: (s) => { process.stderr.write(s + '\n'); },
};

class InputError extends Error {}

/** Parses hex text: whitespace, colons and a leading 0x are ignored. */
export function parseHex(text: string): Uint8Array {
  const s = text.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (s.length === 0) throw new InputError('empty hex input');
  const bad = s.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new InputError(`not hex: character '${s[bad]}' at position ${bad}`);
  if (s.length % 2 !== 0) throw new InputError(`odd number of hex digits (${s.length})`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** A raw datagram from a file or hex: strips a leading non-ESP marker (port-4500 payload). */
function rawDatagram(b: Uint8Array): Uint8Array {
  // A real message never has an all-zero initiator cookie, so 4 leading zero octets followed by
  // a full header are the RFC 3948 marker of a port-4500 payload.
  if (b.length >= 32 && b[4] !== 0) {
    const inner = stripNonEspMarker(b);
    if (inner !== undefined) return inner;
  }
  return b;
}

interface Item { readonly label?: string; readonly frame?: number; readonly data: Uint8Array; readonly meta?: Record<string, unknown>; readonly source?: string }

/** Runs `decode`; returns the exit code. */
export function runDecode(argv: string[], io: Output = stdio): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, keylog: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    io.err(`isakmp decode: ${(e as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out('usage: isakmp decode [--json] [--keylog FILE] <hex | file | capture.pcap[ng]>');
    return 0;
  }
  if (positionals.length !== 1) {
    io.err('isakmp decode: expected exactly one input (hex string, raw file or pcap/pcapng capture)');
    return 2;
  }
  const json = values.json === true;
  let decryptor: Ikev1Decryptor | undefined;
  if (values.keylog !== undefined) {
    if (!existsSync(values.keylog) || !statSync(values.keylog).isFile()) {
      io.err(`isakmp decode: key log file '${values.keylog}' not found`);
      return 2;
    }
    const keys = parseKeyLog(readFileSync(values.keylog, 'latin1'));
    if (keys.size === 0) io.err(`isakmp decode: ${values.keylog}: no '<initiator cookie>,<key>' lines: nothing can be decrypted`);
    decryptor = new Ikev1Decryptor(keys);
  }
  const input = positionals[0]!;
  let items: Item[];
  let summary: string | undefined;
  let trailingError: string | undefined;
  try {
    if (existsSync(input) && statSync(input).isFile()) {
      const bytes = new Uint8Array(readFileSync(input));
      if (isCapture(bytes)) {
        const cap = readCapture(bytes);
        items = cap.datagrams.map((d) => ({
          frame: d.frame, data: d.data,
          label: `Frame ${d.frame}: ${d.src}:${d.srcPort} → ${d.dst}:${d.dstPort}${d.natt ? ' (UDP 4500, non-ESP marker stripped)' : ''}`,
          meta: { frame: d.frame, src: d.src, dst: d.dst, srcPort: d.srcPort, dstPort: d.dstPort, natt: d.natt },
        }));
        const s = cap.stats;
        summary = `${input}: ${s.frames} frames, ${s.isakmp} ISAKMP, ${s.esp} ESP skipped, ${s.keepalives} NAT keepalives skipped, ${s.other} other skipped`;
        if (cap.error !== undefined) trailingError = `isakmp decode: ${input}: ${cap.error.message}`;
      } else if (bytes.length > 0 && /^[\s0-9a-fA-Fx:]+$/.test(Buffer.from(bytes.subarray(0, 1 << 20)).toString('latin1'))) {
        items = [{ data: rawDatagram(parseHex(Buffer.from(bytes).toString('latin1'))) }];
      } else {
        if (bytes.length === 0) throw new InputError(`${input}: empty file`);
        items = [{ data: rawDatagram(bytes), source: `${input}: not a pcap/pcapng capture; as a raw ISAKMP message: ` }];
      }
    } else {
      if (/[/\\]|\.(pcap|pcapng|dat|bin|hex)$/i.test(input) && !/^[0-9a-fA-F\s:x]+$/.test(input)) throw new InputError(`${input}: no such file`);
      items = [{ data: rawDatagram(parseHex(input)) }];
    }
  } catch (e) {
    if (e instanceof InputError || e instanceof CaptureError) {
      io.err(`isakmp decode: ${e.message}`);
      return 1;
    }
    io.err(`isakmp decode: cannot read ${input}: ${(e as Error).message}`);
    return 1;
  }

  const single = items.length === 1 && items[0]!.frame === undefined;
  let malformed = 0;
  const reassembler = new Reassembler();
  const queue: Item[] = [...items];
  for (let qi = 0; qi < queue.length; qi++) {
    const it = queue[qi]!;
    try {
      let m = decodeMessage(it.data);
      const d = decryptor?.observe(m);
      if (d !== undefined && d.ok) m = { ...m, payloads: d.payloads };
      const why = d !== undefined && !d.ok ? d.reason : undefined;
      // IKE fragments (payload 132): once a message is complete, decode it right after this one.
      const r = reassembler.add(m);
      if (r !== undefined && r.complete) {
        queue.splice(qi + 1, 0, { data: r.data, frame: it.frame, label: `${it.label ?? 'Message'}: reassembled from ${r.count} fragment(s)`, meta: { ...(it.meta ?? {}), reassembledFrom: r.count } });
      }
      if (json) io.out(escapeJsonText(JSON.stringify({ ...(it.meta ?? {}), ...messageJson(m, it.data.length), ...(why !== undefined ? { decryptError: why } : {}) })));
      else {
        if (it.label !== undefined) io.out(it.label);
        for (const l of messageTree(m, it.data.length)) io.out(l);
        if (why !== undefined) io.out(`    Not decrypted: ${escapeText(why)}`);
        io.out('');
      }
    } catch (e) {
      if (!(e instanceof IsakmpError)) throw e; // a bug, not bad input
      malformed++;
      if (single) {
        io.err(`isakmp decode: ${items[0]!.source ?? ''}${errorLine(e)}`);
        return 1;
      }
      if (json) io.out(escapeJsonText(JSON.stringify({ ...(it.meta ?? {}), ...rawHeaderJson(it.data), payloads: [], error: { notify: e.notify, notifyName: e.notifyName, offset: e.offset ?? null, reason: e.reason } })));
      else io.out(`${it.label ?? ''}\n    ${errorLine(e)}\n`);
    }
  }
  if (summary !== undefined) {
    const line = `${summary}, ${malformed} malformed`;
    if (json) io.err(line);
    else io.out(line);
  }
  if (trailingError !== undefined) {
    io.err(trailingError);
    return 1;
  }
  return 0;
}

/**
 * The header fields of a message that failed to decode, read as the bytes stand (nothing checked:
 * the version or length may be what made it malformed), so that every JSON object of `--json`
 * carries the header fields and `payloads`. Empty when not even the 28-octet header is there.
 */
function rawHeaderJson(d: Uint8Array): Record<string, unknown> {
  if (d.length < 28) return {};
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return {
    initiatorCookie: toHex(d.subarray(0, 8)),
    responderCookie: toHex(d.subarray(8, 16)),
    nextPayload: d[16],
    majorVersion: d[17]! >> 4,
    minorVersion: d[17]! & 0x0f,
    exchangeType: d[18],
    flags: d[19],
    messageId: v.getUint32(20),
    length: v.getUint32(24),
    datagramLength: d.length,
  };
}
