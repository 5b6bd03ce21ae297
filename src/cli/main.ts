#!/usr/bin/env node
/**
 * `isakmp <command>`: the command-line entry point. Sub-commands live in their own modules.
 */
import { runCli } from './run.js';

// A closed pipe (`isakmp decode … | head`) ends the output quietly, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
