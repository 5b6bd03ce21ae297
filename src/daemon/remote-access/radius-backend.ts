/**
 * The RADIUS XAUTH backend (docs/remote-access.md): PAP Access-Requests (RFC 2865) with
 * User-Name, User-Password, NAS-Identifier / NAS-IP-Address, NAS-Port-Type Virtual and the peer's
 * address as Calling-Station-Id, signed with a Message-Authenticator (RFC 3579). Access-Accept
 * gives Framed-IP-Address / Framed-IP-Netmask (they override the pool) and a few attributes;
 * Access-Reject gives its Reply-Message as the reason. Accounting Start/Stop (RFC 2866), when
 * asked for, goes to each server's accounting port with the Class the server gave at login.
 */
import { randomBytes } from 'node:crypto';
import { parseIpv6 } from '../../codec/identification.js';
import { UsageError } from '../../errors.js';
import { canonicalAddress } from './address-range.js';
import { noBackendLog, type BackendLog } from './backend-log.js';
import {
  ACCT_AUTHENTIC_RADIUS, ACCT_STATUS_START, ACCT_STATUS_STOP, MAX_PASSWORD, NAS_PORT_TYPE_VIRTUAL,
  RadiusAttr, RadiusCode, attributeValues, buildAccessRequest, buildAccountingRequest, text, u32,
  type RadiusAttribute, type RadiusResponse,
} from './radius-packet.js';
import { RadiusTransport, type RadiusServer } from './radius-transport.js';
import type { SessionInfo, XauthBackend, XauthRequest, XauthResult } from './types.js';

export interface RadiusBackendOptions {
  /** Tried in order; each with its shared secret (never logged). */
  readonly servers: readonly RadiusServer[];
  /** Wait for one answer (default 3000). */
  readonly timeoutMs?: number;
  /** Retransmissions per server before the next one (default 2). */
  readonly retries?: number;
  /** NAS-Identifier (default 'isakmp'). */
  readonly nasIdentifier?: string;
  /** NAS-IP-Address (IPv4), when the server keys on it. */
  readonly nasIpAddress?: string;
  /** Send Accounting Start/Stop (default false). */
  readonly accounting?: boolean;
  /** How long a server that did not answer is tried last (default 30000). */
  readonly deadTimeMs?: number;
  /** Requests in flight at once, 1..255 (default 64). */
  readonly maxOutstanding?: number;
  /**
   * Drop access responses without a Message-Authenticator (default false: servers before the
   * CVE-2024-3596 fixes, such as Debian 12's FreeRADIUS 3.2.1, do not sign them; one that is
   * present is always checked). Turn it on when every server signs its responses.
   */
  readonly requireMessageAuthenticator?: boolean;
  readonly log?: BackendLog;
}

/** Sessions remembered for accounting (start time and Class); beyond this the oldest are forgotten. */
const MAX_SESSIONS = 65_536;

function checkOptions(o: RadiusBackendOptions): void {
  const bad = (m: string): never => {
    throw new UsageError('radius', `radius: ${m}`);
  };
  if (o.servers.length === 0) bad('give at least one server');
  for (const [i, s] of o.servers.entries()) {
    const where = `server ${i + 1}`;
    if (canonicalAddress(s.address) === undefined) bad(`${where}: '${s.address}' is not an IP address (give the RADIUS server by address, not by name)`);
    for (const [k, p] of [['port', s.port], ['accounting port', s.accountingPort ?? 1]] as const) if (!Number.isInteger(p) || p < 1 || p > 65535) bad(`${where}: the ${k} must be 1..65535`);
    if (s.accountingPort === undefined && s.port === 65535) bad(`${where}: give the accounting port (port + 1 is past 65535)`);
    if (s.secret.length === 0) bad(`${where}: the shared secret is empty`);
  }
  if (o.timeoutMs !== undefined && (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 10 || o.timeoutMs > 60_000)) bad('the timeout must be 10 ms to 60 s');
  if (o.retries !== undefined && (!Number.isInteger(o.retries) || o.retries < 0 || o.retries > 10)) bad('retries must be 0..10');
  if (o.maxOutstanding !== undefined && (!Number.isInteger(o.maxOutstanding) || o.maxOutstanding < 1 || o.maxOutstanding > 255)) bad('the outstanding requests must be 1..255');
  if (o.nasIdentifier !== undefined && (o.nasIdentifier === '' || Buffer.byteLength(o.nasIdentifier) > 253)) bad('the NAS identifier must be 1 to 253 bytes');
  if (o.nasIpAddress !== undefined && (canonicalAddress(o.nasIpAddress) === undefined || o.nasIpAddress.includes(':'))) bad(`the NAS IP address '${o.nasIpAddress}' is not an IPv4 address`);
}

/** Text for a reason or an attribute: control characters as spaces, at most 200 characters. */
function cleanText(v: Uint8Array): string {
  // eslint-disable-next-line no-control-regex
  return Buffer.from(v).toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 200);
}

function ipv4Of(v: Uint8Array | undefined): string | undefined {
  return v !== undefined && v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined;
}

/** The address part of a peer written as `A`, `A:PORT` or `[A6]:PORT`. */
export function peerAddressOf(peer: string): string {
  const plain = canonicalAddress(peer);
  if (plain !== undefined) return plain;
  const m = /^\[([^\]]+)\]:\d+$/.exec(peer) ?? /^([^:]+):\d+$/.exec(peer);
  return (m !== null ? canonicalAddress(m[1]!) : undefined) ?? peer;
}

class RadiusBackend implements XauthBackend {
  readonly name = 'radius';
  private readonly transport: RadiusTransport;
  private readonly log: BackendLog;
  /** Class attributes of the last Access-Accept per user and peer address, for the next accounting Start. */
  private readonly classes = new Map<string, Uint8Array[]>();
  private readonly sessions = new Map<string, { start: number; classes: Uint8Array[] }>();

  constructor(private readonly o: RadiusBackendOptions) {
    checkOptions(o);
    this.log = o.log ?? noBackendLog;
    this.transport = new RadiusTransport({
      servers: o.servers.map((s) => ({ ...s, address: canonicalAddress(s.address)! })),
      timeoutMs: o.timeoutMs ?? 3000,
      retries: o.retries ?? 2,
      deadTimeMs: o.deadTimeMs ?? 30_000,
      maxOutstanding: o.maxOutstanding ?? 64,
      requireMessageAuthenticator: o.requireMessageAuthenticator ?? false,
      log: this.log,
    });
  }

  private nasAttributes(): RadiusAttribute[] {
    const a: RadiusAttribute[] = [{ type: RadiusAttr.NAS_IDENTIFIER, value: text(this.o.nasIdentifier ?? 'isakmp') }];
    if (this.o.nasIpAddress !== undefined) a.push({ type: RadiusAttr.NAS_IP_ADDRESS, value: Uint8Array.from(canonicalAddress(this.o.nasIpAddress)!.split('.').map(Number)) });
    a.push({ type: RadiusAttr.NAS_PORT_TYPE, value: u32(NAS_PORT_TYPE_VIRTUAL) });
    return a;
  }

  async authenticate(req: XauthRequest): Promise<XauthResult> {
    const fail = (reason: string): XauthResult => ({ ok: false, reason, backend: this.name });
    const user = text(req.user);
    const password = text(req.password);
    if (user.length === 0 || user.length > 253) return fail('the user name must be 1 to 253 bytes for RADIUS');
    if (password.length > MAX_PASSWORD) return fail(`the password is longer than ${MAX_PASSWORD} bytes, the most RADIUS can carry`);
    const peer = canonicalAddress(req.peer.address) ?? req.peer.address;
    const attrs: RadiusAttribute[] = [
      { type: RadiusAttr.USER_NAME, value: user },
      ...this.nasAttributes(),
      { type: RadiusAttr.CALLING_STATION_ID, value: text(peer) },
    ];
    const out = await this.transport.request('auth', [RadiusCode.ACCESS_ACCEPT, RadiusCode.ACCESS_REJECT, RadiusCode.ACCESS_CHALLENGE], (server, id) => {
      const authenticator = randomBytes(16);
      return { authenticator, packet: buildAccessRequest(id, authenticator, server.secret, password, attrs) };
    });
    if (!out.ok) return fail(out.reason);
    const r = out.response;
    const reply = attributeValues(r, RadiusAttr.REPLY_MESSAGE).map(cleanText).filter((s) => s !== '').join(' ');
    if (r.code === RadiusCode.ACCESS_REJECT) return fail(`rejected by RADIUS server ${out.server}${reply !== '' ? `: ${reply}` : ''}`);
    if (r.code === RadiusCode.ACCESS_CHALLENGE) return fail(`RADIUS server ${out.server} sent an Access-Challenge${reply !== '' ? ` (${reply})` : ''}, which XAUTH with a plain password cannot answer: configure the server to accept or reject PAP for these users`);
    this.rememberClass(`${req.user}\u0000${peer}`, attributeValues(r, RadiusAttr.CLASS));
    return { ok: true, backend: this.name, ...this.acceptFields(r, out.server, reply) };
  }

  private acceptFields(r: RadiusResponse, server: string, reply: string): { framedIp?: string; framedNetmask?: string; attributes: Record<string, string> } {
    const attributes: Record<string, string> = { server };
    if (reply !== '') attributes['reply-message'] = reply;
    const num = (t: number): number | undefined => {
      const v = attributeValues(r, t)[0];
      return v !== undefined && v.length === 4 ? Buffer.from(v).readUInt32BE(0) : undefined;
    };
    const st = num(RadiusAttr.SESSION_TIMEOUT);
    if (st !== undefined) attributes['session-timeout'] = String(st);
    const it = num(RadiusAttr.IDLE_TIMEOUT);
    if (it !== undefined) attributes['idle-timeout'] = String(it);
    const filter = attributeValues(r, RadiusAttr.FILTER_ID).map(cleanText).filter((s) => s !== '');
    if (filter.length > 0) attributes['filter-id'] = filter.join(',');
    // RFC 2865 §5.8: 255.255.255.255 lets the user choose, 255.255.255.254 the NAS: the pool decides
    const ip = ipv4Of(attributeValues(r, RadiusAttr.FRAMED_IP_ADDRESS)[0]);
    const framedIp = ip !== undefined && ip !== '255.255.255.255' && ip !== '255.255.255.254' ? ip : undefined;
    const framedNetmask = ipv4Of(attributeValues(r, RadiusAttr.FRAMED_IP_NETMASK)[0]);
    return { ...(framedIp !== undefined ? { framedIp } : {}), ...(framedNetmask !== undefined ? { framedNetmask } : {}), attributes };
  }

  private rememberClass(key: string, classes: Uint8Array[]): void {
    if (!this.o.accounting) return;
    this.classes.delete(key);
    this.classes.set(key, classes.map((c) => Uint8Array.from(c)));
    if (this.classes.size > MAX_SESSIONS) this.classes.delete(this.classes.keys().next().value!);
  }

  private account(status: number, s: SessionInfo, extra: RadiusAttribute[], classes: readonly Uint8Array[]): void {
    const peer = peerAddressOf(s.peer);
    const attrs: RadiusAttribute[] = [
      { type: RadiusAttr.ACCT_STATUS_TYPE, value: u32(status) },
      { type: RadiusAttr.ACCT_SESSION_ID, value: text(s.sessionId) },
      { type: RadiusAttr.USER_NAME, value: text(s.user) },
      ...this.nasAttributes(),
      { type: RadiusAttr.CALLING_STATION_ID, value: text(peer) },
      { type: RadiusAttr.ACCT_AUTHENTIC, value: u32(ACCT_AUTHENTIC_RADIUS) },
      { type: RadiusAttr.EVENT_TIMESTAMP, value: u32(Math.floor(Date.now() / 1000)) },
      ...classes.map((value) => ({ type: RadiusAttr.CLASS, value })),
      ...extra,
    ];
    const address = s.address !== undefined ? canonicalAddress(s.address) : undefined;
    if (address !== undefined && !address.includes(':')) attrs.push({ type: RadiusAttr.FRAMED_IP_ADDRESS, value: Uint8Array.from(address.split('.').map(Number)) });
    const v6 = address !== undefined && address.includes(':') ? parseIpv6(address) : undefined;
    if (v6 !== undefined) attrs.push({ type: RadiusAttr.FRAMED_IPV6_ADDRESS, value: v6 });
    const what = status === ACCT_STATUS_START ? 'Start' : 'Stop';
    void this.transport
      .request('acct', [RadiusCode.ACCOUNTING_RESPONSE], (server, id) => {
        const packet = buildAccountingRequest(id, server.secret, attrs);
        return { packet, authenticator: packet.subarray(4, 20) };
      })
      .then((out) => {
        if (out.ok) this.log('debug', `RADIUS accounting ${what} for session ${s.sessionId} (user ${s.user}) recorded by ${out.server}`);
        else this.log('warn', `RADIUS accounting ${what} for session ${s.sessionId} (user ${s.user}) not recorded: ${out.reason}`);
      });
  }

  accountingStart(s: SessionInfo): void {
    if (!this.o.accounting) return;
    const key = `${s.user}\u0000${peerAddressOf(s.peer)}`;
    const classes = this.classes.get(key) ?? [];
    this.classes.delete(key);
    this.sessions.delete(s.sessionId);
    this.sessions.set(s.sessionId, { start: Date.now(), classes });
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.account(ACCT_STATUS_START, s, [], classes);
  }

  accountingStop(s: SessionInfo & { readonly bytesIn?: number; readonly bytesOut?: number }): void {
    if (!this.o.accounting) return;
    const session = this.sessions.get(s.sessionId);
    this.sessions.delete(s.sessionId);
    const extra: RadiusAttribute[] = [];
    if (session !== undefined) extra.push({ type: RadiusAttr.ACCT_SESSION_TIME, value: u32(Math.max(0, Math.floor((Date.now() - session.start) / 1000))) });
    const octets = (n: number | undefined, low: number, high: number): void => {
      if (n === undefined || !Number.isFinite(n) || n < 0) return;
      extra.push({ type: low, value: u32(n % 2 ** 32) });
      if (n >= 2 ** 32) extra.push({ type: high, value: u32(Math.floor(n / 2 ** 32)) });
    };
    octets(s.bytesIn, RadiusAttr.ACCT_INPUT_OCTETS, RadiusAttr.ACCT_INPUT_GIGAWORDS);
    octets(s.bytesOut, RadiusAttr.ACCT_OUTPUT_OCTETS, RadiusAttr.ACCT_OUTPUT_GIGAWORDS);
    this.account(ACCT_STATUS_STOP, s, extra, session?.classes ?? []);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/**
 * The RADIUS backend. Throws a `UsageError` when an option is wrong (a server given by name, an
 * empty secret, a port out of range). The backend's `name` is `radius`.
 */
export function createRadiusBackend(opts: RadiusBackendOptions): XauthBackend {
  return new RadiusBackend(opts);
}
