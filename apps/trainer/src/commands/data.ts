// `gptlab-train data dedup|prepare`: thin wrappers over @gptlab/data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dedupJsonl, prepare, type SourceInput } from '@gptlab/data';
import { BPETokenizer } from '@gptlab/tokenizer';
import { parseFlags, UsageError, type FlagSpecs } from '../cli/flags';
import { dispatch, type Command } from '../cli/router';

const DEDUP_FLAGS: FlagSpecs = {
  input: { type: 'string', help: 'input JSONL (each line an object with an id and a text field)', metavar: 'FILE' },
  field: { type: 'string', help: 'text field', default: 'text' },
  'id-field': { type: 'string', help: 'id field', default: 'id' },
  threshold: { type: 'float', help: 'Jaccard similarity threshold of near duplicates', default: 0.8 },
  out: { type: 'string', help: 'kept lines (JSONL, unchanged)', metavar: 'FILE' },
  report: { type: 'string', help: 'report JSON with "duplicates": [{id, duplicateOf}] (+ SVG funnel)', metavar: 'FILE' },
  'skip-bad': { type: 'bool', help: 'skip and count malformed lines instead of failing' },
  'num-perm': { type: 'int', help: 'MinHash permutations', default: 128 },
  ngram: { type: 'int', help: 'word n-gram shingle size', default: 5 },
  'no-verify': { type: 'bool', help: 'trust MinHash estimates (skip exact Jaccard verification)' },
  workers: { type: 'int', help: 'MinHash worker threads' },
  index: { type: 'string', help: 'LSH index store', choices: ['memory', 'sqlite'], default: 'memory' },
  seed: { type: 'int', help: 'MinHash seed' },
};

const PREPARE_FLAGS: FlagSpecs = {
  source: { type: 'list', help: 'sources: wordnet, files, globs, JSONL (file.jsonl#field); SPEC=WEIGHT mixes them', metavar: 'SPEC...' },
  corpus: { type: 'list', help: 'alias of --source', metavar: 'SPEC...' },
  tokenizer: { type: 'string', help: 'tokenizer.json (copied next to the shards)', metavar: 'FILE' },
  out: { type: 'string', help: 'output shard directory', metavar: 'DIR' },
  'val-fraction': { type: 'float', help: 'validation share of documents', default: 0.05 },
  threshold: { type: 'float', help: 'near-dup Jaccard threshold', default: 0.8 },
  'no-near-dedup': { type: 'bool', help: 'skip MinHash-LSH near-duplicate removal' },
  'no-filter': { type: 'bool', help: 'skip the heuristic quality filters' },
  quality: { type: 'string', help: 'saved quality classifier (GPT-3 style pareto keep rule)', metavar: 'FILE' },
  field: { type: 'string', help: 'JSONL text field', default: 'text' },
  'skip-bad': { type: 'bool', help: 'skip and count malformed JSONL lines' },
  'shard-tokens': { type: 'int', help: 'tokens per shard file' },
  'total-docs': { type: 'int', help: 'documents drawn by a weighted mixture (SPEC=WEIGHT sources)' },
};

const dedup: Command = {
  name: 'dedup',
  summary: 'remove exact and near-duplicate documents from a JSONL file (MinHash LSH)',
  flags: DEDUP_FLAGS,
  async run(argv, io) {
    const { flags } = parseFlags(argv, DEDUP_FLAGS, 'data dedup');
    if (typeof flags.input !== 'string') throw new UsageError('data dedup needs --input FILE');
    if (!fs.existsSync(flags.input)) throw new UsageError(`--input ${flags.input}: no such file`);
    const r = await dedupJsonl({
      input: flags.input,
      field: flags.field as string | undefined,
      idField: flags['id-field'] as string | undefined,
      threshold: flags.threshold as number | undefined,
      out: flags.out as string | undefined,
      report: flags.report as string | undefined,
      skipBad: flags['skip-bad'] === true,
      numPerm: flags['num-perm'] as number | undefined,
      ngram: flags.ngram as number | undefined,
      verify: flags['no-verify'] === true ? false : undefined,
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

const prep: Command = {
  name: 'prepare',
  summary: 'run the data pipeline: sources → normalise → filter → dedup → (quality) → token shards',
  flags: PREPARE_FLAGS,
  async run(argv, io) {
    const { flags } = parseFlags(argv, PREPARE_FLAGS, 'data prepare');
    const specs = [...((flags.source as string[] | undefined) ?? []), ...((flags.corpus as string[] | undefined) ?? [])];
    if (!specs.length) throw new UsageError('data prepare needs --source wordnet|PATH...');
    if (typeof flags.tokenizer !== 'string') throw new UsageError('data prepare needs --tokenizer FILE (make one with `gptlab-train tokenizer train`)');
    if (typeof flags.out !== 'string') throw new UsageError('data prepare needs --out DIR');
    const tokenizer = BPETokenizer.load(flags.tokenizer);
    const sources: SourceInput[] = specs.map((s) => {
      const m = /^(.*)=(\d+(?:\.\d+)?)$/.exec(s);
      return m ? { source: m[1]!, weight: Number(m[2]) } : { source: s };
    });
    const t0 = performance.now();
    const res = await prepare({
      sources,
      tokenizer,
      outDir: flags.out,
      valFraction: flags['val-fraction'] as number | undefined,
      nearDedup: flags['no-near-dedup'] ? false : { threshold: (flags.threshold as number | undefined) ?? 0.8 },
      filter: flags['no-filter'] ? false : undefined,
      quality: typeof flags.quality === 'string' ? { classifier: flags.quality } : false,
      field: flags.field as string | undefined,
      skipBad: flags['skip-bad'] === true,
      shardTokens: flags['shard-tokens'] as number | undefined,
      mixture: flags['total-docs'] !== undefined ? { totalDocs: flags['total-docs'] as number } : undefined,
    });
    tokenizer.save(path.join(flags.out, 'tokenizer.json'));
    const m = res.manifest;
    io.stderr(
      `prepare: ${m.splits.train.docs} train / ${m.splits.val.docs} val documents · ${m.splits.train.tokens} / ${m.splits.val.tokens} tokens (${m.dtype}) → ${flags.out} ` +
        `in ${((performance.now() - t0) / 1000).toFixed(1)}s · report ${res.reportPath ?? '-'}\n`,
    );
    return 0;
  },
};

export const dataCommand: Command = {
  name: 'data',
  summary: 'data pipeline: near-duplicate removal (dedup) and token shards (prepare)',
  usage: 'data dedup|prepare [flags]',
  run: (argv, io) => dispatch([dedup, prep], argv, io, 'data '),
};
