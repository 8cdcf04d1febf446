// The figure of `pnpm experiment:demo-shape` (docs/results/demo-shape.svg): left, the iso-time profiles (loss
// against N, log scale, one series per budget, the fitted parabola and its vertex); right, N against C (both log)
// with the fitted N_opt(C) line, the profiles' vertices and every candidate at the compute it spends in 600 s.
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const [W, H] = [400, 300];
const pad = { l: 56, r: 14, t: 40, b: 44 };

/** Linear map of [lo, hi] (padded by 6%) onto [a, b]. */
function scale(values, a, b) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const [l, h] = [lo - 0.06 * span, hi + 0.06 * span];
  return (v) => a + ((v - l) / (h - l)) * (b - a);
}

function axes(ox, xTitle, yTitle, title) {
  return [
    `<line x1="${ox + pad.l}" y1="${H - pad.b}" x2="${ox + W - pad.r}" y2="${H - pad.b}" stroke="black"/>`,
    `<line x1="${ox + pad.l}" y1="${H - pad.b}" x2="${ox + pad.l}" y2="${pad.t}" stroke="black"/>`,
    `<text x="${ox + (W + pad.l) / 2}" y="${H - 8}" text-anchor="middle">${xTitle}</text>`,
    `<text x="${ox + 14}" y="${H / 2}" transform="rotate(-90 ${ox + 14} ${H / 2})" text-anchor="middle">${yTitle}</text>`,
    `<text x="${ox + (W + pad.l) / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`,
  ];
}

const decadeTicks = (lo, hi) => {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks.filter((t) => t >= lo / 1.5 && t <= hi * 1.5);
};

/** r: what fitAndChoose returns (profiles, law, table, chosen). */
export function shapePlot(r) {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${2 * W}" height="${H}" fill="white"/>`,
  ];
  // Left: loss against ln N per budget.
  const lnN = r.profiles.flatMap((p) => p.runs.map((x) => Math.log(x.params)));
  const losses = r.profiles.flatMap((p) => p.runs.map((x) => x.loss));
  const X = scale(lnN, pad.l, W - pad.r);
  const Y = scale(losses, H - pad.b, pad.t);
  parts.push(...axes(0, 'non-embedding parameters N (log)', 'held-out loss (nats/token)', 'iso-time profiles'));
  for (const t of decadeTicks(Math.exp(Math.min(...lnN)), Math.exp(Math.max(...lnN))))
    parts.push(`<text x="${X(Math.log(t))}" y="${H - pad.b + 14}" text-anchor="middle">${t >= 1e6 ? `${t / 1e6}M` : `${t / 1e3}k`}</text>`);
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  for (const v of [lo, (lo + hi) / 2, hi]) parts.push(`<text x="${pad.l - 6}" y="${Y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  r.profiles.forEach((p, i) => {
    const color = COLORS[i % COLORS.length];
    const v = r.law.vertices[i];
    const [q0, q1, q2] = v.coefficients;
    const [a, b] = [Math.min(...lnN), Math.max(...lnN)];
    const curve = Array.from({ length: 41 }, (_, k) => a + ((b - a) * k) / 40)
      .map((x) => [x, q0 + q1 * x + q2 * x * x])
      .filter(([, y]) => y <= hi + 0.1 * (hi - lo))
      .map(([x, y]) => `${X(x)},${Y(y)}`);
    parts.push(
      `<text x="${pad.l + 8}" y="${pad.t - 6 + 0 * i}" dx="${i * 70}" fill="${color}">— ${p.budget_s} s</text>`,
      `<polyline fill="none" stroke="${color}" stroke-dasharray="3 2" points="${curve.join(' ')}"/>`,
      ...p.runs.map((x) => `<circle cx="${X(Math.log(x.params))}" cy="${Y(x.loss)}" r="3.5" fill="${color}"/>`),
      `<path d="M ${X(Math.log(v.nOpt))} ${Y(v.lossMin) - 6} l 5 -8 l -10 0 z" fill="${color}"/>`,
    );
  });
  // Right: ln N against ln C: the law, its points (vertices) and the candidates.
  const ox = W;
  const cs = [...r.profiles.map((p) => p.compute), ...r.table.map((c) => c.compute)].map(Math.log);
  const ns = [...r.law.vertices.map((v) => v.nOpt), ...r.table.map((c) => c.candidate.params)].map(Math.log);
  const XC = scale(cs, ox + pad.l, ox + W - pad.r);
  const YN = scale(ns, H - pad.b, pad.t);
  parts.push(...axes(ox, 'compute C = 6·N·D (FLOPs, log)', 'N (log)', 'N_opt(C) and the candidates'));
  for (const t of decadeTicks(Math.exp(Math.min(...cs)), Math.exp(Math.max(...cs))))
    parts.push(`<text x="${XC(Math.log(t))}" y="${H - pad.b + 14}" text-anchor="middle">1e${Math.log10(t).toFixed(0)}</text>`);
  for (const t of decadeTicks(Math.exp(Math.min(...ns)), Math.exp(Math.max(...ns))))
    parts.push(
      `<text x="${ox + pad.l - 6}" y="${YN(Math.log(t)) + 4}" text-anchor="end">${t >= 1e6 ? `${t / 1e6}M` : `${t / 1e3}k`}</text>`,
    );
  const [c0, c1] = [Math.min(...cs), Math.max(...cs)];
  const lineAt = (lc) => Math.log(r.law.coefficient) + r.law.exponent * lc;
  parts.push(
    `<line x1="${XC(c0)}" y1="${YN(lineAt(c0))}" x2="${XC(c1)}" y2="${YN(lineAt(c1))}" stroke="black" stroke-dasharray="5 3"/>`,
    `<text x="${ox + pad.l + 8}" y="${pad.t - 6}">- - N_opt = ${r.law.coefficient.toPrecision(3)}·C^${r.law.exponent.toFixed(2)}   ▲ profile vertices   ● candidates</text>`,
    ...r.law.vertices.map(
      (v, i) =>
        `<path d="M ${XC(Math.log(r.profiles[i].compute))} ${YN(Math.log(v.nOpt)) - 5} l 5 9 l -10 0 z" fill="${COLORS[i % COLORS.length]}"/>`,
    ),
    ...r.table.map((c) => {
      const [x, y] = [XC(Math.log(c.compute)), YN(Math.log(c.candidate.params))];
      const mark = c === r.chosen ? `<circle cx="${x}" cy="${y}" r="7" fill="none" stroke="#d62728" stroke-width="2"/>` : '';
      // Labels near the right edge go to the left of their point.
      const label = x > ox + W - 70 ? `x="${x - 6}" text-anchor="end"` : `x="${x + 6}"`;
      return `<circle cx="${x}" cy="${y}" r="3" fill="gray"/>${mark}<text ${label} y="${y + 4}" font-size="9">${c.candidate.name}</text>`;
    }),
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
