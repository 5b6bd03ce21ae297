/**
 * `isakmp daemon [--config FILE] [--keylog FILE] [--log-format text|json] [--log-level LEVEL] [--check]`
 */
import { parseArgs } from 'node:util';
import { loadConfig, LOG_LEVELS, type LogLevel } from '../daemon/config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { engineConnections } from '../daemon/engine.js';
import { Logger } from '../daemon/log.js';
import { preflightNotes } from '../daemon/preflight.js';
import { loadRealEndpointFactory } from '../daemon/real-endpoint.js';
import { engineFactoryFor } from '../daemon/shards/index.js';
import { UsageError } from '../errors.js';
import { DEFAULT_CONFIG } from './control.js';
import type { Output } from './decode.js';

export async function runDaemon(argv: string[], io: Output): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        keylog: { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
        check: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    io.err(`isakmp daemon: ${(err as Error).message}`);
    return 2;
  }
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
    if (values.check === true) {
      // The engine's own check of every connection, as the daemon does when it starts.
      engineConnections(config.file, config.connections, config.global);
      io.out(`${file}: ok, ${config.connections.length} connection${config.connections.length === 1 ? '' : 's'}`);
      // file modes, defaulted identities, CRL dates: on stderr, the verdict stays the one stdout line
      for (const n of preflightNotes(config, Date.now())) io.err(`isakmp daemon: ${n.level === 'warn' ? 'warning' : 'note'}: ${n.where}: ${n.message}`);
      return 0;
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
