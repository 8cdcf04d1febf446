// Chat mode: a system prompt and a multi-turn conversation, each reply streamed from POST
// /v1/chat/completions (stream: true), where the server renders the messages with the checkpoint's chat
// template. Decoding comes from the decoding panel (strategy A and the common fields). "Compare with" adds a
// second model in its own column: both answer the same user turns, and each column keeps its own history (its
// own replies), like two separate chats with the same user — e.g. an SFT checkpoint next to its PPO successor.
// The server keeps no conversation: every request carries the whole history.
import { api } from './api.js';
import { inBrowser } from './local.js';
import { $, el, setStatus, visible } from './dom.js';
import { requestFields, strategyOf } from './strategy-form.js';

/** Per column ('a': the model picked in the header, 'b': the compared one): { history: [{role, content}] }. */
const columns = { a: { history: [] }, b: { history: [] } };
let controller = null;

// Column A follows the header's model picker (its value: the card may still be loading).
const modelOf = (col) => $(col === 'a' ? '#model' : '#chat-compare').value;
const activeColumns = () => (modelOf('b') ? ['a', 'b'] : ['a']);

/**
 * The decoding panel's settings in /v1's terms: OpenAI reads temperature 0 as greedy and anything else as
 * sampling, so greedy and beam search send temperature 0 (beam keeps its type); every other changed field goes
 * as the strategy-table extension /v1 accepts, and max tokens, seed and stop strings as set below the panel.
 */
export function chatDecoding() {
  const { type, temperature, ...fields } = strategyOf('a');
  const mode = type === 'sample' ? { temperature: temperature ?? 1 } : { temperature: 0, ...(type === 'beam' ? { type } : {}) };
  return { ...mode, ...fields, ...requestFields() };
}

/** POST /v1/chat/completions with stream: true; calls onText(delta) per content piece, returns {finish, usage}. */
async function streamChat(body, signal, onText) {
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!res.ok) {
    const j = await res.json().catch(() => null);
    throw new Error((j && j.error && j.error.message) || `HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const out = { finish: null, usage: null };
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const data = buf.slice(0, i).replace(/^data: /, '');
      buf = buf.slice(i + 2);
      if (data === '[DONE]') return out;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) out.usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) onText(choice.delta.content);
      if (choice && choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
}

function bubble(role, text) {
  return el('div', { class: `bubble ${role}` }, el('div', { class: 'role', text: role }), el('div', { class: 'content', text }));
}

/** One column's turn: shows the user's message, streams the reply into a bubble, keeps both in its history. */
async function answer(col, text, system, signal) {
  const c = columns[col];
  const log = $(`#chat-log-${col}`);
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...c.history, { role: 'user', content: text }];
  log.append(bubble('user', text));
  const reply = bubble('assistant', '');
  const content = reply.querySelector('.content');
  const meta = el('div', { class: 'meta', text: 'waiting…' });
  reply.append(meta);
  log.append(reply);
  let said = '';
  const t0 = performance.now();
  try {
    const r = await streamChat({ model: modelOf(col), messages, ...chatDecoding() }, signal, (piece) => {
      said += piece;
      content.textContent = visible(said);
      meta.textContent = 'answering…';
      log.scrollTop = log.scrollHeight;
    });
    const tokens = r.usage ? `${r.usage.completion_tokens} tokens (prompt ${r.usage.prompt_tokens}), ` : '';
    meta.textContent = `${tokens}${((performance.now() - t0) / 1000).toFixed(2)} s, finish: ${r.finish}`;
  } catch (e) {
    if (e.name !== 'AbortError' || !said) {
      // A failed turn, or one stopped before any text, does not join the history: the next message goes without it.
      reply.classList.add('failed');
      meta.replaceChildren(el('span', { class: 'error', text: e.name === 'AbortError' ? 'stopped (not kept)' : e.message }));
      return;
    }
    meta.textContent = 'stopped (the partial reply is kept)';
  }
  c.history.push({ role: 'user', content: text }, { role: 'assistant', content: said });
  reply.dataset.done = 'true'; // for tests: this reply is final
  log.dataset.turns = String(c.history.length / 2);
}

async function send() {
  const text = $('#chat-input').value;
  if (!modelOf('a')) return setStatus('choose a model first', true);
  if (!text.trim()) return setStatus('type a message first', true);
  if (controller) return;
  controller = new AbortController();
  $('#chat-input').value = '';
  $('#chat-send').disabled = true;
  $('#chat-stop').disabled = false;
  setStatus('chatting…');
  const system = $('#chat-system').value.trim();
  try {
    await Promise.all(activeColumns().map((col) => answer(col, text, system, controller.signal)));
    setStatus(controller.signal.aborted ? 'stopped' : 'done');
  } finally {
    controller = null;
    $('#chat-send').disabled = false;
    $('#chat-stop').disabled = true;
  }
}

/** A new conversation in both columns (the system prompt stays in its field). */
function reset() {
  if (controller) controller.abort();
  for (const col of ['a', 'b']) {
    columns[col].history = [];
    $(`#chat-log-${col}`).replaceChildren();
    delete $(`#chat-log-${col}`).dataset.turns;
  }
}

function column(col) {
  return el(
    'div',
    { class: 'panel chat-col', id: `chat-col-${col}` },
    el('h3', { id: `chat-title-${col}` }),
    el('div', { class: 'chat-log', id: `chat-log-${col}` }),
  );
}

function showColumns() {
  $('#chat-title-a').textContent = modelOf('a') || '(pick a model in the header)';
  $('#chat-title-b').textContent = modelOf('b');
  $('#chat-col-b').hidden = !modelOf('b');
  $('#chat-columns').classList.toggle('two', Boolean(modelOf('b')));
  $('#chat-note').textContent = inBrowser()
    ? 'Chat runs on the server: "run in this browser" has no chat path (the page bundle renders no chat templates).'
    : 'Decoding: strategy A and the fields below it. Each column keeps its own history.';
}

async function fillCompare() {
  const sel = $('#chat-compare');
  const { models } = await api('/api/models');
  sel.replaceChildren(el('option', { value: '', text: '— no second model —' }), ...models.map((m) => el('option', { value: m, text: m })));
}

/** Builds the chat view next to the generate view and the "chat" switch in the header. */
export async function buildChat() {
  document.head.append(el('link', { rel: 'stylesheet', href: '/chat.css' }));
  const toggle = el('input', { type: 'checkbox', id: 'chat-mode' });
  $('#status').before(el('label', { class: 'inline', title: 'talk to chat checkpoints through /v1/chat/completions' }, toggle, ' chat'));
  const input = el('textarea', {
    id: 'chat-input',
    rows: '2',
    spellcheck: 'false',
    placeholder: 'Message… (Enter sends, Shift+Enter for a new line)',
  });
  const view = el(
    'section',
    { id: 'chat', hidden: '' },
    el(
      'section',
      { class: 'panel' },
      el(
        'label',
        { class: 'wide' },
        'System prompt',
        el('textarea', { id: 'chat-system', rows: '2', spellcheck: 'false', placeholder: 'e.g. Answer in one word.' }),
      ),
      el(
        'div',
        { class: 'row' },
        el('label', {}, 'Compare with', el('select', { id: 'chat-compare' })),
        el('span', { id: 'chat-note', class: 'muted' }),
      ),
    ),
    el('section', { class: 'chat-columns', id: 'chat-columns' }, column('a'), column('b')),
    el(
      'section',
      { class: 'panel' },
      input,
      el(
        'div',
        { class: 'row actions' },
        el('button', { id: 'chat-send', class: 'primary', text: 'Send' }),
        el('button', { id: 'chat-stop', text: 'Stop', disabled: '' }),
        el('button', { id: 'chat-reset', text: 'New chat' }),
      ),
    ),
  );
  $('#center').after(view);
  toggle.addEventListener('change', () => {
    $('#center').hidden = toggle.checked;
    view.hidden = !toggle.checked;
    showColumns();
  });
  for (const id of ['#model', '#chat-compare', '#in-browser']) $(id).addEventListener('change', () => setTimeout(showColumns));
  $('#chat-send').addEventListener('click', () => send().catch((e) => setStatus(e.message, true)));
  $('#chat-stop').addEventListener('click', () => controller && controller.abort());
  $('#chat-reset').addEventListener('click', reset);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('#chat-send').click();
    }
  });
  await fillCompare();
  showColumns();
}
