// A language model with a stop switch, shared by the server (real.ts) and the in-page mode
// (browser/gptlab-browser.ts), so it holds nothing Node-only.
import type { LanguageModel, ModelSession } from '@gptlab/decoding';
import { abortError } from './queue';

/** Lets other work run: setImmediate in Node (no timer delay per token), a 0 ms timeout in browsers. */
const breathe: () => Promise<void> =
  typeof setImmediate === 'function' ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

/**
 * `lm` with a stop switch: every step first checks `signal` (throwing an AbortError, which unwinds the search
 * and disposes its session) and yields to the event loop once the step is done, so a client's disconnect is
 * noticed between tokens.
 */
export function abortableLanguageModel(lm: LanguageModel, signal?: AbortSignal): LanguageModel {
  if (!signal) return lm;
  const abortable = (inner: ModelSession): ModelSession => ({
    async feed(tokens: number[][]): Promise<Float32Array[]> {
      if (signal.aborted) throw abortError();
      const out = await inner.feed(tokens);
      await breathe();
      if (signal.aborted) throw abortError();
      return out;
    },
    reorder: (rows) => inner.reorder(rows),
    dispose: () => inner.dispose(),
  });
  // The beam session (a cache that reorders without copying) passes through too, so beam requests keep it.
  const startBeams = lm.startBeams?.bind(lm);
  return {
    vocabSize: lm.vocabSize,
    contextLength: lm.contextLength,
    start: (batch: number) => abortable(lm.start(batch)),
    ...(startBeams ? { startBeams: () => abortable(startBeams()) } : {}),
  };
}
