/**
 * `isakmp decode --diagram TARGET`: builds the ladders of the decoded input and writes them as
 * SVG (TARGET.svg, or - for standard output) or as an HTML page (TARGET.html / .htm).
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { DecodedItem } from './decode-pipeline.js';
import type { Output } from './decode.js';
import { renderHtml } from './diagram/html.js';
import { buildLadders } from './diagram/model.js';
import { renderSvg } from './diagram/svg.js';

export interface DiagramOptions {
  /** The input's name, for the title. */
  readonly title: string;
  /** A key log was given (the summary says so). */
  readonly keylog: boolean;
}

/** Writes the diagram; returns 0, or 1 with one line on stderr when the file cannot be written. */
export function writeDiagram(decoded: readonly DecodedItem[], target: string, io: Output, opts: DiagramOptions): number {
  const ladders = buildLadders(decoded);
  const html = /\.html?$/i.test(target);
  const text = html ? renderHtml(ladders, opts.title) : renderSvg(ladders, opts.title);
  if (target === '-') {
    io.out(text.trimEnd());
    return 0;
  }
  try {
    writeFileSync(target, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.err(`isakmp decode: cannot write the diagram to ${target}: ${code === 'ENOENT' ? 'no such folder' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code ?? String(e)}`);
    return 1;
  }
  const encrypted = decoded.filter((d) => d.encrypted).length;
  const undecrypted = decoded.filter((d) => d.encrypted && !d.decrypted).length;
  io.err(`isakmp decode: wrote ${html ? 'HTML' : 'SVG'} diagram ${target}: ${ladders.length} ISAKMP SA${ladders.length === 1 ? '' : 's'}, ${decoded.length} messages${encrypted > 0 ? `, ${encrypted} encrypted${undecrypted > 0 ? ` (${undecrypted} not decrypted${opts.keylog ? '' : ': give --keylog'})` : ''}` : ''}`);
  return 0;
}
