// The decoding form, built from the strategy schema the server sends (GET /api/schema, which is
// @gptlab/decoding's field table): which inputs exist, their ranges, defaults and help all come from there.
import { $, el } from './dom.js';
import { state } from './state.js';

// The UI's shortcuts: a search type, the fields shown (default: every field of that search) and those that
// start at the schema's example value (so "top-p" turns top-p on).
const PRESETS = {
  greedy: { label: 'greedy', type: 'greedy' },
  beam: { label: 'beam search', type: 'beam', on: ['numBeams'] },
  sample: { label: 'sampling (all filters)', type: 'sample' },
  'top-k': { label: 'top-k sampling', type: 'sample', show: ['temperature', 'topK'], on: ['topK'] },
  'top-p': { label: 'top-p (nucleus) sampling', type: 'sample', show: ['temperature', 'topP'], on: ['topP'] },
  'min-p': { label: 'min-p sampling', type: 'sample', show: ['temperature', 'minP'], on: ['minP'] },
  typical: { label: 'typical sampling', type: 'sample', show: ['temperature', 'typicalP'], on: ['typicalP'] },
};
// Request-wide fields (the common section) and fields a panel does not offer (one sequence per panel).
const NOT_PER_PANEL = new Set(['type', 'doSample', 'numReturnSequences', 'maxNewTokens', 'seed']);
const FORM_KINDS = new Set(['int', 'float', 'choice']);

const field = (name) => state.schema.fields.find((f) => f.name === name);
const panelFields = () => state.schema.fields.filter((f) => FORM_KINDS.has(f.kind) && !NOT_PER_PANEL.has(f.name));
const isSearchField = (f) => f.strategies.length < 3;

/** A float input steps by the last decimal of the field's example (0.05 → 0.01, 0.9 → 0.1). */
function stepOf(f) {
  if (f.kind === 'int') return '1';
  const decimals = (String(f.example).split('.')[1] || '').length;
  return String(10 ** -Math.max(1, decimals));
}

function inputFor(id, f, value) {
  if (f.kind === 'choice') {
    const sel = el('select', { id });
    for (const c of f.choices) sel.append(el('option', { value: String(c), text: String(c) }));
    sel.value = String(value);
    return sel;
  }
  const attrs = { type: 'number', id, step: stepOf(f), value: value === null ? '' : String(value) };
  if (f.range && f.range.min !== undefined) attrs.min = String(f.range.min);
  if (f.range && f.range.max !== undefined) attrs.max = String(f.range.max);
  return el('input', attrs);
}

/** The JSON value of an input: a number, a choice (true/false as booleans), or the raw text for the server to refuse. */
function valueOf(input, f) {
  const raw = input.value;
  if (f.kind === 'choice') return raw === 'true' ? true : raw === 'false' ? false : raw;
  const n = Number(raw);
  return raw.trim() === '' || !Number.isFinite(n) ? raw : n;
}

/** Strategy panel `run` ('a' or 'b'): a preset picker, the search fieldset and the penalties fieldset. */
export function buildDecoder(run, initial) {
  const root = $(`#decoder-${run}`);
  const sel = el('select', { id: `strategy-${run}` });
  for (const [value, p] of Object.entries(PRESETS)) sel.append(el('option', { value, text: p.label }));
  sel.value = initial;
  const search = el('fieldset', {}, el('legend', { text: 'Search' }));
  const penalties = el('fieldset', {}, el('legend', { text: 'Penalties' }));
  for (const f of panelFields()) {
    const label = el('label', { 'data-field': f.name, title: f.help }, f.flag, inputFor(`${run}-${f.name}`, f, f.default));
    (isSearchField(f) ? search : penalties).append(label);
  }
  root.replaceChildren(
    el('div', { class: 'title', text: `Strategy ${run.toUpperCase()}` }),
    el('label', { class: 'wide' }, 'Strategy', sel),
    search,
    penalties,
  );
  const apply = () => {
    const p = PRESETS[sel.value];
    const shown =
      p.show ||
      panelFields()
        .filter((f) => isSearchField(f) && f.strategies.includes(p.type))
        .map((f) => f.name);
    for (const f of panelFields().filter(isSearchField)) {
      const input = $(`#${run}-${f.name}`);
      input.value = String((p.on || []).includes(f.name) ? f.example : f.default);
      input.closest('label').hidden = !shown.includes(f.name);
    }
    search.hidden = shown.length === 0;
  };
  sel.addEventListener('change', apply);
  apply();
}

/** The strategy object panel `run` sends: its search type and every field it changed from the default. */
export function strategyOf(run) {
  const type = PRESETS[$(`#strategy-${run}`).value].type;
  const s = { type };
  for (const f of panelFields()) {
    if (!f.strategies.includes(type)) continue;
    const v = valueOf($(`#${run}-${f.name}`), f);
    if (v !== f.default) s[f.name] = v;
  }
  return s;
}

export function describeStrategy(s) {
  return Object.entries(s)
    .map(([k, v]) => (k === 'type' ? v : `${k}=${v}`))
    .join(' ');
}

/** The request-wide fields: max new tokens, seed (empty: random) and stop strings. */
export function buildCommonFields() {
  const max = field('maxNewTokens');
  const seed = field('seed');
  const stop = field('stopStrings');
  const seedInput = inputFor('seed', seed, seed.default);
  seedInput.placeholder = 'random';
  $('#common').replaceChildren(
    el('label', { title: max.help }, max.flag, inputFor('max-tokens', max, max.default)),
    el('label', { title: seed.help }, seed.flag, seedInput),
    el(
      'label',
      { class: 'wide', title: stop.help },
      stop.flag,
      el('input', { type: 'text', id: 'stop', placeholder: 'comma separated, \\n for newline' }),
    ),
  );
}

/** maxNewTokens, stop and seed as top-level request fields (the API takes strategy fields there too). */
export function requestFields() {
  const fields = { maxNewTokens: valueOf($('#max-tokens'), field('maxNewTokens')) };
  const stops = $('#stop')
    .value.split(',')
    .map((s) => s.replace(/\\n/g, '\n'))
    .filter((s) => s.length > 0);
  if (stops.length) fields.stop = stops;
  if ($('#seed').value.trim() !== '') fields.seed = valueOf($('#seed'), field('seed'));
  return fields;
}
