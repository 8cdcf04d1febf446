// Row and element loops for the fused kernels on plain wasm (GELU, LayerNorm, cross-entropy), in JS over
// the wasm heap: one pass per direction instead of the chain of tfjs ops (each a full pass plus an
// allocation). Exponentials are left to the backend's SIMD sigmoid/softmax (~1.3 ns/element; JS's Math.exp
// costs ~13). The same arithmetic as @gptlab/tensor-native's C++ kernels, in float64 within a row.

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const COEFF = 0.044715;

/** Row-wise LayerNorm: y = x̂·γ + β with x̂ = (x − mean)·rstd, rstd = 1/√(var + eps); keeps x̂ and rstd. */
export function layerNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  y: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[o + j]!;
    mean /= cols;
    let varSum = 0;
    for (let j = 0; j < cols; j++) {
      const c = x[o + j]! - mean;
      varSum += c * c;
    }
    const rs = 1 / Math.sqrt(varSum / cols + eps);
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      const h = (x[o + j]! - mean) * rs;
      xhat[o + j] = h;
      y[o + j] = h * gamma[j]! + beta[j]!;
    }
  }
}

/** dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ; dγ = Σ dy·x̂, dβ = Σ dy over rows. */
export function layerNormBackward(
  dy: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  gamma: Float32Array,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
  rows: number,
  cols: number,
): void {
  const dg = new Float64Array(cols);
  const db = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < cols; j++) {
      const d = dy[o + j]!;
      const h = xhat[o + j]!;
      const g = d * gamma[j]!;
      sumG += g;
      sumGX += g * h;
      dg[j] += d * h;
      db[j] += d;
    }
    const meanG = sumG / cols;
    const meanGX = sumGX / cols;
    const rs = rstd[r]!;
    for (let j = 0; j < cols; j++) dx[o + j] = rs * (dy[o + j]! * gamma[j]! - meanG - xhat[o + j]! * meanGX);
  }
  for (let j = 0; j < cols; j++) {
    dgamma[j] = dg[j]!;
    dbeta[j] = db[j]!;
  }
}

/** z = 2·√(2/π)·(x + 0.044715·x³): GELU as x·σ(z) (the same function as 0.5·x·(1 + tanh(z/2))). */
export function geluSigmoidArg(x: Float32Array, z: Float32Array, n: number): void {
  const k = 2 * SQRT_2_OVER_PI;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    z[i] = k * (v + COEFF * v * v * v);
  }
}

/** y = x·s in place over s = σ(z). */
export function geluFromSigmoid(x: Float32Array, s: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) s[i] = x[i]! * s[i]!;
}

/** dx = dy·(s + 2·x·s·(1 − s)·√(2/π)·(1 + 3·0.044715·x²)) in place over s = σ(z). */
export function geluGradFromSigmoid(x: Float32Array, dy: Float32Array, s: Float32Array, n: number): void {
  const k = 2 * SQRT_2_OVER_PI;
  const c3 = 3 * COEFF;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const si = s[i]!;
    s[i] = dy[i]! * (si + v * si * (1 - si) * k * (1 + c3 * v * v));
  }
}

/**
 * Cross-entropy from softmax probabilities already in `grad` (rows × cols): returns the mean loss over the
 * counted rows and turns `grad` into (p − one-hot)/count (0 for ignored rows). The loss of a row is
 * −log p[target]; when p[target] is below 1e-30 (a target far below the row's max, where float32
 * probabilities lose it) it is computed exactly as log-sum-exp − logit from the logits.
 */
export function crossEntropyFromSoftmax(
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
  grad: Float32Array,
): number {
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= cols) throw new RangeError(`crossEntropy: target ${t} at row ${r} is outside the vocabulary [0, ${cols})`);
    count++;
  }
  const w = 1 / Math.max(count, 1);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      grad.fill(0, o, o + cols);
      continue;
    }
    const pt = grad[o + t]!;
    if (pt > 1e-30) loss -= Math.log(pt);
    else {
      let max = -Infinity;
      for (let j = 0; j < cols; j++) if (logits[o + j]! > max) max = logits[o + j]!;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(logits[o + j]! - max);
      loss += Math.log(sum) + max - logits[o + t]!;
    }
    for (let j = o; j < o + cols; j++) grad[j] = grad[j]! * w;
    grad[o + t] = grad[o + t]! - w;
  }
  return loss * w;
}
