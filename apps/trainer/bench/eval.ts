// Multiple-choice evaluation throughput: items/s scoring one choice per forward pass (batch 1) against many
// choices per forward pass (batched), on the same items, and whether both give the same log-likelihoods.
// One JSON line. Runs in-process from source (tsx), no build needed:
//   pnpm --filter @gptlab/trainer exec tsx bench/eval.ts [--model DIR] [--items N] [--batch-size B]
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import { Rng } from '@gptlab/common';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { evaluateMultipleChoice, type MultipleChoiceItem } from '../src/evaluation/multiple-choice';

const flags = parseFlags();
// pnpm runs package scripts in the package directory; the default model is the playground's committed tiny one.
const dir = typeof flags.model === 'string' ? flags.model : path.resolve('..', 'playground', 'test', 'fixtures', 'tiny');
const count = Number(flags.items ?? 64);
const batchSize = Number(flags['batch-size'] ?? 16);

const WORDS = 'the model data text is are and of to GPT tokens answer question capital France Paris London small large'.split(' ');
const rng = new Rng(1);
const phrase = (n: number) => Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]!).join(' ');
const items: MultipleChoiceItem[] = Array.from({ length: count }, () => ({
  context: `Question: ${phrase(12 + rng.int(12))}?\nAnswer:`,
  choices: Array.from({ length: 4 }, () => ' ' + phrase(1 + rng.int(4))),
  gold: rng.int(4),
}));

const backend = describeBackend(await initBackendInfo());
const model = await loadGPT(dir);
const tok = BPETokenizer.fromDir(dir);
evaluateMultipleChoice(model, tok, items.slice(0, 4), { batchSize }); // warm-up (kernels, caches)

function timed(b: number) {
  const t0 = performance.now();
  const r = evaluateMultipleChoice(model, tok, items, { batchSize: b });
  return { report: r, seconds: (performance.now() - t0) / 1000 };
}
const one = timed(1);
const many = timed(batchSize);
const maxRelDiff = Math.max(
  ...one.report.samples.flatMap((s, i) =>
    s.loglikelihoods.map((ll, j) => Math.abs(ll - many.report.samples[i]!.loglikelihoods[j]!) / Math.abs(ll)),
  ),
);
emit({
  bench: 'eval-multiple-choice',
  model: dir,
  backend,
  items: count,
  choices_per_item: 4,
  batch_size: batchSize,
  items_per_sec_batch1: Number((count / one.seconds).toFixed(2)),
  items_per_sec_batched: Number((count / many.seconds).toFixed(2)),
  speedup: Number((one.seconds / many.seconds).toFixed(3)),
  same_predictions: one.report.samples.every(
    (s, i) => s.pred === many.report.samples[i]!.pred && s.pred_norm === many.report.samples[i]!.pred_norm,
  ),
  max_rel_loglikelihood_diff: maxRelDiff,
  machine: machine(),
});
model.dispose();
