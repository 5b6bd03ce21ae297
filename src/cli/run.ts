/** Dispatch of `isakmp <command> [args]`. Returns the process exit code; never throws. */
export const USAGE = `usage: isakmp <command> [options]

commands:
  decode [--json] <hex | file | capture.pcap[ng]>   decode ISAKMP messages
  demo                                             decode a built-in sample exchange
  help                                             this text
`;

export async function runCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  void rest;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`isakmp: unknown command '${cmd}' (try 'isakmp help')\n`);
      return 2;
  }
}
