// The real model behind the playground: @gptlab/model's GPT (HF GPT-2 layout checkpoints), the checkpoint's
// BPE tokenizer from @gptlab/tokenizer, decoding from @gptlab/decoding and sparse patterns from
// @gptlab/sparse-attention, adapted to the small LoadedModel interface the server and CLI use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, initBackend, describeBackend } from '@gptlab/tensor';
import { countParameters, loadGPT, type GPT, type GPTConfig, type VisionGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { gptLanguageModel, generateAll, stream as decodeStream, type GPTLike } from '@gptlab/decoding';
import { compileLayout, elementMask, patternToString, renderLayoutSVG, type AttentionPattern } from '@gptlab/sparse-attention';
import { DEFAULT_MAX_BATCH, ModelBatchEngine, withSequences } from './batch-engine';
import { abortableLanguageModel } from './abortable';
import { DirRegistry } from './models-dir';
import { loadChatTemplate } from './v1/chat-template';
import { checkImage, conditionOn, imageSizeOf, loadVision, type ImageInput } from './vision';
import {
  HttpError,
  type Alternative,
  type GenerateHooks,
  type GenerateRequest,
  type ChatTemplate,
  type GenerateResult,
  type LoadedModel,
  type ModelCard,
  type SparsePattern,
} from './types';

/** The text side of a checkpoint: encode, decode and (for exact streaming) the raw bytes of a token. */
export interface TextCodec {
  encode(text: string): number[];
  /** `encode` with the tokenizer's special tokens recognised (for rendered chat templates). */
  encodeWithSpecials?(text: string): number[];
  decode(ids: number[]): string;
  tokenBytes?(id: number): Uint8Array;
  readonly vocabSize: number;
}

// Re-exported where it always was (the server's callers import it from here).
export { abortableLanguageModel };

const TOKENIZER_FILES: [string, ...string[]][] = [['tokenizer.json'], ['vocab.json', 'merges.txt'], ['encoder.json', 'vocab.bpe']];

/**
 * Reads the checkpoint's tokenizer (tokenizer.json, or vocab.json + merges.txt, or encoder.json + vocab.bpe),
 * or null when the directory has none (then only token ids can be used).
 */
export async function loadTokenizer(dir: string): Promise<{ codec: TextCodec; files: string[] } | null> {
  const files = TOKENIZER_FILES.find((set) => set.every((f) => fs.existsSync(path.join(dir, f))));
  if (!files) return null;
  const tok = BPETokenizer.fromDir(dir);
  const codec: TextCodec = {
    encode: (text) => tok.encode(text),
    encodeWithSpecials: (text) => tok.encode(text, { allowedSpecial: 'all' }),
    decode: (ids) => tok.decode(ids),
    tokenBytes: (id) => tok.tokenBytes(id), // exact bytes let @gptlab/decoding cut streamed text at UTF-8 boundaries
    vocabSize: tok.vocabSize,
  };
  return { codec, files };
}

/** The end-of-text token: config.json's eos_token_id when inside the vocabulary, else vocab.json's <|endoftext|>. */
export function findEosTokenId(dir: string, vocabSize: number): number | null {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const e = cfg.eos_token_id;
    if (typeof e === 'number' && Number.isInteger(e) && e >= 0 && e < vocabSize) return e;
  } catch {
    // loadGPT reports a bad config.json
  }
  try {
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    const e = vocab['<|endoftext|>'];
    if (typeof e === 'number' && e < vocabSize) return e;
  } catch {
    // no vocab.json
  }
  return null;
}

export interface RealModelOptions {
  /** Stop at the end-of-text token (default true, as Hugging Face generate does). */
  stopAtEos?: boolean;
  /**
   * Rows the server decodes together for this model (continuous batching of greedy / sample requests; default
   * DEFAULT_MAX_BATCH). 1: no batch engine, every generation runs alone. `generate` below never batches.
   */
  maxBatch?: number;
}

export class RealModel implements LoadedModel {
  readonly card: ModelCard;
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly eosTokenId: number | null;
  /** tokenizer_config.json's chat_template (for /v1/chat/completions), or null. */
  chatTemplate: ChatTemplate | null = null;
  /** The server's continuous batching for this model (null with maxBatch 1). */
  readonly batch: ModelBatchEngine | null;
  /** The image side of a vision checkpoint (gptlab-train vision), or null. */
  vision: VisionGPT | null = null;

  get imageSize(): { height: number; width: number; visualTokens: number } | null {
    return imageSizeOf(this.vision);
  }

  private constructor(
    readonly gpt: GPT,
    readonly codec: TextCodec | null,
    card: ModelCard,
    eosTokenId: number | null,
    maxBatch: number,
  ) {
    this.card = card;
    this.contextLength = gpt.config.nPositions;
    this.vocabSize = gpt.config.vocabSize;
    this.eosTokenId = eosTokenId;
    this.batch = maxBatch > 1 ? new ModelBatchEngine(gpt, codec ?? undefined, maxBatch) : null;
  }

  static async load(dir: string, name = path.basename(dir), opts: RealModelOptions = {}): Promise<RealModel> {
    await initBackend();
    const vision = await loadVision(dir);
    const gpt = vision?.gpt ?? (await loadGPT(dir));
    const tok = await loadTokenizer(dir);
    const c: GPTConfig = gpt.config;
    if (tok && tok.codec.vocabSize > c.vocabSize) {
      gpt.dispose();
      throw new Error(
        `${dir}: the tokenizer has ${tok.codec.vocabSize} tokens but the model's vocab_size is ${c.vocabSize} (vocab.json does not belong to this checkpoint)`,
      );
    }
    const card: ModelCard = {
      name,
      parameters: countParameters(c),
      config: { ...c },
      backend: describeBackend(),
      tokenizer: tok
        ? { type: 'byte-level BPE (GPT-2)', vocabSize: tok.codec.vocabSize, files: tok.files }
        : { type: 'none (token ids only)', vocabSize: c.vocabSize, files: [] },
      contextLength: c.nPositions,
      nLayer: c.nLayer,
      nHead: c.nHead,
      attention: Array.from({ length: c.nLayer }, (_, i) => {
        const p = c.attention?.[i];
        return p && p.type !== 'dense' ? { ...p, spec: patternToString(p) } : null;
      }),
    };
    const eos = opts.stopAtEos === false ? null : findEosTokenId(dir, c.vocabSize);
    const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      gpt.dispose();
      throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
    }
    const model = new RealModel(gpt, tok?.codec ?? null, card, eos, maxBatch);
    model.vision = vision;
    if (vision) card.config.vision = imageSizeOf(vision);
    try {
      model.chatTemplate = loadChatTemplate(dir);
    } catch (e) {
      gpt.dispose();
      throw e;
    }
    return model;
  }

  private requireCodec(what: string): TextCodec {
    if (!this.codec)
      throw new HttpError(400, `${this.card.name} has no tokenizer files (vocab.json + merges.txt): ${what} needs token ids`);
    return this.codec;
  }

  encode(text: string): number[] {
    return this.requireCodec('a text prompt').encode(text);
  }

  encodeChat(text: string): number[] {
    const codec = this.requireCodec('a chat prompt');
    return codec.encodeWithSpecials ? codec.encodeWithSpecials(text) : codec.encode(text);
  }

  decode(ids: number[]): string {
    return this.codec ? this.codec.decode(ids) : '';
  }

  tokenTexts(ids: number[]): string[] {
    return ids.map((id) => (this.codec ? this.codec.decode([id]) : `#${id}`));
  }

  checkRequest(req: GenerateRequest): void {
    checkImage(this.vision, req.image, this.card.name);
    if (req.strategy.stopStrings.length > 0 && !this.codec)
      throw new HttpError(400, 'stop strings need the checkpoint tokenizer (vocab.json + merges.txt)');
  }

  async generate(req: GenerateRequest, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    const conditioned = conditionOn(this.vision, req.image, this.card.name);
    try {
      return await this.generateOn(conditioned ?? this.gpt, req, hooks);
    } finally {
      conditioned?.dispose();
    }
  }

  private async generateOn(gpt: GPTLike, req: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult> {
    const lm = abortableLanguageModel(gptLanguageModel(gpt), hooks.signal);
    const opts = { strategy: req.strategy, tokenizer: this.codec ?? undefined };
    if (req.strategy.type === 'beam' || req.strategy.numReturnSequences > 1 || !hooks.onToken) {
      const all = await generateAll(lm, req.promptIds, opts);
      const first = all[0]!;
      if (hooks.onToken && this.codec) {
        // Beam search cannot stream; report the final sequence's tokens once it is known.
        this.tokenTexts(first.ids).forEach((text, i) => hooks.onToken!({ token: first.ids[i]!, text, logprob: first.logprobs[i]! }));
      }
      return withSequences(all);
    }
    const it = decodeStream(lm, req.promptIds, opts);
    for (;;) {
      const step = await it.next();
      if (step.done) return withSequences([step.value]);
      hooks.onToken(step.value);
    }
  }

  async topAlternatives(ids: number[], positions: number[], k: number): Promise<Alternative[][]> {
    const T = ids.length;
    const kk = Math.min(k, this.vocabSize);
    const [vals, idx] = tf.tidy(() => {
      const { logits } = this.gpt.forward(tf.tensor2d(ids, [1, T], 'int32'));
      const lp = tf.logSoftmax(tf.reshape(logits, [T, this.vocabSize]));
      const rows = tf.gather(
        lp,
        tf.tensor1d(
          positions.map((p) => p - 1),
          'int32',
        ),
      );
      const { values, indices } = tf.topk(rows, kk);
      return [values, indices];
    });
    const v = (await vals.array()) as number[][];
    const ix = (await idx.array()) as number[][];
    tf.dispose([vals, idx]);
    return ix.map((row, r) => row.map((token, j) => ({ token, text: this.tokenTexts([token])[0]!, logprob: v[r]![j]! })));
  }

  async attention(ids: number[], layer: number, head: number, image?: ImageInput): Promise<number[][]> {
    const conditioned = conditionOn(this.vision, image, this.card.name);
    const n = ids.length + (conditioned?.prefixLength ?? 0); // an image's visual tokens come first
    const probs = tf.tidy(() => {
      const out = (conditioned ?? this.gpt).forward(tf.tensor2d(ids, [1, ids.length], 'int32'), { attentionProbs: { layer, head } });
      return tf.reshape(out.attention!, [n, n]);
    });
    conditioned?.dispose();
    const arr = (await probs.array()) as number[][];
    probs.dispose();
    return arr;
  }

  sparsePattern(layer: number, length: number): SparsePattern | null {
    const p = this.gpt.config.attention?.[layer] as AttentionPattern | undefined;
    if (!p || p.type === 'dense') return null;
    const flat = elementMask(p, length, length);
    const mask: number[][] = [];
    for (let q = 0; q < length; q++) mask.push(Array.from(flat.subarray(q * length, (q + 1) * length)));
    return {
      description: { ...p, spec: patternToString(p) },
      mask,
      svg: renderLayoutSVG(compileLayout(p, length), { cellSize: Math.max(4, Math.floor(240 / Math.ceil(length / 32))) }),
    };
  }

  /**
   * Frees the weights. With a batch engine: it takes no more requests and the weights go once the batch is idle
   * (an aborted request leaves its row in the batched cache until the engine's next step).
   */
  dispose(): void {
    const free = () => {
      this.gpt.dispose();
      this.vision?.vision.dispose();
    };
    if (this.batch) this.batch.disposeWhenIdle(free);
    else free();
  }
}

/** The registry `serve` uses: checkpoints one level below `modelsDir`, loaded with RealModel. */
export function realRegistry(modelsDir: string, opts: RealModelOptions & { maxLoaded?: number } = {}): DirRegistry {
  return new DirRegistry(modelsDir, (dir, name) => RealModel.load(dir, name, opts), opts.maxLoaded ?? 2);
}
