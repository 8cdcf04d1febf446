import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import {
  shingleSet,
  minhashSignature,
  permutationSeeds,
  jaccardSorted,
  estimateJaccard,
  optimalLshParams,
  lshCandidateProbability,
  MinHashPool,
  computeMinHashBatch,
  minhashWorkerFile,
  UnionFind,
} from '../src';
import { uniform, randomDoc, refJaccard, refShingles, tmpDir } from './helpers';

describe('shingles', () => {
  it('are word 5-grams, case-insensitive, punctuation-insensitive', () => {
    expect(shingleSet('one two three four five six').length).toBe(2);
    expect(Array.from(shingleSet('One, two; three four FIVE six!'))).toEqual(Array.from(shingleSet('one two three four five six')));
    expect(shingleSet('short text').length).toBe(1);
    expect(shingleSet('  ...  ').length).toBe(0);
    // repeated n-grams count once
    expect(shingleSet('a b c d e a b c d e').length).toBe(5);
  });
  it('exact Jaccard of hashed shingles equals the string-shingle reference', () => {
    const rand = uniform(3);
    for (let i = 0; i < 50; i++) {
      const a = randomDoc(rand, 30 + Math.floor(rand() * 50));
      const words = a.split(' ');
      for (let k = 0; k < 1 + (i % 6); k++) words[Math.floor(rand() * words.length)] = `zz${i}x${k}`;
      const b = words.join(' ');
      expect(jaccardSorted(shingleSet(a), shingleSet(b))).toBeCloseTo(refJaccard(refShingles(a), refShingles(b)), 12);
    }
  });
});

describe('MinHash estimator', () => {
  it('is unbiased with binomial variance J(1-J)/k (independent permutations)', () => {
    const seeds = permutationSeeds(128, 7);
    const rand = uniform(99);
    const errs: number[] = [];
    const zs: number[] = [];
    for (let t = 0; t < 200; t++) {
      // sets of distinct random 32-bit values with a planted intersection
      const n = 100;
      const common = 20 + Math.floor(rand() * 75);
      const base = new Set<number>();
      while (base.size < 2 * n) base.add(Math.floor(rand() * 4294967296));
      const pool = [...base];
      const a = new Uint32Array(pool.slice(0, n)).sort();
      const b = new Uint32Array([...pool.slice(0, common), ...pool.slice(n, 2 * n - common)]).sort();
      const J = jaccardSorted(a, b);
      const est = estimateJaccard(minhashSignature(a, seeds), minhashSignature(b, seeds));
      errs.push(est - J);
      zs.push((est - J) / Math.sqrt((J * (1 - J)) / 128));
    }
    const bias = errs.reduce((s, e) => s + e, 0) / errs.length;
    const varZ = zs.reduce((s, z) => s + z * z, 0) / zs.length;
    expect(Math.abs(bias)).toBeLessThan(0.01);
    expect(varZ).toBeGreaterThan(0.7);
    expect(varZ).toBeLessThan(1.3);
  });
  it('identical sets have identical signatures', () => {
    const seeds = permutationSeeds(64);
    const s = shingleSet('the quick brown fox jumps over the lazy dog again and again');
    expect(estimateJaccard(minhashSignature(s, seeds), minhashSignature(new Uint32Array(s), seeds))).toBe(1);
  });
});

describe('LSH parameters', () => {
  const cases = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/lsh-params.json'), 'utf8')) as {
    threshold: number;
    numPerm: number;
    fpWeight: number;
    fnWeight: number;
    bands: number;
    rows: number;
    fp: number;
    fn: number;
  }[];
  it('match datasketch _optimal_param (scipy reference fixture) on 45 settings', () => {
    expect(cases.length).toBe(45);
    for (const c of cases) {
      const p = optimalLshParams(c.threshold, c.numPerm, c.fpWeight, c.fnWeight);
      expect([c.threshold, c.numPerm, c.fpWeight, p.bands, p.rows]).toEqual([c.threshold, c.numPerm, c.fpWeight, c.bands, c.rows]);
      expect(p.falsePositive).toBeCloseTo(c.fp, 8);
      expect(p.falseNegative).toBeCloseTo(c.fn, 8);
    }
  });
  it('datasketch docstring example: threshold 0.9, 128 perms → 5 bands × 25 rows', () => {
    expect(optimalLshParams(0.9, 128)).toMatchObject({ bands: 5, rows: 25 });
  });
  it('candidate probability S-curve', () => {
    expect(lshCandidateProbability(1, 16, 8)).toBe(1);
    expect(lshCandidateProbability(0, 16, 8)).toBe(0);
    expect(lshCandidateProbability(0.8, 16, 8)).toBeCloseTo(1 - Math.pow(1 - Math.pow(0.8, 8), 16), 12);
  });
  it('rejects bad arguments', () => {
    expect(() => optimalLshParams(1.5)).toThrow(/threshold/);
    expect(() => optimalLshParams(0.8, 1)).toThrow(/numPerm/);
  });
});

describe('worker-thread MinHash pool', () => {
  it('gives the same shingles and signatures as the main thread', async () => {
    const rand = uniform(5);
    const texts = Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? '' : randomDoc(rand, 5 + Math.floor(rand() * 80))));
    const pool = new MinHashPool({ workers: 2, numPerm: 128, seed: 3 });
    try {
      const halves = await Promise.all([pool.compute(texts.slice(0, 150)), pool.compute(texts.slice(150))]);
      const ref = computeMinHashBatch(texts, 5, permutationSeeds(128, 3));
      const sigs = new Uint32Array(300 * 128);
      sigs.set(halves[0].sigs);
      sigs.set(halves[1].sigs, 150 * 128);
      expect(Buffer.from(sigs.buffer).equals(Buffer.from(ref.sigs.buffer))).toBe(true);
      expect(Array.from(halves[1].data)).toEqual(Array.from(ref.data.subarray(ref.offsets[150]!)));
    } finally {
      await pool.close();
    }
    await expect(pool.compute(['x'])).rejects.toThrow(/closed/);
  });

  it('runs src/minhash-worker.ts from the sources, and reports a failing batch', async () => {
    expect(minhashWorkerFile()).toBe(path.join(__dirname, '..', 'src', 'minhash-worker.ts'));
    const pool = new MinHashPool({ workers: 1, numPerm: 16 });
    try {
      await expect(pool.compute([42 as never])).rejects.toThrow(/MinHash worker failed: TypeError/);
      expect((await pool.compute(['still works after a failed batch'])).sigs).toHaveLength(16);
    } finally {
      await pool.close();
    }
  });

  // The builds: each entry starts the worker file built next to it, and that worker computes what the kernel
  // of these sources computes (so a stale dist/ fails here too).
  it.each([
    ['index.js', 'minhash-worker.js'],
    ['index.cjs', 'minhash-worker.cjs'],
  ])('dist/%s runs dist/%s', (entry, worker) => {
    const dist = path.join(__dirname, '..', 'dist');
    if (!fs.existsSync(path.join(dist, entry))) throw new Error(`dist/${entry} is missing: run \`pnpm --filter @gptlab/data build\` first`);
    const texts = ['the quick brown fox jumps over the lazy dog and runs away', 'two words', ''];
    const script = `
      const m = await import(${JSON.stringify(pathToFileURL(path.join(dist, entry)).href)});
      const pool = new m.MinHashPool({ workers: 1, numPerm: 16, seed: 2 });
      const r = await pool.compute(${JSON.stringify(texts)});
      await pool.close();
      console.log(JSON.stringify({ worker: m.minhashWorkerFile(), sigs: Array.from(r.sigs), data: Array.from(r.data) }));`;
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'run-pool.mjs'), script);
    const out = JSON.parse(execFileSync(process.execPath, [path.join(dir, 'run-pool.mjs')], { encoding: 'utf8' }));
    fs.rmSync(dir, { recursive: true, force: true });
    const ref = computeMinHashBatch(texts, 5, permutationSeeds(16, 2));
    expect(out.worker).toBe(path.join(dist, worker));
    expect(out.sigs).toEqual(Array.from(ref.sigs));
    expect(out.data).toEqual(Array.from(ref.data));
  });
});

describe('UnionFind', () => {
  it('roots are the earliest member', () => {
    const uf = new UnionFind();
    for (let i = 0; i < 6; i++) uf.add();
    uf.union(4, 2);
    uf.union(5, 4);
    uf.union(3, 1);
    uf.union(5, 3);
    expect([0, 1, 2, 3, 4, 5].map((i) => uf.find(i))).toEqual([0, 1, 1, 1, 1, 1]);
  });
});
