// Generation runs: one or two panels (A, B) stream tokens from POST /api/generate, or, with "run in this
// browser", from the model running in the page (local.js, same events); hovering a token shows its probability
// and the top alternatives (server runs only).
import { streamGenerate } from './api.js';
import { inBrowser, localGenerate } from './local.js';
import { showAttention } from './attention.js';
import { imageField } from './image.js';
import { $, el, setStatus, visible } from './dom.js';
import { state } from './state.js';
import { describeStrategy, requestFields, strategyOf } from './strategy-form.js';

function probClass(logprob) {
  const p = Math.exp(logprob);
  return p < 0.1 ? 'p-low' : p < 0.5 ? 'p-mid' : '';
}

function tokenSpan(run, i, tok) {
  const span = el('span', { class: `tok ${probClass(tok.logprob)}`, 'data-i': String(i), text: visible(tok.text) });
  span.addEventListener('mouseenter', (ev) => showTip(ev, run, i));
  span.addEventListener('mouseleave', hideTip);
  return span;
}

async function runOne(run, prompt, signal) {
  const out = $(`#output-${run}`);
  const meta = out.querySelector('.meta');
  const textBox = out.querySelector('.text');
  const strategy = strategyOf(run);
  const local = inBrowser();
  const body = { model: state.model.name, prompt, strategy, ...requestFields(), ...(local ? {} : { topAlternatives: 5, ...imageField() }) };
  const r = { promptIds: null, promptTokens: null, tokens: [], alternatives: null, result: null };
  state.runs[run] = r;
  textBox.replaceChildren(el('span', { class: 'prompt', text: prompt }));
  const say = (what) => {
    meta.textContent = `${describeStrategy(strategy)} — ${what}`;
  };
  say('waiting…');
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  try {
    await (local ? localGenerate : streamGenerate)(body, signal, {
      queued: (d) => say(`queued (#${d.position})`),
      start: (d) => {
        r.promptIds = d.promptIds;
        r.promptTokens = d.promptTokens;
        say('generating…');
      },
      token: (d) => {
        r.tokens.push(d);
        textBox.append(tokenSpan(run, r.tokens.length - 1, d));
        say(`${r.tokens.length} tokens, ${(r.tokens.length / secs()).toFixed(1)} tok/s`);
      },
      done: (d) => {
        r.result = d;
        out.dataset.ids = JSON.stringify(d.ids); // what ran, for tests comparing the two modes
        r.alternatives = d.alternatives || null;
        // Beam search may return a sequence other than the one streamed: show the final ids.
        if (d.ids.length !== r.tokens.length || d.ids.some((t, i) => r.tokens[i].token !== t)) {
          r.tokens = d.ids.map((t, i) => ({ token: t, text: d.tokens ? d.tokens[i] : '', logprob: d.logprobs[i] }));
          textBox.replaceChildren(el('span', { class: 'prompt', text: prompt }), ...r.tokens.map((tok, i) => tokenSpan(run, i, tok)));
        }
        say(`${d.ids.length} tokens in ${secs().toFixed(2)} s, finish: ${d.finishReason}, score ${d.score.toFixed(3)}`);
      },
      error: (d) => {
        throw new Error(d.error);
      },
    });
  } catch (e) {
    if (e.name === 'AbortError') meta.textContent += ' — stopped';
    else meta.replaceChildren(el('span', { class: 'error', text: e.message }));
  }
}

export async function generate() {
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

export function stopAll() {
  for (const c of state.controllers) c.abort();
}

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
      table.append(
        el(
          'tr',
          { class: a.token === tok.token ? 'chosen' : '' },
          el('td', { text: JSON.stringify(a.text) }),
          el('td', { text: `${(Math.exp(a.logprob) * 100).toFixed(2)}%` }),
        ),
      );
    }
    tip.append(el('div', { class: 'muted', text: 'top alternatives' }), table);
  } else {
    const why = r.result ? 'no alternatives for runs in this browser' : 'alternatives arrive when the run finishes';
    tip.append(el('div', { class: 'muted', text: why }));
  }
  tip.hidden = false;
  const rect = ev.target.getBoundingClientRect();
  tip.style.left = `${Math.min(rect.left, window.innerWidth - 330)}px`;
  tip.style.top = `${rect.bottom + 6}px`;
}

function hideTip() {
  $('#tip').hidden = true;
}
