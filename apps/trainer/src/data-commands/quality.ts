// `gptlab-train data quality train|score`: GPT-3's document quality classifier (§2.2, Appendix A) — hashed
// n-gram logistic regression telling reference text (positives) from raw crawl (negatives) — and scoring a JSONL
// file with it. Thin wrappers over @gptlab/data.
import * as fs from 'node:fs';
import { UsageError, withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { QualityClassifier, scoreJsonl, sourceFromSpec, type Doc } from '@gptlab/data';
import { printResult, type CommandGroup, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, TEXT_FIELD_FLAGS } from '../cli/flag-groups';

const TRAIN_FLAGS: FlagSpecs = {
  positive: {
    type: 'list',
    required: true,
    help: 'reference-quality sources (wordnet, brown, files, globs, JSONL, Parquet)',
    metavar: 'SPEC,...',
  },
  negative: { type: 'list', required: true, help: 'raw sources (crawl, files, globs, JSONL, Parquet)', metavar: 'SPEC,...' },
  ...TEXT_FIELD_FLAGS,
  out: { type: 'string', required: true, help: 'classifier JSON (weights + held-out AUC/accuracy)', metavar: 'FILE' },
  'held-out': { type: 'float', min: 0, max: 0.5, help: 'share of each class held out to measure AUC and accuracy', default: 0.1 },
  epochs: { type: 'int', min: 1, help: 'passes over the training documents', default: 8 },
  'max-docs': { type: 'int', min: 2, help: 'documents read per class', default: 200000 },
  'buckets-log2': { type: 'int', min: 10, max: 24, help: 'log2 of the hashed feature buckets', default: 18 },
  seed: { type: 'int', help: 'seed of the split and the training order', default: 1 },
  json: JSON_FLAG,
};

const SCORE_FLAGS: FlagSpecs = {
  model: { type: 'string', required: true, help: 'classifier from `data quality train`', metavar: 'FILE' },
  input: { type: 'string', required: true, help: 'input JSONL (.gz/.zst too)', metavar: 'FILE' },
  ...TEXT_FIELD_FLAGS,
  out: { type: 'string', required: true, help: 'output JSONL: every record with a numeric quality_score', metavar: 'FILE' },
};

async function* concat(specs: string[], field: string, skipBad: boolean): AsyncGenerator<Doc> {
  for (const s of specs) yield* sourceFromSpec(s, { field, skipBad });
}

const train: TrainerCommand = {
  name: 'train',
  summary: 'train the quality classifier: reference text (--positive) vs raw crawl (--negative)',
  flags: TRAIN_FLAGS,
  async run({ flags }, io) {
    const f = withDefaults(TRAIN_FLAGS, flags);
    const field = f.field as string;
    const skipBad = f['skip-bad'] === true;
    const positive = f.positive as string[];
    const negative = f.negative as string[];
    // open every source now, so that a typo fails before any reading
    for (const s of [...positive, ...negative]) sourceFromSpec(s, { field, skipBad });
    const t0 = performance.now();
    const r = await QualityClassifier.train(concat(positive, field, skipBad), concat(negative, field, skipBad), {
      heldOut: f['held-out'] as number,
      epochs: f.epochs as number,
      maxDocsPerClass: f['max-docs'] as number,
      bucketsLog2: f['buckets-log2'] as number,
      seed: f.seed as number,
    });
    Object.assign(r.classifier.info, { positiveSources: positive, negativeSources: negative, field });
    r.classifier.save(f.out as string);
    const result = {
      out: f.out,
      positives: r.positives,
      negatives: r.negatives,
      heldOutDocs: r.heldOutDocs,
      heldOutAuc: r.heldOutAuc,
      heldOutAccuracy: r.heldOutAccuracy,
      trainAuc: r.trainAuc,
      seconds: (performance.now() - t0) / 1000,
    };
    printResult(io, f.json === true, result, () => [
      `quality train: ${r.positives} positive / ${r.negatives} negative documents → ${f.out}`,
      `held-out (${r.heldOutDocs} documents): AUC ${r.heldOutAuc.toFixed(4)}, accuracy ${r.heldOutAccuracy.toFixed(4)} · train AUC ${r.trainAuc.toFixed(4)} · ${result.seconds.toFixed(1)}s`,
    ]);
    return 0;
  },
};

const score: TrainerCommand = {
  name: 'score',
  summary: 'add quality_score = P(reference quality) to every record of a JSONL file',
  flags: SCORE_FLAGS,
  async run({ flags }, io) {
    const f = withDefaults(SCORE_FLAGS, flags);
    const model = f.model as string;
    if (!fs.existsSync(model)) throw new UsageError(`--model ${model}: no such file`);
    const input = f.input as string;
    if (!fs.existsSync(input)) throw new UsageError(`--input ${input}: no such file`);
    const r = await scoreJsonl({
      classifier: QualityClassifier.load(model),
      input,
      out: f.out as string,
      field: f.field as string,
      skipBad: f['skip-bad'] === true,
    });
    io.stderr(
      `quality score: ${r.records} records scored (mean ${r.meanScore.toFixed(4)})${r.badLines ? `, ${r.badLines} bad lines skipped` : ''} → ${f.out}\n`,
    );
    return 0;
  },
};

export const qualityGroup: CommandGroup = {
  name: 'quality',
  summary: "GPT-3's quality classifier: train it (reference vs raw text) and score JSONL documents",
  commands: [train, score],
};
