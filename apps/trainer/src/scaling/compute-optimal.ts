// Compute-optimal model size, Chinchilla's approach 2 (Hoffmann et al. 2022, §3.2 "IsoFLOP profiles"): at each of
// a few compute budgets C, models of several sizes N are trained on D = C / (6·N) tokens; a parabola in ln N
// through their final losses gives that budget's optimal size N_opt(C) (its vertex), and a line through
// (ln C, ln N_opt) gives the allocation exponent a in N_opt ∝ C^a. The demo then asks, for each candidate shape,
// what compute it can spend in its time budget (C = 6·N·tokens/s·seconds, with ITS measured throughput) and
// takes the candidate whose size is nearest the optimum for that compute — a fixed point, because the compute a
// shape can spend depends on the shape. N is the non-embedding parameter count throughout (as in sweep.ts).

export interface SizedLoss {
  /** Non-embedding parameters. */
  params: number;
  loss: number;
}

export interface IsoFlopProfile {
  /** The budget, 6·N·D FLOPs. */
  compute: number;
  runs: SizedLoss[];
}

export interface IsoFlopVertex {
  compute: number;
  /** Size at the parabola's minimum. */
  nOpt: number;
  /** The parabola's minimum loss. */
  lossMin: number;
  /** Parabola L = p0 + p1·x + p2·x², x = ln N. */
  coefficients: [number, number, number];
  /** True when the vertex lies within the sizes trained (else it is an extrapolation). */
  interior: boolean;
  /** ln N_opt of the parabolas through all runs but one (only with ≥ 4 sizes): the vertex's spread. */
  jackknife: number[];
}

export interface ComputeOptimalLaw {
  /** a in N_opt = k·C^a. */
  exponent: number;
  /** Standard error of a from the regression's residuals (null with 2 budgets: no degrees of freedom left). */
  exponentStdErr: number | null;
  /** Least and greatest a over the refits that leave one run of one budget out. */
  exponentRange: [number, number];
  /** k in N_opt = k·C^a. */
  coefficient: number;
  vertices: IsoFlopVertex[];
  nOpt(compute: number): number;
}

function det3(m: number[][]): number {
  const [a, b, c] = m as [number[], number[], number[]];
  return a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) - a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) + a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
}

/** Least-squares parabola through (x, y) by the normal equations, solved with Cramer's rule. */
function parabola(xs: number[], ys: number[]): [number, number, number] {
  // Centre x so the normal equations stay well conditioned (ln N ≈ 13–17), then shift the coefficients back.
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const power = (k: number) => xs.reduce((s, x) => s + (x - mx) ** k, 0);
  const moment = (k: number) => xs.reduce((s, x, i) => s + (x - mx) ** k * ys[i]!, 0);
  const A = [
    [power(0), power(1), power(2)],
    [power(1), power(2), power(3)],
    [power(2), power(3), power(4)],
  ];
  const rhs = [moment(0), moment(1), moment(2)];
  const d = det3(A);
  if (Math.abs(d) < 1e-12 * Math.max(1, power(4) ** 1.5)) throw new Error('isoFLOP profile: the sizes must differ (≥ 3 distinct)');
  const [q0, q1, q2] = [0, 1, 2].map((col) => det3(A.map((row, r) => row.map((v, c) => (c === col ? rhs[r]! : v))))! / d) as [
    number,
    number,
    number,
  ];
  return [q0 - q1 * mx + q2 * mx * mx, q1 - 2 * q2 * mx, q2];
}

function vertexOf(runs: SizedLoss[]): { lnN: number; lossMin: number; coefficients: [number, number, number] } {
  const xs = runs.map((r) => Math.log(r.params));
  const coefficients = parabola(
    xs,
    runs.map((r) => r.loss),
  );
  const [p0, p1, p2] = coefficients;
  if (!(p2 > 0)) throw new Error('isoFLOP profile: loss has no minimum over ln N (the parabola opens downwards)');
  const lnN = -p1 / (2 * p2);
  return { lnN, lossMin: p0 + p1 * lnN + p2 * lnN * lnN, coefficients };
}

/** One budget's optimal size: the vertex of a parabola in ln N through its runs (≥ 3 sizes). */
export function isoFlopVertex(profile: IsoFlopProfile): IsoFlopVertex {
  const { runs } = profile;
  if (runs.length < 3) throw new Error(`isoFLOP profile at C=${profile.compute.toExponential(2)}: need ≥ 3 sizes, got ${runs.length}`);
  for (const r of runs) {
    if (!(r.params > 0) || !Number.isFinite(r.loss)) throw new Error(`isoFLOP profile: bad run ${JSON.stringify(r)}`);
  }
  const v = vertexOf(runs);
  const lns = runs.map((r) => Math.log(r.params));
  const jackknife: number[] = [];
  if (runs.length >= 4) {
    for (let i = 0; i < runs.length; i++) {
      try {
        jackknife.push(vertexOf(runs.filter((_, j) => j !== i)).lnN);
      } catch {
        // Without that run the remaining losses have no minimum: that refit says nothing about the vertex.
      }
    }
  }
  return {
    compute: profile.compute,
    nOpt: Math.exp(v.lnN),
    lossMin: v.lossMin,
    coefficients: v.coefficients,
    interior: v.lnN >= Math.min(...lns) && v.lnN <= Math.max(...lns),
    jackknife,
  };
}

/** Slope, intercept and the slope's standard error of y = intercept + slope·x. */
function line(xs: number[], ys: number[]): { slope: number; intercept: number; slopeStdErr: number | null } {
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / sxx;
  const intercept = my - slope * mx;
  const sse = xs.reduce((s, x, i) => s + (ys[i]! - intercept - slope * x) ** 2, 0);
  return { slope, intercept, slopeStdErr: n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : null };
}

/** N_opt(C) = k·C^a through the vertices of ≥ 2 isoFLOP profiles at distinct budgets. */
export function fitComputeOptimal(profiles: IsoFlopProfile[]): ComputeOptimalLaw {
  if (profiles.length < 2) throw new Error(`compute-optimal law: need ≥ 2 budgets, got ${profiles.length}`);
  if (new Set(profiles.map((p) => p.compute)).size !== profiles.length) throw new Error('compute-optimal law: the budgets must differ');
  const vertices = profiles.map(isoFlopVertex);
  const xs = vertices.map((v) => Math.log(v.compute));
  const fit = line(
    xs,
    vertices.map((v) => Math.log(v.nOpt)),
  );
  // Leave-one-run-out refits: each budget's jackknife vertices in turn, the other budgets at their full fit.
  const slopes = [fit.slope];
  vertices.forEach((v, i) => {
    for (const lnN of v.jackknife)
      slopes.push(
        line(
          xs,
          vertices.map((w, j) => (j === i ? lnN : Math.log(w.nOpt))),
        ).slope,
      );
  });
  const k = Math.exp(fit.intercept);
  return {
    exponent: fit.slope,
    exponentStdErr: fit.slopeStdErr,
    exponentRange: [Math.min(...slopes), Math.max(...slopes)],
    coefficient: k,
    vertices,
    nOpt: (compute: number) => k * Math.pow(compute, fit.slope),
  };
}

export interface ShapeCandidate {
  name: string;
  /** Non-embedding parameters. */
  params: number;
  /** Measured training throughput on this machine. */
  tokensPerSec: number;
}

export interface ShapeChoice<S extends ShapeCandidate = ShapeCandidate> {
  candidate: S;
  /** Tokens it trains on in the budget. */
  tokens: number;
  /** 6·N·tokens. */
  compute: number;
  /** The law's optimal size for that compute. */
  nOpt: number;
  /** ln(N / N_opt): > 0 too large for its compute, < 0 too small. */
  mismatch: number;
}

/**
 * Every candidate with the compute it can spend in `seconds` and the law's optimal size for that compute; the
 * chosen one is the candidate nearest its own optimum (least |ln N − ln N_opt(C)|).
 */
export function chooseShape<S extends ShapeCandidate>(
  candidates: S[],
  nOpt: (compute: number) => number,
  seconds: number,
): { chosen: ShapeChoice<S>; table: ShapeChoice<S>[] } {
  if (candidates.length === 0) throw new Error('chooseShape: no candidates');
  const table = candidates.map((candidate) => {
    if (!(candidate.params > 0 && candidate.tokensPerSec > 0)) throw new Error(`chooseShape: bad candidate ${JSON.stringify(candidate)}`);
    const tokens = candidate.tokensPerSec * seconds;
    const compute = 6 * candidate.params * tokens;
    const opt = nOpt(compute);
    return { candidate, tokens, compute, nOpt: opt, mismatch: Math.log(candidate.params / opt) };
  });
  const chosen = table.reduce((best, c) => (Math.abs(c.mismatch) < Math.abs(best.mismatch) ? c : best));
  return { chosen, table };
}
