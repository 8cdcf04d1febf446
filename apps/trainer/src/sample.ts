// Text from a model under training: the evaluation sample of pretraining and the demo's final samples.
import { generate, gptLanguageModel, type GenerateResult } from '@gptlab/decoding';
import type { GPT } from '@gptlab/model';
import type { BPETokenizer } from '@gptlab/tokenizer';

/** Decodes a continuation of `prompt` (greedy by default, or any decoding options of @gptlab/decoding). */
export async function sampleText(
  model: GPT,
  tokenizer: BPETokenizer,
  prompt: string,
  options: Record<string, unknown> & { maxNewTokens: number },
): Promise<string> {
  const eos = tokenizer.eosId;
  const ids = prompt ? tokenizer.encode(prompt) : [eos ?? 0];
  const room = model.config.nPositions - ids.length;
  if (room < 1) return '';
  const r = (await generate(gptLanguageModel(model), ids, {
    ...options,
    maxNewTokens: Math.min(options.maxNewTokens, room),
    tokenizer,
    ...(eos !== undefined ? { eosTokenId: eos } : {}),
  })) as GenerateResult;
  return r.text;
}
