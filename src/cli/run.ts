/** Dispatch of `isakmp <command> [args]`. Returns the process exit code; never throws. */
import { runDecode, stdio, type Output } from './decode.js';
import { runDemo } from './demo.js';
import { runDaemon } from './daemon.js';
import { runControl } from './control.js';
import { runDaemonDemo } from './demo-daemons.js';
import { runPasswd } from './passwd.js';

export const USAGE = `usage: isakmp <command> [options]

commands:
  decode [--json] [--keylog FILE] <hex | file | capture.pcap[ng]>   decode ISAKMP messages
  decode --sample [--json]                                        decode a built-in sample exchange
  demo [-v]                                                       two daemons on loopback: Main Mode + Quick Mode
  daemon [--config FILE] [--keylog FILE] [--log-format text|json] [--check]
                                                                  run the IKE daemon
  up NAME [--timeout S] | down NAME | rekey NAME|SA-ID            start / stop / rekey a connection
  status [--json] | reload                                        ask the running daemon
       (up/down/status/reload take --socket PATH or --config FILE)
  passwd [--file FILE] [--stdin] [--address A] [--netmask M] [--scrypt-n N] USER
                                                                  set a user's password in the users file (XAUTH)
  passwd [--file FILE] --delete USER                              remove a user from the users file
  help                                                            this text
`;

export async function runCli(argv: string[], io: Output = stdio): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      case 'decode':
        // `decode --sample`: the built-in decoded sample exchange (formerly `demo`).
        if (rest.includes('--sample')) return runDemo(rest.filter((a) => a !== '--sample'), io);
        return runDecode(rest, io);
      case 'demo':
        return await runDaemonDemo(rest, io);
      case 'daemon':
        return await runDaemon(rest, io);
      case 'up':
      case 'down':
      case 'status':
      case 'reload':
      case 'rekey':
        return await runControl(cmd, rest, io);
      case 'passwd':
        return await runPasswd(rest, io);
      default:
        io.err(`isakmp: unknown command '${cmd}' (try 'isakmp help')`);
        return 2;
    }
  } catch (e) {
    // Never a stack trace on the terminal: one line, and a non-zero exit.
    io.err(`isakmp: internal error: ${(e as Error)?.message ?? String(e)}`);
    return 70;
  }
}
