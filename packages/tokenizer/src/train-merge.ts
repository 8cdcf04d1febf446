// BPE training, phase 3: the merge loop. Repeatedly take the most frequent pair (ties: the smaller (a, b) ids, so
// training is deterministic), give it a token, rewrite the words that contain it, and update the counts of the
// pairs around each rewrite. Changed pairs are pushed again; entries whose count has changed since they were
// pushed are skipped when popped (lazy invalidation), so a merge costs O(words touched · log pairs).

import { MinHeap } from '@gptlab/common';
import type { PairTable } from './train-pairs';
import type { WordTable } from './train-words';

/**
 * Pairs by count, most frequent first, ties to the smaller pair key a · V + b (that is, smaller a, then smaller
 * b). A float64 key cannot hold both a count and a 42-bit pair key exactly, so this is two levels of MinHeap:
 * one over the distinct counts (negated) and, for each count, one over the pair keys queued with it.
 */
export class PairQueue {
  private readonly counts = new MinHeap();
  private readonly byCount = new Map<number, MinHeap>();

  get empty(): boolean {
    return this.counts.size === 0;
  }

  push(count: number, pairKey: number): void {
    let keys = this.byCount.get(count);
    if (!keys) {
      keys = new MinHeap(4);
      this.byCount.set(count, keys);
      this.counts.push(-count);
    }
    keys.push(pairKey);
  }

  /** Count of the best entry (the queue must not be empty). */
  topCount(): number {
    return -this.counts.peek();
  }

  /** Removes the best entry and returns its pair key. */
  pop(): number {
    const count = -this.counts.peek();
    const keys = this.byCount.get(count)!;
    const key = keys.pop();
    if (keys.size === 0) {
      this.byCount.delete(count);
      this.counts.pop();
    }
    return key;
  }
}

export interface MergeResult {
  merges: Array<[string, string]>;
  /** Count of the pair merged last. */
  lastCount: number;
  /** True when the loop ran out of pairs (or of pairs seen minFrequency times) before the target. */
  stoppedEarly: boolean;
}

/**
 * Merges until `tokens` (id → spelling, starting with the byte tokens; new tokens are appended) reaches
 * `targetTokens`. `onMerge(step, lastCount)` is called after every merge.
 */
export function mergeLoop(
  words: WordTable,
  pairs: PairTable,
  tokens: string[],
  targetTokens: number,
  minFrequency: number,
  onMerge?: (step: number, lastCount: number) => void,
): MergeResult {
  const { syms, start, len: wordLen, count: wordCount } = words;
  const V = pairs.vocabSize;
  const queue = new PairQueue();
  for (let p = 0; p < pairs.size; p++) if (pairs.count[p] > 0) queue.push(pairs.count[p], pairs.a[p] * V + pairs.b[p]);
  const idOf = new Map<string, number>();
  tokens.forEach((t, i) => idOf.set(t, i));
  const merges: Array<[string, string]> = [];
  const seenAt = new Int32Array(words.size).fill(-1); // merge step at which a word was last rewritten
  const changed: number[] = [];
  let lastCount = 0;
  let stoppedEarly = false;
  while (tokens.length < targetTokens) {
    if (queue.empty) {
      stoppedEarly = true;
      break;
    }
    const queued = queue.topCount();
    const p = pairs.index.get(queue.pop())!;
    const cur = pairs.count[p];
    if (queued !== cur) {
      if (cur > 0 && cur < queued) queue.push(cur, pairs.a[p] * V + pairs.b[p]); // count went down since this entry was pushed
      continue;
    }
    if (cur < minFrequency || cur <= 0) {
      stoppedEarly = true;
      break;
    }
    const a = pairs.a[p];
    const b = pairs.b[p];
    // Two different pairs can spell the same string ("a"+"bc", "ab"+"c"); they then share one id (as HF).
    const spelling = tokens[a] + tokens[b];
    let m = idOf.get(spelling);
    if (m === undefined) {
      m = tokens.length;
      tokens.push(spelling);
      idOf.set(spelling, m);
    }
    merges.push([tokens[a], tokens[b]]);
    lastCount = cur;
    const step = merges.length;
    const inc = (x: number, y: number, w: number, by: number) => {
      const q = pairs.of(x, y);
      pairs.count[q] += by;
      pairs.addWord(q, w);
      if (pairs.stamp[q] !== step) {
        pairs.stamp[q] = step;
        changed.push(q);
      }
    };
    const dec = (x: number, y: number, by: number) => {
      pairs.count[pairs.existing(x, y)] -= by;
    };
    const where = pairs.where[p]!;
    for (let k = 0; k < where.length; k++) {
      const w = where[k];
      if (seenAt[w] === step) continue;
      seenAt[w] = step;
      const s = start[w];
      const e = s + wordLen[w];
      const c = wordCount[w];
      let j = s; // write position
      let i = s;
      let hit = false;
      while (i < e) {
        if (i + 1 < e && syms[i] === a && syms[i + 1] === b) {
          hit = true;
          if (j > s) {
            const left = syms[j - 1];
            dec(left, a, c);
            inc(left, m, w, c);
          }
          if (i + 2 < e) {
            const right = syms[i + 2];
            dec(b, right, c);
            inc(m, right, w, c);
          }
          syms[j++] = m;
          i += 2;
        } else {
          syms[j++] = syms[i++];
        }
      }
      if (hit) wordLen[w] = j - s;
    }
    pairs.count[p] = 0;
    pairs.where[p] = [];
    for (const q of changed) if (pairs.count[q] > 0) queue.push(pairs.count[q], pairs.a[q] * V + pairs.b[q]);
    changed.length = 0;
    onMerge?.(step, lastCount);
  }
  return { merges, lastCount, stoppedEarly };
}
