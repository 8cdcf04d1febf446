// LAMBADA-style last-word prediction (Paperno et al. 2016; GPT-2 §3.3), scored as lm-evaluation-harness's
// `lambada` task: the context is the passage up to its last space, the target is " " + the last word; `acc`
// counts passages whose target greedy decoding would produce token for token (lm-eval's is_greedy), and
// `perplexity` is exp(−mean log-likelihood of the targets).
import { expectObject, readJsonlFile, stringField, JsonlError } from '@gptlab/common/node';
import { encodePair, loglikelihoods, type EncodingTokenizer, type ScoringModel } from './loglikelihood';
import { meanStderr } from './multiple-choice';

export interface LastWordReport {
  acc: number;
  acc_stderr: number | null;
  perplexity: number;
  n: number;
  samples: { loglikelihood: number; is_greedy: boolean }[];
}

/** Passages of a JSONL file, `{"text": str}` a line, each with at least two words. */
export function readLastWordFile(file: string): string[] {
  const texts = readJsonlFile(file).map(({ value, line }) => {
    const text = stringField(expectObject(value, file, line), 'text', file, line).trim();
    if (!/\S\s+\S/.test(text)) throw new JsonlError(file, line, 'field "text" needs at least two words (a context and the last word)');
    return text;
  });
  if (texts.length === 0) throw new Error(`${file}: no items`);
  return texts;
}

/** (context, " " + last word) of a passage, split at its last run of whitespace. */
export function splitLastWord(text: string): { context: string; target: string } {
  const t = text.trim();
  const cut = t.search(/\s+\S+$/);
  return { context: t.slice(0, cut), target: ' ' + t.slice(cut).trim() };
}

export function evaluateLastWord(model: ScoringModel, tok: EncodingTokenizer, texts: string[], batchSize = 1): LastWordReport {
  const requests = texts.map((text) => {
    const { context, target } = splitLastWord(text);
    return encodePair(tok, context, target, model.config.eosTokenId);
  });
  const scores = loglikelihoods(model, requests, batchSize);
  const hits = scores.map((s) => (s.isGreedy ? 1 : 0));
  const meanLL = scores.reduce((sum, s) => sum + s.loglikelihood, 0) / scores.length;
  return {
    acc: hits.reduce((a: number, b) => a + b, 0) / hits.length,
    acc_stderr: meanStderr(hits),
    perplexity: Math.exp(-meanLL),
    n: texts.length,
    samples: scores.map((s) => ({ loglikelihood: s.loglikelihood, is_greedy: s.isGreedy })),
  };
}
