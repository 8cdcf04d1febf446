// @gptlab/common/testing: the float64 references and deterministic inputs that gptlab's numeric tests
// compare kernels against. Plain functions on typed arrays (no tfjs, no jest), so every package can use them,
// @gptlab/tensor-native included (it sits below @gptlab/tensor and cannot import it).

/**
 * xorshift32: a stream of deterministic unsigned 32-bit integers for test inputs. Deliberately not `Rng`:
 * test data, and the tolerances tuned on it, must not move when the training PRNG changes.
 */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** n deterministic floats, uniform in [−scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float64Array {
  const next = xorshift32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((next() / 4294967296) * 2 - 1) * scale;
  return out;
}

/** randomArray rounded to float32: what a tensor holds, so float64 references see the same inputs. */
export function randomFloat32Array(n: number, seed: number, scale = 1): Float32Array {
  return Float32Array.from(randomArray(n, seed, scale));
}

/** n deterministic token ids in [0, vocab). */
export function randomIds(n: number, vocab: number, seed: number): number[] {
  const next = xorshift32(seed);
  return Array.from({ length: n }, () => next() % vocab);
}

/** max |a − b| over two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** max |a − b| / (1 + |b|): relative error for large entries of the reference b, absolute for small ones. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

/** Layout of a batched product, with the storage rules of the kernels under test. */
export interface MatMulLayout {
  m: number;
  n: number;
  k: number;
  /** Matrices in the batch (default 1). */
  batch?: number;
  /** a is stored [k, m] instead of [m, k]. */
  transposeA?: boolean;
  /** b is stored [n, k] instead of [k, n]. */
  transposeB?: boolean;
  /** Elements between consecutive matrices of a (default m·k; 0 broadcasts one matrix). */
  strideA?: number;
  /** Elements between consecutive matrices of b (default k·n; 0 broadcasts one matrix). */
  strideB?: number;
}

/** The float64 product c[z] = op(a[z])·op(b[z]), row-major, c dense [batch, m, n]. */
export function matMulFloat64(a: ArrayLike<number>, b: ArrayLike<number>, layout: MatMulLayout): Float64Array {
  const { m, n, k, batch = 1, transposeA = false, transposeB = false } = layout;
  const strideA = layout.strideA ?? m * k;
  const strideB = layout.strideB ?? k * n;
  const c = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a[z * strideA + (transposeA ? p * m + i : i * k + p)]!;
          const bv = b[z * strideB + (transposeB ? j * k + p : p * n + j)]!;
          s += av * bv;
        }
        c[z * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

/** Central finite differences ∂f/∂x_i of a float64 scalar function f at x (x is restored afterwards). */
export function finiteDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i]!;
    x[i] = old + h;
    const up = f(x);
    x[i] = old - h;
    const down = f(x);
    x[i] = old;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Log-softmax of each row of `logits` (rows of `cols` entries), in float64. */
export function logSoftmaxRows(logits: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / cols; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, logits[r * cols + j]!);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(logits[r * cols + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) out[r * cols + j] = logits[r * cols + j]! - lse;
  }
  return out;
}
