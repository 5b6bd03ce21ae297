/**
 * Draws ladders (model.ts) as one SVG document: per ISAKMP SA a header with the two lanes
 * (initiator, responder: addresses and cookies), lifelines, and one arrow per message with its
 * RFC 2409 label above and notes below; time runs down the left axis. Encrypted messages carry a
 * padlock and are blue, retransmissions are dashed, notifies orange, failing messages red.
 * Every text from the network is escaped. Pure: ladders in, a string out.
 * @module
 */
import type { Arrow, Ladder } from './model.js';

export const WIDTH = 980;
const AXIS_X = 78;
const LANE_I = 270;
const LANE_R = 800;
const HEADER_H = 96;
const LABEL_MAX = 78;

/** Escapes text for XML content and attribute values. */
export function xml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
    // characters XML 1.0 does not allow at all
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Characters of note text that fit between the lanes. */
const NOTE_WIDTH = 96;

/** Splits `s` at spaces into lines of at most `n` characters (a longer word is clipped). */
function wrapText(s: string, n: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of s.split(' ')) {
    if (line.length > 0 && line.length + 1 + w.length > n) {
      out.push(line);
      line = '';
    }
    line = line.length > 0 ? `${line} ${w}` : clip(w, n);
  }
  if (line.length > 0) out.push(line);
  return out;
}

/** Vertical gap before a message that came `dt` seconds after the previous one (log-compressed). */
export function timeGap(dt: number): number {
  if (!(dt > 0)) return 0;
  return Math.min(64, Math.round(14 * Math.log10(1 + dt * 1000)));
}

const fmtTime = (t: number): string => `+${t.toFixed(t < 1000 ? 3 : 1)} s`;

export const STYLE = `
  .title { font: bold 16px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; fill: #111; }
  .subtitle, .legend { font: 12px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; fill: #444; }
  .lane-role { font: bold 14px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; fill: #111; }
  .lane-addr, .lane-cookie { font: 12px 'DejaVu Sans Mono', 'Liberation Mono', monospace; fill: #333; }
  .lane-box { fill: #f4f6fa; stroke: #8a94a6; }
  .lifeline { stroke: #b8c0cc; stroke-width: 2; }
  .axis { stroke: #8a94a6; stroke-width: 1; }
  .time { font: 11px 'DejaVu Sans Mono', 'Liberation Mono', monospace; fill: #555; text-anchor: end; }
  .label { font: 13px 'DejaVu Sans Mono', 'Liberation Mono', monospace; fill: #222; text-anchor: middle; }
  .note { font: 11px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; fill: #555; text-anchor: middle; }
  .step { font: bold 11px 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; fill: #555; }
  .message line { stroke: #333; stroke-width: 2; }
  .message polygon { fill: #333; }
  .message.encrypted line { stroke: #1f5fbf; }
  .message.encrypted polygon, .lock { fill: #1f5fbf; }
  .message.encrypted .label { fill: #16448a; }
  .message.retransmission line { stroke-dasharray: 7 5; }
  .message.notify line { stroke: #d97b00; }
  .message.notify polygon { fill: #d97b00; }
  .message.failing line { stroke: #c62828; stroke-width: 3.5; }
  .message.failing polygon { fill: #c62828; }
  .message.failing .label, .message.failing .note { fill: #b71c1c; font-weight: bold; }
  .message .hit { fill: transparent; cursor: pointer; }
  .message:hover .hit, .message.selected .hit { fill: rgba(31, 95, 191, 0.08); }
`;

/** A small padlock drawn at (x, y) (bottom left), for encrypted messages. */
function lock(x: number, y: number): string {
  return `<g class="lock-glyph"><path d="M${x + 2} ${y - 7} v-3 a3 3 0 0 1 6 0 v3" fill="none" stroke="#1f5fbf" stroke-width="1.6"/><rect class="lock" x="${x}" y="${y - 7}" width="10" height="8" rx="1.5"/></g>`;
}

function arrowSvg(a: Arrow, y: number, n: number): { svg: string; height: number } {
  const classes = ['message', a.encrypted ? 'encrypted' : '', a.decrypted ? 'decrypted' : '', a.retransmissionOf !== undefined ? 'retransmission' : '', a.notifies.length > 0 ? 'notify' : '', a.failing ? 'failing' : ''].filter(Boolean).join(' ');
  const [x1, x2] = a.direction === 'i2r' ? [LANE_I, LANE_R] : [LANE_R, LANE_I];
  const head = a.direction === 'i2r' ? -12 : 12;
  const label = clip(a.label, LABEL_MAX);
  const mid = (LANE_I + LANE_R) / 2;
  const approxWidth = label.length * 7.8;
  const parts: string[] = [];
  const tip = [`#${n} ${a.step} (${a.exchange}, message ID 0x${a.messageId.toString(16).padStart(8, '0')}${a.frame !== undefined ? `, frame ${a.frame}` : ''}, ${a.bytes} bytes)`, a.label, ...a.notes].join('\n');
  parts.push(`<g class="${classes}" data-index="${a.index}"${a.frame !== undefined ? ` data-frame="${a.frame}"` : ''} data-step="${xml(a.step)}">`);
  parts.push(`<title>${xml(tip)}</title>`);
  const notes = a.notes.flatMap((t) => wrapText(t, NOTE_WIDTH)).slice(0, 5);
  const height = 34 + notes.length * 14;
  parts.push(`<rect class="hit" x="${AXIS_X + 4}" y="${y - 24}" width="${WIDTH - AXIS_X - 16}" height="${height}"/>`);
  parts.push(`<text class="time" x="${AXIS_X - 8}" y="${y + 4}">${fmtTime(a.time)}</text>`);
  parts.push(`<line class="tick" x1="${AXIS_X - 4}" y1="${y}" x2="${AXIS_X + 4}" y2="${y}" stroke="#8a94a6"/>`);
  parts.push(`<text class="step" x="${a.direction === 'i2r' ? LANE_I - 16 : LANE_R + 16}" y="${y + 4}" text-anchor="${a.direction === 'i2r' ? 'end' : 'start'}">#${n} ${xml(a.step)}</text>`);
  parts.push(`<line x1="${x1}" y1="${y}" x2="${x2 + head}" y2="${y}"/>`);
  parts.push(`<polygon points="${x2},${y} ${x2 + head},${y - 6} ${x2 + head},${y + 6}"/>`);
  if (a.encrypted) parts.push(lock(Math.round(mid - approxWidth / 2 - 18), y - 8));
  parts.push(`<text class="label" x="${mid}" y="${y - 8}">${xml(label)}</text>`);
  notes.forEach((t, i) => parts.push(`<text class="note" x="${mid}" y="${y + 16 + i * 14}">${xml(t)}</text>`));
  parts.push('</g>');
  return { svg: parts.join(''), height };
}

function ladderSvg(l: Ladder, top: number, n: number): { svg: string; height: number } {
  const parts: string[] = [];
  parts.push(`<g class="ladder" id="sa-${n}" data-initiator-cookie="${xml(l.initiatorCookie)}" data-responder-cookie="${xml(l.responderCookie)}" transform="translate(0 ${top})">`);
  parts.push(`<text class="title" x="20" y="22">ISAKMP SA ${n}: ${xml(l.initiatorCookie)} / ${xml(l.responderCookie)}</text>`);
  parts.push(`<text class="subtitle" x="20" y="40">${xml(clip(l.summary + (l.rolesGuessed ? ' (the capture starts after the first message: roles guessed)' : ''), 140))}</text>`);
  for (const lane of [l.initiator, l.responder]) {
    const x = lane.role === 'Initiator' ? LANE_I : LANE_R;
    const ends = lane.endpoints.length > 0 ? lane.endpoints.join(', ') : '(address not known)';
    parts.push(`<g class="lane ${lane.role.toLowerCase()}">`);
    parts.push(`<rect class="lane-box" x="${x - 130}" y="50" width="260" height="${HEADER_H - 44}" rx="6"/>`);
    parts.push(`<text class="lane-role" x="${x}" y="67" text-anchor="middle">${lane.role}</text>`);
    parts.push(`<text class="lane-addr" x="${x}" y="82" text-anchor="middle">${xml(clip(ends, 36))}</text>`);
    parts.push(`<text class="lane-cookie" x="${x}" y="96" text-anchor="middle">CKY-${lane.role === 'Initiator' ? 'I' : 'R'} ${xml(lane.cookie)}</text>`);
    parts.push('</g>');
  }
  let y = HEADER_H + 40;
  let prevT = l.arrows[0]?.time ?? 0;
  const rows: string[] = [];
  l.arrows.forEach((a, i) => {
    y += timeGap(a.time - prevT);
    prevT = a.time;
    const r = arrowSvg(a, y, i + 1);
    rows.push(r.svg);
    y += r.height + 16;
  });
  const bottom = y - 10;
  parts.push(`<line class="lifeline" x1="${LANE_I}" y1="${HEADER_H + 6}" x2="${LANE_I}" y2="${bottom}"/>`);
  parts.push(`<line class="lifeline" x1="${LANE_R}" y1="${HEADER_H + 6}" x2="${LANE_R}" y2="${bottom}"/>`);
  parts.push(`<line class="axis" x1="${AXIS_X}" y1="${HEADER_H + 16}" x2="${AXIS_X}" y2="${bottom}"/>`);
  parts.push(`<text class="legend" x="${AXIS_X - 8}" y="${HEADER_H + 12}" text-anchor="end">time</text>`);
  parts.push(...rows);
  parts.push('</g>');
  return { svg: parts.join('\n'), height: bottom + 30 };
}

function legend(y: number): string {
  const items: string[] = [];
  let x = 20;
  const add = (cls: string, text: string, dashed = false): void => {
    items.push(`<g class="legend-item ${cls}"><line x1="${x}" y1="${y}" x2="${x + 34}" y2="${y}" stroke-width="${cls === 'failing' ? 3.5 : 2}"${dashed ? ' stroke-dasharray="7 5"' : ''} stroke="${{ plain: '#333', encrypted: '#1f5fbf', retransmission: '#333', notify: '#d97b00', failing: '#c62828' }[cls]}"/><text class="legend" x="${x + 40}" y="${y + 4}">${text}</text></g>`);
    x += 48 + text.length * 6.6;
  };
  add('plain', 'clear text (HDR)');
  add('encrypted', 'encrypted (HDR*)');
  add('retransmission', 'retransmission', true);
  add('notify', 'notify');
  add('failing', 'failing message');
  return items.join('');
}

/** The whole SVG document for `ladders`; `title` names the input. */
export function renderSvg(ladders: readonly Ladder[], title: string): string {
  const blocks: string[] = [];
  let y = 74;
  ladders.forEach((l, i) => {
    const r = ladderSvg(l, y, i + 1);
    blocks.push(r.svg);
    y += r.height + 20;
  });
  if (ladders.length === 0) {
    blocks.push(`<text class="subtitle" x="20" y="${y + 20}">no ISAKMP message in the input</text>`);
    y += 40;
  }
  const height = Math.ceil(y);
  const head = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="diagram-title">`,
    `<title id="diagram-title">${xml(`ISAKMP exchanges in ${title}`)}</title>`,
    `<style>${STYLE}</style>`,
    `<rect class="background" x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text class="title" x="20" y="26">ISAKMP exchanges in ${xml(clip(title, 80))}: ${ladders.length} ISAKMP SA${ladders.length === 1 ? '' : 's'}, ${ladders.reduce((s, l) => s + l.arrows.length, 0)} messages</text>`,
    `<g class="legend-bar">${legend(50)}</g>`,
  ];
  return [...head, ...blocks, '</svg>'].join('\n') + '\n';
}
