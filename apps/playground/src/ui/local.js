// "Run in this browser": the page imports the gptlab bundle (/browser/gptlab-browser.js, built from
// src/browser/gptlab-browser.ts), fetches the chosen checkpoint's files and generates with TensorFlow.js here,
// reporting the same events as the server's stream. One model is kept loaded; choosing another frees it.
import { $ } from './dom.js';

const BUNDLE = '/browser/gptlab-browser.js';
let loaded = null; // { name, model: Promise<LocalModel> }

export function inBrowser() {
  return $('#in-browser').checked;
}

function localModel(name) {
  if (loaded && loaded.name === name) return loaded.model;
  const previous = loaded;
  loaded = {
    name,
    model: import(BUNDLE).then((gptlab) => gptlab.loadLocalModel(name, { wasmPaths: '/browser/wasm/' })),
  };
  // A failed load is not kept: the next run tries again.
  const mine = loaded;
  mine.model.catch(() => {
    if (loaded === mine) loaded = null;
  });
  if (previous) previous.model.then((m) => m.dispose()).catch(() => {});
  return mine.model;
}

/** Same contract as api.js streamGenerate: `on[event](data)` for start, token and done; throws on errors. */
export async function localGenerate(body, signal, on) {
  const badge = $('#browser-backend');
  badge.hidden = false;
  badge.textContent = `in this browser: loading ${body.model}…`;
  const model = await localModel(body.model);
  badge.textContent = `in this browser: ${model.backend}`;
  await model.generate(body, signal, on);
}
