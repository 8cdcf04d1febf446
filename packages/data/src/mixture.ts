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
  /** Weights are shares of 'bytes' (≈ tokens, GPT-3 style; default) or of 'docs'. */
  by?: 'bytes' | 'docs';
}

export interface MixtureComponentStats {
  name: string;
  weight: number;
  docs: number;
  bytes: number;
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
  by: 'bytes' | 'docs';
  docs: number;
  bytes: number;
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
  const stats: MixtureStats = {
    by,
    docs: 0,
    bytes: 0,
    stoppedBecause: '',
    components: components.map((c) => ({
      name: c.name,
      weight: c.weight / total,
      docs: 0,
      bytes: 0,
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
          const tot = by === 'bytes' ? stats.bytes : stats.docs;
          s.share = tot ? (by === 'bytes' ? s.bytes : s.docs) / tot : 0;
        }
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
          // choose a component
          const probs = components.map((c, i) => {
            if (c.weight === 0) return 0;
            if (by === 'docs') return c.weight;
            const s = stats.components[i]!;
            const mean = s.docs ? s.bytes / s.docs : 1;
            return c.weight / mean;
          });
          const sum = probs.reduce((a, b) => a + b, 0);
          let u = rng.next53() * sum;
          let i = 0;
          while (i < probs.length - 1 && u >= probs[i]!) {
            u -= probs[i]!;
            i++;
          }
          let r = await its[i]!.next();
          if (r.done) {
            const s = stats.components[i]!;
            if (passDocs[i] === 0) throw new Error(`mixture component "${components[i]!.name}" yielded no documents`);
            s.passes++;
            s.docsPerPass ??= passDocs[i]!;
            s.bytesPerPass ??= passBytes[i]!;
            passDocs[i] = 0;
            passBytes[i] = 0;
            if (opts.totalDocs === undefined && opts.totalBytes === undefined) {
              stats.stoppedBecause = `component "${components[i]!.name}" ran out (no totalDocs/totalBytes given)`;
              break;
            }
            its[i] = components[i]!.open()[Symbol.asyncIterator]();
            r = await its[i]!.next();
            if (r.done) throw new Error(`mixture component "${components[i]!.name}" yielded no documents on pass ${s.passes + 1}`);
          }
          const doc: Doc = r.value;
          const bytes = utf8Length(doc.text);
          const s = stats.components[i]!;
          s.docs++;
          s.bytes += bytes;
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
