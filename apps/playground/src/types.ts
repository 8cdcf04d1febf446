// The small internal interfaces the HTTP layer, the CLI and the UI are written against. The real
// implementation (src/real.ts) wires @gptlab/model, @gptlab/tokenizer and @gptlab/decoding behind them;
// tests can substitute a scripted fake model. Decoding strategies are @gptlab/decoding's own types.
import type { GenerateResultJSON, Strategy } from '@gptlab/decoding';
import type { ImageInput } from './vision';

/** A generation request: prompt ids and a validated strategy (@gptlab/decoding's, with the checkpoint's EOS). */
export interface GenerateRequest {
  promptIds: number[];
  strategy: Strategy;
  /** A gray image read before the prompt (vision checkpoints only; see vision.ts). */
  image?: ImageInput;
}

/**
 * The object printed by `generate --json` and returned by POST /api/generate: @gptlab/decoding's result JSON
 * of the first (for beam: best) sequence, plus all of them when numReturnSequences > 1.
 */
export type GenerateResult = GenerateResultJSON & { sequences?: GenerateResultJSON[] };

/** One streamed token: its id, the text it completes (never half a UTF-8 character) and its raw log-prob. */
export interface TokenEvent {
  token: number;
  text: string;
  logprob: number;
}

export interface Alternative {
  token: number;
  text: string;
  logprob: number;
}

/** What the model card shows. */
export interface ModelCard {
  name: string;
  parameters: number;
  config: Record<string, unknown>;
  backend: string;
  tokenizer: { type: string; vocabSize: number; files: string[] };
  contextLength: number;
  nLayer: number;
  nHead: number;
  /** Per layer: null for dense attention, else a short description of the sparse pattern. */
  attention: (Record<string, unknown> | null)[];
}

export interface GenerateHooks {
  signal?: AbortSignal;
  /** Called by the Generator when the request leaves the queue and starts (not by the model). */
  onStart?: () => void;
  onToken?: (ev: TokenEvent) => void;
}

/** The sparse-attention pattern of one layer over T positions: a T×T 0/1 mask and, when available, an SVG. */
export interface SparsePattern {
  description: Record<string, unknown>;
  mask: number[][];
  svg?: string;
}

export interface LoadedModel {
  readonly card: ModelCard;
  readonly contextLength: number;
  readonly vocabSize: number;
  /** The checkpoint's end-of-text token: requests that give no eosTokenId stop there (null: none). */
  readonly eosTokenId?: number | null;
  /** The image a vision checkpoint reads before the prompt (null or absent: text only). */
  readonly imageSize?: { height: number; width: number; visualTokens: number } | null;
  encode(text: string): number[];
  /**
   * A rendered chat template's ids: like `encode`, but the tokenizer's special tokens (`<|endoftext|>`, added
   * tokens) written in the text become their ids, as Hugging Face tokenises apply_chat_template's output and
   * gptlab-train sft encodes its conversations. Absent: `encode`.
   */
  encodeChat?(text: string): number[];
  decode(ids: number[]): string;
  /** The text of each token on its own (for labels; may contain partial UTF-8 shown as U+FFFD). */
  tokenTexts(ids: number[]): string[];
  generate(req: GenerateRequest, hooks?: GenerateHooks): Promise<GenerateResult>;
  /** Throws HttpError(400) when `req` cannot run on this model (checked before a stream starts). */
  checkRequest?(req: GenerateRequest): void;
  /**
   * Under the model's unprocessed distribution, for each of `positions` (indexes into `ids`, each ≥ 1),
   * the `k` most likely tokens given ids[0..pos).
   */
  topAlternatives(ids: number[], positions: number[], k: number): Promise<Alternative[][]>;
  /** Attention probabilities [T][T] (query × key) of one layer/head over `ids`. */
  attention(ids: number[], layer: number, head: number, image?: ImageInput): Promise<number[][]>;
  /** The sparse pattern of `layer` over `length` positions, or null when the layer is dense. */
  sparsePattern(layer: number, length: number): SparsePattern | null;
  /** The checkpoint's chat template (tokenizer_config.json), or null when it has none (chat requests get a 400). */
  readonly chatTemplate?: ChatTemplate | null;
  /** Continuous batching of this model's greedy / sample generations, or null (each runs alone, in the queue). */
  readonly batch?: BatchEngine | null;
  /** Frees the weights (with a batch engine: once it has gone idle). */
  dispose?(): void;
}

/**
 * One model's continuous batching (RealModel: @gptlab/decoding's BatchedGenerator): concurrent requests decode
 * together, up to `maxBatch` rows per step; the rest wait in its FIFO.
 */
export interface BatchEngine {
  readonly maxBatch: number;
  /** Whether `req` can join the batch: greedy or sample with numReturnSequences ≤ maxBatch (beams cannot). */
  accepts(req: GenerateRequest): boolean;
  /** Generates `req` in the batch; `hooks.signal` takes its rows out at the next step (rejecting with an AbortError). */
  generate(req: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult>;
  /** Rows decoding now and requests waiting for a row. */
  readonly rows: number;
  readonly waiting: number;
}

/** A Hugging Face chat template: Jinja source and the special tokens it may refer to. */
export interface ChatTemplate {
  source: string;
  bosToken?: string;
  eosToken?: string;
}

export interface ModelRegistry {
  /** Names of the checkpoints available. */
  list(): Promise<string[]>;
  /** Load (or fetch from cache) a checkpoint by name; throws HttpError(404) for unknown names. */
  load(name: string): Promise<LoadedModel>;
  /** Like `load`, but the model is not disposed (even when evicted from a cache) until `release()`. */
  acquire?(name: string): Promise<ModelLease>;
}

/** A model held by one request; `release()` (idempotent) lets the registry dispose it once evicted. */
export interface ModelLease {
  model: LoadedModel;
  release(): void;
}

/** Runs `fn` with model `name` held (not disposed even if evicted meanwhile), releasing it afterwards. */
export async function withModel<T>(registry: ModelRegistry, name: string, fn: (model: LoadedModel) => Promise<T>): Promise<T> {
  const lease = await acquireModel(registry, name);
  try {
    return await fn(lease.model);
  } finally {
    lease.release();
  }
}

/** `registry.acquire(name)`, or a lease whose release does nothing for registries that never dispose. */
export async function acquireModel(registry: ModelRegistry, name: string): Promise<ModelLease> {
  if (registry.acquire) return registry.acquire(name);
  return { model: await registry.load(name), release: () => undefined };
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly extra: {
      /** Extra response headers (Retry-After on a 429). */
      headers?: Record<string, string>;
      /** The request field at fault (OpenAI's error `param`). */
      param?: string;
    } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
