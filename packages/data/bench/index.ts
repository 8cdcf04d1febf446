/**
 * @gptlab/data benchmark: near-duplicate detection quality and MinHash + LSH throughput.
 *
 * Corpus: documents made of consecutive real WordNet 3.1 glosses (shuffled synsets), plus planted near-duplicates
 * made by random word substitutions (edit rates spread so that the exact Jaccard of the variants covers 0.5–1.0).
 * Ground truth: every pair with exact Jaccard ≥ threshold, found by an exact all-pairs similarity join (prefix
 * filtering, which provably misses no pair ≥ t), so cross-family duplicates count too. A document should be
 * removed iff some earlier document has Jaccard ≥ t with it (the streaming semantics of nearDedupStage).
 *
 * Imports the built package (turbo runs build before bench; run `pnpm --filter @gptlab/data build` first by hand).
 * Usage: pnpm --filter @gptlab/data bench -- --json [--docs 20000] [--threshold 0.8] [--seed 1]
 */
import { Rng } from '@gptlab/common';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import {
  loadWordNet,
  nearDedupStage,
  arraySource,
  drain,
  shingleSet,
  jaccardSorted,
  MinHashPool,
  bandKeys,
  resolveNearDedupOptions,
  type Doc,
  type DuplicateRecord,
} from '../dist/index.js';

const flags = parseFlags();
const nBase = Number(flags.docs ?? 20000);
const threshold = Number(flags.threshold ?? 0.8);
const seed = Number(flags.seed ?? 1);

function buildCorpus(): { docs: Doc[]; planted: number } {
  const wn = loadWordNet();
  const rng = new Rng(seed);
  const order = rng.shuffle(wn.synsets.map((_, i) => i));
  const vocab = wn.synsets
    .slice(0, 20000)
    .flatMap((s) => s.definition.split(' '))
    .filter((w) => /^[a-z]+$/.test(w));
  const docs: Doc[] = [];
  const pending: { at: number; doc: Doc }[] = [];
  let cursor = 0;
  let planted = 0;
  for (let b = 0; b < nBase; b++) {
    const k = 3 + rng.int(8);
    const parts: string[] = [];
    for (let i = 0; i < k; i++) parts.push(wn.synsets[order[cursor++ % order.length]!]!.gloss);
    const text = parts.join(' ');
    docs.push({ id: `d${b}`, text });
    // 30% of documents get 1–2 near-duplicate variants, placed later in the stream
    if (rng.next() < 0.3) {
      const copies = 1 + rng.int(2);
      for (let c = 0; c < copies; c++) {
        const words = text.split(' ');
        // substitution rate 0–6% of words: J from ~1.0 down to ~0.5 for these lengths
        const edits = Math.max(1, Math.round(words.length * rng.next() * 0.06));
        for (let e = 0; e < edits; e++) words[rng.int(words.length)] = vocab[rng.int(vocab.length)]!;
        pending.push({ at: b + 1 + rng.int(200), doc: { id: `d${b}v${c}`, text: words.join(' ') } });
        planted++;
      }
    }
    for (let p = pending.length - 1; p >= 0; p--) {
      if (pending[p]!.at === b) {
        docs.push(pending[p]!.doc);
        pending.splice(p, 1);
      }
    }
  }
  for (const p of pending) docs.push(p.doc);
  return { docs, planted };
}

/** Exact all-pairs join (i < j, J ≥ t) with prefix filtering over a fixed global token order. */
function exactPairs(sets: Uint32Array[], t: number): { i: number; j: number; J: number }[] {
  const index = new Map<number, number[]>();
  const out: { i: number; j: number; J: number }[] = [];
  for (let j = 0; j < sets.length; j++) {
    const s = sets[j]!;
    if (s.length === 0) continue;
    const p = s.length - Math.ceil(t * s.length) + 1;
    const cands = new Set<number>();
    for (let q = 0; q < p; q++) {
      const l = index.get(s[q]!);
      if (l) for (const i of l) cands.add(i);
    }
    for (const i of cands) {
      const a = sets[i]!;
      if (Math.min(a.length, s.length) < t * Math.max(a.length, s.length)) continue; // size filter
      const J = jaccardSorted(a, s);
      if (J >= t) out.push({ i, j, J });
    }
    for (let q = 0; q < p; q++) {
      const l = index.get(s[q]!);
      if (l) l.push(j);
      else index.set(s[q]!, [j]);
    }
  }
  return out;
}

async function run(docs: Doc[], opts: Parameters<typeof nearDedupStage>[0]) {
  const dups: DuplicateRecord[] = [];
  const st = nearDedupStage({ ...opts, threshold, onDuplicate: (d) => dups.push(d) });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await drain(st.run(arraySource(docs)));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { dups, wall, cpuMainAndWorkers: (cpu.user + cpu.system) / 1e6, stats: st.stats };
}

(async () => {
  const m = machine();
  const t0 = performance.now();
  const { docs, planted } = buildCorpus();
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
  const sets = docs.map((d) => shingleSet(d.text, 5));
  const pairs = exactPairs(sets, threshold);
  const truth = new Set(pairs.map((p) => p.j));
  emit({
    bench: 'corpus',
    docs: docs.length,
    planted_variants: planted,
    mb: +(bytes / 1e6).toFixed(2),
    true_pairs: pairs.length,
    true_duplicate_docs: truth.size,
    build_s: +((performance.now() - t0) / 1000).toFixed(1),
    machine: m,
  });

  // pair-level LSH recall of the default (verified) parameters
  const p = resolveNearDedupOptions({ threshold });
  const pool = new MinHashPool({ workers: 0, numPerm: p.numPerm, seed: p.seed });
  const sig = await pool.compute(docs.map((d) => d.text));
  await pool.close();
  const keyOf = (i: number) => bandKeys(sig.sigs, i * p.numPerm, p.bands, p.rows, new Float64Array(p.bands));
  let found = 0;
  for (const pr of pairs) {
    const a = keyOf(pr.i);
    const b = keyOf(pr.j);
    if (a.some((k, x) => k === b[x])) found++;
  }

  const idx = new Map(docs.map((d, i) => [d.id, i]));
  const score = (dups: DuplicateRecord[]) => {
    let tp = 0;
    for (const d of dups) if (truth.has(idx.get(d.id)!)) tp++;
    return { precision: dups.length ? tp / dups.length : 1, recall: truth.size ? tp / truth.size : 1, removed: dups.length };
  };
  // warm-up (JIT) on a slice, so that the timed runs below compare like with like
  await run(docs.slice(0, 2000), { workers: 2 });

  const verified = await run(docs, { workers: 2 });
  const sv = score(verified.dups);
  emit({
    bench: 'near_dedup_quality',
    threshold,
    mode: 'minhash+lsh+exact-verify (default)',
    bands: p.bands,
    rows: p.rows,
    precision: +sv.precision.toFixed(4),
    recall: +sv.recall.toFixed(4),
    lsh_pair_recall: +(found / Math.max(1, pairs.length)).toFixed(4),
    removed: sv.removed,
    true_duplicates: truth.size,
    candidate_pairs: verified.stats.extra.candidatePairs,
    target: 'precision >= 0.95 and recall >= 0.95',
  });
  const est = await run(docs, { workers: 2, verify: false });
  const se = score(est.dups);
  emit({
    bench: 'near_dedup_quality',
    threshold,
    mode: 'minhash+lsh, estimate only (verify: false)',
    bands: est.stats.extra.bands,
    rows: est.stats.extra.rows,
    precision: +se.precision.toFixed(4),
    recall: +se.recall.toFixed(4),
    removed: se.removed,
    true_duplicates: truth.size,
  });

  // throughput, measured side by side in this run
  for (const [label, o] of [
    ['workers=2, memory index', { workers: 2 }],
    ['workers=0 (main thread), memory index', { workers: 0 }],
    ['workers=2, sqlite index', { workers: 2, index: 'sqlite' as const }],
  ] as const) {
    const r = label.startsWith('workers=2, memory') ? verified : await run(docs, o);
    emit({
      bench: 'minhash_lsh_throughput',
      config: label,
      mb_per_s: +(bytes / 1e6 / r.wall).toFixed(2),
      // MB per CPU-second of this process (main thread + workers): the figure that does not depend on how busy
      // the shared machine was; on an idle 2-core machine with 2 workers, wall MB/s approaches ~2× this.
      mb_per_cpu_s: +(bytes / 1e6 / r.cpuMainAndWorkers).toFixed(2),
      wall_s: +r.wall.toFixed(2),
      cpu_s: +r.cpuMainAndWorkers.toFixed(2),
      mb: +(bytes / 1e6).toFixed(2),
      target_mb_per_s: 5,
      others_cores: machine().others_cores,
    });
  }
})();
