// A pattern compiled to a block layout: for each query block, the key blocks that hold at least one kept
// (query, key) pair. The element mask inside kept blocks is applied by blockSparseAttention.
//
// compileLayout decides each block analytically per pattern (O(kept blocks), no n² scan);
// compileLayoutReference derives the same layout by scanning the element mask (tests compare them).
import { DEFAULT_BLOCK_SIZE, bigbirdRandomBlocks, makePredicate, validatePattern, type AttentionPattern } from './patterns';

export interface BlockLayout {
  /** The pattern the layout was compiled from (its element rule masks inside kept blocks). */
  pattern: AttentionPattern;
  blockSize: number;
  seqLen: number;
  /** ⌈seqLen / blockSize⌉. */
  numBlocks: number;
  /** For each query block, the kept key blocks, ascending. */
  rows: Int32Array[];
  /** Σ rows[i].length. */
  keptBlocks: number;
  /** Kept fraction of the causal block triangle, numBlocks·(numBlocks+1)/2 (the causal n²/2 in blocks). */
  density: number;
}

function checkSizes(seqLen: number, blockSize: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`compileLayout: seqLen must be an integer ≥ 1, got ${seqLen}`);
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new Error(`compileLayout: blockSize must be an integer ≥ 1 (16, 32 or 64 are usual), got ${blockSize}`);
  }
}

function finish(p: AttentionPattern, seqLen: number, blockSize: number, rows: Int32Array[]): BlockLayout {
  const numBlocks = rows.length;
  const keptBlocks = rows.reduce((s, r) => s + r.length, 0);
  return { pattern: p, blockSize, seqLen, numBlocks, rows, keptBlocks, density: keptBlocks / ((numBlocks * (numBlocks + 1)) / 2) };
}

/** Compiles a pattern for a sequence length (any length; the last block may be partial). */
export function compileLayout(p: AttentionPattern, seqLen: number, blockSize = DEFAULT_BLOCK_SIZE): BlockLayout {
  validatePattern(p);
  checkSizes(seqLen, blockSize);
  const bs = blockSize;
  const nb = Math.ceil(seqLen / bs);
  const rows: Int32Array[] = [];
  for (let qb = 0; qb < nb; qb++) {
    const qs = qb * bs;
    const qe = Math.min(qs + bs, seqLen) - 1; // last real query of the block
    const keep = new Uint8Array(qb + 1);
    const keepRange = (jFrom: number, jTo: number) => {
      // keeps every block that holds a key in [jFrom, jTo]
      const a = Math.max(0, jFrom);
      const b = Math.min(jTo, qe);
      if (b < a) return;
      for (let kb = Math.floor(a / bs); kb <= Math.floor(b / bs); kb++) keep[kb] = 1;
    };
    switch (p.type) {
      case 'dense':
        keepRange(0, qe);
        break;
      case 'local':
        keepRange(qs - p.window + 1, qe);
        break;
      case 'strided': {
        const l = p.stride;
        keepRange(qs - l + 1, qe);
        // (i − j) ranges over the whole interval [qs − ke, qe − ks] for a block pair; kept iff a multiple of l lies there.
        for (let kb = 0; kb < qb; kb++) {
          if (keep[kb]) continue;
          const ks = kb * bs;
          const ke = ks + bs - 1;
          const lo = qs - ke;
          const hi = qe - ks;
          if (Math.floor(hi / l) * l >= lo) keep[kb] = 1;
        }
        break;
      }
      case 'fixed': {
        const l = p.stride;
        const lo = l - p.c;
        keepRange(Math.floor(qs / l) * l, qe);
        for (let kb = 0; kb <= qb; kb++) {
          if (keep[kb]) continue;
          const ks = kb * bs;
          const r = ks % l;
          const j = r >= lo ? ks : ks + (lo - r); // first summary position ≥ ks
          if (j <= Math.min(ks + bs - 1, qe)) keep[kb] = 1;
        }
        break;
      }
      case 'bigbird':
        keepRange(qs - p.window + 1, qe);
        keepRange(0, p.globalTokens - 1);
        for (const kb of bigbirdRandomBlocks(p.seed, p.randomBlocks, bs, qb)) keep[kb] = 1;
        break;
    }
    const row: number[] = [];
    for (let kb = 0; kb <= qb; kb++) if (keep[kb]) row.push(kb);
    rows.push(Int32Array.from(row));
  }
  return finish(p, seqLen, bs, rows);
}

/** The same layout found by scanning every causal (query, key) pair of the element rule: O(n²), for tests. */
export function compileLayoutReference(p: AttentionPattern, seqLen: number, blockSize = DEFAULT_BLOCK_SIZE): BlockLayout {
  validatePattern(p);
  checkSizes(seqLen, blockSize);
  const f = makePredicate(p, blockSize);
  const bs = blockSize;
  const nb = Math.ceil(seqLen / bs);
  const rows: Int32Array[] = [];
  for (let qb = 0; qb < nb; qb++) {
    const row: number[] = [];
    for (let kb = 0; kb <= qb; kb++) {
      let hit = false;
      for (let i = qb * bs; i < Math.min((qb + 1) * bs, seqLen) && !hit; i++) {
        for (let j = kb * bs; j < Math.min((kb + 1) * bs, seqLen); j++) {
          if (f(i, j)) {
            hit = true;
            break;
          }
        }
      }
      if (hit) row.push(kb);
    }
    rows.push(Int32Array.from(row));
  }
  return finish(p, seqLen, bs, rows);
}

/** Kept (query, key) pairs of the element rule over the causal n(n+1)/2, for reporting. O(n²). */
export function elementDensity(p: AttentionPattern, seqLen: number, blockSize = DEFAULT_BLOCK_SIZE): number {
  const f = makePredicate(p, blockSize);
  let kept = 0;
  for (let i = 0; i < seqLen; i++) for (let j = 0; j <= i; j++) if (f(i, j)) kept++;
  return kept / ((seqLen * (seqLen + 1)) / 2);
}

export function isBlockLayout(x: unknown): x is BlockLayout {
  return typeof x === 'object' && x !== null && Array.isArray((x as BlockLayout).rows) && typeof (x as BlockLayout).blockSize === 'number';
}
