// `gptlab-train eval --model DIR`: perplexity on a held-out split and GPT-2/GPT-3-style zero-, one- and
// few-shot accuracy (options scored by per-token-normalised log-likelihood) on the WordNet tasks and on
// user JSONL tasks.
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { ShardReader } from '@gptlab/data';
import * as fs from 'node:fs';
import { parseFlags, getFlag, type FlagSpecs } from '../cli/flags';
import { CommandError, type Command } from '../cli/router';
import { evaluateFewShot, type ChoiceItem, type FewShotTask } from '../evaluation/fewshot';
import { perplexity } from '../evaluation/perplexity';
import { TASK_KINDS, type TaskKind } from '../finetune/formats';
import { buildWordNetTask, toChoiceItems } from '../finetune/wordnet-tasks';

const flags: FlagSpecs = {
  model: { type: 'string', help: 'checkpoint directory (HF GPT-2 layout with tokenizer files)', metavar: 'DIR' },
  data: { type: 'string', help: 'token shards (from `data prepare`): perplexity on their validation split', metavar: 'DIR' },
  'ppl-tokens': { type: 'int', help: 'validation tokens to score at most', default: 65536 },
  tasks: { type: 'list', help: 'WordNet tasks to evaluate k-shot (cls, entail, sim, mc); "none" for none', default: 'cls,entail,sim,mc' },
  'task-file': { type: 'list', help: 'JSONL tasks: {"input", "options": [...], "answer": i} per line' },
  description: { type: 'string', help: 'task description for --task-file', default: 'Answer each question.' },
  separator: { type: 'string', help: 'between input and answer in prompts', default: '=>' },
  shots: { type: 'list', help: 'values of k', default: '0,1,4' },
  limit: { type: 'int', help: 'queries per task', default: 100 },
  seed: { type: 'int', help: 'seed for drawing the solved examples', default: 0 },
  json: { type: 'bool', help: 'print one JSON object' },
};

export function readChoiceFile(file: string): ChoiceItem[] {
  if (!fs.existsSync(file)) throw new CommandError(`--task-file ${file}: no such file`);
  const items: ChoiceItem[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let o: { input?: unknown; options?: unknown; answer?: unknown };
      try {
        o = JSON.parse(line);
      } catch (e) {
        throw new CommandError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
      }
      if (typeof o.input !== 'string') throw new CommandError(`${file}:${i + 1}: missing string field "input"`);
      if (!Array.isArray(o.options) || o.options.length < 2 || o.options.some((x) => typeof x !== 'string')) {
        throw new CommandError(`${file}:${i + 1}: "options" must be an array of at least 2 strings`);
      }
      if (!Number.isInteger(o.answer) || (o.answer as number) < 0 || (o.answer as number) >= o.options.length) {
        throw new CommandError(`${file}:${i + 1}: "answer" must be an option index in [0, ${o.options.length})`);
      }
      items.push({ input: o.input, options: o.options as string[], answer: o.answer as number });
    });
  if (items.length === 0) throw new CommandError(`${file}: no items`);
  return items;
}

export interface EvalReport {
  perplexity?: { loss: number; perplexity: number; tokens: number };
  fewShot: { task: string; k: number; accuracy: number; n: number; chance: number }[];
}

export async function runEval(argv: string[], io: { stderr(t: string): void }): Promise<EvalReport> {
  const { flags: f } = parseFlags(argv, flags, 'eval');
  const dir = getFlag<string>(f, 'model');
  if (!dir) throw new CommandError('--model DIR is required');
  io.stderr(describeBackend(await initBackendInfo()) + '\n');
  const model = await GPT.fromPretrained(dir);
  const tok = BPETokenizer.fromDir(dir);
  const report: EvalReport = { fewShot: [] };
  try {
    const data = getFlag<string>(f, 'data');
    if (data) {
      const reader = new ShardReader(data);
      const val = reader.readAll('val');
      reader.close();
      report.perplexity = perplexity(model, val, { maxTokens: getFlag<number>(f, 'ppl-tokens') ?? 65536 });
      io.stderr(`validation: loss ${report.perplexity.loss.toFixed(4)}, perplexity ${report.perplexity.perplexity.toFixed(2)} over ${report.perplexity.tokens} tokens\n`);
    }
    const shots = (getFlag<string[]>(f, 'shots') ?? ['0', '1', '4']).map((s) => {
      const k = Number(s);
      if (!Number.isInteger(k) || k < 0) throw new CommandError(`--shots: "${s}" is not a non-negative integer`);
      return k;
    });
    const limit = getFlag<number>(f, 'limit') ?? 100;
    const seed = getFlag<number>(f, 'seed') ?? 0;
    const tasks: { task: FewShotTask; pool: ChoiceItem[] }[] = [];
    const names = getFlag<string[]>(f, 'tasks') ?? ['cls', 'entail', 'sim', 'mc'];
    for (const name of names.filter((n) => n !== 'none')) {
      if (!(TASK_KINDS as readonly string[]).includes(name)) throw new CommandError(`--tasks: unknown task "${name}"; valid: ${TASK_KINDS.join(', ')}`);
      const ds = buildWordNetTask(name as TaskKind, { seed: 99, limits: { train: 200, dev: limit, test: limit } });
      const c = toChoiceItems(ds);
      tasks.push({ task: { name: `wordnet-${name}`, description: c.description, separator: c.separator, items: c.items('test') }, pool: c.items('train') });
    }
    for (const file of getFlag<string[]>(f, 'task-file') ?? []) {
      const items = readChoiceFile(file);
      const task: FewShotTask = {
        name: file,
        description: getFlag<string>(f, 'description') ?? 'Answer each question.',
        separator: getFlag<string>(f, 'separator') ?? '=>',
        items: items.slice(0, limit),
      };
      tasks.push({ task, pool: items });
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

export const evalCommand: Command = {
  name: 'eval',
  summary: 'perplexity on held-out shards and zero/one/few-shot accuracy (WordNet tasks, JSONL tasks)',
  flags,
  usage: 'eval --model DIR [--data SHARDS] [--tasks cls,entail,sim,mc] [--task-file F.jsonl] [--shots 0,1,4] [flags]',
  async run(argv, io) {
    const report = await runEval(argv, io);
    if (argv.includes('--json')) io.stdout(JSON.stringify(report) + '\n');
    else {
      const lines = ['task                         k    accuracy   chance      n'];
      for (const r of report.fewShot) {
        lines.push(`${r.task.padEnd(28)} ${String(r.k).padStart(2)}    ${(100 * r.accuracy).toFixed(1).padStart(6)}%   ${(100 * r.chance).toFixed(1).padStart(5)}%  ${String(r.n).padStart(5)}`);
      }
      if (report.perplexity) lines.unshift(`perplexity ${report.perplexity.perplexity.toFixed(2)} (loss ${report.perplexity.loss.toFixed(4)}, ${report.perplexity.tokens} tokens)`);
      io.stdout(lines.join('\n') + '\n');
    }
    return 0;
  },
};
