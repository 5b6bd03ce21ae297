#!/usr/bin/env node
/**
 * `isakmp <command>`: the command-line entry point. Sub-commands live in their own modules.
 */
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2));
