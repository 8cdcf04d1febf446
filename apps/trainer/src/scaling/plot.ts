// SVG of a scaling-law fit: the runs used for the fit, the held-out largest run, the fitted curve and the
// prediction, on log-scaled compute.
import type { PowerLawFit, ScalingPoint } from './fit';

export interface ScalingPlotInput {
  fitted: (ScalingPoint & { label?: string })[];
  heldOut?: ScalingPoint & { label?: string };
  fit: PowerLawFit;
  title?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function scalingPlotSVG({ fitted, heldOut, fit, title = 'Predicted vs actual loss' }: ScalingPlotInput): string {
  const W = 640;
  const H = 400;
  const m = { l: 64, r: 20, t: 36, b: 48 };
  const all = [...fitted, ...(heldOut ? [heldOut] : [])];
  const cMin = Math.min(...all.map((p) => p.compute)) / 2;
  const cMax = Math.max(...all.map((p) => p.compute)) * 2;
  const preds = heldOut ? [fit.predict(heldOut.compute)] : [];
  const losses = [...all.map((p) => p.loss), ...preds, fit.predict(cMin), fit.predict(cMax)];
  const lMin = Math.min(...losses) * 0.97;
  const lMax = Math.max(...losses) * 1.03;
  const x = (c: number) => m.l + ((Math.log10(c) - Math.log10(cMin)) / (Math.log10(cMax) - Math.log10(cMin))) * (W - m.l - m.r);
  const y = (l: number) => H - m.b - ((l - lMin) / (lMax - lMin)) * (H - m.t - m.b);
  const curve: string[] = [];
  for (let i = 0; i <= 100; i++) {
    const c = Math.pow(10, Math.log10(cMin) + ((Math.log10(cMax) - Math.log10(cMin)) * i) / 100);
    curve.push(`${i ? 'L' : 'M'}${x(c).toFixed(1)},${y(fit.predict(c)).toFixed(1)}`);
  }
  const ticks: string[] = [];
  for (let e = Math.ceil(Math.log10(cMin)); e <= Math.floor(Math.log10(cMax)); e++) {
    const px = x(10 ** e);
    ticks.push(
      `<line x1="${px}" y1="${H - m.b}" x2="${px}" y2="${H - m.b + 5}" stroke="#333"/><text x="${px}" y="${H - m.b + 18}" font-size="11" text-anchor="middle">1e${e}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const l = lMin + ((lMax - lMin) * i) / 4;
    ticks.push(
      `<text x="${m.l - 6}" y="${y(l) + 4}" font-size="11" text-anchor="end">${l.toFixed(2)}</text><line x1="${m.l}" y1="${y(l)}" x2="${W - m.r}" y2="${y(l)}" stroke="#eee"/>`,
    );
  }
  const dots = fitted
    .map(
      (p) =>
        `<circle cx="${x(p.compute).toFixed(1)}" cy="${y(p.loss).toFixed(1)}" r="5" fill="#1f77b4"><title>${esc(p.label ?? '')} ${p.loss.toFixed(4)}</title></circle>`,
    )
    .join('');
  let held = '';
  if (heldOut) {
    const p = fit.predict(heldOut.compute);
    held =
      `<circle cx="${x(heldOut.compute).toFixed(1)}" cy="${y(heldOut.loss).toFixed(1)}" r="6" fill="#d62728"><title>actual ${heldOut.loss.toFixed(4)}</title></circle>` +
      `<path d="M${x(heldOut.compute) - 7},${y(p)} h14 M${x(heldOut.compute)},${y(p) - 7} v14" stroke="#2ca02c" stroke-width="3"/>` +
      `<text x="${x(heldOut.compute) - 8}" y="${y(p) - 10}" font-size="11" text-anchor="end" fill="#2ca02c">predicted ${p.toFixed(3)}</text>` +
      `<text x="${x(heldOut.compute) - 8}" y="${y(heldOut.loss) + 18}" font-size="11" text-anchor="end" fill="#d62728">actual ${heldOut.loss.toFixed(3)}</text>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="22" font-size="14" text-anchor="middle">${esc(title)}</text>
${ticks.join('\n')}
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
<text x="${W / 2}" y="${H - 10}" font-size="12" text-anchor="middle">training compute (FLOPs, log scale)</text>
<text x="16" y="${H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">final validation loss</text>
<path d="${curve.join(' ')}" fill="none" stroke="#555" stroke-dasharray="5,4"/>
<text x="${W - m.r - 4}" y="${m.t + 14}" font-size="11" text-anchor="end">L(C) = ${fit.a.toPrecision(3)}·C^(−${fit.b.toPrecision(3)}) + ${fit.c.toFixed(3)}</text>
${dots}
${held}
</svg>
`;
}
