// GPT.beamStep: one new token per beam over a BeamKVCache (see kv-cache-beam.ts for the layout) as ONE batched
// forward. The embeddings, blocks, MLPs and LM head are those of GPT.forward with a KVCache; only the attention
// differs: per head, the B queries meet all W + B keys ([H, B, D] · [H, W + B, D]ᵀ) under the cache's ancestry
// mask, so no row's history is ever gathered. The extra scores are few (B·(W + B) per head against the weight
// products' 12·C² per row) and their softmax weight is exactly 0.
import { tf, batchMatMul } from '@gptlab/tensor';
import type { BatchedModelParts } from './batched-step';
import type { BeamKVCache } from './kv-cache-beam';
import { conv1d } from './layers';

/** See GPT.beamStep. */
export function beamDecodeStep(m: BatchedModelParts, tokens: ArrayLike<number>, cache: BeamKVCache): tf.Tensor2D {
  if (cache?.ownerId !== m.id) throw new Error('beamStep: the beam cache was created by another model');
  if (cache.isDisposed) throw new Error('beamStep: the beam cache was disposed');
  const c = m.config;
  const B = cache.batchSize;
  if (tokens?.length !== B || B === 0) {
    throw new Error(`beamStep: got ${tokens?.length} tokens for a beam cache of ${B} rows (one token per row; setPrompt first)`);
  }
  const pos = cache.length;
  if (pos >= c.nPositions) throw new Error(`beamStep: the rows already hold nPositions = ${c.nPositions} positions`);
  if (m.patterns.some((p) => p !== null))
    throw new Error('beamStep: sparse attention layers are not supported (use forward with a KVCache)');
  const H = c.nHead;
  const C = c.nEmbd;
  const D = C / H;
  const scale = 1 / Math.sqrt(D);
  const ids = m.idsTensor(Array.from(tokens, (t) => [t]));
  const kv: tf.Tensor3D[] = [];
  try {
    const logits = tf.tidy(() => {
      const mask = cache.keyMask();
      // as GPT.forward: token embeddings [B, 1, C] + the one position's embedding [1, C]
      const x = tf.add(tf.gather(m.wte, ids), tf.slice(m.wpe, [pos, 0], [1, C]));
      const h = m.decoder(x, (hl, l) => {
        const w = m.attention(l);
        // [B, 1, 3C] → [3H, B, D]: q heads, then k heads, then v heads, each with the B rows as matrix rows
        const qkv = tf.transpose(tf.reshape(conv1d(hl, w.c_attn), [B, 3 * H, D]), [1, 0, 2]);
        const q = tf.slice(qkv, [0, 0, 0], [H, B, D]);
        const [pastK, pastV] = cache.layer(l);
        const k = tf.concat([pastK, tf.slice(qkv, [H, 0, 0], [H, B, D])], 1) as tf.Tensor3D;
        const v = tf.concat([pastV, tf.slice(qkv, [2 * H, 0, 0], [H, B, D])], 1) as tf.Tensor3D;
        const scores = tf.add(batchMatMul(tf.mul(q, scale), k, false, true), mask); // [H, B, W + B]
        const y = batchMatMul(tf.softmax(scores), v); // [H, B, D]
        kv.push(tf.keep(k), tf.keep(v));
        return conv1d(tf.reshape(tf.transpose(y, [1, 0, 2]), [B, 1, C]), w.c_proj);
      });
      return tf.reshape(m.lmHead(h, B, 1), [B, c.vocabSize]) as tf.Tensor2D;
    });
    cache.commit(kv);
    return logits;
  } catch (e) {
    tf.dispose(kv);
    throw e;
  } finally {
    ids.dispose();
  }
}
