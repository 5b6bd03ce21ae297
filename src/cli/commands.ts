/**
 * The one table of `isakmp`'s commands, their arguments and options. `--help`, `isakmp help CMD`,
 * the man page isakmp.1 (man.ts), shell completion (completion.ts) and the argument parser
 * (args.ts) all read it, so none of them can drift from the others.
 * @module
 */
import type { OptionSpec } from './args.js';
import { EXIT_NO_ANSWER, EXIT_REFUSED_BY_PEER, EXIT_REFUSED_BY_US } from './control.js';

export interface ArgumentSpec {
  readonly name: string;
  readonly help: string;
  /** Fixed values (a sub-command word such as `swanctl`), offered by completion. */
  readonly choices?: readonly string[];
  readonly complete?: 'file' | 'directory' | 'connection';
}

export interface CommandSpec {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage lines after `isakmp ` (the first is the main form). */
  readonly usage: readonly string[];
  /** Paragraphs of description. */
  readonly description: readonly string[];
  readonly args: readonly ArgumentSpec[];
  /** How many positionals are allowed. */
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
}

export const LOG_LEVEL_NAMES = ['error', 'warn', 'info', 'debug', 'trace'] as const;

const SOCKET: OptionSpec = { name: 'socket', short: 's', value: 'PATH', complete: 'file', help: 'the daemon\'s control socket (default: control_socket of the configuration file, else /run/isakmp/isakmp.sock)' };
const CONFIG_FOR_SOCKET: OptionSpec = { name: 'config', short: 'c', value: 'FILE', complete: 'file', help: 'read the control socket path from this configuration file (default /etc/isakmp/isakmp.yaml when it exists)' };
const CONNECTION: ArgumentSpec = { name: 'NAME', help: 'a connection name from the configuration', complete: 'connection' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'daemon',
    summary: 'run the IKE daemon (or check a configuration file)',
    usage: ['daemon [--config FILE] [--keylog FILE] [--log-format text|json] [--log-level LEVEL]', 'daemon --check [--config FILE] [--keylog FILE]'],
    description: [
      'Runs the ISAKMP/IKEv1 daemon in the foreground: UDP 500 and 4500 (global.port, global.natt_port), the control socket for up, down, rekey, status and reload, the dataplane adapter and the key log. Logs go to standard error, one line per event. SIGTERM and SIGINT stop it cleanly (Deletes sent, dataplane cleaned up); SIGHUP reloads the configuration.',
      'With --check it only reads and validates the configuration file, prints "FILE: ok, N connections" and exits; every problem is reported as FILE:LINE:COL: PATH: what is wrong (what to do). It also checks the files the configuration names (the updown script, certificates, keys, CAs, CRLs, the key log and its folder: there, readable, executable for updown) and warns on standard error about their permissions, weak pre-shared keys let through by allow_weak_psk, and CRL dates; the daemon refuses to start on what --check calls an error.',
    ],
    args: [],
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'config', short: 'c', value: 'FILE', complete: 'file', help: 'the configuration file (YAML, see isakmp.yaml(5)); default /etc/isakmp/isakmp.yaml' },
      { name: 'check', help: 'validate the configuration file and exit (0 when it is valid)' },
      { name: 'keylog', value: 'FILE', complete: 'file', help: 'write the keys of every SA to FILE in Wireshark\'s formats (overrides global.keylog); secrets: keep FILE private' },
      { name: 'log-format', value: 'FORMAT', choices: ['text', 'json'], help: 'log line format (overrides global.log.format)' },
      { name: 'log-level', value: 'LEVEL', choices: LOG_LEVEL_NAMES, help: 'log level for every area: error, warn, info, debug or trace (overrides global.log.level and global.log.areas)' },
    ],
    examples: ['isakmp daemon --check --config /etc/isakmp/isakmp.yaml', 'isakmp daemon --config examples/site-to-site-psk.yaml --log-level debug'],
  },
  {
    name: 'up',
    summary: 'negotiate a connection now and wait for its IPsec SA',
    usage: ['up NAME [--timeout SECONDS] [--socket PATH | --config FILE]'],
    description: ['Asks the running daemon to negotiate connection NAME (phase 1 if needed, then Quick Mode) and waits until its IPsec SA is established or the negotiation fails.'],
    args: [CONNECTION],
    minArgs: 1,
    maxArgs: 1,
    options: [
      { name: 'timeout', value: 'SECONDS', help: 'how long to wait, 1 to 600 (default 30)' },
      SOCKET,
      CONFIG_FOR_SOCKET,
    ],
    examples: ['isakmp up branch', 'isakmp up branch --timeout 10 --socket /tmp/isakmp.sock'],
  },
  {
    name: 'down',
    summary: 'delete the SAs of a connection (the peer is told)',
    usage: ['down NAME [--socket PATH | --config FILE]'],
    description: ['Deletes the IPsec and ISAKMP SAs of connection NAME; Delete notifications go to the peer.'],
    args: [CONNECTION],
    minArgs: 1,
    maxArgs: 1,
    options: [{ name: 'timeout', value: 'SECONDS', help: 'how long to wait for the daemon, 1 to 600 (default 30)' }, SOCKET, CONFIG_FOR_SOCKET],
    examples: ['isakmp down branch'],
  },
  {
    name: 'rekey',
    summary: 'rekey a connection or one SA now',
    usage: ['rekey NAME|SA-ID [--socket PATH | --config FILE]'],
    description: ['Negotiates fresh SAs for connection NAME (or for the SA with the id shown by isakmp status) before their lifetime ends; the old ones are deleted once the new ones are up.'],
    args: [{ name: 'NAME|SA-ID', help: 'a connection name or an SA id from isakmp status', complete: 'connection' }],
    minArgs: 1,
    maxArgs: 1,
    options: [{ name: 'timeout', value: 'SECONDS', help: 'how long to wait, 1 to 600 (default 30)' }, SOCKET, CONFIG_FOR_SOCKET],
    examples: ['isakmp rekey branch'],
  },
  {
    name: 'status',
    summary: 'show connections, SAs and counters of the running daemon',
    usage: ['status [NAME] [--json] [--socket PATH | --config FILE]'],
    description: ['Prints the listening sockets, the configured connections, every ISAKMP and IPsec SA with its algorithms, lifetimes and NAT state, the address pools\' leases, and the exchange and packet counters. With NAME: that connection, its IPsec SAs and the ISAKMP SAs that carry them.'],
    args: [{ name: 'NAME', help: 'only this connection', complete: 'connection' }],
    minArgs: 0,
    maxArgs: 1,
    options: [{ name: 'json', help: 'print the status as one JSON document' }, SOCKET, CONFIG_FOR_SOCKET],
    examples: ['isakmp status', 'isakmp status branch', 'isakmp status --json | jq .ipsec'],
  },
  {
    name: 'reload',
    summary: 're-read the configuration file of the running daemon',
    usage: ['reload [--socket PATH | --config FILE]'],
    description: ['Makes the daemon re-read its configuration file (like SIGHUP). Unchanged connections keep their SAs; a file with errors is refused and the running configuration stays.'],
    args: [],
    minArgs: 0,
    maxArgs: 0,
    options: [SOCKET, CONFIG_FOR_SOCKET],
    examples: ['isakmp reload'],
  },
  {
    name: 'decode',
    summary: 'decode ISAKMP messages from hex, a raw file, a capture or stdin; draw exchange diagrams',
    usage: ['decode [--json] [--keylog FILE] [--port N]... [--diagram FILE|-] INPUT', 'decode --sample [--json]'],
    description: [
      'INPUT is a hex string, a file holding one raw ISAKMP message (binary or hex text), a pcap or pcapng capture, or - for standard input. Captures are read for UDP 500 and 4500 (the non-ESP marker stripped; ESP and NAT keepalives skipped and counted) and any port given with --port; IKE fragments are reassembled. Each message is printed as a tree with the RFC names of every field, vendor IDs by name, Mode Config and XAUTH attributes by name and value.',
      'With --keylog the encrypted messages are decrypted (phase 1 messages 5 and 6, Quick Mode, Informational, Transaction) from the key log isakmp daemon --keylog writes (Wireshark\'s ikev1_decryption_table format).',
      'With --diagram a ladder diagram of every ISAKMP SA in the input is written: SVG, or a self-contained HTML page when FILE ends in .html (click a message to see its tree). - writes SVG to standard output.',
    ],
    args: [{ name: 'INPUT', help: 'hex string, raw message file, pcap/pcapng capture, or - for stdin', complete: 'file' }],
    minArgs: 0,
    maxArgs: 1,
    options: [
      { name: 'json', help: 'one JSON object per message instead of the tree' },
      { name: 'keylog', value: 'FILE', complete: 'file', help: 'decrypt with this key log (lines <initiator cookie>,<encryption key>)' },
      { name: 'port', short: 'p', value: 'N', repeatable: true, help: 'also read IKE on UDP port N in captures; a leading 4-octet zero non-ESP marker is stripped' },
      { name: 'diagram', short: 'd', value: 'FILE', complete: 'file', help: 'write a ladder diagram: FILE.svg, FILE.html (interactive), or - for SVG on stdout' },
      { name: 'sample', help: 'decode the built-in sample exchange (Main Mode + Quick Mode, decrypted) instead of INPUT' },
    ],
    examples: [
      'isakmp decode capture.pcapng',
      'isakmp decode --port 15500 --port 15600 lab.pcap',
      'tcpdump -w - -U port 500 | isakmp decode -',
      'isakmp decode --keylog /var/lib/isakmp/keys.log --diagram exchange.html capture.pcap',
      'isakmp decode --json 0123456789abcdef0000000000000000011002000000000000000068',
    ],
  },
  {
    name: 'import',
    summary: 'print an isakmp configuration from swanctl.conf, ipsec.conf or Cisco IOS',
    usage: ['import swanctl FILE', 'import ipsec.conf FILE [--secrets FILE] [--dialect strongswan|libreswan]', 'import cisco FILE [--local-address ADDRESS]'],
    description: [
      'Reads a strongSwan swanctl.conf, a strongSwan or Libreswan ipsec.conf (with its ipsec.secrets), or the crypto part of a Cisco IOS configuration (crypto isakmp policy, crypto isakmp key, keyrings, crypto ipsec transform-set, crypto map, access-list) and prints the equivalent isakmp YAML configuration on standard output. Every setting that could not be carried over gets a comment saying why; IKEv2-only connections are skipped with a note. The output passes isakmp daemon --check.',
    ],
    args: [
      { name: 'FORMAT', help: 'swanctl, ipsec.conf or cisco', choices: ['swanctl', 'ipsec.conf', 'cisco'] },
      { name: 'FILE', help: 'the configuration to read (- for stdin)', complete: 'file' },
    ],
    minArgs: 2,
    maxArgs: 2,
    options: [
      { name: 'secrets', value: 'FILE', complete: 'file', help: 'ipsec.conf: the ipsec.secrets file (default: ipsec.secrets beside FILE)' },
      { name: 'dialect', value: 'NAME', choices: ['strongswan', 'libreswan'], help: 'ipsec.conf: whose dialect FILE is written in (default: guessed from the keywords, and said in the output)' },
      { name: 'local-address', value: 'ADDRESS', help: 'cisco: our address, when no interface with an ip address carries the crypto map' },
    ],
    examples: ['isakmp import swanctl /etc/swanctl/swanctl.conf > /etc/isakmp/isakmp.yaml', 'isakmp import ipsec.conf /etc/ipsec.conf --secrets /etc/ipsec.secrets', 'isakmp import cisco router-config.txt'],
  },
  {
    name: 'passwd',
    summary: 'set or remove an XAUTH user\'s password in the users file (scrypt)',
    usage: ['passwd [--file FILE] [--stdin] [--address A] [--netmask M] [--scrypt-n N] USER', 'passwd [--file FILE] --delete USER'],
    description: [
      'Sets USER\'s password in the users file (docs/remote-access.md) as an scrypt hash, adding the line or replacing the hash of the existing one. The password is asked twice on the terminal without echo, or read as the first line of the standard input with --stdin; it is never taken as an argument. The file is replaced atomically with mode 0600; every other line is kept. Exit status: 0 done, 1 refused or failed (nothing changed), 2 bad usage.',
    ],
    args: [{ name: 'USER', help: 'the XAUTH user name, as the client sends it' }],
    minArgs: 1,
    maxArgs: 1,
    options: [
      { name: 'file', short: 'f', value: 'FILE', complete: 'file', help: 'the users file (default /etc/isakmp/users)' },
      { name: 'stdin', help: 'read the password as the first line of the standard input (for scripts)' },
      { name: 'address', value: 'A', help: 'a fixed virtual address for this user (IPv4 or IPv6), instead of one from the pool' },
      { name: 'netmask', value: 'M', help: 'the netmask sent with that address' },
      { name: 'scrypt-n', value: 'N', help: 'the scrypt cost N, a power of two (default 32768)' },
      { name: 'delete', help: 'remove USER\'s line instead' },
    ],
    examples: ['isakmp passwd alice', "printf '%s\\n' \"$PW\" | isakmp passwd --stdin --file /etc/isakmp/users alice", 'isakmp passwd --delete bob'],
  },
  {
    name: 'demo',
    summary: 'two daemons on loopback negotiate Main Mode and Quick Mode (what npm start runs)',
    usage: ['demo [--verbose] [--timeout SECONDS]'],
    description: ['Starts two daemons in one process on loopback (UDP 15500 and 15600, or free ports when those are busy), lets them negotiate Main Mode with a pre-shared key and Quick Mode with PFS, prints each established SA, deletes them and exits 0. Needs no root and no configuration.'],
    args: [],
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'verbose', short: 'v', help: 'log every event of both daemons' },
      { name: 'timeout', value: 'SECONDS', help: 'give up after this long (default 10)' },
    ],
    examples: ['isakmp demo'],
  },
  {
    name: 'completion',
    summary: 'print a shell completion script (bash or zsh)',
    usage: ['completion bash|zsh'],
    description: ['Prints a completion script for the shell. bash: add eval "$(isakmp completion bash)" to ~/.bashrc, or save it as /usr/share/bash-completion/completions/isakmp. zsh: save it as _isakmp in a directory of $fpath.'],
    args: [{ name: 'SHELL', help: 'bash or zsh', choices: ['bash', 'zsh'] }],
    minArgs: 1,
    maxArgs: 1,
    options: [],
    examples: ['isakmp completion bash > /usr/share/bash-completion/completions/isakmp', 'isakmp completion zsh > "${fpath[1]}/_isakmp"'],
  },
  {
    name: 'help',
    summary: 'help on a command, or on the configuration file (help config)',
    usage: ['help [COMMAND | config]'],
    description: ['Without an argument, the list of commands; with one, the help of that command (the same as isakmp COMMAND --help); help config describes every key of the configuration file.'],
    args: [{ name: 'COMMAND', help: 'a command name, or config', choices: [] }],
    minArgs: 0,
    maxArgs: 1,
    options: [],
    examples: ['isakmp help decode', 'isakmp help config'],
  },
  {
    name: 'version',
    summary: 'print the version (also --version)',
    usage: ['version', '--version'],
    description: ['Prints "isakmp VERSION".'],
    args: [],
    minArgs: 0,
    maxArgs: 0,
    options: [],
    examples: ['isakmp --version'],
  },
];

export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);

/** Exit status meanings (help, man page). */
export const EXIT_CODES: readonly (readonly [number, string])[] = [
  [0, 'success'],
  [1, 'the operation failed (bad input, refused configuration, negotiation failed, daemon not reachable); one line on standard error says why'],
  [2, 'usage error: unknown command or option, missing or extra argument'],
  [EXIT_NO_ANSWER, 'isakmp up: the peer does not answer'],
  [EXIT_REFUSED_BY_PEER, 'isakmp up: refused by the peer'],
  [EXIT_REFUSED_BY_US, 'isakmp up: refused by us (a mismatch our side found: keys, proposals, identities, selectors, certificates)'],
  [70, 'internal error (a bug: please report it)'],
];
