// gptlab playground UI: plain browser JavaScript, no build step, talks to /api/*.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = {
  model: null, // model card
  runs: { a: null, b: null }, // { promptIds, promptTokens, tokens: [{token,text,logprob}], alternatives, done }
  controllers: [],
};

const STRATEGIES = {
  greedy: { label: 'greedy', show: [] },
  beam: { label: 'beam search', show: ['numBeams', 'lengthPenalty'] },
  sample: { label: 'sampling (all filters)', show: ['temperature', 'topK', 'topP', 'minP', 'typicalP'] },
  'top-k': { label: 'top-k sampling', show: ['temperature', 'topK'] },
  'top-p': { label: 'top-p (nucleus) sampling', show: ['temperature', 'topP'] },
  'min-p': { label: 'min-p sampling', show: ['temperature', 'minP'] },
  typical: { label: 'typical sampling', show: ['temperature', 'typicalP'] },
};
const FIELDS = [
  // name, label, default, step, min, max, group
  ['numBeams', 'Beams', 4, 1, 1, 16, 'search'],
  ['lengthPenalty', 'Length penalty α', 0.6, 0.1, -5, 5, 'search'],
  ['temperature', 'Temperature', 0.8, 0.05, 0.05, 5, 'search'],
  ['topK', 'Top-k', 40, 1, 0, 100000, 'search'],
  ['topP', 'Top-p', 0.9, 0.01, 0.01, 1, 'search'],
  ['minP', 'Min-p', 0.05, 0.01, 0, 0.99, 'search'],
  ['typicalP', 'Typical-p', 0.9, 0.01, 0.01, 1, 'search'],
  ['repetitionPenalty', 'Repetition penalty', 1, 0.05, 0.05, 10, 'penalty'],
  ['presencePenalty', 'Presence penalty', 0, 0.1, -2, 2, 'penalty'],
  ['frequencyPenalty', 'Frequency penalty', 0, 0.1, -2, 2, 'penalty'],
  ['noRepeatNgramSize', 'No-repeat n-gram', 0, 1, 0, 64, 'penalty'],
];
const PENALTY_DEFAULTS = { repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, noRepeatNgramSize: 0 };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function setStatus(text, isError = false) {
  const s = $('#status');
  s.textContent = text;
  s.classList.toggle('error', isError);
}

// ---------------------------------------------------------------- decoding panels
function buildDecoder(run, initial) {
  const root = $(`#decoder-${run}`);
  root.innerHTML = '';
  root.append(el('div', { class: 'title', text: `Strategy ${run.toUpperCase()}` }));
  const sel = el('select', { id: `strategy-${run}` });
  for (const [value, s] of Object.entries(STRATEGIES)) sel.append(el('option', { value, text: s.label }));
  sel.value = initial;
  root.append(el('label', { class: 'wide' }, 'Strategy', sel));
  const search = el('fieldset', {}, el('legend', { text: 'Search' }));
  const pen = el('fieldset', {}, el('legend', { text: 'Penalties' }));
  for (const [name, label, def, step, min, max, group] of FIELDS) {
    const input = el('input', { type: 'number', id: `${run}-${name}`, value: String(def), step: String(step), min: String(min), max: String(max) });
    const lab = el('label', { 'data-field': name }, label, input);
    (group === 'search' ? search : pen).append(lab);
  }
  root.append(search, pen);
  const update = () => {
    const show = STRATEGIES[sel.value].show;
    for (const lab of search.querySelectorAll('label')) lab.hidden = !show.includes(lab.dataset.field);
    search.hidden = show.length === 0;
  };
  sel.addEventListener('change', update);
  update();
}

function num(id) {
  const v = Number($(id).value);
  if (!Number.isFinite(v)) throw new Error(`${id.slice(1)} is not a number`);
  return v;
}

/** The strategy object sent to the API for panel `run`. */
function strategyOf(run) {
  const kind = $(`#strategy-${run}`).value;
  const get = (name) => num(`#${run}-${name}`);
  let s;
  if (kind === 'greedy') s = { type: 'greedy' };
  else if (kind === 'beam') s = { type: 'beam', numBeams: get('numBeams'), lengthPenalty: get('lengthPenalty') };
  else {
    s = { type: 'sample', temperature: get('temperature') };
    for (const name of STRATEGIES[kind].show) if (name !== 'temperature') s[name] = get(name);
  }
  for (const [name, def] of Object.entries(PENALTY_DEFAULTS)) {
    const v = get(name);
    if (v !== def) s[name] = v;
  }
  return s;
}

function describeStrategy(s) {
  return Object.entries(s).map(([k, v]) => (k === 'type' ? v : `${k}=${v}`)).join(' ');
}

// ---------------------------------------------------------------- models
async function api(path, body, signal) {
  const res = await fetch(path, body === undefined ? { signal } : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal,
  });
  const json = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`);
  return json;
}

async function loadModels() {
  const { models } = await api('/api/models');
  const sel = $('#model');
  sel.innerHTML = '';
  sel.append(el('option', { value: '', text: models.length ? '— choose a model —' : 'no models found' }));
  for (const m of models) sel.append(el('option', { value: m, text: m }));
  if (models.length === 1) {
    sel.value = models[0];
    await selectModel(models[0]);
  }
}

function fmtInt(n) {
  return n.toLocaleString('en-US');
}

async function selectModel(name) {
  state.model = null;
  $('#card').innerHTML = '';
  if (!name) return;
  setStatus(`loading ${name}…`);
  try {
    const card = await api(`/api/models/${encodeURIComponent(name)}`);
    state.model = card;
    renderCard(card);
    $('#backend').textContent = card.backend.split(' · ')[0];
    $('#max-tokens').max = String(Math.min(card.limits.maxNewTokens, card.contextLength - 1));
    fillAttentionPickers(card);
    setStatus(`${name} ready`);
  } catch (e) {
    $('#card').append(el('p', { class: 'error', text: e.message }));
    setStatus(e.message, true);
  }
}

function renderCard(card) {
  const rows = [
    ['Name', card.name],
    ['Parameters', `${fmtInt(card.parameters)} (${(card.parameters / 1e6).toFixed(2)}M)`],
    ['Layers × heads', `${card.nLayer} × ${card.nHead}`],
    ['Width', card.config.nEmbd ?? card.config.n_embd ?? '?'],
    ['Context', fmtInt(card.contextLength)],
    ['Vocabulary', fmtInt(card.tokenizer.vocabSize)],
    ['Tokenizer', `${card.tokenizer.type} (${card.tokenizer.files.join(', ')})`],
    ['Backend', card.backend.replace(/^backend: /, '')],
    ['Attention', card.attention.every((a) => !a) ? 'dense' : card.attention.map((a, i) => `${i}:${a ? a.type || 'sparse' : 'dense'}`).join(' ')],
  ];
  const table = el('table');
  for (const [k, v] of rows) table.append(el('tr', {}, el('td', { text: k }), el('td', { text: String(v) })));
  const details = el('details', {}, el('summary', { text: 'config' }), el('pre', { text: JSON.stringify(card.config, null, 2) }));
  $('#card').replaceChildren(table, details);
}

// ---------------------------------------------------------------- few-shot template (GPT-3 style)
function buildTemplate() {
  const task = $('#tpl-task').value.trim();
  const examples = $('#tpl-examples').value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const i = l.indexOf('=>');
    return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 2).trim()];
  });
  const shots = $('#tpl-shots').value;
  const used = shots === 'all' ? examples : examples.slice(0, Number(shots));
  const lines = [];
  if (task) lines.push(task, '');
  for (const [i, o] of used) lines.push(`${i} => ${o}`);
  lines.push(`${$('#tpl-query').value.trim()} =>`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- generation (SSE over fetch)
async function streamGenerate(body, signal, on) {
  const res = await fetch('/api/generate', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) {
    const j = await res.json().catch(() => ({ error: res.statusText }));
    throw new Error(j.error || `HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of chunk.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (on[event]) on[event](data ? JSON.parse(data) : null);
    }
  }
}

function stopList() {
  const raw = $('#stop').value;
  if (!raw.trim()) return [];
  return raw.split(',').map((s) => s.replace(/\\n/g, '\n')).filter((s) => s.length > 0);
}

function probClass(logprob) {
  const p = Math.exp(logprob);
  return p < 0.1 ? 'p-low' : p < 0.5 ? 'p-mid' : '';
}

/** Control characters as their Unicode pictures (␂), newlines as ↵ plus the break. */
function showControls(text) {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => String.fromCharCode(c === '\u007f' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
}

function visible(text) {
  return showControls(text).replace(/\n/g, '↵\n');
}

async function runOne(run, prompt, signal) {
  const out = $(`#output-${run}`);
  const meta = out.querySelector('.meta');
  const textBox = out.querySelector('.text');
  const strategy = strategyOf(run);
  const body = {
    model: state.model.name,
    prompt,
    strategy,
    maxNewTokens: num('#max-tokens'),
    stop: stopList(),
    seed: num('#seed'),
    topAlternatives: 5,
  };
  const r = { promptIds: null, promptTokens: null, tokens: [], alternatives: null, result: null };
  state.runs[run] = r;
  textBox.replaceChildren(el('span', { class: 'prompt', text: prompt }));
  meta.textContent = `${describeStrategy(strategy)} — waiting…`;
  const t0 = performance.now();
  try {
    await streamGenerate(body, signal, {
      queued: (d) => { meta.textContent = `${describeStrategy(strategy)} — queued (#${d.position})`; },
      start: (d) => {
        r.promptIds = d.promptIds;
        r.promptTokens = d.promptTokens;
        meta.textContent = `${describeStrategy(strategy)} — generating…`;
      },
      token: (d) => {
        const i = r.tokens.length;
        r.tokens.push(d);
        const span = el('span', { class: `tok ${probClass(d.logprob)}`, 'data-i': String(i), text: visible(d.text) });
        span.addEventListener('mouseenter', (ev) => showTip(ev, run, i));
        span.addEventListener('mouseleave', hideTip);
        textBox.append(span);
        const secs = (performance.now() - t0) / 1000;
        meta.textContent = `${describeStrategy(strategy)} — ${r.tokens.length} tokens, ${(r.tokens.length / secs).toFixed(1)} tok/s`;
      },
      done: (d) => {
        r.result = d;
        r.alternatives = d.alternatives || null;
        // Beam search may return a sequence other than the one streamed: show the final ids.
        if (d.ids.length !== r.tokens.length || d.ids.some((t, i) => r.tokens[i].token !== t)) {
          textBox.replaceChildren(el('span', { class: 'prompt', text: prompt }));
          r.tokens = d.ids.map((t, i) => ({ token: t, text: d.tokens ? d.tokens[i] : '', logprob: d.logprobs[i] }));
          r.tokens.forEach((tok, i) => {
            const span = el('span', { class: `tok ${probClass(tok.logprob)}`, text: visible(tok.text) });
            span.addEventListener('mouseenter', (ev) => showTip(ev, run, i));
            span.addEventListener('mouseleave', hideTip);
            textBox.append(span);
          });
        }
        const secs = (performance.now() - t0) / 1000;
        meta.textContent = `${describeStrategy(strategy)} — ${d.ids.length} tokens in ${secs.toFixed(2)} s, finish: ${d.finishReason}, score ${d.score.toFixed(3)}`;
      },
      error: (d) => { throw new Error(d.error); },
    });
  } catch (e) {
    if (e.name === 'AbortError') meta.textContent += ' — stopped';
    else {
      meta.textContent = '';
      meta.append(el('span', { class: 'error', text: e.message }));
    }
  }
}

async function generate() {
  if (!state.model) {
    setStatus('choose a model first', true);
    return;
  }
  const prompt = $('#prompt').value;
  if (!prompt) {
    setStatus('type a prompt first', true);
    return;
  }
  const runs = $('#compare').checked ? ['a', 'b'] : ['a'];
  const ac = new AbortController();
  state.controllers.push(ac);
  $('#generate').disabled = true;
  $('#stop-btn').disabled = false;
  setStatus('generating…');
  try {
    await Promise.all(runs.map((r) => runOne(r, prompt, ac.signal)));
    setStatus(ac.signal.aborted ? 'stopped' : 'done');
  } finally {
    state.controllers = state.controllers.filter((c) => c !== ac);
    $('#generate').disabled = false;
    $('#stop-btn').disabled = state.controllers.length === 0;
  }
  if (!$('#attention').hidden) await showAttention();
}

function stopAll() {
  for (const c of state.controllers) c.abort();
}

// ---------------------------------------------------------------- token tooltip
function showTip(ev, run, i) {
  const r = state.runs[run];
  const tok = r.tokens[i];
  const tip = $('#tip');
  const p = Math.exp(tok.logprob);
  tip.replaceChildren(
    el('div', {}, el('b', { text: JSON.stringify(tok.text) }), ` id ${tok.token}`),
    el('div', { text: `p = ${(p * 100).toFixed(2)}%  (log-prob ${tok.logprob.toFixed(3)})` }),
  );
  const alts = r.alternatives && r.alternatives[i];
  if (alts) {
    const table = el('table');
    for (const a of alts) {
      table.append(el('tr', { class: a.token === tok.token ? 'chosen' : '' },
        el('td', { text: JSON.stringify(a.text) }), el('td', { text: `${(Math.exp(a.logprob) * 100).toFixed(2)}%` })));
    }
    tip.append(el('div', { class: 'muted', text: 'top alternatives' }), table);
  } else {
    tip.append(el('div', { class: 'muted', text: 'alternatives arrive when the run finishes' }));
  }
  tip.hidden = false;
  const rect = ev.target.getBoundingClientRect();
  tip.style.left = `${Math.min(rect.left, window.innerWidth - 330)}px`;
  tip.style.top = `${rect.bottom + 6}px`;
}

function hideTip() {
  $('#tip').hidden = true;
}

// ---------------------------------------------------------------- attention view
function fillAttentionPickers(card) {
  const layer = $('#attn-layer');
  const head = $('#attn-head');
  layer.replaceChildren(...card.attention.map((a, i) => el('option', { value: String(i), text: a ? `${i} (sparse: ${a.type || 'pattern'})` : `${i}` })));
  head.replaceChildren(...Array.from({ length: card.nHead }, (_, i) => el('option', { value: String(i), text: String(i) })));
}

// A perceptual ramp (white → blue → dark) for probabilities in [0, 1].
const RAMP = [[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
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
    for (let q = 0; q < n; q++) g.fillText(label(tokens[q]), margin - 4, margin + q * cell + cell / 2);
    for (let k = 0; k < n; k++) {
      g.save();
      g.translate(margin + k * cell + cell / 2, margin - 4);
      g.rotate(-Math.PI / 2);
      g.textAlign = 'left';
      g.fillText(label(tokens[k]), 0, 0);
      g.restore();
    }
  }
}

async function showAttention() {
  if (!state.model) return;
  const run = $('#attn-run').value;
  const r = state.runs[run];
  const layer = Number($('#attn-layer').value || 0);
  const head = Number($('#attn-head').value || 0);
  const body = { model: state.model.name, layer, head };
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
    drawGrid(canvas, n, cell, margin, (q, k) => (k > q ? '#f3f4f6' : color(a.probs[q][k])), a.tokens, a.promptLength);
    canvas.dataset.rendered = `${n}x${n}`;
    canvas.onmousemove = (ev) => {
      const rect = canvas.getBoundingClientRect();
      const sx = canvas.width / rect.width;
      const k = Math.floor(((ev.clientX - rect.left) * sx - margin) / cell);
      const q = Math.floor(((ev.clientY - rect.top) * sx - margin) / cell);
      if (q >= 0 && k >= 0 && q < n && k < n) {
        $('#attn-info').textContent = `query ${q} ${JSON.stringify(a.tokens[q])} → key ${k} ${JSON.stringify(a.tokens[k])}: ${(a.probs[q][k] * 100).toFixed(2)}%`;
      }
    };
    $('#attn-info').textContent = `layer ${layer}, head ${head}: ${n} tokens (prompt ${a.promptLength}); the red lines separate prompt from generated tokens`;
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

// ---------------------------------------------------------------- wiring
function init() {
  buildDecoder('a', 'greedy');
  buildDecoder('b', 'beam');
  $('#model').addEventListener('change', (e) => selectModel(e.target.value));
  $('#compare').addEventListener('change', (e) => {
    const on = e.target.checked;
    $('#decoder-b').hidden = !on;
    $('#output-b').hidden = !on;
    $('#outputs').classList.toggle('two', on);
  });
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => {
      for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t === tab);
      for (const p of document.querySelectorAll('.tabpane')) p.hidden = p.id !== tab.dataset.tab;
    });
  }
  const preview = () => { $('#tpl-preview').textContent = buildTemplate(); };
  for (const id of ['#tpl-task', '#tpl-examples', '#tpl-query', '#tpl-shots']) $(id).addEventListener('input', preview);
  preview();
  $('#tpl-apply').addEventListener('click', () => {
    $('#prompt').value = buildTemplate();
    document.querySelector('.tab[data-tab="prompt-tab"]').click();
  });
  $('#generate').addEventListener('click', () => generate().catch((e) => setStatus(e.message, true)));
  $('#stop-btn').addEventListener('click', stopAll);
  $('#attention-toggle').addEventListener('click', () => {
    const sec = $('#attention');
    sec.hidden = !sec.hidden;
    if (!sec.hidden) showAttention();
  });
  for (const id of ['#attn-refresh']) $(id).addEventListener('click', showAttention);
  for (const id of ['#attn-layer', '#attn-head', '#attn-run']) $(id).addEventListener('change', showAttention);
  $('#prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('#generate').click();
  });
  loadModels().catch((e) => setStatus(e.message, true));
}

init();
