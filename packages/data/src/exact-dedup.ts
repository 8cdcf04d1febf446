import type { Stage } from './types';
import { createStage } from './stage';
import { contentHash } from './util';

export interface DuplicateRecord {
  id: string;
  duplicateOf: string;
  kind: 'exact' | 'near';
  /** Exact Jaccard of the shingle sets (near duplicates with verification on). */
  jaccard?: number;
  /** Estimated Jaccard from the MinHash signatures. */
  estimated?: number;
  /** The earlier document this one actually matched, when different from the cluster's kept document. */
  via?: string;
}

export interface ExactDedupOptions {
  /** Called for every removed document. */
  onDuplicate?: (d: DuplicateRecord) => void;
  /** Compare case-insensitively (default false: the normalised text must match exactly). */
  ignoreCase?: boolean;
}

/** Exact dedup: a 128-bit hash of the (normalised) text; keeps the first document with a given text. */
export function exactDedupStage(opts: ExactDedupOptions = {}): Stage {
  return createStage('exact-dedup', async function* (input, ctx) {
    const seen = new Map<string, string>();
    for await (const doc of input) {
      const key = contentHash(opts.ignoreCase ? doc.text.toLowerCase() : doc.text);
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.drop(doc, 'exact_duplicate', `duplicate of ${first}`);
        opts.onDuplicate?.({ id: doc.id, duplicateOf: first, kind: 'exact' });
        continue;
      }
      seen.set(key, doc.id);
      yield doc;
    }
    ctx.stats.extra.uniqueTexts = seen.size;
  });
}
