// Multiple choice scored as lm-evaluation-harness scores it: each choice's log-likelihood as the continuation
// of the context; `acc` takes the argmax of the log-likelihood, `acc_norm` the argmax of log-likelihood ÷ the
// choice's length in characters (lm-eval's `len(choice)`), and, optionally, GPT-3's unconditional
// normalisation (Brown et al. 2020, §2.4): log P(choice | context) − log P(choice | "Answer:").
import { expectObject, readJsonlFile, JsonlError } from '@gptlab/common/node';
import { encodePair, loglikelihoods, type EncodingTokenizer, type LoglikelihoodRequest, type ScoringModel } from './loglikelihood';

export interface MultipleChoiceItem {
  context: string;
  choices: string[];
  gold: number;
}

export interface MultipleChoiceSample {
  loglikelihoods: number[];
  pred: number;
  pred_norm: number;
  /** Only with the unconditional score: LL(choice | "Answer:") per choice. */
  loglikelihoods_uncond?: number[];
  /** Only with the unconditional score: argmax of LL(choice | context) − LL(choice | "Answer:"). */
  pred_uncond?: number;
}

export interface MultipleChoiceReport {
  acc: number;
  acc_stderr: number | null;
  acc_norm: number;
  acc_norm_stderr: number | null;
  acc_uncond?: number;
  acc_uncond_stderr?: number | null;
  n: number;
  samples: MultipleChoiceSample[];
}

/** The prompt GPT-3 conditions the choice on for its unconditional normalisation. */
export const UNCONDITIONAL_CONTEXT = 'Answer:';

/** Items of a JSONL task file, `{"context": str, "choices": [str], "gold": int}` a line; errors name file:line. */
export function readMultipleChoiceFile(file: string): MultipleChoiceItem[] {
  const items = readJsonlFile(file).map(({ value, line }) => parseMultipleChoiceItem(value, file, line));
  if (items.length === 0) throw new Error(`${file}: no items`);
  return items;
}

export function parseMultipleChoiceItem(value: unknown, file: string, line: number): MultipleChoiceItem {
  const o = expectObject(value, file, line);
  if (typeof o.context !== 'string')
    throw new JsonlError(file, line, o.context === undefined ? 'missing field "context"' : 'field "context" must be a string');
  const choices = o.choices;
  if (choices === undefined) throw new JsonlError(file, line, 'missing field "choices"');
  if (!Array.isArray(choices) || choices.length === 0)
    throw new JsonlError(file, line, 'field "choices" must be a non-empty array of strings');
  choices.forEach((c, i) => {
    if (typeof c !== 'string' || c.length === 0) throw new JsonlError(file, line, `field "choices"[${i}] must be a non-empty string`);
  });
  if (o.gold === undefined) throw new JsonlError(file, line, 'missing field "gold"');
  if (!Number.isInteger(o.gold) || (o.gold as number) < 0 || (o.gold as number) >= choices.length)
    throw new JsonlError(file, line, `field "gold" must be a choice index in [0, ${choices.length}), got ${JSON.stringify(o.gold)}`);
  return { context: o.context, choices: choices as string[], gold: o.gold as number };
}

/** Index of the first maximum (lm-eval uses np.argmax, which also breaks ties towards the first). */
export function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** lm-eval's mean_stderr: sample standard deviation (n − 1) ÷ √n; undefined (null) for fewer than 2 items. */
export function meanStderr(values: number[]): number | null {
  const n = values.length;
  if (n < 2) return null;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return Math.sqrt(variance) / Math.sqrt(n);
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export interface MultipleChoiceOptions {
  batchSize?: number;
  /** Also score GPT-3's unconditional normalisation (one extra request per choice). */
  unconditional?: boolean;
}

export function evaluateMultipleChoice(
  model: ScoringModel,
  tok: EncodingTokenizer,
  items: MultipleChoiceItem[],
  opts: MultipleChoiceOptions = {},
): MultipleChoiceReport {
  const eos = model.config.eosTokenId;
  const requests: LoglikelihoodRequest[] = [];
  for (const item of items) for (const choice of item.choices) requests.push(encodePair(tok, item.context, choice, eos));
  const uncondStart = requests.length;
  if (opts.unconditional) {
    for (const item of items)
      for (const choice of item.choices) requests.push(encodePair(tok, UNCONDITIONAL_CONTEXT, ' ' + choice.trimStart(), eos));
  }
  const scores = loglikelihoods(model, requests, opts.batchSize ?? 1).map((r) => r.loglikelihood);
  let offset = 0;
  const samples = items.map((item): MultipleChoiceSample => {
    const lls = scores.slice(offset, offset + item.choices.length);
    const sample: MultipleChoiceSample = {
      loglikelihoods: lls,
      pred: argmax(lls),
      pred_norm: argmax(lls.map((ll, i) => ll / item.choices[i]!.length)),
    };
    if (opts.unconditional) {
      const base = scores.slice(uncondStart + offset, uncondStart + offset + item.choices.length);
      sample.loglikelihoods_uncond = base;
      sample.pred_uncond = argmax(lls.map((ll, i) => ll - base[i]!));
    }
    offset += item.choices.length;
    return sample;
  });
  const hits = (key: 'pred' | 'pred_norm' | 'pred_uncond') => samples.map((s, i) => (s[key] === items[i]!.gold ? 1 : 0));
  const acc = hits('pred');
  const accNorm = hits('pred_norm');
  const report: MultipleChoiceReport = {
    acc: mean(acc),
    acc_stderr: meanStderr(acc),
    acc_norm: mean(accNorm),
    acc_norm_stderr: meanStderr(accNorm),
    n: items.length,
    samples,
  };
  if (opts.unconditional) {
    const accUncond = hits('pred_uncond');
    report.acc_uncond = mean(accUncond);
    report.acc_uncond_stderr = meanStderr(accUncond);
  }
  return report;
}

/** The summary as a markdown table (lm-eval's layout: metric, value, ± stderr). */
export function multipleChoiceMarkdown(task: string, r: MultipleChoiceReport): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(4));
  const rows: [string, number, number | null | undefined][] = [
    ['acc', r.acc, r.acc_stderr],
    ['acc_norm', r.acc_norm, r.acc_norm_stderr],
  ];
  if (r.acc_uncond !== undefined) rows.push(['acc_uncond', r.acc_uncond, r.acc_uncond_stderr]);
  return [
    '| task | n | metric | value | stderr |',
    '| --- | ---: | --- | ---: | ---: |',
    ...rows.map(([metric, v, se]) => `| ${task.replace(/\|/g, '\\|')} | ${r.n} | ${metric} | ${fmt(v)} | ± ${fmt(se)} |`),
  ].join('\n');
}
