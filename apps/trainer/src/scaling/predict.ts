// A prediction from a power law fitted on several seeds per size, with an interval that shows how much the
// prediction depends on which seed's run happened to be drawn: the law is refitted on every way of picking ONE
// run per size (all of them when there are at most MAX_SUBSETS, else a seeded sample), and the interval is the
// range of those refits' predictions. The point prediction itself is the fit on all runs.
import { fitPowerLaw, type PowerLawFit, type ScalingPoint } from './fit';

const MAX_SUBSETS = 256;

export interface Prediction {
  /** Fit on every run (all seeds of every size). */
  fit: { a: number; b: number; c: number; rmse: number };
  value: number;
  /** Range of the predictions of the one-run-per-size refits. */
  low: number;
  high: number;
  /** How many refits the interval comes from. */
  refits: number;
}

/** Groups points by compute (one group per size, its seeds inside), in increasing compute. */
function bySize(points: ScalingPoint[]): ScalingPoint[][] {
  const groups = new Map<number, ScalingPoint[]>();
  for (const p of points) groups.set(p.compute, [...(groups.get(p.compute) ?? []), p]);
  return [...groups.entries()].sort((x, y) => x[0] - y[0]).map(([, g]) => g);
}

/** A deterministic generator in [0, 1) for the sampled case (an LCG; only the subset choice depends on it). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Index choices picking one run per size: all combinations, or MAX_SUBSETS sampled ones. */
function subsets(sizes: number[]): number[][] {
  const total = sizes.reduce((a, b) => a * b, 1);
  if (total <= MAX_SUBSETS) {
    return Array.from({ length: total }, (_, k) =>
      sizes.map((n) => {
        const i = k % n;
        k = Math.floor(k / n);
        return i;
      }),
    );
  }
  const rand = lcg(17);
  return Array.from({ length: MAX_SUBSETS }, () => sizes.map((n) => Math.floor(rand() * n)));
}

/** Fits L(C) = a·C^(−b) + c on `points` and predicts `compute`, with the one-run-per-size interval. */
export function predictAt(points: ScalingPoint[], compute: number): Prediction {
  const full: PowerLawFit = fitPowerLaw(points);
  const groups = bySize(points);
  const values: number[] = [];
  for (const pick of subsets(groups.map((g) => g.length))) {
    try {
      values.push(fitPowerLaw(pick.map((i, s) => groups[s]![i]!)).predict(compute));
    } catch {
      // A subset whose values do not decrease has no power law; it contributes nothing to the range.
    }
  }
  const value = full.predict(compute);
  return {
    fit: { a: full.a, b: full.b, c: full.c, rmse: full.rmse },
    value,
    low: Math.min(value, ...values),
    high: Math.max(value, ...values),
    refits: values.length,
  };
}
