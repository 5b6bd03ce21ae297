/**
 * Reference of the configuration file's keys, for `isakmp help config` and the man page
 * isakmp.yaml(5). A test compares the keys here with the ones the loader accepts (the loader's
 * own "unknown key" message lists them), so the reference cannot miss or invent a key.
 * @module
 */

export interface ConfigKey {
  readonly key: string;
  readonly default?: string;
  readonly meaning: string;
}

export interface ConfigSection {
  /** The YAML path of the section (`global`, `connections.NAME`, …). */
  readonly title: string;
  readonly intro: string;
  readonly keys: readonly ConfigKey[];
}

export const CONFIG_INTRO: readonly string[] = [
  'One YAML file with the sections global, secrets and connections (and ha for failover). Relative paths are relative to the folder of the file. Durations are seconds or 90s, 30m, 8h, 1d. isakmp daemon --check --config FILE validates a file.',
];

export const CONFIG_SECTIONS: readonly ConfigSection[] = [
  {
    title: 'global',
    intro: 'Daemon-wide settings; all optional.',
    keys: [
      { key: 'listen', default: '[0.0.0.0, "::"]', meaning: 'addresses to bind, IPv4 and/or IPv6 (a list or "a, b")' },
      { key: 'port', default: '500', meaning: 'the IKE port' },
      { key: 'natt_port', default: '4500', meaning: 'the NAT-T port (RFC 3947/3948); 0 = do not open it' },
      { key: 'log', meaning: 'level (error, warn, info, debug, trace; default info), areas (a level per area: daemon, ike, net, control, dataplane, config), format (text or json)' },
      { key: 'keylog', meaning: 'key log file in Wireshark\'s formats (secrets: keep it private); --keylog overrides it' },
      { key: 'control_socket', default: '/run/isakmp/isakmp.sock', meaning: 'unix socket for isakmp up, down, rekey, status, reload (mode 0600; its folder is created with mode 0700 when missing)' },
      { key: 'dataplane', default: 'none', meaning: 'none (records SAs for status) or xfrm (programs the Linux kernel with ip xfrm)' },
      { key: 'updown', meaning: 'script run when an IPsec SA comes up or goes down (the SA in environment variables)' },
      { key: 'metrics', meaning: 'PORT, 127.0.0.1:PORT or [::1]:PORT: Prometheus text at /metrics, localhost only' },
      { key: 'max_half_open', default: '2048', meaning: 'bound on half-open phase-1 exchanges, all peers together' },
      { key: 'max_half_open_per_peer', default: '32', meaning: 'bound on half-open phase-1 exchanges from one peer address' },
      { key: 'max_isakmp_sas_per_identity', default: '200', meaning: 'ISAKMP SAs one authenticated peer identity may hold under one connection (the oldest duplicate is replaced, else the new SA is refused)' },
      { key: 'max_isakmp_sas_per_address', default: '500', meaning: 'ISAKMP SAs with one peer address; a first message past it is refused before any Diffie-Hellman work' },
      { key: 'max_ipsec_sas_per_identity', default: '1000', meaning: 'IPsec SAs one authenticated peer identity may hold; past it its Quick Modes are refused' },
      { key: 'max_quick_modes_per_sa', default: '16', meaning: 'unfinished Quick Modes on one ISAKMP SA' },
      { key: 'message_id_budget', default: '1024', meaning: 'message IDs kept per ISAKMP SA against replays (64 or more); 16 before it the SA is replaced' },
      { key: 'aggressive_rate', default: '{ per_second: 100, burst: 100, per_source_per_second: 5, per_source_burst: 10 }', meaning: 'Aggressive Mode first messages answered (each costs a Diffie-Hellman exchange); over it they are dropped unanswered' },
      { key: 'first_message_rate', default: '{ per_second: 1000, burst: 1000, per_source_per_second: 2, per_source_burst: 4 }', meaning: 'first messages processed before decoding; past per_second only addresses with a token of their own (a flood is refused cheaply)' },
      { key: 'receive_buffer', default: '33554432', meaning: 'kernel receive buffer of each IKE socket in bytes (0: the kernel default); past net.core.rmem_max with CAP_NET_ADMIN' },
      { key: 'fragment_size', default: '548', meaning: 'largest phase-1 datagram before it is sent in IKE fragments (when the connection and the peer allow them)' },
      { key: 'shutdown_grace', default: '2s', meaning: 'how long SIGTERM waits for Deletes, dataplane cleanup and updown scripts' },
      { key: 'traffic_poll', default: '10s', meaning: 'how often the xfrm adapter reads the kernel\'s SA byte counters (1s to 1h)' },
      { key: 'nat_keepalive', default: '20s', meaning: 'NAT keepalives (RFC 3948) when a NAT is in front of us; 0 = off, else 1s to 1h' },
      { key: 'shards', default: '1', meaning: 'engine shards, 1 to 256, or auto = the number of cores (docs/scale.md); a restart applies it' },
      { key: 'shard_mode', default: 'thread', meaning: 'thread: worker threads behind the main thread\'s sockets; process: shards in child processes that own their UDP sockets, the kernel steering datagrams to them (needs the native binding, else threads with a log line) (docs/scale.md); a restart applies it' },
    ],
  },
  {
    title: 'secrets.NAME',
    intro: 'Named secrets, referenced by connections with secret: NAME. Either psk, or cert with key (and ca).',
    keys: [
      { key: 'psk', meaning: 'a pre-shared key: a string, or 0x followed by hex digits for raw bytes; a weak one (under 20 characters, or under about 80 bits by a simple estimate) is refused' },
      { key: 'allow_weak_psk', default: 'false', meaning: 'true accepts a weak psk (a peer you cannot change yet); the daemon and --check still warn' },
      { key: 'cert', meaning: 'our X.509 certificate (PEM or DER); a PEM file may go on with the intermediate CAs we send after it' },
      { key: 'chain', meaning: 'list of more intermediate CA certificates we send after ours (never a root)' },
      { key: 'key', meaning: 'its RSA private key (PEM or DER); must match the certificate' },
      { key: 'ca', meaning: 'list of trusted issuers (or the peer\'s own certificate); one CERTREQ naming each goes to the peer' },
      { key: 'crls', meaning: 'list of complete CRLs (PEM or DER) of those issuers; re-read by isakmp reload' },
    ],
  },
  {
    title: 'ha',
    intro: 'Optional: failover between nodes through etcd (docs/ha.md). Absent: one node.',
    keys: [
      { key: 'store', meaning: 'etcd client URLs, http://HOST:PORT (one or a list; required)' },
      { key: 'cluster', meaning: 'the cluster\'s name (required)' },
      { key: 'node', meaning: 'this node\'s name, unique in the cluster (required)' },
      { key: 'cluster_key', meaning: 'a file with 32 bytes as 64 hex digits, the same on every node, mode 0600 (required; --check warns when others can read it)' },
      { key: 'lease', default: '2s', meaning: 'the ownership lease, 2s to 60s' },
      { key: 'virtual_ip', meaning: 'ADDRESS/PREFIX, the gateway address the peers use; must be in global.listen (required)' },
      { key: 'interface', meaning: 'where the active node adds the virtual address (required)' },
      { key: 'garp', default: 'true', meaning: 'announce the address with gratuitous ARP when taking it' },
    ],
  },
  {
    title: 'connections.NAME',
    intro: 'One connection per peer, mode, authentication and identity: an ISAKMP SA and the IPsec SA of one pair of traffic selectors. NAME is 1-64 of A-Z a-z 0-9 _ . -',
    keys: [
      { key: 'mode', default: 'main', meaning: 'main or aggressive (phase-1 exchange)' },
      { key: 'auth', default: 'psk', meaning: 'psk (pre-shared key) or rsa (RSA signatures with certificates)' },
      { key: 'secret', meaning: 'the name of a secret in the secrets section (required)' },
      { key: 'local', meaning: 'address: our address; id: our identity (default: the address with psk, the certificate\'s subject with rsa)' },
      { key: 'remote', meaning: 'address: the peer\'s address, or %any for a responder-only connection (required); port (default global.port); id: the identity the peer must prove, %any for any' },
      { key: 'ike', meaning: 'phase-1 proposals ENC-HASH-GROUP, e.g. aes256-sha256-modp2048, aes128-sha256-ecp256 (required)' },
      { key: 'esp', default: 'aes128-sha256, aes256-sha256', meaning: 'Quick Mode proposals ENC-INTEG[-GROUP] or AEAD[-GROUP], e.g. aes128gcm16; the group is the PFS group, the same for all' },
      { key: 'ah', meaning: 'AH proposals INTEG[-GROUP] instead of esp, e.g. sha256 (integrity only, no encryption)' },
      { key: 'pfs', meaning: 'PFS group for esp proposals without one (modp2048, ecp256, ...), or none' },
      { key: 'ipsec_mode', default: 'tunnel', meaning: 'tunnel or transport' },
      { key: 'local_ts', default: 'the local address', meaning: 'our traffic selector ADDRESS[/PREFIX][[PROTO[/PORT]]], e.g. 10.1.0.0/16, or a list of them (one IPsec SA per local/remote pair)' },
      { key: 'remote_ts', default: 'the remote address', meaning: 'the peer\'s traffic selector, or a list of them' },
      { key: 'ike_lifetime', default: '4h', meaning: 'ISAKMP SA lifetime (at least 60s)' },
      { key: 'ike_rekey_margin', default: '9m', meaning: 'rekey the ISAKMP SA this long before it expires' },
      { key: 'lifetime', default: '1h', meaning: 'IPsec SA lifetime (at least 30s)' },
      { key: 'lifetime_kb', meaning: 'IPsec SA lifetime in kilobytes (enforced with dataplane xfrm)' },
      { key: 'rekey_margin', default: '9m', meaning: 'rekey the IPsec SA this long before it expires' },
      { key: 'rekey_fuzz', default: '100', meaning: 'percent of the margin added at random' },
      { key: 'gateway_rekey', default: 'true', meaning: 'a remote-access gateway (xauth / modecfg server) rekeys its clients\' IPsec SAs at half rekey_margin before expiry (vpnc never rekeys; a client that rekeys first cancels it)' },
      { key: 'start', default: 'add', meaning: 'add (wait for the peer or isakmp up), start (initiate at start-up), on-demand (on traffic; needs dataplane xfrm)' },
      { key: 'allow_weak_groups', default: 'false', meaning: 'allow DH groups 1, 2, 5 and 22-24 (refused otherwise)' },
      { key: 'allow_aggressive_psk_responder', default: 'false', meaning: 'answer Aggressive Mode with a PSK (it exposes an offline-crackable hash)' },
      { key: 'nat_traversal', default: 'true', meaning: 'RFC 3947 NAT traversal' },
      { key: 'encap', default: 'false', meaning: 'pretend a NAT so that ESP is UDP-encapsulated' },
      { key: 'dpd_delay', default: '30s', meaning: 'RFC 3706 Dead Peer Detection: R-U-THERE after this long without news; 0 = off' },
      { key: 'dpd_timeout', default: '150s', meaning: 'the peer is dead after this long without an answer' },
      { key: 'dpd_action', default: 'clear', meaning: 'clear (delete the SAs) or restart (negotiate again)' },
      { key: 'fragmentation', default: 'yes', meaning: 'IKE fragmentation: yes (announce, accept, fragment when the peer announced it), force (always fragment large messages), no' },
      { key: 'fragment_size', default: 'global fragment_size', meaning: 'largest phase-1 datagram before it is sent in fragments, for this connection' },
      { key: 'xauth', default: '(none)', meaning: 'XAUTH after phase 1: as gateway { backend: file:PATH | radius: {...}, retries }, as client { user, password | password_file }' },
      { key: 'pool', default: '(none)', meaning: 'gateway: Mode Config address pool (subnets or ranges) leased by identity and user' },
      { key: 'dns', default: '(none)', meaning: 'gateway: DNS servers sent by Mode Config' },
      { key: 'split_include', default: '(none)', meaning: 'gateway: networks sent as INTERNAL_IP4_SUBNET and Cisco Unity split include when asked' },
      { key: 'banner', default: '(none)', meaning: 'gateway: Cisco Unity banner sent when asked' },
      { key: 'nbns', default: '(none)', meaning: 'gateway: WINS servers sent as INTERNAL_IP4_NBNS when asked' },
      { key: 'default_domain', default: '(none)', meaning: 'gateway: Cisco Unity default DNS domain sent when asked' },
      { key: 'split_dns', default: '(none)', meaning: 'gateway: Cisco Unity split DNS: the domains resolved with dns:, sent when asked' },
      { key: 'local_lan', default: '(none)', meaning: 'gateway: Cisco Unity local LAN: networks the client reaches directly, sent when asked' },
      { key: 'save_password', default: '(not sent)', meaning: 'gateway: Cisco Unity save-password: may the client store the XAUTH password' },
      { key: 'modecfg', default: '(none)', meaning: 'Mode Config: pull (the client asks after XAUTH) or push (the gateway sets after XAUTH, the client acknowledges; a push client waits 30 s for the SET)' },
    ],
  },
];
