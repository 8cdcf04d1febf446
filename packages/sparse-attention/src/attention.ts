// Block-sparse causal attention.
//
// blockSparseAttention never forms an n×n tensor: per query block it gathers only the kept key/value blocks,
// computes [blk × (kept·blk)] scores, masks inside those blocks with the pattern's element rule, and takes the
// softmax and the weighted sum there. Query blocks with similar numbers of kept blocks (planGroups, plan.ts) are
// batched into one gather + two batched products, so the op count grows with the number of groups, not with n.
// Backward: a hand-written gradient per group (blockRowsAttention, block-rows.ts) plus tfjs autodiff through the
// block gathers. strided patterns may instead be computed factorized (strided.ts).
import { tf } from '@gptlab/tensor';
import { DEFAULT_BLOCK_SIZE, type AttentionPattern } from './patterns';
import { isBlockLayout, type BlockLayout } from './layout';
import { assembleBlocks } from './gather-blocks';
import { checkQKV, resolveScale, type AttentionWithProbs, type BlockSparseOptions } from './options';
import { getPlan, resolveLayout, type Group } from './plan';
import { blockRowsAttention, gatherGroup, padTime, cropTime } from './block-rows';
import { stridedFactorized } from './strided';

/**
 * Causal attention restricted to a pattern, computed block-sparsely: q, k, v [B, H, T, D] → [B, H, T, D].
 * `p` is a pattern (compiled for T with opts.blockSize, cached) or a compiled layout. Equals
 * denseAttention(q, k, v, elementMask(pattern, T, T, 0, blockSize)) up to float rounding, forward and backward.
 */
export function blockSparseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  p: AttentionPattern | BlockLayout,
  opts?: BlockSparseOptions & { returnProbs?: false },
): tf.Tensor4D;
export function blockSparseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  p: AttentionPattern | BlockLayout,
  opts: BlockSparseOptions & { returnProbs: true },
): AttentionWithProbs;
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
  if (k.shape[2] !== T)
    throw new Error(
      `${where}: q has ${T} positions but k has ${k.shape[2]}; use denseAttention with elementMask(p, Tq, Tk, offset) for KV-cache decoding`,
    );
  const scale = resolveScale(opts, D, where);
  const mode = opts?.strided ?? 'auto';
  if (!['auto', 'blocks', 'factorized'].includes(mode))
    throw new Error(`${where}: strided must be 'auto', 'blocks' or 'factorized', got ${JSON.stringify(mode)}`);
  if (!isBlockLayout(p) && p.type === 'strided' && mode !== 'blocks' && opts?.returnProbs !== true) {
    const bs = opts?.blockSize ?? DEFAULT_BLOCK_SIZE;
    const fits = p.stride % bs === 0;
    if (mode === 'factorized' && !fits)
      throw new Error(`${where}: strided 'factorized' needs the stride (${p.stride}) to be a multiple of the block size (${bs})`);
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
    const blocks = (t: tf.Tensor) => tf.reshape(padTime(t, Tp), [BH, nb, E]) as tf.Tensor3D;
    const qb = blocks(tf.mul(q, scale));
    const kb = blocks(k);
    const vb = blocks(v);
    const outs: tf.Tensor[] = [];
    for (const group of plan.groups) {
      const { q: qg, k: kg, v: vg } = gatherGroup(group, qb, kb, vb, BH, bs, D);
      const onProbs = wantProbs ? (probs: tf.Tensor) => probParts.push({ group, probs: tf.keep(tf.clone(probs)) }) : undefined;
      const o = blockRowsAttention(qg, kg, vg, group.bias, BH, onProbs);
      outs.push(tf.reshape(o, [BH, group.rows.length, E]));
    }
    const o =
      outs.length === 1
        ? outs[0]!
        : assembleBlocks(
            outs as tf.Tensor3D[],
            plan.groups.map((gr) => gr.rows),
            nb,
          );
    return cropTime(tf.reshape(o, [B, H, Tp, D]), T);
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
