// The lm-evaluation-harness-style side of `gptlab-train eval`: multiple choice from a JSONL task file
// (--task-file) or rolling perplexity of raw text (--text-file), one JSON object, a markdown table or a few
// lines of text. The WordNet k-shot tables (--tasks) stay in commands/eval.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, type FlagSpecs, type ParsedFlags } from '@gptlab/common/node';
import { describeBackend, initBackendInfo } from '@gptlab/tensor';
import { loadGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import {
  evaluateMultipleChoice,
  multipleChoiceMarkdown,
  readMultipleChoiceFile,
  type MultipleChoiceItem,
  type MultipleChoiceReport,
} from './multiple-choice';
import { strategyFlagSpecs, strategyInputFromFlags } from '@gptlab/decoding';
import { withFewShotPrompts } from './fewshot-prompts';
import { evaluateGeneration, readGenerationFile, type GenerationReport } from './generation';
import { evaluateLastWord, readLastWordFile, type LastWordReport } from './last-word';
import { rollingPerplexity, type RollingPerplexityResult } from './rolling-perplexity';
import { BUILTIN_TASKS, isWordNetTask, wordNetHarnessItems } from './builtin-tasks';
import { brownHeldOutText, brownLastWordPassages } from './brown-tasks';

export const HARNESS_FLAGS: FlagSpecs = {
  task: {
    type: 'string',
    choices: BUILTIN_TASKS,
    help: 'a built-in task: wordnet-* multiple choice (--limit items, k = --shots), brown-perplexity, brown-lastword (--limit passages)',
    metavar: 'NAME',
  },
  'task-file': {
    type: 'string',
    help: 'multiple choice, {"context", "choices": [...], "gold": i} a line: acc, acc_norm, stderrs, samples',
    metavar: 'FILE',
  },
  'fewshot-file': {
    type: 'string',
    help: '--task-file: train split (same format) for k-shot prompts; k = --shots (one value), drawn with --seed',
    metavar: 'FILE',
  },
  'gen-file': {
    type: 'string',
    help: 'free-form generation, {"context", "answers": [...]} a line: exact_match and token F1 (SQuAD normalisation)',
    metavar: 'FILE',
  },
  ...strategyFlagSpecs(['numBeams', 'lengthPenalty', 'maxNewTokens']),
  'text-file': { type: 'string', help: 'rolling perplexity of this UTF-8 text: tokens, nll, perplexity, bits_per_byte', metavar: 'FILE' },
  'last-word-file': {
    type: 'string',
    help: 'LAMBADA-style last-word accuracy, {"text"} a line: acc (greedy match), perplexity of the last word',
    metavar: 'FILE',
  },
  stride: { type: 'int', min: 1, help: "--text-file, brown-perplexity: tokens between window starts (default: the model's context)" },
  'batch-size': { type: 'int', min: 1, help: '--task-file: choices scored per forward pass', default: 8 },
  uncond: { type: 'bool', help: '--task-file: also GPT-3\'s unconditional normalisation (acc_uncond; choice vs "Answer:")' },
  markdown: { type: 'bool', help: 'print the result as a markdown table' },
};

const INPUT_FLAGS = ['task', 'task-file', 'text-file', 'last-word-file', 'gen-file'] as const;

/** Whether the flags ask for the harness (a task or text file) rather than the WordNet k-shot tables. */
export function wantsHarness(given: ParsedFlags): boolean {
  return INPUT_FLAGS.some((name) => given[name] !== undefined);
}

export type HarnessResult =
  | ({ task: string } & MultipleChoiceReport)
  | ({ lastWords: string } & LastWordReport)
  | ({ generation: string } & GenerationReport)
  | ({ text: string; stride: number } & RollingPerplexityResult);

/** `f`: the eval command's flags with defaults applied, except --shots: undefined unless given. */
export async function runHarness(f: ParsedFlags, io: { stderr(t: string): void }): Promise<HarnessResult> {
  const given = INPUT_FLAGS.filter((name) => f[name] !== undefined);
  if (given.length > 1) throw new UsageError(`${given.map((n) => `--${n}`).join(' and ')}: give one of them per run`);
  const builtin = f.task as string | undefined;
  const taskFile = f['task-file'] as string | undefined;
  const textFile = f['text-file'] as string | undefined;
  const lastWordFile = f['last-word-file'] as string | undefined;
  const genFile = f['gen-file'] as string | undefined;
  if (f.json === true && f.markdown === true) throw new UsageError('--json and --markdown: choose one output format');
  if (f['fewshot-file'] !== undefined && taskFile === undefined) throw new UsageError('--fewshot-file applies to --task-file only');
  if (f.shots !== undefined && taskFile === undefined && (builtin === undefined || !isWordNetTask(builtin)))
    throw new UsageError('--shots applies to --task wordnet-* and --task-file with --fewshot-file only');
  // Read and validate the input before the (slower) model load, so bad input fails at once.
  const limit = f.limit as number;
  const items =
    taskFile !== undefined
      ? taskItems(taskFile, f)
      : builtin !== undefined && isWordNetTask(builtin)
        ? wordNetHarnessItems(builtin, { limit, k: f.shots === undefined ? 0 : oneK(f.shots as string[]), seed: f.seed as number })
        : undefined;
  const text = textFile !== undefined ? readText(textFile) : builtin === 'brown-perplexity' ? brownHeldOutText() : undefined;
  const genItems = genFile !== undefined ? readGenerationFile(genFile) : undefined;
  const passages =
    lastWordFile !== undefined ? readLastWordFile(lastWordFile) : builtin === 'brown-lastword' ? brownLastWordPassages(limit) : undefined;
  if (text === undefined && f.stride !== undefined)
    throw new UsageError('--stride applies to --text-file and --task brown-perplexity only');
  io.stderr(describeBackend(await initBackendInfo()) + '\n');
  const dir = f.model as string;
  const model = await loadGPT(dir);
  try {
    const tok = BPETokenizer.fromDir(dir);
    if (items !== undefined) {
      const report = evaluateMultipleChoice(model, tok, items, { batchSize: f['batch-size'] as number, unconditional: f.uncond === true });
      return { task: builtin ?? path.basename(taskFile!), ...report };
    }
    if (genItems !== undefined) {
      // Greedy unless --num-beams; the decoding schema's default of 20 new tokens unless --max-new-tokens.
      const decoding = { maxNewTokens: 20, ...strategyInputFromFlags(f) };
      return { generation: path.basename(genFile!), ...(await evaluateGeneration(model, tok, genItems, decoding)) };
    }
    if (passages !== undefined) {
      return { lastWords: builtin ?? path.basename(lastWordFile!), ...evaluateLastWord(model, tok, passages, f['batch-size'] as number) };
    }
    const stride = (f.stride as number | undefined) ?? model.config.nPositions;
    if (stride > model.config.nPositions)
      throw new UsageError(`--stride: ${stride} exceeds the model's context of ${model.config.nPositions} tokens`);
    const ids = tok.encode(text!);
    return {
      text: builtin ?? path.basename(textFile!),
      stride,
      ...rollingPerplexity(model, ids, stride, Buffer.byteLength(text!, 'utf8')),
    };
  } finally {
    model.dispose();
  }
}

/** The task's items, with k-shot prompts when --fewshot-file is given. */
function taskItems(taskFile: string, f: ParsedFlags): MultipleChoiceItem[] {
  const items = readMultipleChoiceFile(taskFile);
  const trainFile = f['fewshot-file'] as string | undefined;
  if (trainFile === undefined) return items;
  if (f.shots === undefined) throw new UsageError('--shots: give one k (a non-negative integer) with --fewshot-file');
  return withFewShotPrompts(items, readMultipleChoiceFile(trainFile), oneK(f.shots as string[]), f.seed as number);
}

/** The single k of --shots for the harness (the WordNet k-shot tables take a list). */
function oneK(shots: string[]): number {
  const k = Number(shots[0]);
  if (shots.length !== 1 || !Number.isInteger(k) || k < 0)
    throw new UsageError(`--shots: give one k (a non-negative integer) for the harness, got ${shots.join(',')}`);
  return k;
}

function readText(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--text-file: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (text.trim() === '') throw new Error(`${file}: the text is empty`);
  return text;
}

/** Human-readable (or markdown) lines for a harness result. */
export function harnessLines(r: HarnessResult, markdown: boolean): string[] {
  if ('task' in r) {
    if (markdown) return [multipleChoiceMarkdown(r.task, r)];
    const se = (v: number | null | undefined) => (v === null || v === undefined ? '' : ` ± ${v.toFixed(4)}`);
    return [
      `${r.task}: n=${r.n}`,
      `acc       ${r.acc.toFixed(4)}${se(r.acc_stderr)}`,
      `acc_norm  ${r.acc_norm.toFixed(4)}${se(r.acc_norm_stderr)}`,
      ...(r.acc_uncond !== undefined ? [`acc_uncond ${r.acc_uncond.toFixed(4)}${se(r.acc_uncond_stderr)}`] : []),
    ];
  }
  if ('generation' in r) {
    const se = (v: number | null) => (v === null ? '—' : v.toFixed(4));
    if (markdown) {
      return [
        '| task | n | exact_match | stderr | f1 | stderr |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        `| ${r.generation.replace(/\|/g, '\\|')} | ${r.n} | ${r.exact_match.toFixed(4)} | ± ${se(r.exact_match_stderr)} | ${r.f1.toFixed(4)} | ± ${se(r.f1_stderr)} |`,
      ];
    }
    return [
      `${r.generation}: exact match ${r.exact_match.toFixed(4)} ± ${se(r.exact_match_stderr)}, F1 ${r.f1.toFixed(4)} ± ${se(r.f1_stderr)}, n=${r.n}`,
    ];
  }
  if ('lastWords' in r) {
    const se = r.acc_stderr === null ? '—' : r.acc_stderr.toFixed(4);
    if (markdown) {
      return [
        '| task | n | acc | stderr | perplexity |',
        '| --- | ---: | ---: | ---: | ---: |',
        `| ${r.lastWords.replace(/\|/g, '\\|')} | ${r.n} | ${r.acc.toFixed(4)} | ± ${se} | ${r.perplexity.toFixed(3)} |`,
      ];
    }
    return [`${r.lastWords}: last-word accuracy ${r.acc.toFixed(4)} ± ${se}, perplexity ${r.perplexity.toFixed(3)}, n=${r.n}`];
  }
  if (markdown) {
    return [
      '| text | stride | tokens | nll | perplexity | bits_per_byte |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      `| ${r.text.replace(/\|/g, '\\|')} | ${r.stride} | ${r.tokens} | ${r.nll.toFixed(4)} | ${r.perplexity.toFixed(3)} | ${r.bits_per_byte.toFixed(4)} |`,
    ];
  }
  return [
    `${r.text}: perplexity ${r.perplexity.toFixed(3)} (nll ${r.nll.toFixed(4)} nats/token, ${r.bits_per_byte.toFixed(4)} bits/byte) over ${r.tokens} tokens, stride ${r.stride}`,
  ];
}
