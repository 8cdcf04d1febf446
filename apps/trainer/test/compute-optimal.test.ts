import { chooseShape, fitComputeOptimal, isoFlopVertex, type IsoFlopProfile } from '../src/scaling/compute-optimal';

// A synthetic Chinchilla loss L(N, D) = E + A/N^α + B/D^β, whose compute-optimal size under C = 6·N·D is known in
// closed form: N_opt(C) = G·(C/6)^(β/(α+β)), G = (αA/(βB))^(1/(α+β)) (Hoffmann et al. 2022, eq. 4).
const [E, A, B, alpha, beta] = [1.7, 5750, 2000, 0.34, 0.28];
const loss = (n: number, d: number) => E + A / n ** alpha + B / d ** beta;
const G = ((alpha * A) / (beta * B)) ** (1 / (alpha + beta));
const trueNOpt = (c: number) => G * (c / 6) ** (beta / (alpha + beta));

/** Sizes at factors of the true optimum (not centred on it unless asked), each on D = C/(6N) tokens. */
function profile(compute: number, factors: number[]): IsoFlopProfile {
  const centre = trueNOpt(compute);
  return { compute, runs: factors.map((f) => ({ params: centre * f, loss: loss(centre * f, compute / (6 * centre * f)) })) };
}

describe('compute-optimal size from isoFLOP profiles', () => {
  const budgets = [1e12, 4e12, 1.6e13];
  const factors = [0.2, 0.45, 1, 2.2, 5];

  it('finds each budget’s optimum at the parabola’s vertex, with a jackknife spread', () => {
    // An off-centre grid: the vertex must come from the losses, not from the middle size.
    const v = isoFlopVertex(profile(4e12, [0.3, 0.7, 1.6, 3.5]));
    expect(Math.abs(Math.log(v.nOpt / trueNOpt(4e12)))).toBeLessThan(0.1);
    expect(v.interior).toBe(true);
    expect(v.jackknife).toHaveLength(4);
    expect(v.lossMin).toBeLessThan(Math.min(...profile(4e12, [0.3, 0.7, 1.6, 3.5]).runs.map((r) => r.loss)) + 1e-3);
  });

  it('recovers the allocation exponent β/(α+β) and the optimum at a larger compute', () => {
    const law = fitComputeOptimal(budgets.map((c) => profile(c, factors)));
    expect(law.exponent).toBeCloseTo(beta / (alpha + beta), 2);
    expect(law.exponentStdErr).not.toBeNull();
    expect(law.exponentRange[0]).toBeLessThanOrEqual(law.exponent);
    expect(law.exponentRange[1]).toBeGreaterThanOrEqual(law.exponent);
    // Extrapolated 10× past the largest budget, the size is still within 10% of the truth.
    expect(Math.abs(Math.log(law.nOpt(1.6e14) / trueNOpt(1.6e14)))).toBeLessThan(0.1);
  });

  it('chooses the candidate nearest its own compute-optimal size', () => {
    const law = fitComputeOptimal(budgets.map((c) => profile(c, factors)));
    const seconds = 600;
    // A machine of 5·10^10 FLOP/s at full use, smaller shapes using it less well (as small matrices do).
    const sizes = [3e5, 1e6, 3e6, 1e7, 3e7];
    const candidates = sizes.map((params, i) => ({ name: `s${i}`, params, tokensPerSec: (5e10 * (0.5 + 0.1 * i)) / (6 * params) }));
    const { chosen, table } = chooseShape(candidates, law.nOpt, seconds);
    // The truth: the candidate whose size is nearest the true optimum for ITS compute.
    const truth = candidates.reduce((best, c) => {
      const gap = (x: typeof c) => Math.abs(Math.log(x.params / trueNOpt(6 * x.params * x.tokensPerSec * seconds)));
      return gap(c) < gap(best) ? c : best;
    });
    expect(chosen.candidate.name).toBe(truth.name);
    expect(table).toHaveLength(5);
    expect(table[0]!.mismatch).toBeLessThan(0); // the smallest is too small for what it could spend
    expect(table[4]!.mismatch).toBeGreaterThan(0); // the largest too large
    // Which is also (nearly) the lowest true loss among the candidates at their 10-minute token counts.
    const trueLoss = (c: (typeof candidates)[number]) => loss(c.params, c.tokensPerSec * seconds);
    const best = candidates.reduce((b, c) => (trueLoss(c) < trueLoss(b) ? c : b));
    expect(best.name).toBe(truth.name);
  });

  it('rejects profiles that cannot give a minimum', () => {
    expect(() =>
      isoFlopVertex({
        compute: 1e12,
        runs: [
          { params: 1e6, loss: 3 },
          { params: 2e6, loss: 2.9 },
        ],
      }),
    ).toThrow(/≥ 3 sizes/);
    const rising = { compute: 1e12, runs: [1e6, 2e6, 4e6].map((params, i) => ({ params, loss: 3 - i * i * 0.1 })) };
    expect(() => isoFlopVertex(rising)).toThrow(/no minimum/);
    expect(() => fitComputeOptimal([profile(1e12, factors)])).toThrow(/≥ 2 budgets/);
  });
});
