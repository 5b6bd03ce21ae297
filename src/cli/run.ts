/**
 * Dispatch of `isakmp <command> [args]`: finds the command in the table (commands.ts), parses its
 * arguments (args.ts), answers `--help` / `help CMD` / `--version`, and runs it. Returns the
 * process exit code (0 ok, 1 failure, 2 usage, 70 internal error); never throws.
 * @module
 */
import { nearest, parseCommandArgs, type ParsedArgs } from './args.js';
import { COMMAND_NAMES, commandNamed } from './commands.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { runControl } from './control.js';
import { runDaemon } from './daemon.js';
import { runDecode, stdio, type Output } from './decode.js';
import { runDaemonDemo } from './demo-daemons.js';
import { commandHelp, configHelp, globalHelp } from './help.js';
import { runImport } from './import.js';
import { runPasswd } from './passwd.js';
import { packageVersion } from '../daemon/version.js';

const SELF_CHECKED = new Set(['decode', 'up', 'down', 'rekey', 'status', 'reload', 'passwd']);

function unknownCommand(cmd: string, io: Output): number {
  const n = nearest(cmd, COMMAND_NAMES);
  io.err(`isakmp: unknown command '${cmd}'${n !== undefined ? ` (did you mean '${n}'?)` : ''}; 'isakmp help' lists the commands`);
  return 2;
}

async function dispatch(cmd: string, a: ParsedArgs, io: Output): Promise<number> {
  switch (cmd) {
    case 'decode':
      return runDecode(a, io);
    case 'demo':
      return await runDaemonDemo(a, io);
    case 'daemon':
      return await runDaemon(a, io);
    case 'up':
    case 'down':
    case 'status':
    case 'reload':
    case 'rekey':
      return await runControl(cmd, a, io);
    case 'import':
      return await runImport(a, io);
    case 'passwd':
      return await runPasswd(a, io);
    case 'completion':
      io.out((a.positionals[0] === 'zsh' ? zshCompletion() : bashCompletion()).trimEnd());
      return 0;
    case 'version':
      io.out(`isakmp ${packageVersion()}`);
      return 0;
    case 'help': {
      const topic = a.positionals[0];
      if (topic === undefined) io.out(globalHelp().trimEnd());
      else if (topic === 'config') io.out(configHelp().trimEnd());
      else {
        const c = commandNamed(topic);
        if (c === undefined) return unknownCommand(topic, io);
        io.out(commandHelp(c).trimEnd());
      }
      return 0;
    }
    default:
      return unknownCommand(cmd, io);
  }
}

export async function runCli(argv: string[], io: Output = stdio): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h') {
      io.out(globalHelp().trimEnd());
      return 0;
    }
    if (cmd === '--version' || cmd === '-V') {
      io.out(`isakmp ${packageVersion()}`);
      return 0;
    }
    const spec = commandNamed(cmd);
    if (spec === undefined) {
      if (cmd.startsWith('-')) {
        io.err(`isakmp: '${cmd}' before a command: options go after it (isakmp COMMAND [options]); 'isakmp help' lists the commands`);
        return 2;
      }
      return unknownCommand(cmd, io);
    }
    const parsed = parseCommandArgs(rest, spec.options);
    if (!parsed.ok) {
      io.err(`isakmp ${cmd}: ${parsed.error}`);
      return 2;
    }
    const a = parsed.args;
    if (a.help) {
      io.out(commandHelp(spec).trimEnd());
      return 0;
    }
    // decode and the control commands check their own arguments (their messages are older than this table).
    if (!SELF_CHECKED.has(cmd)) {
      if (a.positionals.length < spec.minArgs) {
        const need = spec.args.slice(a.positionals.length).map((x) => x.name).join(' ');
        io.err(`isakmp ${cmd}: missing ${need} (usage: isakmp ${spec.usage[0]})`);
        return 2;
      }
      if (a.positionals.length > spec.maxArgs) {
        io.err(`isakmp ${cmd}: unexpected argument '${a.positionals[spec.maxArgs]}' (usage: isakmp ${spec.usage[0]})`);
        return 2;
      }
    }
    const first = spec.args[0];
    const choices = cmd === 'help' ? [...COMMAND_NAMES, 'config'] : first?.choices;
    const word = a.positionals[0];
    if (choices !== undefined && choices.length > 0 && word !== undefined && !choices.includes(word)) {
      if (cmd === 'help') return unknownCommand(word, io);
      const n = nearest(word, choices);
      io.err(`isakmp ${cmd}: ${first!.name} is one of ${choices.join(', ')}, not '${word}'${n !== undefined ? ` (did you mean '${n}'?)` : ''}`);
      return 2;
    }
    return await dispatch(cmd, a, io);
  } catch (e) {
    // Never a stack trace on the terminal: one line, and a non-zero exit.
    io.err(`isakmp: internal error: ${(e as Error)?.message ?? String(e)}`);
    return 70;
  }
}
