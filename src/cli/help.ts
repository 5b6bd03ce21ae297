/**
 * Help texts of `isakmp`, rendered from the command table (commands.ts) and the configuration
 * reference (config-reference.ts): `isakmp --help`, `isakmp help CMD`, `isakmp CMD --help`,
 * `isakmp help config`.
 * @module
 */
import type { OptionSpec } from './args.js';
import { COMMANDS, EXIT_CODES, type CommandSpec } from './commands.js';
import { CONFIG_SECTIONS, CONFIG_INTRO } from './config-reference.js';

const WIDTH = 80;

/** Wraps `text` to `width` columns, every line prefixed by `indent`. */
export function wrap(text: string, indent = '', width = WIDTH): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) out.push(indent + line);
  return out;
}

/** `-k, --keylog FILE` as help shows it. */
export function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.value !== undefined ? ` ${o.value}` : ''}`;
  return o.short !== undefined ? `-${o.short}, ${long}` : `    ${long}`;
}

/** Two columns: a label, then its text wrapped beside it. */
function table(rows: readonly (readonly [string, string])[], indent = '  '): string[] {
  const col = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  const out: string[] = [];
  for (const [label, text] of rows) {
    const body = wrap(text, ' '.repeat(indent.length + col));
    if (label.length + 2 > col) {
      out.push(indent + label);
      out.push(...body);
    } else {
      out.push(indent + label.padEnd(col) + (body[0] ?? '').trimStart());
      out.push(...body.slice(1));
    }
  }
  return out;
}

export function globalHelp(): string {
  const L: string[] = ['usage: isakmp <command> [options] [arguments]', '       isakmp --version | --help', ''];
  L.push(...wrap('ISAKMP (RFC 2408) / IKEv1 (RFC 2409) key management: the daemon, its control commands, a decoder for captures with exchange diagrams, and importers from strongSwan, Libreswan and Cisco IOS configurations.'));
  L.push('', 'commands:');
  L.push(...table(COMMANDS.map((c) => [c.name, c.summary] as const)));
  L.push('', 'options:');
  L.push(...table([
    ['-V, --version', 'print the version and exit'],
    ['-h, --help', 'this help; isakmp COMMAND --help or isakmp help COMMAND for one command'],
  ]));
  L.push('', ...wrap("Run 'isakmp help COMMAND' for a command's options, 'isakmp help config' for the configuration file. Manual pages: isakmp(1), isakmp.yaml(5)."));
  return L.join('\n') + '\n';
}

export function commandHelp(c: CommandSpec): string {
  const L: string[] = [];
  c.usage.forEach((u, i) => L.push(`${i === 0 ? 'usage: ' : '       '}isakmp ${u}`));
  L.push('');
  for (const [i, p] of c.description.entries()) {
    if (i > 0) L.push('');
    L.push(...wrap(p));
  }
  if (c.args.length > 0) {
    L.push('', 'arguments:');
    L.push(...table(c.args.map((a) => [a.name, a.help] as const)));
  }
  L.push('', 'options:');
  L.push(...table([...c.options.map((o) => [optionLabel(o), o.help + (o.repeatable ? ' (repeatable)' : '')] as const), [optionLabel({ name: 'help', short: 'h', help: '' }), 'print this help and exit']]));
  if (c.examples.length > 0) {
    L.push('', 'examples:');
    for (const e of c.examples) L.push(`  ${e}`);
  }
  L.push('', 'exit status:');
  L.push(...table(EXIT_CODES.filter(([n]) => n !== 70).map(([n, t]) => [String(n), t] as const)));
  return L.join('\n') + '\n';
}

/** `isakmp help config`: every key of the configuration file. */
export function configHelp(): string {
  const L: string[] = ['isakmp.yaml: the configuration file of isakmp daemon (default /etc/isakmp/isakmp.yaml)', ''];
  for (const p of CONFIG_INTRO) {
    L.push(...wrap(p), '');
  }
  for (const s of CONFIG_SECTIONS) {
    L.push(`${s.title}:`);
    L.push(...wrap(s.intro, '  '));
    L.push(...table(s.keys.map((k) => [k.key + (k.default !== undefined ? ` (${k.default})` : ''), k.meaning] as const), '    '));
    L.push('');
  }
  L.push(...wrap('Errors are reported all at once as FILE:LINE:COL: PATH: what is wrong (what to do). More in docs/config.md and the examples/ folder.'));
  return L.join('\n') + '\n';
}
