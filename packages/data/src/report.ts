import * as path from 'node:path';
import type { StageStats } from './types';
import type { SourceStats } from './sources';
import type { ShardManifest } from './shards';
import { writeFileAtomic } from '@gptlab/common/node';

export interface PipelineReport {
  createdAt: string;
  sources: SourceStats[];
  /** Stage statistics (with the source they ran on when several sources are processed). */
  stages: (StageStats & { source?: string })[];
  /** Stage statistics summed over sources, in pipeline order (what the funnel shows). */
  funnel: Omit<StageStats, 'examples' | 'extra'>[];
  totalTimeMs: number;
  [key: string]: unknown;
}

/** The report's `shards` entry: where the shards are and what they hold (the local and the queued runs write the same). */
export function shardsSummary(manifest: ShardManifest, outDir: string) {
  return {
    outDir,
    dtype: manifest.dtype,
    trainTokens: manifest.splits.train.tokens,
    valTokens: manifest.splits.val.tokens,
    trainDocs: manifest.splits.train.docs,
    valDocs: manifest.splits.val.docs,
    tokenizerHash: manifest.tokenizerHash,
  };
}

/** Sums stage statistics by stage name, keeping first-seen order. */
export function funnelOf(stages: StageStats[]): PipelineReport['funnel'] {
  const out: PipelineReport['funnel'] = [];
  const by = new Map<string, PipelineReport['funnel'][number]>();
  for (const s of stages) {
    let f = by.get(s.name);
    if (!f) {
      f = { name: s.name, docsIn: 0, docsOut: 0, bytesIn: 0, bytesOut: 0, timeMs: 0, dropped: {} };
      by.set(s.name, f);
      out.push(f);
    }
    f.docsIn += s.docsIn;
    f.docsOut += s.docsOut;
    f.bytesIn += s.bytesIn;
    f.bytesOut += s.bytesOut;
    f.timeMs += s.timeMs;
    for (const [k, v] of Object.entries(s.dropped)) f.dropped[k] = (f.dropped[k] ?? 0) + v;
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** An SVG funnel: one centred bar per stage, width ∝ documents out, with drops by reason and time. */
export function funnelSvg(funnel: PipelineReport['funnel'], title = 'Data pipeline funnel'): string {
  const W = 1060;
  const barMax = 440;
  const rowH = 54;
  const top = 48;
  const H = top + (funnel.length + 1) * rowH + 16;
  const first = funnel[0];
  const maxDocs = Math.max(1, first ? first.docsIn : 1, ...funnel.map((f) => f.docsOut));
  const cx = 20 + barMax / 2;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="20" y="28" font-size="16" font-weight="bold">${esc(title)}</text>`);
  const rows = first ? [{ label: 'input', docs: first.docsIn, bytes: first.bytesIn, note: '' }] : [];
  for (const f of funnel) {
    const drops = Object.entries(f.dropped)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
    rows.push({
      label: f.name,
      docs: f.docsOut,
      bytes: f.bytesOut,
      note: `${drops ? `−${fmt(f.docsIn - f.docsOut)}: ${drops}` : 'nothing dropped'} · ${(f.timeMs / 1000).toFixed(2)} s`,
    });
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const w = Math.max(2, (barMax * r.docs) / maxDocs);
    const shade = Math.round(90 + (i / Math.max(1, rows.length - 1)) * 90);
    parts.push(
      `<rect x="${(cx - w / 2).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 14}" rx="3" fill="rgb(40,${shade},200)"/>`,
    );
    parts.push(
      `<text x="${cx}" y="${y + (rowH - 14) / 2 + 4}" text-anchor="middle" fill="#ffffff" font-weight="bold">${esc(fmt(r.docs))}</text>`,
    );
    parts.push(`<text x="${20 + barMax + 20}" y="${y + 14}" font-weight="bold">${esc(r.label)}</text>`);
    parts.push(
      `<text x="${20 + barMax + 20}" y="${y + 30}" fill="#444">${esc(`${fmtBytes(r.bytes)}${r.note ? ' · ' + r.note : ''}`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes `file` (JSON) and the funnel chart next to it (`.svg`). Returns the SVG path. */
export function writeReport(report: PipelineReport | Record<string, unknown>, file: string, funnel?: PipelineReport['funnel']): string {
  writeFileAtomic(file, JSON.stringify(report, null, 2));
  const svgPath = path.join(path.dirname(file), path.basename(file, path.extname(file)) + '.svg');
  const f = funnel ?? (report as PipelineReport).funnel ?? [];
  writeFileAtomic(svgPath, funnelSvg(f));
  return svgPath;
}
