// Float64 reference of causal attention and its gradients, shared by the op's tests (test/attention.test.ts)
// and the native kernel's (test/native/attention.test.ts). Plain loops over [BH, T, D] / [BH, Tk, D] arrays.

export interface AttentionCase {
  bh: number;
  t: number;
  tk: number;
  d: number;
  scale: number;
}

/** out = softmax(scale·q·kᵀ + causal mask)·v, and dq, dk, dv for the loss Σ out ⊙ dOut. */
export function attentionFloat64(
  c: AttentionCase,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dOut: ArrayLike<number>,
): { out: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { bh, t, tk, d, scale } = c;
  const out = new Float64Array(bh * t * d);
  const dq = new Float64Array(bh * t * d);
  const dk = new Float64Array(bh * tk * d);
  const dv = new Float64Array(bh * tk * d);
  const p = new Float64Array(tk);
  const dp = new Float64Array(tk);
  for (let h = 0; h < bh; h++) {
    const qo = h * t * d;
    const ko = h * tk * d;
    for (let i = 0; i < t; i++) {
      const visible = tk - t + i + 1; // query i is key position tk − t + i
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        let s = 0;
        for (let x = 0; x < d; x++) s += q[qo + i * d + x]! * k[ko + j * d + x]!;
        p[j] = s * scale;
        max = Math.max(max, p[j]!);
      }
      let sum = 0;
      for (let j = 0; j < visible; j++) sum += p[j] = Math.exp(p[j]! - max);
      let delta = 0; // Σ_j p_j · dp_j
      for (let j = 0; j < visible; j++) {
        p[j] = p[j]! / sum;
        let s = 0;
        for (let x = 0; x < d; x++) {
          out[qo + i * d + x] += p[j]! * v[ko + j * d + x]!;
          s += dOut[qo + i * d + x]! * v[ko + j * d + x]!;
        }
        dp[j] = s;
        delta += p[j]! * s;
      }
      for (let j = 0; j < visible; j++) {
        const ds = p[j]! * (dp[j]! - delta) * scale;
        for (let x = 0; x < d; x++) {
          dq[qo + i * d + x] += ds * k[ko + j * d + x]!;
          dk[ko + j * d + x] += ds * q[qo + i * d + x]!;
          dv[ko + j * d + x] += p[j]! * dOut[qo + i * d + x]!;
        }
      }
    }
  }
  return { out, dq, dk, dv };
}
