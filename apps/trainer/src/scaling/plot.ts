// SVG of a scaling-law prediction, one panel per metric side by side: every small run (one dot per seed) the law
// was fitted on, the fitted curve extended to the predicted size, the prediction with its interval (green bar),
// and the predicted size's actual runs (red, one per seed), on log-scaled compute.
import type { PowerLawFit, ScalingPoint } from './fit';

export interface ScalingPanel {
  title: string;
  yTitle: string;
  /** The runs the law was fitted on. */
  fitted: ScalingPoint[];
  /** The predicted size's runs, once trained (one per seed). */
  actual: ScalingPoint[];
  fit: Pick<PowerLawFit, 'a' | 'b' | 'c' | 'predict'>;
  /** Where the prediction was made and its interval. */
  prediction: { compute: number; value: number; low: number; high: number };
}

const W = 480;
const H = 360;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f3 = (v: number) => v.toFixed(3);

/** One panel as an SVG group, drawn at horizontal offset `dx`. */
export function scalingPanelSVG(p: ScalingPanel, dx = 0): string {
  const m = { l: 58, r: 16, t: 48, b: 46 };
  const all = [...p.fitted, ...p.actual];
  const cMin = Math.min(...all.map((q) => q.compute), p.prediction.compute) / 2;
  const cMax = Math.max(...all.map((q) => q.compute), p.prediction.compute) * 2;
  const ys = [...all.map((q) => q.loss), p.prediction.low, p.prediction.high, p.fit.predict(cMin), p.fit.predict(cMax)];
  const span = Math.max(...ys) - Math.min(...ys) || 1;
  const [yMin, yMax] = [Math.min(...ys) - 0.04 * span, Math.max(...ys) + 0.04 * span];
  const lx = (c: number) => (Math.log10(c) - Math.log10(cMin)) / (Math.log10(cMax) - Math.log10(cMin));
  const x = (c: number) => dx + m.l + lx(c) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const curve: string[] = [];
  for (let i = 0; i <= 120; i++) {
    const c = 10 ** (Math.log10(cMin) + ((Math.log10(cMax) - Math.log10(cMin)) * i) / 120);
    curve.push(`${i ? 'L' : 'M'}${x(c).toFixed(1)},${y(p.fit.predict(c)).toFixed(1)}`);
  }
  const parts: string[] = [
    `<text x="${dx + W / 2}" y="18" font-size="13" text-anchor="middle">${esc(p.title)}</text>`,
    `<text x="${dx + W / 2}" y="34" font-size="11" text-anchor="middle">fit: ${p.fit.a.toPrecision(3)}·C^(−${p.fit.b.toPrecision(3)}) + ${f3(p.fit.c)}</text>`,
    `<line x1="${dx + m.l}" y1="${H - m.b}" x2="${dx + W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${dx + m.l}" y1="${m.t}" x2="${dx + m.l}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${dx + W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">training compute C = 6·N·D (FLOPs, log scale)</text>`,
    `<text x="${dx + 14}" y="${H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 ${dx + 14} ${H / 2})">${esc(p.yTitle)}</text>`,
  ];
  for (let e = Math.ceil(Math.log10(cMin)); e <= Math.floor(Math.log10(cMax)); e++) {
    parts.push(
      `<line x1="${x(10 ** e)}" y1="${H - m.b}" x2="${x(10 ** e)}" y2="${H - m.b + 4}" stroke="#333"/>`,
      `<text x="${x(10 ** e)}" y="${H - m.b + 16}" font-size="10" text-anchor="middle">1e${e}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((yMax - yMin) * i) / 4;
    parts.push(
      `<line x1="${dx + m.l}" y1="${y(v)}" x2="${dx + W - m.r}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${dx + m.l - 5}" y="${y(v) + 3}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`,
    );
  }
  parts.push(`<path d="${curve.join(' ')}" fill="none" stroke="#777" stroke-dasharray="5,4"/>`);
  for (const q of p.fitted) {
    parts.push(
      `<circle cx="${x(q.compute).toFixed(1)}" cy="${y(q.loss).toFixed(1)}" r="3.5" fill="#1f77b4"><title>${f3(q.loss)}</title></circle>`,
    );
  }
  const px = x(p.prediction.compute);
  parts.push(
    `<line x1="${px}" y1="${y(p.prediction.low)}" x2="${px}" y2="${y(p.prediction.high)}" stroke="#2ca02c" stroke-width="3"/>`,
    `<line x1="${px - 9}" y1="${y(p.prediction.value)}" x2="${px + 9}" y2="${y(p.prediction.value)}" stroke="#2ca02c" stroke-width="3"/>`,
    `<text x="${px - 12}" y="${y(p.prediction.value) - 8}" font-size="11" text-anchor="end" fill="#2ca02c">predicted ${f3(p.prediction.value)}</text>`,
  );
  for (const q of p.actual) {
    parts.push(
      `<circle cx="${(px + 7).toFixed(1)}" cy="${y(q.loss).toFixed(1)}" r="4" fill="#d62728"><title>actual ${f3(q.loss)}</title></circle>`,
    );
  }
  if (p.actual.length) {
    const mean = p.actual.reduce((s, q) => s + q.loss, 0) / p.actual.length;
    parts.push(`<text x="${px - 12}" y="${y(mean) + 16}" font-size="11" text-anchor="end" fill="#d62728">actual ${f3(mean)}</text>`);
  }
  return parts.join('\n');
}

/** The panels side by side in one SVG document, with a legend. */
export function scalingFigureSVG(panels: ScalingPanel[]): string {
  const width = W * panels.length;
  const legend =
    `<circle cx="${width - 330}" cy="${H + 12}" r="4" fill="#1f77b4"/><text x="${width - 322}" y="${H + 16}" font-size="11">fitted runs (each seed)</text>` +
    `<rect x="${width - 196}" y="${H + 5}" width="4" height="14" fill="#2ca02c"/><text x="${width - 186}" y="${H + 16}" font-size="11">prediction</text>` +
    `<circle cx="${width - 110}" cy="${H + 12}" r="4" fill="#d62728"/><text x="${width - 102}" y="${H + 16}" font-size="11">actual (each seed)</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 28}" font-family="sans-serif">
<rect width="${width}" height="${H + 28}" fill="white"/>
${panels.map((p, i) => scalingPanelSVG(p, i * W)).join('\n')}
${legend}
</svg>
`;
}
