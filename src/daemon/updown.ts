/**
 * The updown hook: a configured script run when an IPsec SA comes up or goes down, with the SA
 * described in environment variables (never keys). Runs are serialised and bounded: a script that
 * hangs is killed after `timeoutMs`.
 *
 *   ISAKMP_EVENT        up | down
 *   ISAKMP_REASON       established | deleted-local | deleted-peer | expired | shutdown
 *   ISAKMP_CONNECTION   connection name
 *   ISAKMP_ROLE         initiator | responder
 *   ISAKMP_LOCAL_ADDR / ISAKMP_REMOTE_ADDR     IKE addresses
 *   ISAKMP_LOCAL_TS   / ISAKMP_REMOTE_TS       selectors, ADDR/PREFIX or START-END (local: several,
 *                                              space-separated, when the SA carries several: a
 *                                              Unity client's SA on a gateway with several local_ts)
 *   ISAKMP_PROTOCOL     esp | ah
 *   ISAKMP_MODE         tunnel | transport
 *   ISAKMP_SPI_IN / ISAKMP_SPI_OUT            hex, 8 digits
 *   ISAKMP_SA_ID        the SA id shown by `isakmp status`
 */
import { spawn } from 'node:child_process';
import { toHex } from '../crypto/bytes.js';
import type { IpsecSaInfo, Selector } from './engine.js';
import { localSelectorsOf } from '../exchange/ids.js';
import { modeName } from '../exchange/natt.js';

export type UpdownReason = 'established' | 'deleted-local' | 'deleted-peer' | 'expired' | 'shutdown';

function selText(s: Selector): string {
  const base = s.prefix !== undefined ? `${s.start}/${s.prefix}` : s.start === s.end ? s.start : `${s.start}-${s.end}`;
  return s.protocol !== 0 ? `${base}[${s.protocol}${s.port !== 0 ? '/' + s.port : ''}]` : base;
}

export function updownEnv(event: 'up' | 'down', reason: UpdownReason, sa: IpsecSaInfo): Record<string, string> {
  const p = sa.protocols[0];
  return {
    ISAKMP_EVENT: event,
    ISAKMP_REASON: reason,
    ISAKMP_CONNECTION: sa.connection,
    ISAKMP_ROLE: sa.role,
    ISAKMP_LOCAL_ADDR: sa.local.address,
    ISAKMP_REMOTE_ADDR: sa.remote.address,
    ISAKMP_LOCAL_TS: localSelectorsOf(sa).map(selText).join(' '),
    ISAKMP_REMOTE_TS: selText(sa.remoteTs),
    ISAKMP_PROTOCOL: p?.protocol === 2 ? 'ah' : 'esp',
    ISAKMP_MODE: modeName(sa.mode),
    ISAKMP_SPI_IN: p ? toHex(p.inbound.spi) : '',
    ISAKMP_SPI_OUT: p ? toHex(p.outbound.spi) : '',
    ISAKMP_SA_ID: sa.id,
  };
}

export class Updown {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    readonly script: string,
    private readonly log: (level: 'info' | 'warn', message: string) => void,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Queues one run; resolves when it finished (or was killed). */
  run(event: 'up' | 'down', reason: UpdownReason, sa: IpsecSaInfo): Promise<void> {
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...updownEnv(event, reason, sa) };
    const job = (): Promise<void> =>
      new Promise((resolve) => {
        const child = spawn(this.script, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (d: string) => {
          if (stderr.length < 2048) stderr += d;
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          this.log('warn', `updown ${this.script} ${event} ${sa.connection}: killed after ${this.timeoutMs} ms`);
        }, this.timeoutMs);
        child.on('error', (err) => {
          clearTimeout(timer);
          this.log('warn', `updown ${this.script}: cannot run: ${err.message}`);
          resolve();
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          if (code !== 0) this.log('warn', `updown ${this.script} ${event} ${sa.connection}: exit ${code ?? signal}${stderr ? ': ' + stderr.trim().split('\n')[0] : ''}`);
          else this.log('info', `updown ${event} ${sa.connection} ${sa.id}: ok`);
          resolve();
        });
      });
    this.chain = this.chain.then(job);
    return this.chain;
  }

  /** Resolves when every queued run finished. */
  idle(): Promise<void> {
    return this.chain;
  }
}
