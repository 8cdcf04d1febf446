// Evaluation of aligned models (InstructGPT §4's comparisons, with the programmatic judge as the labeller):
// each model answers the same prompts greedily through its chat template (KV-cached continuous batching), and
// gets
//   - the judge's score, correctness and compliance (judge.ts) over the prompts that carry a judge key;
//   - the reward model's mean score r(x, y) (--reward), on the text it was trained on: the rendered prompt, the
//     reply and, when the reply ended itself, the template's eos token;
//   - the KL to a reference model (--reference, e.g. the SFT model): the mean over prompts of the sequence's
//     Σ_t log π(y_t | x, y_<t) − log π_ref(y_t | x, y_<t) over the generated tokens — the per-sequence KL
//     estimate of PPO's penalty (TRL's `objective/kl`), here on the evaluated greedy answers;
//   - the win rate against the reference's own answers by the judge (a tie counts half);
//   - steerability: the compliance rate under each system prompt.
import { tf, IGNORE_INDEX } from '@gptlab/tensor';
import { loadGPT, type GPT } from '@gptlab/model';
import { BatchedGenerator, type GenerateResult } from '@gptlab/decoding';
import { BPETokenizer } from '@gptlab/tokenizer';
import { initCheckpointDir } from '../pretrain/init-from';
import { inBatches, sequenceLogProbs } from './logprobs';
import { loadRewardModel, type RewardModel } from './reward';
import { judge, SYSTEM_PROMPTS, type SystemPromptKind, type Verdict } from './judge';
import { checkpointTemplate, type ChatTemplate } from './template';
import type { EvalPrompt } from './evaluate-prompts';

/** A loaded model with what answering needs. */
export interface ChatModel {
  dir: string;
  model: GPT;
  tok: BPETokenizer;
  template: ChatTemplate;
}

export async function loadChatModel(dir: string): Promise<ChatModel> {
  const resolved = initCheckpointDir(dir);
  return { dir: resolved, model: await loadGPT(resolved), tok: BPETokenizer.fromDir(resolved), template: checkpointTemplate(resolved) };
}

/** One greedy answer: prompt and generated ids (the eos included when the model ended its reply). */
export interface Answer {
  promptText: string;
  promptIds: number[];
  ids: number[];
  text: string;
  ended: boolean;
}

/**
 * Greedy answers to every prompt. A prompt longer than the context keeps its end (next to the answer); the
 * answer is cut where prompt + answer fill the context, so the KL is taken over the tokens actually generated.
 */
export async function answerPrompts(m: ChatModel, prompts: readonly EvalPrompt[], maxNewTokens: number): Promise<Answer[]> {
  const T = m.model.config.nPositions;
  const eos = m.tok.eosId;
  const engine = new BatchedGenerator(m.model, { maxBatch: 16 });
  try {
    const jobs = prompts.map(async (p) => {
      const promptText = m.template.render(p.messages, true);
      const all = m.tok.encode(promptText, { allowedSpecial: 'all' });
      const promptIds = all.slice(Math.max(0, all.length - (T - 1)));
      const [r] = (await engine.add({
        ids: promptIds,
        strategy: {
          type: 'greedy',
          maxNewTokens: Math.max(1, Math.min(maxNewTokens, T - promptIds.length)),
          ...(eos !== undefined ? { eosTokenId: eos } : {}),
        },
        tokenizer: m.tok,
      })) as GenerateResult[];
      return { promptText, promptIds, ids: r!.ids, text: r!.text.trim(), ended: r!.finishReason === 'eos' };
    });
    return await Promise.all(jobs);
  } finally {
    await engine.close();
  }
}

/** log π(answer | prompt) of each answer under `model`, summed over the generated tokens (no dropout). */
export async function answerLogProbs(model: GPT, answers: readonly Answer[]): Promise<number[]> {
  const out: number[] = [];
  for (const group of inBatches(answers, 16)) {
    const rows = group.map((a) => [...a.promptIds, ...a.ids]);
    const T = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(rows.length * T);
    const targets = new Int32Array(rows.length * T).fill(IGNORE_INDEX);
    rows.forEach((seq, i) => {
      ids.set(seq, i * T);
      // Position t predicts token t+1: the targets are the answer's tokens (positions ≥ the prompt's length).
      for (let t = group[i]!.promptIds.length - 1; t + 1 < seq.length; t++) targets[i * T + t] = seq[t + 1]!;
    });
    const lp = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(ids, [rows.length, T], 'int32'), { training: false, seed: 0 });
      return sequenceLogProbs(logits, targets);
    });
    out.push(...(await lp.data()));
    lp.dispose();
  }
  return out;
}

export interface SteerCell {
  compliance: number;
  n: number;
}

export interface ModelEval {
  model: string;
  prompts: number;
  /** Prompts with a judge key: the denominator of score, correct, compliant. */
  judged: number;
  score: number | null;
  /** Standard error of the mean judge score over the prompts (its sampling noise). */
  scoreStderr: number | null;
  correct: number | null;
  compliant: number | null;
  reward: number | null;
  kl: number | null;
  winRate: number | null;
  /** Compliance under each system prompt (judged prompts only). */
  steer: Partial<Record<Exclude<SystemPromptKind, 'none'>, SteerCell>>;
  samples: { origin: string; answer: string; verdict: Verdict | null }[];
}

const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Standard error of the mean (sample sd / √n); null below two values. */
export function stderrOf(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
}

/** Judge verdicts of the answers (null for a prompt without a key). */
export function verdictsOf(prompts: readonly EvalPrompt[], answers: readonly Answer[]): (Verdict | null)[] {
  return prompts.map((p, i) => (p.key ? judge(p.key, answers[i]!.text) : null));
}

/** Win rate of `a` over `b` by judge score: 1 a win, ½ a tie, 0 a loss, averaged over prompts both were judged on. */
export function winRate(a: readonly (Verdict | null)[], b: readonly (Verdict | null)[]): number | null {
  const games = a.flatMap((v, i) => (v && b[i] ? [v.score > b[i]!.score ? 1 : v.score === b[i]!.score ? 0.5 : 0] : []));
  return mean(games);
}

/** Compliance rate per system prompt kind over the judged prompts. */
export function steerability(prompts: readonly EvalPrompt[], verdicts: readonly (Verdict | null)[]): ModelEval['steer'] {
  const out: ModelEval['steer'] = {};
  for (const kind of Object.keys(SYSTEM_PROMPTS) as Exclude<SystemPromptKind, 'none'>[]) {
    const xs = verdicts.flatMap((v, i) => (v && prompts[i]!.key!.system === kind ? [Number(v.compliant)] : []));
    if (xs.length) out[kind] = { compliance: mean(xs)!, n: xs.length };
  }
  return out;
}

export interface AlignEvalOptions {
  models: string[];
  prompts: EvalPrompt[];
  reward?: string;
  reference?: string;
  maxNewTokens: number;
  /** Answers kept per model in the report. */
  samples: number;
}

export interface AlignEvalReport {
  prompts: number;
  reference: string | null;
  rewardModel: string | null;
  models: ModelEval[];
}

/** RM scores of each answer: the rendered prompt, the reply, and the eos token where the model ended it. */
async function rewardScores(rm: RewardModel, m: ChatModel, answers: readonly Answer[]): Promise<number[]> {
  return rm.score(answers.map((a) => ({ prompt: a.promptText, response: a.text + (a.ended ? m.template.eosToken : '') })));
}

/** Every model of `o.models` answered, judged and scored; models are loaded one at a time. */
export async function evaluateAligned(o: AlignEvalOptions, log: (line: string) => void = () => {}): Promise<AlignEvalReport> {
  let rm: RewardModel | null = null;
  let ref: ChatModel | null = null;
  try {
    rm = o.reward ? await loadRewardModel(initCheckpointDir(o.reward)) : null;
    ref = o.reference ? await loadChatModel(o.reference) : null;
    const refVerdicts = ref ? verdictsOf(o.prompts, await answerPrompts(ref, o.prompts, o.maxNewTokens)) : null;
    const models: ModelEval[] = [];
    for (const dir of o.models) {
      const t0 = performance.now();
      const m = await loadChatModel(dir);
      try {
        const answers = await answerPrompts(m, o.prompts, o.maxNewTokens);
        const verdicts = verdictsOf(o.prompts, answers);
        const judged = verdicts.filter((v): v is Verdict => v !== null);
        let kl: number | null = null;
        if (ref) {
          // The reference scores the model's own token ids: only meaningful with the same vocabulary.
          if (m.model.config.vocabSize !== ref.model.config.vocabSize)
            throw new Error(`${dir}: vocabulary ${m.model.config.vocabSize} differs from the reference's (${ref.model.config.vocabSize})`);
          const lp = await answerLogProbs(m.model, answers);
          const lpRef = await answerLogProbs(ref.model, answers);
          kl = mean(lp.map((x, i) => x - lpRef[i]!));
        }
        models.push({
          model: dir,
          prompts: o.prompts.length,
          judged: judged.length,
          score: mean(judged.map((v) => v.score)),
          scoreStderr: stderrOf(judged.map((v) => v.score)),
          correct: mean(judged.map((v) => Number(v.correct))),
          compliant: mean(judged.map((v) => Number(v.compliant))),
          reward: rm ? mean(await rewardScores(rm, m, answers)) : null,
          kl,
          winRate: refVerdicts ? winRate(verdicts, refVerdicts) : null,
          steer: steerability(o.prompts, verdicts),
          samples: answers.slice(0, o.samples).map((a, i) => ({ origin: o.prompts[i]!.origin, answer: a.text, verdict: verdicts[i]! })),
        });
        log(`${dir}: ${o.prompts.length} answers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        m.model.dispose();
      }
    }
    return { prompts: o.prompts.length, reference: ref?.dir ?? null, rewardModel: o.reward ?? null, models };
  } finally {
    rm?.dispose();
    ref?.model.dispose();
  }
}

const fmt = (x: number | null, digits = 3): string => (x === null ? '–' : x.toFixed(digits));
const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

/** The report as two markdown tables: the judge and scores, then compliance per system prompt. */
export function alignEvalMarkdown(r: AlignEvalReport): string[] {
  const kinds = Object.keys(SYSTEM_PROMPTS) as Exclude<SystemPromptKind, 'none'>[];
  return [
    `${r.prompts} prompts${r.reference ? `; reference ${r.reference}` : ''}${r.rewardModel ? `; reward model ${r.rewardModel}` : ''}`,
    '',
    '| model | judge score | correct | compliant | RM score | KL to reference | win rate vs reference |',
    '|---|---|---|---|---|---|---|',
    ...r.models.map(
      (m) =>
        `| ${m.model} | ${fmt(m.score)} | ${pct(m.correct)} | ${pct(m.compliant)} | ${fmt(m.reward)} | ${fmt(m.kl)} | ${pct(m.winRate)} |`,
    ),
    '',
    `| model | ${kinds.map((k) => `"${SYSTEM_PROMPTS[k]}"`).join(' | ')} |`,
    `|---|${kinds.map(() => '---').join('|')}|`,
    ...r.models.map(
      (m) => `| ${m.model} | ${kinds.map((k) => (m.steer[k] ? `${pct(m.steer[k]!.compliance)} (n=${m.steer[k]!.n})` : '–')).join(' | ')} |`,
    ),
  ];
}
