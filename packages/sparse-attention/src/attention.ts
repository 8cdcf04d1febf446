// Block-sparse causal attention and its dense reference.
//
// blockSparseAttention never forms an n×n tensor: per query block it gathers only the kept key/value blocks,
// computes [blk × (kept·blk)] scores, masks inside those blocks with the pattern's element rule, and takes the
// softmax and the weighted sum there. Query blocks with similar numbers of kept blocks (planGroups) are batched
// into one gather + two batched products, so the op count grows with the number of groups, not with n. Backward:
// a hand-written gradient per group (blockRowsAttention) plus tfjs autodiff through the block gathers.
import { tf, batchMatMul, MASK_VALUE } from '@gptlab/tensor';
import { DEFAULT_BLOCK_SIZE, makePredicate, patternToString, type AttentionPattern } from './patterns';
import { compileLayout, isBlockLayout, type BlockLayout } from './layout';
import { assembleBlocks, gatherBlocks } from './gather-blocks';
import { customGradOp } from './custom-grad';

export interface AttentionOptions {
  /** Score scale; default 1/√headDim. */
  scale?: number;
  /** Also return the attention probabilities [B, H, T, T] (not differentiable; for pictures, small T). */
  returnProbs?: boolean;
}

export interface BlockSparseOptions extends AttentionOptions {
  /** Block size when `p` is a pattern (16, 32 or 64 usual; default 32). Ignored for a compiled layout. */
  blockSize?: number;
  /**
   * How a `strided` pattern given as a pattern (not a layout) is computed: 'blocks' through its block layout;
   * 'factorized' as a local band of `stride` plus, per residue class mod stride, causal attention over the
   * n/stride earlier positions of the class, merged in one softmax (log-sum-exp), O(n·(stride + n/stride));
   * 'auto' (default) factorizes when stride is a multiple of the block size and T > 2·stride (returnProbs: blocks).
   */
  strided?: 'auto' | 'blocks' | 'factorized';
}

export interface AttentionWithProbs {
  output: tf.Tensor4D;
  probs: tf.Tensor4D;
}

function check4D(name: string, t: tf.Tensor, where: string): void {
  if (!(t instanceof tf.Tensor) || t.rank !== 4) {
    throw new Error(`${where}: ${name} must be a rank-4 tensor [batch, heads, time, headDim], got shape ${t instanceof tf.Tensor ? JSON.stringify(t.shape) : typeof t}`);
  }
}

function checkQKV(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, where: string): void {
  check4D('q', q, where);
  check4D('k', k, where);
  check4D('v', v, where);
  const [b, h, , d] = q.shape;
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d) {
    throw new Error(`${where}: k shape ${JSON.stringify(k.shape)} does not match q shape ${JSON.stringify(q.shape)} (batch, heads, headDim)`);
  }
  if (v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== k.shape[2]) {
    throw new Error(`${where}: v shape ${JSON.stringify(v.shape)} does not match k shape ${JSON.stringify(k.shape)} (batch, heads, time)`);
  }
}

function resolveScale(opts: AttentionOptions | undefined, d: number, where: string): number {
  const s = opts?.scale ?? 1 / Math.sqrt(d);
  if (!Number.isFinite(s)) throw new Error(`${where}: scale must be a finite number, got ${opts?.scale}`);
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Dense reference

/**
 * Dense softmax attention: softmax(q·kᵀ·scale + mask) · v over [B, H, Tq, D] × [B, H, Tk, D]. `mask` is a row-major
 * [Tq, Tk] Uint8Array (1 = attend, e.g. from elementMask); null/undefined means causal (query r sits at position
 * Tk − Tq + r). Builds the full Tq×Tk score tensor: this is the reference and the dense baseline.
 */
export function denseAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask?: Uint8Array | null, opts?: AttentionOptions & { returnProbs?: false }): tf.Tensor4D;
export function denseAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: Uint8Array | null | undefined, opts: AttentionOptions & { returnProbs: true }): AttentionWithProbs;
export function denseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask?: Uint8Array | null,
  opts?: AttentionOptions,
): tf.Tensor4D | AttentionWithProbs {
  const where = 'denseAttention';
  checkQKV(q, k, v, where);
  const tq = q.shape[2];
  const tk = k.shape[2];
  const scale = resolveScale(opts, q.shape[3], where);
  if (mask != null && mask.length !== tq * tk) {
    throw new Error(`${where}: mask has ${mask.length} entries, expected Tq·Tk = ${tq}·${tk} = ${tq * tk}`);
  }
  const bias = new Float32Array(tq * tk);
  if (mask != null) {
    for (let i = 0; i < bias.length; i++) if (!mask[i]) bias[i] = MASK_VALUE;
  } else {
    const off = tk - tq;
    for (let r = 0; r < tq; r++) for (let c = Math.max(0, r + off + 1); c < tk; c++) bias[r * tk + c] = MASK_VALUE;
  }
  const [out, probs] = tf.tidy(() => {
    const b = tf.tensor2d(bias, [tq, tk]);
    const scores = tf.add(tf.mul(batchMatMul(q, k, false, true), scale), b);
    const p = tf.softmax(scores);
    const o = batchMatMul(p, v) as tf.Tensor4D;
    return opts?.returnProbs ? [o, p as tf.Tensor4D] : [o];
  });
  return opts?.returnProbs ? { output: out!, probs: probs! } : out!;
}

// ---------------------------------------------------------------------------------------------------------
// Execution plan of a layout: row groups with their gather indices and in-block masks (cached, kept tensors)

interface Group {
  /** Query blocks of the group. */
  rows: Int32Array;
  /** Kept key blocks per row in this group (rows with fewer are padded with fully masked slots). */
  m: number;
  keyIdx: Int32Array;
  /** Additive mask [g, blk, m·blk], or null when every slot is fully kept. */
  bias: tf.Tensor3D | null;
}

interface Plan {
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
    throw new Error(`${where}: layout.numBlocks (${numBlocks}) / rows (${rows.length}) do not match ⌈seqLen/blockSize⌉ = ${Math.ceil(seqLen / bs)}`);
  }
  rows.forEach((row, qb) => {
    for (let s = 0; s < row.length; s++) {
      if (row[s]! < 0 || row[s]! > qb) throw new Error(`${where}: layout.rows[${qb}] holds key block ${row[s]}, outside the causal range 0..${qb}`);
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
  for (const { m, rows: groupList } of planGroups(rows.map((r) => r.length), layout.keptBlocks)) {
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

function getPlan(layout: BlockLayout): Plan {
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

/** max over the last axis (keepDims) treated as a constant: the stabiliser of a softmax cancels analytically. */
const stopGradMax = customGradOp((x: tf.Tensor) => ({
  value: tf.max(x, -1, true),
  gradFunc: (_dy: tf.Tensor) => tf.zerosLike(x),
})) as (x: tf.Tensor) => tf.Tensor;

/** Softmax pieces of one part: stabiliser m, Σ exp(s − m) and the unnormalised Σ exp(s − m)·v. */
function softmaxParts(s: tf.Tensor, v: tf.Tensor): { m: tf.Tensor; z: tf.Tensor; o: tf.Tensor } {
  const m = stopGradMax(s);
  const e = tf.exp(tf.sub(s, m));
  return { m, z: tf.sum(e, -1, true), o: batchMatMul(e, v) };
}

const colBiasCache = new Map<string, tf.Tensor2D>();

/** [A, A] additive mask, 0 where b < a (strictly earlier member of the residue class). */
function columnBias(A: number): tf.Tensor2D {
  const key = `${tf.getBackend()}|${A}`;
  let b = colBiasCache.get(key);
  if (!b || b.isDisposed) {
    const data = new Float32Array(A * A);
    for (let a = 0; a < A; a++) for (let c = a; c < A; c++) data[a * A + c] = MASK_VALUE;
    b = tf.keep(tf.tensor2d(data, [A, A]));
    if (colBiasCache.size >= 16) {
      for (const t of colBiasCache.values()) t.dispose();
      colBiasCache.clear();
    }
    colBiasCache.set(key, b);
  }
  return b;
}

/**
 * strided:l as local:l (block-sparse) ∪ {j = i − k·l, k ≥ 1} (dense per residue class mod l), one softmax over
 * both: the parts are disjoint (the column part has i − j ≥ l). Positions are padded to a multiple of l; padded
 * keys are only visible to padded queries (causality), whose outputs are dropped.
 */
function stridedFactorized(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, l: number, bs: number, scale: number): tf.Tensor4D {
  const [B, H, T, D] = q.shape;
  const BH = B * H;
  const A = Math.ceil(T / l);
  const Tp = A * l;
  const nb = Tp / bs;
  const plan = getPlan(resolveLayout({ type: 'local', window: l }, Tp, bs, 'blockSparseAttention'));
  return tf.tidy(() => {
    const pad = (t: tf.Tensor) => tf.reshape(Tp > T ? tf.pad(t, [[0, 0], [0, 0], [0, Tp - T], [0, 0]]) : t, [BH, Tp, D]);
    const qs = pad(tf.mul(q, scale));
    const ks = pad(k);
    const vs = pad(v);
    // Local band: block-sparse, unnormalised.
    const local = groupParts(plan, tf.reshape(qs, [BH, nb, bs * D]) as tf.Tensor3D, tf.reshape(ks, [BH, nb, bs * D]) as tf.Tensor3D, tf.reshape(vs, [BH, nb, bs * D]) as tf.Tensor3D, BH, bs, D);
    // Columns: position a·l + r → [BH, r, a, D]; each residue class attends to its strictly earlier members.
    const toCols = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [BH, A, l, D]), [0, 2, 1, 3]);
    const sc = tf.add(batchMatMul(toCols(qs), toCols(ks), false, true), columnBias(A));
    const col = softmaxParts(sc, toCols(vs));
    const fromCols = (t: tf.Tensor, last: number) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [BH, Tp, last]);
    const mC = fromCols(col.m, 1);
    const zC = fromCols(col.z, 1);
    const oC = fromCols(col.o, D);
    const mAll = tf.maximum(local.m, mC);
    const wA = tf.exp(tf.sub(local.m, mAll));
    const wC = tf.exp(tf.sub(mC, mAll));
    const out = tf.div(tf.add(tf.mul(local.o, wA), tf.mul(oC, wC)), tf.add(tf.mul(local.z, wA), tf.mul(zC, wC)));
    const o4 = tf.reshape(out, [B, H, Tp, D]);
    return (Tp > T ? tf.slice(o4, [0, 0, 0, 0], [B, H, T, D]) : o4) as tf.Tensor4D;
  });
}

/** The block part without normalisation: per query position m, z [BH, Tp, 1] and o [BH, Tp, D]. */
function groupParts(plan: Plan, qb: tf.Tensor3D, kb: tf.Tensor3D, vb: tf.Tensor3D, BH: number, bs: number, D: number) {
  const nb = plan.layout.numBlocks;
  const ms: tf.Tensor3D[] = [];
  const zs: tf.Tensor3D[] = [];
  const os: tf.Tensor3D[] = [];
  for (const group of plan.groups) {
    const g = group.rows.length;
    const m = group.m;
    const qg = g === nb ? qb : gatherBlocks(qb, group.rows);
    const kg = tf.reshape(gatherBlocks(kb, group.keyIdx), [BH * g, m * bs, D]);
    const vg = tf.reshape(gatherBlocks(vb, group.keyIdx), [BH * g, m * bs, D]);
    let s = tf.reshape(batchMatMul(tf.reshape(qg, [BH * g, bs, D]), kg, false, true), [BH, g, bs, m * bs]);
    if (group.bias) s = tf.add(s, group.bias);
    const parts = softmaxParts(tf.reshape(s, [BH * g, bs, m * bs]), vg);
    ms.push(tf.reshape(parts.m, [BH, g, bs]) as tf.Tensor3D);
    zs.push(tf.reshape(parts.z, [BH, g, bs]) as tf.Tensor3D);
    os.push(tf.reshape(parts.o, [BH, g, bs * D]) as tf.Tensor3D);
  }
  const rows = plan.groups.map((gr) => gr.rows);
  const join = (xs: tf.Tensor3D[]) => (xs.length === 1 ? xs[0]! : assembleBlocks(xs, rows, nb));
  const Tp = nb * bs;
  return {
    m: tf.reshape(join(ms), [BH, Tp, 1]),
    z: tf.reshape(join(zs), [BH, Tp, 1]),
    o: tf.reshape(join(os), [BH, Tp, D]),
  };
}

/**
 * Attention of query blocks against their gathered key/value blocks, with a hand-written gradient:
 * q [BH·g, blk, D], k, v [BH·g, m·blk, D], bias [g, blk, m·blk] (shared by the BH batch entries) → [BH·g, blk, D].
 * Only q, k, v and the probabilities are kept for backward (tfjs autodiff would keep every intermediate and its
 * gradient until the end of the backward pass):
 *   dP = dO·vᵀ, dS = P ⊙ (dP − Σ dP ⊙ P), dq = dS·k, dk = dSᵀ·q, dv = Pᵀ·dO.
 */
function blockRowsAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor3D | null, BH: number, onProbs?: (p: tf.Tensor) => void): tf.Tensor {
  const [bhg, blk] = q.shape as [number, number, number];
  const cols = k.shape[1]!;
  const g = bhg / BH;
  const op = customGradOp((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => {
    const probs = tf.tidy(() => {
      let s = batchMatMul(qq, kk, false, true);
      if (bias) s = tf.reshape(tf.add(tf.reshape(s, [BH, g, blk, cols]), bias), [bhg, blk, cols]);
      return tf.softmax(s);
    });
    onProbs?.(probs);
    save([qq, kk, vv, probs]);
    return {
      value: batchMatMul(probs, vv),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, p] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dp = batchMatMul(dy, sv, false, true);
        const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
        return [batchMatMul(ds, sk), batchMatMul(ds, sq, true, false), batchMatMul(p, dy, true, false)];
      },
    };
  }) as (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
  return op(q, k, v);
}

// ---------------------------------------------------------------------------------------------------------
// Block-sparse attention

const layoutCache = new Map<string, BlockLayout>();

function resolveLayout(p: AttentionPattern | BlockLayout, T: number, blockSize: number | undefined, where: string): BlockLayout {
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

/**
 * Causal attention restricted to a pattern, computed block-sparsely: q, k, v [B, H, T, D] → [B, H, T, D].
 * `p` is a pattern (compiled for T with opts.blockSize, cached) or a compiled layout. Equals
 * denseAttention(q, k, v, elementMask(pattern, T, T, 0, blockSize)) up to float rounding, forward and backward.
 */
export function blockSparseAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, p: AttentionPattern | BlockLayout, opts?: BlockSparseOptions & { returnProbs?: false }): tf.Tensor4D;
export function blockSparseAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, p: AttentionPattern | BlockLayout, opts: BlockSparseOptions & { returnProbs: true }): AttentionWithProbs;
export function blockSparseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  p: AttentionPattern | BlockLayout,
  opts?: BlockSparseOptions,
): tf.Tensor4D | AttentionWithProbs {
  const where = 'blockSparseAttention';
  checkQKV(q, k, v, where);
  const [B, H, T, D] = q.shape;
  if (k.shape[2] !== T) throw new Error(`${where}: q has ${T} positions but k has ${k.shape[2]}; use denseAttention with elementMask(p, Tq, Tk, offset) for KV-cache decoding`);
  const scale = resolveScale(opts, D, where);
  const mode = opts?.strided ?? 'auto';
  if (!['auto', 'blocks', 'factorized'].includes(mode)) throw new Error(`${where}: strided must be 'auto', 'blocks' or 'factorized', got ${JSON.stringify(mode)}`);
  if (!isBlockLayout(p) && p.type === 'strided' && mode !== 'blocks' && opts?.returnProbs !== true) {
    const bs = opts?.blockSize ?? DEFAULT_BLOCK_SIZE;
    const fits = p.stride % bs === 0;
    if (mode === 'factorized' && !fits) throw new Error(`${where}: strided 'factorized' needs the stride (${p.stride}) to be a multiple of the block size (${bs})`);
    if (mode === 'factorized' || (fits && T > 2 * p.stride)) return stridedFactorized(q, k, v, p.stride, bs, scale);
  }
  const layout = resolveLayout(p, T, opts?.blockSize, where);
  const plan = getPlan(layout);
  const bs = layout.blockSize;
  const nb = layout.numBlocks;
  const Tp = nb * bs;
  const BH = B * H;
  const wantProbs = opts?.returnProbs === true;
  const probParts: { group: Group; probs: tf.Tensor }[] = [];

  const output = tf.tidy(() => {
    const E = bs * D;
    const blocks = (t: tf.Tensor) => {
      const padded = Tp > T ? tf.pad(t, [[0, 0], [0, 0], [0, Tp - T], [0, 0]]) : t;
      return tf.reshape(padded, [BH, nb, E]) as tf.Tensor3D;
    };
    const qb = blocks(tf.mul(q, scale));
    const kb = blocks(k);
    const vb = blocks(v);
    const outs: tf.Tensor[] = [];
    for (const group of plan.groups) {
      const g = group.rows.length;
      const m = group.m;
      const qg = g === nb ? qb : gatherBlocks(qb, group.rows);
      const kg = tf.reshape(gatherBlocks(kb, group.keyIdx), [BH * g, m * bs, D]);
      const vg = tf.reshape(gatherBlocks(vb, group.keyIdx), [BH * g, m * bs, D]);
      const onProbs = wantProbs ? (probs: tf.Tensor) => probParts.push({ group, probs: tf.keep(tf.clone(probs)) }) : undefined;
      const o = blockRowsAttention(tf.reshape(qg, [BH * g, bs, D]), kg, vg, group.bias, BH, onProbs);
      outs.push(tf.reshape(o, [BH, g, E]));
    }
    const o = outs.length === 1 ? outs[0]! : assembleBlocks(outs as tf.Tensor3D[], plan.groups.map((gr) => gr.rows), nb);
    const o4 = tf.reshape(o, [B, H, Tp, D]);
    return (Tp > T ? tf.slice(o4, [0, 0, 0, 0], [B, H, T, D]) : o4) as tf.Tensor4D;
  });
  if (!wantProbs) return output;
  return { output, probs: scatterProbs(probParts, layout, B, H) };
}

/** Writes per-group block probabilities into a dense [B, H, T, T] tensor (zeros where nothing is attended). */
function scatterProbs(parts: { group: Group; probs: tf.Tensor }[], layout: BlockLayout, B: number, H: number): tf.Tensor4D {
  const { seqLen: T, blockSize: bs } = layout;
  const dense = new Float32Array(B * H * T * T);
  for (const { group, probs } of parts) {
    const data = probs.dataSync();
    probs.dispose();
    const g = group.rows.length;
    const m = group.m;
    for (let bh = 0; bh < B * H; bh++) {
      for (let r = 0; r < g; r++) {
        const qb = group.rows[r]!;
        const kept = layout.rows[qb]!;
        for (let qi = 0; qi < bs; qi++) {
          const i = qb * bs + qi;
          if (i >= T) break;
          for (let s = 0; s < kept.length; s++) {
            const kbase = kept[s]! * bs;
            const src = (((bh * g + r) * bs + qi) * m + s) * bs;
            for (let kj = 0; kj < bs && kbase + kj < T; kj++) dense[(bh * T + i) * T + kbase + kj] = data[src + kj]!;
          }
        }
      }
    }
  }
  return tf.tensor4d(dense, [B, H, T, T]);
}
