/**
 * Regenerates the README figures (docs/*.svg) and prints the figures' numbers as JSON lines.
 * Usage: pnpm --filter @gptlab/data build && npx tsx bench/figures.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BPETokenizer } from '@gptlab/tokenizer';
import { emit } from '@gptlab/bench-utils';
import { prepare, loadWordNet, optimalLshParams, lshCandidateProbability, resolveNearDedupOptions } from '../dist/index.js';

const docsDir = path.resolve('docs'); // run from packages/data
fs.mkdirSync(docsDir, { recursive: true });

function sCurveSvg(): string {
  const [W, H] = [560, 340];
  const margin = { left: 50, right: 30, top: 30, bottom: 50 };
  const L = margin.left; // plot area: x from L to L + pw, y from B (bottom) up to B − ph
  const B = H - margin.bottom;
  const pw = W - margin.left - margin.right;
  const ph = H - margin.top - margin.bottom;
  const verified = resolveNearDedupOptions({});
  const plain = optimalLshParams(0.8, 128, 0.5, 0.5);
  const curves = [
    {
      b: verified.bands,
      r: verified.rows,
      color: '#1f77b4',
      label: `${verified.bands} bands × ${verified.rows} rows (default, verify on: weights 0.05/0.95)`,
    },
    { b: plain.bands, r: plain.rows, color: '#d62728', label: `${plain.bands} bands × ${plain.rows} rows (datasketch weights 0.5/0.5)` },
  ];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  ];
  parts.push(
    `<text x="${L}" y="16" font-size="13" font-weight="bold">P(candidate pair | Jaccard s), 128 permutations, threshold 0.8</text>`,
  );
  parts.push(
    `<line x1="${L}" y1="${B}" x2="${L + pw}" y2="${B}" stroke="#000"/><line x1="${L}" y1="${B}" x2="${L}" y2="${B - ph}" stroke="#000"/>`,
  );
  for (let i = 0; i <= 10; i++) {
    const x = L + (pw * i) / 10;
    const y = B - (ph * i) / 10;
    parts.push(
      `<text x="${x}" y="${B + 14}" text-anchor="middle">${(i / 10).toFixed(1)}</text><text x="${L - 6}" y="${y + 4}" text-anchor="end">${(i / 10).toFixed(1)}</text>`,
    );
  }
  parts.push(`<line x1="${L + pw * 0.8}" y1="${B}" x2="${L + pw * 0.8}" y2="${B - ph}" stroke="#999" stroke-dasharray="4 3"/>`);
  curves.forEach((c, k) => {
    const pts: string[] = [];
    for (let i = 0; i <= 200; i++) {
      const s = i / 200;
      pts.push(`${(L + pw * s).toFixed(1)},${(B - ph * lshCandidateProbability(s, c.b, c.r)).toFixed(1)}`);
    }
    parts.push(`<polyline fill="none" stroke="${c.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(
      `<rect x="${L + 10}" y="${34 + k * 16}" width="12" height="3" fill="${c.color}"/><text x="${L + 28}" y="${39 + k * 16}">${c.label}</text>`,
    );
  });
  parts.push(`<text x="${L + pw / 2}" y="${B + 32}" text-anchor="middle">exact Jaccard similarity s of the shingle sets</text></svg>`);
  return parts.join('\n');
}

(async () => {
  fs.writeFileSync(path.join(docsDir, 'lsh-s-curve.svg'), sCurveSvg());
  const wn = loadWordNet();
  const tok = BPETokenizer.train(
    wn.synsets.filter((_, i) => i % 20 === 0).map((s) => s.gloss),
    { vocabSize: 2048, specialTokens: ['<|endoftext|>'] },
  );
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-figures-'));
  const res = await prepare({ sources: ['wordnet'], tokenizer: tok, outDir: out, valFraction: 0.01 });
  fs.copyFileSync(res.svgPath!, path.join(docsDir, 'wordnet-funnel.svg'));
  for (const f of res.report.funnel)
    emit({
      figure: 'wordnet-funnel',
      stage: f.name,
      docsIn: f.docsIn,
      docsOut: f.docsOut,
      dropped: f.dropped,
      timeMs: Math.round(f.timeMs),
    });
  emit({
    figure: 'wordnet-shards',
    train_tokens: res.manifest.splits.train.tokens,
    val_tokens: res.manifest.splits.val.tokens,
    dtype: res.manifest.dtype,
    vocab: tok.vocabSize,
  });
})();
