// Attention patterns as plain data, all causal (a query attends to keys at positions ≤ its own).
//
// - local:    the `window` most recent positions, the query's own included (i − j < window).
// - strided:  Sparse Transformer "strided" (Child et al. 2019, §4.2): the previous `stride` positions plus every
//             `stride`-th earlier position: i − j < stride, or (i − j) mod stride = 0.
// - fixed:    Sparse Transformer "fixed": the query's own block of length `stride` (⌊j/l⌋ = ⌊i/l⌋) plus the
//             last `c` positions of every block (j mod l ≥ l − c), the "summary" cells.
// - bigbird:  BigBird (Zaheer et al. 2020) made causal as DeepSpeed's `attention='unidirectional'`: a sliding
//             window of `window` positions, the first `globalTokens` positions (every query sees them), and for
//             each query block `randomBlocks` key blocks drawn (seeded) from strictly earlier blocks. Random
//             attention is block-granular, so it depends on the block size (DeepSpeed default block 16; ours 32).
import { Rng, mixSeed } from '@gptlab/common';

export type AttentionPattern =
  | { type: 'dense' }
  | { type: 'local'; window: number }
  | { type: 'strided'; stride: number }
  | { type: 'fixed'; stride: number; c: number }
  | { type: 'bigbird'; window: number; globalTokens: number; randomBlocks: number; seed: number };

export type PatternType = AttentionPattern['type'];

/** Default block size of layouts and of BigBird's random blocks. */
export const DEFAULT_BLOCK_SIZE = 32;

export const PATTERN_SYNTAX: Record<PatternType, string> = {
  dense: 'dense',
  local: 'local:<window>, e.g. local:256',
  strided: 'strided:<stride>, e.g. strided:64',
  fixed: 'fixed:<stride>:<c>, e.g. fixed:64:8',
  bigbird: 'bigbird:<window>:<globalTokens>:<randomBlocks>[:<seed>], e.g. bigbird:64:16:1:0',
};

function checkInt(value: unknown, field: string, min: number, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${where}: ${field} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Throws a clear error naming the field when a pattern object is malformed; returns it otherwise. */
export function validatePattern(p: AttentionPattern, where = 'pattern'): AttentionPattern {
  if (p === null || typeof p !== 'object') throw new Error(`${where}: expected a pattern object, got ${JSON.stringify(p)}`);
  switch (p.type) {
    case 'dense':
      return p;
    case 'local':
      checkInt(p.window, 'window', 1, where);
      return p;
    case 'strided':
      checkInt(p.stride, 'stride', 1, where);
      return p;
    case 'fixed':
      checkInt(p.stride, 'stride', 1, where);
      checkInt(p.c, 'c', 1, where);
      if (p.c > p.stride) throw new Error(`${where}: c (${p.c}) must be ≤ stride (${p.stride})`);
      return p;
    case 'bigbird':
      checkInt(p.window, 'window', 1, where);
      checkInt(p.globalTokens, 'globalTokens', 0, where);
      checkInt(p.randomBlocks, 'randomBlocks', 0, where);
      if (typeof p.seed !== 'number' || !Number.isInteger(p.seed)) {
        throw new Error(`${where}: seed must be an integer, got ${JSON.stringify(p.seed)}`);
      }
      return p;
    default:
      throw new Error(
        `${where}: unknown type ${JSON.stringify((p as { type: unknown }).type)}; use one of ${Object.keys(PATTERN_SYNTAX).join(', ')}`,
      );
  }
}

/**
 * Parses the CLI form: "dense", "local:256", "strided:64", "fixed:64:8", "bigbird:64:16:1:7" (seed optional, 0).
 */
export function parsePattern(specString: string): AttentionPattern {
  if (typeof specString !== 'string') throw new Error(`parsePattern: expected a string, got ${JSON.stringify(specString)}`);
  const spec = specString.trim();
  const [name, ...rest] = spec.split(':');
  const type = name!.toLowerCase() as PatternType;
  if (!(type in PATTERN_SYNTAX)) {
    throw new Error(`attention pattern "${spec}": unknown type "${name}"; use ${Object.values(PATTERN_SYNTAX).join(' | ')}`);
  }
  const nums = rest.map((s, i) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isInteger(v)) {
      throw new Error(`attention pattern "${spec}": field ${i + 1} ("${s}") is not an integer; syntax ${PATTERN_SYNTAX[type]}`);
    }
    return v;
  });
  const arity = (min: number, max = min) => {
    if (nums.length < min || nums.length > max) {
      throw new Error(`attention pattern "${spec}": expected ${PATTERN_SYNTAX[type]}`);
    }
  };
  let p: AttentionPattern;
  switch (type) {
    case 'dense':
      arity(0);
      p = { type };
      break;
    case 'local':
      arity(1);
      p = { type, window: nums[0]! };
      break;
    case 'strided':
      arity(1);
      p = { type, stride: nums[0]! };
      break;
    case 'fixed':
      arity(2);
      p = { type, stride: nums[0]!, c: nums[1]! };
      break;
    case 'bigbird':
      arity(3, 4);
      p = { type, window: nums[0]!, globalTokens: nums[1]!, randomBlocks: nums[2]!, seed: nums[3] ?? 0 };
      break;
  }
  return validatePattern(p, `attention pattern "${spec}"`);
}

/** The inverse of parsePattern (BigBird always with its seed). */
export function patternToString(p: AttentionPattern): string {
  switch (p.type) {
    case 'dense':
      return 'dense';
    case 'local':
      return `local:${p.window}`;
    case 'strided':
      return `strided:${p.stride}`;
    case 'fixed':
      return `fixed:${p.stride}:${p.c}`;
    case 'bigbird':
      return `bigbird:${p.window}:${p.globalTokens}:${p.randomBlocks}:${p.seed}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// BigBird random blocks: for query block `qb`, min(r, qb) distinct key blocks from [0, qb), a function of
// (seed, block size, qb) only, so a layout and its masks agree at every sequence length.

const randomCache = new Map<string, Int32Array>();

export function bigbirdRandomBlocks(seed: number, randomBlocks: number, blockSize: number, qb: number): Int32Array {
  const key = `${seed}:${randomBlocks}:${blockSize}:${qb}`;
  const hit = randomCache.get(key);
  if (hit) return hit;
  const r = Math.min(randomBlocks, qb);
  const out = new Int32Array(r);
  if (r === qb) {
    for (let i = 0; i < r; i++) out[i] = i;
  } else if (r > 0) {
    const rng = new Rng(mixSeed(seed | 0) ^ Math.imul(qb + 1, 0x9e3779b1) ^ Math.imul(blockSize, 0x85ebca6b));
    const chosen = new Set<number>();
    // Rejection sampling: r < qb, so at least one candidate is free at every step.
    while (chosen.size < r) chosen.add(rng.int(qb));
    let i = 0;
    for (const b of [...chosen].sort((a, b) => a - b)) out[i++] = b;
  }
  if (randomCache.size > 100_000) randomCache.clear();
  randomCache.set(key, out);
  return out;
}

/** A fast element predicate (query i, key j) → kept, for one pattern and block size. Causal. */
export function makePredicate(p: AttentionPattern, blockSize = DEFAULT_BLOCK_SIZE): (i: number, j: number) => boolean {
  validatePattern(p);
  checkInt(blockSize, 'blockSize', 1, 'allowed');
  switch (p.type) {
    case 'dense':
      return (i, j) => j >= 0 && j <= i;
    case 'local': {
      const w = p.window;
      return (i, j) => j >= 0 && j <= i && i - j < w;
    }
    case 'strided': {
      const l = p.stride;
      return (i, j) => j >= 0 && j <= i && (i - j < l || (i - j) % l === 0);
    }
    case 'fixed': {
      const l = p.stride;
      const lo = l - p.c;
      return (i, j) => j >= 0 && j <= i && (Math.floor(i / l) === Math.floor(j / l) || j % l >= lo);
    }
    case 'bigbird': {
      const { window: w, globalTokens: g, randomBlocks: r, seed } = p;
      const bs = blockSize;
      return (i, j) => {
        if (j < 0 || j > i) return false;
        if (i - j < w || j < g) return true;
        if (r === 0) return false;
        const qb = Math.floor(i / bs);
        const kb = Math.floor(j / bs);
        if (kb >= qb) return false;
        return bigbirdRandomBlocks(seed, r, bs, qb).includes(kb);
      };
    }
  }
}

/** The element rule: may query position `query` attend to key position `key`? (Causal: never key > query.) */
export function allowed(p: AttentionPattern, query: number, key: number, blockSize = DEFAULT_BLOCK_SIZE): boolean {
  return makePredicate(p, blockSize)(query, key);
}

/**
 * Dense reference mask, row-major [tq, tk] (1 = attend): row r is query position queryOffset + r, column c is
 * key position c. queryOffset serves KV-cache decoding (tq new queries after queryOffset cached positions).
 */
export function elementMask(p: AttentionPattern, tq: number, tk: number, queryOffset = 0, blockSize = DEFAULT_BLOCK_SIZE): Uint8Array {
  checkInt(tq, 'tq', 0, 'elementMask');
  checkInt(tk, 'tk', 0, 'elementMask');
  checkInt(queryOffset, 'queryOffset', 0, 'elementMask');
  const f = makePredicate(p, blockSize);
  const m = new Uint8Array(tq * tk);
  for (let r = 0; r < tq; r++) {
    const i = queryOffset + r;
    const row = r * tk;
    const last = Math.min(i, tk - 1);
    for (let j = 0; j <= last; j++) if (f(i, j)) m[row + j] = 1;
  }
  return m;
}
