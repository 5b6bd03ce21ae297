/**
 * Event subscriber: logs and metrics. One log line per engine event (no secrets), the counters
 * of `status --json` and Prometheus, and the key log (only when one was asked for).
 */
import { nameOf, NotifyType } from '../constants/index.js';
import { toHex } from '../crypto/bytes.js';
import { modeName } from '../exchange/natt.js';
import type { EngineEvent } from './engine.js';
import { espKeyLogLines, ikeKeyLogLine, type KeyLog } from './keylog.js';
import type { ConnectionConfig } from './config/index.js';
import type { Logger } from './log.js';
import { dropLabel, type Counters } from './metrics.js';
import { espAlgText, ikeAlgText, peerIdText, selectorText } from './status.js';

const kindName = (kind: 'isakmp' | 'ipsec'): string => (kind === 'isakmp' ? 'ISAKMP' : 'IPsec');

export class LogEvents {
  constructor(
    private readonly logger: Logger,
    private readonly counters: Counters,
    private readonly keylog: KeyLog | undefined,
    /** The running connections (for the DPD action in the dead-peer line). */
    private readonly connections: () => readonly ConnectionConfig[],
  ) {}

  onEvent(e: EngineEvent): void {
    const { logger, counters, connections } = this;
    switch (e.type) {
      case 'phase1-established':
        counters.completed.isakmp++;
        if (e.sa.role === 'responder') counters.started.isakmp++;
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
        counters.completed.ipsec++;
        if (e.sa.role === 'responder') counters.started.ipsec++;
        const sa = e.sa;
        const p = sa.protocols[0];
        logger.info('ike', 'IPsec SA established', {
          connection: sa.connection,
          role: sa.role,
          spi_in: p ? toHex(p.inbound.spi) : undefined,
          spi_out: p ? toHex(p.outbound.spi) : undefined,
          ts: `${selectorText(sa.localTs)} === ${selectorText(sa.remoteTs)}`,
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
        logger.debug('ike', 'dropped datagram', { peer: `${e.peer.address}:${e.peer.port}`, notify: label, reason: e.reason });
        break;
      }
      case 'failed': {
        const notify = e.notify === 0 ? undefined : nameOf(NotifyType, e.notify);
        counters.fail(e.kind, notify ?? 'NO_NOTIFY');
        logger.warn('ike', `${e.kind === 'isakmp' ? 'phase 1' : 'Quick Mode'} failed`, {
          connection: e.connection,
          peer: `${e.peer.address}:${e.peer.port}`,
          notify,
          reason: e.reason,
        });
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
        logger.info('ike', 'notify from peer', { peer: `${e.peer.address}:${e.peer.port}`, sa: e.isakmpSa, notify: nameOf(NotifyType, e.notify) });
        break;
      default:
        break;
    }
  }
}
