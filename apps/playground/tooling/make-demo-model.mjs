// Trains the small demo checkpoint used for the README screenshot (test/fixtures/demo): the tokenizer and
// shape of test/fixtures/tiny, with layer 1 locally banded (window 8), trained for a few hundred Adam steps on a handful of sentences, so the
// playground shows words rather than random bytes. Not a reference: correctness tests use fixtures/tiny.
//   node tooling/make-demo-model.mjs
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, initBackend, describeBackend } from '@gptlab/tensor';
import { GPT, getPreset, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { CORPUS } from './corpus.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const tiny = path.join(here, '..', 'test', 'fixtures', 'tiny');
const out = path.join(here, '..', 'test', 'fixtures', 'demo');
await initBackend();
console.log(describeBackend());
const tok = BPETokenizer.fromDir(tiny);
const eos = tok.tokenToId('<|endoftext|>');
const stream = [];
for (let r = 0; r < 40; r++) for (const s of CORPUS) stream.push(...tok.encode(s), eos);
const cfg = JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'), 'utf8'));
const config = {
  ...getPreset('gpt2-small'),
  vocabSize: cfg.vocab_size,
  nPositions: 64,
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  embdDropout: 0,
  attnDropout: 0,
  residDropout: 0,
  // GPT-3 style: a dense layer, then a locally banded sparse one.
  attention: [{ type: 'dense' }, { type: 'local', window: 8 }],
};
const model = GPT.create(config, { seed: 3 });
const opt = tf.train.adam(3e-3);
const T = 48,
  B = 8;
let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const t0 = Date.now();
for (let step = 0; step < 400; step++) {
  const xs = [],
    ys = [];
  for (let b = 0; b < B; b++) {
    const at = Math.floor(rand() * (stream.length - T - 1));
    xs.push(...stream.slice(at, at + T));
    ys.push(...stream.slice(at + 1, at + T + 1));
  }
  const x = tf.tensor2d(xs, [B, T], 'int32');
  const y = tf.tensor2d(ys, [B, T], 'int32');
  const loss = opt.minimize(() => model.loss(x, y, { training: true }), true, model.trainableVariables());
  if (step % 50 === 0 || step === 399)
    console.log(`step ${step} loss ${(await loss.data())[0].toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  tf.dispose([x, y, loss]);
}
fs.rmSync(out, { recursive: true, force: true });
await saveGPT(model, out, { tokenizer: tok, dtype: 'F16' });
const c2 = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
c2.eos_token_id = eos;
c2.bos_token_id = eos;
fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(c2, null, 2) + '\n');
console.log(`saved ${out}:`, fs.readdirSync(out));
