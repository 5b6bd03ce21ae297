/**
 * `isakmp decode [--json] [--keylog FILE] [--port N]... [--diagram FILE|-] INPUT`: prints ISAKMP
 * messages as a tree with RFC names, or one JSON object per message, or draws the exchange as a
 * ladder diagram. Bad input gives one line on stderr and a non-zero exit; a malformed message
 * inside a readable capture is reported (notify type and offset) and the rest is still decoded.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { flagOption, listOption, stringOption, type ParsedArgs } from './args.js';
import { CaptureError, InputError, readInput, sampleInput, type Input } from './decode-input.js';
import { decodeItems, type DecodedItem } from './decode-pipeline.js';
import { writeDiagram } from './diagram-output.js';
import { toHex } from '../crypto/bytes.js';
import { escapeJsonText, escapeText } from '../text-escape.js';
import { errorLine, messageJson, messageTree } from './format.js';
import { Ikev1Decryptor, parseKeyLog } from './keylog-decrypt.js';
import { runDemo } from './demo.js';
import { sampleExchange, sampleKeyLog } from './sample.js';

export interface Output {
  out(s: string): void;
  err(s: string): void;
}

export const stdio: Output = {
  out: (s) => { process.stdout.write(s + '\n'); },
  err: (s) => { process.stderr.write(s + '\n'); },
};

/** The --port values as port numbers, or an error line. */
function portsOf(values: readonly string[]): number[] | string {
  const out: number[] = [];
  for (const v of values) {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 65535) return `--port is a UDP port number 1 to 65535, not '${v}'`;
    out.push(n);
  }
  return out;
}

/** Runs `decode`; returns the exit code. */
export async function runDecode(args: ParsedArgs, io: Output = stdio): Promise<number> {
  const json = flagOption(args, 'json');
  const diagram = stringOption(args, 'diagram');
  const keylog = stringOption(args, 'keylog');
  const sample = flagOption(args, 'sample');
  if (sample && args.positionals.length > 0) {
    io.err(`isakmp decode: --sample takes no input (got '${args.positionals[0]}')`);
    return 2;
  }
  if (sample && diagram === undefined) return runDemo(json, io);
  if (!sample && args.positionals.length !== 1) {
    io.err('isakmp decode: expected exactly one input (hex string, raw file, pcap/pcapng capture, or - for stdin)');
    return 2;
  }
  if (json && diagram === '-') {
    io.err('isakmp decode: --json and --diagram - both write to stdout: give --diagram a file name');
    return 2;
  }
  const ports = portsOf(listOption(args, 'port'));
  if (typeof ports === 'string') {
    io.err(`isakmp decode: ${ports}`);
    return 2;
  }
  let decryptor: Ikev1Decryptor | undefined;
  if (sample) decryptor = new Ikev1Decryptor(parseKeyLog(sampleKeyLog()));
  else if (keylog !== undefined) {
    let text: string;
    try {
      if (!statSync(keylog).isFile()) throw new Error('not a file');
      text = readFileSync(keylog, 'latin1');
    } catch {
      io.err(`isakmp decode: key log file '${keylog}' not found`);
      return 2;
    }
    const keys = parseKeyLog(text);
    if (keys.size === 0) io.err(`isakmp decode: ${keylog}: no '<initiator cookie>,<key>' lines: nothing can be decrypted`);
    decryptor = new Ikev1Decryptor(keys);
  }
  const name = args.positionals[0] ?? '--sample';
  let input: Input;
  try {
    input = sample ? sampleInput(sampleExchange()) : readInput(name, ports);
  } catch (e) {
    if (e instanceof InputError || e instanceof CaptureError) {
      io.err(`isakmp decode: ${e.message}`);
      return 1;
    }
    io.err(`isakmp decode: cannot read ${name}: ${(e as Error).message}`);
    return 1;
  }
  const decoded = decodeItems(input.items, decryptor);
  if (input.single && decoded[0]?.error !== undefined) {
    io.err(`isakmp decode: ${input.items[0]!.source ?? ''}${errorLine(decoded[0].error)}`);
    return 1;
  }
  // With --diagram the diagram is the output (the trees are in the HTML page); --json adds the objects.
  if (diagram !== undefined) {
    const r = writeDiagram(decoded, diagram, io, { title: sample ? 'the built-in sample exchange' : name === '-' ? 'stdin' : name, keylog: decryptor !== undefined });
    if (r !== 0) return r;
  }
  if (diagram === undefined || json) printItems(decoded, json, io);
  const malformed = decoded.filter((d) => d.error !== undefined).length;
  if (input.summary !== undefined) {
    const line = `${input.summary}, ${malformed} malformed`;
    if (json || diagram !== undefined) io.err(line);
    else io.out(line);
  }
  if (input.trailingError !== undefined) {
    io.err(`isakmp decode: ${input.trailingError}`);
    return 1;
  }
  return 0;
}

/** Prints the tree (or one JSON object) of every decoded item. */
function printItems(decoded: readonly DecodedItem[], json: boolean, io: Output): void {
  for (const d of decoded) {
    const it = d.input;
    if (d.error !== undefined) {
      const e = d.error;
      if (json) io.out(escapeJsonText(JSON.stringify({ ...(it.meta ?? {}), ...rawHeaderJson(it.data), payloads: [], error: { notify: e.notify, notifyName: e.notifyName, offset: e.offset ?? null, reason: e.reason } })));
      else io.out(`${it.label ?? ''}\n    ${errorLine(e)}\n`);
      continue;
    }
    const m = d.message!;
    if (json) io.out(escapeJsonText(JSON.stringify({ ...(it.meta ?? {}), ...messageJson(m, it.data.length), ...(d.decryptError !== undefined ? { decryptError: d.decryptError } : {}) })));
    else {
      if (it.label !== undefined) io.out(it.label);
      for (const l of messageTree(m, it.data.length)) io.out(l);
      if (d.decryptError !== undefined) io.out(`    Not decrypted: ${escapeText(d.decryptError)}`);
      io.out('');
    }
  }
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
