import type { Doc, DocStream } from './types';
import { Rng } from '@gptlab/common';
import { utf8Length } from './util';

export interface MixtureComponent {
  name: string;
  /** Relative weight (normalised over all components). */
  weight: number;
  /** Returns a fresh pass over the component (called again for every epoch). */
  open: () => DocStream;
}

export interface MixtureOptions {
  seed?: number;
  /** Stop after this many documents or UTF-8 bytes in total. Without either, stop as soon as any component
   * runs out for the first time (no source is repeated). */
  totalDocs?: number;
  totalBytes?: number;
  /** Stop after this many tokens (needs `measure`). */
  totalTokens?: number;
  /** Weights are shares of 'bytes' (≈ tokens, GPT-3 style; default), of 'docs', or of 'tokens' (needs `measure`). */
  by?: 'bytes' | 'docs' | 'tokens';
  /** Tokens of a document (prepare passes the tokenizer's count, end-of-text included). */
  measure?: (doc: Doc) => number;
  /**
   * 'random' (default): each next document is drawn with probability ∝ weight / mean size, as GPT-3 sampled.
   * 'deficit': the component furthest below its share goes next, so the measured shares match the weights to
   * within one document (deterministic; what mixture files use).
   */
  schedule?: 'random' | 'deficit';
}

export interface MixtureComponentStats {
  name: string;
  weight: number;
  docs: number;
  bytes: number;
  /** Tokens drawn (only when the mixture has a `measure`). */
  tokens: number;
  /** Completed passes over the component. */
  passes: number;
  /** Documents / bytes in one pass (known once a pass has completed). */
  docsPerPass: number | null;
  bytesPerPass: number | null;
  /** Epochs consumed: passes + the fraction of the current pass (in bytes), null until one pass is known. */
  epochs: number | null;
  /** Share of the mixture actually drawn (of the chosen unit). */
  share: number;
}

export interface MixtureStats {
  by: 'bytes' | 'docs' | 'tokens';
  docs: number;
  bytes: number;
  tokens: number;
  stoppedBecause: string;
  components: MixtureComponentStats[];
}

/**
 * Weighted mixture of sources (GPT-3, Table 2.2): each next document comes from component i with probability
 * ∝ weight_i (per document), or ∝ weight_i / mean document bytes_i (so that byte shares follow the weights).
 * Exhausted components restart (a new epoch); epochs per component are tracked in `stats`.
 */
export function mixture(components: MixtureComponent[], opts: MixtureOptions = {}): { stream: DocStream; stats: MixtureStats } {
  if (components.length === 0) throw new Error('mixture needs at least one component');
  for (const c of components)
    if (!(c.weight >= 0) || !Number.isFinite(c.weight)) throw new Error(`mixture component "${c.name}" has invalid weight ${c.weight}`);
  const total = components.reduce((a, c) => a + c.weight, 0);
  if (total <= 0) throw new Error('mixture weights sum to 0');
  const by = opts.by ?? 'bytes';
  if ((by === 'tokens' || opts.totalTokens !== undefined) && !opts.measure) throw new Error('a mixture by tokens needs a measure');
  const unitsOf = (s: { docs: number; bytes: number; tokens: number }) => (by === 'bytes' ? s.bytes : by === 'docs' ? s.docs : s.tokens);
  const stats: MixtureStats = {
    by,
    docs: 0,
    bytes: 0,
    tokens: 0,
    stoppedBecause: '',
    components: components.map((c) => ({
      name: c.name,
      weight: c.weight / total,
      docs: 0,
      bytes: 0,
      tokens: 0,
      passes: 0,
      docsPerPass: null,
      bytesPerPass: null,
      epochs: null,
      share: 0,
    })),
  };
  const stream: DocStream = {
    async *[Symbol.asyncIterator]() {
      const rng = new Rng(opts.seed ?? 1);
      const its = components.map((c) => c.open()[Symbol.asyncIterator]());
      const passDocs = components.map(() => 0);
      const passBytes = components.map(() => 0);
      const update = () => {
        for (let i = 0; i < components.length; i++) {
          const s = stats.components[i]!;
          s.epochs = s.bytesPerPass ? s.passes + passBytes[i]! / s.bytesPerPass : s.passes > 0 ? s.passes : null;
          const tot = unitsOf(stats);
          s.share = tot ? unitsOf(s) / tot : 0;
        }
      };
      // GPT-3: the next document comes from component i with probability ∝ weight_i / mean size_i
      const draw = (): number => {
        const probs = components.map((c, i) => {
          if (c.weight === 0) return 0;
          if (by === 'docs') return c.weight;
          const s = stats.components[i]!;
          const mean = s.docs ? unitsOf(s) / s.docs : 1;
          return c.weight / mean;
        });
        const sum = probs.reduce((a, b) => a + b, 0);
        let u = rng.next53() * sum;
        let i = 0;
        while (i < probs.length - 1 && u >= probs[i]!) {
          u -= probs[i]!;
          i++;
        }
        return i;
      };
      // the component whose drawn units are furthest below weight × total (weight-0 components never go)
      const mostBehind = (): number => {
        const total = unitsOf(stats);
        let best = 0;
        let bestGap = -Infinity;
        stats.components.forEach((s, k) => {
          const gap = s.weight * total - unitsOf(s);
          if (s.weight > 0 && gap > bestGap) {
            bestGap = gap;
            best = k;
          }
        });
        return best;
      };
      try {
        for (;;) {
          if (opts.totalDocs !== undefined && stats.docs >= opts.totalDocs) {
            stats.stoppedBecause = `reached totalDocs ${opts.totalDocs}`;
            break;
          }
          if (opts.totalBytes !== undefined && stats.bytes >= opts.totalBytes) {
            stats.stoppedBecause = `reached totalBytes ${opts.totalBytes}`;
            break;
          }
          if (opts.totalTokens !== undefined && stats.tokens >= opts.totalTokens) {
            stats.stoppedBecause = `reached totalTokens ${opts.totalTokens}`;
            break;
          }
          const i = opts.schedule === 'deficit' ? mostBehind() : draw();
          let r = await its[i]!.next();
          if (r.done) {
            const s = stats.components[i]!;
            if (passDocs[i] === 0) throw new Error(`mixture component "${components[i]!.name}" yielded no documents`);
            s.passes++;
            s.docsPerPass ??= passDocs[i]!;
            s.bytesPerPass ??= passBytes[i]!;
            passDocs[i] = 0;
            passBytes[i] = 0;
            if (opts.totalDocs === undefined && opts.totalBytes === undefined && opts.totalTokens === undefined) {
              stats.stoppedBecause = `component "${components[i]!.name}" ran out (no totalDocs/totalBytes given)`;
              break;
            }
            its[i] = components[i]!.open()[Symbol.asyncIterator]();
            r = await its[i]!.next();
            if (r.done) throw new Error(`mixture component "${components[i]!.name}" yielded no documents on pass ${s.passes + 1}`);
          }
          const doc: Doc = r.value;
          const bytes = utf8Length(doc.text);
          const tokens = opts.measure ? opts.measure(doc) : 0;
          const s = stats.components[i]!;
          s.docs++;
          s.bytes += bytes;
          s.tokens += tokens;
          stats.tokens += tokens;
          passDocs[i]!++;
          passBytes[i]! += bytes;
          stats.docs++;
          stats.bytes += bytes;
          update();
          yield doc.meta?.mixture ? doc : { ...doc, meta: { ...doc.meta, mixture: components[i]!.name } };
        }
      } finally {
        update();
        for (const it of its) await it.return?.();
      }
    },
  };
  return { stream, stats };
}
