/**
 * The input of `isakmp decode`: a hex string, a file (capture, raw message, or hex text), or `-`
 * for standard input, turned into a list of datagrams with where and when they were seen. A
 * name that is neither a file nor hex is reported as "no such file", a folder as "is a directory".
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { CaptureError, isCapture, readCapture, stripNonEspMarker } from '../pcap/index.js';
import type { SampleMessage } from './sample.js';
import { fromHex } from '../crypto/bytes.js';

/** Bad input: one line for the operator. */
export class InputError extends Error {}

export interface InputItem {
  readonly data: Uint8Array;
  /** Frame number in a capture (1-based). */
  readonly frame?: number;
  /** Seconds since the epoch (captures) or since the start (the sample). */
  readonly time?: number;
  readonly src?: string;
  readonly dst?: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly natt?: boolean;
  /** The line printed above the message's tree. */
  readonly label?: string;
  /** A prefix for the one-line error of a single undecodable input. */
  readonly source?: string;
  /** Fields for `--json`. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface Input {
  readonly items: InputItem[];
  /** The capture summary line (frames, skipped, …). */
  readonly summary?: string;
  /** A problem at the end of a capture after which nothing more could be read. */
  readonly trailingError?: string;
  /** True for one message given as hex or a raw file (its decode error is the command's error). */
  readonly single: boolean;
}

/** Parses hex text: whitespace, colons and a leading 0x are ignored. */
export function parseHex(text: string): Uint8Array {
  const s = text.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (s.length === 0) throw new InputError('empty hex input');
  const bad = s.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new InputError(`not hex: character '${s[bad]}' at position ${bad}`);
  if (s.length % 2 !== 0) throw new InputError(`odd number of hex digits (${s.length})`);
  return fromHex(s);
}

const looksLikeHex = (s: string): boolean => /^(0x)?[\s0-9a-fA-F:]+$/i.test(s.trim());

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

function fromBytes(bytes: Uint8Array, name: string, ports: readonly number[]): Input {
  if (isCapture(bytes)) {
    const cap = readCapture(bytes, { ports });
    const items = cap.datagrams.map((d): InputItem => ({
      frame: d.frame, time: d.time, data: d.data, src: d.src, dst: d.dst, srcPort: d.srcPort, dstPort: d.dstPort, natt: d.natt,
      label: `Frame ${d.frame}: ${d.src}:${d.srcPort} → ${d.dst}:${d.dstPort}${d.natt ? ` (UDP ${d.dstPort === 4500 || d.srcPort === 4500 ? '4500' : 'NAT-T'}, non-ESP marker stripped)` : ''}`,
      meta: { frame: d.frame, src: d.src, dst: d.dst, srcPort: d.srcPort, dstPort: d.dstPort, natt: d.natt },
    }));
    const s = cap.stats;
    const other = `${s.other} other skipped${s.other > 0 && ports.length === 0 ? ' (IKE on other ports? add --port N)' : ''}`;
    return {
      items,
      single: false,
      summary: `${name}: ${s.frames} frames, ${s.isakmp} ISAKMP, ${s.esp} ESP skipped, ${s.keepalives} NAT keepalives skipped, ${other}`,
      ...(cap.error !== undefined ? { trailingError: `${name}: ${cap.error.message}` } : {}),
    };
  }
  if (bytes.length === 0) throw new InputError(`${name}: empty${name === 'stdin' ? ' input' : ' file'}`);
  const head = Buffer.from(bytes.subarray(0, 1 << 20)).toString('latin1');
  if (/^[\s0-9a-fA-Fx:]+$/.test(head)) return { items: [{ data: rawDatagram(parseHex(Buffer.from(bytes).toString('latin1'))) }], single: true };
  return { items: [{ data: rawDatagram(bytes), source: `${name}: not a pcap/pcapng capture; as a raw ISAKMP message: ` }], single: true };
}

/**
 * Reads `input` (`-` is `readStdin()`). Throws InputError with one line for the operator, or
 * CaptureError for a file that starts like a capture and is not one.
 */
export function readInput(input: string, ports: readonly number[], readStdin: () => Uint8Array = () => new Uint8Array(readFileSync(0))): Input {
  if (input === '-') return fromBytes(readStdin(), 'stdin', ports);
  let kind: 'file' | 'directory' | 'other' | 'missing' = 'missing';
  try {
    const st = statSync(input);
    kind = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new InputError(`${input}: permission denied`);
    kind = 'missing';
  }
  if (kind === 'directory') throw new InputError(`${input}: is a directory (give a capture file, a raw message file, hex, or - for stdin)`);
  if (kind === 'missing') {
    if (looksLikeHex(input)) return { items: [{ data: rawDatagram(parseHex(input)) }], single: true };
    // A name with a folder or an extension was meant as a file; anything else may be mistyped hex.
    if (/[/\\.]/.test(input)) throw new InputError(`${input}: no such file`);
    try {
      parseHex(input);
    } catch (e) {
      throw new InputError(`${(e as Error).message} (and no such file '${input}')`);
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(input));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${input}: cannot read: ${code === 'EACCES' ? 'permission denied' : code ?? String(e)}`);
  }
  return fromBytes(bytes, input, ports);
}

/** The built-in sample exchange as input items (a tenth of a second apart). */
export function sampleInput(msgs: readonly SampleMessage[]): Input {
  return {
    single: false,
    items: msgs.map((m, i): InputItem => ({
      data: m.bytes, time: i / 10, src: m.src, dst: m.dst, srcPort: m.srcPort, dstPort: m.dstPort, natt: false,
      label: `#${i + 1} ${m.caption}   ${m.src}:${m.srcPort} → ${m.dst}:${m.dstPort}`,
      meta: { caption: m.caption },
    })),
  };
}

export { CaptureError };
