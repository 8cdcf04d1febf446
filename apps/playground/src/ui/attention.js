// The attention view: a query × key heat map of one layer and head over prompt + generated tokens (canvas),
// and for a sparse layer its block layout (SVG) and element mask.
import { api } from './api.js';
import { $, el, showControls } from './dom.js';
import { state } from './state.js';
import { imageField } from './image.js';

export function fillAttentionPickers(card) {
  const layer = $('#attn-layer');
  const head = $('#attn-head');
  layer.replaceChildren(
    ...card.attention.map((a, i) => el('option', { value: String(i), text: a ? `${i} (sparse: ${a.type || 'pattern'})` : `${i}` })),
  );
  head.replaceChildren(...Array.from({ length: card.nHead }, (_, i) => el('option', { value: String(i), text: String(i) })));
}

// A perceptual ramp (white → blue → dark) for probabilities in [0, 1].
const RAMP = [
  [255, 255, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];
function color(p) {
  const x = Math.max(0, Math.min(1, Math.sqrt(p))) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const c = RAMP[i].map((v, k) => Math.round(v + f * (RAMP[i + 1][k] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function label(t) {
  const s = showControls(t).replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/ /g, '·');
  return s.length > 10 ? s.slice(0, 9) + '…' : s;
}

function drawGrid(canvas, n, cell, margin, cellColor, tokens, boundary) {
  canvas.width = margin + n * cell + 4;
  canvas.height = margin + n * cell + 4;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      g.fillStyle = cellColor(q, k);
      g.fillRect(margin + k * cell, margin + q * cell, cell, cell);
    }
  }
  if (boundary > 0 && boundary < n) {
    g.strokeStyle = '#d5306b';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(margin, margin + boundary * cell);
    g.lineTo(margin + n * cell, margin + boundary * cell);
    g.moveTo(margin + boundary * cell, margin);
    g.lineTo(margin + boundary * cell, margin + n * cell);
    g.stroke();
  }
  if (tokens && cell >= 9) {
    g.fillStyle = '#1d2330';
    g.font = `${Math.min(12, cell - 1)}px ui-monospace, monospace`;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let q = 0; q < n; q++) g.fillText(tokens[q], margin - 4, margin + q * cell + cell / 2);
    for (let k = 0; k < n; k++) {
      g.save();
      g.translate(margin + k * cell + cell / 2, margin - 4);
      g.rotate(-Math.PI / 2);
      g.textAlign = 'left';
      g.fillText(tokens[k], 0, 0);
      g.restore();
    }
  }
}

export async function showAttention() {
  if (!state.model) return;
  const run = $('#attn-run').value;
  const r = state.runs[run];
  const layer = Number($('#attn-layer').value || 0);
  const head = Number($('#attn-head').value || 0);
  const body = { model: state.model.name, layer, head, ...imageField() };
  if (r && r.promptIds) {
    body.promptIds = r.promptIds;
    body.generatedIds = r.tokens.map((t) => t.token);
  } else {
    body.prompt = $('#prompt').value;
    if (!body.prompt) {
      $('#attn-info').textContent = 'type a prompt or generate first';
      return;
    }
  }
  $('#attn-info').textContent = 'computing…';
  try {
    const a = await api('/api/attention', body);
    const n = a.ids.length;
    const cell = Math.max(2, Math.min(26, Math.floor(600 / n)));
    const margin = cell >= 9 ? 80 : 4;
    const canvas = $('#attn-canvas');
    // Text tokens with their whitespace marked; an image's visual tokens (id -1, <img 0>, …) are names, shown as they are.
    const labels = a.tokens.map((t, i) => (a.ids[i] < 0 ? t : label(t)));
    drawGrid(canvas, n, cell, margin, (q, k) => (k > q ? '#f3f4f6' : color(a.probs[q][k])), labels, a.promptLength);
    canvas.dataset.rendered = `${n}x${n}`;
    canvas.onmousemove = (ev) => {
      const rect = canvas.getBoundingClientRect();
      const sx = canvas.width / rect.width;
      const k = Math.floor(((ev.clientX - rect.left) * sx - margin) / cell);
      const q = Math.floor(((ev.clientY - rect.top) * sx - margin) / cell);
      if (q >= 0 && k >= 0 && q < n && k < n) {
        $('#attn-info').textContent =
          `query ${q} ${JSON.stringify(a.tokens[q])} → key ${k} ${JSON.stringify(a.tokens[k])}: ${(a.probs[q][k] * 100).toFixed(2)}%`;
      }
    };
    $('#attn-info').textContent =
      `layer ${layer}, head ${head}: ${n} tokens (prompt ${a.promptLength}); the red lines separate prompt from generated tokens`;
    const sp = $('#attn-sparse');
    if (a.sparse) {
      sp.hidden = false;
      const bodyEl = $('#attn-sparse-body');
      bodyEl.replaceChildren(el('div', { class: 'muted', text: JSON.stringify(a.sparse.description) }));
      if (a.sparse.svg) {
        const holder = el('div');
        holder.innerHTML = a.sparse.svg;
        bodyEl.append(holder);
      }
      const pc = el('canvas', { id: 'attn-sparse-canvas' });
      const pcell = Math.max(1, Math.min(12, Math.floor(320 / n)));
      drawGrid(pc, n, pcell, 2, (q, k) => (a.sparse.mask[q][k] ? '#3057d5' : k > q ? '#f3f4f6' : '#fff'), null, 0);
      bodyEl.append(el('div', { class: 'muted', text: 'element mask (blue = attended)' }), pc);
    } else {
      sp.hidden = true;
    }
  } catch (e) {
    $('#attn-info').textContent = '';
    $('#attn-info').append(el('span', { class: 'error', text: e.message }));
  }
}
