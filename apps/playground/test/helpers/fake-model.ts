// A scripted stand-in for a checkpoint, for testing the HTTP layer without tensors: a character-level
// "model" whose next token is always the successor of the last one, emitted with a configurable delay.
import type {
  Alternative,
  GenerateHooks,
  GenerateRequest,
  GenerateResult,
  LoadedModel,
  ModelCard,
  ModelRegistry,
  SparsePattern,
} from '../../src/types';
import { resolveModelDir } from '../../src/models-dir';
import { abortError } from '../../src/queue';

const ALPHABET = ' abcdefghijklmnopqrstuvwxyz.\n';

export interface FakeStats {
  started: number;
  finished: number;
  aborted: number;
  maxConcurrent: number;
  requests: GenerateRequest[];
}

export class FakeModel implements LoadedModel {
  readonly vocabSize = ALPHABET.length;
  readonly contextLength = 64;
  readonly card: ModelCard;
  private running = 0;
  readonly stats: FakeStats = { started: 0, finished: 0, aborted: 0, maxConcurrent: 0, requests: [] };

  constructor(
    name: string,
    private readonly delayMs = 0,
  ) {
    this.card = {
      name,
      parameters: 1234,
      config: { vocabSize: this.vocabSize, nPositions: 64, nEmbd: 8, nLayer: 2, nHead: 2 },
      backend: 'fake',
      tokenizer: { type: 'chars', vocabSize: this.vocabSize, files: [] },
      contextLength: 64,
      nLayer: 2,
      nHead: 2,
      attention: [null, { type: 'local', window: 4 }],
    };
  }

  encode(text: string): number[] {
    return [...text].map((c) => {
      const i = ALPHABET.indexOf(c.toLowerCase());
      return i < 0 ? 0 : i;
    });
  }

  decode(ids: number[]): string {
    return ids.map((i) => ALPHABET[i]).join('');
  }

  tokenTexts(ids: number[]): string[] {
    return ids.map((i) => ALPHABET[i]!);
  }

  async generate(req: GenerateRequest, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    this.stats.started++;
    this.stats.requests.push(req);
    this.running++;
    this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.running);
    try {
      const ids: number[] = [];
      let last = req.promptIds[req.promptIds.length - 1]!;
      let text = '';
      let finishReason: GenerateResult['finishReason'] = 'length';
      for (let i = 0; i < req.strategy.maxNewTokens; i++) {
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        if (hooks.signal?.aborted) {
          this.stats.aborted++;
          throw abortError();
        }
        last = (last + 1) % this.vocabSize;
        ids.push(last);
        text += ALPHABET[last];
        hooks.onToken?.({ token: last, text: ALPHABET[last]!, logprob: Math.log(0.5) });
        const hit = req.strategy.stopStrings.find((s) => text.includes(s));
        if (hit) {
          text = text.slice(0, text.indexOf(hit));
          finishReason = 'stop';
          break;
        }
      }
      this.stats.finished++;
      return { ids, text, logprobs: ids.map(() => Math.log(0.5)), score: ids.length * Math.log(0.5), finishReason };
    } finally {
      this.running--;
    }
  }

  async topAlternatives(ids: number[], positions: number[], k: number): Promise<Alternative[][]> {
    return positions.map((p) => {
      const next = (ids[p - 1]! + 1) % this.vocabSize;
      const alts: Alternative[] = [{ token: next, text: ALPHABET[next]!, logprob: Math.log(0.5) }];
      for (let j = 1; j < k; j++) {
        const t = (next + j) % this.vocabSize;
        alts.push({ token: t, text: ALPHABET[t]!, logprob: Math.log(0.5 / (k - 1)) });
      }
      return alts;
    });
  }

  async attention(ids: number[], layer: number): Promise<number[][]> {
    // Uniform over the allowed keys.
    const mask = this.maskOf(layer, ids.length);
    return mask.map((row) => {
      const n = row.reduce((a, b) => a + b, 0);
      return row.map((m) => m / n);
    });
  }

  private maskOf(layer: number, T: number): number[][] {
    const window = layer === 1 ? 4 : Infinity;
    return Array.from({ length: T }, (_, q) => Array.from({ length: T }, (_, k) => (k <= q && q - k < window ? 1 : 0)));
  }

  sparsePattern(layer: number, length: number): SparsePattern | null {
    return layer === 1 ? { description: { type: 'local', window: 4 }, mask: this.maskOf(1, length) } : null;
  }
}

/** A registry over a real directory (so name checks are the real ones) that serves FakeModels. */
export class FakeRegistry implements ModelRegistry {
  readonly models = new Map<string, FakeModel>();
  constructor(
    readonly root: string,
    readonly names: string[],
    readonly delayMs = 0,
  ) {}

  async list(): Promise<string[]> {
    return [...this.names];
  }

  async load(name: string): Promise<FakeModel> {
    resolveModelDir(this.root, name);
    let m = this.models.get(name);
    if (!m) {
      m = new FakeModel(name, this.delayMs);
      this.models.set(name, m);
    }
    return m;
  }
}
