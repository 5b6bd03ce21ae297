#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * `isakmp <command>`: the command-line entry point. Sub-commands live in their own modules.
 *
 * The first line runs node with a young generation of at most 8 MiB per semi-space (V8's default
 * grows it to 16): under a flood of first messages the daemon allocates fast, and the larger young
 * generation added 20–40 MiB of RSS for no gain in the engine's rate (docs/performance.md, "Memory
 * under a flood"). `env -S` splits the line (GNU coreutils 8.30 and later, BSD and macOS).
 */
import { runCli } from './run.js';

// A closed pipe (`isakmp decode … | head`) ends the output quietly, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
