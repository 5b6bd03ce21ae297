/**
 * Libreswan's pluto as a test peer (interop/pluto.sh): started in a namespace with the
 * connections of one case, driven by whack, its states read from `whack --showstates`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import { A, B, Ours, RUN, labDown, labUp, script, until, type Run } from './peers.js';

/** One state of `whack --showstates`: an ISAKMP SA (STATE_MAIN_*, STATE_AGGR_*) or an IPsec SA (STATE_QUICK_*). */
export interface PlutoState {
  serial: number;
  conn: string;
  state: string;
  /** IPsec SAs: the SPI pluto sends with (our inbound) and the one it receives on (our outbound), hex. */
  spiOut?: string;
  spiIn?: string;
  /** ISAKMP SAs: DPD sequence numbers (`lastdpd=…(seq in:N out:M)`). */
  dpdIn?: number;
  dpdOut?: number;
  /** Seconds until pluto replaces (rekeys) the SA (`REPLACE in Ns`). */
  replaceIn?: number;
}

/**
 * Parses showstates lines:
 *   000 #1: "ours":500 STATE_MAIN_R3 (IKE SA established); …; lastdpd=-1s(seq in:0 out:0); idle;
 *   000 #2: "ours" esp.40cd2c87@198.18.0.1 esp.fd8126d1@198.18.0.2 tun.0@… Traffic: …
 *   000 #1: "ours"[1] 198.18.0.1:500 STATE_MAIN_R3 …   (an instance of a template: right=%any)
 */
export function parseShowStates(text: string): PlutoState[] {
  const byId = new Map<number, PlutoState>();
  for (const line of text.split('\n')) {
    // a template's instance reads `"ours"[1] 198.18.0.1:500 STATE_…`
    const s = /^000 #(\d+): "([^"]+)"\S*(?: \S+)? (STATE_\w+)/.exec(line);
    if (s) {
      const st: PlutoState = { serial: Number(s[1]), conn: s[2]!, state: s[3]! };
      const d = /seq in:(\d+) out:(\d+)/.exec(line);
      if (d) {
        st.dpdIn = Number(d[1]);
        st.dpdOut = Number(d[2]);
      }
      const r = /REPLACE in (\d+)s/.exec(line);
      if (r) st.replaceIn = Number(r[1]);
      byId.set(st.serial, st);
      continue;
    }
    // IPv4 SAs read esp.SPI@ADDRESS, IPv6 ones esp:SPI@ADDRESS
    const e = /^000 #(\d+): "[^"]+".*? esp[.:]([0-9a-f]+)@\S+ esp[.:]([0-9a-f]+)@\S+/.exec(line);
    const st = e ? byId.get(Number(e[1])) : undefined;
    if (e && st) {
      st.spiOut = e[2]!.padStart(8, '0');
      st.spiIn = e[3]!.padStart(8, '0');
    }
  }
  return [...byId.values()];
}

export const pluto = {
  /**
   * `conns`: the `conn` sections of ipsec.conf; `secrets`: ipsec.secrets; `p12`: pki.sh's PKCS#12
   * of this side; `debug`: pluto's plutodebug classes; `passwd`: XAUTH users (xauthby=file).
   */
  start(name: string, ns: string, conns: string, secrets: string, p12?: string, debug?: string, passwd?: string): void {
    const conf = join(RUN, `pluto-${name}.conf`);
    const sec = join(RUN, `pluto-${name}.secrets`);
    writeFileSync(conf, conns);
    writeFileSync(sec, secrets, { mode: 0o600 });
    const extra: NodeJS.ProcessEnv = {};
    if (debug) extra['PLUTO_DEBUG'] = debug;
    if (passwd !== undefined) {
      extra['PLUTO_PASSWD'] = join(RUN, `pluto-${name}.passwd`);
      writeFileSync(extra['PLUTO_PASSWD'], passwd, { mode: 0o600 });
    }
    const r = script('pluto.sh', ['start', name, ns, conf, sec, ...(p12 ? [p12] : [])], 60_000, extra);
    if (r.code !== 0) throw new Error(`pluto start ${name}: ${r.err}${r.out}`);
  },
  up(name: string, conn: string, timeoutS = 15): Run {
    return script('pluto.sh', ['up', name, conn, String(timeoutS)], (timeoutS + 10) * 1000);
  },
  /** Any whack command against `name`. */
  whack(name: string, ...args: string[]): Run {
    return script('pluto.sh', ['whack', name, ...args]);
  },
  down(name: string, conn: string): Run {
    return script('pluto.sh', ['down', name, conn]);
  },
  states(name: string): PlutoState[] {
    return parseShowStates(script('pluto.sh', ['whack', name, '--showstates']).out);
  },
  log(name: string): string {
    const f = join(RUN, `pluto-${name}`, 'pluto.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  },
  /** The last lines of pluto's log (for failure messages). */
  tail(name: string, lines = 25): string {
    return this.log(name).split('\n').slice(-lines).join('\n');
  },
  /** SIGKILL: gone without a word (no Deletes), as a crashed or cut-off peer. */
  kill(name: string): void {
    const pid = Number(readFileSync(join(RUN, `pluto-${name}`, 'pid'), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  },
  stop(name: string): void {
    script('pluto.sh', ['stop', name], 30_000);
  },
};

export function plutoSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'not root: the Libreswan interop needs network namespaces';
  if (!existsSync(join(RUN, 'libreswan/usr/libexec/ipsec/pluto'))) return 'Libreswan not unpacked (interop/install.sh runs pluto.sh install)';
  return false;
}

/**
 * The lab of a describe() of pluto cases: the namespaces up once (then `setup`), and after each
 * case our daemon (started with `ours()`) and pluto stopped; all down at the end.
 */
export class PlutoLab {
  private current: Ours | undefined;
  /** Our daemon for this case (`Ours.start`), stopped after the case. */
  async ours(name: string, ns: string, config: (sock: string) => string): Promise<Ours> {
    this.current = await Ours.start(name, ns, config);
    return this.current;
  }
  async reset(): Promise<void> {
    await this.current?.stop();
    this.current = undefined;
    pluto.stop('b');
  }
}

export function plutoLab(setup?: () => void): PlutoLab {
  const lab = new PlutoLab();
  before(() => {
    labUp();
    setup?.();
  });
  afterEach(() => lab.reset());
  after(async () => {
    await lab.reset();
    labDown();
  });
  return lab;
}

// ---------------------------------------------------------------------------------------------
// the two sides of a case: pluto's `conn ours` in isk-b, our connection `pluto` in isk-a

export const PKI = join(RUN, 'pki');
export const PSK = 'libreswan-interop-psk-secret';

/** pluto's side of one case (isk-b): a `conn ours` section; `extra` lines go inside it. */
export function plutoConn(extra: string): string {
  return `conn ours
	ikev2=no
	left=${B.ip}
	right=${A.ip}
	leftupdown=/bin/true
	auto=add
${extra
  .trim()
  .split('\n')
  .map((l) => `\t${l.trim()}`)
  .join('\n')}
`;
}

export const PLUTO_SECRETS = `${B.ip} ${A.ip} : PSK "${PSK}"
@pluto.peers.test @ours.peers.test : PSK "${PSK}"
: RSA "peer-b"
`;

/** Our side (isk-a): one connection `pluto` (YAML lines of its own in `conn`; identities in `ids`). */
export function ourConfig(conn: string, ids: { local?: string; remote?: string } = {}): (sock: string) => string {
  return (sock) => `global:
  listen: [${A.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  psk:
    psk: "${PSK}"
  cert:
    cert: ${PKI}/peer-a.crt
    key: ${PKI}/peer-a.key
    ca: [${PKI}/ca.crt]
connections:
  pluto:
    local:  { address: ${A.ip}${ids.local ? `, id: "${ids.local}"` : ''} }
    remote: { address: ${B.ip}${ids.remote ? `, id: "${ids.remote}"` : ''} }
    ipsec_mode: tunnel
    local_ts: "${A.inner}/32"
    remote_ts: "${B.inner}/32"
    start: add
${conn
  .trim()
  .split('\n')
  .map((l) => `    ${l.trim()}`)
  .join('\n')}
`;
}

export const TS = `leftsubnet=${B.inner}/32\nrightsubnet=${A.inner}/32`;

/** pluto's established IPsec SA (STATE_QUICK_I2 / _R2) of `conn ours`, once there. */
export async function plutoChild(): Promise<PlutoState | undefined> {
  return until(() => pluto.states('b').find((s) => /^STATE_QUICK_[IR]2$/.test(s.state) && s.spiIn !== undefined), 10_000);
}

/** Our IPsec SA of connection `conn` whose SPIs are pluto's crossed. */
export async function ourChild(ours: Ours, theirs: PlutoState, conn = 'pluto'): Promise<any> {
  return until(async () => (await ours.status()).ipsec.find((q: any) => q.connection === conn && q.spiIn === theirs.spiOut && q.spiOut === theirs.spiIn), 5000);
}
