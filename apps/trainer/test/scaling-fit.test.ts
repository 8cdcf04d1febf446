import { fitPowerLaw } from '../src/scaling/fit';
import { scalingFigureSVG } from '../src/scaling/plot';
import { predictAt } from '../src/scaling/predict';

describe('fitPowerLaw', () => {
  it('recovers a, b, c from exact points and extrapolates', () => {
    const truth = (c: number) => 2.5e3 * Math.pow(c, -0.2) + 1.7;
    const pts = [1e12, 3e12, 1e13, 3e13].map((compute) => ({ compute, loss: truth(compute) }));
    const fit = fitPowerLaw(pts);
    expect(fit.b).toBeCloseTo(0.2, 3);
    expect(fit.c).toBeCloseTo(1.7, 3);
    expect(Math.abs(fit.predict(1e15) - truth(1e15))).toBeLessThan(1e-3);
    expect(fit.rmse).toBeLessThan(1e-6);
  });
  it('fits noisy points with small error', () => {
    const truth = (c: number) => 40 * Math.pow(c, -0.08) + 2.0;
    const noise = [0.004, -0.003, 0.002, -0.004, 0.001];
    const pts = [1e9, 1e10, 1e11, 1e12, 1e13].map((compute, i) => ({ compute, loss: truth(compute) + noise[i]! }));
    const fit = fitPowerLaw(pts);
    expect(Math.abs(fit.predict(1e14) - truth(1e14))).toBeLessThan(0.05);
  });
  it('rejects too few points and flat or rising losses', () => {
    expect(() =>
      fitPowerLaw([
        { compute: 1, loss: 3 },
        { compute: 2, loss: 2 },
      ]),
    ).toThrow(/at least 3/);
    expect(() => fitPowerLaw([1, 2, 3].map((c) => ({ compute: c * 1e9, loss: 2 + c })))).toThrow(/do not decrease/);
  });
  it('recovers a free irreducible term far from 0 and extrapolates 100× in compute', () => {
    const truth = (c: number) => 30 * Math.pow(c, -0.15) + 3.2;
    const pts = [1e8, 2e8, 5e8, 1e9, 3e9].map((compute) => ({ compute, loss: truth(compute) }));
    const fit = fitPowerLaw(pts);
    expect(fit.c).toBeCloseTo(3.2, 2);
    expect(fit.a).toBeCloseTo(30, 0);
    expect(Math.abs(fit.predict(3e11) - truth(3e11))).toBeLessThan(1e-3);
  });
  it('predicts with an interval from one-run-per-size refits that contains the truth for seed noise', () => {
    const truth = (c: number) => 12 * Math.pow(c, -0.1) + 2.5;
    const seedNoise = [
      [0.01, -0.01],
      [-0.008, 0.006],
      [0.004, -0.005],
      [0.007, -0.002],
      [-0.003, 0.009],
    ];
    const computes = [1e8, 3e8, 1e9, 3e9, 1e10];
    const pts = computes.flatMap((compute, i) => seedNoise[i]!.map((e) => ({ compute, loss: truth(compute) + e })));
    const p = predictAt(pts, 1e12);
    expect(p.refits).toBe(32); // 2^5 ways to pick one seed per size
    expect(p.low).toBeLessThanOrEqual(p.value);
    expect(p.high).toBeGreaterThanOrEqual(p.value);
    expect(p.high - p.low).toBeGreaterThan(0);
    expect(Math.abs(p.value - truth(1e12))).toBeLessThan(0.05);
    // Exact points: every refit agrees, the interval collapses onto the truth.
    const exact = predictAt(
      computes.flatMap((compute) => [compute, compute].map((c) => ({ compute: c, loss: truth(c) }))),
      1e12,
    );
    expect(exact.high - exact.low).toBeLessThan(1e-6);
    expect(exact.value).toBeCloseTo(truth(1e12), 5);
  });
  it('plots the panels as SVG', () => {
    const pts = [1e12, 3e12, 1e13].map((compute) => ({ compute, loss: 100 * Math.pow(compute, -0.1) + 1 }));
    const fit = fitPowerLaw(pts);
    const panel = {
      title: 'loss',
      yTitle: 'nats',
      fitted: pts,
      actual: [
        { compute: 1e15, loss: 3.1 },
        { compute: 1e15, loss: 3.3 },
      ],
      fit,
      prediction: { compute: 1e15, value: fit.predict(1e15), low: 3.0, high: 3.4 },
    };
    const svg = scalingFigureSVG([panel, { ...panel, title: 'capability <x>' }]);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain(`predicted ${fit.predict(1e15).toFixed(3)}`);
    expect(svg).toContain('actual 3.200'); // the mean over seeds
    expect(svg).toContain('capability &lt;x&gt;');
    expect(svg.match(/<circle[^>]*fill="#d62728"/g)!.length).toBe(5); // 2 actual dots per panel + the legend's
  });
});
