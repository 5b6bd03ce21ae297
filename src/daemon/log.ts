/**
 * Logs: one line per record, readable text by default or JSON (`--log-format json`), with a level
 * per area. Nothing secret is ever passed here: keys go to the key log only.
 */
import type { LogArea, LogLevel } from './config/index.js';
import { escapeJsonText, escapeText } from '../text-escape.js';

const RANK: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface LoggerOptions {
  level: LogLevel;
  areas: Partial<Record<LogArea, LogLevel>>;
  format: 'text' | 'json';
  /** Where lines go (default: process.stderr). */
  write?: (line: string) => void;
  /** Wall clock for timestamps (default: new Date()). */
  clock?: () => Date;
}

function textValue(v: string | number | boolean): string {
  const s = String(v);
  // quoted (JSON escapes) unless plain; no control, C1 or bidi character passes raw (a peer's identity)
  return /^[^\s"=\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+$/.test(s) ? s : escapeJsonText(JSON.stringify(s));
}

export class Logger {
  private opts: LoggerOptions;
  constructor(opts: LoggerOptions) {
    this.opts = opts;
  }

  /** Changes levels/format (reload). */
  configure(opts: Partial<LoggerOptions>): void {
    this.opts = { ...this.opts, ...opts };
  }

  enabled(area: LogArea, level: LogLevel): boolean {
    const limit = this.opts.areas[area] ?? this.opts.level;
    return RANK[level] <= RANK[limit];
  }

  log(area: LogArea, level: LogLevel, message: string, fields: LogFields = {}): void {
    if (!this.enabled(area, level)) return;
    const time = (this.opts.clock?.() ?? new Date()).toISOString();
    let line: string;
    if (this.opts.format === 'json') {
      const rec: Record<string, unknown> = { time, level, area, msg: message };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) rec[k] = v;
      line = escapeJsonText(JSON.stringify(rec));
    } else {
      const extra = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${textValue(v as string | number | boolean)}`)
        .join(' ');
      line = `${time} ${level.toUpperCase().padEnd(5)} [${area}] ${escapeText(message)}${extra ? ' ' + extra : ''}`;
    }
    (this.opts.write ?? ((l: string) => process.stderr.write(l)))(line + '\n');
  }

  error(area: LogArea, message: string, fields?: LogFields): void {
    this.log(area, 'error', message, fields);
  }
  warn(area: LogArea, message: string, fields?: LogFields): void {
    this.log(area, 'warn', message, fields);
  }
  info(area: LogArea, message: string, fields?: LogFields): void {
    this.log(area, 'info', message, fields);
  }
  debug(area: LogArea, message: string, fields?: LogFields): void {
    this.log(area, 'debug', message, fields);
  }
}
