// `gptlab-train eval --model DIR`: perplexity on a held-out split and GPT-2/GPT-3-style zero-, one- and
// few-shot accuracy (options scored by per-token-normalised log-likelihood) on the WordNet tasks; with
// --task-file or --text-file, the lm-evaluation-harness-style harness (src/evaluation/harness.ts) instead.
import { UsageError, withDefaults, type FlagSpecs, type ParsedFlags } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { ShardReader } from '@gptlab/data';
import { printResult, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, MODEL_DIR_FLAG, seedFlag } from '../cli/flag-groups';
import { evaluateFewShot, type ChoiceItem, type FewShotTask } from '../evaluation/fewshot';
import { HARNESS_FLAGS, harnessLines, runHarness, wantsHarness } from '../evaluation/harness';
import { perplexity } from '../evaluation/perplexity';
import { TASK_KINDS, type TaskKind } from '../finetune/formats';
import { buildWordNetTask, toChoiceItems } from '../finetune/wordnet-tasks';

const flags: FlagSpecs = {
  model: MODEL_DIR_FLAG,
  data: { type: 'string', help: 'token shards (from `data prepare`): perplexity on their validation split', metavar: 'DIR' },
  'ppl-tokens': { type: 'int', min: 1, help: 'validation tokens to score at most', default: 65536 },
  tasks: { type: 'list', help: 'WordNet tasks to evaluate k-shot (cls, entail, sim, mc); "none" for none', default: [...TASK_KINDS] },
  shots: { type: 'list', help: 'values of k', default: ['0', '1', '4'] },
  limit: { type: 'int', min: 1, help: 'queries per task', default: 100 },
  seed: seedFlag(0, 'seed for drawing the solved examples'),
  json: JSON_FLAG,
  ...HARNESS_FLAGS,
};

export interface EvalReport {
  perplexity?: { loss: number; perplexity: number; tokens: number };
  fewShot: { task: string; k: number; accuracy: number; n: number; chance: number }[];
}

/** Runs the evaluations; `given` are parsed flags (kebab keys), the rest take their defaults. */
export async function runEval(given: ParsedFlags, io: { stderr(t: string): void }): Promise<EvalReport> {
  const f = withDefaults(flags, given);
  const dir = f.model as string;
  const shots = (f.shots as string[]).map((s) => {
    const k = Number(s);
    if (!Number.isInteger(k) || k < 0) throw new UsageError(`--shots: "${s}" is not a non-negative integer`);
    return k;
  });
  const names = (f.tasks as string[]).filter((n) => n !== 'none');
  for (const name of names) {
    if (!(TASK_KINDS as readonly string[]).includes(name))
      throw new UsageError(`--tasks: unknown task "${name}"; valid: ${TASK_KINDS.join(', ')}`);
  }
  io.stderr(describeBackend(await initBackendInfo()) + '\n');
  const model = await loadGPT(dir);
  const tok = BPETokenizer.fromDir(dir);
  const report: EvalReport = { fewShot: [] };
  try {
    const data = f.data as string | undefined;
    if (data) {
      const reader = new ShardReader(data);
      const val = reader.readAll('val');
      reader.close();
      report.perplexity = perplexity(model, val, { maxTokens: f['ppl-tokens'] as number });
      io.stderr(
        `validation: loss ${report.perplexity.loss.toFixed(4)}, perplexity ${report.perplexity.perplexity.toFixed(2)} over ${report.perplexity.tokens} tokens\n`,
      );
    }
    const limit = f.limit as number;
    const seed = f.seed as number;
    const tasks: { task: FewShotTask; pool: ChoiceItem[] }[] = [];
    for (const name of names) {
      const ds = buildWordNetTask(name as TaskKind, { seed: 99, limits: { train: 200, dev: limit, test: limit } });
      const c = toChoiceItems(ds);
      tasks.push({
        task: { name: `wordnet-${name}`, description: c.description, separator: c.separator, items: c.items('test') },
        pool: c.items('train'),
      });
    }
    for (const { task, pool } of tasks) {
      const chance = task.items.reduce((s, it) => s + 1 / it.options.length, 0) / task.items.length;
      for (const k of shots) {
        const r = evaluateFewShot(model, tok, task, k, pool, seed);
        report.fewShot.push({ ...r, chance });
        io.stderr(`${task.name}  k=${k}  accuracy ${(100 * r.accuracy).toFixed(1)}%  (chance ${(100 * chance).toFixed(1)}%, n=${r.n})\n`);
      }
    }
  } finally {
    model.dispose();
  }
  return report;
}

export const evalCommand: TrainerCommand = {
  name: 'eval',
  summary: 'perplexity on held-out shards and zero/one/few-shot accuracy (WordNet tasks, JSONL tasks)',
  flags,
  usage:
    'eval --model DIR [--data SHARDS] [--tasks cls,entail,sim,mc] [--shots 0,1,4] | --task wordnet-cls|brown-perplexity|brown-lastword|… | --task-file F.jsonl | --text-file F.txt [--stride N] | --last-word-file F.jsonl | --gen-file F.jsonl [--json|--markdown]',
  async run({ flags: given }, io) {
    if (wantsHarness(given)) {
      // --shots stays unset unless given: its default list belongs to the WordNet tables, the harness takes one k.
      const result = await runHarness({ ...withDefaults(flags, given), shots: given.shots }, io);
      printResult(io, given.json === true, result, () => harnessLines(result, given.markdown === true));
      return 0;
    }
    const report = await runEval(given, io);
    printResult(io, given.json === true, report, () => [
      ...(report.perplexity
        ? [
            `perplexity ${report.perplexity.perplexity.toFixed(2)} (loss ${report.perplexity.loss.toFixed(4)}, ${report.perplexity.tokens} tokens)`,
          ]
        : []),
      'task                         k    accuracy   chance      n',
      ...report.fewShot.map(
        (r) =>
          `${r.task.padEnd(28)} ${String(r.k).padStart(2)}    ${(100 * r.accuracy).toFixed(1).padStart(6)}%   ${(100 * r.chance).toFixed(1).padStart(5)}%  ${String(r.n).padStart(5)}`,
      ),
    ]);
    return 0;
  },
};
