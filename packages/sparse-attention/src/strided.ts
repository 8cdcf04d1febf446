// strided:l computed factorized (the Sparse Transformer's own factorization): a local band of l, block-sparse, plus per residue
// class mod l dense causal attention over its earlier members, merged in one softmax by log-sum-exp.
import { tf, batchMatMul, MASK_VALUE } from '@gptlab/tensor';
import { assembleBlocks } from './gather-blocks';
import { getPlan, resolveLayout, type Plan } from './plan';
import { gatherGroup, softmaxParts, padTime, cropTime } from './block-rows';

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
export function stridedFactorized(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, l: number, bs: number, scale: number): tf.Tensor4D {
  const [B, H, T, D] = q.shape;
  const BH = B * H;
  const A = Math.ceil(T / l);
  const Tp = A * l;
  const nb = Tp / bs;
  const plan = getPlan(resolveLayout({ type: 'local', window: l }, Tp, bs, 'blockSparseAttention'));
  return tf.tidy(() => {
    const pad = (t: tf.Tensor) => tf.reshape(padTime(t, Tp), [BH, Tp, D]);
    const qs = pad(tf.mul(q, scale));
    const ks = pad(k);
    const vs = pad(v);
    // Local band: block-sparse, unnormalised.
    const local = groupParts(
      plan,
      tf.reshape(qs, [BH, nb, bs * D]) as tf.Tensor3D,
      tf.reshape(ks, [BH, nb, bs * D]) as tf.Tensor3D,
      tf.reshape(vs, [BH, nb, bs * D]) as tf.Tensor3D,
      BH,
      bs,
      D,
    );
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
    return cropTime(tf.reshape(out, [B, H, Tp, D]), T);
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
    const { q, k, v } = gatherGroup(group, qb, kb, vb, BH, bs, D);
    let s = tf.reshape(batchMatMul(q, k, false, true), [BH, g, bs, m * bs]);
    if (group.bias) s = tf.add(s, group.bias);
    const parts = softmaxParts(tf.reshape(s, [BH * g, bs, m * bs]), v);
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
