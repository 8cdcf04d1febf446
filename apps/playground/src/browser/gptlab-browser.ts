// The playground's "run in this browser" bundle (built to dist/browser/gptlab-browser.js by
// scripts/browser-bundle.mjs): gptlab's packages through their `browser` entries, so the page fetches a
// checkpoint's files from /browser/models/NAME/ and generates with tfjs in the page (webgpu, webgl, wasm or
// cpu, whichever initialises first). Requests take the playground API's body and report the same events
// (start, token, done) as its server-sent events, so the UI shows both modes alike.
import '@tensorflow/tfjs-backend-webgpu';
import { describeBackend, initBackendInfo, type BackendName } from '@gptlab/tensor';
import { fetchBytes, fileURL, loadGPTFromURL, type GPT } from '@gptlab/model';
import { BPETokenizer, TOKENIZER_FILES } from '@gptlab/tokenizer';
import { generateAll, gptLanguageModel, resultToJSON, stream, strategyFromJSON, type StrategyInput } from '@gptlab/decoding';
import { abortableLanguageModel } from '../abortable';

export interface LocalLoadOptions {
  /** URL prefix of the .wasm files of @tensorflow/tfjs-backend-wasm (the playground serves /browser/wasm/). */
  wasmPaths?: string;
  /** Force a backend instead of the first that initialises. */
  backend?: BackendName;
}

/** The playground API's generate body: a prompt, the strategy, and strategy fields at the top level. */
export interface LocalGenerateBody {
  prompt: string;
  strategy?: StrategyInput;
  [field: string]: unknown;
}

export type EventHandlers = Partial<Record<'start' | 'token' | 'done', (data: unknown) => void>>;

async function fetchTokenizer(base: string): Promise<BPETokenizer | null> {
  const files: Record<string, ArrayBuffer> = {};
  for (const name of TOKENIZER_FILES) {
    const bytes = await fetchBytes(fileURL(base, name));
    if (bytes) files[name] = bytes;
  }
  return Object.keys(files).length ? BPETokenizer.fromFiles(files) : null;
}

export class LocalModel {
  private constructor(
    readonly name: string,
    readonly backend: string,
    private readonly gpt: GPT,
    private readonly tok: BPETokenizer,
    private readonly eosTokenId: number | null,
  ) {}

  /** Fetches config.json, the safetensors and the tokenizer files under `base` and builds the model. */
  static async load(name: string, base: string, opts: LocalLoadOptions = {}): Promise<LocalModel> {
    const info = await initBackendInfo({ backend: opts.backend, wasmPaths: opts.wasmPaths });
    const gpt = await loadGPTFromURL(base);
    const tok = await fetchTokenizer(base);
    if (!tok) {
      gpt.dispose();
      throw new Error(`${base}: the checkpoint has no tokenizer files (${TOKENIZER_FILES.join(', ')})`);
    }
    // The end-of-text token as the server picks it: config.json's eos_token_id, else <|endoftext|>.
    const eos = gpt.config.eosTokenId ?? tok.tokenToId('<|endoftext|>') ?? null;
    const eosTokenId = eos !== null && eos < gpt.config.vocabSize ? eos : null;
    return new LocalModel(name, describeBackend(info), gpt, tok, eosTokenId);
  }

  private tokenTexts(ids: number[]): string[] {
    return ids.map((id) => this.tok.decode([id]));
  }

  /** Generates as POST /api/generate with `accept: text/event-stream` does, calling `on` per event. */
  async generate(body: LocalGenerateBody, signal: AbortSignal | undefined, on: EventHandlers): Promise<void> {
    const { prompt, strategy: nested = {}, model: _model, topAlternatives: _alts, ...fields } = body;
    const defaults = this.eosTokenId === null ? {} : { eosTokenId: this.eosTokenId };
    const strategy = strategyFromJSON({ ...nested, ...fields }, { vocabSize: this.gpt.config.vocabSize, defaults });
    const promptIds = this.tok.encode(prompt);
    if (promptIds.length === 0) throw new Error('the prompt encodes to no tokens');
    if (promptIds.length + strategy.maxNewTokens > this.gpt.config.nPositions) {
      throw new Error(
        `prompt (${promptIds.length} tokens) + maxNewTokens (${strategy.maxNewTokens}) exceeds the model's context of ${this.gpt.config.nPositions} tokens`,
      );
    }
    on.start?.({ promptIds, promptTokens: this.tokenTexts(promptIds) });
    const lm = abortableLanguageModel(gptLanguageModel(this.gpt), signal);
    const codec = {
      encode: (t: string) => this.tok.encode(t),
      decode: (ids: number[]) => this.tok.decode(ids),
      tokenBytes: (id: number) => this.tok.tokenBytes(id),
      vocabSize: this.tok.vocabSize,
    };
    const opts = { strategy, tokenizer: codec };
    let result;
    if (strategy.type === 'beam' || strategy.numReturnSequences > 1) {
      result = (await generateAll(lm, promptIds, opts))[0]!;
    } else {
      const it = stream(lm, promptIds, opts);
      for (;;) {
        const step = await it.next();
        if (step.done) {
          result = step.value;
          break;
        }
        on.token?.(step.value);
      }
    }
    on.done?.({ ...resultToJSON(result), tokens: this.tokenTexts(result.ids) });
  }

  dispose(): void {
    this.gpt.dispose();
  }
}

/** Loads model `name` from `base` (default /browser/models/NAME/). */
export function loadLocalModel(name: string, opts: LocalLoadOptions & { base?: string } = {}): Promise<LocalModel> {
  return LocalModel.load(name, opts.base ?? `/browser/models/${encodeURIComponent(name)}/`, opts);
}
