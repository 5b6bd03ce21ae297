/**
 * The diagram as one self-contained HTML page: the SVG inline, and beside it the tree of the
 * message last clicked (the trees travel in a JSON block, escaped so that no byte of a message
 * can end the script element). No network access, no external file.
 * @module
 */
import type { Ladder } from './model.js';
import { renderSvg, xml } from './svg.js';

/** JSON that is safe inside a <script> element. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const PAGE_STYLE = `
  body { margin: 0; font: 14px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #111; background: #fff; }
  main { display: flex; align-items: flex-start; gap: 0; }
  #diagram { flex: 0 0 auto; }
  #details { position: sticky; top: 0; flex: 1 1 auto; min-width: 360px; max-height: 100vh; overflow: auto; border-left: 1px solid #ccd; padding: 12px 16px; box-sizing: border-box; }
  #details h2 { font-size: 15px; margin: 0 0 8px; }
  #tree { font: 12px 'DejaVu Sans Mono', 'Liberation Mono', monospace; white-space: pre; margin: 0; }
  .hint { color: #555; }
`;

const SCRIPT = `
(function () {
  var trees = JSON.parse(document.getElementById('trees').textContent);
  var title = document.getElementById('tree-title');
  var pre = document.getElementById('tree');
  var selected = null;
  function show(g) {
    var t = trees[g.getAttribute('data-index')];
    if (!t) return;
    if (selected) selected.classList.remove('selected');
    selected = g;
    g.classList.add('selected');
    title.textContent = t.title;
    pre.textContent = t.lines.join('\\n');
  }
  var messages = document.querySelectorAll('g.message');
  for (var i = 0; i < messages.length; i++) {
    messages[i].setAttribute('tabindex', '0');
    messages[i].addEventListener('click', function (e) { show(e.currentTarget); });
    messages[i].addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') show(e.currentTarget); });
  }
})();
`;

/** The HTML page for `ladders`. */
export function renderHtml(ladders: readonly Ladder[], title: string): string {
  const trees: Record<number, { title: string; lines: readonly string[] }> = {};
  for (const l of ladders) {
    l.arrows.forEach((a, i) => {
      trees[a.index] = { title: `#${i + 1} ${a.step}: ${a.label}${a.frame !== undefined ? ` (frame ${a.frame})` : ''}`, lines: [...a.notes.map((n) => `# ${n}`), ...a.tree] };
    });
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${xml(`ISAKMP exchanges in ${title}`)}</title>`,
    `<style>${PAGE_STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<div id="diagram">${renderSvg(ladders, title)}</div>`,
    '<aside id="details"><h2 id="tree-title">Click a message</h2><pre id="tree" class="hint">Each arrow is one ISAKMP message; click it (or focus it and press Enter) to see every field with its RFC name here.</pre></aside>',
    '</main>',
    `<script type="application/json" id="trees">${scriptJson(trees)}</script>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
  ].join('\n') + '\n';
}
