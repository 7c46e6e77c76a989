/** Token rendering for the heatmap (DOM only through text nodes and CSSOM; shared with the webview tests). */
import { type HeatMetric, makeScale, metricValue, scalePosition, type Scale } from './colors.js';
import type { TokenOut } from '../../src/core/contract.js';
import { el } from './vscodeApi.js';

/** Colour class of a scale position: 10 steps per direction (CSS in media/preflens.css), cheap to apply. */
export function heatClass(scale: Scale, pos: number): string {
  const step = Math.round(Math.abs(pos) * 10);
  if (scale.diverging) return step === 0 ? 'h0' : pos > 0 ? `hp${step}` : `hn${step}`;
  return `hs${step}`;
}

/** CSS background of a scale position: diverging uses the positive/negative colours, sequential one colour. */
export function background(scale: Scale, pos: number): string {
  if (scale.diverging) {
    const pct = Math.round(Math.abs(pos) * 85);
    return `color-mix(in srgb, var(${pos >= 0 ? '--pl-pos' : '--pl-neg'}) ${pct}%, transparent)`;
  }
  return `color-mix(in srgb, var(--pl-seq) ${Math.round(pos * 85)}%, transparent)`;
}

export function scaleFor(responses: TokenOut[][], metric: HeatMetric, diverging: boolean): Scale {
  const vals: number[] = [];
  for (const r of responses) for (const t of r) {
    const v = metricValue(t, metric);
    if (Number.isFinite(v)) vals.push(v);
  }
  return makeScale(vals, diverging);
}

/**
 * Renders a response's tokens as spans over its text. Overlapping spans (a multi-byte character split across
 * byte-level tokens) show the character once; the other tokens of that character render as thin markers.
 */
/** Token i is the i-th element child of the container it is rendered into (no per-token attributes: speed). */
export function renderTokens(text: string, tokens: TokenOut[], metric: HeatMetric, scale: Scale): DocumentFragment {
  const f = document.createDocumentFragment();
  let shown = 0;
  tokens.forEach((t, i) => {
    const from = Math.max(t.start, shown);
    const piece = t.end > from ? text.slice(from, t.end) : '';
    const span = document.createElement('span');
    span.className = `tok ${heatClass(scale, scalePosition(scale, metricValue(t, metric)))}`;
    if (t.start === t.end && t.end === text.length && i === tokens.length - 1 && piece === '') {
      span.classList.add('eos');
      span.textContent = t.text;
    } else if (piece === '') span.classList.add('cont');
    else {
      if (piece.trim() === '') span.classList.add('ws');
      if (piece.indexOf('\n') === -1) span.textContent = piece;
      else {
        // Newlines stay real (faithful layout) and get a visible mark before them.
        piece.split('\n').forEach((p, k) => {
          if (k > 0) {
            span.append(el('span', 'nl', '↵'));
            span.append(document.createTextNode('\n'));
          }
          if (p) span.append(document.createTextNode(p));
        });
      }
    }
    shown = Math.max(shown, t.end);
    f.append(span);
  });
  if (shown < text.length) f.append(document.createTextNode(text.slice(shown)));
  return f;
}

/** A token's text with whitespace made visible, for hover cards. */
export function visibleWhitespace(s: string): string {
  return s.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/\r/g, '␍');
}
