/**
 * Event subscriber: logs and metrics. One log line per engine event (no secrets), the counters
 * of `status --json` and Prometheus, and the key log (only when one was asked for).
 */
import { CfgAttr, CfgType, isErrorNotify, nameOf, NotifyType } from '../constants/index.js';
import { toHex } from '../crypto/bytes.js';
import { localSelectorsOf } from '../exchange/ids.js';
import { modeName } from '../exchange/natt.js';
import type { EngineEvent } from './engine.js';
import { espKeyLogLines, ikeKeyLogLine, type KeyLog } from './keylog.js';
import type { ConnectionConfig } from './config/index.js';
import type { Logger } from './log.js';
import { dropLabel, type Counters, type ExchangeName } from './counters.js';
import { espAlgText, ikeAlgText, peerIdText, selectorText } from './status.js';

const kindName = (kind: 'isakmp' | 'ipsec'): string => (kind === 'isakmp' ? 'ISAKMP' : 'IPsec');

/**
 * One line per (peer address, cause, connection, notify) at most every this many ms; the repeats
 * are counted in the next line. The connection and the notify are part of the key: two different
 * faults with one peer (the selectors of one connection, the ESP proposal of another, both
 * PEER_REFUSED) are two lines, or the second was never named at the default level.
 */
const CAUSE_LINE_MS = 10_000;
/** Keys remembered for that (bounded: the oldest is forgotten first). */
const MAX_CAUSE_KEYS = 1024;

/**
 * Failure lines at the default level without a flood: a peer that keeps sending what we refuse
 * (or a scanner) gets one line per cause every CAUSE_LINE_MS, with the number left out since.
 */
class CauseLines {
  private readonly last = new Map<string, { at: number; skipped: number }>();
  /** Whether to log now, and how many lines were left out before this one. */
  take(key: string, now: number): { log: boolean; skipped: number } {
    const l = this.last.get(key);
    if (l !== undefined && now - l.at < CAUSE_LINE_MS) {
      l.skipped++;
      return { log: false, skipped: 0 };
    }
    const skipped = l?.skipped ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: now, skipped: 0 });
    if (this.last.size > MAX_CAUSE_KEYS) this.last.delete(this.last.keys().next().value as string);
    return { log: true, skipped };
  }
}

export class LogEvents {
  private readonly causeLines = new CauseLines();

  constructor(
    private readonly logger: Logger,
    private readonly counters: Counters,
    private readonly keylog: KeyLog | undefined,
    /** The running connections (for the DPD action in the dead-peer line). */
    private readonly connections: () => readonly ConnectionConfig[],
    /** Milliseconds, monotonic (the daemon's clock): paces the failure lines. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * A failure line (warn), unless the same peer gave the same cause (same connection, same notify)
   * a moment ago. `pacedBy` is the notify part of that key (default: the notify itself; '' paces
   * every notify of the line together).
   */
  private failureLine(message: string, peer: { address: string; port: number }, cause: string | undefined, fields: { connection?: string | undefined; notify?: string | undefined; reason: string }, pacedBy = fields.notify ?? ''): void {
    const t = this.causeLines.take(`${peer.address}|${cause ?? message}|${fields.connection ?? ''}|${pacedBy}`, this.now());
    // a repeat within the window: counted for the next warn line, and still a line at debug level
    // (no input goes without one)
    if (!t.log) this.logger.debug('ike', `${message} (repeat, warn line paced)`, { ...fields, peer: `${peer.address}:${peer.port}`, cause });
    else this.logger.warn('ike', message, { ...fields, peer: `${peer.address}:${peer.port}`, cause, repeated: t.skipped > 0 ? t.skipped : undefined });
  }

  /** The exchange a failure belongs to: Quick Mode, or the phase-1 mode of the connection. */
  private exchangeOf(kind: 'isakmp' | 'ipsec', connection: string): ExchangeName {
    if (kind === 'ipsec') return 'quick';
    return this.connections().find((c) => c.name === connection)?.exchange ?? 'main';
  }

  onEvent(e: EngineEvent): void {
    const { logger, counters, connections } = this;
    switch (e.type) {
      case 'started':
        // ours (initiations, rekeys): counted now, the outcome uses up this credit (counters.ts);
        // the peer's count their start with their outcome (a responder's phase 1 may move to
        // another connection once the peer's identity is known)
        if (e.role === 'initiator') counters.initiated(this.exchangeOf(e.kind, e.connection), e.connection);
        break;
      case 'message':
        // a retransmission is per-packet chatter (debug); every message is the trace
        // (the lines' fields are built only when their level is on: this runs for every message)
        if (e.retransmit !== undefined) {
          if (logger.enabled('ike', 'debug')) logger.debug('ike', `${e.name} retransmitted`, { connection: e.connection, peer: `${e.peer.address}:${e.peer.port}`, count: e.retransmit });
        } else if (logger.enabled('ike', 'trace')) logger.log('ike', 'trace', `${e.name} ${e.direction} [${e.payloads.join(' ')}]`, { connection: e.connection, peer: `${e.peer.address}:${e.peer.port}`, detail: e.detail });
        break;
      case 'phase1-established':
        counters.finished(e.sa.exchange, e.sa.connection, { result: 'completed' });
        if (logger.enabled('ike', 'info'))
          logger.info('ike', 'ISAKMP SA established', {
          connection: e.sa.connection,
          role: e.sa.role,
          exchange: e.sa.exchange,
          peer: `${e.sa.remote.address}:${e.sa.remote.port}`,
          peer_id: peerIdText(e.peerId),
          cookies: `${toHex(e.sa.initiatorCookie)}_i ${toHex(e.sa.responderCookie)}_r`,
          algorithms: ikeAlgText(e.transform),
          lifetime: e.lifetimeSeconds,
        });
        this.keylog?.ike(ikeKeyLogLine(e.keyLog.initiatorCookie, e.keyLog.encryptionKey));
        break;
      case 'ipsec-sa-established': {
        counters.finished('quick', e.sa.connection, { result: 'completed' });
        const sa = e.sa;
        const p = sa.protocols[0];
        if (logger.enabled('ike', 'info'))
          logger.info('ike', 'IPsec SA established', {
          connection: sa.connection,
          role: sa.role,
          spi_in: p ? toHex(p.inbound.spi) : undefined,
          spi_out: p ? toHex(p.outbound.spi) : undefined,
          ts: `${localSelectorsOf(sa).map(selectorText).join(', ')} === ${selectorText(sa.remoteTs)}`,
          algorithms: espAlgText(sa),
          mode: modeName(sa.mode),
          udp_encap: sa.udpEncapsulation === true ? true : undefined,
          peer_oa: sa.peerOriginalAddress,
          lifetime: sa.lifetimeSeconds,
          rekey_of: e.rekeyOf,
        });
        this.keylog?.esp(espKeyLogLines(sa));
        break;
      }
      case 'rekeyed':
        counters.rekeyed[e.kind]++;
        logger.info('ike', `${kindName(e.kind)} SA rekeyed`, { old: e.old, new: e.sa });
        break;
      case 'deleted':
        counters.deleted[e.kind]++;
        logger.info('ike', `${kindName(e.kind)} SA deleted`, { id: e.id, connection: e.connection, by: e.by });
        break;
      case 'expired':
        if (e.hard) counters.expired[e.kind]++;
        logger.info('ike', `${kindName(e.kind)} SA ${e.hard ? 'expired' : 'reached its soft lifetime'}`, { id: e.id, connection: e.connection });
        break;
      case 'dropped': {
        const label = dropLabel(e.notify === 0 ? undefined : nameOf(NotifyType, e.notify), e.code);
        counters.drop(label);
        // a refusal with a cause an operator can fix is a failure line; anything else is per-packet
        if (e.cause !== undefined) this.failureLine(e.cause === 'PEER_REFUSED' ? 'refused by the peer' : e.cause === 'NO_ANSWER' ? 'no answer from the peer' : 'refused', e.peer, e.cause, { connection: e.connection, notify: e.notify === 0 ? undefined : label, reason: e.reason });
        else logger.debug('ike', 'dropped datagram', { peer: `${e.peer.address}:${e.peer.port}`, notify: label, reason: e.reason });
        break;
      }
      case 'failed': {
        const notify = e.notify === 0 ? undefined : nameOf(NotifyType, e.notify);
        counters.finished(this.exchangeOf(e.kind, e.connection), e.connection, { result: 'failed', notify: notify ?? e.cause ?? 'NO_NOTIFY' });
        this.failureLine(`${e.kind === 'isakmp' ? 'phase 1' : 'Quick Mode'} failed`, e.peer, e.cause, { connection: e.connection, notify, reason: e.reason });
        break;
      }
      case 'peer-dead': {
        const c = connections().find((x) => x.name === e.connection);
        logger.warn('ike', 'DPD: peer does not answer, clearing its SAs', { sa: e.isakmpSa, connection: e.connection, peer: e.peer.address, action: c?.dpdAction ?? 'clear' });
        break;
      }
      case 'notify':
        if (e.notify === NotifyType.R_U_THERE_ACK) {
          // RFC 3706 §5.3: the engine passes on only an ACK that carries the sequence number of
          // our outstanding R-U-THERE (others are dropped as replays)
          const seq = e.data.length === 4 ? new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0) : -1;
          logger.debug('ike', 'DPD: R-U-THERE-ACK', { sa: e.isakmpSa, seq, answers: true });
          break;
        }
        // R-U-THERE answered: per-packet chatter; an error is named at warn by the failure it
        // caused or by its `peer-error` line, so its own line is debug; status notifies are info
        if (e.notify === NotifyType.R_U_THERE) logger.debug('ike', 'DPD: R-U-THERE answered', { sa: e.isakmpSa });
        else if (isErrorNotify(e.notify)) logger.debug('ike', 'error notify from peer', { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, notify: nameOf(NotifyType, e.notify) });
        else logger.info('ike', 'notify from peer', { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, notify: nameOf(NotifyType, e.notify) });
        break;
      case 'peer-error':
        // an error of the peer's that ended nothing of ours: at warn, paced with the failures the
        // peer caused (a late repeat of the refusal that failed our Quick Mode is no second
        // line); one in clear (anyone on the path can send it) is paced per peer and connection
        // whatever its notify type, so that it cannot fill the warn level
        if (e.authenticated) this.failureLine('error notify from the peer', e.peer, 'PEER_REFUSED', { connection: e.connection, notify: nameOf(NotifyType, e.notify), reason: e.reason });
        else this.failureLine('unauthenticated error notify from the peer (not acted upon)', e.peer, 'PEER_REFUSED', { connection: e.connection, notify: nameOf(NotifyType, e.notify), reason: e.reason }, '');
        break;
      case 'xauth-request':
        // the password goes to the backend only: never into a line
        logger.debug('ike', 'XAUTH: checking user', { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, connection: e.connection, user: e.user });
        break;
      case 'xauth-done':
        if (e.ok) logger.info('ike', 'XAUTH: user authenticated', { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, connection: e.connection, user: e.user });
        else logger.warn('ike', `XAUTH failed: ${e.reason}`, { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, connection: e.connection, user: e.user });
        break;
      case 'transaction':
        // attribute types only: values may be XAUTH passwords
        logger.debug('ike', e.answered ? 'transaction answered' : 'transaction from peer', {
          sa: e.isakmpSa,
          type: nameOf(CfgType, e.cfgType),
          attributes: e.attributes.map((a) => nameOf(CfgAttr, a.type)).join(','),
        });
        break;
      default:
        break;
    }
  }
}
