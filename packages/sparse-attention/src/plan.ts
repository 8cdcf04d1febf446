// How a block layout is executed: query blocks in row groups, each with its gather indices and in-block
// additive mask, cached per layout (the tensors are kept across calls).
import { tf, MASK_VALUE } from '@gptlab/tensor';
import { DEFAULT_BLOCK_SIZE, makePredicate, patternToString, type AttentionPattern } from './patterns';
import { compileLayout, isBlockLayout, type BlockLayout } from './layout';

export interface Group {
  /** Query blocks of the group. */
  rows: Int32Array;
  /** Kept key blocks per row in this group (rows with fewer are padded with fully masked slots). */
  m: number;
  keyIdx: Int32Array;
  /** Additive mask [g, blk, m·blk], or null when every slot is fully kept. */
  bias: tf.Tensor3D | null;
}

export interface Plan {
  key: string;
  layout: BlockLayout;
  groups: Group[];
}

const MAX_PLANS = 8;
const plans = new Map<string, Plan>();

function fingerprint(layout: BlockLayout): string {
  let h = 0x811c9dc5;
  for (const row of layout.rows) {
    h = Math.imul(h ^ row.length, 0x01000193);
    for (let i = 0; i < row.length; i++) h = Math.imul(h ^ row[i]!, 0x01000193);
  }
  return `${tf.getBackend()}|${patternToString(layout.pattern)}|${layout.seqLen}|${layout.blockSize}|${layout.rows.length}|${h >>> 0}`;
}

function validateLayout(layout: BlockLayout, where: string): void {
  const { blockSize: bs, seqLen, numBlocks, rows } = layout;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`${where}: layout.blockSize must be an integer ≥ 1, got ${bs}`);
  if (numBlocks !== Math.ceil(seqLen / bs) || rows.length !== numBlocks) {
    throw new Error(
      `${where}: layout.numBlocks (${numBlocks}) / rows (${rows.length}) do not match ⌈seqLen/blockSize⌉ = ${Math.ceil(seqLen / bs)}`,
    );
  }
  rows.forEach((row, qb) => {
    for (let s = 0; s < row.length; s++) {
      if (row[s]! < 0 || row[s]! > qb)
        throw new Error(`${where}: layout.rows[${qb}] holds key block ${row[s]}, outside the causal range 0..${qb}`);
    }
  });
}

/**
 * Partitions query blocks into groups that are computed together: rows sorted by their kept-block count are cut
 * into runs, each padded (with fully masked slots) to the largest count of its run. The cut minimises
 * padded blocks + λ·groups with λ = kept/32 (a group's fixed cost in ops, as block-equivalents), by dynamic
 * programming over the distinct counts. local:256 at n = 4096 becomes one group (its first 8 rows padded: 36
 * blocks, 3%); the causal dense layout at n = 4096 a handful.
 */
export function planGroups(counts: ArrayLike<number>, kept: number): { m: number; rows: number[] }[] {
  const byCount = new Map<number, number[]>();
  for (let qb = 0; qb < counts.length; qb++) {
    const m = Math.max(1, counts[qb]!);
    const list = byCount.get(m) ?? [];
    list.push(qb);
    byCount.set(m, list);
  }
  const ms = [...byCount.keys()].sort((a, b) => a - b);
  const k = ms.length;
  const lambda = Math.max(1, kept / 32);
  const N = new Float64Array(k + 1); // prefix Σ rows
  const S = new Float64Array(k + 1); // prefix Σ rows·count
  ms.forEach((m, t) => {
    N[t + 1] = N[t]! + byCount.get(m)!.length;
    S[t + 1] = S[t]! + m * byCount.get(m)!.length;
  });
  const best = new Float64Array(k + 1).fill(Infinity);
  const cut = new Int32Array(k + 1);
  best[0] = 0;
  for (let j = 1; j <= k; j++) {
    const M = ms[j - 1]!;
    for (let i = 0; i < j; i++) {
      const c = best[i]! + lambda + M * (N[j]! - N[i]!) - (S[j]! - S[i]!);
      if (c < best[j]!) {
        best[j] = c;
        cut[j] = i;
      }
    }
  }
  const groups: { m: number; rows: number[] }[] = [];
  for (let j = k; j > 0; j = cut[j]!) {
    const rows = ms.slice(cut[j]!, j).flatMap((m) => byCount.get(m)!);
    groups.push({ m: ms[j - 1]!, rows: rows.sort((a, b) => a - b) });
  }
  return groups.reverse();
}

function buildPlan(layout: BlockLayout, key: string): Plan {
  const { blockSize: bs, seqLen: T, rows } = layout;
  const f = makePredicate(layout.pattern, bs);
  const groups: Group[] = [];
  // A query block whose kept list is empty would only hold padded queries: it gets its own block as one
  // (masked) slot so the softmax stays defined.
  for (const { m, rows: groupList } of planGroups(
    rows.map((r) => r.length),
    layout.keptBlocks,
  )) {
    const groupRows = Int32Array.from(groupList);
    const g = groupRows.length;
    const keyIdx = new Int32Array(g * m);
    const bias = new Float32Array(g * bs * m * bs);
    let anyMasked = false;
    for (let r = 0; r < g; r++) {
      const qb = groupRows[r]!;
      const kept = rows[qb]!.length > 0 ? rows[qb]! : Int32Array.of(qb);
      for (let s = 0; s < m; s++) {
        const real = s < kept.length;
        const kb = real ? kept[s]! : qb;
        keyIdx[r * m + s] = kb;
        for (let qi = 0; qi < bs; qi++) {
          const i = qb * bs + qi;
          const base = ((r * bs + qi) * m + s) * bs;
          for (let kj = 0; kj < bs; kj++) {
            const j = kb * bs + kj;
            if (!(real && j < T && f(i, j))) {
              bias[base + kj] = MASK_VALUE;
              anyMasked = true;
            }
          }
        }
      }
    }
    groups.push({
      rows: groupRows,
      m,
      keyIdx,
      bias: anyMasked ? tf.keep(tf.tensor3d(bias, [g, bs, m * bs])) : null,
    });
  }
  return { key, layout, groups };
}

function disposePlan(plan: Plan): void {
  for (const g of plan.groups) {
    g.bias?.dispose();
  }
}

export function getPlan(layout: BlockLayout): Plan {
  const key = fingerprint(layout);
  let plan = plans.get(key);
  if (plan && plan.groups.every((g) => !g.bias || !g.bias.isDisposed)) {
    plans.delete(key); // refresh LRU position
    plans.set(key, plan);
    return plan;
  }
  plan = buildPlan(layout, key);
  plans.set(key, plan);
  while (plans.size > MAX_PLANS) {
    const oldest = plans.keys().next().value as string;
    disposePlan(plans.get(oldest)!);
    plans.delete(oldest);
  }
  return plan;
}

/** Frees the cached per-layout index and mask tensors (they are rebuilt on demand). */
export function clearPlanCache(): void {
  for (const p of plans.values()) disposePlan(p);
  plans.clear();
}

/** How a layout is executed: its row groups (rows, kept-block slots per row in each group). For tests and tuning. */
export function describePlan(layout: BlockLayout): { rows: number[]; slots: number }[] {
  return getPlan(layout).groups.map((g) => ({ rows: Array.from(g.rows), slots: g.m }));
}

/** Number of cached plans (for tests). */
export function planCacheSize(): number {
  return plans.size;
}

const layoutCache = new Map<string, BlockLayout>();

/** The layout of `p` for T positions: a compiled layout as given (checked), a pattern compiled and cached. */
export function resolveLayout(p: AttentionPattern | BlockLayout, T: number, blockSize: number | undefined, where: string): BlockLayout {
  if (isBlockLayout(p)) {
    if (p.seqLen !== T) throw new Error(`${where}: layout was compiled for seqLen ${p.seqLen} but q has ${T} positions`);
    validateLayout(p, where);
    return p;
  }
  const bs = blockSize ?? DEFAULT_BLOCK_SIZE;
  const key = `${patternToString(p)}|${T}|${bs}`;
  let layout = layoutCache.get(key);
  if (!layout) {
    layout = compileLayout(p, T, bs);
    if (layoutCache.size >= 64) layoutCache.clear();
    layoutCache.set(key, layout);
  }
  return layout;
}
