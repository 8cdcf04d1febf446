// `gptlab-train data dedup|prepare`: thin wrappers over @gptlab/data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, type FlagSpecs } from '@gptlab/common/node';
import { dedupJsonl, prepare, type SourceInput } from '@gptlab/data';
import { BPETokenizer } from '@gptlab/tokenizer';
import type { CommandGroup, TrainerCommand } from '../cli/command';
import { corpusFlag, TEXT_FIELD_FLAGS } from '../cli/flag-groups';
import { saveTokenizerAtomic } from '../corpus';
import { crawlCommand } from '../data-commands/crawl';
import { decontaminateCommand } from '../data-commands/decontaminate';
import { runMixturePrepare } from '../data-commands/prepare-mixture';
import { qualityGroup } from '../data-commands/quality';
import { QUEUE_FLAGS, dataStatusCommand, dataWorkerCommand, runQueuedDedup, runQueuedPrepare } from './data-queue';

/** Near-duplicate removal (MinHash LSH), in both commands. */
const threshold = { type: 'float', min: 0, max: 1, help: 'Jaccard similarity threshold of near duplicates', default: 0.8 } as const;

const DEDUP_FLAGS: FlagSpecs = {
  input: { type: 'string', required: true, help: 'input JSONL (each line an object with an id and a text field)', metavar: 'FILE' },
  ...TEXT_FIELD_FLAGS,
  'id-field': { type: 'string', help: 'id field', default: 'id' },
  threshold,
  out: { type: 'string', help: 'kept lines (JSONL, unchanged)', metavar: 'FILE' },
  report: { type: 'string', help: 'report JSON with "duplicates": [{id, duplicateOf}] (+ SVG funnel)', metavar: 'FILE' },
  'num-perm': { type: 'int', min: 1, help: 'MinHash permutations', default: 128 },
  ngram: { type: 'int', min: 1, help: 'word n-gram shingle size', default: 5 },
  verify: { type: 'bool', help: 'check near-duplicate candidates by exact Jaccard (--no-verify trusts MinHash)', default: true },
  workers: { type: 'int', min: 1, help: 'MinHash worker threads' },
  index: { type: 'string', help: 'LSH index store', choices: ['memory', 'sqlite'], default: 'memory' },
  seed: { type: 'int', help: 'MinHash seed' },
  ...QUEUE_FLAGS,
};

const PREPARE_FLAGS: FlagSpecs = {
  source: corpusFlag('sources: wordnet, files, globs, JSONL (file.jsonl#field); SPEC=WEIGHT mixes them'),
  corpus: corpusFlag('alias of --source'),
  ...TEXT_FIELD_FLAGS,
  tokenizer: { type: 'string', required: true, help: 'tokenizer.json (copied next to the shards)', metavar: 'FILE' },
  out: { type: 'string', required: true, help: 'output shard directory', metavar: 'DIR' },
  'val-fraction': {
    type: 'float',
    min: 0,
    max: 0.5,
    help: 'validation share of documents (0: none; training then splits by tokens)',
    default: 0.05,
  },
  threshold,
  'near-dedup': { type: 'bool', help: 'MinHash-LSH near-duplicate removal (--no-near-dedup skips it)', default: true },
  filter: { type: 'bool', help: 'heuristic quality filters (--no-filter skips them)', default: true },
  quality: { type: 'string', help: 'saved quality classifier (GPT-3 style pareto keep rule)', metavar: 'FILE' },
  'shard-tokens': { type: 'int', min: 1, help: 'tokens per shard file' },
  'total-docs': { type: 'int', min: 1, help: 'documents drawn by a weighted mixture (SPEC=WEIGHT sources)' },
  mixture: {
    type: 'string',
    help: 'mixture file (sources, weights, stages per source, token budget) or the preset gpt3; replaces --source',
    metavar: 'FILE|gpt3',
  },
  ...QUEUE_FLAGS,
};

const dedup: TrainerCommand = {
  name: 'dedup',
  summary: 'remove exact and near-duplicate documents from a JSONL file (MinHash LSH)',
  flags: DEDUP_FLAGS,
  async run({ flags }, io) {
    const input = flags.input as string;
    if (!fs.existsSync(input)) throw new UsageError(`--input ${input}: no such file`);
    if (flags.queue) return runQueuedDedup(flags, io);
    const r = await dedupJsonl({
      input,
      field: flags.field as string | undefined,
      idField: flags['id-field'] as string | undefined,
      threshold: flags.threshold as number | undefined,
      out: flags.out as string | undefined,
      report: flags.report as string | undefined,
      skipBad: flags['skip-bad'] === true,
      numPerm: flags['num-perm'] as number | undefined,
      ngram: flags.ngram as number | undefined,
      verify: flags.verify === false ? false : undefined,
      workers: flags.workers as number | undefined,
      index: flags.index as 'memory' | 'sqlite' | undefined,
      seed: flags.seed as number | undefined,
    });
    io.stderr(
      `dedup: ${r.docs} documents → ${r.kept} kept, ${r.removed} removed (${r.exactDuplicates} exact, ${r.nearDuplicates} near; ` +
        `threshold ${r.params.threshold}, ${r.params.bands}×${r.params.rows} bands×rows${r.badLines ? `, ${r.badLines} bad lines skipped` : ''}) in ${(r.timeMs / 1000).toFixed(2)}s\n`,
    );
    return 0;
  },
};

const prep: TrainerCommand = {
  name: 'prepare',
  summary: 'run the data pipeline: sources → normalise → filter → dedup → (quality) → token shards',
  flags: PREPARE_FLAGS,
  async run({ flags }, io) {
    if (flags.mixture !== undefined) return runMixturePrepare(flags, io);
    const specs = [...((flags.source as string[] | undefined) ?? []), ...((flags.corpus as string[] | undefined) ?? [])];
    if (!specs.length) throw new UsageError('needs --source wordnet|PATH,... or --mixture FILE|gpt3');
    if (flags.queue) return runQueuedPrepare(flags, specs, io);
    const out = flags.out as string;
    const tokenizer = BPETokenizer.load(flags.tokenizer as string);
    const sources: SourceInput[] = specs.map((s) => {
      const m = /^(.*)=(\d+(?:\.\d+)?)$/.exec(s);
      return m ? { source: m[1]!, weight: Number(m[2]) } : { source: s };
    });
    const t0 = performance.now();
    const res = await prepare({
      sources,
      tokenizer,
      outDir: out,
      valFraction: flags['val-fraction'] as number | undefined,
      nearDedup: flags['near-dedup'] === false ? false : { threshold: (flags.threshold as number | undefined) ?? 0.8 },
      filter: flags.filter === false ? false : undefined,
      quality: typeof flags.quality === 'string' ? { classifier: flags.quality } : false,
      field: flags.field as string | undefined,
      skipBad: flags['skip-bad'] === true,
      shardTokens: flags['shard-tokens'] as number | undefined,
      mixture: flags['total-docs'] !== undefined ? { totalDocs: flags['total-docs'] as number } : undefined,
    });
    saveTokenizerAtomic(tokenizer, path.join(out, 'tokenizer.json'));
    const m = res.manifest;
    io.stderr(
      `prepare: ${m.splits.train.docs} train / ${m.splits.val.docs} val documents · ${m.splits.train.tokens} / ${m.splits.val.tokens} tokens (${m.dtype}) → ${out} ` +
        `in ${((performance.now() - t0) / 1000).toFixed(1)}s · report ${res.reportPath ?? '-'}\n`,
    );
    return 0;
  },
};

export const dataGroup: CommandGroup = {
  name: 'data',
  summary: 'data pipeline: sources, dedup, quality classifier, decontamination, mixtures and token shards',
  commands: [dedup, prep, decontaminateCommand, crawlCommand, dataWorkerCommand, dataStatusCommand],
  groups: [qualityGroup],
};
