// The checks GPT.forward makes on what it is given: token ids as rows (checked against the vocabulary on the host)
// and a prefix of embeddings (checked against the batch and the width).
import { tf } from '@gptlab/tensor';

/** The length P of a forward prefix [B, P, nEmbd], checked against the ids' rows and the model width. */
export function checkPrefix(prefix: tf.Tensor3D, B: number, nEmbd: number): number {
  if (
    !(prefix instanceof tf.Tensor) ||
    prefix.rank !== 3 ||
    prefix.shape[0] !== B ||
    prefix.shape[2] !== nEmbd ||
    prefix.dtype !== 'float32'
  ) {
    throw new Error(`forward: prefix must be a float32 tensor [${B}, P, ${nEmbd}], got [${prefix?.shape}]`);
  }
  return prefix.shape[1];
}

/** Rows of token ids → an int32 tensor, each id checked against the vocabulary (on the host, where they are). */
export function idsTensor(rows: readonly ArrayLike<number>[], vocabSize: number): tf.Tensor2D {
  if (!Array.isArray(rows))
    throw new Error(`forward: ids must be an int32 tensor [batch, time] or an array of rows of token ids, got ${typeof rows}`);
  const T = rows[0]?.length ?? 0;
  const flat = new Int32Array(rows.length * T);
  rows.forEach((row, b) => {
    if (row?.length !== T)
      throw new Error(`forward: ids row ${b} has ${row?.length} tokens but row 0 has ${T} (rows must be equally long)`);
    for (let i = 0; i < T; i++) {
      const t = row[i]!;
      if (!(Number.isInteger(t) && t >= 0 && t < vocabSize)) {
        throw new Error(`forward: token id ${t} at [${b}, ${i}] is outside the vocabulary [0, ${vocabSize})`);
      }
      flat[b * T + i] = t;
    }
  });
  return tf.tensor2d(flat, [rows.length, T], 'int32');
}
