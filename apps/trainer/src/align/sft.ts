// Supervised fine-tuning for alignment (InstructGPT's step 1, TRL's SFTTrainer with assistant-only loss): the
// next-token loss on the assistant tokens of chat conversations rendered by the chat template, every prompt
// token (system, user, the template's role markers) masked out. Optional packing concatenates conversations
// into rows of the model's context (TRL's packing=True), which wastes no compute on padding; a packed row's
// conversations attend to each other as in TRL's default packing, but no target crosses a boundary.
import { Rng } from '@gptlab/common';
import { tf, IGNORE_INDEX } from '@gptlab/tensor';
import { saveGPT, type GPT } from '@gptlab/model';
import { LocalGradients, type LossFn } from '../train/gradients';
import { chunkSeeds } from '../train/batches';
import { Trainer, type BatchSource, type EvalResult, type TrainerHooks, type TrainResult } from '../train/trainer';
import { namedWeights } from '../lm';
import { inBatches, PAIR_RUN_DEFAULTS, pairTrainerOptions, type PairRunOptions } from './logprobs';
import type { ChatTemplate } from './template';
import type { ChatMessage } from './chat';

/** TRL SFTConfig's defaults: TrainingArguments' (as for reward and DPO), with lr 2e-5 and 3 epochs. */
export const SFT_DEFAULTS = { ...PAIR_RUN_DEFAULTS, epochs: 3, lr: 2e-5 };

export interface SftTokenizer {
  encode(text: string, opts?: { allowedSpecial?: 'all' }): number[];
  saveGPT2Files(dir: string): unknown;
  readonly eosId?: number;
}

/** One training sequence: ids and, per position t, the target ids[t+1] where that is an assistant token. */
export interface SftSequence {
  ids: number[];
  targets: number[];
}

/**
 * A conversation as ids and masked targets. Each template segment is encoded on its own (special tokens such as
 * <|endoftext|> recognised), so the mask follows segment boundaries exactly; sequences are cut to `maxLen`.
 */
export function encodeConversation(
  tok: SftTokenizer,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  maxLen: number,
): SftSequence {
  const ids: number[] = [];
  const trainable: boolean[] = [];
  for (const seg of template.segments(messages)) {
    for (const id of tok.encode(seg.text, { allowedSpecial: 'all' })) {
      ids.push(id);
      trainable.push(seg.train);
    }
  }
  ids.length = Math.min(ids.length, maxLen);
  const targets = ids.map((_, t) => (t + 1 < ids.length && trainable[t + 1] ? ids[t + 1]! : IGNORE_INDEX));
  return { ids, targets };
}

export const trainedTokens = (s: SftSequence): number => s.targets.filter((t) => t !== IGNORE_INDEX).length;

/** Packing: sequences concatenated greedily, in order, into rows of at most `maxLen` tokens. */
export function packSequences(seqs: readonly SftSequence[], maxLen: number): SftSequence[] {
  const rows: SftSequence[] = [];
  let cur: SftSequence = { ids: [], targets: [] };
  for (const s of seqs) {
    if (cur.ids.length + s.ids.length > maxLen && cur.ids.length > 0) {
      rows.push(cur);
      cur = { ids: [], targets: [] };
    }
    cur.ids.push(...s.ids);
    cur.targets.push(...s.targets);
  }
  if (cur.ids.length) rows.push(cur);
  return rows;
}

export interface SftBatch {
  ids: Int32Array;
  targets: Int32Array;
  rows: number;
  T: number;
}

/** Rows right-padded to the longest (causal attention: pads are never attended to by real tokens). */
export function makeSftBatch(seqs: readonly SftSequence[], pad: number): SftBatch {
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(seqs.length * T).fill(pad);
  const targets = new Int32Array(seqs.length * T).fill(IGNORE_INDEX);
  seqs.forEach((s, i) => {
    ids.set(s.ids, i * T);
    targets.set(s.targets, i * T);
  });
  return { ids, targets, rows: seqs.length, T };
}

/** Mean cross-entropy over the batch's assistant tokens (TRL: the mean over every non-masked token). */
export function sftLoss(model: GPT): LossFn<SftBatch> {
  return (b, ctx) =>
    tf.tidy(() =>
      model.loss(tf.tensor2d(b.ids, [b.rows, b.T], 'int32'), tf.tensor2d(b.targets, [b.rows, b.T], 'int32'), {
        training: ctx.training,
        seed: ctx.seed,
      }),
    );
}

/** Epochs of shuffled batches; each epoch's order is a pure function of (seed, epoch), so --resume is exact. */
function sftBatches(
  seqs: readonly SftSequence[],
  o: { batchSize: number; seed: number },
  pad: number,
): BatchSource<SftBatch> & { stepsPerEpoch: number } {
  const stepsPerEpoch = Math.ceil(seqs.length / o.batchSize);
  return {
    stepsPerEpoch,
    next(step) {
      const order = new Rng(o.seed * 1000003 + Math.floor(step / stepsPerEpoch)).shuffle(seqs.map((_, i) => i));
      const first = (step % stepsPerEpoch) * o.batchSize;
      const b = makeSftBatch(
        order.slice(first, first + o.batchSize).map((i) => seqs[i]!),
        pad,
      );
      return { chunks: [b], seeds: chunkSeeds(o.seed, step, 1), tokens: b.rows * b.T };
    },
    getState: () => null,
    setState: () => {},
  };
}

/** Token-weighted mean loss over `seqs` (no dropout). */
export async function sftEvalLoss(model: GPT, seqs: readonly SftSequence[], batchSize: number, pad: number): Promise<number> {
  let sum = 0;
  let n = 0;
  for (const group of inBatches(seqs, batchSize)) {
    const k = group.reduce((a, s) => a + trainedTokens(s), 0);
    if (k === 0) continue;
    const loss = tf.tidy(() => sftLoss(model)(makeSftBatch(group, pad), { seed: 0, step: 0, chunk: 0, training: false }));
    sum += (await loss.data())[0]! * k;
    loss.dispose();
    n += k;
  }
  return n ? sum / n : NaN;
}

export interface SftRunOptions extends PairRunOptions {
  packing?: boolean;
}

export interface SftRunResult {
  run: TrainResult;
  evalLoss: number | null;
  trainSequences: number;
}

/** Fine-tunes `model` on the conversations; checkpoints carry the chat template. */
export async function trainSft(
  model: GPT,
  tok: SftTokenizer,
  template: ChatTemplate,
  data: { train: ChatMessage[][]; held: ChatMessage[][] },
  o: SftRunOptions,
  io: { stderr: (s: string) => void; isTTY: boolean } = { stderr: () => {}, isTTY: false },
  hooks: TrainerHooks = {},
): Promise<SftRunResult> {
  const T = model.config.nPositions;
  // The template separates turns with eos_token; without it as a special token the separator would be plain text.
  if (tok.eosId === undefined)
    throw new Error(`sft: the tokenizer has no ${template.eosToken} special token (the chat template's turn end)`);
  const pad = tok.eosId;
  const encode = (convs: ChatMessage[][]) => convs.map((m) => encodeConversation(tok, template, m, T)).filter((s) => trainedTokens(s) > 0);
  const encoded = encode(data.train);
  if (encoded.length === 0) throw new Error('sft: no training conversation keeps an assistant token within the context');
  const train = o.packing ? packSequences(encoded, T) : encoded;
  const held = encode(data.held);
  const params = namedWeights(model);
  const batches = sftBatches(train, o, pad);
  let last: { step: number; loss: number } | undefined;
  const evaluate = async (step: number): Promise<EvalResult> => {
    const loss = await sftEvalLoss(model, held, o.batchSize, pad);
    last = { step, loss };
    return { loss, metrics: { eval_loss: loss }, line: `eval loss ${loss.toFixed(4)}` };
  };
  const trainer = new Trainer<SftBatch>(
    {
      params,
      gradients: new LocalGradients(params, sftLoss(model)),
      batches,
      evaluate: held.length ? evaluate : undefined,
      saveModel: (dir, step) =>
        saveGPT(model, dir, { tokenizer: tok, chatTemplate: template.spec.source, metadata: { task: 'sft', step: String(step) } }),
    },
    pairTrainerOptions(o, batches.stepsPerEpoch),
    io,
    hooks,
  );
  const run = await trainer.train();
  const evalLoss = !held.length ? null : last?.step === run.step ? last.loss : await sftEvalLoss(model, held, o.batchSize, pad);
  return { run, evalLoss, trainSequences: train.length };
}
