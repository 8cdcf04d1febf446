// The model picker and the model card.
import { api } from './api.js';
import { fillAttentionPickers } from './attention.js';
import { showImageInput } from './image.js';
import { $, el, setStatus } from './dom.js';
import { state } from './state.js';

const fmtInt = (n) => n.toLocaleString('en-US');

export async function loadModels() {
  const { models } = await api('/api/models');
  const sel = $('#model');
  sel.replaceChildren(el('option', { value: '', text: models.length ? '— choose a model —' : 'no models found' }));
  for (const m of models) sel.append(el('option', { value: m, text: m }));
  if (models.length === 1) {
    sel.value = models[0];
    await selectModel(models[0]);
  }
}

export async function selectModel(name) {
  state.model = null;
  $('#card').replaceChildren();
  if (!name) return;
  setStatus(`loading ${name}…`);
  try {
    const card = await api(`/api/models/${encodeURIComponent(name)}`);
    state.model = card;
    renderCard(card);
    $('#backend').textContent = card.backend.split(' · ')[0];
    $('#max-tokens').max = String(Math.min(card.limits.maxNewTokens, card.contextLength - 1));
    fillAttentionPickers(card);
    showImageInput(card);
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
    [
      'Attention',
      card.attention.every((a) => !a) ? 'dense' : card.attention.map((a, i) => `${i}:${a ? a.type || 'sparse' : 'dense'}`).join(' '),
    ],
  ];
  const table = el('table');
  for (const [k, v] of rows) table.append(el('tr', {}, el('td', { text: k }), el('td', { text: String(v) })));
  const details = el('details', {}, el('summary', { text: 'config' }), el('pre', { text: JSON.stringify(card.config, null, 2) }));
  $('#card').replaceChildren(table, details);
}
