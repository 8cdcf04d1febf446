// The five sentences the fixture tokenizer (make-fixture.mjs) and the demo model (make-demo-model.mjs) are
// trained on: the demo reuses the fixture's tokenizer, so both must see the same text.
export const CORPUS = [
  'The quick brown fox jumps over the lazy dog.',
  'Translate English to French: sea otter => loutre de mer, cheese => fromage.',
  'Language models are few-shot learners. GPT-2 and GPT-3 are decoder-only transformers.',
  'Attention is all you need: queries, keys and values; the softmax of the scaled dot products.',
  'The model reads text through byte-level BPE and predicts the next token.',
];
