/**
 * `isakmp import swanctl|ipsec.conf|cisco FILE`: prints an isakmp configuration.
 * @module
 */
import type { ParsedArgs } from './args.js';
import type { Output } from './decode.js';

export async function runImport(args: ParsedArgs, io: Output): Promise<number> {
  io.err(`isakmp import: ${args.positionals[0]}: not implemented yet`);
  return 1;
}
