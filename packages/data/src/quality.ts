import * as fs from 'node:fs';
import type { Doc, Stage } from './types';
import { createStage } from './stage';
import { Rng } from '@gptlab/common';
import { writeFileAtomic } from '@gptlab/common/node';
import { fmix32, hashString32 } from './util';
import { mapJsonlFile, type MapJsonlResult } from './jsonl-map';

export interface QualityFeatureOptions {
  /** log2 of the number of hashed feature buckets (default 18 → 262,144 weights). */
  bucketsLog2?: number;
  /** Add word bigrams to unigrams (default true). */
  bigrams?: boolean;
}

export interface QualityTrainOptions extends QualityFeatureOptions {
  /** Passes over the training set (default 8). */
  epochs?: number;
  /** AdaGrad learning rate (default 0.5). */
  lr?: number;
  /** L2 penalty per example (default 1e-6). */
  l2?: number;
  /** Fraction of each class held out to measure AUC (default 0.1). */
  heldOut?: number;
  seed?: number;
  /** At most this many documents per class are read (default 200,000). */
  maxDocsPerClass?: number;
}

interface Sparse {
  idx: Int32Array;
  val: Float32Array;
}

const TOKEN_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

/** Hashed unigram + bigram features, log(1 + count), L2-normalised. */
export function hashedFeatures(text: string, bucketsLog2 = 18, bigrams = true): Sparse {
  const mask = (1 << bucketsLog2) - 1;
  const words = text.toLowerCase().match(TOKEN_RE) ?? [];
  const counts = new Map<number, number>();
  let prev = -1;
  for (const w of words) {
    const h = hashString32(w, 0x1234);
    counts.set(h & mask, (counts.get(h & mask) ?? 0) + 1);
    if (bigrams && prev !== -1) {
      const b = fmix32((Math.imul(prev, 0x9e3779b1) ^ h) >>> 0) & mask;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    prev = h;
  }
  const idx = new Int32Array(counts.size);
  const val = new Float32Array(counts.size);
  let i = 0;
  let norm = 0;
  for (const [k, c] of counts) {
    idx[i] = k;
    const v = Math.log1p(c);
    val[i++] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < val.length; j++) val[j]! /= norm;
  return { idx, val };
}

/** Area under the ROC curve (Mann–Whitney U, ties counted half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]!]) rankSum += avgRank;
    i = j + 1;
  }
  for (let i = 0; i < n; i++) {
    if (labels[i]) pos++;
    else neg++;
  }
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface QualityTrainResult {
  classifier: QualityClassifier;
  /** AUC on the held-out documents (NaN when nothing was held out). */
  heldOutAuc: number;
  /** Share of held-out documents on the right side of P = 0.5 (NaN when nothing was held out). */
  heldOutAccuracy: number;
  trainAuc: number;
  positives: number;
  negatives: number;
  heldOutDocs: number;
}

type TextInput = Iterable<string | Doc> | AsyncIterable<string | Doc>;

async function readTexts(src: TextInput, max: number): Promise<string[]> {
  const out: string[] = [];
  for await (const d of src as AsyncIterable<string | Doc>) {
    if (out.length >= max) break;
    out.push(typeof d === 'string' ? d : d.text);
  }
  return out;
}

/**
 * GPT-3's document quality classifier: logistic regression over hashed unigram + bigram features, trained to
 * tell a high-quality reference set (positives) from raw documents (negatives).
 */
export class QualityClassifier {
  constructor(
    readonly weights: Float32Array,
    readonly bias: number,
    readonly bucketsLog2: number,
    readonly bigrams: boolean,
    readonly info: Record<string, unknown> = {},
  ) {}

  /** P(high quality | text). */
  score(text: string): number {
    const f = hashedFeatures(text, this.bucketsLog2, this.bigrams);
    let z = this.bias;
    for (let i = 0; i < f.idx.length; i++) z += this.weights[f.idx[i]!]! * f.val[i]!;
    return 1 / (1 + Math.exp(-z));
  }

  static async train(positives: TextInput, negatives: TextInput, opts: QualityTrainOptions = {}): Promise<QualityTrainResult> {
    const bucketsLog2 = opts.bucketsLog2 ?? 18;
    const bigrams = opts.bigrams ?? true;
    const max = opts.maxDocsPerClass ?? 200_000;
    const pos = await readTexts(positives, max);
    const neg = await readTexts(negatives, max);
    if (pos.length < 2 || neg.length < 2)
      throw new Error(`quality classifier needs at least 2 positive and 2 negative documents (got ${pos.length} and ${neg.length})`);
    const rng = new Rng(opts.seed ?? 1);
    const heldOut = opts.heldOut ?? 0.1;
    const all = rng.shuffle([...pos.map((t) => ({ t, y: 1 })), ...neg.map((t) => ({ t, y: 0 }))]);
    // stratified hold-out: the first ⌈heldOut·n⌉ of each class in shuffled order
    const wantPos = Math.round(pos.length * heldOut);
    const wantNeg = Math.round(neg.length * heldOut);
    let hp = 0;
    let hn = 0;
    const train: { f: Sparse; y: number }[] = [];
    const test: { f: Sparse; y: number }[] = [];
    for (const { t, y } of all) {
      const f = hashedFeatures(t, bucketsLog2, bigrams);
      if (y === 1 && hp < wantPos) {
        hp++;
        test.push({ f, y });
      } else if (y === 0 && hn < wantNeg) {
        hn++;
        test.push({ f, y });
      } else train.push({ f, y });
    }
    const nb = 1 << bucketsLog2;
    const w = new Float32Array(nb);
    const g2 = new Float32Array(nb).fill(1e-8);
    let b = 0;
    let gb2 = 1e-8;
    const lr = opts.lr ?? 0.5;
    const l2 = opts.l2 ?? 1e-6;
    const nPos = train.filter((e) => e.y === 1).length;
    const nNeg = train.length - nPos;
    // balance the classes: each class contributes half of the loss
    const cw = [train.length / (2 * Math.max(1, nNeg)), train.length / (2 * Math.max(1, nPos))];
    const epochs = opts.epochs ?? 8;
    const order = Array.from({ length: train.length }, (_, i) => i);
    for (let ep = 0; ep < epochs; ep++) {
      for (const k of rng.shuffle(order)) {
        const { f, y } = train[k]!;
        let z = b;
        for (let i = 0; i < f.idx.length; i++) z += w[f.idx[i]!]! * f.val[i]!;
        const p = 1 / (1 + Math.exp(-z));
        const g = (p - y) * cw[y]!;
        for (let i = 0; i < f.idx.length; i++) {
          const j = f.idx[i]!;
          const gi = g * f.val[i]! + l2 * w[j]!;
          g2[j]! += gi * gi;
          w[j]! -= (lr * gi) / Math.sqrt(g2[j]!);
        }
        gb2 += g * g;
        b -= (lr * g) / Math.sqrt(gb2);
      }
    }
    const clf = new QualityClassifier(w, b, bucketsLog2, bigrams);
    const scoreSparse = (f: Sparse) => {
      let z = b;
      for (let i = 0; i < f.idx.length; i++) z += w[f.idx[i]!]! * f.val[i]!;
      return z;
    };
    const trainAuc = rocAuc(
      train.map((e) => scoreSparse(e.f)),
      train.map((e) => e.y),
    );
    // accuracy at P = 0.5 (z = 0), the operating point a threshold filter would use
    const heldOutAccuracy = test.length ? test.filter((e) => scoreSparse(e.f) >= 0 === (e.y === 1)).length / test.length : NaN;
    const heldOutAuc = test.length
      ? rocAuc(
          test.map((e) => scoreSparse(e.f)),
          test.map((e) => e.y),
        )
      : NaN;
    const summary = { heldOutAuc, heldOutAccuracy, trainAuc, positives: pos.length, negatives: neg.length, heldOutDocs: test.length };
    Object.assign(clf.info, { ...summary, epochs, lr, l2 });
    return { classifier: clf, ...summary };
  }

  toJSON(): Record<string, unknown> {
    // Sparse storage: only non-zero weights.
    const nz: number[] = [];
    for (let i = 0; i < this.weights.length; i++) if (this.weights[i] !== 0) nz.push(i);
    const idx = new Int32Array(nz);
    const val = new Float32Array(nz.map((i) => this.weights[i]!));
    return {
      format: 'gptlab-quality-classifier',
      version: 1,
      bucketsLog2: this.bucketsLog2,
      bigrams: this.bigrams,
      bias: this.bias,
      info: this.info,
      index: Buffer.from(idx.buffer).toString('base64'),
      weights: Buffer.from(val.buffer).toString('base64'),
    };
  }

  save(file: string): void {
    writeFileAtomic(file, JSON.stringify(this.toJSON()));
  }

  static fromJSON(j: any): QualityClassifier {
    if (!j || j.format !== 'gptlab-quality-classifier') throw new Error('not a gptlab quality classifier (format field missing)');
    const w = new Float32Array(1 << j.bucketsLog2);
    const ib = Buffer.from(j.index, 'base64');
    const vb = Buffer.from(j.weights, 'base64');
    const idx = new Int32Array(new Uint8Array(ib).buffer);
    const val = new Float32Array(new Uint8Array(vb).buffer);
    if (idx.length !== val.length) throw new Error('corrupt quality classifier: index/weights length mismatch');
    for (let i = 0; i < idx.length; i++) w[idx[i]!] = val[i]!;
    return new QualityClassifier(w, j.bias, j.bucketsLog2, j.bigrams, j.info ?? {});
  }

  static load(file: string): QualityClassifier {
    if (!fs.existsSync(file)) throw new Error(`quality classifier file not found: ${file}`);
    return QualityClassifier.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
  }
}

export interface QualityStageOptions {
  classifier: QualityClassifier;
  /** 'pareto' (GPT-3: keep when pareto(alpha) sample > 1 − score, default) or 'threshold' (keep when score ≥ threshold). */
  mode?: 'pareto' | 'threshold';
  alpha?: number;
  threshold?: number;
  seed?: number;
}

/** GPT-3 quality filtering with a trained classifier. */
export function qualityStage(opts: QualityStageOptions): Stage {
  const mode = opts.mode ?? 'pareto';
  const alpha = opts.alpha ?? 9;
  const threshold = opts.threshold ?? 0.5;
  return createStage('quality', async function* (input, ctx) {
    const rng = new Rng(opts.seed ?? 1);
    let sum = 0;
    let n = 0;
    Object.assign(ctx.stats.extra, { mode, alpha, threshold });
    try {
      for await (const doc of input) {
        const s = opts.classifier.score(doc.text);
        sum += s;
        n++;
        const keep = mode === 'pareto' ? rng.pareto(alpha) > 1 - s : s >= threshold;
        if (keep) yield doc;
        else ctx.drop(doc, 'low_quality', `score ${s.toFixed(3)}`);
      }
    } finally {
      ctx.stats.extra.meanScore = n ? sum / n : null;
    }
  });
}

export interface ScoreJsonlOptions {
  classifier: QualityClassifier;
  input: string;
  out: string;
  field?: string;
  skipBad?: boolean;
}

/** `data quality score`: every record of `input` with a numeric `quality_score` = P(reference quality). */
export async function scoreJsonl(opts: ScoreJsonlOptions): Promise<MapJsonlResult & { meanScore: number }> {
  let sum = 0;
  const r = await mapJsonlFile(
    { input: opts.input, out: opts.out, field: opts.field, skipBad: opts.skipBad, what: 'quality score' },
    (rec) => {
      const s = opts.classifier.score(rec.text);
      sum += s;
      return { ...rec.obj, quality_score: s };
    },
  );
  return { ...r, meanScore: sum / r.records };
}
