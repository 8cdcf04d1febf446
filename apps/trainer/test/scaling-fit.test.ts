import { fitPowerLaw } from '../src/scaling/fit';
import { scalingPlotSVG } from '../src/scaling/plot';

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
  it('plots the fit as SVG', () => {
    const pts = [1e12, 3e12, 1e13].map((compute) => ({ compute, loss: 100 * Math.pow(compute, -0.1) + 1 }));
    const fit = fitPowerLaw(pts);
    const svg = scalingPlotSVG({ fitted: pts, heldOut: { compute: 1e14, loss: 3.1 }, fit });
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('predicted');
    expect(svg).toContain('actual 3.100');
  });
});
