// What a scaling run is measured on, the same fixed text for every size and seed (so the runs differ only in the
// model): the loss is the rolling-perplexity NLL per token of held-out Brown text (the last file of each of the
// 15 Brown categories; never trained on: `writeBrownTrainingCorpus` leaves those files out), and the capability
// is LAMBADA-style last-word prediction on passages cut from the same held-out files — its mean log-probability
// of the correct word (GPT-4 fitted the mean log pass rate on HumanEval in the same spirit: a smooth function
// of the model that a power law can extrapolate) and its accuracy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@gptlab/common/node';
import { brownCategories, brownCorpusPath, brownFileText } from '@gptlab/data';
import { brownHeldOutFiles, brownHeldOutText, brownLastWordPassages } from '../evaluation/brown-tasks';
import { evaluateLastWord } from '../evaluation/last-word';
import type { EncodingTokenizer, ScoringModel } from '../evaluation/loglikelihood';
import { rollingPerplexity } from '../evaluation/rolling-perplexity';

export interface EvalSet {
  /** Held-out text for the loss. */
  text: string;
  /** Last-word passages for the capability. */
  passages: string[];
}

export interface RunMeasurement {
  /** Mean NLL per token (nats) of the held-out text, every window the model's context long. */
  loss: number;
  /** −mean log P(correct last word | passage), nats: the capability metric the law is fitted on. */
  lastWordNll: number;
  /** Share of passages whose last word greedy decoding produces. */
  lastWordAcc: number;
}

/** The built-in evaluation set: held-out Brown text and `passages` last-word passages from it. */
export function brownEvalSet(passages: number): EvalSet {
  return { text: brownHeldOutText(), passages: brownLastWordPassages(passages) };
}

/**
 * Writes the Brown corpus WITHOUT its held-out files as JSONL, one paragraph a line (documents small enough for a
 * validation split by documents), atomically; returns the number of paragraphs.
 */
export function writeBrownTrainingCorpus(file: string, dir = brownCorpusPath()): number {
  const heldOut = new Set(brownHeldOutFiles(dir));
  const lines: string[] = [];
  for (const [name] of brownCategories(dir)) {
    if (heldOut.has(name)) continue;
    for (const paragraph of brownFileText(fs.readFileSync(path.join(dir, name), 'utf8')).split(/\n\s*\n/)) {
      if (paragraph.trim()) lines.push(JSON.stringify({ text: paragraph.trim() }));
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, lines.join('\n') + '\n');
  return lines.length;
}

export function measureRun(model: ScoringModel, tok: EncodingTokenizer, set: EvalSet, batchSize = 16): RunMeasurement {
  const ids = tok.encode(set.text);
  const ppl = rollingPerplexity(model, ids, model.config.nPositions, Buffer.byteLength(set.text, 'utf8'));
  const lw = evaluateLastWord(model, tok, set.passages, batchSize);
  return { loss: ppl.nll, lastWordNll: Math.log(lw.perplexity), lastWordAcc: lw.acc };
}
