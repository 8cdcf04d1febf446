// Run metrics: one JSON object per line in metrics.jsonl, and a loss-curve SVG (train and validation).
import * as fs from 'node:fs';
import { writeFileAtomic } from '@gptlab/common/node';

export interface TrainMetric {
  type: 'train';
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_sec: number;
  mfu: number | null;
  elapsed_s: number;
}

export interface EvalMetric {
  type: 'eval';
  step: number;
  val_loss: number;
  val_ppl: number;
  sample?: string;
}

export type Metric = TrainMetric | EvalMetric | ({ type: string; step: number } & Record<string, unknown>);

export class MetricsLog {
  constructor(readonly file: string) {}

  /** Keeps only records up to `step` (resuming after a crash drops what the lost steps wrote). */
  truncateAfter(step: number): void {
    if (!fs.existsSync(this.file)) return;
    const kept = this.read().filter((m) => m.step <= step);
    writeFileAtomic(this.file, kept.map((m) => JSON.stringify(m) + '\n').join(''));
  }

  append(m: Metric): void {
    fs.appendFileSync(this.file, JSON.stringify(m) + '\n');
  }

  read(): Metric[] {
    if (!fs.existsSync(this.file)) return [];
    return fs
      .readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Metric];
        } catch {
          return []; // a line cut by a crash
        }
      });
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Loss curves as a standalone SVG: train loss (light, and a moving average) and validation loss (dots). */
export function lossCurveSvg(metrics: Metric[], title = 'loss'): string {
  const train = metrics.filter((m): m is TrainMetric => m.type === 'train' && Number.isFinite((m as TrainMetric).loss));
  const val = metrics.filter((m): m is EvalMetric => m.type === 'eval' && Number.isFinite((m as EvalMetric).val_loss));
  const W = 720;
  const H = 400;
  const L = 60;
  const R = 20;
  const Tm = 40;
  const B = 50;
  const pts = [...train.map((m) => [m.step, m.loss] as const), ...val.map((m) => [m.step, m.val_loss] as const)];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  ];
  out.push(
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  );
  if (pts.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data yet</text></svg>`);
    return out.join('\n');
  }
  const x0 = Math.min(...pts.map((p) => p[0]));
  const x1 = Math.max(x0 + 1, ...pts.map((p) => p[0]));
  let y0 = Math.min(...pts.map((p) => p[1]));
  let y1 = Math.max(...pts.map((p) => p[1]));
  if (y1 - y0 < 1e-6) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => Tm + (1 - (y - y0) / (y1 - y0)) * (H - Tm - B);
  out.push(
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${Tm}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
  );
  for (let i = 0; i <= 5; i++) {
    const yv = y0 + ((y1 - y0) * i) / 5;
    const xv = x0 + ((x1 - x0) * i) / 5;
    out.push(`<text x="${L - 6}" y="${sy(yv) + 4}" text-anchor="end">${yv.toFixed(2)}</text>`);
    out.push(`<line x1="${L}" y1="${sy(yv)}" x2="${W - R}" y2="${sy(yv)}" stroke="#eee"/>`);
    out.push(`<text x="${sx(xv)}" y="${H - B + 18}" text-anchor="middle">${Math.round(xv)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">step</text>`);
  const poly = (p: (readonly [number, number])[], color: string, width: number) =>
    p.length
      ? `<polyline fill="none" stroke="${color}" stroke-width="${width}" points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`
      : '';
  const tp = train.map((m) => [m.step, m.loss] as const);
  out.push(poly(tp, '#9ecae1', 1));
  const k = Math.max(1, Math.round(tp.length / 50));
  const smooth = tp.map((p, i) => {
    const w = tp.slice(Math.max(0, i - k + 1), i + 1);
    return [p[0], w.reduce((a, q) => a + q[1], 0) / w.length] as const;
  });
  out.push(poly(smooth, '#08519c', 2));
  const vp = val.map((m) => [m.step, m.val_loss] as const);
  out.push(poly(vp, '#e6550d', 2));
  for (const [x, y] of vp) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="#e6550d"/>`);
  out.push(
    `<rect x="${W - R - 170}" y="${Tm + 5}" width="165" height="46" fill="white" stroke="#ccc"/>`,
    `<line x1="${W - R - 160}" y1="${Tm + 20}" x2="${W - R - 135}" y2="${Tm + 20}" stroke="#08519c" stroke-width="2"/><text x="${W - R - 128}" y="${Tm + 24}">train (moving avg)</text>`,
    `<line x1="${W - R - 160}" y1="${Tm + 40}" x2="${W - R - 135}" y2="${Tm + 40}" stroke="#e6550d" stroke-width="2"/><text x="${W - R - 128}" y="${Tm + 44}">validation</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}
