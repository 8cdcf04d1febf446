// Predictable scaling (GPT-4 report): fit final loss against training compute with
//   L(C) = a · C^(−b) + c        (a > 0, b > 0, c ≥ 0: the irreducible loss)
// on small runs, then predict a larger run's loss before training it.
//
// Method: for a fixed c the model is linear in log space, log(L − c) = log a − b · log C, so we scan c over
// [0, min L) and solve that regression in closed form, keep the c with the least squared error in L itself,
// then polish all three parameters with a few Gauss–Newton (Levenberg–Marquardt damped) steps.

export interface ScalingPoint {
  /** Training compute in FLOPs (6·N·tokens plus attention). */
  compute: number;
  loss: number;
}

export interface PowerLawFit {
  a: number;
  b: number;
  c: number;
  /** Root-mean-square error of the fit on its points, in loss units. */
  rmse: number;
  predict(compute: number): number;
}

function makeFit(a: number, b: number, c: number, points: ScalingPoint[]): PowerLawFit {
  const predict = (compute: number) => a * Math.pow(compute, -b) + c;
  const sse = points.reduce((s, p) => s + (predict(p.compute) - p.loss) ** 2, 0);
  return { a, b, c, rmse: Math.sqrt(sse / points.length), predict };
}

function regressionForC(points: ScalingPoint[], c: number): { a: number; b: number; sse: number } | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of points) {
    if (p.loss - c <= 0) return null;
    xs.push(Math.log(p.compute));
    ys.push(Math.log(p.loss - c));
  }
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const b = -slope;
  const a = Math.exp(my - slope * mx);
  if (!(b > 0) || !Number.isFinite(a)) return null;
  const sse = points.reduce((s, p) => s + (a * Math.pow(p.compute, -b) + c - p.loss) ** 2, 0);
  return { a, b, sse };
}

/** Fits L(C) = a·C^(−b) + c. Needs at least 3 points with distinct compute. */
export function fitPowerLaw(points: ScalingPoint[]): PowerLawFit {
  if (points.length < 3) throw new Error(`fitPowerLaw: need at least 3 runs to fit a, b and c, got ${points.length}`);
  for (const p of points) {
    if (!(p.compute > 0) || !Number.isFinite(p.loss)) throw new Error(`fitPowerLaw: bad point ${JSON.stringify(p)}`);
  }
  if (new Set(points.map((p) => p.compute)).size < 2) throw new Error('fitPowerLaw: runs must differ in compute');
  const minLoss = Math.min(...points.map((p) => p.loss));
  let best: { a: number; b: number; c: number; sse: number } | null = null;
  const steps = 4000;
  for (let i = 0; i < steps; i++) {
    const c = (minLoss * i) / steps;
    const r = regressionForC(points, c);
    if (r && (!best || r.sse < best.sse)) best = { ...r, c };
  }
  if (!best) throw new Error('fitPowerLaw: losses do not decrease with compute; no power law fits');
  const polished = levenbergMarquardt(points, best.a, best.b, best.c);
  return makeFit(polished.a, polished.b, polished.c, points);
}

/** A few damped Gauss–Newton steps on (log a, b, c); keeps c ≥ 0 and b > 0. */
function levenbergMarquardt(points: ScalingPoint[], a0: number, b0: number, c0: number) {
  let la = Math.log(a0);
  let b = b0;
  let c = c0;
  const sseOf = (lA: number, bb: number, cc: number) =>
    points.reduce((s, p) => s + (Math.exp(lA - bb * Math.log(p.compute)) + cc - p.loss) ** 2, 0);
  let sse = sseOf(la, b, c);
  let lambda = 1e-3;
  for (let iter = 0; iter < 200; iter++) {
    // Jacobian of residuals r_i = a·C^-b + c − L w.r.t. (log a, b, c).
    const JtJ = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    const Jtr = [0, 0, 0];
    for (const p of points) {
      const lc = Math.log(p.compute);
      const term = Math.exp(la - b * lc);
      const r = term + c - p.loss;
      const j = [term, -term * lc, 1];
      for (let u = 0; u < 3; u++) {
        Jtr[u]! += j[u]! * r;
        for (let v = 0; v < 3; v++) JtJ[u]![v]! += j[u]! * j[v]!;
      }
    }
    const A = JtJ.map((row, u) => row.map((v, w) => (u === w ? v * (1 + lambda) + 1e-12 : v)));
    const step = solve3(
      A,
      Jtr.map((v) => -v),
    );
    if (!step) break;
    const nla = la + step[0]!;
    const nb = Math.max(1e-6, b + step[1]!);
    const nc = Math.max(0, c + step[2]!);
    const nsse = sseOf(nla, nb, nc);
    if (nsse < sse) {
      la = nla;
      b = nb;
      c = nc;
      if (sse - nsse < 1e-15 * Math.max(1, sse)) {
        sse = nsse;
        break;
      }
      sse = nsse;
      lambda = Math.max(lambda / 10, 1e-9);
    } else {
      lambda *= 10;
      if (lambda > 1e9) break;
    }
  }
  return { a: Math.exp(la), b, c };
}

function solve3(A: number[][], y: number[]): number[] | null {
  const m = A.map((row, i) => [...row, y[i]!]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    if (Math.abs(m[piv]![col]!) < 1e-300) return null;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let k = col; k < 4; k++) m[r]![k]! -= f * m[col]![k]!;
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!];
}
