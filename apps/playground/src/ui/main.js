// gptlab playground UI: native ES modules, no build step. Fetches the decoding schema, builds the form from
// it and wires the page to the API.
import { api } from './api.js';
import { showAttention } from './attention.js';
import { buildChat } from './chat.js';
import { $, setStatus } from './dom.js';
import { generate, stopAll } from './generate.js';
import { loadModels, selectModel } from './models.js';
import { state } from './state.js';
import { buildCommonFields, buildDecoder } from './strategy-form.js';
import { buildTemplate } from './template.js';

function wireTabs() {
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => {
      for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t === tab);
      for (const p of document.querySelectorAll('.tabpane')) p.hidden = p.id !== tab.dataset.tab;
    });
  }
  const preview = () => {
    $('#tpl-preview').textContent = buildTemplate();
  };
  for (const id of ['#tpl-task', '#tpl-examples', '#tpl-query', '#tpl-shots']) $(id).addEventListener('input', preview);
  preview();
  $('#tpl-apply').addEventListener('click', () => {
    $('#prompt').value = buildTemplate();
    document.querySelector('.tab[data-tab="prompt-tab"]').click();
  });
}

async function init() {
  state.schema = await api('/api/schema');
  buildDecoder('a', 'greedy');
  buildDecoder('b', 'beam');
  buildCommonFields();
  $('#model').addEventListener('change', (e) => selectModel(e.target.value));
  $('#compare').addEventListener('change', (e) => {
    const on = e.target.checked;
    $('#decoder-b').hidden = !on;
    $('#output-b').hidden = !on;
    $('#outputs').classList.toggle('two', on);
  });
  wireTabs();
  await buildChat();
  $('#generate').addEventListener('click', () => generate().catch((e) => setStatus(e.message, true)));
  $('#stop-btn').addEventListener('click', stopAll);
  $('#attention-toggle').addEventListener('click', () => {
    const sec = $('#attention');
    sec.hidden = !sec.hidden;
    if (!sec.hidden) showAttention();
  });
  $('#attn-refresh').addEventListener('click', showAttention);
  for (const id of ['#attn-layer', '#attn-head', '#attn-run']) $(id).addEventListener('change', showAttention);
  $('#prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('#generate').click();
  });
  await loadModels();
}

init().catch((e) => setStatus(e.message, true));
