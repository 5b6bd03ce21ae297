/**
 * `isakmp daemon [--config FILE] [--keylog FILE] [--log-format text|json] [--log-level LEVEL] [--check]`
 */
import { loadConfig, LOG_LEVELS, type LogLevel } from '../daemon/config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { engineConnections } from '../daemon/engine.js';
import { Logger } from '../daemon/log.js';
import { preflightNotes, type PreflightNote } from '../daemon/preflight.js';
import { loadRealEndpointFactory } from '../daemon/real-endpoint.js';
import { engineFactoryFor } from '../daemon/shards/index.js';
import { UsageError } from '../errors.js';
import { flagOption, stringOption, type ParsedArgs } from './args.js';
import { DEFAULT_CONFIG } from './control.js';
import type { Output } from './decode.js';

export async function runDaemon(args: ParsedArgs, io: Output): Promise<number> {
  const values = {
    config: stringOption(args, 'config'),
    keylog: stringOption(args, 'keylog'),
    'log-format': stringOption(args, 'log-format'),
    'log-level': stringOption(args, 'log-level'),
    check: flagOption(args, 'check'),
  };
  const format = values['log-format'];
  if (format !== undefined && format !== 'text' && format !== 'json') {
    io.err(`isakmp daemon: --log-format is text or json, not '${format}'`);
    return 2;
  }
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    io.err(`isakmp daemon: --log-level is one of ${LOG_LEVELS.join(', ')}`);
    return 2;
  }
  const file = values.config ?? DEFAULT_CONFIG;
  try {
    const config = loadConfig(file);
    const noteLine = (n: PreflightNote): string => `isakmp daemon: ${n.level === 'warn' ? 'warning' : n.level === 'error' ? 'error' : 'note'}: ${n.where}: ${n.message}`;
    if (values.check === true) {
      // The engine's own check of every connection, as the daemon does when it starts.
      engineConnections(config.file, config.connections, config.global);
      // the files it names, file modes, weak PSKs let through, defaulted identities, CRL dates
      const notes = preflightNotes(config, Date.now(), undefined, { keylog: values.keylog ?? config.global.keylog });
      const errors = notes.filter((n) => n.level === 'error');
      if (errors.length > 0) {
        for (const n of notes) io.err(noteLine(n));
        return 1;
      }
      io.out(`${file}: ok, ${config.connections.length} connection${config.connections.length === 1 ? '' : 's'}`);
      // on stderr: the verdict stays the one stdout line
      for (const n of notes) io.err(noteLine(n));
      return 0;
    }
    // what --check calls an error stops the start too (the key log is checked when it is opened)
    const errors = preflightNotes(config, Date.now()).filter((n) => n.level === 'error');
    if (errors.length > 0) {
      for (const n of errors) io.err(noteLine(n));
      return 1;
    }
    const g = config.global.log;
    const logger = new Logger({ level: (level as LogLevel | undefined) ?? g.level, areas: level !== undefined ? {} : { ...g.areas }, format: format ?? g.format });
    const daemon = new Daemon({
      config,
      configPath: file,
      endpointFactory: engineFactoryFor(config, await loadRealEndpointFactory()),
      logger,
      logOverride: { ...(format !== undefined ? { format } : {}), ...(level !== undefined ? { level: level as LogLevel } : {}) },
      ...(values.keylog !== undefined ? { keylog: values.keylog } : {}),
    });
    await daemon.start();
    daemon.installSignalHandlers();
    // Runs until a signal stops it.
    await new Promise<never>(() => {});
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      // Config errors may span several lines (one per problem): print them all.
      for (const l of err.message.split('\n')) io.err(`isakmp daemon: ${l}`);
      return 1;
    }
    io.err(`isakmp daemon: ${(err as Error).message}`);
    return 1;
  }
}
