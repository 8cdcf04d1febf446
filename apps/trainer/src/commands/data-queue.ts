// `gptlab-train data worker|status` and the `--queue` flags of `data dedup|prepare`: the data pipeline on
// BullMQ + Redis (apps/trainer/src/queue). Local and queued runs write the same outputs.
import { UsageError, type FlagSpecs } from '@gptlab/common/node';
import { BPETokenizer } from '@gptlab/tokenizer';
import type { CommandIO, TrainerCommand } from '../cli/command';
import { printResult } from '../cli/command';
import { JSON_FLAG } from '../cli/flag-groups';
import { saveTokenizerAtomic } from '../corpus';
import { queuedDedup, queuedPrepare, type QueuedOptions } from '../queue/queued-data';
import { queueStatus, statusLines } from '../queue/status';
import { runWorker } from '../queue/worker';

type Flags = Record<string, unknown>;

/** A flag's value, or its declared default (parsed flags hold only what was given). */
function flag<T>(flags: Flags, specs: FlagSpecs, name: string): T {
  return (flags[name] ?? specs[name]!.default) as T;
}

const queueUrl = (help: string, required = false) =>
  ({ type: 'string', help, metavar: 'redis://HOST:PORT', ...(required ? { required: true } : {}) }) as const;

/** Spread into the flag tables of `data dedup` and `data prepare`. */
export const QUEUE_FLAGS: FlagSpecs = {
  queue: queueUrl('run the stages as tasks on a BullMQ queue (start `data worker` processes first)'),
  'work-dir': {
    type: 'string',
    help: 'intermediate files of a queued run: a directory every worker can read (default: .gptlab-queue next to the output)',
    metavar: 'DIR',
  },
  'chunk-docs': { type: 'int', min: 1, help: 'documents per chunk task (with --queue)', default: 5000 },
  partitions: { type: 'int', min: 1, help: 'LSH bucket and verification tasks (with --queue)', default: 4 },
  'keep-work': { type: 'bool', help: 'keep the intermediate files of a queued run' },
};

function queuedOptions(flags: Flags, io: CommandIO): QueuedOptions {
  return {
    url: flags.queue as string,
    workDir: flags['work-dir'] as string | undefined,
    chunkDocs: flag<number>(flags, QUEUE_FLAGS, 'chunk-docs'),
    partitions: flag<number>(flags, QUEUE_FLAGS, 'partitions'),
    keepWork: flags['keep-work'] === true,
    io,
  };
}

/** `data dedup --queue`: the flags of the local command, the same summary line. */
export async function runQueuedDedup(flags: Flags, io: CommandIO): Promise<number> {
  if (flags.index === 'sqlite') throw new UsageError('--index sqlite: a queued run keeps its buckets in partition files; drop --index');
  const r = await queuedDedup({
    ...queuedOptions(flags, io),
    input: flags.input as string,
    field: flags.field as string | undefined,
    idField: flags['id-field'] as string | undefined,
    skipBad: flags['skip-bad'] === true,
    out: flags.out as string | undefined,
    report: flags.report as string | undefined,
    near: {
      threshold: flags.threshold as number | undefined,
      numPerm: flags['num-perm'] as number | undefined,
      ngram: flags.ngram as number | undefined,
      verify: flags.verify === false ? false : undefined,
      seed: flags.seed as number | undefined,
    },
  });
  io.stderr(
    `dedup: ${r.docs} documents → ${r.kept} kept, ${r.removed} removed (${r.exactDuplicates} exact, ${r.nearDuplicates} near; ` +
      `threshold ${r.params.threshold}, ${r.params.bands}×${r.params.rows} bands×rows${r.badLines ? `, ${r.badLines} bad lines skipped` : ''}) in ${(r.timeMs / 1000).toFixed(2)}s on the queue\n`,
  );
  return 0;
}

/** `data prepare --queue`: sources concatenated through the queued stages, shards written here. */
export async function runQueuedPrepare(flags: Flags, specs: string[], io: CommandIO): Promise<number> {
  if (specs.some((s) => /=\d+(\.\d+)?$/.test(s)) || flags['total-docs'] !== undefined)
    throw new UsageError('--queue: weighted mixtures (SPEC=WEIGHT, --total-docs) run locally only; drop --queue or the weights');
  if (typeof flags.quality === 'string')
    throw new UsageError('--queue: the quality classifier runs locally only; drop --queue or --quality');
  const out = flags.out as string;
  const tokenizerFile = flags.tokenizer as string;
  const tokenizer = BPETokenizer.load(tokenizerFile);
  const t0 = performance.now();
  const { manifest: m, reportPath } = await queuedPrepare({
    ...queuedOptions(flags, io),
    sources: specs,
    field: flags.field as string | undefined,
    skipBad: flags['skip-bad'] === true,
    tokenizer,
    tokenizerFile,
    out,
    valFraction: flags['val-fraction'] as number | undefined,
    shardTokens: flags['shard-tokens'] as number | undefined,
    filter: flags.filter !== false,
    nearThreshold: flags['near-dedup'] === false ? null : ((flags.threshold as number | undefined) ?? 0.8),
  });
  saveTokenizerAtomic(tokenizer, `${out}/tokenizer.json`);
  io.stderr(
    `prepare: ${m.splits.train.docs} train / ${m.splits.val.docs} val documents · ${m.splits.train.tokens} / ${m.splits.val.tokens} tokens (${m.dtype}) → ${out} ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)}s on the queue · report ${reportPath}\n`,
  );
  return 0;
}

const WORKER_FLAGS: FlagSpecs = {
  queue: queueUrl('the BullMQ queue', true),
  concurrency: { type: 'int', min: 1, help: 'tasks at once in this process', default: 1 },
  'lock-ms': { type: 'int', min: 100, help: 'task lock duration; a dead worker’s task is retried after it expires', default: 30000 },
  'stalled-ms': { type: 'int', min: 100, help: 'how often to look for tasks of dead workers', default: 30000 },
  'task-pause-ms': { type: 'int', min: 0, help: 'wait this long at the start of each task (to watch or test a kill mid-task)', default: 0 },
  'max-tasks': { type: 'int', min: 1, help: 'stop after this many tasks' },
};

export const dataWorkerCommand: TrainerCommand = {
  name: 'worker',
  summary: 'process queued data-pipeline tasks until stopped (SIGTERM finishes the current task)',
  flags: WORKER_FLAGS,
  async run({ flags }, io) {
    return runWorker(
      {
        url: flags.queue as string,
        concurrency: flag<number>(flags, WORKER_FLAGS, 'concurrency'),
        lockMs: flag<number>(flags, WORKER_FLAGS, 'lock-ms'),
        stalledMs: flag<number>(flags, WORKER_FLAGS, 'stalled-ms'),
        pauseMs: flag<number>(flags, WORKER_FLAGS, 'task-pause-ms'),
        maxTasks: flags['max-tasks'] as number | undefined,
      },
      io,
    );
  },
};

export const dataStatusCommand: TrainerCommand = {
  name: 'status',
  summary: 'progress of queued data-pipeline runs, per stage',
  flags: {
    queue: queueUrl('the BullMQ queue', true),
    runs: { type: 'int', min: 1, help: 'newest runs to show', default: 3 },
    json: JSON_FLAG,
  },
  async run({ flags }, io) {
    const s = await queueStatus(flags.queue as string, (flags.runs as number | undefined) ?? 3);
    printResult(io, flags.json === true, s, () => statusLines(s));
    return 0;
  },
};
