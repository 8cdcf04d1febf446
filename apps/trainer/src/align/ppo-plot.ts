// reward.svg, next to loss.svg: the mean reward-model score and the KL to the reference over a PPO run, one point
// per iteration (the per-iteration records of metrics.jsonl), two panels side by side.
export interface RewardKlPoint {
  step: number;
  reward?: unknown;
  kl?: unknown;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (x: number) => (Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3));

function panel(points: [number, number][], x0: number, w: number, h: number, label: string, color: string): string[] {
  const top = 40;
  const left = x0 + 55;
  const pw = w - 75;
  const ph = h - top - 45;
  const out = [`<text x="${x0 + w / 2}" y="${top - 10}" text-anchor="middle" font-size="13">${esc(label)}</text>`];
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  if (points.length === 0) return [...out, `<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle">no data yet</text>`];
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const sx = (x: number) => left + (xMax > xMin ? ((x - xMin) / (xMax - xMin)) * pw : pw / 2);
  const sy = (y: number) => top + ph - ((y - yMin) / (yMax - yMin)) * ph;
  for (const y of [yMin, (yMin + yMax) / 2, yMax]) out.push(`<text x="${left - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  out.push(
    `<text x="${left}" y="${top + ph + 18}">${xMin}</text>`,
    `<text x="${left + pw}" y="${top + ph + 18}" text-anchor="end">${xMax}</text>`,
    `<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle">step</text>`,
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
    ...points.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`),
  );
  return out;
}

export function rewardKlSvg(records: readonly RewardKlPoint[], title: string): string {
  const W = 880;
  const H = 360;
  const series = (key: 'reward' | 'kl') =>
    records.filter((r) => typeof r[key] === 'number' && Number.isFinite(r[key])).map((r) => [r.step, r[key] as number] as [number, number]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="15">reward and KL · ${esc(title)}</text>`,
    ...panel(series('reward'), 0, W / 2, H, 'mean reward-model score', '#1f77b4'),
    ...panel(series('kl'), W / 2, W / 2, H, 'KL(policy ‖ reference), summed over the response', '#d62728'),
    '</svg>',
    '',
  ].join('\n');
}
